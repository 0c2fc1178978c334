#include "monitor/scan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/pattern.h"
#include "monitor/util.h"
#include "monitor/banned.h"

const char *const gm_unit_kinds[3] = { "function", "method", "constructor" };

/* Deepest nesting counted; deeper levels count as this (scan.h). */
#define MAX_NESTING GM_SCAN_MAX_NESTING

struct def {
	TSNode node, name, params, body, decl, receiver;
	bool has_params, has_body, has_decl, has_receiver;
	bool has_lead;
	uint32_t lead; /* start of the comments etc. above it (find_lead), once has_lead */
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

/* ---- a hash table of references, for linear-time grouping by name ------ */

/*
 * Open addressing over (hash, ref) pairs, ref 0 meaning a free slot; the
 * caller knows what a ref stands for and compares the keys itself:
 *
 *	htab_reserve(&t, t.n + 1);
 *	for (i = htab_start(&t, h); t.slot[i].ref; i = htab_step(&t, i))
 *		if (t.slot[i].hash == h && <key of ref> equals <key>)
 *			found;
 *	htab_put(&t, i, h, ref);
 */
struct htab {
	struct hslot {
		uint64_t hash;
		uint64_t ref;
	} *slot;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

static uint64_t hash_bytes(const char *s, size_t n, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ull ^ seed;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

static size_t htab_start(const struct htab *t, uint64_t h)
{
	return (size_t)h & (t->cap - 1);
}

static size_t htab_step(const struct htab *t, size_t i)
{
	return (i + 1) & (t->cap - 1);
}

/* Room for `need` refs at a load of at most one half. */
static void htab_reserve(struct htab *t, size_t need)
{
	struct hslot *old = t->slot;
	size_t ocap = t->cap, cap = t->cap ? t->cap : 16;

	while (cap / 2 < need)
		cap *= 2;
	if (cap == ocap)
		return;
	t->slot = gm_xcalloc(cap, sizeof(*t->slot));
	t->cap = cap;
	for (size_t i = 0; i < ocap; i++) {
		size_t j;
		if (!old[i].ref)
			continue;
		for (j = htab_start(t, old[i].hash); t->slot[j].ref; j = htab_step(t, j))
			;
		t->slot[j] = old[i];
	}
	free(old);
}

static void htab_put(struct htab *t, size_t i, uint64_t h, uint64_t ref)
{
	t->slot[i].hash = h;
	t->slot[i].ref = ref;
	t->n++;
}

static void htab_release(struct htab *t)
{
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static bool str_is(const char *s, const char *p, size_t n)
{
	return strlen(s) == n && memcmp(s, p, n) == 0;
}

/* ---- text ---------------------------------------------------------------- */

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
	const void *parent, *grandparent; /* ids: a @parameter counts below the unit's @params */
	enum gm_capture role; /* GM_CAP_DECISION, _NESTING, _PARAMETER or _CALL */
};

/*
 * The walk's path, to find what stands above a definition (find_lead's
 * answer) while walking: levels[d] is the node at depth d on the path to
 * the node being visited, with the comments, attributes and decorators
 * (gm_lang_node_is_lead) directly before it among its siblings: a chain
 * through `leads`, nearest first.  ts_node_parent and ts_node_prev_sibling
 * start from the root or the parent each time: quadratic in a flat file.
 */
#define NO_LEAD UINT32_MAX

struct level {
	TSNode node;
	const void *parent; /* id */
	uint32_t run;       /* the nearest lead before it, in leads[], or NO_LEAD */
	bool lead;
};

struct lead_node {
	TSNode node;
	uint32_t prev; /* the lead before it, or NO_LEAD */
};

/* What collect() gathers in its walk of the tree. */
struct captures {
	const struct gm_lang *lang;
	const char *src;
	const bool *lead_symbols;
	uint32_t nlead_symbols;
	struct level *levels;
	size_t clevels;
	struct lead_node *leads;
	size_t nleads, cleads;
	uint32_t depth; /* of the node being visited */
	struct htab pending; /* ref: 1 + index of a def whose node is still to be visited */
	size_t npending;
	struct def *defs;
	size_t ndefs, cdefs;
	struct scope *scopes;
	size_t nscopes, cscopes;
	struct hit *hits; /* metrics, in any order */
	size_t nhits, chits;
	struct hit *calls; /* calls, until sorted */
	size_t ncalls, ccalls;
	TSNode *import_nodes; /* until sorted */
	size_t nimport_nodes, cimport_nodes;
	size_t cimports;
	struct htab imports; /* ref: 1 + index into fs->imports */
};

static void add_import(struct gm_file_scan *fs, struct captures *c, TSNode node, const char *src)
{
	char *t = node_text(node, src), *s = strip_import(t);
	size_t n = strlen(s), i;
	uint64_t h = hash_bytes(s, n, 0);

	free(t);
	if (!*s) {
		free(s);
		return;
	}
	htab_reserve(&c->imports, c->imports.n + 1);
	for (i = htab_start(&c->imports, h); c->imports.slot[i].ref; i = htab_step(&c->imports, i))
		if (c->imports.slot[i].hash == h &&
		    strcmp(fs->imports[c->imports.slot[i].ref - 1], s) == 0) {
			free(s);
			return;
		}
	GM_GROW(fs->imports, c->cimports, fs->nimports + 1);
	fs->imports[fs->nimports++] = s;
	htab_put(&c->imports, i, h, fs->nimports);
}

static void add_hit(struct captures *c, const struct gm_pattern_capture *cap, enum gm_capture role)
{
	struct hit *h;
	GM_GROW(c->hits, c->chits, c->nhits + 1);
	h = &c->hits[c->nhits++];
	h->node = cap->node;
	h->parent = cap->parent;
	h->grandparent = cap->grandparent;
	h->role = role;
}

/*
 * Sort nodes by start byte, stably, in O(n log n) (bottom-up merge): calls
 * and imports are listed in the order tree-sitter's query cursor gave them,
 * which is when a match finishes, i.e. at its captured name; the walk finds
 * them at their root nodes, which can come in another order (`f(x).g()`
 * finds g's call first).
 */
static void sort_by_start(void *base, size_t n, size_t size, uint32_t (*start)(const void *))
{
	char *a = base, *tmp;
	size_t sorted = 1;
	while (sorted < n && start(a + (sorted - 1) * size) <= start(a + sorted * size))
		sorted++;
	if (sorted >= n)
		return; /* the walk's order is mostly the start order already */
	tmp = gm_xmalloc(n * size);
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi) {
				if (start(a + j * size) < start(a + i * size))
					memcpy(tmp + k++ * size, a + j++ * size, size);
				else
					memcpy(tmp + k++ * size, a + i++ * size, size);
			}
			memcpy(tmp + k * size, a + i * size, (mid - i) * size);
			k += mid - i;
			memcpy(tmp + k * size, a + j * size, (hi - j) * size);
		}
		memcpy(a, tmp, n * size);
	}
	free(tmp);
}

