/*
 * table.c: tables that fit the terminal (term.h).  Widths are display
 * columns: UTF-8 is decoded and each character counted as wcwidth() says
 * in a UTF-8 locale (a CJK character is two, a combining mark none);
 * bytes that are not UTF-8 count one each.  Cells are cut on character
 * boundaries: names in the middle ("src/pars…/lexer.c"), free text at the
 * end, each with "…".
 */
#include "term.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "monitor/util.h"
#include "monitor/banned.h"

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, one column */

/* One UTF-8 character at s (len > 0 bytes left): its length, and the code point (-1: not UTF-8). */
static size_t utf8_char(const unsigned char *s, size_t len, long *cp)
{
	size_t n;
	long c;

	*cp = -1;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 1;
	if (n > len)
		return 1;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 1;
	*cp = c;
	return n;
}

static int char_width(long cp)
{
	static locale_t utf8 = (locale_t)0;
	static bool tried;
	locale_t old;
	int w;

	if (cp < 0)
		return 1;
	if (cp < 0x80)
		return cp >= 0x20 && cp != 0x7f ? 1 : 0;
	if (!tried) {
		tried = true;
		utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
		if (!utf8)
			utf8 = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
	}
	if (utf8) {
		old = uselocale(utf8);
		w = wcwidth((wchar_t)cp);
		uselocale(old);
		return w < 0 ? 1 : w;
	}
	/* No UTF-8 locale: the wide ranges roughly, combining marks as nothing. */
	if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f))
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) ||
	    (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

/* Display width of s, skipping ANSI colour sequences (ESC [ ... m). */
int cli_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);
	int w = 0;

	while (len) {
		long cp;
		size_t n;
		if (p[0] == 0x1b && len > 1 && p[1] == '[') {
			size_t k = 2;
			while (k < len && p[k] != 'm' && (p[k] == ';' || (p[k] >= '0' && p[k] <= '9')))
				k++;
			if (k < len && p[k] == 'm') {
				p += k + 1;
				len -= k + 1;
				continue;
			}
		}
		n = utf8_char(p, len, &cp);
		w += char_width(cp);
		p += n;
		len -= n;
	}
	return w;
}

/* The longest prefix of s no wider than `max` columns: its byte length (and width in *w). */
static size_t prefix_fit(const char *s, int max, int *w)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), at = 0;
	int acc = 0;

	while (at < len) {
		long cp;
		size_t n = utf8_char(p + at, len - at, &cp);
		int cw = char_width(cp);
		if (acc + cw > max)
			break;
		acc += cw;
		at += n;
	}
	/* combining marks that follow stay with their character */
	while (at < len) {
		long cp;
		size_t n = utf8_char(p + at, len - at, &cp);
		if (char_width(cp) != 0 || cp < 0x80)
			break;
		at += n;
	}
	*w = acc;
	return at;
}

/* The shortest suffix start of s whose width is at most `max`. */
static size_t suffix_fit(const char *s, int max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);
	size_t *starts = gm_xcalloc(len + 1, sizeof(size_t));
	int *widths = gm_xcalloc(len + 1, sizeof(int));
	size_t n = 0, at = 0, best = len;
	int acc = 0;

	while (at < len) {
		long cp;
		size_t k = utf8_char(p + at, len - at, &cp);
		starts[n] = at;
		widths[n] = char_width(cp);
		n++;
		at += k;
	}
	for (size_t i = n; i-- > 0;) {
		if (acc + widths[i] > max)
			break;
		acc += widths[i];
		best = starts[i];
	}
	/* never start on a combining mark */
	while (best < len) {
		size_t i = 0;
		while (i < n && starts[i] != best)
			i++;
		if (i >= n || widths[i] != 0 || p[best] < 0x80)
			break;
		best = i + 1 < n ? starts[i + 1] : len;
	}
	free(starts);
	free(widths);
	return best;
}

char *cli_truncate_middle(const char *s, int max)
{
	int w = cli_width(s), hw;
	size_t head, tail;

	if (w <= max)
		return gm_xstrdup(s);
	if (max <= 0)
		return gm_xstrdup("");
	if (max == 1)
		return gm_xstrdup(ELLIPSIS);
	head = prefix_fit(s, (max - 1 + 1) / 2, &hw);
	tail = suffix_fit(s, max - 1 - hw);
	return gm_xasprintf("%.*s" ELLIPSIS "%s", (int)head, s, s + tail);
}

