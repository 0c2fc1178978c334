#include "monitor/pattern.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/tswalk.h"
#include "monitor/util.h"
#include "monitor/banned.h"

/* tree-sitter keeps at most three captures on one step; so do we, plus one. */
#define MAX_ITEM_CAPTURES 4
#define NONE UINT32_MAX

enum item_type { IT_NODE, IT_ANON, IT_ALT };
enum wildcard { WILD_NONE, WILD_NAMED, WILD_ANY };

/*
 * One node of a pattern: a named node (or wildcard) with child slots and
 * negated fields, an anonymous node, or an alternation (its branches in
 * `alts`).  An alternation's captures are copied onto its branches when
 * it is read, as tree-sitter does, so that matching never looks at them.
 */
struct item {
	uint8_t type, wild;
	bool last_anchor; /* IT_NODE: '.' before its ')' */
	bool first_only;  /* no captures, no children: binds the first child it fits */
	bool has_caps;    /* it or anything below it captures */
	uint8_t ncaps;
	TSSymbol symbol;
	uint32_t caps[MAX_ITEM_CAPTURES];
	uint32_t kids, nkids; /* IT_NODE: slots[]; IT_ALT: alts[] */
	uint32_t negs, nnegs; /* negs[] */
};

struct slot {
	uint32_t item;
	TSFieldId field; /* 0: any */
	bool immediate;  /* '.' before it */
};

enum pred_op { PRED_EQ, PRED_NOT_EQ, PRED_ANY_OF };

struct parg {
	bool is_cap;
	uint32_t id;       /* is_cap: a capture id */
	uint32_t off, len; /* else: a string in strs */
};

struct pred {
	enum pred_op op;
	uint32_t cap;
	uint32_t args, nargs; /* pargs[] */
};

struct pattern {
	uint32_t root;
	uint32_t start;
	uint32_t preds, npreds;
};

struct root {
	uint32_t pattern, item;
};

struct gm_pattern_set {
	const TSLanguage *lang;
	struct item *items;
	size_t nitems, citems;
	struct slot *slots;
	size_t nslots, cslots;
	uint32_t *alts;
	size_t nalts, calts;
	TSFieldId *negs;
	size_t nnegs, cnegs;
	struct pred *preds;
	size_t npreds, cpreds;
	struct parg *pargs;
	size_t npargs, cpargs;
	struct gm_buf strs;
	struct pattern *patterns;
	size_t npatterns, cpatterns;
	char **capnames;
	size_t ncapnames, ccapnames;
	/* The patterns rooted at each symbol, [root_first[s], root_first[s + 1]). */
	uint32_t nsym;
	uint32_t *root_first;
	struct root *roots;
	struct root *wild_roots;
	size_t nwild;
	/* by symbol: a leaf the walk must give (a pattern starts there, or a caller asked) */
	bool *keep;
};

/* ---- reading the text ------------------------------------------------------ */

struct reader {
	struct gm_pattern_set *set;
	const char *s;
	size_t len, pos;
	bool failed;
	size_t err_at;
	/* Names already looked up: ts_language_symbol_for_name is a linear search. */
	struct name_cache {
		uint64_t hash;
		uint32_t off, len; /* into s */
		bool named;
		TSSymbol sym;
		bool used;
	} *names;
	size_t cnames, nnames;
	uint32_t pattern; /* being read */
};

static bool fail_at(struct reader *r, size_t at, const char *what, const char *name, size_t n)
{
	if (!r->failed) {
		if (name)
			gm_error_set("%s '%.*s'", what, (int)n, name);
		else
			gm_error_set("%s", what);
		r->failed = true;
		r->err_at = at;
	}
	return false;
}

static void skip_space(struct reader *r)
{
	while (r->pos < r->len) {
		char c = r->s[r->pos];
		if (c == ';') {
			while (r->pos < r->len && r->s[r->pos] != '\n')
				r->pos++;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			r->pos++;
		} else {
			break;
		}
	}
}

static bool peek(struct reader *r, char c)
{
	skip_space(r);
	return r->pos < r->len && r->s[r->pos] == c;
}

static bool is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == '?' || c == '!' || c == '#';
}