static uint32_t hit_start(const void *h)
{
	return ts_node_start_byte(((const struct hit *)h)->node);
}

static uint32_t node_start(const void *n)
{
	return ts_node_start_byte(*(const TSNode *)n);
}

static uint64_t id_hash(const void *id)
{
	uint64_t h = (uint64_t)(uintptr_t)id * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

/*
 * find_lead for the node levels[k]: the outermost node of its range, the
 * item it stands in (gm_scan_item), the start of the leads directly above
 * that (gm_scan_lead), from the path and the lead chains alone.
 */
static uint32_t lead_at(const struct captures *c, uint32_t k)
{
	const struct level *lv = c->levels;
	uint32_t s = ts_node_start_byte(lv[k].node), e = ts_node_end_byte(lv[k].node);
	uint32_t lead, col, row;

	while (k > 1 && ts_node_start_byte(lv[k - 1].node) == s &&
	       ts_node_end_byte(lv[k - 1].node) == e)
		k--;
	while (k > 1) {
		TSNode p = lv[k - 1].node, n = lv[k].node;
		if (ts_node_end_byte(p) != ts_node_end_byte(n))
			break;
		if (ts_node_start_point(p).row != ts_node_start_point(n).row &&
		    strcmp(ts_node_type(p), "decorated_definition") != 0)
			break;
		k--;
	}
	lead = ts_node_start_byte(lv[k].node);
	col = ts_node_start_point(lv[k].node).column;
	row = ts_node_start_point(lv[k].node).row;
	for (uint32_t i = lv[k].run; i != NO_LEAD; i = c->leads[i].prev) {
		TSNode p = c->leads[i].node;
		uint32_t ls = ts_node_start_byte(p);
		if (ts_node_start_point(p).column != col || ts_node_end_point(p).row + 1 < row)
			break;
		while (ls > 0 && (c->src[ls - 1] == ' ' || c->src[ls - 1] == '\t'))
			ls--;
		if (ls > 0 && c->src[ls - 1] != '\n')
			break;
		lead = ts_node_start_byte(p);
		row = ts_node_start_point(p).row;
	}
	return lead;
}

static void on_visit(void *data, const struct gm_tswalk_node *n)
{
	struct captures *c = data;
	uint32_t d = n->depth;
	const void *parent;
	struct level *l;

	if (d >= c->clevels) {
		size_t old = c->clevels, cap = 2 * old > (size_t)d + 1 ? 2 * old : (size_t)d + 16;
		c->levels = gm_xrealloc(c->levels, cap * sizeof(*c->levels));
		memset(c->levels + old, 0, (cap - old) * sizeof(*c->levels));
		c->clevels = cap;
	}
	l = &c->levels[d];
	parent = d > 0 ? c->levels[d - 1].node.id : NULL;
	if (d > 0 && l->parent == parent && l->lead && !n->after_skip) {
		/* the previous sibling is a lead: the run goes on */
		if (c->nleads == c->cleads)
			GM_GROW(c->leads, c->cleads, c->nleads + 1);
		c->leads[c->nleads].node = l->node;
		c->leads[c->nleads].prev = l->run;
		l->run = (uint32_t)c->nleads++;
	} else {
		l->run = NO_LEAD;
	}
	l->node = n->node;
	l->parent = parent;
	l->lead = n->symbol < c->nlead_symbols && c->lead_symbols[n->symbol];
	c->depth = d;
	if (c->npending) {
		uint64_t h = id_hash(n->node.id);
		for (size_t i = htab_start(&c->pending, h); c->pending.slot[i].ref;
		     i = htab_step(&c->pending, i)) {
			struct def *df;
			if (c->pending.slot[i].hash != h)
				continue;
			df = &c->defs[c->pending.slot[i].ref - 1];
			if (df->has_lead || df->node.id != n->node.id)
				continue;
			df->lead = lead_at(c, d);
			df->has_lead = true;
			c->npending--;
		}
		if (!c->npending) {
			memset(c->pending.slot, 0, c->pending.cap * sizeof(*c->pending.slot));
			c->pending.n = 0;
		}
	}
}

/* A units match: a definition or a scope (with its name), else nothing. */
static void add_def_or_scope(struct captures *c, const struct gm_lang *lang,
                             const struct gm_pattern_match *m, const char *src)
{
	struct def d;
	bool is_def = false, is_scope = false, has_name = false;
	TSNode scope_node = { 0 }, name = { 0 };
	enum gm_capture scope_kind = GM_CAP_NONE;

	memset(&d, 0, sizeof(d));
	for (uint32_t i = 0; i < m->ncaptures; i++) {
		TSNode n = m->captures[i].node;
		enum gm_capture role = gm_lang_capture(lang, m->captures[i].id);
		switch (role) {
		case GM_CAP_DEF_FUNCTION:
		case GM_CAP_DEF_METHOD:
		case GM_CAP_DEF_CONSTRUCTOR:
			d.node = n;
			d.kind = role;
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
			scope_kind = role;
			is_scope = true;
			break;
		default:
			break;
		}
	}
	if (!has_name)
		return;
	if (is_def) {
		d.name = name;
		d.start = ts_node_start_byte(d.node);
		d.end = ts_node_end_byte(d.node);
		if (c->levels && c->levels[c->depth].node.id == d.node.id) {
			d.lead = lead_at(c, c->depth);
			d.has_lead = true;
		}
		GM_GROW(c->defs, c->cdefs, c->ndefs + 1);
		c->defs[c->ndefs++] = d;
		if (!d.has_lead) {
			/* A child of the node being visited: its turn comes. */
			uint64_t h = id_hash(d.node.id);
			size_t i;
			htab_reserve(&c->pending, c->pending.n + 1);
			for (i = htab_start(&c->pending, h); c->pending.slot[i].ref;
			     i = htab_step(&c->pending, i))
				;
			htab_put(&c->pending, i, h, c->ndefs);
			c->npending++;
		}
	} else if (is_scope) {
		struct scope *s;
		GM_GROW(c->scopes, c->cscopes, c->nscopes + 1);
		s = &c->scopes[c->nscopes++];
		s->start = ts_node_start_byte(scope_node);
		s->end = ts_node_end_byte(scope_node);
		s->name = node_text(name, src);
		s->kind = scope_kind;
	}
}

static void on_match(void *data, const struct gm_pattern_match *m)
{
	struct captures *c = data;
	const struct gm_lang *lang = c->lang;

	switch (gm_lang_pattern_kind(lang, m->pattern)) {
	case GM_QUERY_METRICS:
		for (uint32_t i = 0; i < m->ncaptures; i++) {
			enum gm_capture r = gm_lang_capture(lang, m->captures[i].id);
			if (r == GM_CAP_DECISION || r == GM_CAP_NESTING || r == GM_CAP_PARAMETER)
				add_hit(c, &m->captures[i], r);
		}
		break;
	case GM_QUERY_CALLS:
		for (uint32_t i = 0; i < m->ncaptures; i++)
			if (gm_lang_capture(lang, m->captures[i].id) == GM_CAP_NAME) {
				GM_GROW(c->calls, c->ccalls, c->ncalls + 1);
				memset(&c->calls[c->ncalls], 0, sizeof(c->calls[0]));
				c->calls[c->ncalls].node = m->captures[i].node;
				c->calls[c->ncalls++].role = GM_CAP_CALL;
				break;
			}
		break;
	case GM_QUERY_IMPORTS:
		for (uint32_t i = 0; i < m->ncaptures; i++)
			if (gm_lang_capture(lang, m->captures[i].id) == GM_CAP_IMPORT) {
				GM_GROW(c->import_nodes, c->cimport_nodes, c->nimport_nodes + 1);
				c->import_nodes[c->nimport_nodes++] = m->captures[i].node;
			}
		break;
	default:
		add_def_or_scope(c, lang, m, c->src);
		break;
	}
}

/*
 * One walk of the tree with the language's patterns: definitions and
 * scopes (sorted, outer first), the metrics and calls captures (for after
 * the units are known; calls in the order of their names) and the imports.
 */
static void collect(struct captures *c, const struct gm_lang *lang, TSNode root, const char *src,
                    struct gm_file_scan *fs)
{
	c->lang = lang;
	c->src = src;
	c->lead_symbols = gm_lang_lead_symbols(lang, &c->nlead_symbols);
	fs->errors = gm_pattern_exec(gm_lang_patterns(lang), root, src, on_match, on_visit, c);
	free(c->leads);
	free(c->levels);
	htab_release(&c->pending);

	sort_by_start(c->import_nodes, c->nimport_nodes, sizeof(*c->import_nodes), node_start);
	for (size_t i = 0; i < c->nimport_nodes; i++)
		add_import(fs, c, c->import_nodes[i], src);
	sort_by_start(c->calls, c->ncalls, sizeof(*c->calls), hit_start);
	GM_GROW(c->hits, c->chits, c->nhits + c->ncalls);
	if (c->ncalls)
		memcpy(c->hits + c->nhits, c->calls, c->ncalls * sizeof(*c->calls));
	c->nhits += c->ncalls;

	/* qsort(NULL, 0) is undefined: a language may have no scopes (Go). */
	if (c->ndefs > 1)
		qsort(c->defs, c->ndefs, sizeof(*c->defs), cmp_def);
	if (c->nscopes > 1)
		qsort(c->scopes, c->nscopes, sizeof(*c->scopes), cmp_scope);
}

/*
 * The scopes around each unit, in one pass: units come sorted and
 * disjoint, scopes sorted by start, outer first.  `active` holds, in that
 * order, the scopes begun so far that may still enclose a unit: one that
 * ends before a unit's end ends before every later unit's too.
 */
struct scope_walk {
	const struct scope *scopes;
	size_t n, next;
	size_t *active;
	size_t nactive;
};

static void scope_walk_to(struct scope_walk *w, const struct def *d)
{
	size_t j = 0;
	while (w->next < w->n && w->scopes[w->next].start <= d->start)
		w->active[w->nactive++] = w->next++;
	for (size_t i = 0; i < w->nactive; i++)
		if (w->scopes[w->active[i]].end >= d->end)
			w->active[j++] = w->active[i];
	w->nactive = j;
}

static char *qualify(const struct gm_lang *lang, const struct def *d, const char *src,
                     struct scope_walk *w, bool *in_class)
{
	struct gm_buf b = GM_BUF_INIT;
	char *name = node_text(d->name, src);

	*in_class = false;
	scope_walk_to(w, d);
	for (size_t i = 0; i < w->nactive; i++) {
		const struct scope *s = &w->scopes[w->active[i]];
		if (s->start == d->start && s->end == d->end)
			continue; /* the definition itself */
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
		uint32_t stack[MAX_NESTING];
		size_t depth = 0;
		unsigned max = 0;
		/* Spans arrive in document order: starts ascending, outer first. */
		for (size_t i = 0; i < nspans[u]; i++) {
			struct span s = spans[u][i];
			while (depth && stack[depth - 1] <= s.start)
				depth--;
			if (depth < MAX_NESTING)
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
	struct htab calls = { 0 }; /* ref: 1 + index of the unit; hash: unit and name */

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
		case GM_CAP_PARAMETER:
			/* A child or grandchild of the unit's parameter list (or of the
			 * node holding a lone arrow parameter); deeper ones are the
			 * parameters of a lambda in a default value. */
			if (kept[u].has_params && (hits[i].parent == kept[u].params.id ||
			                           hits[i].grandparent == kept[u].params.id))
				fs->units[u].params++;
			break;
		case GM_CAP_CALL: {
			struct gm_unit *unit = &fs->units[u];
			const char *name = src + s;
			uint64_t h = hash_bytes(name, e - s, (uint64_t)u * 0x9e3779b97f4a7c15ull);
			size_t j;
			htab_reserve(&calls, calls.n + 1);
			j = htab_start(&calls, h);
			for (; calls.slot[j].ref; j = htab_step(&calls, j)) {
				const struct hslot *sl = &calls.slot[j];
				/* ref packs (unit, call): unit + 1 in the high half */
				if (sl->hash == h && (sl->ref >> 32) == (uint64_t)u + 1 &&
				    str_is(unit->calls[sl->ref & 0xffffffffu], name, e - s))
					break;
			}
			if (calls.slot[j].ref)
				break;
			GM_GROW(unit->calls, ccalls[u], unit->ncalls + 1);
			unit->calls[unit->ncalls] = gm_xstrndup(name, e - s);
			htab_put(&calls, j, h, ((uint64_t)u + 1) << 32 | unit->ncalls);
			unit->ncalls++;
			break;
		}
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
	htab_release(&calls);
	free(spans);
	free(nspans);
	free(cspans);
	free(ccalls);
}

/*
 * Ordinals as gm_scan_source numbers them, into `ord`: 0 for a name no
 * other unit of the file has, else 1, 2, ... in file order.  Linear: the
 * units are grouped by hashing their names.
 */
static void number_ordinals(const struct gm_file_scan *fs, unsigned *ord)
{
	struct htab t = { 0 }; /* ref: 1 + index of the first unit of a name */
	size_t *first = gm_xcalloc(fs->n + 1, sizeof(*first));
	unsigned *count = gm_xcalloc(fs->n + 1, sizeof(*count));
	unsigned *next = gm_xcalloc(fs->n + 1, sizeof(*next));

	htab_reserve(&t, fs->n);
	for (size_t i = 0; i < fs->n; i++) {
		const char *name = fs->units[i].name;
		uint64_t h = hash_bytes(name, strlen(name), 0);
		size_t j;
		for (j = htab_start(&t, h); t.slot[j].ref; j = htab_step(&t, j))
			if (t.slot[j].hash == h &&
			    strcmp(fs->units[t.slot[j].ref - 1].name, name) == 0)
				break;
		if (t.slot[j].ref) {
			first[i] = (size_t)t.slot[j].ref - 1;
		} else {
			first[i] = i;
			htab_put(&t, j, h, i + 1);
		}
		count[first[i]]++;
	}
	for (size_t i = 0; i < fs->n; i++)
		ord[i] = count[first[i]] > 1 ? ++next[first[i]] : 0;
	htab_release(&t);
	free(first);
	free(count);
	free(next);
}

static void assign_ordinals(struct gm_file_scan *fs)
{
	unsigned *ord = gm_xcalloc(fs->n + 1, sizeof(*ord));
	number_ordinals(fs, ord);
	for (size_t i = 0; i < fs->n; i++)
		fs->units[i].ordinal = ord[i];
	free(ord);
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

/* lead_byte and lead_line of `u`: `lead` from the walk, or found from the root. */
static void find_lead(struct gm_unit *u, const struct def *d, TSNode root, const char *src)
{
	uint32_t lead;

	u->lead_byte = u->start_byte;
	u->lead_line = u->start_line;
	if (d->has_lead) {
		lead = d->lead;
	} else {
		TSNode n = ts_node_descendant_for_byte_range(root, u->start_byte, u->end_byte);
		if (ts_node_is_null(n))
			return;
		while (!ts_node_is_null(ts_node_parent(n)) && !ts_node_eq(ts_node_parent(n), root) &&
		       ts_node_start_byte(ts_node_parent(n)) == u->start_byte &&
		       ts_node_end_byte(ts_node_parent(n)) == u->end_byte)
			n = ts_node_parent(n);
		n = gm_scan_item(n, root);
		lead = gm_scan_lead(n, src);
	}
	if (lead < u->start_byte) {
		u->lead_byte = lead;
		for (uint32_t p = lead; p < u->start_byte; p++)
			u->lead_line -= src[p] == '\n';
	}
}

static int scan_tree(struct gm_file_scan *out, const struct gm_lang *lang, const char *src,
                     TSTree *tree)
{
	TSNode root = ts_tree_root_node(tree);
	struct captures c;
	struct scope_walk w;
	struct def *kept;
	size_t nkept = 0;

	memset(out, 0, sizeof(*out));
	if (gm_lang_load(lang) < 0)
		return GM_ERROR;
	if (!gm_lang_has_query(lang, GM_QUERY_UNITS)) {
		gm_error_set("grammars/%s/units.scm is missing", lang->query_dir ? lang->query_dir : lang->name);
		return GM_ERROR;
	}
	memset(&c, 0, sizeof(c));
	collect(&c, lang, ts_tree_root_node(tree), src, out);

	/* Keep outermost definitions only: units never overlap. */
	kept = gm_xcalloc(c.ndefs ? c.ndefs : 1, sizeof(*kept));
	for (size_t i = 0; i < c.ndefs; i++) {
		if (nkept && c.defs[i].start < kept[nkept - 1].end)
			continue;
		kept[nkept++] = c.defs[i];
	}

	memset(&w, 0, sizeof(w));
	w.scopes = c.scopes;
	w.n = c.nscopes;
	w.active = gm_xcalloc(c.nscopes + 1, sizeof(*w.active));
	out->units = gm_xcalloc(nkept ? nkept : 1, sizeof(*out->units));
	out->n = nkept;
	for (size_t i = 0; i < nkept; i++) {
		struct def *d = &kept[i];
		struct gm_unit *u = &out->units[i];
		TSPoint sp = ts_node_start_point(d->node), ep = ts_node_end_point(d->node);
		uint32_t sig_start = d->has_decl ? ts_node_start_byte(d->decl) : d->start;
		uint32_t sig_end = d->has_body ? ts_node_start_byte(d->body) : d->end;
		bool in_class;

		u->name = qualify(lang, d, src, &w, &in_class);
		u->short_name = node_text(d->name, src);
		if (d->kind == GM_CAP_DEF_CONSTRUCTOR)
			u->kind = gm_unit_kinds[2];
		else if (d->kind == GM_CAP_DEF_METHOD || in_class)
			u->kind = gm_unit_kinds[1];
		else
			u->kind = gm_unit_kinds[0];
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
	apply_hits(out, kept, src, c.hits, c.nhits);
	assign_ordinals(out);
	for (size_t i = 0; i < nkept; i++)
		find_lead(&out->units[i], &kept[i], root, src);

	out->scopes = gm_xcalloc(c.nscopes ? c.nscopes : 1, sizeof(*out->scopes));
	out->nscopes = c.nscopes;
	for (size_t i = 0; i < c.nscopes; i++) {
		out->scopes[i].name = c.scopes[i].name; /* now the scan's */
		out->scopes[i].is_class = c.scopes[i].kind == GM_CAP_SCOPE_CLASS;
		out->scopes[i].start_byte = c.scopes[i].start;
		out->scopes[i].end_byte = c.scopes[i].end;
	}
	free(c.scopes);
	free(c.defs);
	free(c.hits);
	free(c.calls);
	free(c.import_nodes);
	htab_release(&c.imports);
	free(w.active);
	free(kept);
	return 0;
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
	rc = scan_tree(out, lang, src, tree);
	/* Packed once the tree is gone: the block takes the place it leaves. */
	ts_tree_delete(tree);
	if (rc == 0)
		gm_file_scan_pack(out);
	return rc;
}

int gm_scan_tree(struct gm_file_scan *out, const struct gm_lang *lang, const char *src,
                 size_t len, TSTree *tree)
{
	int rc;

	(void)len;
	if ((rc = scan_tree(out, lang, src, tree)) == 0)
		gm_file_scan_pack(out);
	return rc;
}

char *gm_unit_key(const struct gm_unit *u)
{
	return u->ordinal ? gm_xasprintf("%s#%u", u->name, u->ordinal) : gm_xstrdup(u->name);
}

static size_t align_up(size_t off, size_t a)
{
	return (off + a - 1) / a * a;
}

static char *pack_str(char **at, char *s)
{
	size_t n = strlen(s) + 1;
	char *t = memcpy(*at, s, n);
	*at += n;
	free(s);
	return t;
}

void gm_file_scan_pack(struct gm_file_scan *fs)
{
	size_t nunits = fs->n ? fs->n : 1, nscopes = fs->nscopes ? fs->nscopes : 1;
	size_t off_scopes, off_ptrs, off_strs, size, nptrs = fs->nimports;
	char *block, *at;
	char **ptrs;
	struct gm_unit *units;
	struct gm_scope *scopes;

	if (fs->block)
		return;
	size = 0;
	for (size_t i = 0; i < fs->n; i++) {
		const struct gm_unit *u = &fs->units[i];
		size += strlen(u->name) + strlen(u->short_name) + strlen(u->signature) + 3;
		for (size_t j = 0; j < u->ncalls; j++)
			size += strlen(u->calls[j]) + 1;
		nptrs += u->ncalls;
	}
	for (size_t i = 0; i < fs->nscopes; i++)
		size += strlen(fs->scopes[i].name) + 1;
	for (size_t i = 0; i < fs->nimports; i++)
		size += strlen(fs->imports[i]) + 1;
	off_scopes = align_up(nunits * sizeof(*units), _Alignof(struct gm_scope));
	off_ptrs = align_up(off_scopes + nscopes * sizeof(*scopes), _Alignof(char *));
	off_strs = off_ptrs + nptrs * sizeof(char *);
	block = gm_xcalloc(1, off_strs + size);
	units = (struct gm_unit *)(void *)block;
	scopes = (struct gm_scope *)(void *)(block + off_scopes);
	ptrs = (char **)(void *)(block + off_ptrs);
	at = block + off_strs;

	for (size_t i = 0; i < fs->n; i++) {
		struct gm_unit *u = &units[i];
		*u = fs->units[i];
		u->name = pack_str(&at, u->name);
		u->short_name = pack_str(&at, u->short_name);
		u->signature = pack_str(&at, u->signature);
		if (u->ncalls) {
			for (size_t j = 0; j < u->ncalls; j++)
				ptrs[j] = pack_str(&at, u->calls[j]);
			free(u->calls);
			u->calls = ptrs;
			ptrs += u->ncalls;
		} else {
			free(u->calls);
			u->calls = NULL;
		}
	}
	for (size_t i = 0; i < fs->nscopes; i++) {
		scopes[i] = fs->scopes[i];
		scopes[i].name = pack_str(&at, scopes[i].name);
	}
	for (size_t i = 0; i < fs->nimports; i++)
		ptrs[i] = pack_str(&at, fs->imports[i]);
	free(fs->units);
	free(fs->scopes);
	free(fs->imports);
	fs->units = units;
	fs->scopes = scopes;
	fs->imports = fs->nimports ? ptrs : NULL;
	fs->block = block;
}

void gm_file_scan_release(struct gm_file_scan *fs)
{
	if (!fs)
		return;
	if (fs->block) {
		free(fs->block);
		memset(fs, 0, sizeof(*fs));
		return;
	}
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

/* ---- checking a scan that comes from elsewhere ---------------------------- */

/* Where a forward walk over the source is: `pos`, on line `line`, which starts at `bol`. */
struct cursor {
	const char *src;
	size_t pos, line, bol;
};

static void cursor_to(struct cursor *c, size_t pos)
{
	const char *p = c->src + c->pos, *end = c->src + pos, *nl;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		c->line++;
		p = nl + 1;
		c->bol = (size_t)(p - c->src);
	}
	c->pos = pos;
}

static bool unit_fits(const struct gm_unit *u, struct cursor *c, size_t len)
{
	size_t sline, end_line;

	if (!u->name || !u->short_name || !u->signature || (u->ncalls && !u->calls))
		return false;
	if (u->kind != gm_unit_kinds[0] && u->kind != gm_unit_kinds[1] &&
	    u->kind != gm_unit_kinds[2])
		return false;
	for (size_t j = 0; j < u->ncalls; j++)
		if (!u->calls[j])
			return false;
	/* Sorted and disjoint: the cursor stands at the previous unit's end. */
	if (u->lead_byte < c->pos || u->lead_byte > u->start_byte || u->start_byte > u->end_byte ||
	    u->end_byte > len)
		return false;
	cursor_to(c, u->lead_byte);
	if (u->lead_line != c->line)
		return false;
	cursor_to(c, u->start_byte);
	if (u->start_line != c->line || u->start_col != u->start_byte - c->bol)
		return false;
	sline = c->line;
	cursor_to(c, u->end_byte);
	end_line = c->line;
	if (c->bol == u->end_byte && end_line > sline)
		end_line--; /* ends at a line's start: the line before is its last */
	if (u->end_line != end_line || u->lines != u->end_line - u->start_line + 1)
		return false;
	if (u->complexity < 1 || u->nesting > MAX_NESTING)
		return false;
	return memmem(c->src + u->start_byte, u->end_byte - u->start_byte, u->short_name,
	              strlen(u->short_name)) != NULL;
}

bool gm_file_scan_check(const struct gm_file_scan *fs, const char *src, size_t len)
{
	struct cursor c = { src, 0, 1, 0 };
	unsigned *ord;
	bool ok = true;

	if (len > UINT32_MAX || (fs->n && !fs->units) || (fs->nimports && !fs->imports))
		return false;
	for (size_t i = 0; i < fs->n && ok; i++)
		ok = unit_fits(&fs->units[i], &c, len);
	for (size_t i = 0; i < fs->nimports && ok; i++)
		ok = fs->imports[i] && fs->imports[i][0];
	if (!ok)
		return false;
	ord = gm_xcalloc(fs->n + 1, sizeof(*ord));
	number_ordinals(fs, ord);
	for (size_t i = 0; i < fs->n && ok; i++)
		ok = fs->units[i].ordinal == ord[i];
	free(ord);
	return ok;
}
