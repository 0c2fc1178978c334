#include "monitor/index.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/cache.h"
#include "monitor/error.h"
#include "monitor/repo.h"
#include "monitor/scan_cache.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define DEFAULT_MAX_FILE_SIZE (1024 * 1024)

static const char *const skip_names[GM_SKIP__COUNT] = {
	"none", "binary", "too_large", "unknown_language", "submodule", "symlink", "unreadable"
};

const char *gm_skip_reason_name(enum gm_skip_reason r)
{
	return skip_names[r];
}

struct work {
	struct gm_index *idx;
	bool parse_only;
	const char *gitdir;
	struct gm_cache *cache;
	size_t max_size;
	atomic_size_t next;
	atomic_size_t hits;
	atomic_int failed;
	pthread_mutex_t lock;
	char error[1024];
};

static void fail(struct work *w, const char *msg)
{
	pthread_mutex_lock(&w->lock);
	if (!atomic_load(&w->failed))
		snprintf(w->error, sizeof(w->error), "%s", msg);
	atomic_store(&w->failed, 1);
	pthread_mutex_unlock(&w->lock);
}

static int scan_one(struct work *w, git_repository *repo, git_odb *odb, TSParser *parser,
                    struct gm_file *f)
{
	char key[41];
	size_t size;
	git_object_t type;
	git_blob *blob = NULL;
	int rc;

	if (git_odb_read_header(&size, &type, odb, &f->oid) < 0)
		return gm_error_git(GM_EFATAL, "cannot read '%s'", f->path);
	if (size > w->max_size) {
		f->skip = GM_SKIP_TOO_LARGE;
		return 0;
	}
	gm_scan_cache_key(key, f->lang, &f->oid);
	if (!w->parse_only && gm_scan_cache_load(&f->scan, w->cache, key)) {
		f->cached = true;
		atomic_fetch_add(&w->hits, 1);
		return 0;
	}
	if (git_blob_lookup(&blob, repo, &f->oid) < 0)
		return gm_error_git(GM_EFATAL, "cannot read '%s'", f->path);
	if (git_blob_is_binary(blob)) {
		f->skip = GM_SKIP_BINARY;
		git_blob_free(blob);
		return 0;
	}
	if (w->parse_only) {
		/* The floor of any tree-sitter tool: read and parse, nothing else. */
		TSTree *t = gm_scan_parse(f->lang, git_blob_rawcontent(blob),
		                          (size_t)git_blob_rawsize(blob), parser);
		git_blob_free(blob);
		ts_tree_delete(t);
		return t ? 0 : GM_EFATAL;
	}
	rc = gm_scan_source(&f->scan, f->lang, git_blob_rawcontent(blob),
	                    (size_t)git_blob_rawsize(blob), parser);
	git_blob_free(blob);
	if (rc < 0) {
		gm_error_set("cannot parse '%s': %s", f->path, gm_error_last());
		return GM_EFATAL;
	}
	gm_scan_cache_store(w->cache, key, &f->scan);
	return 0;
}

static void *worker(void *arg)
{
	struct work *w = arg;
	git_repository *repo = NULL;
	git_odb *odb = NULL;
	TSParser *parser = NULL;

	if (git_repository_open(&repo, w->gitdir) < 0 || git_repository_odb(&odb, repo) < 0) {
		gm_error_git(GM_EFATAL, "cannot open repository");
		fail(w, gm_error_last());
		goto cleanup;
	}
	parser = ts_parser_new();
	for (;;) {
		size_t i = atomic_fetch_add(&w->next, 1);
		struct gm_file *f;
		if (i >= w->idx->nfiles || atomic_load(&w->failed))
			break;
		f = &w->idx->files[i];
		if (!f->lang || f->skip != GM_SKIP_NONE)
			continue;
		if (scan_one(w, repo, odb, parser, f) < 0) {
			fail(w, gm_error_last());
			break;
		}
	}
cleanup:
	ts_parser_delete(parser);
	git_odb_free(odb);
	git_repository_free(repo);
	return NULL;
}