/* An identifier at the reading position (node, field, capture or predicate name). */
static size_t ident(struct reader *r, bool dots)
{
	size_t start = r->pos;
	while (r->pos < r->len && is_ident(r->s[r->pos]) &&
	       (dots || (r->s[r->pos] != '.' && r->s[r->pos] != '?' && r->s[r->pos] != '!' &&
	                 r->s[r->pos] != '#')))
		r->pos++;
	return r->pos - start;
}

static uint64_t hash_name(const char *s, size_t n, bool named)
{
	uint64_t h = 0xcbf29ce484222325ull ^ named;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The symbol of a node name (0: none), through the cache. */
static TSSymbol lookup_symbol(struct reader *r, const char *name, size_t n, bool named)
{
	uint64_t h = hash_name(name, n, named);
	size_t i;
	TSSymbol sym;

	if (!r->cnames) {
		r->cnames = 512;
		r->names = gm_xcalloc(r->cnames, sizeof(*r->names));
	}
	for (i = h & (r->cnames - 1); r->names[i].used; i = (i + 1) & (r->cnames - 1)) {
		const struct name_cache *e = &r->names[i];
		if (e->hash == h && e->named == named && e->len == n &&
		    memcmp(r->s + e->off, name, n) == 0)
			return e->sym;
	}
	sym = ts_language_symbol_for_name(r->set->lang, name, (uint32_t)n, named);
	if (2 * (r->nnames + 1) <= r->cnames) {
		r->nnames++;
		r->names[i].used = true;
		r->names[i].hash = h;
		r->names[i].named = named;
		r->names[i].off = (uint32_t)(name - r->s);
		r->names[i].len = (uint32_t)n;
		r->names[i].sym = sym;
	}
	return sym;
}

static uint32_t new_item(struct reader *r, enum item_type type)
{
	struct gm_pattern_set *set = r->set;
	GM_GROW(set->items, set->citems, set->nitems + 1);
	memset(&set->items[set->nitems], 0, sizeof(set->items[0]));
	set->items[set->nitems].type = (uint8_t)type;
	return (uint32_t)set->nitems++;
}

static uint32_t capture_id(struct reader *r, const char *name, size_t n, bool add)
{
	struct gm_pattern_set *set = r->set;
	for (size_t i = 0; i < set->ncapnames; i++)
		if (strlen(set->capnames[i]) == n && memcmp(set->capnames[i], name, n) == 0)
			return (uint32_t)i;
	if (!add)
		return NONE;
	GM_GROW(set->capnames, set->ccapnames, set->ncapnames + 1);
	set->capnames[set->ncapnames] = gm_xstrndup(name, n);
	return (uint32_t)set->ncapnames++;
}

static bool add_capture(struct reader *r, uint32_t item, uint32_t id, size_t at)
{
	struct item *it = &r->set->items[item];
	if (it->type == IT_ALT) {
		/* Onto every branch, as tree-sitter does. */
		for (uint32_t i = 0; i < it->nkids; i++)
			if (!add_capture(r, r->set->alts[it->kids + i], id, at))
				return false;
		return true;
	}
	if (it->ncaps == MAX_ITEM_CAPTURES)
		return fail_at(r, at, "too many captures on one node", NULL, 0);
	it->caps[it->ncaps++] = id;
	return true;
}

static bool read_item(struct reader *r, uint32_t *out);

/* (#eq? @a "x"), (#not-eq? @a @b), (#any-of? @a "x" "y"); at the '#'. */
static bool read_predicate(struct reader *r)
{
	struct gm_pattern_set *set = r->set;
	size_t at = r->pos, n = ident(r, true);
	const char *name = r->s + at;
	struct pred p = { 0 };

	if (n == 4 && !memcmp(name, "#eq?", 4))
		p.op = PRED_EQ;
	else if (n == 8 && !memcmp(name, "#not-eq?", 8))
		p.op = PRED_NOT_EQ;
	else if (n == 8 && !memcmp(name, "#any-of?", 8))
		p.op = PRED_ANY_OF;
	else
		return fail_at(r, at, "unsupported predicate", name, n);
	if (!peek(r, '@'))
		return fail_at(r, r->pos, "syntax error", NULL, 0);
	r->pos++;
	at = r->pos;
	n = ident(r, true);
	if ((p.cap = capture_id(r, r->s + at, n, false)) == NONE)
		return fail_at(r, at, "unknown capture", r->s + at, n);
	p.args = (uint32_t)set->npargs;
	while (!peek(r, ')')) {
		struct parg a = { 0 };
		if (r->pos >= r->len)
			return fail_at(r, r->pos, "syntax error", NULL, 0);
		if (r->s[r->pos] == '@') {
			r->pos++;
			at = r->pos;
			n = ident(r, true);
			a.is_cap = true;
			if ((a.id = capture_id(r, r->s + at, n, false)) == NONE)
				return fail_at(r, at, "unknown capture", r->s + at, n);
		} else if (r->s[r->pos] == '"') {
			r->pos++;
			a.off = (uint32_t)set->strs.len;
			while (r->pos < r->len && r->s[r->pos] != '"') {
				char c = r->s[r->pos++];
				if (c == '\\' && r->pos < r->len) {
					c = r->s[r->pos++];
					c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
				}
				gm_buf_put(&set->strs, &c, 1);
			}
			if (r->pos >= r->len)
				return fail_at(r, r->pos, "syntax error", NULL, 0);
			r->pos++;
			a.len = (uint32_t)(set->strs.len - a.off);
		} else {
			return fail_at(r, r->pos, "syntax error", NULL, 0);
		}
		GM_GROW(set->pargs, set->cpargs, set->npargs + 1);
		set->pargs[set->npargs++] = a;
		p.nargs++;
	}
	r->pos++;
	if (p.nargs == 0 || (p.op != PRED_ANY_OF && p.nargs != 1))
		return fail_at(r, at, "wrong number of arguments to a predicate", NULL, 0);
	GM_GROW(set->preds, set->cpreds, set->npreds + 1);
	set->preds[set->npreds++] = p;
	set->patterns[r->pattern].npreds++;
	return true;
}

/* A field name and its ':' or the '!' form; `*out` 0 when none is there. */
static bool read_field(struct reader *r, TSFieldId *out, bool negated)
{
	size_t save = r->pos, at = r->pos, n = ident(r, false);
	*out = 0;
	if (!negated) {
		if (!n || r->pos >= r->len || r->s[r->pos] != ':') {
			r->pos = save;
			return true;
		}
		r->pos++;
	} else if (!n) {
		return fail_at(r, r->pos, "syntax error", NULL, 0);
	}
	if (!(*out = ts_language_field_id_for_name(r->set->lang, r->s + at, (uint32_t)n)))
		return fail_at(r, at, "unknown field", r->s + at, n);
	return true;
}

/* A named node or wildcard, at its '('. */
static bool read_node(struct reader *r, uint32_t *out)
{
	struct gm_pattern_set *set = r->set;
	size_t at, n;
	uint32_t item;
	/* Slots and negated fields are collected here, then stored contiguously. */
	struct slot *slots = NULL;
	TSFieldId *negs = NULL;
	size_t nslots = 0, cslots = 0, nnegs = 0, cnegs = 0;
	bool anchor = false, ok = true;

	r->pos++;
	skip_space(r);
	at = r->pos;
	if (r->pos < r->len && (r->s[r->pos] == '(' || r->s[r->pos] == '[' || r->s[r->pos] == '"'))
		return fail_at(r, at, "unsupported: a group of sibling patterns", NULL, 0);
	if (r->pos < r->len && r->s[r->pos] == '#')
		return fail_at(r, at, "unsupported: a predicate outside a node", NULL, 0);
	n = ident(r, false);
	if (!n)
		return fail_at(r, at, "syntax error", NULL, 0);
	item = new_item(r, IT_NODE);
	if (n == 1 && r->s[at] == '_') {
		set->items[item].wild = WILD_NAMED;
	} else {
		TSSymbol sym = lookup_symbol(r, r->s + at, n, true);
		if (!sym)
			return fail_at(r, at, "unknown node type", r->s + at, n);
		if (ts_language_symbol_type(set->lang, sym) == TSSymbolTypeSupertype)
			return fail_at(r, at, "unsupported: a supertype", r->s + at, n);
		set->items[item].symbol = sym;
	}
	for (;;) {
		struct slot sl = { 0 };
		skip_space(r);
		if (r->pos >= r->len) {
			ok = fail_at(r, r->pos, "syntax error", NULL, 0);
			break;
		}
		if (r->s[r->pos] == ')') {
			r->pos++;
			set->items[item].last_anchor = anchor;
			break;
		}
		if (r->s[r->pos] == '.') {
			r->pos++;
			anchor = true;
			continue;
		}
		if (r->s[r->pos] == '!') {
			TSFieldId f;
			r->pos++;
			if (!(ok = read_field(r, &f, true)))
				break;
			GM_GROW(negs, cnegs, nnegs + 1);
			negs[nnegs++] = f;
			continue;
		}
		if (r->s[r->pos] == '(' && r->pos + 1 < r->len) {
			size_t save = r->pos;
			r->pos++;
			skip_space(r);
			if (r->pos < r->len && r->s[r->pos] == '#') {
				if (!(ok = read_predicate(r)))
					break;
				continue;
			}
			r->pos = save;
		}
		if (!(ok = read_field(r, &sl.field, false)))
			break;
		sl.immediate = anchor;
		anchor = false;
		if (!(ok = read_item(r, &sl.item)))
			break;
		GM_GROW(slots, cslots, nslots + 1);
		slots[nslots++] = sl;
	}
	if (ok) {
		struct item *it = &set->items[item];
		it->kids = (uint32_t)set->nslots;
		it->nkids = (uint32_t)nslots;
		GM_GROW(set->slots, set->cslots, set->nslots + nslots);
		if (nslots)
			memcpy(set->slots + set->nslots, slots, nslots * sizeof(*slots));
		set->nslots += nslots;
		it->negs = (uint32_t)set->nnegs;
		it->nnegs = (uint32_t)nnegs;
		GM_GROW(set->negs, set->cnegs, set->nnegs + nnegs);
		if (nnegs)
			memcpy(set->negs + set->nnegs, negs, nnegs * sizeof(*negs));
		set->nnegs += nnegs;
		*out = item;
	}
	free(slots);
	free(negs);
	return ok;
}

/* [a b ...], at its '['. */
static bool read_alternation(struct reader *r, uint32_t *out)
{
	struct gm_pattern_set *set = r->set;
	uint32_t *alts = NULL, item = new_item(r, IT_ALT);
	size_t n = 0, cap = 0;
	bool ok = true;

	r->pos++;
	while (ok && !peek(r, ']')) {
		uint32_t a;
		if (r->pos >= r->len) {
			ok = fail_at(r, r->pos, "syntax error", NULL, 0);
			break;
		}
		if ((ok = read_item(r, &a))) {
			GM_GROW(alts, cap, n + 1);
			alts[n++] = a;
		}
	}
	if (ok && !n)
		ok = fail_at(r, r->pos, "syntax error: an empty alternation", NULL, 0);
	if (ok) {
		r->pos++;
		set->items[item].kids = (uint32_t)set->nalts;
		set->items[item].nkids = (uint32_t)n;
		GM_GROW(set->alts, set->calts, set->nalts + n);
		memcpy(set->alts + set->nalts, alts, n * sizeof(*alts));
		set->nalts += n;
		*out = item;
	}
	free(alts);
	return ok;
}

static bool read_item(struct reader *r, uint32_t *out)
{
	size_t at;
	bool ok;

	skip_space(r);
	at = r->pos;
	if (r->pos >= r->len)
		return fail_at(r, at, "syntax error", NULL, 0);
	switch (r->s[r->pos]) {
	case '(':
		ok = read_node(r, out);
		break;
	case '[':
		ok = read_alternation(r, out);
		break;
	case '"': {
		struct gm_buf name = GM_BUF_INIT;
		TSSymbol sym;
		r->pos++;
		while (r->pos < r->len && r->s[r->pos] != '"') {
			char c = r->s[r->pos++];
			if (c == '\\' && r->pos < r->len) {
				c = r->s[r->pos++];
				c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
			}
			gm_buf_put(&name, &c, 1);
		}
		if (r->pos >= r->len) {
			gm_buf_release(&name);
			return fail_at(r, at, "syntax error", NULL, 0);
		}
		r->pos++;
		sym = name.len ? ts_language_symbol_for_name(r->set->lang, name.ptr,
		                                             (uint32_t)name.len, false) : 0;
		if (!sym) {
			fail_at(r, at, "unknown node type", name.ptr ? name.ptr : "", name.len);
			gm_buf_release(&name);
			return false;
		}
		gm_buf_release(&name);
		*out = new_item(r, IT_ANON);
		r->set->items[*out].symbol = sym;
		ok = true;
		break;
	}
	case '_':
		r->pos++;
		*out = new_item(r, IT_NODE);
		r->set->items[*out].wild = WILD_ANY;
		ok = true;
		break;
	default:
		return fail_at(r, at, "syntax error", NULL, 0);
	}
	while (ok && peek(r, '@')) {
		size_t n;
		r->pos++;
		at = r->pos;
		n = ident(r, true);
		if (!n)
			return fail_at(r, at, "syntax error", NULL, 0);
		ok = add_capture(r, *out, capture_id(r, r->s + at, n, true), at);
	}
	if (ok && r->pos < r->len &&
	    (r->s[r->pos] == '*' || r->s[r->pos] == '+' || r->s[r->pos] == '?'))
		return fail_at(r, r->pos, "unsupported: a quantifier", NULL, 0);
	return ok;
}

/* has_caps and first_only of `item` and everything below it. */
static bool finish_item(struct gm_pattern_set *set, uint32_t item)
{
	struct item *it = &set->items[item];
	bool caps = it->ncaps > 0;

	if (it->type == IT_NODE) {
		for (uint32_t i = 0; i < it->nkids; i++)
			caps |= finish_item(set, set->slots[it->kids + i].item);
	} else if (it->type == IT_ALT) {
		for (uint32_t i = 0; i < it->nkids; i++)
			caps |= finish_item(set, set->alts[it->kids + i]);
	}
	it = &set->items[item];
	it->has_caps = caps;
	it->first_only = !caps && it->type != IT_ALT && it->nkids == 0;
	return caps;
}

static void count_roots(struct gm_pattern_set *set, uint32_t item, uint32_t pattern,
                        uint32_t *count, bool fill, struct root *wild, size_t *nwild)
{
	const struct item *it = &set->items[item];
	if (it->type == IT_ALT) {
		for (uint32_t i = 0; i < it->nkids; i++)
			count_roots(set, set->alts[it->kids + i], pattern, count, fill, wild, nwild);
		return;
	}
	if (it->type == IT_NODE && it->wild != WILD_NONE) {
		if (fill)
			wild[*nwild] = (struct root){ pattern, item };
		(*nwild)++;
		return;
	}
	if (it->symbol >= set->nsym)
		return; /* ERROR: never the root of one of ours */
	if (fill)
		set->roots[count[it->symbol]++] = (struct root){ pattern, item };
	else
		count[it->symbol]++;
}

static void index_roots(struct gm_pattern_set *set)
{
	uint32_t *count = gm_xcalloc(set->nsym + 1, sizeof(*count));
	size_t nwild = 0, total = 0;

	for (size_t p = 0; p < set->npatterns; p++)
		count_roots(set, set->patterns[p].root, (uint32_t)p, count, false, NULL, &nwild);
	set->root_first = gm_xcalloc(set->nsym + 1, sizeof(*set->root_first));
	for (uint32_t s = 0; s < set->nsym; s++) {
		set->root_first[s] = (uint32_t)total;
		total += count[s];
		count[s] = set->root_first[s];
	}
	set->root_first[set->nsym] = (uint32_t)total;
	set->keep = gm_xcalloc(set->nsym + 1, sizeof(*set->keep));
	for (uint32_t s = 0; s < set->nsym; s++)
		set->keep[s] = set->root_first[s] != set->root_first[s + 1];
	set->roots = gm_xcalloc(total + 1, sizeof(*set->roots));
	set->wild_roots = gm_xcalloc(nwild + 1, sizeof(*set->wild_roots));
	set->nwild = 0;
	for (size_t p = 0; p < set->npatterns; p++)
		count_roots(set, set->patterns[p].root, (uint32_t)p, count, true, set->wild_roots,
		            &set->nwild);
	free(count);
}

int gm_pattern_set_new(struct gm_pattern_set **out, const TSLanguage *lang, const char *text,
                       size_t len, size_t *err_offset)
{
	struct gm_pattern_set *set = gm_xcalloc(1, sizeof(*set));
	struct reader r = { 0 };

	*out = NULL;
	*err_offset = 0;
	set->lang = lang;
	set->nsym = ts_language_symbol_count(lang);
	r.set = set;
	r.s = text;
	r.len = len;
	for (;;) {
		struct pattern *p;
		skip_space(&r);
		if (r.pos >= r.len)
			break;
		GM_GROW(set->patterns, set->cpatterns, set->npatterns + 1);
		p = &set->patterns[set->npatterns];
		memset(p, 0, sizeof(*p));
		p->start = (uint32_t)r.pos;
		p->preds = (uint32_t)set->npreds;
		r.pattern = (uint32_t)set->npatterns++;
		if (!read_item(&r, &set->patterns[r.pattern].root))
			break;
		finish_item(set, set->patterns[r.pattern].root);
	}
	free(r.names);
	if (r.failed) {
		*err_offset = r.err_at;
		gm_pattern_set_free(set);
		return GM_ERROR;
	}
	index_roots(set);
	*out = set;
	return 0;
}

void gm_pattern_set_free(struct gm_pattern_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->ncapnames; i++)
		free(set->capnames[i]);
	free(set->capnames);
	free(set->items);
	free(set->slots);
	free(set->alts);
	free(set->negs);
	free(set->preds);
	free(set->pargs);
	gm_buf_release(&set->strs);
	free(set->patterns);
	free(set->root_first);
	free(set->roots);
	free(set->wild_roots);
	free(set->keep);
	free(set);
}

