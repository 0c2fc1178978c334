/*
 * validate.c: from a model's answer to an edit of one unit, or a reason
 * why not (validate.h says how an answer is read).
 */
#include "monitor/validate.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "monitor/error.h"
#include "monitor/extract.h"
#include "monitor/util.h"
#include "monitor/banned.h"

struct line {
	const char *s;
	size_t len; /* without '\n' and a '\r' before it */
};

static size_t split_lines(struct line **out, const char *s, size_t len)
{
	struct line *lines = NULL;
	size_t n = 0, cap = 0;
	const char *p = s, *end = s + len;

	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		GM_GROW(lines, cap, n + 1);
		lines[n].s = p;
		lines[n].len = (size_t)(e - p);
		if (lines[n].len && e[-1] == '\r')
			lines[n].len--;
		n++;
		if (!nl)
			break;
		p = nl + 1;
	}
	*out = lines;
	return n;
}

static size_t indent_of(const struct line *l)
{
	size_t i = 0;
	while (i < l->len && (l->s[i] == ' ' || l->s[i] == '\t'))
		i++;
	return i;
}

static bool is_blank(const struct line *l)
{
	return indent_of(l) == l->len;
}

/* Placeholder kinds: one bit each, so that "the original lacked it" is exact. */
static const char *const phrases[] = {
	"rest of the code", "rest of code", "rest of the function", "rest of the method",
	"rest of the implementation", "existing code", "remains the same", "remain the same",
	"unchanged code", "code unchanged", "implementation here", "same as before",
	"omitted for brevity", "previous code",
};
#define PH_DOTS_LINE (1u << 0)
#define PH_DOTS_COMMENT (1u << 1)
#define PH_PHRASE(i) (1u << (2 + (i)))

static bool starts_with_dots(const char *s, size_t n)
{
	return (n >= 3 && memcmp(s, "...", 3) == 0) || (n >= 3 && memcmp(s, "\xe2\x80\xa6", 3) == 0);
}

/* Where a comment starts in the line, or NULL. */
static const char *comment_start(const char *s, size_t n, size_t *marker)
{
	static const char *const markers[] = { "//", "/*", "<!--", "--", "#" };
	const char *best = NULL;

	for (size_t k = 0; k < sizeof(markers) / sizeof(markers[0]); k++) {
		const char *p = memmem(s, n, markers[k], strlen(markers[k]));
		if (p && (!best || p < best)) {
			best = p;
			*marker = strlen(markers[k]);
		}
	}
	/* A continuation line of a block comment. */
	if (!best && n && s[0] == '*') {
		best = s;
		*marker = 1;
	}
	return best;
}

static unsigned line_placeholders(const char *s, size_t n)
{
	unsigned bits = 0;
	const char *c;
	size_t marker = 0;

	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if ((n == 3 && memcmp(s, "...", 3) == 0) || (n == 3 && memcmp(s, "\xe2\x80\xa6", 3) == 0) ||
	    (n == 4 && memcmp(s, "...;", 4) == 0))
		bits |= PH_DOTS_LINE;
	if (!(c = comment_start(s, n, &marker)))
		return bits;
	n -= (size_t)(c - s) + marker;
	s = c + marker;
	while (n && (isspace((unsigned char)*s) || *s == '*' || *s == '/' || *s == '#' || *s == '-'))
		s++, n--;
	if (starts_with_dots(s, n))
		bits |= PH_DOTS_COMMENT;
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++) {
		size_t pl = strlen(phrases[i]);
		for (size_t k = 0; k + pl <= n; k++) {
			if (strncasecmp(s + k, phrases[i], pl) == 0) {
				bits |= PH_PHRASE(i);
				break;
			}
		}
	}
	return bits;
}

/* Bits of all placeholders; `first` gets the first line with a bit outside `known`. */
static unsigned find_placeholders(const char *text, size_t len, unsigned known,
                                  struct line *first)
{
	struct line *l = NULL;
	size_t n = split_lines(&l, text, len);
	unsigned all = 0;

	if (first)
		first->s = NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned bits = line_placeholders(l[i].s, l[i].len);
		if (first && !first->s && (bits & ~known)) {
			*first = l[i];
			first->s += indent_of(&l[i]);
			first->len -= indent_of(&l[i]);
		}
		all |= bits;
	}
	free(l);
	return all;
}

unsigned gm_validate_placeholders(const char *text, size_t len)
{
	return find_placeholders(text, len, 0, NULL);
}


/* Equal but for trailing white space of lines and of the whole. */
static bool same_text(const char *a, size_t alen, const char *b, size_t blen)
{
	struct line *la = NULL, *lb = NULL;
	size_t na = split_lines(&la, a, alen), nb = split_lines(&lb, b, blen);
	bool same;

	while (na && is_blank(&la[na - 1]))
		na--;
	while (nb && is_blank(&lb[nb - 1]))
		nb--;
	same = na == nb;
	for (size_t i = 0; same && i < na; i++) {
		size_t x = la[i].len, y = lb[i].len;
		while (x && isspace((unsigned char)la[i].s[x - 1]))
			x--;
		while (y && isspace((unsigned char)lb[i].s[y - 1]))
			y--;
		same = x == y && memcmp(la[i].s, lb[i].s, x) == 0;
	}
	free(la);
	free(lb);
	return same;
}

static bool same_code(const char *a, size_t alen, const char *b, size_t blen)
{
	char *x = gm_fold_space(a, alen, NULL), *y = gm_fold_space(b, blen, NULL);
	bool same = !strcmp(x, y);
	free(x);
	free(y);
	return same;
}

static bool first_error(TSNode root, uint32_t from, TSPoint *where)
{
	TSTreeCursor c = ts_tree_cursor_new(root);
	bool found = false, any = false;
	TSPoint first = { 0, 0 };

	for (;;) {
		TSNode cur = ts_tree_cursor_current_node(&c);
		if (ts_node_is_error(cur) || ts_node_is_missing(cur)) {
			if (!any) {
				first = ts_node_start_point(cur);
				any = true;
			}
			if (ts_node_start_byte(cur) >= from || ts_node_end_byte(cur) > from) {
				*where = ts_node_start_point(cur);
				found = true;
				break;
			}
		}
		if (ts_node_has_error(cur) && ts_tree_cursor_goto_first_child(&c))
			continue;
		while (!ts_tree_cursor_goto_next_sibling(&c))
			if (!ts_tree_cursor_goto_parent(&c))
				goto done;
	}
done:
	ts_tree_cursor_delete(&c);
	if (!found && any)
		*where = first;
	return found || any;
}

