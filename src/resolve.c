#include "monitor/resolve.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/index.h"
#include "monitor/lang.h"
#include "monitor/util.h"
#include "monitor/banned.h"

struct key_ref {
	const char *key;
	size_t id;
};

static int cmp_key_ref(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->id < y->id ? -1 : (x->id > y->id);
}

/* First element with `key`, or n. */
static size_t lower_bound(const struct key_ref *v, size_t n, const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(v[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* First element of [lo, hi) (one key, ids ascending) with id >= `id`. */
static size_t id_bound(const struct key_ref *v, size_t lo, size_t hi, size_t id)
{
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static char *file_stem(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');
	return gm_xstrndup(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

static char *file_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *start;
	if (!slash)
		return gm_xstrdup("");
	start = slash;
	while (start > path && start[-1] != '/')
		start--;
	return gm_xstrndup(start, (size_t)(slash - start));
}

/* The last two components of an import, extension dropped. */
static size_t import_tails(char *out[2], const char *imp)
{
	char *s = gm_xstrdup(imp);
	char *parts[64];
	size_t n = 0, k = 0;
	char *p = s;

	for (char *q = s;; q++) {
		if (*q == '/' || *q == '.' || *q == ':' || *q == '\\' || *q == '\0') {
			char c = *q;
			*q = '\0';
			if (*p && n < 64)
				parts[n++] = p;
			p = q + 1;
			if (!c)
				break;
		}
	}
	/* A trailing source extension ("foo.h", "./x.js") is not a component. */
	if (n >= 2 && strchr(imp, '.') && gm_lang_for_extension(parts[n - 1], false))
		n--;
	for (size_t i = n; i-- > 0 && k < 2;)
		out[k++] = gm_xstrdup(parts[i]);
	free(s);
	return k;
}

static void resolve_imports(struct gm_index *idx)
{
	struct key_ref *stems = gm_xcalloc(idx->nfiles * 2 + 1, sizeof(*stems));
	char **owned = gm_xcalloc(idx->nfiles * 2 + 1, sizeof(char *));
	size_t *seen = gm_xcalloc(idx->nfiles + 1, sizeof(*seen));
	size_t n = 0;

	for (size_t i = 0; i < idx->nfiles; i++) {
		if (!idx->files[i].lang || idx->files[i].skip)
			continue;
		owned[n] = file_stem(idx->files[i].path);
		stems[n].key = owned[n];
		stems[n].id = i;
		n++;
		owned[n] = file_dirname(idx->files[i].path);
		stems[n].key = owned[n];
		stems[n].id = i;
		n++;
	}
	qsort(stems, n, sizeof(*stems), cmp_key_ref);

	for (size_t i = 0; i < idx->nfiles; i++) {
		struct gm_file *f = &idx->files[i];
		size_t cap = 0;
		for (size_t k = 0; k < f->scan.nimports; k++) {
			char *tails[2];
			size_t nt = import_tails(tails, f->scan.imports[k]);
			for (size_t t = 0; t < nt; t++) {
				for (size_t j = lower_bound(stems, n, tails[t]);
				     j < n && strcmp(stems[j].key, tails[t]) == 0; j++) {
					/* seen[g] == i + 1: g is already in f->imported */
					if (stems[j].id == i || seen[stems[j].id] == i + 1)
						continue;
					seen[stems[j].id] = i + 1;
					GM_GROW(f->imported, cap, f->nimported + 1);
					f->imported[f->nimported++] = stems[j].id;
				}
				free(tails[t]);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	free(owned);
	free(stems);
	free(seen);
}

static void add_edge(struct gm_index *idx, size_t *cap, size_t caller, size_t callee, bool cross)
{
	GM_GROW(idx->edges, *cap, idx->nedges + 1);
	idx->edges[idx->nedges].caller = caller;
	idx->edges[idx->nedges].callee = callee;
	idx->edges[idx->nedges].cross_file = cross;
	idx->nedges++;
}

static int cmp_edge(const void *a, const void *b)
{
	const struct gm_edge *x = a, *y = b;
	if (x->caller != y->caller)
		return x->caller < y->caller ? -1 : 1;
	return x->callee < y->callee ? -1 : (x->callee > y->callee);
}

static size_t uf_find(size_t *parent, size_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/*
 * The units grouped by short name, ids ascending in a group: `v` holds
 * group g at [start[g], start[g + 1]); a name is found by hashing (sorting
 * the names and bisecting for every call took a fifth of a warm scan).
 */
struct name_groups {
	struct key_ref *v;
	size_t *start;
	size_t ngroups;
	size_t *slot; /* 1 + group, 0: free; open addressing on hash_name */
	size_t cap;   /* a power of two */
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

/* The slot of `name`: its group's, or the free one where it would go. */
static size_t group_slot(const struct name_groups *g, const char *name, const size_t *first)
{
	size_t i = (size_t)hash_name(name) & (g->cap - 1);
	while (g->slot[i] && strcmp(g->v[first[g->slot[i] - 1]].key, name) != 0)
		i = (i + 1) & (g->cap - 1);
	return i;
}

static void group_names(struct name_groups *g, const struct gm_index *idx)
{
	size_t n = idx->nunits, *first, *group, *count, *fill;

	memset(g, 0, sizeof(*g));
	g->cap = 16;
	while (g->cap / 2 < n + 1)
		g->cap *= 2;
	g->slot = gm_xcalloc(g->cap, sizeof(*g->slot));
	g->v = gm_xcalloc(n + 1, sizeof(*g->v));
	first = gm_xcalloc(n + 1, sizeof(*first)); /* group -> index into v of a unit naming it */
	group = gm_xcalloc(n + 1, sizeof(*group));
	count = gm_xcalloc(n + 1, sizeof(*count));
	/* v first holds the units in id order, to name the groups while they form. */
	for (size_t id = 0; id < n; id++) {
		size_t i;
		g->v[id].key = gm_index_unit(idx, id)->short_name;
		g->v[id].id = id;
		i = group_slot(g, g->v[id].key, first);
		if (!g->slot[i]) {
			first[g->ngroups] = id;
			g->slot[i] = ++g->ngroups;
		}
		group[id] = g->slot[i] - 1;
		count[group[id]]++;
	}
	g->start = gm_xcalloc(g->ngroups + 1, sizeof(*g->start));
	for (size_t k = 0; k < g->ngroups; k++)
		g->start[k + 1] = g->start[k] + count[k];
	fill = gm_xcalloc(g->ngroups + 1, sizeof(*fill));
	{
		struct key_ref *by_id = g->v;
		g->v = gm_xcalloc(n + 1, sizeof(*g->v));
		for (size_t id = 0; id < n; id++) {
			size_t k = group[id];
			g->v[g->start[k] + fill[k]++] = by_id[id];
		}
		free(by_id);
	}
	/* Slots now name groups by their first element in the grouped order. */
	free(first);
	free(group);
	free(count);
	free(fill);
}

/* The stretch [*lo, *hi) of units named `name` (empty when none). */
static void group_find(const struct name_groups *g, const char *name, size_t *lo, size_t *hi)
{
	size_t i = (size_t)hash_name(name) & (g->cap - 1);
	*lo = *hi = 0;
	for (; g->slot[i]; i = (i + 1) & (g->cap - 1)) {
		size_t k = g->slot[i] - 1;
		if (strcmp(g->v[g->start[k]].key, name) == 0) {
			*lo = g->start[k];
			*hi = g->start[k + 1];
			return;
		}
	}
}

static void groups_release(struct name_groups *g)
{
	free(g->v);
	free(g->start);
	free(g->slot);
	memset(g, 0, sizeof(*g));
}

static void resolve_calls(struct gm_index *idx)
{
	struct name_groups groups;
	const struct key_ref *names;
	size_t *imported = gm_xcalloc(idx->nfiles + 1, sizeof(*imported));
	size_t cap = 0, marked = SIZE_MAX, *parent, *cluster_of;

	group_names(&groups, idx);
	names = groups.v;

	for (size_t id = 0; id < idx->nunits; id++) {
		const struct gm_unit *u = gm_index_unit(idx, id);
		size_t file = idx->units[id].file;
		const struct gm_file *f = &idx->files[file];
		for (size_t c = 0; c < u->ncalls; c++) {
			size_t lo, hi;
			bool found = false;
			group_find(&groups, u->calls[c], &lo, &hi);
			if (lo == hi)
				continue;
			/* Ids run in file order and ascend in a group,
			 * so a file's units of one name are one stretch of [lo, hi):
			 * find it by bisection (a common name like __init__ has
			 * thousands of units; edges are sorted below). */
			for (size_t j = id_bound(names, lo, hi, f->first_unit);
			     j < hi && names[j].id < f->first_unit + f->scan.n; j++) {
				if (names[j].id != id)
					add_edge(idx, &cap, id, names[j].id, false);
				found = true;
			}
			if (found)
				continue;
			if (file != marked) {
				/* imported[g] == file + 1: the caller's file imports g */
				for (size_t k = 0; k < f->nimported; k++)
					imported[f->imported[k]] = file + 1;
				marked = file;
			}
			if (hi - lo <= 8 * f->nimported) {
				for (size_t j = lo; j < hi; j++)
					if (imported[idx->units[names[j].id].file] == file + 1) {
						add_edge(idx, &cap, id, names[j].id, true);
						found = true;
					}
			} else {
				for (size_t k = 0; k < f->nimported; k++) {
					const struct gm_file *g = &idx->files[f->imported[k]];
					for (size_t j = id_bound(names, lo, hi, g->first_unit);
					     j < hi && names[j].id < g->first_unit + g->scan.n; j++) {
						add_edge(idx, &cap, id, names[j].id, true);
						found = true;
					}
				}
			}
			if (!found && hi - lo == 1)
				add_edge(idx, &cap, id, names[lo].id, true);
		}
	}
	groups_release(&groups);
	free(imported);
	/* Edges come in caller order: sort each caller's run by callee. */
	for (size_t lo = 0, hi; lo < idx->nedges; lo = hi) {
		for (hi = lo + 1; hi < idx->nedges && idx->edges[hi].caller == idx->edges[lo].caller; hi++)
			;
		if (hi - lo > 1)
			qsort(idx->edges + lo, hi - lo, sizeof(*idx->edges), cmp_edge);
	}

	/* Fan-in/out over distinct cross-file neighbours (edges are sorted and
	 * unique per caller/callee after this pass). */
	{
		size_t w = 0;
		for (size_t i = 0; i < idx->nedges; i++)
			if (w == 0 || cmp_edge(&idx->edges[w - 1], &idx->edges[i]) != 0)
				idx->edges[w++] = idx->edges[i];
		idx->nedges = w;
	}
	parent = gm_xcalloc(idx->nunits + 1, sizeof(*parent));
	for (size_t id = 0; id < idx->nunits; id++)
		parent[id] = id;
	for (size_t i = 0; i < idx->nedges; i++) {
		const struct gm_edge *e = &idx->edges[i];
		if (!e->cross_file)
			continue;
		idx->units[e->caller].fan_out++;
		idx->units[e->callee].fan_in++;
		if (idx->files[idx->units[e->caller].file].target &&
		    idx->files[idx->units[e->callee].file].target) {
			size_t a = uf_find(parent, e->caller), b = uf_find(parent, e->callee);
			if (a != b)
				parent[a > b ? a : b] = a < b ? a : b;
		}
	}
	/* Number clusters in order of their first unit. */
	cluster_of = gm_xcalloc(idx->nunits + 1, sizeof(*cluster_of));
	for (size_t id = 0; id < idx->nunits; id++)
		cluster_of[id] = SIZE_MAX;
	for (size_t id = 0; id < idx->nunits; id++) {
		size_t r;
		if (!idx->files[idx->units[id].file].target) {
			idx->units[id].cluster = -1;
			continue;
		}
		r = uf_find(parent, id);
		if (cluster_of[r] == SIZE_MAX)
			cluster_of[r] = idx->nclusters++;
		idx->units[id].cluster = (long)cluster_of[r];
	}
	free(cluster_of);
	free(parent);
}

void gm_resolve_index(struct gm_index *idx)
{
	resolve_imports(idx);
	resolve_calls(idx);
}