void gm_pattern_set_keep_leaves(struct gm_pattern_set *set, const bool *symbols, uint32_t n)
{
	for (uint32_t s = 0; s < n && s < set->nsym; s++)
		set->keep[s] = set->keep[s] || symbols[s];
}

uint32_t gm_pattern_count(const struct gm_pattern_set *set)
{
	return (uint32_t)set->npatterns;
}

uint32_t gm_pattern_start_byte(const struct gm_pattern_set *set, uint32_t pattern)
{
	return set->patterns[pattern].start;
}

uint32_t gm_pattern_capture_count(const struct gm_pattern_set *set)
{
	return (uint32_t)set->ncapnames;
}

const char *gm_pattern_capture_name(const struct gm_pattern_set *set, uint32_t id, uint32_t *len)
{
	*len = (uint32_t)strlen(set->capnames[id]);
	return set->capnames[id];
}

/* ---- matching -------------------------------------------------------------- */

/* A visible child, as a query step sees it (ERROR: symbol (TSSymbol)-1). */
#define kid gm_tswalk_node
#define SYM_ERROR ((TSSymbol)-1)

/*
 * Where matching goes on once an item has matched: the remaining slots of
 * the node item `it` (from slot `slot`, children from `pos` on), then `up`;
 * NULL: the pattern is complete.
 */