static int reject(struct gm_validate_result *out, enum gm_verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int reject(struct gm_validate_result *out, enum gm_verdict v, const char *fmt, ...)
{
	struct gm_buf b = GM_BUF_INIT;
	va_list ap;

	if (out->reason)
		return 0; /* the first reason stands */
	va_start(ap, fmt);
	gm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	out->verdict = v;
	out->reason = gm_buf_detach(&b, NULL);
	return 0;
}

static bool is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* `w` (length wl) as a whole identifier in [s, s + n). */
static bool has_word_n(const char *s, size_t n, const char *w, size_t wl)
{
	const char *p = s, *end = s + n;
	while (wl && p < end && (p = memmem(p, (size_t)(end - p), w, wl))) {
		if ((p == s || !is_ident(p[-1])) && (p + wl == end || !is_ident(p[wl])))
			return true;
		p++;
	}
	return false;
}

static bool has_word(const char *s, const char *w)
{
	return has_word_n(s, strlen(s), w, strlen(w));
}

/* The last component of a qualified name: Class.method, ns::f, (*T).M. */
static const char *last_component(const char *name)
{
	const char *r = name;
	for (const char *p = name; *p; p++)
		if (*p == '.' || *p == ':')
			r = p + 1;
	return r;
}

/* The first line of [s, s + n), trimmed and cut to 60 bytes, for reasons. */
static char *first_line(const char *s, size_t n)
{
	const char *e;
	while (n && isspace((unsigned char)*s))
		s++, n--;
	e = memchr(s, '\n', n);
	if (e)
		n = (size_t)(e - s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return n > 60 ? gm_xasprintf("%.57s...", s) : gm_xstrndup(s, n);
}

/* ---- multi-line string literals ------------------------------------------ */

struct spans {
	uint32_t *s, *e; /* string literals spanning lines, document order */
	size_t n, cap, ecap;
};

/* Multi-line string literals (`comments`: block comments instead) of the tree at `root`. */
static void collect_strings(struct spans *sp, TSNode root, bool comments)
{
	TSTreeCursor c = ts_tree_cursor_new(root);
	for (;;) {
		TSNode n = ts_tree_cursor_current_node(&c);
		bool descend = true;
		if ((comments ? gm_lang_node_is_comment(n) : gm_lang_node_is_string(n)) &&
		    ts_node_start_point(n).row < ts_node_end_point(n).row) {
			GM_GROW(sp->s, sp->cap, sp->n + 1);
			GM_GROW(sp->e, sp->ecap, sp->n + 1);
			sp->s[sp->n] = ts_node_start_byte(n);
			sp->e[sp->n++] = ts_node_end_byte(n);
			descend = false;
		}
		if (descend && ts_tree_cursor_goto_first_child(&c))
			continue;
		while (!ts_tree_cursor_goto_next_sibling(&c))
			if (!ts_tree_cursor_goto_parent(&c))
				goto done;
	}
done:
	ts_tree_cursor_delete(&c);
}

/* Does a line starting at `pos` start inside a string literal? */
static bool in_string(const struct spans *sp, uint32_t pos)
{
	size_t lo = 0, hi = sp->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (sp->s[mid] < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && sp->e[lo - 1] > pos;
}

static void spans_release(struct spans *sp)
{
	free(sp->s);
	free(sp->e);
	memset(sp, 0, sizeof(*sp));
}

/* ---- indentation -------------------------------------------------------- */

/* One level of indentation: `width` times `ch` (tab or space); unknown when !width. */
struct style {
	char ch;
	size_t width;
};

/* How a piece indents: its space-indented lines by `spaces`, its tab-indented ones by tabs. */
struct styles {
	struct style spaces, tabs;
	bool exact; /* every space-indented line is a whole number of levels */
};

/*
 * The indentation units of the lines of [s, e) of `text` beyond `base`
 * (strings and block comments aside): for lines indented with spaces only,
 * the most common step by which a line is indented more than the code line
 * before it (ties: the smaller); tabs count one a level.  A line indented
 * with both is no evidence either way.
 */
static struct styles styles_of(const char *text, uint32_t s, uint32_t e, const struct spans *sp,
                               const struct spans *cm, size_t base)
{
	struct styles st = { { ' ', 0 }, { '\t', 0 }, true };
	const char *p = text + s, *end = text + e;
	bool first = true;
	size_t steps[33] = { 0 }, prev = 0, ntabs = 0, widths[512], nw = 0, best = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t w = 0, nsp = 0, ntb = 0;
		if (!first && !(sp && in_string(sp, (uint32_t)(p - text))) &&
		    !(cm && in_string(cm, (uint32_t)(p - text)))) {
			while (p + w < le && (p[w] == ' ' || p[w] == '\t'))
				w++;
			if (p + w < le && p[w] != '\r') {
				for (size_t k = base; k < w; k++)
					p[k] == ' ' ? nsp++ : ntb++;
				if (nsp && !ntb) {
					if (nsp > prev && nsp - prev <= 32)
						steps[nsp - prev]++;
					if (nw < 512)
						widths[nw++] = nsp;
				} else if (ntb && !nsp) {
					ntabs++;
				}
				prev = nsp;
			}
		}
		first = false;
		p = nl ? nl + 1 : end;
	}
	for (size_t k = 1; k <= 32; k++)
		if (steps[k] > steps[best])
			best = k;
	st.spaces.width = best;
	for (size_t i = 0; best && i < nw; i++)
		st.exact &= widths[i] % best == 0;
	st.tabs.width = ntabs ? 1 : 0;
	return st;
}

/*
 * The file's unit in [s, e): the most common step by which a line is
 * indented more than the line before it (ties: the smaller), in the
 * character most lines are indented with.  Unknown when nothing is.
 */
static struct style style_of(const char *text, uint32_t s, uint32_t e)
{
	const char *p = text + s, *end = text + e;
	size_t steps[17] = { 0 }, prev = 0, ntab = 0, nsp = 0, best = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t w = 0;
		while (p + w < le && (p[w] == ' ' || p[w] == '\t'))
			w++;
		/* " * text": a block comment's inner line is no indentation step. */
		if (p + w < le && p[w] != '\r' && p[w] != '*') {
			if (w && p[0] == '\t')
				ntab++;
			else if (w)
				nsp++;
			if (w > prev && w - prev <= 16)
				steps[w - prev]++;
			prev = w;
		}
		p = nl ? nl + 1 : end;
	}
	for (size_t k = 1; k <= 16; k++)
		if (steps[k] > steps[best])
			best = k;
	if (!best || (!ntab && !nsp))
		return (struct style){ 0, 0 };
	return ntab > nsp ? (struct style){ '\t', 1 } : (struct style){ ' ', best };
}

/* Smallest indentation of the non-blank lines after the first of [s, e) (SIZE_MAX: none). */
static size_t rest_indent(const char *text, uint32_t s, uint32_t e, const struct spans *sp)
{
	const char *p = memchr(text + s, '\n', e - s), *end = text + e;
	size_t m = SIZE_MAX;
	while (p && ++p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t w = 0;
		while (p + w < le && (p[w] == ' ' || p[w] == '\t'))
			w++;
		if (p + w < le && p[w] != '\r' && !(sp && in_string(sp, (uint32_t)(p - text))) && w < m)
			m = w;
		p = nl;
	}
	return m;
}

struct reindent {
	const char *ind;   /* the target's indentation: every line but the first gets it */
	size_t ind_len;
	const char *eol;
	struct style to;   /* the file's indentation unit (unknown: keep the answer's) */
	bool first_too;    /* also indent the first line (an insertion at a line start) */
	bool python;       /* indentation is syntax (lang->indent_blocks) */
};

/*
 * [s, e) of `text` (parsed: `sp` its multi-line strings) moved to `r->ind`:
 * the piece's own base indentation (the first line's column and the least
 * indentation of the others) removed, the target's put in front, levels
 * converted to the file's unit when the piece's own unit is known and
 * differs; lines inside string literals stay byte for byte, blank lines
 * become empty.  `as_in_file`: the lines after the first are already at
 * the file's columns (the model copied the function as it stands).
 */
static char *reindent(const char *text, uint32_t s, uint32_t e, const struct spans *sp,
                      const struct spans *cm,
                      const struct reindent *r, bool as_in_file, size_t *out_len)
{
	struct gm_buf b = GM_BUF_INIT;
	const char *p = text + s, *end = text + e, *ls = text + s;
	size_t col, base, rest;
	struct styles from;
	bool first = true, widen;
	size_t level = 0, level_out = 0; /* the last whole-level line: its rel, and what it became */
	char *res;
	size_t len;

	while (ls > text && ls[-1] != '\n')
		ls--;
	col = (size_t)(text + s - ls);
	rest = rest_indent(text, s, e, sp);
	base = rest < col ? rest : col;
	from = styles_of(text, s, e, sp, cm, base);
	/*
	 * A line that is not a whole number of levels (an aligned continuation)
	 * keeps its offset from the last whole-level line; when the unit shrinks,
	 * that could make two levels one, so then only whole levels are converted
	 * (in Python, where that would matter, not at all).
	 */
	widen = r->to.ch == '\t' || r->to.width >= from.spaces.width;
	if (!from.exact && !widen && r->python)
		from.spaces.width = 0; /* levels that could merge: leave the answer's indentation */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t ll = (size_t)(le - p), w = 0;
		if (ll && p[ll - 1] == '\r')
			ll--;
		if (!first)
			gm_buf_puts(&b, r->eol);
		if (!first && sp && in_string(sp, (uint32_t)(p - text))) {
			gm_buf_put(&b, p, ll); /* inside a string: as it is */
		} else {
			while (w < ll && (p[w] == ' ' || p[w] == '\t'))
				w++;
			if (w == ll) {
				/* blank */
			} else if (first) {
				if (r->first_too)
					gm_buf_put(&b, r->ind, r->ind_len);
				gm_buf_put(&b, p + w, ll - w);
			} else if (as_in_file) {
				gm_buf_put(&b, p, ll);
			} else {
				size_t strip = w < base ? w : base, rel = w - strip;
				const struct style *f = NULL;
				/* A block comment's inner lines move with the block, as they are. */
				if (cm && in_string(cm, (uint32_t)(p - text)))
					f = NULL;
				else if (rel && memchr(p + strip, '\t', rel) == NULL)
					f = &from.spaces;
				else if (rel && memchr(p + strip, ' ', rel) == NULL)
					f = &from.tabs;
				gm_buf_put(&b, r->ind, r->ind_len);
				if (f && f->width && r->to.width && (f->ch != r->to.ch || f->width != r->to.width) &&
				    (rel % f->width == 0 || (widen && rel > level))) {
					/* Another indentation unit: the same levels in the file's. */
					size_t out = rel % f->width == 0 ? rel / f->width * r->to.width : level_out;
					for (size_t k = 0; k < out; k++)
						gm_buf_put(&b, &r->to.ch, 1);
					if (rel % f->width == 0) {
						level = rel;
						level_out = out;
					} else {
						for (size_t k = level; k < rel; k++)
							gm_buf_puts(&b, " ");
					}
				} else {
					gm_buf_put(&b, p + strip, rel);
				}
				gm_buf_put(&b, p + w, ll - w);
			}
		}
		first = false;
		p = nl ? nl + 1 : end;
	}
	res = gm_buf_detach(&b, &len);
	while (len && isspace((unsigned char)res[len - 1]))
		res[--len] = '\0';
	if (out_len)
		*out_len = len;
	return res;
}

/* ---- the original file -------------------------------------------------- */

struct gm_validate_file {
	TSTree *tree;
	struct gm_file_scan scan;
	struct gm_edit_imports *imports;
	struct style style; /* the file's indentation unit */
	char **idents;      /* the identifiers of its code, sorted, unique */
	size_t nidents;
};

