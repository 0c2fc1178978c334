#include "monitor/scan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

const char *const gm_unit_kinds[3] = { "function", "method", "constructor" };

struct def {
	TSNode node, name, params, body, decl, receiver;
	bool has_params, has_body, has_decl, has_receiver;
	enum gm_capture kind;
	uint32_t start, end;
};

struct scope {
	uint32_t start, end;
	char *name;
	enum gm_capture kind;
};

struct span {
	uint32_t start, end;
};

static char *node_text(TSNode n, const char *src)
{
	uint32_t s = ts_node_start_byte(n), e = ts_node_end_byte(n);
	return gm_xstrndup(src + s, e - s);
}

/* Fold runs of white space into one space and trim. */
static char *fold_space(const char *s, size_t n)
{
	char *out = gm_xmalloc(n + 1);
	size_t j = 0;
	bool sp = false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			sp = j > 0;
			continue;
		}
		if (sp)
			out[j++] = ' ';
		sp = false;
		out[j++] = c;
	}
	out[j] = '\0';
	return out;
}

static int cmp_def(const void *a, const void *b)
{
	const struct def *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1; /* outer first */
	return 0;
}

static int cmp_scope(const void *a, const void *b)
{
	const struct scope *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1;
	return 0;
}

/* Index of the unit containing [s, e), or -1; units are sorted, disjoint. */
static long unit_at(const struct gm_file_scan *fs, uint32_t s, uint32_t e)
{
	size_t lo = 0, hi = fs->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (fs->units[mid].end_byte <= s)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < fs->n && fs->units[lo].start_byte <= s && e <= fs->units[lo].end_byte)
		return (long)lo;
	return -1;
}

static void add_call(struct gm_unit *u, size_t *cap, const char *src, TSNode n)
{
	uint32_t s = ts_node_start_byte(n), e = ts_node_end_byte(n);
	for (size_t i = 0; i < u->ncalls; i++)
		if (strlen(u->calls[i]) == e - s && memcmp(u->calls[i], src + s, e - s) == 0)
			return;
	GM_GROW(u->calls, *cap, u->ncalls + 1);
	u->calls[u->ncalls++] = gm_xstrndup(src + s, e - s);
}

static char *strip_import(const char *s)
{
	size_t n = strlen(s);
	while (n && (*s == '"' || *s == '\'' || *s == '<' || *s == '`')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == '"' || s[n - 1] == '\'' || s[n - 1] == '>' || s[n - 1] == '`'))
		n--;
	return gm_xstrndup(s, n);
}

TSTree *gm_scan_parse(const struct gm_lang *lang, const char *src, size_t len, TSParser *parser)
{
	TSParser *own = NULL;
	TSTree *tree;

	if (len > UINT32_MAX) {
		gm_error_set("source is too large to parse");
		return NULL;
	}
	if (!parser)
		parser = own = ts_parser_new();
	if (!ts_parser_set_language(parser, lang->grammar())) {
		gm_error_set("grammar for %s is incompatible with the tree-sitter runtime", lang->name);
		ts_parser_delete(own);
		return NULL;
	}
	tree = ts_parser_parse_string(parser, NULL, src, (uint32_t)len);
	ts_parser_reset(parser);
	ts_parser_delete(own);
	if (!tree)
		gm_error_set("cannot parse %s source", lang->name);
	return tree;
}

unsigned gm_scan_count_errors(TSNode node)
{
	TSTreeCursor c;
	unsigned n = 0;

	if (!ts_node_has_error(node))
		return 0;
	c = ts_tree_cursor_new(node);
	for (;;) {
		TSNode cur = ts_tree_cursor_current_node(&c);
		if (ts_node_is_error(cur) || ts_node_is_missing(cur))
			n++;
		if (ts_node_has_error(cur) && ts_tree_cursor_goto_first_child(&c))
			continue;
		while (!ts_tree_cursor_goto_next_sibling(&c)) {
			if (!ts_tree_cursor_goto_parent(&c)) {
				ts_tree_cursor_delete(&c);
				return n;
			}
		}
	}
}

/* A metrics or calls capture, kept until the units are known. */
struct hit {
	TSNode node;
	enum gm_capture role; /* GM_CAP_DECISION, _NESTING, _PARAMETER or _CALL */
};

static void add_import(struct gm_file_scan *fs, size_t *cap, TSNode node, const char *src)
{
	char *t = node_text(node, src), *s = strip_import(t);
	bool dup = false;

	free(t);
	for (size_t k = 0; k < fs->nimports && !dup; k++)
		dup = strcmp(fs->imports[k], s) == 0;
	if (dup || !*s) {
		free(s);
		return;
	}
	GM_GROW(fs->imports, *cap, fs->nimports + 1);
	fs->imports[fs->nimports++] = s;
}