struct frame {
	const struct item *it;
	const void *node, *parent; /* ids of the node whose children these are, and its parent */
	size_t off, n;   /* its children: kids[off .. off + n) */
	size_t last_named; /* index (from off) past the last named child */
	uint32_t slot;
	size_t pos;
	const struct frame *up;
};

#define LISTED_MAX 32

struct exec {
	const struct gm_pattern_set *set;
	const char *src;
	struct kid *kids; /* a stack of children lists */
	size_t nkids, ckids;
	struct gm_pattern_capture *caps;
	size_t ncaps, ccaps;
	const void **path; /* ids of the visible ancestors of the walk's node */
	size_t npath, cpath;
	uint32_t pattern;
	gm_pattern_fn *fn;
	void *data;
	/* the children lists made for the root being tried (kids_of) */
	struct listed {
		const void *id;
		size_t off, n, last_named;
	} listed[LISTED_MAX];
	size_t nlisted;
};

/* Push the visible children of `n`; their count, and past the last named one in `*last_named`. */
static size_t list_kids(struct exec *ex, TSNode n, size_t *last_named)
{
	size_t start = ex->nkids, count = gm_tswalk_children(n, &ex->kids, &ex->nkids, &ex->ckids);

	*last_named = 0;
	for (size_t i = count; i > 0; i--)
		if (ex->kids[start + i - 1].named) {
			*last_named = i;
			break;
		}
	return count;
}