static int cmp_idents(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every identifier leaf of the tree (any grammar's *identifier node types). */
static void collect_idents(struct gm_validate_file *f, const char *src)
{
	TSTreeCursor c = ts_tree_cursor_new(ts_tree_root_node(f->tree));
	size_t cap = 0, k = 0;
	for (;;) {
		TSNode n = ts_tree_cursor_current_node(&c);
		if (ts_node_child_count(n) == 0 && ts_node_is_named(n) &&
		    strstr(ts_node_type(n), "identifier")) {
			GM_GROW(f->idents, cap, f->nidents + 1);
			f->idents[f->nidents++] = gm_xstrndup(src + ts_node_start_byte(n),
			                                      ts_node_end_byte(n) - ts_node_start_byte(n));
		}
		if (ts_tree_cursor_goto_first_child(&c))
			continue;
		while (!ts_tree_cursor_goto_next_sibling(&c))
			if (!ts_tree_cursor_goto_parent(&c))
				goto done;
	}
done:
	ts_tree_cursor_delete(&c);
	if (f->nidents > 1)
		qsort(f->idents, f->nidents, sizeof(char *), cmp_idents);
	for (size_t i = 0; i < f->nidents; i++) {
		if (k && !strcmp(f->idents[k - 1], f->idents[i])) {
			free(f->idents[i]);
			continue;
		}
		f->idents[k++] = f->idents[i];
	}
	f->nidents = k;
}

int gm_validate_file_new(struct gm_validate_file **out, const struct gm_lang *lang, const char *src,
                         size_t len, TSParser *parser)
{
	struct gm_validate_file *f = gm_xcalloc(1, sizeof(*f));
	int rc;

	*out = NULL;
	if (!(f->tree = gm_scan_parse(lang, src, len, parser))) {
		free(f);
		return GM_ERROR;
	}
	if ((rc = gm_scan_tree(&f->scan, lang, src, len, f->tree)) < 0 ||
	    (rc = gm_edit_imports_new(&f->imports, lang, src, len, f->tree)) < 0) {
		gm_validate_file_free(f);
		return rc;
	}
	f->style = style_of(src, 0, (uint32_t)len);
	collect_idents(f, src);
	*out = f;
	return 0;
}

void gm_validate_file_free(struct gm_validate_file *f)
{
	if (!f)
		return;
	gm_edit_imports_free(f->imports);
	for (size_t i = 0; i < f->nidents; i++)
		free(f->idents[i]);
	free(f->idents);
	gm_file_scan_release(&f->scan);
	if (f->tree)
		ts_tree_delete(f->tree);
	free(f);
}

struct vctx {
	const struct gm_validate_in *in;
	const struct gm_lang *lang;
	const char *src;
	size_t len;
	TSParser *parser;
	struct gm_validate_result *out;

	const struct gm_validate_file *file; /* the original's parse, scan and imports */
	struct gm_validate_file *own;        /* when the caller had none */
	TSTree *otree;                       /* file's */
	const struct gm_file_scan *fo;       /* a fresh scan of src (scopes, leads) */
	const struct gm_unit *u;
	size_t ui;
	uint32_t item;          /* start of the unit's item (`export function f`: `export`) */
	uint32_t head;          /* min(lead, item): where its edit starts */
	const char *ind;
	size_t ind_len;
	const char *eol;
	struct style fstyle;    /* the file's indentation unit, from the unit */
	const struct gm_scope *chain[32]; /* scopes around the unit, outer first */
	size_t nchain;
	bool method;            /* in a class (or a Go/C++ method) */
	char *folded_src;       /* the file around the unit, folded (gm_fold_space), for echo checks */

	/* the answer's code block */
	char *code;
	size_t code_len;
	TSTree *ctree;
	struct gm_file_scan fc;
	struct spans csp; /* its multi-line strings */
	struct spans ccm; /* and block comments */
};

/* The node of exactly [s, e), or the smallest around it. */
static TSNode node_at(TSNode root, uint32_t s, uint32_t e)
{
	TSNode n = ts_node_descendant_for_byte_range(root, s, e);
	while (!ts_node_is_null(n) && !ts_node_eq(n, root) && !ts_node_is_null(ts_node_parent(n)) &&
	       ts_node_start_byte(ts_node_parent(n)) == s && ts_node_end_byte(ts_node_parent(n)) == e &&
	       !ts_node_eq(ts_node_parent(n), root))
		n = ts_node_parent(n);
	return n;
}

static uint32_t line_start(const char *src, uint32_t pos)
{
	while (pos > 0 && src[pos - 1] != '\n')
		pos--;
	return pos;
}

static bool same_unit(const struct gm_unit *a, const struct gm_unit *b)
{
	return a->start_byte == b->start_byte && a->end_byte == b->end_byte &&
	       !strcmp(a->name, b->name);
}

/*
 * Blank lines the file puts between functions at column `col` (the most
 * common count between neighbours there), `def` when it has no such pair.
 */
static unsigned spacing(const struct gm_file_scan *fs, const char *src, uint32_t col, unsigned def)
{
	unsigned count[4] = { 0 }, best = def;
	size_t seen = 0;
	for (size_t i = 1; i < fs->n; i++) {
		const struct gm_unit *a = &fs->units[i - 1], *b = &fs->units[i];
		uint32_t p = a->end_byte;
		unsigned blanks = 0;
		bool only_blank = true;
		if (a->start_col != col || b->start_col != col)
			continue;
		/* The lines between: all blank, or not a pair of neighbours. */
		while (p < b->lead_byte && src[p] != '\n')
			p++;
		for (uint32_t q = p; q < b->lead_byte && only_blank; q++) {
			if (src[q] == '\n')
				blanks++;
			else if (!isspace((unsigned char)src[q]))
				only_blank = false;
		}
		if (!only_blank || !blanks)
			continue;
		blanks--; /* the line end of the last line of a */
		if (blanks < 4) {
			count[blanks]++;
			seen++;
		}
	}
	if (seen)
		for (unsigned k = 0; k < 4; k++)
			if (count[k] > count[best < 4 ? best : 0] || (best >= 4 && count[k]))
				best = k;
	return best;
}

static int prepare_original(struct vctx *v)
{
	const struct gm_unit *cu = v->in->unit;
	TSNode root, n;
	int rc;

	if (!v->file) {
		if ((rc = gm_validate_file_new(&v->own, v->lang, v->src, v->len, v->parser)) < 0)
			return rc;
		v->file = v->own;
	}
	v->otree = v->file->tree;
	v->fo = &v->file->scan;
	for (size_t i = 0; i < v->fo->n && !v->u; i++)
		if (same_unit(&v->fo->units[i], cu) ||
		    (!strcmp(v->fo->units[i].name, cu->name) && v->fo->units[i].ordinal == cu->ordinal))
			v->u = &v->fo->units[v->ui = i];
	if (!v->u) {
		gm_error_set("'%s' is not in the file any more", cu->name);
		return GM_ERROR;
	}
	root = ts_tree_root_node(v->otree);
	n = gm_scan_item(node_at(root, v->u->start_byte, v->u->end_byte), root);
	v->item = ts_node_start_byte(n);
	v->head = v->u->lead_byte < v->item ? v->u->lead_byte : v->item;
	v->ind = v->src + line_start(v->src, v->u->start_byte);
	v->ind_len = 0;
	while (v->ind + v->ind_len < v->src + v->u->start_byte &&
	       (v->ind[v->ind_len] == ' ' || v->ind[v->ind_len] == '\t'))
		v->ind_len++;
	v->eol = gm_edit_eol(v->src, v->len);
	v->fstyle = style_of(v->src, line_start(v->src, v->u->start_byte), v->u->end_byte);
	if (!v->fstyle.width) /* a one-line function: the file's own */
		v->fstyle = v->file->style;
	for (size_t i = 0; i < v->fo->nscopes && v->nchain < 32; i++) {
		const struct gm_scope *s = &v->fo->scopes[i];
		if (s->start_byte <= v->u->start_byte && s->end_byte >= v->u->end_byte &&
		    !(s->start_byte == v->u->start_byte && s->end_byte == v->u->end_byte))
			v->chain[v->nchain++] = s;
	}
	v->method = strcmp(v->u->kind, "function") != 0 ||
	            (v->nchain && v->chain[v->nchain - 1]->is_class);
	return 0;
}

/*
 * Is `t` code that stands in the original file outside the unit (white
 * space aside)?  `lines`: line by line will do (echoed neighbours spaced
 * otherwise); else it must be found whole.
 */
static bool is_echo(struct vctx *v, const char *t, size_t n, bool lines)
{
	char *f = gm_fold_space(t, n, NULL);
	bool found;
	if (!v->folded_src) {
		char *a = gm_fold_space(v->src, v->head, NULL);
		char *b = gm_fold_space(v->src + v->u->end_byte, v->len - v->u->end_byte, NULL);
		v->folded_src = gm_xasprintf("%s\n%s", a, b);
		free(a);
		free(b);
	}
	found = !*f || strstr(v->folded_src, f) != NULL;
	if (!found && lines) {
		/* Line by line: neighbours echoed with other spacing between them. */
		struct line *l = NULL;
		size_t nl = split_lines(&l, t, n);
		found = true;
		for (size_t i = 0; i < nl && found; i++) {
			char *fl = gm_fold_space(l[i].s, l[i].len, NULL);
			found = !*fl || strstr(v->folded_src, fl) != NULL;
			free(fl);
		}
		free(l);
	}
	free(f);
	return found;
}

/* Does the name `w` stand anywhere in the original file (a unit, a variable, a call)? */
static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is `w` a name the file's code uses (an identifier: not a word in a string or comment)? */
static bool name_in_file(const struct vctx *v, const char *w)
{
	return bsearch(&w, v->file->idents, v->file->nidents, sizeof(char *), cmp_strp) != NULL;
}

static bool defines_target(const struct vctx *v, const struct gm_unit *x)
{
	const struct gm_validate_in *in = v->in;
	const char *want = v->u->short_name;
	if (!strcmp(x->short_name, want))
		return true;
	if (in->new_name && !strcmp(x->short_name, last_component(in->new_name)))
		return true;
	return in->new_signature && has_word(in->new_signature, x->short_name) &&
	       strcmp(x->short_name, "self") != 0;
}

static bool names_match(const struct vctx *v, const struct gm_unit *found)
{
	const struct gm_validate_in *in = v->in;
	if (strcmp(found->name, v->u->name) == 0)
		return true;
	if (in->new_name && (strcmp(found->name, in->new_name) == 0 ||
	                     strcmp(found->short_name, in->new_name) == 0 ||
	                     strcmp(found->short_name, last_component(in->new_name)) == 0))
		return true;
	/* A planned signature names the function too. */
	return in->new_signature && has_word(in->new_signature, found->short_name);
}

/* ---- choosing the code block ----------------------------------------------- */

/* "Here is the refactored function:" — a line of prose around an unfenced answer. */
static bool prose_line(const struct line *l)
{
	size_t i = indent_of(l), n = l->len, words = 1;
	bool code_char = false, sentence;
	if (i == n || i > 0 || !isalpha((unsigned char)l->s[0]))
		return false;
	for (size_t k = 0; k < n; k++) {
		char c = l->s[k];
		if (strchr("{};=<>\"`#", c))
			return false;
		code_char |= strchr("()[]'", c) != NULL;
		words += c == ' ';
	}
	/* "Here's the refactored method (same behaviour):": a sentence ends it. */
	sentence = isupper((unsigned char)l->s[0]) && n && (l->s[n - 1] == ':' || l->s[n - 1] == '.');
	if (code_char)
		return sentence && words >= 3;
	return words >= 3 || (sentence && words >= 2);
}

/*
 * Does [s, e) read like the definition of `name`: the name (not after '.'
 * or "->": a call on an object) followed by a parameter list and then a body
 * ('{', ':', or "=>")?
 */
static bool defines_by_text(const char *s, const char *e, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = s; nl && p < e && (p = memmem(p, (size_t)(e - p), name, nl)); p++) {
		const char *q = p + nl;
		int depth = 0;
		if ((p > s && (is_ident(p[-1]) || p[-1] == '.')) || (p - s >= 2 && p[-2] == '-' && p[-1] == '>'))
			continue;
		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		if (q >= e || *q != '(')
			continue;
		for (; q < e; q++) {
			if (*q == '(')
				depth++;
			else if (*q == ')' && --depth == 0)
				break;
		}
		if (q >= e)
			continue;
		/* After the parameters: a return type, then the body. */
		for (q++; q < e && *q != '\n' && *q != ';'; q++)
			if (*q == '{' || (*q == ':' && (q + 1 == e || q[1] == '\n' || q[1] == ' ')) ||
			    (*q == '=' && q + 1 < e && q[1] == '>'))
				return true;
		if (q < e && *q == '\n') {
			/* The body on the next line (C, C++: "{" alone). */
			const char *r = q + 1;
			while (r < e && (*r == ' ' || *r == '\t'))
				r++;
			if (r < e && *r == '{')
				return true;
		}
	}
	return false;
}

struct cand {
	const struct gm_code_block *b;
	struct gm_file_scan fs;
	bool scanned, defines, echo, only_imports, only_helpers;
};

static void judge_block(struct vctx *v, struct cand *c)
{
	const char *s = c->b->start;
	size_t n = (size_t)(c->b->end - c->b->start);
	TSTree *t = gm_scan_parse(v->lang, s, n, v->parser);
	TSNode root;
	uint32_t nk;
	bool imports = false, units = true;

	if (!t) {
		gm_error_clear();
		return;
	}
	if (gm_scan_tree(&c->fs, v->lang, s, n, t) < 0) {
		gm_error_clear();
		ts_tree_delete(t);
		return;
	}
	c->scanned = true;
	for (size_t i = 0; i < c->fs.n; i++)
		c->defines |= defines_target(v, &c->fs.units[i]);
	c->echo = same_code(s, n, v->src + v->u->lead_byte, v->u->end_byte - v->u->lead_byte) ||
	          same_code(s, n, v->src + v->u->start_byte, v->u->end_byte - v->u->start_byte);
	root = ts_tree_root_node(t);
	nk = ts_node_named_child_count(root);
	c->only_imports = nk > 0;
	for (uint32_t i = 0; i < nk; i++) {
		TSNode k = ts_node_named_child(root, i);
		uint32_t ks = ts_node_start_byte(k), ke = ts_node_end_byte(k);
		bool in_unit = false;
		if (gm_lang_node_is_comment(k))
			continue;
		if (gm_lang_node_is_import(v->lang, k, s) && !ts_node_has_error(k))
			imports = true;
		else
			c->only_imports = false;
		for (size_t u = 0; u < c->fs.n && !in_unit; u++)
			in_unit = c->fs.units[u].lead_byte <= ks && c->fs.units[u].end_byte >= ke;
		for (size_t u = 0; u < c->fs.n && !in_unit; u++)
			in_unit = ks <= c->fs.units[u].start_byte && ke >= c->fs.units[u].end_byte &&
			          ke == c->fs.units[u].end_byte;
		if (!in_unit && !gm_lang_node_is_lead(k))
			units = false;
	}
	c->only_imports = c->only_imports && imports;
	c->only_helpers = units && c->fs.n > 0 && !c->defines && !ts_node_has_error(root);
	for (size_t i = 0; c->only_helpers && i < c->fs.n; i++)
		c->only_helpers = !name_in_file(v, c->fs.units[i].short_name);
	ts_tree_delete(t);
}

/* Join `blocks` in order into v->code. */
static void take_blocks(struct vctx *v, struct cand **pick, size_t n)
{
	struct gm_buf b = GM_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i)
			gm_buf_puts(&b, "\n\n");
		gm_buf_put(&b, pick[i]->b->start, (size_t)(pick[i]->b->end - pick[i]->b->start));
	}
	v->code = gm_buf_detach(&b, &v->code_len);
}