static int scan_files(struct gm_index *idx, const struct gm_index_opts *opts)
{
	struct work w;
	pthread_t *threads;
	int jobs = opts->jobs > 0 ? opts->jobs : gm_ncpu();
	int started = 0, rc = 0;

	memset(&w, 0, sizeof(w));
	w.idx = idx;
	w.parse_only = opts->parse_only;
	w.gitdir = git_repository_path(idx->repo);
	w.max_size = opts->max_file_size ? opts->max_file_size : DEFAULT_MAX_FILE_SIZE;
	atomic_init(&w.next, 0);
	atomic_init(&w.hits, 0);
	atomic_init(&w.failed, 0);
	pthread_mutex_init(&w.lock, NULL);
	if (!opts->no_cache)
		gm_cache_open(&w.cache, idx->repo);
	if ((size_t)jobs > idx->nfiles)
		jobs = idx->nfiles ? (int)idx->nfiles : 1;

	threads = gm_xcalloc((size_t)jobs, sizeof(*threads));
	for (int i = 1; i < jobs; i++) {
		if (pthread_create(&threads[i], NULL, worker, &w) != 0)
			break;
		started++;
	}
	worker(&w); /* the calling thread works too */
	for (int i = 1; i <= started; i++)
		pthread_join(threads[i], NULL);
	free(threads);

	if (atomic_load(&w.failed)) {
		gm_error_set("%s", w.error);
		rc = GM_EFATAL;
	}
	idx->cache_hits = atomic_load(&w.hits);
	gm_cache_free(w.cache);
	pthread_mutex_destroy(&w.lock);
	return rc;
}

/* ---- cross-file resolution ---------------------------------------------- */

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

/* First element of [lo, n) whose key is after `key` (v sorted). */
static size_t upper_bound(const struct key_ref *v, size_t lo, size_t n, const char *key)
{
	size_t hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(v[mid].key, key) <= 0)
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
	if (n >= 2) {
		static const char *const exts[] = { "h", "hh", "hpp", "hxx", "c", "cc", "cpp", "js", "mjs",
			"cjs", "jsx", "ts", "tsx", "py", "go", "rs", "java", NULL };
		for (const char *const *e = exts; *e; e++)
			if (strcmp(parts[n - 1], *e) == 0 && strchr(imp, '.')) {
				n--;
				break;
			}
	}
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

