#include "monitor/validate.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "monitor/error.h"
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

/* Indentation of the unit's line: its leading blanks up to the unit. */
static void unit_indent(const char *src, uint32_t start, const char **ind, size_t *ind_len)
{
	const char *ls = src + start;
	size_t n = 0;

	while (ls > src && ls[-1] != '\n')
		ls--;
	while (ls + n < src + start && (ls[n] == ' ' || ls[n] == '\t'))
		n++;
	*ind = ls;
	*ind_len = n;
}

/* Smallest indentation of the non-blank lines from `from` on (SIZE_MAX: none). */
static size_t min_indent(const struct line *l, size_t n, size_t from)
{
	size_t m = SIZE_MAX;
	for (size_t i = from; i < n; i++)
		if (!is_blank(&l[i]) && indent_of(&l[i]) < m)
			m = indent_of(&l[i]);
	return m;
}

char *gm_validate_reindent(const char *src, size_t len, const struct gm_unit *unit,
                           const char *code, size_t code_len, size_t *out_len)
{
	struct line *cl = NULL, *ol = NULL;
	size_t ncl = split_lines(&cl, code, code_len);
	size_t nol = split_lines(&ol, src + unit->start_byte, unit->end_byte - unit->start_byte);
	const char *ind, *eol;
	size_t ind_len, f, r, common, orig_rest;
	bool as_in_file = false;
	struct gm_buf b = GM_BUF_INIT;
	char *res;
	size_t rlen;

	(void)len;
	unit_indent(src, unit->start_byte, &ind, &ind_len);
	eol = memmem(src + unit->start_byte, unit->end_byte - unit->start_byte, "\r\n", 2) ?
	      "\r\n" : "\n";
	f = indent_of(&cl[0]);
	r = min_indent(cl, ncl, 1);
	common = f < r ? f : r;
	orig_rest = min_indent(ol, nol, 1);
	/*
	 * The model echoed the unit as it stands in the file (only the first
	 * line lacks the indentation): adding the indentation again would
	 * indent the body twice.
	 */
	if (ind_len && r != SIZE_MAX && f < r && r == orig_rest && r - common + ind_len != orig_rest)
		as_in_file = true;

	for (size_t i = 0; i < ncl; i++) {
		/* The first line goes after the unit's own indentation. */
		size_t strip = i == 0 ? f : as_in_file ? 0 : common;
		if (i)
			gm_buf_puts(&b, eol);
		if (is_blank(&cl[i]))
			continue;
		if (i && !as_in_file)
			gm_buf_put(&b, ind, ind_len);
		gm_buf_put(&b, cl[i].s + strip, cl[i].len - strip);
	}
	res = gm_buf_detach(&b, &rlen);
	while (rlen && isspace((unsigned char)res[rlen - 1]))
		res[--rlen] = '\0';
	if (out_len)
		*out_len = rlen;
	free(cl);
	free(ol);
	return res;
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

/* First ERROR or MISSING node at or after byte `from` (or the first at all). */
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

/* `w` as a whole identifier in `s`. */
static bool has_word(const char *s, const char *w)
{
	size_t wl = strlen(w);
	for (const char *p = s; wl && (p = strstr(p, w)); p++)
		if ((p == s || !is_ident(p[-1])) && !is_ident(p[wl]))
			return true;
	return false;
}

static bool names_match(const struct gm_unit *found, const struct gm_validate_in *in)
{
	if (strcmp(found->name, in->unit->name) == 0)
		return true;
	if (in->new_name && (strcmp(found->name, in->new_name) == 0 ||
	                     strcmp(found->short_name, in->new_name) == 0))
		return true;
	/* A planned signature names the function too. */
	return in->new_signature && has_word(in->new_signature, found->short_name);
}

char *gm_validate_cut_off(const char *finish_reason)
{
	if (!finish_reason ||
	    (strcmp(finish_reason, "length") != 0 && strcmp(finish_reason, "max_tokens") != 0))
		return NULL;
	return gm_xasprintf("answer was cut off (finish_reason %s)", finish_reason);
}

int gm_validate(struct gm_validate_result *out, const struct gm_validate_in *in)
{
	const struct gm_unit *u = in->unit;
	const char *orig = in->src + u->start_byte;
	size_t orig_len = u->end_byte - u->start_byte, code_len = 0, text_len, unit_index;
	char *code = NULL;
	struct gm_buf text = GM_BUF_INIT;
	struct gm_file_scan fs;
	struct line ph = { 0 };
	const struct gm_unit *hit[3];
	size_t nhit = 0;
	uint32_t new_end;
	int error = 0;
	bool scanned = false;

	memset(out, 0, sizeof(*out));
	memset(&fs, 0, sizeof(fs));
	unit_index = (size_t)(u - in->scan->units);

	if ((out->reason = gm_validate_cut_off(in->finish_reason)) != NULL) {
		out->verdict = GM_VERDICT_REJECT;
		goto cleanup;
	}
	{
		size_t i = 0;
		while (i < in->code_len && isspace((unsigned char)in->code[i]))
			i++;
		if (!in->code || i == in->code_len) {
			reject(out, GM_VERDICT_REJECT, "answer is empty");
			goto cleanup;
		}
	}
	code = gm_validate_reindent(in->src, in->len, u, in->code, in->code_len, &code_len);
	if (same_text(orig, orig_len, code, code_len)) {
		reject(out, GM_VERDICT_UNCHANGED, "answer is the unchanged function");
		goto cleanup;
	}
	if (find_placeholders(code, code_len, find_placeholders(orig, orig_len, 0, NULL), &ph)) {
		if (ph.s) {
			reject(out, GM_VERDICT_REJECT, "answer elides code with the placeholder '%.*s'",
			       (int)(ph.len > 60 ? 60 : ph.len), ph.s);
			goto cleanup;
		}
	}

	gm_buf_put(&text, in->src, u->start_byte);
	gm_buf_put(&text, code, code_len);
	gm_buf_put(&text, in->src + u->end_byte, in->len - u->end_byte);
	text_len = text.len;
	new_end = (uint32_t)(u->start_byte + code_len);
	/* The splice leaves the rest of the file byte for byte. */
	if (text_len != in->len - orig_len + code_len ||
	    memcmp(text.ptr, in->src, u->start_byte) != 0 ||
	    memcmp(text.ptr + new_end, in->src + u->end_byte, in->len - u->end_byte) != 0) {
		reject(out, GM_VERDICT_REJECT, "splice changed the rest of the file");
		goto cleanup;
	}

	if ((error = gm_scan_source(&fs, in->lang, text.ptr, text_len, in->parser)) < 0)
		goto cleanup;
	scanned = true;
	if (fs.errors > in->scan->errors) {
		TSTree *tree = gm_scan_parse(in->lang, text.ptr, text_len, in->parser);
		TSPoint at = { 0, 0 };
		if (tree && first_error(ts_tree_root_node(tree), u->start_byte, &at) &&
		    at.row + 1 >= u->start_line)
			reject(out, GM_VERDICT_REJECT,
			       "answer does not parse: syntax error at line %u of the function",
			       at.row + 2 - u->start_line);
		else
			reject(out, GM_VERDICT_REJECT, "answer does not parse: syntax error");
		if (tree)
			ts_tree_delete(tree);
		goto cleanup;
	}

	for (size_t i = 0; i < fs.n; i++) {
		const struct gm_unit *x = &fs.units[i];
		if (x->end_byte > u->start_byte && x->start_byte < new_end && nhit < 3)
			hit[nhit++] = x;
	}
	if (nhit == 0) {
		reject(out, GM_VERDICT_REJECT, "answer does not define '%s'", u->name);
		goto cleanup;
	}
	if (nhit > 1) {
		if (nhit == 2)
			reject(out, GM_VERDICT_REJECT, "answer contains two functions ('%s' and '%s')",
			       hit[0]->name, hit[1]->name);
		else
			reject(out, GM_VERDICT_REJECT, "answer contains more than two functions");
		goto cleanup;
	}
	if (!names_match(hit[0], in)) {
		reject(out, GM_VERDICT_REJECT, "answer defines another function '%s'", hit[0]->name);
		goto cleanup;
	}
	if (hit[0]->start_byte != u->start_byte) {
		reject(out, GM_VERDICT_REJECT, "answer has text before the function");
		goto cleanup;
	}
	if (hit[0]->end_byte < new_end) {
		reject(out, GM_VERDICT_REJECT, "answer has text after the function");
		goto cleanup;
	}
	if (strcmp(hit[0]->kind, u->kind) != 0) {
		reject(out, GM_VERDICT_REJECT, "answer turns the %s into a %s", u->kind, hit[0]->kind);
		goto cleanup;
	}
	/* Elsewhere the file keeps its units: same count, same names. */
	if (fs.n != in->scan->n) {
		reject(out, GM_VERDICT_REJECT, "answer changes the other functions of the file");
		goto cleanup;
	}
	for (size_t i = 0; i < fs.n; i++) {
		if (i != unit_index && strcmp(fs.units[i].name, in->scan->units[i].name) != 0) {
			reject(out, GM_VERDICT_REJECT, "answer changes the other functions of the file");
			goto cleanup;
		}
	}
	if (!in->allow_shrink && code_len * 2 < orig_len) {
		reject(out, GM_VERDICT_REJECT,
		       "answer shrank the function by more than half (%zu to %zu bytes)", orig_len,
		       code_len);
		goto cleanup;
	}

	out->verdict = GM_VERDICT_ACCEPT;
	out->text = gm_buf_detach(&text, &out->len);
	out->code = code;
	out->code_len = code_len;
	code = NULL;

cleanup:
	if (scanned)
		gm_file_scan_release(&fs);
	gm_buf_release(&text);
	free(code);
	return error;
}

void gm_validate_result_release(struct gm_validate_result *r)
{
	if (!r)
		return;
	free(r->reason);
	free(r->text);
	free(r->code);
	memset(r, 0, sizeof(*r));
}