/* Prose lines off the ends of an unfenced answer. */
static void trim_prose(const char **s, const char **e)
{
	for (;;) {
		const char *nl = memchr(*s, '\n', (size_t)(*e - *s));
		struct line l = { *s, nl ? (size_t)(nl - *s) : (size_t)(*e - *s) };
		if (l.len && l.s[l.len - 1] == '\r')
			l.len--;
		if (!nl || !(prose_line(&l) || is_blank(&l)))
			break;
		*s = nl + 1;
	}
	for (;;) {
		const char *p = *e;
		struct line l;
		while (p > *s && (p[-1] == '\n' || p[-1] == '\r' || p[-1] == ' ' || p[-1] == '\t'))
			p--;
		l.s = p;
		while (l.s > *s && l.s[-1] != '\n')
			l.s--;
		l.len = (size_t)(p - l.s);
		if (l.s == *s || !prose_line(&l))
			break;
		*e = l.s;
	}
}

static int choose_code(struct vctx *v, const char *text, size_t tlen)
{
	struct gm_code_block *blocks = NULL;
	size_t nb = gm_extract_blocks(&blocks, text, tlen), ncand = 0, ndef = 0, nfresh = 0;
	struct cand *cands = gm_xcalloc(nb ? nb : 1, sizeof(*cands));
	struct cand **pick = gm_xcalloc(nb + 1, sizeof(*pick));
	struct cand *primary = NULL;
	size_t npick = 0;
	bool foreign = false;

	for (size_t i = 0; i < nb; i++) {
		struct gm_code_block *b = &blocks[i];
		const char *p = b->start;
		while (p < b->end && isspace((unsigned char)*p))
			p++;
		if (p == b->end)
			continue;
		if (b->fenced && gm_lang_tag_foreign(v->lang, b->tag, b->tag_len)) {
			foreign = true;
			continue;
		}
		if (!b->fenced)
			trim_prose(&b->start, &b->end);
		cands[ncand].b = b;
		judge_block(v, &cands[ncand]);
		ncand++;
	}
	for (size_t i = 0; i < ncand; i++)
		if (cands[i].defines) {
			ndef++;
			nfresh += !cands[i].echo;
		}
	for (size_t i = 0; i < ncand && !primary; i++)
		if (cands[i].defines && (!cands[i].echo || !nfresh) && (nfresh <= 1 || !cands[i].echo)) {
			if ((nfresh ? nfresh : ndef) > 1) {
				reject(v->out, GM_VERDICT_REJECT,
				       "answer has several code blocks that define '%s'", v->u->short_name);
				goto cleanup;
			}
			primary = &cands[i];
		}
	if (!primary && ncand == 1)
		primary = &cands[0];
	if (!primary && ncand > 1) {
		/*
		 * No block parses as the definition alone (a method outside its
		 * class): the one that reads like its definition, else the one
		 * that names it.
		 */
		size_t named = 0, defining = 0;
		struct cand *by_def = NULL, *by_name = NULL;
		for (size_t i = 0; i < ncand; i++) {
			const struct gm_code_block *b = cands[i].b;
			if (cands[i].only_imports || cands[i].only_helpers)
				continue;
			if (defines_by_text(b->start, b->end, v->u->short_name)) {
				defining++;
				by_def = &cands[i];
			}
			if (has_word_n(b->start, (size_t)(b->end - b->start), v->u->short_name,
			               strlen(v->u->short_name))) {
				named++;
				by_name = &cands[i];
			}
		}
		primary = defining == 1 ? by_def : named == 1 ? by_name : NULL;
		if (primary)
			named = 1;
		if (named != 1) {
			reject(v->out, GM_VERDICT_REJECT, "several code blocks and none defines '%s'",
			       v->u->short_name);
			goto cleanup;
		}
	}
	if (!primary) {
		if (foreign)
			reject(v->out, GM_VERDICT_REJECT, "answer has no %s code block", v->lang->name);
		else
			reject(v->out, GM_VERDICT_REJECT, "answer is empty");
		goto cleanup;
	}
	/* Blocks of imports, and of helpers the function calls, join it. */
	for (size_t i = 0; i < ncand; i++)
		if (&cands[i] != primary && cands[i].only_imports)
			pick[npick++] = &cands[i];
	for (size_t i = 0; i < ncand; i++) {
		bool called = &cands[i] != primary && cands[i].only_helpers;
		for (size_t k = 0; called && k < cands[i].fs.n; k++)
			called = has_word_n(primary->b->start, (size_t)(primary->b->end - primary->b->start),
			                    cands[i].fs.units[k].short_name,
			                    strlen(cands[i].fs.units[k].short_name));
		if (called)
			pick[npick++] = &cands[i];
	}
	pick[npick++] = primary;
	take_blocks(v, pick, npick);
cleanup:
	for (size_t i = 0; i < ncand; i++)
		if (cands[i].scanned)
			gm_file_scan_release(&cands[i].fs);
	free(cands);
	free(pick);
	free(blocks);
	return 0;
}