/*
 * The children of `n` at ex->kids[*off ...), listed once for all the
 * patterns tried at one root: (object (pair ...)) and its siblings list
 * every pair's children, the calls patterns the same arguments.  The
 * first LISTED_MAX lists are kept until the root is done; false: this one
 * is not, the caller pops it (then no later list is kept either, so none
 * above it is lost).
 */
static bool kids_of(struct exec *ex, TSNode n, size_t *off, size_t *count, size_t *last_named)
{
	for (size_t i = 0; i < ex->nlisted; i++)
		if (ex->listed[i].id == n.id) {
			*off = ex->listed[i].off;
			*count = ex->listed[i].n;
			*last_named = ex->listed[i].last_named;
			return true;
		}
	*off = ex->nkids;
	*count = list_kids(ex, n, last_named);
	if (ex->nlisted == LISTED_MAX)
		return false;
	ex->listed[ex->nlisted].id = n.id;
	ex->listed[ex->nlisted].off = *off;
	ex->listed[ex->nlisted].n = *count;
	ex->listed[ex->nlisted++].last_named = *last_named;
	return true;
}

static inline bool fits(const struct gm_pattern_set *set, const struct item *it,
                        const struct kid *k)
{
	if (it->type == IT_ANON)
		return k->symbol == it->symbol;
	if (it->wild == WILD_NAMED) {
		if (!k->named || k->symbol == SYM_ERROR)
			return false;
	} else if (it->wild == WILD_ANY) {
		if (k->symbol == SYM_ERROR)
			return false;
	} else if (k->symbol != it->symbol) {
		return false;
	}
	for (uint32_t i = 0; i < it->nnegs; i++)
		if (!ts_node_is_null(ts_node_child_by_field_id(k->node, set->negs[it->negs + i])))
			return false;
	return true;
}

