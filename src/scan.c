#include "monitor/scan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

/* What a capture name means to us. */
enum role {
	R_NONE,
	R_DEF_FUNCTION,
	R_DEF_METHOD,
	R_DEF_CONSTRUCTOR,
	R_NAME,
	R_PARAMS,
	R_BODY,
	R_DECL,
	R_RECEIVER,
	R_SCOPE_CLASS,
	R_SCOPE_NAMESPACE,
	R_DECISION,
	R_NESTING,
	R_PARAMETER,
	R_CALL,
	R_IMPORT,
};

static enum role role_of(const char *name)
{
	static const struct { const char *n; enum role r; } map[] = {
		{ "definition.function", R_DEF_FUNCTION },
		{ "definition.method", R_DEF_METHOD },
		{ "definition.constructor", R_DEF_CONSTRUCTOR },
		{ "name", R_NAME },
		{ "params", R_PARAMS },
		{ "body", R_BODY },
		{ "decl", R_DECL },
		{ "receiver", R_RECEIVER },
		{ "scope.class", R_SCOPE_CLASS },
		{ "scope.namespace", R_SCOPE_NAMESPACE },
		{ "decision", R_DECISION },
		{ "nesting", R_NESTING },
		{ "parameter", R_PARAMETER },
		{ "reference.call", R_CALL },
		{ "import", R_IMPORT },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].n, name) == 0)
			return map[i].r;
	return R_NONE;
}

static enum role *roles_for(const TSQuery *q)
{
	uint32_t n = ts_query_capture_count(q);
	enum role *r = gm_xcalloc(n ? n : 1, sizeof(*r));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len;
		const char *name = ts_query_capture_name_for_id(q, i, &len);
		char *s = gm_xstrndup(name, len);
		r[i] = role_of(s);
		free(s);
	}
	return r;
}

struct def {
	TSNode node, name, params, body, decl, receiver;
	bool has_params, has_body, has_decl, has_receiver;
	enum role kind;
	uint32_t start, end;
};