/* ---- taking the code block apart ------------------------------------------ */

enum piece_kind {
	P_CODE,   /* goes where the unit is */
	P_IMPORT, /* an import statement */
	P_FREE,   /* a free helper: before the class */
	P_OUTER,  /* other code outside the class wrapper: must be an echo */
};

struct piece {
	enum piece_kind kind;
	uint32_t start, end;
	TSNode node;
};

struct pieces {
	struct piece *v;
	size_t n, cap;
	bool wrapped;
};

static void add_piece(struct pieces *ps, enum piece_kind k, uint32_t s, uint32_t e, TSNode n)
{
	GM_GROW(ps->v, ps->cap, ps->n + 1);
	ps->v[ps->n++] = (struct piece){ k, s, e, n };
}

/* The unit of the code block that the node `c` is (the unit, or its item), or NULL. */
static const struct gm_unit *unit_of_node(const struct vctx *v, TSNode c)
{
	TSNode root = ts_tree_root_node(v->ctree);
	uint32_t s = ts_node_start_byte(c), e = ts_node_end_byte(c);
	for (size_t i = 0; i < v->fc.n; i++) {
		const struct gm_unit *x = &v->fc.units[i];
		if (x->start_byte < s || x->end_byte > e)
			continue;
		if (ts_node_eq(gm_scan_item(node_at(root, x->start_byte, x->end_byte), root), c))
			return x;
	}
	return NULL;
}

/* The outermost scope of the code block inside [s, e), or NULL. */
static const struct gm_scope *scope_of_node(const struct vctx *v, uint32_t s, uint32_t e)
{
	for (size_t i = 0; i < v->fc.nscopes; i++)
		if (v->fc.scopes[i].start_byte >= s && v->fc.scopes[i].end_byte <= e)
			return &v->fc.scopes[i];
	return NULL;
}

static bool scope_holds_target(const struct vctx *v, const struct gm_scope *sc)
{
	for (size_t i = 0; i < v->fc.n; i++)
		if (v->fc.units[i].start_byte >= sc->start_byte && v->fc.units[i].end_byte <= sc->end_byte &&
		    defines_target(v, &v->fc.units[i]))
			return true;
	return false;
}

/* The chain index (>= from) a wrapper of this name stands for, or -1. */
static long chain_index(const struct vctx *v, const char *name, size_t from)
{
	for (size_t i = from; i < v->nchain; i++)
		if (!strcmp(v->chain[i]->name, name))
			return (long)i;
	return -1;
}

/* Does helper `x` of a method (written outside any class) take the object? */
static bool takes_self(const struct vctx *v, const struct gm_unit *x)
{
	const struct gm_lang *l = v->lang;
	const char *sig = x->signature, *p = strchr(sig, '(');
	const char *unit = v->code + x->start_byte;
	size_t ulen = x->end_byte - x->start_byte;

	for (const char *const *d = l->method_decorators; d && *d; d++) {
		/* @staticmethod in the unit's own lines, before the def */
		const char *at = memmem(unit, ulen, *d, strlen(*d));
		if (at && at > unit && at[-1] == '@')
			return true;
	}
	if (l->assoc_prefix) {
		char *call = gm_xasprintf("%s%s", l->assoc_prefix, x->short_name);
		bool found = memmem(v->code, v->code_len, call, strlen(call)) != NULL;
		free(call);
		if (found)
			return true;
	}
	if (!p)
		return false;
	p++;
	while (*p == ' ' || *p == '&' || *p == '\'')
		p++;
	if (!strncmp(p, "mut ", 4))
		p += 4;
	for (const char *const *w = l->self_words; w && *w; w++) {
		size_t n = strlen(*w);
		if (!strncmp(p, *w, n) && !is_ident(p[n]))
			return true;
	}
	return false;
}

static int decompose_level(struct vctx *v, struct pieces *ps, TSNode parent, size_t depth,
                           bool root_level);

/* Take a wrapper off: its body's children become pieces. */
static int peel(struct vctx *v, struct pieces *ps, const struct gm_scope *sc, size_t next)
{
	TSNode root = ts_tree_root_node(v->ctree);
	TSNode n = node_at(root, sc->start_byte, sc->end_byte);
	TSNode body = ts_node_child_by_field_name(n, "body", 4);
	if (ts_node_is_null(body)) {
		add_piece(ps, P_CODE, sc->start_byte, sc->end_byte, n);
		return 0;
	}
	return decompose_level(v, ps, body, next, false);
}

static int decompose_level(struct vctx *v, struct pieces *ps, TSNode parent, size_t depth,
                           bool root_level)
{
	uint32_t nk = ts_node_named_child_count(parent);
	uint32_t pending = UINT32_MAX; /* a comment run directly above what follows */
	uint32_t pending_end_row = 0;

	for (uint32_t i = 0; i < nk && !v->out->reason; i++) {
		TSNode c = ts_node_named_child(parent, i);
		uint32_t s = ts_node_start_byte(c), e = ts_node_end_byte(c);
		const struct gm_unit *x;
		const struct gm_scope *sc;
		uint32_t from;

		if (!root_level && !strcmp(ts_node_type(c), "access_specifier"))
			continue; /* `public:` of a C++ class wrapper: the method keeps its own */
		if (gm_lang_node_is_comment(c)) {
			if (pending == UINT32_MAX || ts_node_start_point(c).row > pending_end_row + 1)
				pending = s;
			pending_end_row = ts_node_end_point(c).row;
			add_piece(ps, root_level && ps->wrapped ? P_OUTER : P_CODE, s, e, c);
			continue;
		}
		from = pending != UINT32_MAX && ts_node_start_point(c).row <= pending_end_row + 1 ? pending : s;
		pending = UINT32_MAX;
		if (root_level && gm_lang_node_is_import(v->lang, c, v->code) && !ts_node_has_error(c)) {
			add_piece(ps, P_IMPORT, s, e, c);
			continue;
		}
		x = unit_of_node(v, c);
		sc = x ? NULL : scope_of_node(v, s, e);
		if (sc && scope_holds_target(v, sc)) {
			long k = chain_index(v, sc->name, depth);
			if (k < 0) {
				if (v->nchain)
					reject(v->out, GM_VERDICT_REJECT, "answer puts '%s' in '%s', not in '%s'",
					       v->u->short_name, sc->name, v->chain[v->nchain - 1]->name);
				else
					reject(v->out, GM_VERDICT_REJECT, "answer wraps '%s' in '%s'",
					       v->u->short_name, sc->name);
				return 0;
			}
			if (root_level)
				ps->wrapped = true;
			peel(v, ps, sc, (size_t)k + 1);
			continue;
		}
		if (root_level && x && !defines_target(v, x) && v->method &&
		    (ps->wrapped || (v->lang->helper_rule == GM_HELPER_SYNTAX) ||
		     (v->lang->helper_rule == GM_HELPER_SELF_PARAM && !takes_self(v, x)))) {
			if (v->lang->no_free_functions) {
				reject(v->out, GM_VERDICT_REJECT, "answer adds '%s' outside the class",
				       x->short_name);
				return 0;
			}
			/* Drop the comment pieces that go with it: they travel in the free piece. */
			while (ps->n && ps->v[ps->n - 1].start >= from)
				ps->n--;
			add_piece(ps, P_FREE, from, e, c);
			continue;
		}
		/*
		 * Code the file has already, echoed beside the function (a struct, a
		 * constant): dropped here, where the block reads whole, rather than
		 * spliced where the function is, where it may not belong.
		 */
		if (root_level && !ps->wrapped && !x && !ts_node_has_error(parent) &&
		    is_echo(v, v->code + s, e - s, false))
			continue;
		add_piece(ps, root_level && ps->wrapped && !(x && defines_target(v, x)) ? P_OUTER : P_CODE,
		          s, e, c);
	}
	return 0;
}

static int decompose(struct vctx *v, struct pieces *ps)
{
	TSNode root = ts_tree_root_node(v->ctree);
	/* First: is there a wrapper?  Code outside it is then outer code. */
	for (uint32_t i = 0; i < ts_node_named_child_count(root); i++) {
		TSNode c = ts_node_named_child(root, i);
		const struct gm_scope *sc;
		if (unit_of_node(v, c))
			continue;
		sc = scope_of_node(v, ts_node_start_byte(c), ts_node_end_byte(c));
		if (sc && scope_holds_target(v, sc) && chain_index(v, sc->name, 0) >= 0)
			ps->wrapped = true;
	}
	return decompose_level(v, ps, root, 0, true);
}

/* ---- building the edit --------------------------------------------------- */