static void push_caps(struct exec *ex, const struct item *it, TSNode node, const void *parent,
                      const void *grandparent)
{
	for (uint8_t i = 0; i < it->ncaps; i++) {
		struct gm_pattern_capture *c;
		if (ex->ncaps == ex->ccaps)
			GM_GROW(ex->caps, ex->ccaps, ex->ncaps + 1);
		c = &ex->caps[ex->ncaps++];
		c->node = node;
		c->id = it->caps[i];
		c->parent = parent;
		c->grandparent = grandparent;
	}
}

static const TSNode *capture_node(const struct exec *ex, uint32_t id)
{
	for (size_t i = 0; i < ex->ncaps; i++)
		if (ex->caps[i].id == id)
			return &ex->caps[i].node;
	return NULL;
}

static bool text_is(const char *src, TSNode n, const char *s, size_t len)
{
	uint32_t b = ts_node_start_byte(n), e = ts_node_end_byte(n);
	return e - b == len && memcmp(src + b, s, len) == 0;
}

/* The text predicates of the pattern being matched; one on an absent capture passes. */
static bool predicates_pass(const struct exec *ex)
{
	const struct gm_pattern_set *set = ex->set;
	const struct pattern *p = &set->patterns[ex->pattern];

	for (uint32_t i = 0; i < p->npreds; i++) {
		const struct pred *pr = &set->preds[p->preds + i];
		const TSNode *a = capture_node(ex, pr->cap);
		bool hit = false;
		if (!a)
			continue;
		for (uint32_t j = 0; j < pr->nargs && !hit; j++) {
			const struct parg *g = &set->pargs[pr->args + j];
			if (g->is_cap) {
				const TSNode *b = capture_node(ex, g->id);
				uint32_t bs = b ? ts_node_start_byte(*b) : 0;
				hit = b && text_is(ex->src, *a, ex->src + bs, ts_node_end_byte(*b) - bs);
			} else {
				hit = text_is(ex->src, *a, set->strs.ptr + g->off, g->len);
			}
		}
		if (hit == (pr->op == PRED_NOT_EQ))
			return false;
	}
	return true;
}