struct scope {
	uint32_t start, end;
	char *name;
	enum role kind;
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

/* The first node captured as `id` in the match; NULL when it is absent. */
static const TSNode *capture_node(const TSQueryMatch *m, uint32_t id)
{
	for (uint16_t i = 0; i < m->capture_count; i++)
		if (m->captures[i].index == id)
			return &m->captures[i].node;
	return NULL;
}

static bool node_text_is(TSNode n, const char *src, const char *s, size_t len)
{
	uint32_t b = ts_node_start_byte(n), e = ts_node_end_byte(n);
	return e - b == len && memcmp(src + b, s, len) == 0;
}

/*
 * The C runtime leaves text predicates to the caller: evaluate #eq?,
 * #not-eq? (capture against a string or a capture) and #any-of?.  Other
 * predicates pass; an absent (optional) capture passes.
 */
static bool match_passes(const TSQuery *q, const TSQueryMatch *m, const char *src)
{
	uint32_t n, len;
	const TSQueryPredicateStep *st = ts_query_predicates_for_pattern(q, m->pattern_index, &n);

	for (uint32_t i = 0; i < n;) {
		uint32_t j = i;
		while (j < n && st[j].type != TSQueryPredicateStepTypeDone)
			j++;
		if (j - i >= 3 && st[i].type == TSQueryPredicateStepTypeString &&
		    st[i + 1].type == TSQueryPredicateStepTypeCapture) {
			const char *op = ts_query_string_value_for_id(q, st[i].value_id, &len);
			bool eq = strcmp(op, "eq?") == 0, neq = strcmp(op, "not-eq?") == 0;
			bool any = strcmp(op, "any-of?") == 0, hit = false;
			const TSNode *a = capture_node(m, st[i + 1].value_id);
			if (a && (eq || neq || any)) {
				for (uint32_t k = i + 2; k < j && !hit; k++) {
					if (st[k].type == TSQueryPredicateStepTypeString) {
						const char *v = ts_query_string_value_for_id(q, st[k].value_id, &len);
						hit = node_text_is(*a, src, v, len);
					} else {
						const TSNode *b = capture_node(m, st[k].value_id);
						uint32_t bs = b ? ts_node_start_byte(*b) : 0;
						hit = b && node_text_is(*a, src, src + bs, ts_node_end_byte(*b) - bs);
					}
					if (!any)
						break;
				}
				if (hit == neq)
					return false;
			}
		}
		i = j + 1;
	}
	return true;
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
	enum role role; /* R_DECISION, R_NESTING, R_PARAMETER or R_CALL */
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
	const TSQuery *q = lang->query;
	enum role *roles = roles_for(q);
	TSQueryCursor *cur = ts_query_cursor_new();
	TSQueryMatch m;
	struct def *defs = NULL;
	struct scope *scopes = NULL;
	struct hit *hits = NULL;
	size_t ndefs = 0, cdefs = 0, nscopes = 0, cscopes = 0, nhits = 0, chits = 0, cimports = 0;

	ts_query_cursor_exec(cur, q, root);
	while (ts_query_cursor_next_match(cur, &m)) {
		struct def d;
		bool is_def = false, is_scope = false, has_name = false;
		TSNode scope_node = { 0 }, name = { 0 };
		enum role scope_kind = R_NONE;
		enum gm_query_kind kind = gm_lang_pattern_kind(lang, m.pattern_index);

		if (!match_passes(q, &m, src))
			continue;

		if (kind == GM_QUERY_METRICS) {
			for (uint16_t i = 0; i < m.capture_count; i++) {
				enum role r = roles[m.captures[i].index];
				if (r != R_DECISION && r != R_NESTING && r != R_PARAMETER)
					continue;
				GM_GROW(hits, chits, nhits + 1);
				hits[nhits].node = m.captures[i].node;
				hits[nhits++].role = r;
			}
			continue;
		}
		if (kind == GM_QUERY_CALLS) {
			for (uint16_t i = 0; i < m.capture_count; i++) {
				if (roles[m.captures[i].index] != R_NAME)
					continue;
				GM_GROW(hits, chits, nhits + 1);
				hits[nhits].node = m.captures[i].node;
				hits[nhits++].role = R_CALL;
				break;
			}
			continue;
		}
		if (kind == GM_QUERY_IMPORTS) {
			for (uint16_t i = 0; i < m.capture_count; i++)
				if (roles[m.captures[i].index] == R_IMPORT)
					add_import(fs, &cimports, m.captures[i].node, src);
			continue;
		}

		memset(&d, 0, sizeof(d));
		for (uint16_t i = 0; i < m.capture_count; i++) {
			TSNode n = m.captures[i].node;
			switch (roles[m.captures[i].index]) {
			case R_DEF_FUNCTION:
			case R_DEF_METHOD:
			case R_DEF_CONSTRUCTOR:
				d.node = n;
				d.kind = roles[m.captures[i].index];
				is_def = true;
				break;
			case R_NAME:
				if (!has_name)
					name = n;
				has_name = true;
				break;
			case R_PARAMS:
				if (!d.has_params)
					d.params = n;
				d.has_params = true;
				break;
			case R_BODY:
				if (!d.has_body)
					d.body = n;
				d.has_body = true;
				break;
			case R_DECL:
				d.decl = n;
				d.has_decl = true;
				break;
			case R_RECEIVER:
				d.receiver = n;
				d.has_receiver = true;
				break;
			case R_SCOPE_CLASS:
			case R_SCOPE_NAMESPACE:
				scope_node = n;
				scope_kind = roles[m.captures[i].index];
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
	free(roles);

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
		if (s->kind == R_SCOPE_CLASS)
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
		case R_DECISION:
			fs->units[u].complexity++;
			break;
		case R_NESTING:
			GM_GROW(spans[u], cspans[u], nspans[u] + 1);
			spans[u][nspans[u]].start = s;
			spans[u][nspans[u]].end = e;
			nspans[u]++;
			break;
		case R_PARAMETER: {
			TSNode p = ts_node_parent(n);
			if (!kept[u].has_params)
				break;
			if (ts_node_eq(p, kept[u].params) ||
			    (!ts_node_is_null(p) && ts_node_eq(ts_node_parent(p), kept[u].params)))
				fs->units[u].params++;
			break;
		}
		case R_CALL:
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

TSNode gm_scan_item(TSNode n, TSNode root)
{
	for (;;) {
		TSNode p = ts_node_parent(n);
		if (ts_node_is_null(p) || ts_node_eq(p, root) || ts_node_end_byte(p) != ts_node_end_byte(n))
			return n;
		if (ts_node_start_point(p).row != ts_node_start_point(n).row &&
		    strcmp(ts_node_type(p), "decorated_definition") != 0)
			return n;
		n = p;
	}
}

uint32_t gm_scan_lead(TSNode item, const char *src)
{
	uint32_t lead = ts_node_start_byte(item), col = ts_node_start_point(item).column;
	uint32_t row = ts_node_start_point(item).row;

	for (TSNode p = ts_node_prev_sibling(item); !ts_node_is_null(p); p = ts_node_prev_sibling(p)) {
		uint32_t ls = ts_node_start_byte(p);
		if (!gm_lang_node_is_lead(p) || ts_node_start_point(p).column != col ||
		    ts_node_end_point(p).row + 1 < row)
			break;
		/* On a line of its own: only blanks before it. */
		while (ls > 0 && (src[ls - 1] == ' ' || src[ls - 1] == '\t'))
			ls--;
		if (ls > 0 && src[ls - 1] != '\n')
			break;
		lead = ts_node_start_byte(p);
		row = ts_node_start_point(p).row;
	}
	return lead;
}

static void find_lead(struct gm_unit *u, TSNode root, const char *src)
{
	TSNode n = ts_node_descendant_for_byte_range(root, u->start_byte, u->end_byte);
	uint32_t lead;

	u->lead_byte = u->start_byte;
	u->lead_line = u->start_line;
	if (ts_node_is_null(n))
		return;
	while (!ts_node_is_null(ts_node_parent(n)) && !ts_node_eq(ts_node_parent(n), root) &&
	       ts_node_start_byte(ts_node_parent(n)) == u->start_byte &&
	       ts_node_end_byte(ts_node_parent(n)) == u->end_byte)
		n = ts_node_parent(n);
	n = gm_scan_item(n, root);
	lead = gm_scan_lead(n, src);
	if (lead < u->start_byte && ts_node_start_point(n).column == u->start_col) {
		u->lead_byte = lead;
		for (uint32_t p = lead; p < u->start_byte; p++)
			u->lead_line -= src[p] == '\n';
	}
}

int gm_scan_source(struct gm_file_scan *out, const struct gm_lang *lang,
                   const char *src, size_t len, TSParser *parser)
{
	TSTree *tree;
	int rc;

	memset(out, 0, sizeof(*out));
	if (gm_lang_load(lang) < 0)
		return GM_ERROR;
	if (!(tree = gm_scan_parse(lang, src, len, parser)))
		return GM_ERROR;
	rc = gm_scan_tree(out, lang, src, len, tree);
	ts_tree_delete(tree);
	return rc;
}

int gm_scan_tree(struct gm_file_scan *out, const struct gm_lang *lang, const char *src,
                 size_t len, TSTree *tree)
{
	TSNode root;
	struct def *defs = NULL, *kept;
	struct scope *scopes = NULL;
	struct hit *hits = NULL;
	size_t ndefs = 0, nscopes = 0, nkept = 0, nhits = 0;

	(void)len;
	memset(out, 0, sizeof(*out));
	if (gm_lang_load(lang) < 0)
		return GM_ERROR;
	if (!lang->queries[GM_QUERY_UNITS]) {
		gm_error_set("grammars/%s/units.scm is missing", lang->query_dir ? lang->query_dir : lang->name);
		return GM_ERROR;
	}
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
		u->kind = d->kind == R_DEF_CONSTRUCTOR ? "constructor" :
		          (d->kind == R_DEF_METHOD || in_class) ? "method" : "function";
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
	for (size_t i = 0; i < nkept; i++)
		find_lead(&out->units[i], root, src);

	out->scopes = gm_xcalloc(nscopes ? nscopes : 1, sizeof(*out->scopes));
	out->nscopes = nscopes;
	for (size_t i = 0; i < nscopes; i++) {
		out->scopes[i].name = scopes[i].name;
		out->scopes[i].is_class = scopes[i].kind == R_SCOPE_CLASS;
		out->scopes[i].start_byte = scopes[i].start;
		out->scopes[i].end_byte = scopes[i].end;
	}
	free(scopes);
	free(defs);
	free(kept);
	free(hits);
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
	for (size_t i = 0; i < fs->nscopes; i++)
		free(fs->scopes[i].name);
	free(fs->scopes);
	for (size_t i = 0; i < fs->nimports; i++)
		free(fs->imports[i]);
	free(fs->imports);
	memset(fs, 0, sizeof(*fs));
}

static const char *const kinds[] = { "function", "method", "constructor" };

cJSON *gm_file_scan_to_json(const struct gm_file_scan *fs)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *units = cJSON_AddArrayToObject(root, "units");
	cJSON *imports = cJSON_AddArrayToObject(root, "imports");

	cJSON_AddNumberToObject(root, "errors", fs->errors);
	for (size_t i = 0; i < fs->n; i++) {
		const struct gm_unit *u = &fs->units[i];
		cJSON *o = cJSON_CreateObject();
		cJSON *calls;
		cJSON_AddStringToObject(o, "name", u->name);
		cJSON_AddStringToObject(o, "short", u->short_name);
		cJSON_AddStringToObject(o, "kind", u->kind);
		cJSON_AddNumberToObject(o, "sb", u->start_byte);
		cJSON_AddNumberToObject(o, "eb", u->end_byte);
		cJSON_AddNumberToObject(o, "sl", u->start_line);
		cJSON_AddNumberToObject(o, "el", u->end_line);
		cJSON_AddNumberToObject(o, "sc", u->start_col);
		cJSON_AddStringToObject(o, "sig", u->signature);
		cJSON_AddNumberToObject(o, "cc", u->complexity);
		cJSON_AddNumberToObject(o, "nest", u->nesting);
		cJSON_AddNumberToObject(o, "params", u->params);
		cJSON_AddNumberToObject(o, "ord", u->ordinal);
		calls = cJSON_AddArrayToObject(o, "calls");
		for (size_t j = 0; j < u->ncalls; j++)
			cJSON_AddItemToArray(calls, cJSON_CreateString(u->calls[j]));
		cJSON_AddItemToArray(units, o);
	}
	for (size_t i = 0; i < fs->nimports; i++)
		cJSON_AddItemToArray(imports, cJSON_CreateString(fs->imports[i]));
	return root;
}

static int get_u32(const cJSON *o, const char *k, uint32_t *v)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 4294967295.0)
		return -1;
	*v = (uint32_t)n->valuedouble;
	return 0;
}

static int get_str(const cJSON *o, const char *k, char **v)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsString(n))
		return -1;
	*v = gm_xstrdup(n->valuestring);
	return 0;
}

