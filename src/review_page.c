/*
 * review_page.c: the review page as HTML (review_page.h).
 */
#include "monitor/review_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <git2.h>

#include "monitor/error.h"
#include "monitor/highlight.h"
#include "monitor/index.h"
#include "monitor/lang.h"
#include "monitor/repo.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define MAX_BLOB (64u * 1024 * 1024)
#define WHOLE_FUNCTION 1000000u /* diff context: every line of the function */
#define MAX_WORDS 2000          /* past that many words a pair of lines is marked whole */
#define CONTEXT 3               /* unchanged lines shown next to a change */
#define MIN_FOLD 4              /* fewer unchanged lines than that are never folded */

/* ---- escaping ---------------------------------------------------------------------- */

void gm_html_escape(struct gm_buf *out, const char *s, size_t len)
{
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		char ctl[16];
		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '\t':
		case '\n': break;
		case '\r': rep = ""; break; /* CRLF files: the line end is not text */
		default:
			if (c < 0x20 || c == 0x7f) {
				/* a control character made visible: its Control Pictures sign */
				snprintf(ctl, sizeof(ctl), "&#x%x;", c == 0x7f ? 0x2421u : 0x2400u + c);
				rep = ctl;
			}
		}
		if (!rep) {
			run++;
			continue;
		}
		gm_buf_put(out, s + i - run, run);
		run = 0;
		gm_buf_puts(out, rep);
	}
	gm_buf_put(out, s + len - run, run);
}

static void esc(struct gm_buf *out, const char *s)
{
	if (s)
		gm_html_escape(out, s, strlen(s));
}

/* JSON text safe inside <script>: no '<' at all (JSON allows \u003c anywhere a string has '<'). */
static void put_json(struct gm_buf *out, const cJSON *j)
{
	char *text = cJSON_PrintUnformatted(j);
	for (const char *p = text; *p; p++) {
		if (*p == '<')
			gm_buf_puts(out, "\\u003c");
		else if (*p == '>')
			gm_buf_puts(out, "\\u003e");
		else if (*p == '&')
			gm_buf_puts(out, "\\u0026");
		else
			gm_buf_put(out, p, 1);
	}
	free(text);
}

/* ---- the two versions of a file ------------------------------------------------------ */

struct side {
	char *text;
	size_t len;
	TSTree *tree;
};

struct file_pair {
	char *path;
	const struct gm_lang *lang;
	struct side base, tip;
};

static void side_release(struct side *s)
{
	if (s->tree)
		ts_tree_delete(s->tree);
	free(s->text);
	memset(s, 0, sizeof(*s));
}

static int side_load(struct side *s, git_repository *repo, const git_oid *commit, const char *path,
                     const struct gm_lang *lang, TSParser *parser)
{
	int rc = gm_repo_read_path(&s->text, &s->len, repo, commit, path, MAX_BLOB);
	if (rc < 0 || !s->text)
		return rc;
	if (lang && ts_parser_set_language(parser, lang->grammar()))
		s->tree = ts_parser_parse_string(parser, NULL, s->text, (uint32_t)s->len);
	return 0;
}

static uint32_t line_of(const struct side *s, uint32_t off)
{
	uint32_t line = 1;
	for (uint32_t i = 0; i < off && i < s->len; i++)
		line += s->text[i] == '\n';
	return line;
}

/* ---- a function's rows ----------------------------------------------------------------- */

struct line {
	char origin; /* ' ', '-', '+' */
	const char *text;
	size_t len;
	uint32_t off[2], no[2]; /* where it starts in the base [0] and tip [1] files, its line numbers */
	uint8_t *mark; /* word marks (len bytes), or NULL: none / the whole line */
};

struct lines {
	struct line *v;
	size_t n, cap;
	char **texts; /* owned copies of the diff's line texts */
	size_t ntexts, captexts;
};

static int collect(void *ctx, char origin, const char *text, size_t len)
{
	struct lines *ls = ctx;
	char *copy;
	if (origin != ' ' && origin != '-' && origin != '+')
		return 0;
	copy = gm_xstrndup(text, len);
	GM_GROW(ls->texts, ls->captexts, ls->ntexts + 1);
	ls->texts[ls->ntexts++] = copy;
	GM_GROW(ls->v, ls->cap, ls->n + 1);
	memset(&ls->v[ls->n], 0, sizeof(ls->v[ls->n]));
	ls->v[ls->n].origin = origin;
	ls->v[ls->n].text = copy;
	ls->v[ls->n].len = len;
	ls->n++;
	return 0;
}