static void emit(struct exec *ex)
{
	struct gm_pattern_match m;
	if (!predicates_pass(ex))
		return;
	m.pattern = ex->pattern;
	m.ncaptures = (uint32_t)ex->ncaps;
	m.captures = ex->caps;
	ex->fn(ex->data, &m);
}

static void resume(struct exec *ex, const struct frame *f);

/* Bind `item` to the children of f's slot, each binding going on with the next slot. */
static void try_slot(struct exec *ex, const struct frame *f, const struct slot *sl,
                     uint32_t item, bool last)
{
	const struct gm_pattern_set *set = ex->set;
	const struct item *it = &set->items[item];

	if (it->type == IT_ALT) {
		for (uint32_t i = 0; i < it->nkids; i++)
			try_slot(ex, f, sl, set->alts[it->kids + i], last);
		return;
	}
	for (size_t j = f->pos; j < f->n; j++) {
		const struct kid *kp = &ex->kids[f->off + j];
		bool named = kp->named;
		if ((!sl->field || kp->field == sl->field) && fits(set, it, kp) &&
		    (!last || j + 1 >= f->last_named)) {
			struct kid k = *kp; /* a copy: the stack may move */
			size_t ncaps = ex->ncaps;
			struct frame next = *f;
			next.slot = f->slot + 1;
			next.pos = j + 1;
			push_caps(ex, it, k.node, f->node, f->parent);
			if (it->type == IT_NODE && it->nkids) {
				size_t off, n, last_named;
				bool kept = kids_of(ex, k.node, &off, &n, &last_named);
				struct frame sub = { it, k.node.id, f->node, off, n, last_named,
				                     0, 0, &next };
				resume(ex, &sub);
				if (!kept)
					ex->nkids = off;
			} else {
				resume(ex, &next);
			}
			ex->ncaps = ncaps;
			if (it->first_only)
				break;
		}
		if (sl->immediate && named)
			break;
	}
}