int gm_file_scan_from_json(struct gm_file_scan *out, const cJSON *json)
{
	const cJSON *units = cJSON_GetObjectItemCaseSensitive(json, "units");
	const cJSON *imports = cJSON_GetObjectItemCaseSensitive(json, "imports");
	const cJSON *it;
	uint32_t errors;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsArray(units) || !cJSON_IsArray(imports) || get_u32(json, "errors", &errors) < 0)
		goto bad;
	out->errors = errors;
	out->n = (size_t)cJSON_GetArraySize(units);
	out->units = gm_xcalloc(out->n ? out->n : 1, sizeof(*out->units));
	cJSON_ArrayForEach(it, units) {
		struct gm_unit *u = &out->units[i++];
		const cJSON *calls = cJSON_GetObjectItemCaseSensitive(it, "calls");
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "kind");
		const cJSON *c;
		uint32_t cc, nest, params, ord;
		u->kind = NULL;
		for (size_t j = 0; cJSON_IsString(k) && j < 3; j++)
			if (strcmp(k->valuestring, kinds[j]) == 0)
				u->kind = kinds[j];
		if (!u->kind || get_str(it, "name", &u->name) || get_str(it, "short", &u->short_name) ||
		    get_str(it, "sig", &u->signature) || get_u32(it, "sb", &u->start_byte) ||
		    get_u32(it, "eb", &u->end_byte) || get_u32(it, "sl", &u->start_line) ||
		    get_u32(it, "el", &u->end_line) || get_u32(it, "sc", &u->start_col) ||
		    get_u32(it, "cc", &cc) || get_u32(it, "nest", &nest) ||
		    get_u32(it, "params", &params) || get_u32(it, "ord", &ord) || !cJSON_IsArray(calls) ||
		    u->end_byte < u->start_byte || u->end_line < u->start_line)
			goto bad;
		u->complexity = cc;
		u->nesting = nest;
		u->params = params;
		u->ordinal = ord;
		u->lines = u->end_line - u->start_line + 1;
		u->calls = gm_xcalloc((size_t)cJSON_GetArraySize(calls) + 1, sizeof(char *));
		cJSON_ArrayForEach(c, calls) {
			if (!cJSON_IsString(c))
				goto bad;
			u->calls[u->ncalls++] = gm_xstrdup(c->valuestring);
		}
	}
	out->imports = gm_xcalloc((size_t)cJSON_GetArraySize(imports) + 1, sizeof(char *));
	cJSON_ArrayForEach(it, imports) {
		if (!cJSON_IsString(it))
			goto bad;
		out->imports[out->nimports++] = gm_xstrdup(it->valuestring);
	}
	return 0;
