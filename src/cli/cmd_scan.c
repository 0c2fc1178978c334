/*
 * git monitor scan: list the units of a commit (or of the index) with their
 * metrics, cross-file fan-in/out and the route a refactor would take.
 * No network.
 *
 * --json schema (version 1):
 * {
 *   "version": 1,
 *   "source": "commit" | "index",
 *   "commit": "<oid>" | null,
 *   "units": [ { "path", "language", "name", "short_name", "kind",
 *                "ordinal", "start_byte", "end_byte", "start_line",
 *                "end_line", "signature",
 *                "metrics": { "lines", "complexity", "nesting", "params" },
 *                "calls": [ "<name>", ... ], "fan_in", "fan_out",
 *                "cluster", "complex", "route": "local" | "claude" } ],
 *   "summary": { "files_scanned", "files_from_cache", "units",
 *                "clusters", "files_skipped": { "<reason>": n, ... },
 *                "skipped": [ { "path", "reason" } ],
 *                "parse_errors": [ { "path", "errors", "units" } ],
 *                "nesting_capped": [ { "path", "name", "start_line" } ] }
 * }
 *
 * "parse_errors" lists the files tree-sitter could parse only with errors
 * ("errors": its ERROR and MISSING nodes): the units inside a broken part
 * are not found, so "units" may be fewer than the file has.
 * "nesting_capped" lists the units nested deeper than the scan counts
 * (GM_SCAN_MAX_NESTING): their "nesting" shows that limit.  On stderr each
 * is one "warning:" line (not with -q).
 *
 * The output is always valid UTF-8 (include/monitor/quote.h): "path",
 * "name", "short_name" and "calls" are the repository's bytes when those
 * are valid UTF-8 not starting with '"', else git's C-quoted form
 * ("caf\351.py": \ooo for each byte that is not UTF-8, reversible); in
 * "signature" a byte that is not UTF-8 is U+FFFD.  Byte offsets are of the
 * bytes as they are in the blob.
 *
 * "units" lists what the table would (file order, or --sort's, cut by
 * --top and --min-complexity); "summary" counts every unit scanned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <git2.h>

#include "cli.h"
#include "term.h"
#include "monitor/config.h"
#include "monitor/error.h"
#include "monitor/index.h"
#include "monitor/plan.h"
#include "monitor/quote.h"
#include "monitor/repo.h"
#include "monitor/resolve.h"
#include "monitor/util.h"
#include "monitor/banned.h"

static const char usage_text[] =
	"usage: git monitor scan [--json] [--rev <rev> | --staged] [-j <n>]\n"
	"                        [--sort cc|lines|fan-in|name] [--top <n>]\n"
	"                        [--min-complexity <n>] [-v]\n"
	"                        [<pathspec>...]\n"
	"\n"
	"List the functions and methods of a commit (default HEAD) or of the index\n"
	"with their metrics, cross-file callers/callees and the route a refactor\n"
	"would take. Reads git objects only, never the working tree.";

/*
 * Which clusters a refactor would send to Claude: the same grouping and
 * decision as the refactor's (plan.h), so the preview cannot disagree with
 * the run.
 */