/*
 * One walk of the tree with the language's combined query: definitions
 * and scopes, the metrics and calls captures (for after the units are
 * known, in match order) and the imports.
 */
static void collect(const struct gm_lang *lang, TSNode root, const char *src,
                    struct gm_file_scan *fs, struct def **defs_out, size_t *ndefs_out,
                    struct scope **scopes_out, size_t *nscopes_out,
                    struct hit **hits_out, size_t *nhits_out)
{
	TSQueryCursor *cur = ts_query_cursor_new();
	TSQueryMatch m;
	struct def *defs = NULL;
	struct scope *scopes = NULL;
	struct hit *hits = NULL;
	size_t ndefs = 0, cdefs = 0, nscopes = 0, cscopes = 0, nhits = 0, chits = 0, cimports = 0;

	ts_query_cursor_exec(cur, gm_lang_query(lang), root);
	while (ts_query_cursor_next_match(cur, &m)) {
		struct def d;
		bool is_def = false, is_scope = false, has_name = false;
		TSNode scope_node = { 0 }, name = { 0 };
		enum gm_capture scope_kind = GM_CAP_NONE;
		enum gm_query_kind kind = gm_lang_pattern_kind(lang, m.pattern_index);

		if (!gm_lang_match_passes(lang, &m, src))
			continue;

		if (kind == GM_QUERY_METRICS) {
			for (uint16_t i = 0; i < m.capture_count; i++) {
				enum gm_capture r = gm_lang_capture(lang, m.captures[i].index);
				if (r != GM_CAP_DECISION && r != GM_CAP_NESTING && r != GM_CAP_PARAMETER)
					continue;
				GM_GROW(hits, chits, nhits + 1);
				hits[nhits].node = m.captures[i].node;
				hits[nhits++].role = r;
			}
			continue;
		}
		if (kind == GM_QUERY_CALLS) {
			for (uint16_t i = 0; i < m.capture_count; i++) {
				if (gm_lang_capture(lang, m.captures[i].index) != GM_CAP_NAME)
					continue;
				GM_GROW(hits, chits, nhits + 1);
				hits[nhits].node = m.captures[i].node;
				hits[nhits++].role = GM_CAP_CALL;
				break;
			}
			continue;
		}
		if (kind == GM_QUERY_IMPORTS) {
			for (uint16_t i = 0; i < m.capture_count; i++)
				if (gm_lang_capture(lang, m.captures[i].index) == GM_CAP_IMPORT)
					add_import(fs, &cimports, m.captures[i].node, src);
			continue;
		}

		memset(&d, 0, sizeof(d));
		for (uint16_t i = 0; i < m.capture_count; i++) {
			TSNode n = m.captures[i].node;
			switch (gm_lang_capture(lang, m.captures[i].index)) {
			case GM_CAP_DEF_FUNCTION:
			case GM_CAP_DEF_METHOD:
			case GM_CAP_DEF_CONSTRUCTOR:
				d.node = n;
				d.kind = gm_lang_capture(lang, m.captures[i].index);
				is_def = true;
				break;
			case GM_CAP_NAME:
				if (!has_name)
					name = n;
				has_name = true;
				break;
			case GM_CAP_PARAMS:
				if (!d.has_params)
					d.params = n;
				d.has_params = true;
				break;
			case GM_CAP_BODY:
				if (!d.has_body)
					d.body = n;
				d.has_body = true;
				break;
			case GM_CAP_DECL:
				d.decl = n;
				d.has_decl = true;
				break;
			case GM_CAP_RECEIVER:
				d.receiver = n;
				d.has_receiver = true;
				break;
			case GM_CAP_SCOPE_CLASS:
			case GM_CAP_SCOPE_NAMESPACE:
				scope_node = n;
				scope_kind = gm_lang_capture(lang, m.captures[i].index);
				is_scope = true;
				break;
			default:
				break;
			}
		}
		if (!has_name)
			continue;
		if (is_def) {
			d.name = name;
			d.start = ts_node_start_byte(d.node);
			d.end = ts_node_end_byte(d.node);
			GM_GROW(defs, cdefs, ndefs + 1);
			defs[ndefs++] = d;
		} else if (is_scope) {
			GM_GROW(scopes, cscopes, nscopes + 1);
			scopes[nscopes].start = ts_node_start_byte(scope_node);
			scopes[nscopes].end = ts_node_end_byte(scope_node);
			scopes[nscopes].name = node_text(name, src);
			scopes[nscopes].kind = scope_kind;
			nscopes++;
		}
	}
	ts_query_cursor_delete(cur);