static void lines_release(struct lines *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free(ls->v[i].mark);
	for (size_t i = 0; i < ls->ntexts; i++)
		free(ls->texts[i]);
	free(ls->v);
	free(ls->texts);
	memset(ls, 0, sizeof(*ls));
}

/* Words: runs of letters, digits and '_', runs of blanks, one UTF-8 character otherwise. */
static size_t words(uint32_t **starts, const char *s, size_t len)
{
	size_t n = 0, cap = 0, i = 0;
	*starts = NULL;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t j = i + 1;
		if (c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) {
			while (j < len && (s[j] == '_' || (s[j] >= '0' && s[j] <= '9') ||
			                   ((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z')))
				j++;
		} else if (c == ' ' || c == '\t') {
			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
		} else if (c >= 0xc0) {
			while (j < len && ((unsigned char)s[j] & 0xc0) == 0x80)
				j++;
		}
		GM_GROW(*starts, cap, n + 2);
		(*starts)[n++] = (uint32_t)i;
		i = j;
	}
	GM_GROW(*starts, cap, n + 1);
	(*starts)[n] = (uint32_t)len;
	return n;
}

/* One word a line, for libgit2's line diff. */
static char *word_lines(const char *s, const uint32_t *starts, size_t n, size_t *out_len)
{
	struct gm_buf b = GM_BUF_INIT;
	gm_buf_puts(&b, "");
	for (size_t i = 0; i < n; i++) {
		gm_buf_put(&b, s + starts[i], starts[i + 1] - starts[i]);
		gm_buf_put(&b, "\n", 1);
	}
	return gm_buf_detach(&b, out_len);
}

struct word_diff {
	uint8_t *a, *b;
	const uint32_t *as, *bs;
	size_t changed_a, changed_b;
};

static int on_word_hunk(const git_diff_delta *d, const git_diff_hunk *h, void *payload)
{
	struct word_diff *w = payload;
	(void)d;
	/* 1-based word numbers; a side with no lines has start = the word before */
	for (int k = 0; k < h->old_lines; k++) {
		size_t i = (size_t)(h->old_start - 1 + k);
		memset(w->a + w->as[i], 1, w->as[i + 1] - w->as[i]);
		w->changed_a += w->as[i + 1] - w->as[i];
	}
	for (int k = 0; k < h->new_lines; k++) {
		size_t i = (size_t)(h->new_start - 1 + k);
		memset(w->b + w->bs[i], 1, w->bs[i + 1] - w->bs[i]);
		w->changed_b += w->bs[i + 1] - w->bs[i];
	}
	return 0;
}

/* Mark the words that differ between a removed and an added line (libgit2's diff of their words). */
static void mark_words(struct line *a, struct line *b)
{
	uint32_t *as = NULL, *bs = NULL;
	size_t na = words(&as, a->text, a->len), nb = words(&bs, b->text, b->len), la, lb;
	char *ta, *tb;
	struct word_diff w;
	git_diff_options o;

	if (na > MAX_WORDS || nb > MAX_WORDS || !na || !nb) {
		free(as);
		free(bs);
		return;
	}
	ta = word_lines(a->text, as, na, &la);
	tb = word_lines(b->text, bs, nb, &lb);
	memset(&w, 0, sizeof(w));
	w.a = gm_xcalloc(a->len + 1, 1);
	w.b = gm_xcalloc(b->len + 1, 1);
	w.as = as;
	w.bs = bs;
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	o.context_lines = 0;
	if (git_diff_buffers(ta, la, NULL, tb, lb, NULL, &o, NULL, NULL, on_word_hunk, NULL, &w) == 0 &&
	    (w.changed_a || w.changed_b) &&
	    /* Mostly different lines read better marked whole than in confetti. */
	    w.changed_a * 10 <= a->len * 7 + 10 && w.changed_b * 10 <= b->len * 7 + 10) {
		a->mark = w.a;
		b->mark = w.b;
		w.a = w.b = NULL;
	}
	git_error_clear();
	free(w.a);
	free(w.b);
	free(ta);
	free(tb);
	free(as);
	free(bs);
}

/* ---- rendering code ---------------------------------------------------------------------- */

struct render {
	struct gm_buf *out;
	const struct gm_review *r;
	const struct gm_review_page_opts *o;
	git_repository *repo;
	TSParser *parser;
	struct file_pair fp; /* the file being rendered */
};

/* One line of code: highlighted (`cls`, per byte) and word-marked. */
static void put_code(struct gm_buf *out, const char *text, size_t len, const uint8_t *cls,
                     const uint8_t *mark)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = cls ? cls[i] : 0, m = mark ? mark[i] : 0;
		size_t j = i + 1;
		while (j < len && (cls ? cls[j] : 0) == c && (mark ? mark[j] : 0) == m)
			j++;
		if (c || m) {
			gm_buf_puts(out, "<span class=\"");
			gm_buf_puts(out, gm_hl_name((enum gm_hl)c));
			if (m)
				gm_buf_puts(out, c ? " w" : "w");
			gm_buf_puts(out, "\">");
			gm_html_escape(out, text + i, j - i);
			gm_buf_puts(out, "</span>");
		} else {
			gm_html_escape(out, text + i, j - i);
		}
		i = j;
	}
}

/* A cell: line number and code of `l` on side `k` (0 base, 1 tip), or an empty pair of cells. */
static void put_cell(struct render *rd, const struct line *l, int k, const uint8_t *cls,
                     uint32_t from, uint32_t to, const char *kind)
{
	struct gm_buf *out = rd->out;
	const uint8_t *c = NULL;
	if (!l) {
		gm_buf_puts(out, "<td class=\"ln e\"></td><td class=\"c e\"></td>");
		return;
	}
	if (cls && l->off[k] >= from && l->off[k] + l->len <= to)
		c = cls + (l->off[k] - from);
	gm_buf_printf(out, "<td class=\"ln\">%u</td><td class=\"c%s\">", l->no[k], kind);
	put_code(out, l->text, l->len, c, l->mark);
	gm_buf_puts(out, "</td>");
}

/* The side-by-side table of one function (or helper). */
static int put_sbs(struct render *rd, const struct gm_review_fn *fn)
{
	struct gm_buf *out = rd->out;
	struct lines ls = { 0 };
	const struct side *base = &rd->fp.base, *tip = &rd->fp.tip;
	uint8_t *bcls = NULL, *tcls = NULL;
	uint32_t off[2] = { fn->base_start, fn->tip_start }, no[2];
	int rc;

	no[0] = fn->in_base && base->text ? line_of(base, fn->base_start) : 0;
	no[1] = fn->in_tip && tip->text ? line_of(tip, fn->tip_start) : 0;
	if ((rc = gm_review_diff(fn, WHOLE_FUNCTION, collect, &ls)) < 0)
		goto cleanup;
	/* Where each line is in its files: the diff covers the whole function, in order. */
	for (size_t i = 0; i < ls.n; i++) {
		struct line *l = &ls.v[i];
		for (int k = 0; k < 2; k++) {
			if (l->origin == (k ? '-' : '+'))
				continue;
			l->off[k] = off[k];
			l->no[k] = no[k]++;
			off[k] += (uint32_t)l->len + 1;
		}
	}
	if (rd->fp.lang && fn->in_base && base->tree && fn->base_end <= base->len) {
		bcls = gm_xmalloc(fn->base_end - fn->base_start + 1);
		gm_highlight_range(bcls, rd->fp.lang, base->tree, base->text, base->len, fn->base_start,
		                   fn->base_end);
	}
	if (rd->fp.lang && fn->in_tip && tip->tree && fn->tip_end <= tip->len) {
		tcls = gm_xmalloc(fn->tip_end - fn->tip_start + 1);
		gm_highlight_range(tcls, rd->fp.lang, tip->tree, tip->text, tip->len, fn->tip_start,
		                   fn->tip_end);
	}
	gm_buf_puts(out, "<table class=\"sbs\"><colgroup><col class=\"cn\"><col class=\"cc\"><col "
	                 "class=\"cn\"><col class=\"cc\"></colgroup><tbody>");
	for (size_t i = 0; i < ls.n;) {
		struct line *l = &ls.v[i];
		size_t ds = i, de = i, as, ae, rows;
		if (l->origin == ' ') {
			/*
			 * A long unchanged stretch is folded (the page unfolds it on a
			 * click): CONTEXT lines next to a change stay, and the first and
			 * last line of the function.
			 */
			size_t j = i, from, to;
			while (j < ls.n && ls.v[j].origin == ' ')
				j++;
			from = i == 0 ? i + 1 : i + CONTEXT;
			to = j == ls.n ? j - 1 : j >= CONTEXT ? j - CONTEXT : 0;
			for (size_t k = i; k < j; k++) {
				bool hide = to > from && to - from >= MIN_FOLD && k >= from && k < to;
				if (hide && k == from)
					gm_buf_printf(out, "<tr class=\"fold\"><td colspan=\"4\">&#8943; %zu unchanged "
					                   "lines</td></tr>", to - from);
				gm_buf_puts(out, hide ? "<tr class=\"h\">" : "<tr>");
				put_cell(rd, &ls.v[k], 0, bcls, fn->base_start, fn->base_end, "");
				put_cell(rd, &ls.v[k], 1, tcls, fn->tip_start, fn->tip_end, "");
				gm_buf_puts(out, "</tr>");
			}
			i = j;
			continue;
		}
		/* A run of removed lines, then the added ones: paired row by row. */
		while (de < ls.n && ls.v[de].origin == '-')
			de++;
		as = ae = de;
		while (ae < ls.n && ls.v[ae].origin == '+')
			ae++;
		for (size_t k = 0; k < de - ds && k < ae - as; k++)
			mark_words(&ls.v[ds + k], &ls.v[as + k]);
		rows = de - ds > ae - as ? de - ds : ae - as;
		for (size_t k = 0; k < rows; k++) {
			const struct line *d = ds + k < de ? &ls.v[ds + k] : NULL;
			const struct line *a = as + k < ae ? &ls.v[as + k] : NULL;
			gm_buf_puts(out, "<tr class=\"x\">");
			put_cell(rd, d, 0, bcls, fn->base_start, fn->base_end, " del");
			put_cell(rd, a, 1, tcls, fn->tip_start, fn->tip_end, " add");
			gm_buf_puts(out, "</tr>");
		}
		i = ae;
	}
	gm_buf_puts(out, "</tbody></table>");
cleanup:
	free(bcls);
	free(tcls);
	lines_release(&ls);
	return rc;
}

/* ---- cards ---------------------------------------------------------------------------- */

static bool decidable(const struct gm_review_fn *fn)
{
	return fn->changed && fn->in_tip && fn->helper_of < 0 &&
	       !(fn->status && strcmp(fn->status, "dropped") == 0);
}

static uint32_t fn_line(const struct gm_review_fn *fn)
{
	return fn->in_tip && fn->tip_start_line ? fn->tip_start_line : fn->base_start_line;
}

static void attr(struct gm_buf *out, const char *name, const char *value)
{
	gm_buf_printf(out, " %s=\"", name);
	esc(out, value);
	gm_buf_puts(out, "\"");
}

static void chip(struct gm_buf *out, const char *cls, const char *text)
{
	gm_buf_printf(out, "<span class=\"chip %s\">", cls);
	esc(out, text);
	gm_buf_puts(out, "</span>");
}

static void put_meta(struct gm_buf *out, const struct gm_review_fn *fn)
{
	char num[64];
	gm_buf_puts(out, "<span class=\"meta\">");
	chip(out, !strcmp(fn->route, "claude") ? "route claude" : "route", fn->route);
	gm_buf_puts(out, "<span class=\"model\">");
	esc(out, fn->model);
	gm_buf_puts(out, "</span>");
	if (fn->attempts) {
		snprintf(num, sizeof(num), "%u attempt%s", fn->attempts, fn->attempts == 1 ? "" : "s");
		chip(out, fn->attempts > 1 ? "tries many" : "tries", num);
	}
	if (fn->cc_before) {
		gm_buf_printf(out, "<span class=\"chip cc%s\" title=\"cyclomatic complexity before &#8594; "
		                   "after\">cc %u &#8594; %u</span>",
		              fn->cc_after < fn->cc_before ? " down" : fn->cc_after > fn->cc_before ? " up" : "",
		              fn->cc_before, fn->cc_after);
	}
	if (fn->changed)
		gm_buf_printf(out, "<span class=\"delta\"><span class=\"plus\">+%d</span> <span "
		                   "class=\"minus\">&#8722;%d</span></span>",
		              fn->added, fn->removed);
	gm_buf_puts(out, "</span>");
}

static int put_card(struct render *rd, size_t i)
{
	const struct gm_review *r = rd->r;
	const struct gm_review_fn *fn = &r->fns[i];
	struct gm_buf *out = rd->out;
	bool can = decidable(fn);
	char *spec = gm_xasprintf("%s:%s", fn->path, fn->name);
	unsigned ccdrop = fn->cc_before > fn->cc_after ? fn->cc_before - fn->cc_after : 0;
	uint32_t size = fn->in_tip ? fn->tip_end_line - fn->tip_start_line + 1 : 0;
	int rc = 0;

	gm_buf_printf(out, "<article class=\"card%s\" id=\"f%zu\" tabindex=\"-1\" data-i=\"%zu\"", can ? "" : " fixed", i, i);
	attr(out, "data-spec", spec);
	attr(out, "data-name", fn->name);
	attr(out, "data-path", fn->path);
	attr(out, "data-status", fn->status);
	attr(out, "data-route", fn->route);
	gm_buf_printf(out, " data-ccdrop=\"%u\" data-size=\"%u\" data-change=\"%d\">", ccdrop, size,
	              fn->added + fn->removed);
	gm_buf_puts(out, "<header class=\"fnh\">");
	if (can)
		gm_buf_puts(out, "<span class=\"kd\" role=\"group\" aria-label=\"keep or drop\">"
		                 "<button type=\"button\" class=\"k on\" title=\"keep (y)\">keep</button>"
		                 "<button type=\"button\" class=\"d\" title=\"drop (n)\">drop</button></span>");
	else
		chip(out, "status", fn->status);
	gm_buf_puts(out, "<span class=\"nm\">");
	esc(out, fn->name);
	gm_buf_puts(out, "</span><span class=\"loc\">");
	esc(out, fn->path);
	gm_buf_printf(out, ":%u</span>", fn_line(fn));
	put_meta(out, fn);
	if (fn->changed_after)
		chip(out, "warn", "changed after the run");
	if (!fn->in_base)
		chip(out, "new", "new");
	gm_buf_puts(out, "</header>");
	if (fn->nhelpers || fn->nimports || (fn->rationale && *fn->rationale) ||
	    (fn->reason && *fn->reason && strcmp(fn->status, "applied") != 0)) {
		gm_buf_puts(out, "<div class=\"info\">");
		if (fn->nhelpers) {
			gm_buf_puts(out, "<div><span class=\"lbl\">helpers</span>");
			for (size_t k = 0; k < fn->nhelpers; k++) {
				gm_buf_puts(out, k ? ", <code>" : " <code>");
				esc(out, fn->helpers[k]);
				gm_buf_puts(out, "</code>");
			}
			gm_buf_puts(out, " <span class=\"dim\">(dropped with it)</span></div>");
		}
		for (size_t k = 0; k < fn->nimports; k++) {
			gm_buf_puts(out, "<div><span class=\"lbl\">import</span> <code>");
			esc(out, fn->imports[k]);
			gm_buf_puts(out, "</code></div>");
		}
		if (fn->rationale && *fn->rationale) {
			gm_buf_puts(out, "<div class=\"why\"><span class=\"lbl\">rationale</span> ");
			esc(out, fn->rationale);
			gm_buf_puts(out, "</div>");
		}
		if (fn->reason && *fn->reason && strcmp(fn->status, "applied") != 0) {
			gm_buf_puts(out, "<div class=\"why\"><span class=\"lbl\">reason</span> ");
			esc(out, fn->reason);
			gm_buf_puts(out, "</div>");
		}
		gm_buf_puts(out, "</div>");
	}
	if (fn->changed && (rc = put_sbs(rd, fn)) < 0)
		goto cleanup;
	/* Its helpers, which go with it. */
	for (size_t j = 0; j < r->n; j++) {
		const struct gm_review_fn *h = &r->fns[j];
		if (h->helper_of != (long)i || !h->changed)
			continue;
		gm_buf_puts(out, "<div class=\"helper\"><div class=\"hh\"><span class=\"lbl\">helper</span> "
		                 "<span class=\"nm\">");
		esc(out, h->name);
		gm_buf_printf(out, "</span> <span class=\"loc\">:%u</span>%s</div>", fn_line(h),
		              h->in_base ? "" : " <span class=\"chip new\">new</span>");
		if ((rc = put_sbs(rd, h)) < 0)
			goto cleanup;
		gm_buf_puts(out, "</div>");
	}
	gm_buf_puts(out, "</article>");
cleanup:
	free(spec);
	return rc;
}

static void file_pair_release(struct file_pair *fp)
{
	side_release(&fp->base);
	side_release(&fp->tip);
	free(fp->path);
	memset(fp, 0, sizeof(*fp));
}

/* The functions of one file, from r->fns[from] on; returns the index after them. */
static int put_file(struct render *rd, size_t from, size_t *next)
{
	const struct gm_review *r = rd->r;
	const char *path = r->fns[from].path;
	struct gm_buf *out = rd->out;
	size_t end = from, shown = 0;
	int rc;

	while (end < r->n && !strcmp(r->fns[end].path, path))
		end++;
	*next = end;
	for (size_t i = from; i < end; i++)
		shown += r->fns[i].helper_of < 0;
	if (!shown)
		return 0;
	file_pair_release(&rd->fp);
	rd->fp.path = gm_xstrdup(path);
	if ((rc = gm_lang_rule_get(&rd->fp.lang, r->langs, path)) < 0) {
		gm_error_clear();
		rd->fp.lang = NULL;
	}
	if ((rc = side_load(&rd->fp.base, rd->repo, &r->base, path, rd->fp.lang, rd->parser)) < 0 ||
	    (rc = side_load(&rd->fp.tip, rd->repo, &r->tip, path, rd->fp.lang, rd->parser)) < 0)
		return rc;
	gm_buf_puts(out, "<section class=\"file\"");
	attr(out, "data-path", path);
	gm_buf_puts(out, "><header class=\"fileh\"><span class=\"path\">");
	esc(out, path);
	gm_buf_printf(out, "</span><span class=\"count\"></span><span class=\"bulk\">"
	                   "<button type=\"button\" class=\"keepall\">keep all</button>"
	                   "<button type=\"button\" class=\"dropall\">drop all</button></span></header>");
	for (size_t i = from; i < end; i++)
		if (r->fns[i].helper_of < 0 && (rc = put_card(rd, i)) < 0)
			return rc;
	gm_buf_puts(out, "</section>");
	return 0;
}

static void put_unapplied(struct render *rd)
{
	const struct gm_review *r = rd->r;
	struct gm_buf *out = rd->out;

	if (!r->nunapplied)
		return;
	gm_buf_printf(out, "<section class=\"unapplied\" id=\"unapplied\"><h2>Not applied "
	                   "<span class=\"count\">%zu</span></h2>",
	              r->nunapplied);
	for (size_t i = 0; i < r->nunapplied; i++) {
		const struct gm_run_task *t = r->unapplied[i];
		const char *st = gm_task_status_name(t->status);
		char num[48];
		gm_buf_printf(out, "<article class=\"task\" id=\"t%zu\" tabindex=\"-1\"", i);
		attr(out, "data-name", t->name);
		attr(out, "data-path", t->path);
		attr(out, "data-status", st);
		attr(out, "data-route", t->route ? t->route : "");
		gm_buf_puts(out, "><header class=\"fnh\">");
		chip(out, st, st);
		gm_buf_puts(out, "<span class=\"nm\">");
		esc(out, t->name);
		gm_buf_puts(out, "</span><span class=\"loc\">");
		esc(out, t->path);
		gm_buf_printf(out, ":%u</span><span class=\"meta\">", t->start_line);
		if (t->kind && strcmp(t->kind, "rewrite") != 0)
			chip(out, "kind", t->kind);
		if (t->route)
			chip(out, !strcmp(t->route, "claude") ? "route claude" : "route", t->route);
		if (t->model) {
			gm_buf_puts(out, "<span class=\"model\">");
			esc(out, t->model);
			gm_buf_puts(out, "</span>");
		}
		snprintf(num, sizeof(num), "%u attempt%s", t->attempts, t->attempts == 1 ? "" : "s");
		chip(out, "tries", num);
		gm_buf_puts(out, "</span></header>");
		if (t->reason) {
			gm_buf_puts(out, "<div class=\"info\"><div class=\"why\"><span class=\"lbl\">reason</span> ");
			esc(out, t->reason);
			gm_buf_puts(out, "</div></div>");
		}
		if (t->answer) {
			gm_buf_printf(out, "<details class=\"answer\"><summary>last answer%s</summary><pre>",
			              t->answer_truncated ? " (cut: longer than the note keeps)" : "");
			esc(out, t->answer);
			gm_buf_puts(out, "</pre></details>");
		}
		gm_buf_puts(out, "</article>");
	}
	gm_buf_puts(out, "</section>");
}

/* The numbers of the summary bar. */
struct totals {
	size_t applied, dropped, changed, helpers, unapplied;
	double cost;
	bool has_cost;
};

static void count(struct totals *t, const struct gm_review *r)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < r->n; i++) {
		const struct gm_review_fn *fn = &r->fns[i];
		if (fn->helper_of >= 0) {
			t->helpers++;
			continue;
		}
		if (fn->status && !strcmp(fn->status, "dropped"))
			t->dropped++;
		else if (fn->changed && fn->status && !strcmp(fn->status, "applied"))
			t->applied++;
		else if (fn->changed)
			t->changed++;
	}
	t->unapplied = r->nunapplied;
	if (r->record) {
		t->cost = r->record->cost_usd;
		t->has_cost = true;
	}
}