static int claude_clusters(bool **out, const struct gm_index *idx, bool have_key)
{
	struct gm_route_opts ro = { 0 };
	struct gm_plan_groups g;
	size_t *all = gm_xcalloc(idx->nunits + 1, sizeof(size_t));
	bool *c = gm_xcalloc(idx->nclusters + 1, sizeof(bool));
	int rc = 0;

	for (size_t i = 0; i < idx->nunits; i++)
		all[i] = i;
	gm_plan_group(&g, idx, all, idx->nunits);
	ro.have_claude_key = have_key;
	for (size_t k = 0; k < g.nclusters && rc == 0; k++) {
		struct gm_route route;
		if (g.start[k + 1] == g.start[k])
			continue;
		rc = gm_plan_route_units(&route, idx, g.units + g.start[k], g.start[k + 1] - g.start[k], &ro);
		c[k] = rc == 0 && route.route == GM_ANALYSIS_CLAUDE;
		gm_route_release(&route);
	}
	gm_plan_groups_release(&g);
	free(all);
	if (rc < 0) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static const char *route_of(const struct gm_index *idx, const bool *claude, size_t id)
{
	long k = idx->units[id].cluster;
	return k >= 0 && claude[k] ? "claude" : "local";
}

/* The units to show, in the order to show them (--sort, --top, --min-complexity). */
struct view {
	size_t *ids;
	size_t n;
};

enum sort_key { SORT_NONE, SORT_CC, SORT_LINES, SORT_FAN_IN, SORT_NAME };

static int cmp_units(const void *a, const void *b, void *arg)
{
	const struct gm_index *idx = ((const void **)arg)[0];
	enum sort_key key = *(const enum sort_key *)((const void **)arg)[1];
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct gm_unit *ux = gm_index_unit(idx, x), *uy = gm_index_unit(idx, y);
	long d = 0;

	switch (key) {
	case SORT_CC: d = (long)uy->complexity - (long)ux->complexity; break;
	case SORT_LINES: d = (long)uy->lines - (long)ux->lines; break;
	case SORT_FAN_IN: d = (long)idx->units[y].fan_in - (long)idx->units[x].fan_in; break;
	case SORT_NAME: d = strcmp(ux->name, uy->name); break;
	default: break;
	}
	if (d)
		return d < 0 ? -1 : 1;
	return x < y ? -1 : x > y; /* then file order */
}

static void make_view(struct view *v, const struct gm_index *idx, enum sort_key key, long top,
                      unsigned min_cc)
{
	const void *arg[2] = { idx, &key };

	v->ids = gm_xcalloc(idx->nunits + 1, sizeof(size_t));
	v->n = 0;
	for (size_t i = 0; i < idx->nunits; i++)
		if (idx->files[idx->units[i].file].target && gm_index_unit(idx, i)->complexity >= min_cc)
			v->ids[v->n++] = i;
	if (key != SORT_NONE)
		qsort_r(v->ids, v->n, sizeof(size_t), cmp_units, (void *)arg);
	if (top >= 0 && (size_t)top < v->n)
		v->n = (size_t)top;
}

static void print_table(const struct gm_index *idx, const bool *cx, const struct view *v, bool color,
                        bool full)
{
	struct cli_table *t = cli_table_new();
	const char *over = cli_color(color, "color.monitor.complex", "red");

	cli_table_col(t, "LOCATION", CLI_COL_PATH, 12);
	cli_table_col(t, "NAME", CLI_COL_MIDDLE, 10);
	cli_table_col(t, "KIND", CLI_COL_END, 4);
	cli_table_col(t, "CC", CLI_COL_RIGHT, 0);
	cli_table_col(t, "NEST", CLI_COL_RIGHT | CLI_COL_TIGHT, 0);
	cli_table_col(t, "LINES", CLI_COL_RIGHT | CLI_COL_TIGHT, 0);
	cli_table_col(t, "PARAMS", CLI_COL_RIGHT | CLI_COL_TIGHT, 0);
	cli_table_col(t, "IN", CLI_COL_RIGHT | CLI_COL_TIGHT, 0);
	cli_table_col(t, "OUT", CLI_COL_RIGHT | CLI_COL_TIGHT, 0);
	cli_table_col(t, "ROUTE", 0, 0);
	for (size_t k = 0; k < v->n; k++) {
		size_t i = v->ids[k];
		const struct gm_unit *u = gm_index_unit(idx, i);
		const struct gm_unit_info *ui = &idx->units[i];
		const struct gm_file *f = &idx->files[ui->file];
		char *qpath = cli_path(f->path), *qname = cli_name(u->name);
		cli_table_row(t);
		cli_table_cellf(t, NULL, "%s:%u-%u", qpath, u->start_line, u->end_line);
		if (u->ordinal)
			cli_table_cellf(t, NULL, "%s#%u", qname, u->ordinal);
		else
			cli_table_cell(t, NULL, qname);
		free(qpath);
		free(qname);
		cli_table_cell(t, NULL, u->kind);
		/* over the threshold from which a refactor counts it as complex */
		cli_table_cellf(t, u->complexity >= idx->threshold ? over : NULL, "%u", u->complexity);
		cli_table_cellf(t, NULL, "%u", u->nesting);
		cli_table_cellf(t, NULL, "%u", u->lines);
		cli_table_cellf(t, NULL, "%u", u->params);
		cli_table_cellf(t, NULL, "%u", ui->fan_in);
		cli_table_cellf(t, NULL, "%u", ui->fan_out);
		cli_table_cell(t, NULL, route_of(idx, cx, i));
	}
	cli_table_print(t, stdout, full ? 0 : cli_term_columns());
	cli_table_free(t);
}

/* Whether a target file was parsed, with errors: it may have more units than found. */
static bool parsed_with_errors(const struct gm_file *f)
{
	return f->target && f->skip == GM_SKIP_NONE && !f->unread && f->scan.errors;
}

/* Whether a unit's nesting is the cap rather than its depth. */
static bool nesting_capped(const struct gm_unit *u)
{
	return u->nesting >= GM_SCAN_MAX_NESTING;
}

/*
 * What the scan could not see: a file parsed with errors (its units may be
 * fewer than it has) and a unit nested past the limit, one line each, the
 * first WARN_MAX of each kind (-v: all), then how many more: a C tree with
 * macros the grammar cannot follow has hundreds of such files (redis: 320),
 * and --json lists them all.
 */
#define WARN_MAX 10

static void print_warnings(const struct gm_index *idx, bool all)
{
	size_t n = 0;

	for (size_t i = 0; i < idx->nfiles; i++) {
		const struct gm_file *f = &idx->files[i];
		char *path;
		if (!parsed_with_errors(f) || (!all && n++ >= WARN_MAX))
			continue;
		path = cli_path(f->path);
		fprintf(stderr,
		        "warning: %s: parse errors (%u), %zu unit%s found; "
		        "units in the broken part are missed\n",
		        path, f->scan.errors, f->scan.n, f->scan.n == 1 ? "" : "s");
		free(path);
	}
	if (n > WARN_MAX)
		fprintf(stderr, "warning: and %zu more files with parse errors (scan -v or --json lists "
		        "them)\n", n - WARN_MAX);
	n = 0;
	for (size_t i = 0; i < idx->nunits; i++) {
		const struct gm_unit *u = gm_index_unit(idx, i);
		const struct gm_file *f = &idx->files[idx->units[i].file];
		char *path, *name;
		if (!f->target || !nesting_capped(u) || (!all && n++ >= WARN_MAX))
			continue;
		path = cli_path(f->path);
		name = cli_name(u->name);
		fprintf(stderr, "warning: %s:%u: '%s' nests %d or more levels deep, the most counted: "
		        "its nesting shows %d\n",
		        path, u->start_line, name, GM_SCAN_MAX_NESTING, GM_SCAN_MAX_NESTING);
		free(path);
		free(name);
	}
	if (n > WARN_MAX)
		fprintf(stderr, "warning: and %zu more functions nested past the limit (scan -v or "
		        "--json lists them)\n", n - WARN_MAX);
}

/*
 * The units go out through one buffer, written to stdout about every
 * 64 KiB: with printf and putchar (a format parsed, stdout's lock taken on
 * every call) writing the units cost more than all the rest of a scan
 * after the parse, ~30,000 instructions a unit.
 */
#define OUT_CHUNK (64 * 1024)

/* A string literal, its length known when compiled (no strlen per key). */
#define OUT_LIT(b, lit) gm_buf_put((b), "" lit, sizeof(lit) - 1)

static void out_flush(struct gm_buf *b)
{
	if (b->len)
		fwrite(b->ptr, 1, b->len, stdout);
	gm_buf_clear(b);
}

static void put_uint(struct gm_buf *o, unsigned long v)
{
	char d[24], *p = d + sizeof(d);
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	gm_buf_put(o, p, (size_t)(d + sizeof(d) - p));
}

/* A JSON string exactly as cJSON_Print escapes it. */
static void put_json_string(struct gm_buf *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *run = p;

	OUT_LIT(o, "\"");
	for (;; p++) {
		char esc[6] = { '\\', 0, '0', '0', 0, 0 };
		size_t n = 2;
		if (*p >= 32 && *p != '"' && *p != '\\')
			continue;
		gm_buf_put(o, run, (size_t)(p - run));
		if (!*p)
			break;
		run = p + 1;
		switch (*p) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			n = 6;
		}
		gm_buf_put(o, esc, n);
	}
	OUT_LIT(o, "\"");
}