	/* qsort(NULL, 0) is undefined: a language may have no scopes (Go). */
	if (ndefs > 1)
		qsort(defs, ndefs, sizeof(*defs), cmp_def);
	if (nscopes > 1)
		qsort(scopes, nscopes, sizeof(*scopes), cmp_scope);
	*defs_out = defs;
	*ndefs_out = ndefs;
	*scopes_out = scopes;
	*nscopes_out = nscopes;
	*hits_out = hits;
	*nhits_out = nhits;
}

static char *qualify(const struct gm_lang *lang, const struct def *d, const char *src,
                     const struct scope *scopes, size_t nscopes, bool *in_class)
{
	struct gm_buf b = GM_BUF_INIT;
	char *name = node_text(d->name, src);

	*in_class = false;
	for (size_t i = 0; i < nscopes; i++) {
		const struct scope *s = &scopes[i];
		if (s->start > d->start)
			break;
		if (s->end < d->end || (s->start == d->start && s->end == d->end))
			continue;
		gm_buf_printf(&b, "%s%s", s->name, lang->scope_sep);
		if (s->kind == GM_CAP_SCOPE_CLASS)
			*in_class = true;
	}
	if (d->has_receiver) {
		/* Go: (*T).M for pointer receivers, T.M for value receivers. */
		char *r = node_text(d->receiver, src);
		char *rf = fold_space(r, strlen(r));
		if (rf[0] == '*')
			gm_buf_printf(&b, "(%s).", rf);
		else
			gm_buf_printf(&b, "%s.", rf);
		free(r);
		free(rf);
		*in_class = true;
	}
	gm_buf_puts(&b, name);
	free(name);
	return gm_buf_detach(&b, NULL);
}

static void nesting_depths(struct gm_file_scan *fs, struct span **spans, size_t *nspans)
{
	for (size_t u = 0; u < fs->n; u++) {
		uint32_t stack[256];
		size_t depth = 0;
		unsigned max = 0;
		/* Spans arrive in document order: starts ascending, outer first. */
		for (size_t i = 0; i < nspans[u]; i++) {
			struct span s = spans[u][i];
			while (depth && stack[depth - 1] <= s.start)
				depth--;
			if (depth < sizeof(stack) / sizeof(stack[0]))
				stack[depth++] = s.end;
			if (depth > max)
				max = (unsigned)depth;
		}
		fs->units[u].nesting = max;
	}
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1;
	return 0;
}

/* Metrics and calls of the units, from the captures of collect(). */
static void apply_hits(struct gm_file_scan *fs, const struct def *kept, const char *src,
                       const struct hit *hits, size_t nhits)
{
	struct span **spans;
	size_t *nspans, *cspans, *ccalls;

	if (fs->n == 0)
		return;
	spans = gm_xcalloc(fs->n, sizeof(*spans));
	nspans = gm_xcalloc(fs->n, sizeof(*nspans));
	cspans = gm_xcalloc(fs->n, sizeof(*cspans));
	ccalls = gm_xcalloc(fs->n, sizeof(*ccalls));
	for (size_t i = 0; i < nhits; i++) {
		TSNode n = hits[i].node;
		uint32_t s = ts_node_start_byte(n), e = ts_node_end_byte(n);
		long u = unit_at(fs, s, e);
		if (u < 0)
			continue;
		switch (hits[i].role) {
		case GM_CAP_DECISION:
			fs->units[u].complexity++;
			break;
		case GM_CAP_NESTING:
			GM_GROW(spans[u], cspans[u], nspans[u] + 1);
			spans[u][nspans[u]].start = s;
			spans[u][nspans[u]].end = e;
			nspans[u]++;
			break;
		case GM_CAP_PARAMETER: {
			TSNode p = ts_node_parent(n);
			if (!kept[u].has_params)
				break;
			if (ts_node_eq(p, kept[u].params) ||
			    (!ts_node_is_null(p) && ts_node_eq(ts_node_parent(p), kept[u].params)))
				fs->units[u].params++;
			break;
		}
		case GM_CAP_CALL:
			add_call(&fs->units[u], &ccalls[u], src, n);
			break;
		default:
			break;
		}
	}
	for (size_t u = 0; u < fs->n; u++)
		if (nspans[u] > 1)
			qsort(spans[u], nspans[u], sizeof(struct span), cmp_span);
	nesting_depths(fs, spans, nspans);
	for (size_t u = 0; u < fs->n; u++)
		free(spans[u]);
	free(spans);
	free(nspans);
	free(cspans);
	free(ccalls);
}