static bool only_space(const char *s, const char *e)
{
	for (; s < e; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/*
 * Pieces of one kind re-indented and joined, keeping a blank line where the
 * answer had one.  Pieces with only white space between them are one run
 * (a method the block could not parse alone comes in several nodes).
 */
static char *join_pieces(struct vctx *v, const struct pieces *ps, enum piece_kind kind,
                         const struct reindent *r, bool allow_as_in_file, size_t *out_len)
{
	struct gm_buf b = GM_BUF_INIT;
	uint32_t prev_end = 0;
	bool any = false;
	for (size_t i = 0; i < ps->n;) {
		uint32_t s, e;
		size_t j = i;
		char *t;
		size_t tl;
		bool as_in_file = false;
		if (ps->v[i].kind != kind) {
			i++;
			continue;
		}
		s = ps->v[i].start;
		e = ps->v[i].end;
		while (j + 1 < ps->n && ps->v[j + 1].kind == kind &&
		       only_space(v->code + e, v->code + ps->v[j + 1].start)) {
			j++;
			if (ps->v[j].end > e)
				e = ps->v[j].end;
		}
		i = j + 1;
		if (allow_as_in_file && v->ind_len && s == line_start(v->code, s)) {
			/* First line at column 0, the others at the file's columns. */
			size_t rest = rest_indent(v->code, s, e, &v->csp);
			size_t orig = rest_indent(v->src, v->u->start_byte, v->u->end_byte, NULL);
			as_in_file = rest != SIZE_MAX && rest == orig && rest >= v->ind_len;
		}
		t = reindent(v->code, s, e, &v->csp, &v->ccm, r, as_in_file, &tl);
		if (any) {
			/* A blank line between them in the answer stays one. */
			size_t nls = 0;
			for (const char *q = v->code + prev_end; q < v->code + s; q++)
				nls += *q == '\n';
			gm_buf_puts(&b, r->eol);
			if (nls > 1)
				gm_buf_puts(&b, r->eol);
			if (!r->first_too)
				gm_buf_put(&b, r->ind, r->ind_len);
		}
		gm_buf_put(&b, t, tl);
		free(t);
		prev_end = e;
		any = true;
	}
	return gm_buf_detach(&b, out_len);
}

/* Imports of the node `n` of the code block, as lines to add (Go: specs). */
static void add_imports(struct vctx *v, const struct gm_edit_imports *im, TSNode n,
                        struct gm_edit *edit, char ***lines, size_t *nlines, size_t *clines)
{
	char *kind = gm_edit_import_kind(v->lang, n, v->code);
	if (!strcmp(ts_node_type(n), "import_declaration") && !strcmp(v->lang->name, "go")) {
		TSNode stack[1] = { n };
		for (uint32_t i = 0; i < ts_node_named_child_count(stack[0]); i++) {
			TSNode c = ts_node_named_child(stack[0], i);
			TSNode specs[128];
			size_t ns = 0;
			if (!strcmp(ts_node_type(c), "import_spec"))
				specs[ns++] = c;
			else if (!strcmp(ts_node_type(c), "import_spec_list"))
				for (uint32_t k = 0; k < ts_node_named_child_count(c) && ns < 128; k++)
					if (!strcmp(ts_node_type(ts_node_named_child(c, k)), "import_spec"))
						specs[ns++] = ts_node_named_child(c, k);
			for (size_t k = 0; k < ns; k++) {
				const char *t = v->code + ts_node_start_byte(specs[k]);
				size_t tl = ts_node_end_byte(specs[k]) - ts_node_start_byte(specs[k]);
				if (gm_edit_imports_has(im, t, tl))
					continue;
				gm_edit_add_import(edit, t, tl, "spec");
				GM_GROW(*lines, *clines, *nlines + 1);
				(*lines)[(*nlines)++] = gm_xstrndup(t, tl);
			}
		}
	} else {
		struct reindent r = { "", 0, v->eol, { 0, 0 }, false, false };
		size_t tl;
		char *t = NULL, *trimmed = NULL;
		int tr = gm_edit_import_trim(&trimmed, im, n, v->code);
		if (tr == GM_ENOTFOUND) {
			free(kind);
			return; /* the file binds every name it brings */
		}
		if (tr == 0 && strlen(trimmed) != ts_node_end_byte(n) - ts_node_start_byte(n)) {
			t = trimmed; /* only the names the file does not import yet */
			tl = strlen(t);
			trimmed = NULL;
		} else {
			t = reindent(v->code, ts_node_start_byte(n), ts_node_end_byte(n), &v->csp, &v->ccm, &r,
			             false, &tl);
		}
		free(trimmed);
		if (!gm_edit_imports_has(im, t, tl)) {
			gm_edit_add_import(edit, t, tl, kind);
			GM_GROW(*lines, *clines, *nlines + 1);
			(*lines)[(*nlines)++] = gm_xstrdup(t);
		}
		free(t);
	}
	free(kind);
}

/* Import statements inside [s, e) of `root`'s text. */
static size_t count_imports(const struct gm_lang *lang, TSNode root, const char *src, uint32_t s,
                            uint32_t e, TSNode *first)
{
	TSTreeCursor c = ts_tree_cursor_new(root);
	size_t n = 0;
	for (;;) {
		TSNode cur = ts_tree_cursor_current_node(&c);
		uint32_t cs = ts_node_start_byte(cur), ce = ts_node_end_byte(cur);
		bool inside = cs >= s && ce <= e, overlaps = ce > s && cs < e;
		if (inside && gm_lang_node_is_import(lang, cur, src)) {
			if (!n && first)
				*first = cur;
			n++;
		} else if (overlaps && ts_tree_cursor_goto_first_child(&c)) {
			continue;
		}
		while (!ts_tree_cursor_goto_next_sibling(&c))
			if (!ts_tree_cursor_goto_parent(&c))
				goto done;
	}
done:
	ts_tree_cursor_delete(&c);
	return n;
}

/* Where free helpers of the unit go: the line of the outermost class around it. */
static uint32_t class_point(struct vctx *v, const char **ind, size_t *ind_len)
{
	TSNode root = ts_tree_root_node(v->otree), n;
	const struct gm_scope *outer = NULL;
	uint32_t at, ls;

	/* The run of classes directly around the unit, outermost of it. */
	for (size_t i = v->nchain; i-- > 0;) {
		if (!v->chain[i]->is_class)
			break;
		outer = v->chain[i];
	}
	if (!outer)
		return v->head;
	n = gm_scan_item(node_at(root, outer->start_byte, outer->end_byte), root);
	at = gm_scan_lead(n, v->src);
	ls = line_start(v->src, at);
	*ind = v->src + ls;
	*ind_len = at - ls;
	return ls;
}

/* Gap text of t1 in [s, e) without its comments: what must be an echo. */
static char *gap_code(TSNode root, const char *t, uint32_t s, uint32_t e)
{
	struct gm_buf b = GM_BUF_INIT;
	TSTreeCursor c = ts_tree_cursor_new(root);
	uint32_t pos = s;
	for (;;) {
		TSNode cur = ts_tree_cursor_current_node(&c);
		uint32_t cs = ts_node_start_byte(cur), ce = ts_node_end_byte(cur);
		if (ce > s && cs < e) {
			if (gm_lang_node_is_comment(cur) && cs >= pos) {
				gm_buf_put(&b, t + pos, cs - pos);
				pos = ce < e ? ce : e;
			} else if (ts_tree_cursor_goto_first_child(&c)) {
				continue;
			}
		}
		while (!ts_tree_cursor_goto_next_sibling(&c))
			if (!ts_tree_cursor_goto_parent(&c))
				goto done;
	}
done:
	ts_tree_cursor_delete(&c);
	if (pos < e)
		gm_buf_put(&b, t + pos, e - pos);
	return gm_buf_detach(&b, NULL);
}

struct found {
	const struct gm_unit *x;
	uint32_t from; /* min(lead, item) in t1 */
	bool echo;
};

static int cmp_found(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	return x->from < y->from ? -1 : x->from > y->from;
}

/* The first syntax error at or after `from` in `text`, as a reason. */
static void parse_reason(struct vctx *v, const char *text, size_t len, uint32_t from)
{
	TSTree *tree = gm_scan_parse(v->lang, text, len, v->parser);
	TSPoint at = { 0, 0 };
	if (tree && first_error(ts_tree_root_node(tree), from, &at) && at.row + 1 >= v->u->start_line)
		reject(v->out, GM_VERDICT_REJECT,
		       "answer does not parse: syntax error at line %u of the function",
		       at.row + 2 - v->u->start_line);
	else
		reject(v->out, GM_VERDICT_REJECT, "answer does not parse: syntax error");
	if (tree)
		ts_tree_delete(tree);
	gm_error_clear();
}

/* Does unit `from` of `text` call `name`, or name it (`.map(format_item)`, a callback)? */
static bool reached(const struct gm_unit *from, const char *text, const char *name)
{
	for (size_t i = 0; i < from->ncalls; i++)
		if (!strcmp(from->calls[i], name))
			return true;
	return has_word_n(text + from->start_byte, from->end_byte - from->start_byte, name,
	                  strlen(name));
}

/* ---- the verdict ------------------------------------------------------------ */

static void add_name(char ***v, size_t *n, const char *s)
{
	*v = gm_xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = gm_xstrdup(s);
}

static bool in_names(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* The type a qualifier names: "(*LRU)." and "LRU." are LRU's. */
static void qualifier(const struct gm_unit *u, const char **q, size_t *n)
{
	size_t len = strlen(u->name) - strlen(u->short_name);
	const char *p = u->name;
	if (len >= 3 && p[0] == '(' && p[1] == '*') {
		p += 2;
		len -= 2;
		if (len >= 2 && p[len - 2] == ')')
			len--;
		len--;
	}
	*q = p;
	*n = len;
}

static bool same_qualifier(const struct gm_unit *a, const struct gm_unit *b)
{
	const char *qa, *qb;
	size_t na, nb;
	qualifier(a, &qa, &na);
	qualifier(b, &qb, &nb);
	return na && na == nb && !memcmp(qa, qb, na);
}

/*
 * What a function beside the unit is named with: the scopes around it
 * ("Shape." for Shape.area; "" for Go's (*T).M or C++'s out-of-line
 * Foo::bar, whose qualification is their own).
 */
static char *scope_prefix(const struct vctx *v)
{
	struct gm_buf b = GM_BUF_INIT;
	for (size_t i = 0; i < v->nchain; i++)
		gm_buf_printf(&b, "%s%s", v->chain[i]->name, v->lang->scope_sep);
	return gm_buf_detach(&b, NULL);
}

int gm_validate(struct gm_validate_result *out, const struct gm_validate_in *in)
{
	struct vctx v;
	struct pieces ps = { 0 };
	const struct gm_edit_imports *im = NULL;
	char *text = NULL, *inner = NULL, *t1 = NULL, *final = NULL, *free_text = NULL;
	size_t tlen, inner_len = 0, t1_len = 0, final_len = 0, nfound = 0, cfound = 0, nimp = 0, cimp = 0;
	TSTree *t1tree = NULL, *ftree = NULL;
	struct gm_file_scan f1, ff;
	bool f1_ok = false, ff_ok = false, fc_ok = false;
	struct found *found = NULL;
	const struct gm_unit *T = NULL, *FT = NULL;
	struct gm_buf seg = GM_BUF_INIT;
	char **imp_lines = NULL, **helpers = NULL, **free_names = NULL;
	size_t nhelpers = 0, nfree = 0;
	uint32_t region_end, cursor, t_item = 0;
	unsigned sep;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(&v, 0, sizeof(v));
	memset(&f1, 0, sizeof(f1));
	memset(&ff, 0, sizeof(ff));
	v.in = in;
	v.lang = in->lang;
	v.src = in->src;
	v.len = in->len;
	v.parser = in->parser;
	v.out = out;
	v.file = in->file;

	if ((text = gm_validate_cut_off(in->finish_reason)) != NULL) {
		reject(out, GM_VERDICT_REJECT, "%s", text);
		goto cleanup;
	}
	text = gm_extract_strip_think(in->answer ? in->answer : "", in->answer ? in->answer_len : 0,
	                              &tlen);
	{
		size_t i = 0;
		while (i < tlen && isspace((unsigned char)text[i]))
			i++;
		if (i == tlen) {
			reject(out, GM_VERDICT_REJECT, "answer is empty");
			goto cleanup;
		}
	}
	if ((rc = prepare_original(&v)) < 0)
		goto cleanup;
	if ((rc = choose_code(&v, text, tlen)) < 0 || out->reason)
		goto cleanup;

	/* 2. The block alone: imports, wrappers, free helpers. */
	if (!(v.ctree = gm_scan_parse(v.lang, v.code, v.code_len, v.parser))) {
		rc = GM_ERROR;
		goto cleanup;
	}
	if ((rc = gm_scan_tree(&v.fc, v.lang, v.code, v.code_len, v.ctree)) < 0)
		goto cleanup;
	fc_ok = true;
	collect_strings(&v.csp, ts_tree_root_node(v.ctree), false);
	collect_strings(&v.ccm, ts_tree_root_node(v.ctree), true);
	decompose(&v, &ps);
	if (out->reason)
		goto cleanup;
	for (size_t i = 0; i < ps.n; i++) {
		const struct piece *p = &ps.v[i];
		if (p->kind == P_OUTER && !gm_lang_node_is_comment(p->node) &&
		    !is_echo(&v, v.code + p->start, p->end - p->start, true)) {
			char *l = first_line(v.code + p->start, p->end - p->start);
			reject(out, GM_VERDICT_REJECT, "answer adds code outside the class: '%s'", l);
			free(l);
			goto cleanup;
		}
	}

	/* 3. The rest where the unit is, then what landed there. */
	{
		struct reindent r = { v.ind, v.ind_len, v.eol, v.fstyle, false, v.lang->indent_blocks };
		inner = join_pieces(&v, &ps, P_CODE, &r, true, &inner_len);
	}
	if (!inner_len) {
		reject(out, GM_VERDICT_REJECT, "answer does not define '%s'", v.u->name);
		goto cleanup;
	}
	{
		struct gm_buf b = GM_BUF_INIT;
		gm_buf_put(&b, v.src, v.head);
		gm_buf_put(&b, inner, inner_len);
		gm_buf_put(&b, v.src + v.u->end_byte, v.len - v.u->end_byte);
		t1 = gm_buf_detach(&b, &t1_len);
	}
	region_end = v.head + (uint32_t)inner_len;
	if (!(t1tree = gm_scan_parse(v.lang, t1, t1_len, v.parser))) {
		rc = GM_ERROR;
		goto cleanup;
	}
	if ((rc = gm_scan_tree(&f1, v.lang, t1, t1_len, t1tree)) < 0)
		goto cleanup;
	f1_ok = true;
	if (f1.errors > v.fo->errors) {
		parse_reason(&v, t1, t1_len, v.head);
		goto cleanup;
	}
	for (size_t i = 0; i < f1.n; i++) {
		const struct gm_unit *x = &f1.units[i];
		TSNode root1 = ts_tree_root_node(t1tree);
		uint32_t item;
		struct found fd;
		if (x->start_byte < v.head || x->start_byte >= region_end)
			continue;
		item = ts_node_start_byte(gm_scan_item(node_at(root1, x->start_byte, x->end_byte), root1));
		if (item < v.head)
			item = x->start_byte; /* the original's own prefix (`export `) stays outside */
		fd.x = x;
		fd.from = x->lead_byte < item ? x->lead_byte : item;
		fd.echo = false;
		if (names_match(&v, x)) {
			if (T) {
				reject(out, GM_VERDICT_REJECT, "answer defines '%s' twice", v.u->short_name);
				goto cleanup;
			}
			T = x;
			t_item = item;
		} else {
			const struct gm_unit *ou = NULL;
			for (size_t k = 0; k < v.fo->n && !ou; k++)
				if (k != v.ui && !strcmp(v.fo->units[k].name, x->name))
					ou = &v.fo->units[k];
			if (ou) {
				if (!same_code(t1 + fd.from, x->end_byte - fd.from, v.src + ou->lead_byte,
				               ou->end_byte - ou->lead_byte) &&
				    !same_code(t1 + x->start_byte, x->end_byte - x->start_byte,
				               v.src + ou->start_byte, ou->end_byte - ou->start_byte)) {
					reject(out, GM_VERDICT_REJECT,
					       "answer also changes '%s' (only the function, new helpers and "
					       "imports may change)", x->name);
					goto cleanup;
				}
				fd.echo = true;
			} else {
				char *want = scope_prefix(&v);
				bool beside = strlen(x->name) == strlen(want) + strlen(x->short_name) &&
				              !strncmp(x->name, want, strlen(want));
				/* Or qualified as the function is ((*T).M beside (*T).N, T::f beside T::g). */
				beside |= same_qualifier(x, v.u);
				free(want);
				if (!beside) {
					reject(out, GM_VERDICT_REJECT, "answer adds '%s' outside the function's scope",
					       x->name);
					goto cleanup;
				}
				if (name_in_file(&v, x->short_name) || in_names(helpers, nhelpers, x->name)) {
					reject(out, GM_VERDICT_REJECT,
					       "helper '%s' takes a name the file already uses", x->short_name);
					goto cleanup;
				}
				add_name(&helpers, &nhelpers, x->name);
			}
		}
		GM_GROW(found, cfound, nfound + 1);
		found[nfound++] = fd;
	}
	if (!T) {
		if (nhelpers == 1 && nfound == 1)
			reject(out, GM_VERDICT_REJECT, "answer defines another function '%s'", helpers[0]);
		else
			reject(out, GM_VERDICT_REJECT, "answer does not define '%s'", v.u->name);
		goto cleanup;
	}
	if (strcmp(T->kind, v.u->kind) != 0) {
		reject(out, GM_VERDICT_REJECT, "answer turns the %s into a %s", v.u->kind, T->kind);
		goto cleanup;
	}
	if (nfound > 1)
		qsort(found, nfound, sizeof(*found), cmp_found);
	/* Between the functions: comments, echoes of the file, or nothing. */
	cursor = v.head;
	for (size_t i = 0; i <= nfound; i++) {
		uint32_t to = i < nfound ? found[i].from : region_end;
		if (to > cursor) {
			char *g = gap_code(ts_tree_root_node(t1tree), t1, cursor, to);
			/* After the function, only a whole echo: it may be its own lost tail. */
			if (!is_echo(&v, g, strlen(g), cursor < T->end_byte)) {
				char *l = first_line(g, strlen(g));
				reject(out, GM_VERDICT_REJECT, "answer adds code outside the function: '%s'", l);
				free(l);
				free(g);
				goto cleanup;
			}
			free(g);
		}
		if (i < nfound && found[i].x->end_byte > cursor)
			cursor = found[i].x->end_byte;
	}
	{
		TSNode first = { 0 };
		size_t now = count_imports(v.lang, ts_tree_root_node(t1tree), t1, T->start_byte, T->end_byte,
		                           &first);
		size_t before = count_imports(v.lang, ts_tree_root_node(v.otree), v.src, v.u->start_byte,
		                              v.u->end_byte, NULL);
		if (now > before) {
			char *l = first_line(t1 + ts_node_start_byte(first),
			                     ts_node_end_byte(first) - ts_node_start_byte(first));
			reject(out, GM_VERDICT_REJECT,
			       "answer puts an import inside the function ('%s'): imports go above it", l);
			free(l);
			goto cleanup;
		}
	}

	/* The function's splice: its helpers, a blank line as the file has them, the function. */
	sep = spacing(v.fo, v.src, v.u->start_col,
	              !strcmp(v.lang->name, "python") && v.u->start_col == 0 ? 2 : 1);
	for (size_t i = 0; i < nfound; i++) {
		if (found[i].echo || found[i].x == T)
			continue;
		gm_buf_put(&seg, t1 + found[i].from, found[i].x->end_byte - found[i].from);
		for (unsigned k = 0; k <= sep; k++)
			gm_buf_puts(&seg, v.eol);
		gm_buf_put(&seg, v.ind, v.ind_len);
	}
	if (T->lead_byte < t_item)
		gm_buf_put(&seg, t1 + T->lead_byte, t_item - T->lead_byte);
	else
		gm_buf_put(&seg, v.src + v.head, v.item - v.head);
	if (v.u->start_byte > v.item && v.head <= v.item)
		gm_buf_put(&seg, v.src + v.item, v.u->start_byte - v.item);
	gm_buf_put(&seg, t1 + T->start_byte, T->end_byte - T->start_byte);
	out->edit.name = gm_xstrdup(v.u->name);
	gm_edit_add_splice(&out->edit, v.head, v.u->end_byte, seg.ptr ? seg.ptr : "", seg.len);

	/* Free helpers go before the class, at its column. */
	for (size_t i = 0; i < ps.n; i++) {
		if (ps.v[i].kind != P_FREE)
			continue;
		for (size_t k = 0; k < v.fc.n; k++) {
			const struct gm_unit *x = &v.fc.units[k];
			if (x->start_byte < ps.v[i].start || x->end_byte > ps.v[i].end)
				continue;
			if (name_in_file(&v, x->short_name) || in_names(free_names, nfree, x->name) ||
			    in_names(helpers, nhelpers, x->name)) {
				reject(out, GM_VERDICT_REJECT, "helper '%s' takes a name the file already uses",
				       x->short_name);
				goto cleanup;
			}
			add_name(&free_names, &nfree, x->name);
		}
	}
	if (nfree) {
		const char *cind = "";
		size_t cind_len = 0, fl;
		uint32_t cp = class_point(&v, &cind, &cind_len);
		struct reindent r = { cind, cind_len, v.eol, v.fstyle, true, v.lang->indent_blocks };
		unsigned sep_top = spacing(v.fo, v.src, (uint32_t)cind_len,
		                           !strcmp(v.lang->name, "python") && !cind_len ? 2 : 1);
		struct gm_buf b = GM_BUF_INIT;
		char *t = join_pieces(&v, &ps, P_FREE, &r, false, &fl);
		gm_buf_put(&b, t, fl);
		free(t);
		for (unsigned k = 0; k <= sep_top; k++)
			gm_buf_puts(&b, v.eol);
		free_text = gm_buf_detach(&b, &fl);
		gm_edit_add_splice(&out->edit, cp, cp, free_text, fl);
	}

	/* Imports into the file's import block. */
	im = v.file->imports;
	for (size_t i = 0; i < ps.n; i++)
		if (ps.v[i].kind == P_IMPORT)
			add_imports(&v, im, ps.v[i].node, &out->edit, &imp_lines, &nimp, &cimp);

	/* 4. The file with this edit alone. */
	{
		const struct gm_edit *one = &out->edit;
		if ((rc = gm_edit_apply(&final, &final_len, v.lang, v.src, v.len, im, &one, 1, NULL)) < 0)
			goto cleanup;
	}
	if (!(ftree = gm_scan_parse(v.lang, final, final_len, v.parser))) {
		rc = GM_ERROR;
		goto cleanup;
	}
	if ((rc = gm_scan_tree(&ff, v.lang, final, final_len, ftree)) < 0)
		goto cleanup;
	ff_ok = true;
	if (ff.errors > v.fo->errors) {
		parse_reason(&v, final, final_len, v.head);
		goto cleanup;
	}
	{
		size_t k = 0, ntarget = 0;
		bool same_rest = true;
		for (size_t i = 0; i < ff.n; i++) {
			const struct gm_unit *x = &ff.units[i];
			if (in_names(helpers, nhelpers, x->name) || in_names(free_names, nfree, x->name))
				continue;
			if (k == v.ui && names_match(&v, x)) {
				FT = x;
				ntarget++;
				k++;
				continue;
			}
			if (k >= v.fo->n || strcmp(x->name, v.fo->units[k].name) != 0)
				same_rest = false;
			k++;
		}
		if (!FT || ntarget != 1 || !same_rest || k != v.fo->n) {
			reject(out, GM_VERDICT_REJECT, "answer changes the other functions of the file");
			goto cleanup;
		}
	}
	/* Every helper is called by the function or by a helper it calls. */
	{
		size_t nh = nhelpers + nfree;
		const struct gm_unit **hs = gm_xcalloc(nh + 1, sizeof(*hs));
		bool *seen = gm_xcalloc(nh + 1, sizeof(bool)), grew = true;
		size_t m = 0;
		for (size_t i = 0; i < ff.n; i++)
			if (in_names(helpers, nhelpers, ff.units[i].name) ||
			    in_names(free_names, nfree, ff.units[i].name))
				hs[m++] = &ff.units[i];
		for (size_t i = 0; i < m; i++)
			seen[i] = reached(FT, final, hs[i]->short_name);
		while (grew) {
			grew = false;
			for (size_t i = 0; i < m; i++)
				for (size_t j = 0; j < m; j++)
					if (seen[i] && !seen[j] && reached(hs[i], final, hs[j]->short_name))
						seen[j] = grew = true;
		}
		for (size_t i = 0; i < m && !out->reason; i++)
			if (!seen[i])
				reject(out, GM_VERDICT_REJECT, "helper '%s' is never called", hs[i]->short_name);
		out->cc_before = v.u->complexity;
		out->cc_after = out->cc_after_sum = FT->complexity;
		for (size_t i = 0; i < m; i++) {
			out->cc_after_sum += hs[i]->complexity;
			if (hs[i]->complexity > out->cc_after)
				out->cc_after = hs[i]->complexity;
		}
		/* Placeholders and shrinking, over the function and its helpers. */
		if (!out->reason) {
			unsigned known = gm_validate_placeholders(v.src + v.u->lead_byte,
			                                          v.u->end_byte - v.u->lead_byte);
			size_t bytes = FT->end_byte - FT->start_byte;
			for (size_t i = 0; i <= m && !out->reason; i++) {
				const struct gm_unit *x = i < m ? hs[i] : FT;
				struct line ph = { 0 };
				if (i < m)
					bytes += x->end_byte - x->start_byte;
				if (find_placeholders(final + x->lead_byte, x->end_byte - x->lead_byte, known, &ph) &&
				    ph.s)
					reject(out, GM_VERDICT_REJECT, "answer elides code with the placeholder '%.*s'",
					       (int)(ph.len > 60 ? 60 : ph.len), ph.s);
			}
			if (!out->reason && !in->allow_shrink &&
			    bytes * 2 < v.u->end_byte - v.u->start_byte)
				reject(out, GM_VERDICT_REJECT,
				       "answer shrank the function by more than half (%u to %zu bytes)",
				       v.u->end_byte - v.u->start_byte, bytes);
		}
		free(hs);
		free(seen);
		if (out->reason)
			goto cleanup;
	}
	if (!nhelpers && !nfree &&
	    same_text(final + FT->start_byte, FT->end_byte - FT->start_byte, v.src + v.u->start_byte,
	              v.u->end_byte - v.u->start_byte) &&
	    same_text(final + FT->lead_byte, FT->start_byte - FT->lead_byte, v.src + v.u->lead_byte,
	              v.u->start_byte - v.u->lead_byte)) {
		reject(out, GM_VERDICT_UNCHANGED, "answer is the unchanged function");
		goto cleanup;
	}

	out->verdict = GM_VERDICT_ACCEPT;
	out->code = gm_xstrndup(final + FT->start_byte, FT->end_byte - FT->start_byte);
	out->code_len = FT->end_byte - FT->start_byte;
	out->text = final;
	out->len = final_len;
	final = NULL;
	out->helpers = helpers;
	out->nhelpers = nhelpers;
	helpers = NULL;
	nhelpers = 0;
	for (size_t i = 0; i < nfree; i++)
		add_name(&out->helpers, &out->nhelpers, free_names[i]);
	out->edit.helpers = gm_xcalloc(out->nhelpers + 1, sizeof(char *));
	for (size_t i = 0; i < out->nhelpers; i++)
		out->edit.helpers[i] = gm_xstrdup(out->helpers[i]);
	out->edit.nhelpers = out->nhelpers;
	out->imports = imp_lines;
	out->nimports = nimp;
	imp_lines = NULL;
	nimp = 0;

cleanup:
	if (out->verdict != GM_VERDICT_ACCEPT || rc < 0) {
		gm_edit_release(&out->edit);
		out->cc_before = out->cc_after = out->cc_after_sum = 0;
	}
	for (size_t i = 0; i < nhelpers; i++)
		free(helpers[i]);
	free(helpers);
	for (size_t i = 0; i < nfree; i++)
		free(free_names[i]);
	free(free_names);
	for (size_t i = 0; i < nimp; i++)
		free(imp_lines[i]);
	free(imp_lines);
	gm_buf_release(&seg);
	free(found);
	if (ff_ok)
		gm_file_scan_release(&ff);
	if (f1_ok)
		gm_file_scan_release(&f1);
	if (fc_ok)
		gm_file_scan_release(&v.fc);
	gm_validate_file_free(v.own);
	if (ftree)
		ts_tree_delete(ftree);
	if (t1tree)
		ts_tree_delete(t1tree);
	if (v.ctree)
		ts_tree_delete(v.ctree);

	spans_release(&v.csp);
	spans_release(&v.ccm);
	free(ps.v);
	free(v.code);
	free(v.folded_src);
	free(text);
	free(inner);
	free(t1);
	free(final);
	free(free_text);
	return rc;
}

char *gm_validate_cut_off(const char *finish_reason)
{
	if (!finish_reason ||
	    (strcmp(finish_reason, "length") != 0 && strcmp(finish_reason, "max_tokens") != 0))
		return NULL;
	return gm_xasprintf("answer was cut off (finish_reason %s)", finish_reason);
}

void gm_validate_result_release(struct gm_validate_result *r)
{
	if (!r)
		return;
	free(r->reason);
	free(r->text);
	free(r->code);
	gm_edit_release(&r->edit);
	for (size_t i = 0; i < r->nhelpers; i++)
		free(r->helpers[i]);
	free(r->helpers);
	for (size_t i = 0; i < r->nimports; i++)
		free(r->imports[i]);
	free(r->imports);
	memset(r, 0, sizeof(*r));
}