/* `"key":\t` at the units' indent (three tabs, as cJSON_Print has it two levels deep). */
#define PUT_KEY(o, key) OUT_LIT((o), "\t\t\t\"" key "\":\t")

/* A name, valid UTF-8 whatever the bytes (quote.h); most are already. */
static void put_name(struct gm_buf *o, const char *v)
{
	char *q;
	if (*v != '"' && gm_utf8_valid(v, strlen(v))) {
		put_json_string(o, v);
		return;
	}
	q = gm_quote_name(v);
	put_json_string(o, q);
	free(q);
}

static void put_text(struct gm_buf *o, const char *v)
{
	char *q = gm_quote_lossy(v);
	put_json_string(o, q);
	free(q);
}

/* One unit, as cJSON_Print formats it two levels deep (the output's bytes
 * do not change with this writer; it only skips building a cJSON tree). */
static void put_unit(struct gm_buf *o, const struct gm_index *idx, const bool *cx, size_t i)
{
	const struct gm_unit *u = gm_index_unit(idx, i);
	const struct gm_unit_info *ui = &idx->units[i];
	const struct gm_file *f = &idx->files[ui->file];

	OUT_LIT(o, "{\n");
	PUT_KEY(o, "path");
	put_name(o, f->path);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "language");
	put_json_string(o, f->lang->name);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "name");
	put_name(o, u->name);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "short_name");
	put_name(o, u->short_name);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "kind");
	put_json_string(o, u->kind);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "ordinal");
	put_uint(o, u->ordinal);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "start_byte");
	put_uint(o, u->start_byte);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "end_byte");
	put_uint(o, u->end_byte);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "start_line");
	put_uint(o, u->start_line);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "end_line");
	put_uint(o, u->end_line);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "signature");
	put_text(o, u->signature);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "metrics");
	OUT_LIT(o, "{\n\t\t\t\t\"lines\":\t");
	put_uint(o, u->lines);
	OUT_LIT(o, ",\n\t\t\t\t\"complexity\":\t");
	put_uint(o, u->complexity);
	OUT_LIT(o, ",\n\t\t\t\t\"nesting\":\t");
	put_uint(o, u->nesting);
	OUT_LIT(o, ",\n\t\t\t\t\"params\":\t");
	put_uint(o, u->params);
	OUT_LIT(o, "\n\t\t\t},\n");
	PUT_KEY(o, "calls");
	OUT_LIT(o, "[");
	for (size_t c = 0; c < u->ncalls; c++) {
		if (c)
			OUT_LIT(o, ", ");
		put_name(o, u->calls[c]);
	}
	OUT_LIT(o, "],\n");
	PUT_KEY(o, "fan_in");
	put_uint(o, ui->fan_in);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "fan_out");
	put_uint(o, ui->fan_out);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "cluster");
	if (ui->cluster < 0)
		OUT_LIT(o, "-");
	put_uint(o, ui->cluster < 0 ? 0UL - (unsigned long)ui->cluster : (unsigned long)ui->cluster);
	OUT_LIT(o, ",\n");
	PUT_KEY(o, "complex");
	if (ui->complex)
		OUT_LIT(o, "true,\n");
	else
		OUT_LIT(o, "false,\n");
	PUT_KEY(o, "route");
	put_json_string(o, route_of(idx, cx, i));
	OUT_LIT(o, "\n\t\t}");
}