static void resume(struct exec *ex, const struct frame *f)
{
	const struct slot *sl;

	if (!f) {
		emit(ex);
		return;
	}
	if (f->slot == f->it->nkids) {
		resume(ex, f->up);
		return;
	}
	sl = &ex->set->slots[f->it->kids + f->slot];
	try_slot(ex, f, sl, sl->item, f->slot + 1 == f->it->nkids && f->it->last_anchor);
}

/* The patterns rooted at `self`. */
static void try_roots(struct exec *ex, const struct kid *self)
{
	const struct gm_pattern_set *set = ex->set;
	TSNode n = self->node;
	TSSymbol sym = self->symbol;
	size_t base = ex->nkids, nkids = 0, last_named = 0;
	const void *parent = ex->npath ? ex->path[ex->npath - 1] : NULL;
	const void *grandparent = ex->npath > 1 ? ex->path[ex->npath - 2] : NULL;
	bool listed = false;
	const struct root *r = set->roots, *end = set->roots;

	if (sym < set->nsym) {
		r = set->roots + set->root_first[sym];
		end = set->roots + set->root_first[sym + 1];
	}

	ex->nlisted = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (; r < end; r++) {
			const struct item *it = &set->items[r->item];
			if (!fits(set, it, self))
				continue;
			ex->pattern = r->pattern;
			ex->ncaps = 0;
			push_caps(ex, it, n, parent, grandparent);
			if (it->nkids) {
				struct frame f;
				if (!listed) {
					nkids = list_kids(ex, n, &last_named);
					listed = true;
				}
				f = (struct frame){ it, n.id, parent, base, nkids, last_named, 0, 0, NULL };
				resume(ex, &f);
			} else {
				emit(ex);
			}
		}
		r = set->wild_roots;
		end = set->wild_roots + set->nwild;
	}
	ex->nkids = base; /* every list made for this root goes */
	ex->nlisted = 0;
}

unsigned gm_pattern_exec(const struct gm_pattern_set *set, TSNode root, const char *src,
                         gm_pattern_fn *fn, gm_pattern_visit_fn *visit, void *data)
{
	struct exec ex;
	struct gm_tswalk w;
	struct gm_tswalk_node n;
	unsigned errors = 0;

	memset(&ex, 0, sizeof(ex));
	ex.set = set;
	ex.src = src;
	ex.fn = fn;
	ex.data = data;
	gm_tswalk_init(&w, root);
	if (!set->nwild)
		gm_tswalk_skip_leaves(&w, set->keep, set->nsym);
	while (gm_tswalk_next(&w, &n)) {
		TSSymbol sym = n.symbol;
		errors += sym == SYM_ERROR || n.missing;
		/* path[0 .. depth) are n's visible ancestors */
		ex.npath = n.depth;
		if (visit)
			visit(data, &n);
		if ((sym < set->nsym && set->root_first[sym] != set->root_first[sym + 1]) ||
		    set->nwild)
			try_roots(&ex, &n);
		if (n.depth >= ex.cpath)
			GM_GROW(ex.path, ex.cpath, n.depth + 1);
		ex.path[n.depth] = n.node.id;
	}
	gm_tswalk_release(&w);
	free(ex.kids);
	free(ex.caps);
	free(ex.path);
	return errors;
}