/* The models the run used: the note's, else those the functions name. */
static cJSON *models(const struct gm_review *r)
{
	cJSON *a = cJSON_CreateArray();
	const char *seen[16];
	size_t n = 0;
	for (size_t i = 0; i < r->n && n < 16; i++) {
		const char *m = r->fns[i].model;
		bool dup = !m || !strcmp(m, "unknown");
		for (size_t k = 0; k < n && !dup; k++)
			dup = !strcmp(seen[k], m);
		if (!dup)
			seen[n++] = m;
	}
	for (size_t i = 0; r->record && i < r->record->ntasks && n < 16; i++) {
		const char *m = r->record->tasks[i].model;
		bool dup = !m;
		for (size_t k = 0; k < n && !dup; k++)
			dup = !strcmp(seen[k], m);
		if (!dup)
			seen[n++] = m;
	}
	for (size_t k = 0; k < n; k++)
		cJSON_AddItemToArray(a, cJSON_CreateString(seen[k]));
	return a;
}

static void put_summary(struct render *rd, const struct totals *t, const cJSON *mods)
{
	const struct gm_review *r = rd->r;
	struct gm_buf *out = rd->out;
	char base[13], tip[13];
	const cJSON *m;

	git_oid_tostr(base, sizeof(base), &r->base);
	git_oid_tostr(tip, sizeof(tip), &r->tip);
	gm_buf_puts(out, "<header id=\"top\"><div class=\"bar\"><div class=\"title\"><span "
	                 "class=\"brand\">git monitor review</span> <span class=\"branch\">");
	esc(out, r->branch);
	gm_buf_printf(out, "</span> <span class=\"dim\">%s&#8230;%s</span>", base, tip);
	if (r->run_id) {
		gm_buf_puts(out, " <span class=\"dim\">run ");
		esc(out, r->run_id);
		gm_buf_puts(out, "</span>");
	}
	gm_buf_puts(out, "</div><div class=\"stats\">");
	gm_buf_printf(out, "<span class=\"stat\"><b id=\"n-applied\">%zu</b> applied</span>", t->applied);
	if (t->changed)
		gm_buf_printf(out, "<span class=\"stat\"><b>%zu</b> changed</span>", t->changed);
	gm_buf_printf(out, "<span class=\"stat\"><b id=\"n-dropped\">%zu</b> dropped</span>", t->dropped);
	gm_buf_puts(out, "<span class=\"stat todrop\"><b id=\"n-todrop\">0</b> to drop</span>");
	if (t->unapplied)
		gm_buf_printf(out, "<a class=\"stat\" href=\"#unapplied\"><b>%zu</b> not applied</a>",
		              t->unapplied);
	if (t->has_cost)
		gm_buf_printf(out, "<span class=\"stat\"><b>$%.*f</b> cost</span>",
		              t->cost == 0 ? 0 : t->cost < 0.01 ? 4 : 2, t->cost);
	gm_buf_puts(out, "<span class=\"stat models\">");
	cJSON_ArrayForEach(m, mods) {
		gm_buf_puts(out, "<span class=\"model\">");
		esc(out, m->valuestring);
		gm_buf_puts(out, "</span>");
	}
	gm_buf_puts(out, "</span></div>");
	if (rd->o->live)
		gm_buf_puts(out, "<span id=\"msg\" role=\"status\"></span>");
	gm_buf_puts(out, "</div><div class=\"tools\"><input id=\"q\" type=\"search\" placeholder=\"filter "
	                 "by name or file  (/)\" autocomplete=\"off\" spellcheck=\"false\">"
	                 "<select id=\"fstatus\" title=\"status\"><option value=\"\">any status</option>"
	                 "<option value=\"applied\">applied</option><option value=\"todrop\">to drop</option>"
	                 "<option value=\"dropped\">dropped</option><option value=\"changed\">changed</option>"
	                 "<option value=\"not\">not applied</option></select>"
	                 "<select id=\"froute\" title=\"route\"><option value=\"\">any route</option>"
	                 "<option value=\"local\">local</option><option value=\"claude\">claude</option>"
	                 "</select><select id=\"sort\" title=\"sort\"><option value=\"file\">file order</option>"
	                 "<option value=\"ccdrop\">complexity drop</option><option value=\"size\">size</option>"
	                 "<option value=\"change\">lines changed</option></select>"
	                 "<span class=\"shown\" id=\"shown\"></span><span class=\"keys\"><kbd>j</kbd>"
	                 "<kbd>k</kbd> move <kbd>y</kbd> keep <kbd>n</kbd> drop <kbd>/</kbd> filter "
	                 "<kbd>?</kbd> help</span>");
	if (rd->o->live)
		gm_buf_puts(out, "<button type=\"button\" id=\"apply\" disabled>Apply</button>");
	gm_buf_puts(out, "</div>");
	if (!rd->o->live)
		gm_buf_puts(out, "<div class=\"cmd\"><span class=\"lbl\">to drop the functions marked "
		                 "drop</span><code id=\"cmdline\"></code><button type=\"button\" "
		                 "id=\"copy\">copy</button></div>");
	gm_buf_puts(out, "</header>");
}