static void build_edges(struct gm_index *idx)
{
	struct key_ref *names = gm_xcalloc(idx->nunits + 1, sizeof(*names));
	size_t *imported = gm_xcalloc(idx->nfiles + 1, sizeof(*imported));
	size_t cap = 0, marked = SIZE_MAX, *parent, *cluster_of;

	for (size_t id = 0; id < idx->nunits; id++) {
		names[id].key = gm_index_unit(idx, id)->short_name;
		names[id].id = id;
	}
	qsort(names, idx->nunits, sizeof(*names), cmp_key_ref);

	for (size_t id = 0; id < idx->nunits; id++) {
		const struct gm_unit *u = gm_index_unit(idx, id);
		size_t file = idx->units[id].file;
		const struct gm_file *f = &idx->files[file];
		for (size_t c = 0; c < u->ncalls; c++) {
			size_t lo = lower_bound(names, idx->nunits, u->calls[c]);
			size_t hi = upper_bound(names, lo, idx->nunits, u->calls[c]);
			bool found = false;
			if (lo == hi)
				continue;
			/* Names are sorted by (name, id) and ids run in file order,
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
	free(names);
	free(imported);
	if (idx->nedges)
		qsort(idx->edges, idx->nedges, sizeof(*idx->edges), cmp_edge);

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

/* ---- building ------------------------------------------------------------ */

static bool has_attributes(const struct gm_entries *e, git_repository *repo)
{
	char *info;
	bool found = false;
	for (size_t i = 0; i < e->n && !found; i++) {
		const char *slash = strrchr(e->items[i].path, '/');
		found = strcmp(slash ? slash + 1 : e->items[i].path, ".gitattributes") == 0;
	}
	if (found)
		return true;
	info = gm_xasprintf("%sinfo/attributes", git_repository_commondir(repo));
	{
		FILE *f = fopen(info, "r");
		found = f != NULL;
		if (f)
			fclose(f);
	}
	free(info);
	return found;
}

static bool h_means_cpp(const struct gm_entries *e)
{
	bool cpp = false;
	for (size_t i = 0; i < e->n; i++) {
		const struct gm_lang *l = gm_lang_for_path(e->items[i].path, false);
		const char *dot = strrchr(e->items[i].path, '.');
		if (!l || (dot && strcmp(dot, ".h") == 0))
			continue;
		if (strcmp(l->name, "c") == 0)
			return false;
		if (strcmp(l->name, "cpp") == 0)
			cpp = true;
	}
	return cpp;
}

int gm_index_build(struct gm_index **out, git_repository *repo, const struct gm_index_opts *opts)
{
	struct gm_index *idx = gm_xcalloc(1, sizeof(*idx));
	struct gm_entries entries = { 0 };
	struct gm_pathspec *ps = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	bool attrs, h_cpp;
	size_t ucap = 0;
	int rc;

	*out = NULL;
	idx->repo = repo;
	idx->staged = opts->staged;
	idx->threshold = opts->complexity_threshold ? opts->complexity_threshold : 10;
	if ((rc = gm_lang_init()) < 0)
		goto cleanup;
	if ((rc = gm_pathspec_new(&ps, opts->pathspecs, opts->npathspecs)) < 0)
		goto cleanup;
	if (opts->staged) {
		rc = gm_repo_list_index(&entries, repo, NULL);
	} else {
		if ((rc = gm_repo_resolve_commit(&commit, repo, opts->rev ? opts->rev : "HEAD")) < 0)
			goto cleanup;
		git_oid_cpy(&idx->commit, git_commit_id(commit));
		if (git_commit_tree(&tree, commit) < 0) {
			rc = gm_error_git(GM_EFATAL, "cannot read the tree of '%s'", opts->rev ? opts->rev : "HEAD");
			goto cleanup;
		}
		rc = gm_repo_list_tree(&entries, repo, tree, NULL);
	}
	if (rc < 0)
		goto cleanup;

	attrs = has_attributes(&entries, repo);
	h_cpp = h_means_cpp(&entries);
	idx->files = gm_xcalloc(entries.n + 1, sizeof(*idx->files));
	idx->nfiles = entries.n;
	for (size_t i = 0; i < entries.n; i++) {
		struct gm_file *f = &idx->files[i];
		const struct gm_entry *e = &entries.items[i];
		f->path = e->path;
		entries.items[i].path = NULL; /* ownership moves to the index */
		git_oid_cpy(&f->oid, &e->oid);
		f->target = gm_pathspec_matches(ps, f->path);
		if (e->mode == GIT_FILEMODE_LINK) {
			f->skip = GM_SKIP_SYMLINK;
			continue;
		}
		if (e->mode == GIT_FILEMODE_COMMIT) {
			f->skip = GM_SKIP_SUBMODULE;
			continue;
		}
		f->lang = gm_lang_for_path(f->path, h_cpp);
		if (attrs) {
			char *v = NULL;
			const git_oid *c = opts->staged ? NULL : &idx->commit;
			if ((rc = gm_repo_attr(&v, repo, c, f->path, "monitor-language")) < 0)
				goto cleanup;
			if (v && strcmp(v, "true") && strcmp(v, "false")) {
				const struct gm_lang *l = gm_lang_by_name(v);
				if (!l) {
					gm_error_set("unknown language '%s' in monitor-language attribute of '%s'", v, f->path);
					free(v);
					rc = GM_EUSAGE;
					goto cleanup;
				}
				f->lang = l;
			} else if (v && strcmp(v, "false") == 0) {
				f->lang = NULL;
			}
			free(v);
			if ((rc = gm_repo_attr(&v, repo, c, f->path, "monitor-local-only")) < 0)
				goto cleanup;
			f->local_only = v && strcmp(v, "false") != 0;
			free(v);
		}
		if (!f->lang)
			f->skip = GM_SKIP_UNKNOWN_LANGUAGE;
	}

	if ((rc = scan_files(idx, opts)) < 0)
		goto cleanup;

	for (size_t i = 0; i < idx->nfiles; i++) {
		struct gm_file *f = &idx->files[i];
		if (f->skip != GM_SKIP_NONE) {
			if (f->target)
				idx->skipped[f->skip]++;
			if (f->lang && f->skip != GM_SKIP_NONE)
				f->lang = f->skip == GM_SKIP_UNKNOWN_LANGUAGE ? NULL : f->lang;
			continue;
		}
		idx->scanned++;
		if (f->target)
			idx->targets_scanned++;
		f->first_unit = idx->nunits;
		GM_GROW(idx->units, ucap, idx->nunits + f->scan.n);
		for (size_t u = 0; u < f->scan.n; u++) {
			struct gm_unit_info *ui = &idx->units[idx->nunits++];
			memset(ui, 0, sizeof(*ui));
			ui->file = i;
			ui->unit = u;
			ui->complex = f->scan.units[u].complexity >= idx->threshold;
		}
	}
	resolve_imports(idx);
	build_edges(idx);

cleanup:
	gm_entries_release(&entries);
	git_tree_free(tree);
	git_commit_free(commit);
	gm_pathspec_free(ps);
	if (rc < 0) {
		gm_index_free(idx);
		return rc;
	}
	*out = idx;
	return 0;
}

void gm_index_free(struct gm_index *idx)
{
	if (!idx)
		return;
	for (size_t i = 0; i < idx->nfiles; i++) {
		free(idx->files[i].path);
		free(idx->files[i].imported);
		gm_file_scan_release(&idx->files[i].scan);
	}
	free(idx->files);
	free(idx->units);
	free(idx->edges);
	free(idx);
}