/*
 * The JSON is streamed one unit at a time (memory stays that of the index,
 * not of a second copy of it as a cJSON tree and a string), byte for byte
 * what cJSON_Print gives for the whole document.
 */
static void print_json(const struct gm_index *idx, const bool *cx, const struct view *v)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *summary, *skipped, *skiplist, *errlist, *caplist;
	char oid[GIT_OID_HEXSZ + 1];
	static const char units_key[] = "\t\"units\":\t[]";
	size_t nunits = 0;
	char *text, *at;
	struct gm_buf o = GM_BUF_INIT;

	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "source", idx->staged ? "index" : "commit");
	if (idx->staged) {
		cJSON_AddNullToObject(root, "commit");
	} else {
		git_oid_tostr(oid, sizeof(oid), &idx->commit);
		cJSON_AddStringToObject(root, "commit", oid);
	}
	cJSON_AddArrayToObject(root, "units"); /* streamed in place of [] */
	for (size_t i = 0; i < idx->nunits; i++)
		nunits += idx->files[idx->units[i].file].target;
	summary = cJSON_AddObjectToObject(root, "summary");
	cJSON_AddNumberToObject(summary, "files_scanned", (double)idx->targets_scanned);
	{
		size_t cached = 0;
		for (size_t i = 0; i < idx->nfiles; i++)
			cached += idx->files[i].target && idx->files[i].cached;
		cJSON_AddNumberToObject(summary, "files_from_cache", (double)cached);
	}
	cJSON_AddNumberToObject(summary, "units", (double)nunits);
	cJSON_AddNumberToObject(summary, "clusters", (double)idx->nclusters);
	skipped = cJSON_AddObjectToObject(summary, "files_skipped");
	for (int r = 1; r < GM_SKIP__COUNT; r++)
		cJSON_AddNumberToObject(skipped, gm_skip_reason_name(r), (double)idx->skipped[r]);
	skiplist = cJSON_AddArrayToObject(summary, "skipped");
	for (size_t i = 0; i < idx->nfiles; i++) {
		const struct gm_file *f = &idx->files[i];
		cJSON *s;
		if (!f->target || f->skip == GM_SKIP_NONE)
			continue;
		char *q = gm_quote_name(f->path);
		s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "path", q);
		free(q);
		cJSON_AddStringToObject(s, "reason", gm_skip_reason_name(f->skip));
		cJSON_AddItemToArray(skiplist, s);
	}
	errlist = cJSON_AddArrayToObject(summary, "parse_errors");
	for (size_t i = 0; i < idx->nfiles; i++) {
		const struct gm_file *f = &idx->files[i];
		cJSON *e;
		char *q;
		if (!parsed_with_errors(f))
			continue;
		q = gm_quote_name(f->path);
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "path", q);
		free(q);
		cJSON_AddNumberToObject(e, "errors", f->scan.errors);
		cJSON_AddNumberToObject(e, "units", (double)f->scan.n);
		cJSON_AddItemToArray(errlist, e);
	}
	caplist = cJSON_AddArrayToObject(summary, "nesting_capped");
	for (size_t i = 0; i < idx->nunits; i++) {
		const struct gm_unit *u = gm_index_unit(idx, i);
		const struct gm_file *f = &idx->files[idx->units[i].file];
		cJSON *e;
		char *q;
		if (!f->target || !nesting_capped(u))
			continue;
		e = cJSON_CreateObject();
		q = gm_quote_name(f->path);
		cJSON_AddStringToObject(e, "path", q);
		free(q);
		q = gm_quote_name(u->name);
		cJSON_AddStringToObject(e, "name", q);
		free(q);
		cJSON_AddNumberToObject(e, "start_line", u->start_line);
		cJSON_AddItemToArray(caplist, e);
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	at = strstr(text, units_key);
	at += sizeof(units_key) - 2; /* just past '[' */
	gm_buf_put(&o, text, (size_t)(at - text));
	for (size_t k = 0; k < v->n; k++) {
		if (k)
			OUT_LIT(&o, ", ");
		put_unit(&o, idx, cx, v->ids[k]);
		if (o.len >= OUT_CHUNK)
			out_flush(&o);
	}
	gm_buf_put(&o, at, strlen(at));
	OUT_LIT(&o, "\n");
	out_flush(&o);
	gm_buf_release(&o);
	free(text);
}