static void assign_ordinals(struct gm_file_scan *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		unsigned k = 0;
		if (fs->units[i].ordinal)
			continue;
		for (size_t j = i + 1; j < fs->n; j++)
			if (strcmp(fs->units[i].name, fs->units[j].name) == 0)
				fs->units[j].ordinal = ++k + 1;
		if (k)
			fs->units[i].ordinal = 1;
	}
}

int gm_scan_source(struct gm_file_scan *out, const struct gm_lang *lang,
                   const char *src, size_t len, TSParser *parser)
{
	TSTree *tree;
	TSNode root;
	struct def *defs = NULL, *kept;
	struct scope *scopes = NULL;
	struct hit *hits = NULL;
	size_t ndefs = 0, nscopes = 0, nkept = 0, nhits = 0;

	memset(out, 0, sizeof(*out));
	if (gm_lang_load(lang) < 0)
		return GM_ERROR;
	if (!gm_lang_has_query(lang, GM_QUERY_UNITS)) {
		gm_error_set("grammars/%s/units.scm is missing", lang->query_dir ? lang->query_dir : lang->name);
		return GM_ERROR;
	}
	if (!(tree = gm_scan_parse(lang, src, len, parser)))
		return GM_ERROR;
	root = ts_tree_root_node(tree);
	out->errors = gm_scan_count_errors(root);

	collect(lang, root, src, out, &defs, &ndefs, &scopes, &nscopes, &hits, &nhits);

	/* Keep outermost definitions only: units never overlap. */
	kept = gm_xcalloc(ndefs ? ndefs : 1, sizeof(*kept));
	for (size_t i = 0; i < ndefs; i++) {
		if (nkept && defs[i].start < kept[nkept - 1].end)
			continue;
		kept[nkept++] = defs[i];
	}

	out->units = gm_xcalloc(nkept ? nkept : 1, sizeof(*out->units));
	out->n = nkept;
	for (size_t i = 0; i < nkept; i++) {
		struct def *d = &kept[i];
		struct gm_unit *u = &out->units[i];
		TSPoint sp = ts_node_start_point(d->node), ep = ts_node_end_point(d->node);
		uint32_t sig_start = d->has_decl ? ts_node_start_byte(d->decl) : d->start;
		uint32_t sig_end = d->has_body ? ts_node_start_byte(d->body) : d->end;
		bool in_class;

		u->name = qualify(lang, d, src, scopes, nscopes, &in_class);
		u->short_name = node_text(d->name, src);
		u->kind = d->kind == GM_CAP_DEF_CONSTRUCTOR ? gm_unit_kinds[2] :
		          (d->kind == GM_CAP_DEF_METHOD || in_class) ? gm_unit_kinds[1] : gm_unit_kinds[0];
		u->start_byte = d->start;
		u->end_byte = d->end;
		u->start_col = sp.column;
		u->start_line = sp.row + 1;
		u->end_line = ep.row + 1;
		if (ep.column == 0 && ep.row > sp.row)
			u->end_line--;
		u->lines = u->end_line - u->start_line + 1;
		if (!d->has_body) {
			/* No body capture: the first line is the signature. */
			const char *nl = memchr(src + sig_start, '\n', d->end - sig_start);
			if (nl)
				sig_end = (uint32_t)(nl - src);
		}
		if (sig_end < sig_start)
			sig_end = sig_start;
		u->signature = fold_space(src + sig_start, sig_end - sig_start);
		u->complexity = 1;
	}
	apply_hits(out, kept, src, hits, nhits);
	assign_ordinals(out);

	for (size_t i = 0; i < nscopes; i++)
		free(scopes[i].name);
	free(scopes);
	free(defs);
	free(kept);
	free(hits);
	ts_tree_delete(tree);
	return 0;
}

void gm_file_scan_release(struct gm_file_scan *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->n; i++) {
		struct gm_unit *u = &fs->units[i];
		free(u->name);
		free(u->short_name);
		free(u->signature);
		for (size_t j = 0; j < u->ncalls; j++)
			free(u->calls[j]);
		free(u->calls);
	}
	free(fs->units);
	for (size_t i = 0; i < fs->nimports; i++)
		free(fs->imports[i]);
	free(fs->imports);
	memset(fs, 0, sizeof(*fs));
}