int gm_review_page(struct gm_buf *out, git_repository *repo, const struct gm_review *r,
                   const struct gm_review_page_opts *o)
{
	struct render rd;
	struct totals t;
	cJSON *meta = cJSON_CreateObject(), *mods = models(r);
	char hex[GIT_OID_HEXSZ + 1];
	const char *nonce = o->nonce ? o->nonce : "";
	int rc = 0;

	memset(&rd, 0, sizeof(rd));
	rd.out = out;
	rd.r = r;
	rd.o = o;
	rd.repo = repo;
	rd.parser = ts_parser_new();
	count(&t, r);

	gm_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	                 "<meta name=\"referrer\" content=\"no-referrer\">");
	if (!o->live) {
		/* The static file: nothing but its own style and script, no network at all. */
		gm_buf_printf(out, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
		                   "'none'; style-src 'nonce-%s'; script-src 'nonce-%s'; img-src data:\">",
		              nonce, nonce);
	}
	gm_buf_puts(out, "<title>review ");
	esc(out, r->branch);
	gm_buf_printf(out, "</title><style nonce=\"%s\">", nonce);
	gm_buf_puts(out, gm_asset_review_css);
	gm_buf_puts(out, "</style></head><body>");

	cJSON_AddStringToObject(meta, "branch", r->branch);
	cJSON_AddStringToObject(meta, "tip", git_oid_tostr(hex, sizeof(hex), &r->tip));
	cJSON_AddBoolToObject(meta, "live", o->live);
	cJSON_AddItemReferenceToObject(meta, "models", mods);
	gm_buf_puts(out, "<script type=\"application/json\" id=\"gm-meta\">");
	put_json(out, meta);
	gm_buf_puts(out, "</script>");

	put_summary(&rd, &t, mods);
	gm_buf_puts(out, "<main id=\"list\">");
	if (!t.applied && !t.changed && !t.dropped)
		gm_buf_puts(out, "<p class=\"empty\">The branch changes no function.</p>");
	for (size_t i = 0; i < r->n;) {
		size_t next;
		if ((rc = put_file(&rd, i, &next)) < 0)
			goto cleanup;
		i = next;
	}
	put_unapplied(&rd);
	gm_buf_puts(out, "</main><div id=\"help\" hidden><div class=\"box\"><h3>Keys</h3><table>"
	                 "<tr><td><kbd>j</kbd> <kbd>k</kbd></td><td>next / previous function</td></tr>"
	                 "<tr><td><kbd>y</kbd> <kbd>n</kbd></td><td>keep / drop it (and go on)</td></tr>"
	                 "<tr><td><kbd>/</kbd></td><td>filter by name or file</td></tr>"
	                 "<tr><td><kbd>Esc</kbd></td><td>leave the filter, close this</td></tr>"
	                 "<tr><td><kbd>?</kbd></td><td>this help</td></tr></table><p>A dropped function "
	                 "goes back to its text in the base, with the helpers and imports it brought. ");
	gm_buf_puts(out, o->live ? "<b>Apply</b> writes one commit on the branch for all of them."
	                         : "The command line at the top drops them.");
	gm_buf_printf(out, "</p></div></div><script nonce=\"%s\">", nonce);
	gm_buf_puts(out, gm_asset_review_js);
	gm_buf_puts(out, "</script></body></html>\n");
cleanup:
	file_pair_release(&rd.fp);
	ts_parser_delete(rd.parser);
	cJSON_Delete(meta);
	cJSON_Delete(mods);
	return rc;
}