static void print_summary(const struct gm_index *idx)
{
	size_t cached = 0, units = 0, skipped = 0;
	for (size_t i = 0; i < idx->nfiles; i++)
		cached += idx->files[i].target && idx->files[i].cached;
	for (size_t i = 0; i < idx->nunits; i++)
		units += idx->files[idx->units[i].file].target;
	for (int r = 1; r < GM_SKIP__COUNT; r++)
		skipped += idx->skipped[r];
	fprintf(stderr, "scanned %zu file%s (%zu from cache), %zu unit%s", idx->targets_scanned,
	        idx->targets_scanned == 1 ? "" : "s", cached, units, units == 1 ? "" : "s");
	if (skipped) {
		const char *sep = "";
		fprintf(stderr, "; skipped %zu: ", skipped);
		for (int r = 1; r < GM_SKIP__COUNT; r++) {
			if (!idx->skipped[r])
				continue;
			fprintf(stderr, "%s%zu %s", sep, idx->skipped[r], gm_skip_reason_name(r));
			sep = ", ";
		}
	}
	{
		size_t broken = 0;
		for (size_t i = 0; i < idx->nfiles; i++)
			broken += parsed_with_errors(&idx->files[i]);
		if (broken)
			fprintf(stderr, "; %zu file%s with parse errors", broken, broken == 1 ? "" : "s");
	}
	fputc('\n', stderr);
}