bad:
	gm_file_scan_release(out);
	gm_error_set("malformed scan cache entry");
	return GM_EINVALID;
}

/* ---- compact cache encoding ------------------------------------------- */

static const char scan_magic[8] = { 'g', 'm', 's', 'c', 'a', 'n', '2', '\n' };

static void put_num(struct gm_buf *b, uint64_t v)
{
	unsigned char t[10];
	size_t n = 0;
	do {
		t[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	gm_buf_put(b, t, n);
}

static void put_str(struct gm_buf *b, const char *s)
{
	size_t n = strlen(s);
	put_num(b, n);
	gm_buf_put(b, s, n);
}

void gm_file_scan_encode(struct gm_buf *out, const struct gm_file_scan *fs)
{
	gm_buf_put(out, scan_magic, sizeof(scan_magic));
	put_num(out, fs->errors);
	put_num(out, fs->n);
	put_num(out, fs->nimports);
	for (size_t i = 0; i < fs->n; i++) {
		const struct gm_unit *u = &fs->units[i];
		unsigned k = 0;
		while (k < 2 && strcmp(u->kind, kinds[k]) != 0)
			k++;
		put_str(out, u->name);
		put_str(out, u->short_name);
		put_num(out, k);
		put_num(out, u->start_byte);
		put_num(out, u->end_byte);
		put_num(out, u->start_line);
		put_num(out, u->end_line);
		put_num(out, u->start_col);
		put_num(out, u->lead_byte);
		put_num(out, u->lead_line);
		put_str(out, u->signature);
		put_num(out, u->complexity);
		put_num(out, u->nesting);
		put_num(out, u->params);
		put_num(out, u->ordinal);
		put_num(out, u->ncalls);
		for (size_t j = 0; j < u->ncalls; j++)
			put_str(out, u->calls[j]);
	}
	for (size_t i = 0; i < fs->nimports; i++)
		put_str(out, fs->imports[i]);
}

struct reader {
	const unsigned char *p, *end;
	bool bad;
};

static uint32_t get_num(struct reader *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; !r->bad; shift += 7) {
		unsigned char c;
		if (r->p == r->end || shift > 28) {
			r->bad = true;
			break;
		}
		c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
	}
	if (v > UINT32_MAX)
		r->bad = true;
	return r->bad ? 0 : (uint32_t)v;
}

/* A count of items each taking at least one byte: no larger than what is left. */
static size_t get_count(struct reader *r)
{
	uint32_t n = get_num(r);
	if (n > (size_t)(r->end - r->p))
		r->bad = true;
	return r->bad ? 0 : n;
}

static char *get_text(struct reader *r)
{
	uint32_t n = get_num(r);
	char *s;
	if (r->bad || n > (size_t)(r->end - r->p) || memchr(r->p, '\0', n)) {
		r->bad = true;
		return NULL;
	}
	s = gm_xstrndup((const char *)r->p, n);
	r->p += n;
	return s;
}

int gm_file_scan_decode(struct gm_file_scan *out, const char *data, size_t len)
{
	struct reader r = { (const unsigned char *)data, (const unsigned char *)data + len, false };
	size_t nimports;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(scan_magic) || memcmp(data, scan_magic, sizeof(scan_magic)) != 0)
		goto bad;
	r.p += sizeof(scan_magic);
	out->errors = get_num(&r);
	out->n = get_count(&r);
	nimports = get_count(&r);
	if (r.bad)
		goto bad;
	out->units = gm_xcalloc(out->n ? out->n : 1, sizeof(*out->units));
	for (size_t i = 0; i < out->n && !r.bad; i++) {
		struct gm_unit *u = &out->units[i];
		uint32_t k;
		u->name = get_text(&r);
		u->short_name = get_text(&r);
		k = get_num(&r);
		u->kind = k < 3 ? kinds[k] : NULL;
		u->start_byte = get_num(&r);
		u->end_byte = get_num(&r);
		u->start_line = get_num(&r);
		u->end_line = get_num(&r);
		u->start_col = get_num(&r);
		u->lead_byte = get_num(&r);
		u->lead_line = get_num(&r);
		u->signature = get_text(&r);
		u->complexity = get_num(&r);
		u->nesting = get_num(&r);
		u->params = get_num(&r);
		u->ordinal = get_num(&r);
		u->ncalls = get_count(&r);
		if (r.bad || !u->kind || u->end_byte < u->start_byte || u->end_line < u->start_line ||
		    u->lead_byte > u->start_byte || u->lead_line > u->start_line) {
			u->ncalls = 0;
			goto bad;
		}
		u->lines = u->end_line - u->start_line + 1;
		u->calls = gm_xcalloc(u->ncalls + 1, sizeof(char *));
		for (size_t j = 0; j < u->ncalls; j++)
			if (!(u->calls[j] = get_text(&r))) {
				u->ncalls = j;
				goto bad;
			}
	}
	out->imports = gm_xcalloc(nimports + 1, sizeof(char *));
	for (; out->nimports < nimports; out->nimports++)
		if (!(out->imports[out->nimports] = get_text(&r)))
			goto bad;
	if (r.bad || r.p != r.end)
		goto bad;
	return 0;
bad:
	gm_file_scan_release(out);
	gm_error_set("malformed scan cache entry");
	return GM_EINVALID;
}