char *cli_truncate_path(const char *s, int max)
{
	const char *last = strrchr(s, '/'), *colon = strchr(last ? last : s, ':'), *slash = NULL;
	char *path, *cut, *out;
	int sw, tw, hw;
	size_t head;

	if (cli_width(s) <= max)
		return gm_xstrdup(s);
	/*
	 * What follows the path (":12-30", ":12 Parser.parse") stays whole; the
	 * path before it is cut, the file's own name kept if it fits.
	 */
	if (!colon || (sw = cli_width(colon)) + 4 > max)
		return cli_truncate_middle(s, max);
	path = gm_xstrndup(s, (size_t)(colon - s));
	slash = strrchr(path, '/');
	if (slash && (tw = cli_width(slash + 1)) + 1 <= max - sw) {
		head = prefix_fit(path, max - sw - 1 - tw, &hw);
		cut = gm_xasprintf("%.*s" ELLIPSIS "%s", (int)head, path, slash + 1);
	} else {
		cut = cli_truncate_middle(path, max - sw);
	}
	out = gm_xasprintf("%s%s", cut, colon);
	free(cut);
	free(path);
	return out;
}

char *cli_truncate_end(const char *s, int max)
{
	int hw;
	size_t head;

	if (cli_width(s) <= max)
		return gm_xstrdup(s);
	if (max <= 0)
		return gm_xstrdup("");
	head = prefix_fit(s, max - 1, &hw);
	return gm_xasprintf("%.*s" ELLIPSIS, (int)head, s);
}

/* ---- tables ------------------------------------------------------------------ */

struct cell {
	char *text;
	const char *color; /* a slot's sequence, or NULL */
};

struct row {
	struct cell *cells;
	size_t ncells;
	char **notes; /* lines under the row */
	size_t nnotes, cnotes;
};

struct col {
	char *header;
	unsigned flags;
	int min;
};

struct cli_table {
	struct col *cols;
	size_t ncols, ccols;
	struct row *rows;
	size_t nrows, crows;
	const char *header_color;
};

struct cli_table *cli_table_new(void)
{
	return gm_xcalloc(1, sizeof(struct cli_table));
}

void cli_table_free(struct cli_table *t)
{
	if (!t)
		return;
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->rows[r].ncells; c++)
			free(t->rows[r].cells[c].text);
		free(t->rows[r].cells);
		for (size_t k = 0; k < t->rows[r].nnotes; k++)
			free(t->rows[r].notes[k]);
		free(t->rows[r].notes);
	}
	free(t->rows);
	for (size_t c = 0; c < t->ncols; c++)
		free(t->cols[c].header);
	free(t->cols);
	free(t);
}

void cli_table_col(struct cli_table *t, const char *header, unsigned flags, int min)
{
	GM_GROW(t->cols, t->ccols, t->ncols + 1);
	t->cols[t->ncols].header = gm_xstrdup(header);
	t->cols[t->ncols].flags = flags;
	t->cols[t->ncols].min = min > 0 ? min : 1;
	t->ncols++;
}

void cli_table_row(struct cli_table *t)
{
	GM_GROW(t->rows, t->crows, t->nrows + 1);
	memset(&t->rows[t->nrows], 0, sizeof(t->rows[t->nrows]));
	t->rows[t->nrows].cells = gm_xcalloc(t->ncols + 1, sizeof(struct cell));
	t->nrows++;
}

void cli_table_cell(struct cli_table *t, const char *color, const char *text)
{
	struct row *r = &t->rows[t->nrows - 1];
	if (r->ncells >= t->ncols)
		return;
	r->cells[r->ncells].text = gm_xstrdup(text ? text : "");
	r->cells[r->ncells].color = color && *color ? color : NULL;
	r->ncells++;
}

void cli_table_cellf(struct cli_table *t, const char *color, const char *fmt, ...)
{
	va_list ap;
	struct gm_buf b = GM_BUF_INIT;
	char *s;

	va_start(ap, fmt);
	gm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	s = gm_buf_detach(&b, NULL);
	cli_table_cell(t, color, s ? s : "");
	free(s);
}

void cli_table_note(struct cli_table *t, const char *fmt, ...)
{
	struct row *r = &t->rows[t->nrows - 1];
	struct gm_buf b = GM_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	gm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	GM_GROW(r->notes, r->cnotes, r->nnotes + 1);
	r->notes[r->nnotes++] = b.ptr ? gm_buf_detach(&b, NULL) : gm_xstrdup("");
}

size_t cli_table_rows(const struct cli_table *t)
{
	return t->nrows;
}

void cli_table_header_color(struct cli_table *t, const char *color)
{
	t->header_color = color && *color ? color : NULL;
}