int cmd_scan(int argc, char **argv)
{
	bool json = false, staged = false, no_cache = false, quiet = false;
	const char *rev = NULL, *jobs_s = NULL, *sort_s = NULL, *top_s = NULL, *min_s = NULL;
	int verbose = 0, top = -1, min_cc = 0;
	enum sort_key sort = SORT_NONE;
	struct view view = { 0 };
	struct cli_list rest = { 0 };
	const struct cli_opt opts[] = {
		{ 0, "json", CLI_OPT_FLAG, &json, NULL, "print units and summary as JSON" },
		{ 0, "rev", CLI_OPT_VALUE, &rev, "REV", "scan this commit (default HEAD)" },
		{ 0, "staged", CLI_OPT_FLAG, &staged, NULL, "scan the staged content (the index)" },
		{ 'j', "jobs", CLI_OPT_VALUE, &jobs_s, "N", "parse with N threads (default: all cores)" },
		{ 0, "no-cache", CLI_OPT_FLAG, &no_cache, NULL, "parse every file, ignoring the scan cache" },
		{ 0, "sort", CLI_OPT_VALUE, &sort_s, "KEY", "order by cc, lines, fan-in (most first) or name" },
		{ 0, "top", CLI_OPT_VALUE, &top_s, "N", "only the first N (after --sort)" },
		{ 0, "min-complexity", CLI_OPT_VALUE, &min_s, "N", "only functions of complexity N or more" },
		{ 'q', "quiet", CLI_OPT_FLAG, &quiet, NULL, "no summary or warnings on stderr" },
		{ 'v', "verbose", CLI_OPT_COUNT, &verbose, NULL, "full names, however wide the terminal" },
		{ 0, NULL, 0, NULL, NULL, NULL },
	};
	struct gm_index_opts io = { 0 };
	git_repository *repo = NULL;
	struct gm_config *cfg = NULL;
	struct gm_index *idx = NULL;
	int64_t threshold, max_size;
	bool *cx = NULL;
	int exit_code = 0, rc, jobs = 0;
	const char *key;
	char *prefix = NULL, **specs = NULL;

	if (cli_parse(argc, argv, opts, &rest, usage_text, &exit_code) < 0)
		goto cleanup;
	if (rev && staged) {
		exit_code = cli_fail(CLI_USAGE, "--rev and --staged cannot be used together");
		goto cleanup;
	}
	if (jobs_s && cli_parse_int(&jobs, "--jobs", jobs_s, 1, 1024) < 0) {
		exit_code = CLI_USAGE;
		goto cleanup;
	}
	if ((top_s && cli_parse_int(&top, "--top", top_s, 0, 100000000) < 0) ||
	    (min_s && cli_parse_int(&min_cc, "--min-complexity", min_s, 0, 1000000) < 0)) {
		exit_code = CLI_USAGE;
		goto cleanup;
	}
	if (sort_s) {
		static const char *const keys[] = { "cc", "lines", "fan-in", "name" };
		const char **similar = NULL;
		for (int k = 0; k < 4 && sort == SORT_NONE; k++)
			if (!strcmp(sort_s, keys[k]))
				sort = (enum sort_key)(k + 1);
		if (sort == SORT_NONE) {
			size_t n = cli_similar(&similar, sort_s, keys, 4);
			exit_code = n == 1 ? cli_usage_error("bad --sort '%s': expected cc, lines, fan-in or name "
			                                     "(did you mean '%s'?)", sort_s, similar[0])
			                   : cli_usage_error("bad --sort '%s': expected cc, lines, fan-in or name",
			                                     sort_s);
			free(similar);
			goto cleanup;
		}
	}
	/* Pathspecs are relative to the current directory, as git takes them. */
	if ((rc = gm_repo_open(&repo, NULL)) < 0 || (rc = gm_config_load(&cfg, repo)) < 0 ||
	    (rc = gm_config_positive(&threshold, cfg, "monitor.route.complexity")) < 0 ||
	    (rc = gm_config_positive(&max_size, cfg, "monitor.scan.maxFileSize")) < 0 ||
	    (rc = gm_repo_prefix(&prefix, repo)) < 0 ||
	    (rc = gm_pathspec_prefix(&specs, prefix, rest.items, rest.n)) < 0) {
		exit_code = cli_error(rc);
		goto cleanup;
	}
	io.rev = rev;
	io.staged = staged;
	io.pathspecs = (const char *const *)specs;
	io.npathspecs = rest.n;
	io.jobs = jobs;
	io.no_cache = no_cache;
	io.max_file_size = (size_t)max_size;
	io.complexity_threshold = (unsigned)threshold;
	if ((rc = gm_index_build(&idx, repo, &io)) < 0) {
		exit_code = cli_error(rc);
		goto cleanup;
	}
	gm_resolve_index(idx);
	key = getenv("ANTHROPIC_API_KEY");
	if ((rc = claude_clusters(&cx, idx, key && *key)) < 0) {
		exit_code = cli_error(rc);
		goto cleanup;
	}
	cli_quote_setup(repo);
	make_view(&view, idx, sort, top, (unsigned)min_cc);
	cli_term_columns(); /* the terminal's, before a pager takes stdout */
	cli_pager_setup("scan", true);
	if (!quiet)
		print_warnings(idx, verbose > 0);
	if (json)
		print_json(idx, cx, &view);
	else
		print_table(idx, cx, &view, cli_want_color(NULL), verbose > 0);
	fflush(stdout);
	if (!quiet && !json)
		print_summary(idx);
cleanup:
	free(view.ids);
	gm_pathspec_strv_free(specs, rest.n);
	free(prefix);
	free(cx);
	gm_index_free(idx);
	gm_config_free(cfg);
	git_repository_free(repo);
	cli_list_release(&rest);
	return exit_code;
}