const char *cli_model_short(const char *id)
{
	const char *slash = id ? strrchr(id, '/') : NULL;
	return slash && slash[1] ? slash + 1 : id;
}

static int gap(const struct col *c)
{
	return c->flags & CLI_COL_TIGHT ? 1 : 2;
}

static void put_cell(struct gm_buf *out, const char *text, const char *color, int width,
                     unsigned flags, bool last, bool fit)
{
	char *shown;
	int w;

	if (!fit)
		shown = gm_xstrdup(text);
	else if (flags & CLI_COL_PATH)
		shown = cli_truncate_path(text, width);
	else if (flags & CLI_COL_MIDDLE)
		shown = cli_truncate_middle(text, width);
	else
		shown = cli_truncate_end(text, width);
	w = cli_width(shown);
	if ((flags & CLI_COL_RIGHT) && w < width)
		gm_buf_printf(out, "%*s", width - w, "");
	if (color && *shown)
		gm_buf_puts(out, color);
	gm_buf_puts(out, shown);
	if (color && *shown)
		gm_buf_puts(out, CLI_COLOR_RESET);
	if (!(flags & CLI_COL_RIGHT) && !last && w < width)
		gm_buf_printf(out, "%*s", width - w, "");
	free(shown);
}

void cli_table_print(struct cli_table *t, FILE *out, int maxwidth)
{
	int *w = gm_xcalloc(t->ncols + 1, sizeof(int));
	bool *shown = gm_xcalloc(t->ncols + 1, sizeof(bool));
	size_t last = 0, first = t->ncols;
	bool fit = maxwidth > 0;
	int total = 0;

	/*
	 * A column no row has text in says nothing (a REASON column when every
	 * function was applied): it is left out, header and all, and its room
	 * goes to the others.  The last column shown ends each line (no padding
	 * after it).
	 */
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = cli_width(t->cols[c].header);
		shown[c] = !t->nrows;
		for (size_t r = 0; r < t->nrows; r++)
			if (c < t->rows[r].ncells) {
				int cw = cli_width(t->rows[r].cells[c].text);
				shown[c] |= cw > 0;
				if (cw > w[c])
					w[c] = cw;
			}
		if (!shown[c])
			continue;
		total += w[c] + (first < c ? gap(&t->cols[c]) : 0);
		if (first == t->ncols)
			first = c;
		last = c;
	}
	/*
	 * Too wide: take columns from the widest that may shrink, down to their
	 * minimum; those marked to go first (free text) before the others, those
	 * marked to go last (what a row is about) after.
	 */
	for (int level = 2; level >= 0 && fit && total > maxwidth; level--)
		while (total > maxwidth) {
			size_t best = t->ncols;
			for (size_t c = 0; c < t->ncols; c++) {
				unsigned f = t->cols[c].flags;
				int lv = f & CLI_COL_FIRST ? 2 : f & CLI_COL_LAST ? 0 : 1;
				if (shown[c] && (f & (CLI_COL_MIDDLE | CLI_COL_END | CLI_COL_PATH)) && lv == level &&
				    w[c] > t->cols[c].min &&
				    (best == t->ncols || w[c] > w[best]))
					best = c;
			}
			if (best == t->ncols)
				break;
			w[best]--;
			total--;
		}
	for (size_t r = 0; r <= t->nrows; r++) {
		struct gm_buf line = GM_BUF_INIT;
		const struct row *row = r ? &t->rows[r - 1] : NULL;
		size_t end = row ? row->ncells : t->ncols;
		for (size_t c = 0; c < end; c++) {
			const char *text = row ? row->cells[c].text : t->cols[c].header;
			const char *color = row ? row->cells[c].color : t->header_color;
			bool is_last = c == end - 1 || c == last;
			if (!shown[c])
				continue;
			if (c > first)
				gm_buf_puts(&line, gap(&t->cols[c]) == 1 ? " " : "  ");
			put_cell(&line, text, color, w[c], t->cols[c].flags, is_last, fit);
		}
		while (line.len && line.ptr[line.len - 1] == ' ')
			line.ptr[--line.len] = '\0';
		fprintf(out, "%s\n", line.ptr ? line.ptr : "");
		gm_buf_release(&line);
		for (size_t k = 0; row && k < row->nnotes; k++) {
			char *n = fit ? cli_truncate_end(row->notes[k], maxwidth) : gm_xstrdup(row->notes[k]);
			fprintf(out, "%s\n", n);
			free(n);
		}
	}
	free(shown);
	free(w);
}
