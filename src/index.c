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
	const char *src;
	size_t size, len;
	git_object_t type;
	git_blob *blob = NULL;
	int rc = 0;

	if (git_odb_read_header(&size, &type, odb, &f->oid) < 0)
		return gm_error_git(GM_EFATAL, "cannot read '%s'", f->path);
	if (size > w->max_size) {
		f->skip = GM_SKIP_TOO_LARGE;
		return 0;
	}
	if (git_blob_lookup(&blob, repo, &f->oid) < 0)
		return gm_error_git(GM_EFATAL, "cannot read '%s'", f->path);
	if (git_blob_is_binary(blob)) {
		f->skip = GM_SKIP_BINARY;
		goto cleanup;
	}
	src = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	if (w->parse_only) {
		/* The floor of any tree-sitter tool: read and parse, nothing else. */
		TSTree *t = gm_scan_parse(f->lang, src, len, parser);
		ts_tree_delete(t);
		rc = t ? 0 : GM_EFATAL;
		goto cleanup;
	}
	/* A cached scan is checked against the blob's text, hence read first. */
	gm_scan_cache_key(key, f->lang, &f->oid);
	if (gm_scan_cache_load(&f->scan, w->cache, key, src, len)) {
		f->cached = true;
		atomic_fetch_add(&w->hits, 1);
		goto cleanup;
	}
	if ((rc = gm_scan_source(&f->scan, f->lang, src, len, parser)) < 0) {
		gm_error_set("cannot parse '%s': %s", f->path, gm_error_last());
		rc = GM_EFATAL;
		goto cleanup;
	}
	gm_scan_cache_store(w->cache, key, &f->scan);
cleanup:
	git_blob_free(blob);
	return rc;
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
		if (!f->lang || f->skip != GM_SKIP_NONE || f->unread)
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

/* ---- building ------------------------------------------------------------ */

static bool is_attributes_file(const char *path)
{
	const char *slash = strrchr(path, '/');
	return strcmp(slash ? slash + 1 : path, ".gitattributes") == 0;
}

static bool blob_names_ours(git_repository *repo, const git_oid *oid)
{
	git_blob *b = NULL;
	bool found = true; /* unreadable: let the lookups decide */
	if (git_blob_lookup(&b, repo, oid) == 0) {
		found = memmem(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), "monitor-", 8) != NULL;
		git_blob_free(b);
	} else {
		git_error_clear();
	}
	return found;
}

static bool file_names_ours(const char *path)
{
	char *buf = NULL;
	size_t len;
	bool found;
	if (gm_read_file(&buf, &len, path, (size_t)64 << 20) < 0) {
		gm_error_clear();
		return false; /* absent (or unreadable: git skips it too) */
	}
	found = memmem(buf, len, "monitor-", 8) != NULL;
	free(buf);
	return found;
}

/* The global attributes file git_attr_get_ext reads: core.attributesFile, else XDG's. */
static bool global_names_ours(git_repository *repo)
{
	git_config *cfg = NULL;
	git_buf path = { 0 };
	bool found = false;
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *def;

	if (git_repository_config_snapshot(&cfg, repo) == 0 &&
	    git_config_get_path(&path, cfg, "core.attributesfile") == 0)
		found = file_names_ours(path.ptr);
	git_error_clear();
	git_buf_dispose(&path);
	git_config_free(cfg);
	if (xdg && *xdg)
		def = gm_xasprintf("%s/git/attributes", xdg);
	else
		def = gm_xasprintf("%s/.config/git/attributes", home ? home : "");
	found = found || file_names_ours(def);
	free(def);
	return found;
}

/*
 * Whether the attribute lookups can find monitor-language or
 * monitor-local-only: some attributes file exists, and one of those that
 * git_attr_get_ext reads names them (each lookup costs a walk of the
 * path's directories; a repository whose .gitattributes sets diff drivers
 * only needs none).  A staged scan also reads working-tree files, which
 * are not looked into: any attributes file means lookups there.
 */
static bool has_attributes(const struct gm_entries *e, git_repository *repo, bool staged)
{
	char *info = gm_xasprintf("%sinfo/attributes", git_repository_commondir(repo));
	bool exists = false, ours = false;
	git_index *index = NULL;

	for (size_t i = 0; i < e->n && !ours; i++)
		if (is_attributes_file(e->items[i].path)) {
			exists = true;
			ours = staged || blob_names_ours(repo, &e->items[i].oid);
		}
	{
		FILE *f = fopen(info, "r");
		if (f) {
			exists = true;
			fclose(f);
			ours = ours || staged || file_names_ours(info);
		}
	}
	free(info);
	if (!exists || ours)
		return exists;
	/* Scanning a commit, the lookups also read the index's attributes files. */
	if (git_repository_index(&index, repo) == 0) {
		size_t n = git_index_entrycount(index);
		for (size_t i = 0; i < n && !ours; i++) {
			const git_index_entry *ie = git_index_get_byindex(index, i);
			if (ie && is_attributes_file(ie->path))
				ours = blob_names_ours(repo, &ie->id);
		}
		git_index_free(index);
	} else {
		git_error_clear();
	}
	return ours || global_names_ours(repo);
}

/* Whether `.h` means C++ here: lang decides from the other paths. */
static bool h_means_cpp(const struct gm_entries *e)
{
	const char **paths = gm_xcalloc(e->n + 1, sizeof(*paths));
	bool cpp;
	for (size_t i = 0; i < e->n; i++)
		paths[i] = e->items[i].path;
	cpp = gm_lang_h_is_cpp(paths, e->n);
	free(paths);
	return cpp;
}

/*
 * The language of `path` (and whether it is local-only) as of `commit`
 * (NULL: the index): the extension, then the attributes when there are any.
 */
static int file_lang(const struct gm_lang **lang, bool *local_only, git_repository *repo,
                     const git_oid *commit, const char *path, bool h_cpp, bool attrs)
{
	char *v = NULL;
	int rc;

	*lang = gm_lang_for_path(path, h_cpp);
	if (local_only)
		*local_only = false;
	if (!attrs)
		return 0;
	if ((rc = gm_repo_attr(&v, repo, commit, path, "monitor-language")) < 0)
		return rc;
	if (v && strcmp(v, "true") && strcmp(v, "false")) {
		const struct gm_lang *l = gm_lang_by_name(v);
		if (!l) {
			gm_error_set("unknown language '%s' in monitor-language attribute of '%s'", v, path);
			free(v);
			return GM_EUSAGE;
		}
		*lang = l;
	} else if (v && strcmp(v, "false") == 0) {
		*lang = NULL;
	}
	free(v);
	if (!local_only)
		return 0;
	if ((rc = gm_repo_attr(&v, repo, commit, path, "monitor-local-only")) < 0)
		return rc;
	*local_only = v && strcmp(v, "false") != 0;
	free(v);
	return 0;
}

struct gm_lang_rule {
	git_repository *repo;
	git_oid commit;
	bool staged, h_cpp, attrs;
};

int gm_lang_rule_new(struct gm_lang_rule **out, git_repository *repo, const git_oid *commit)
{
	struct gm_entries entries = { 0 };
	struct gm_lang_rule *r;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	int rc;

	*out = NULL;
	if ((rc = gm_lang_init()) < 0)
		return rc;
	if (!commit) {
		rc = gm_repo_list_index(&entries, repo, NULL);
	} else if (git_commit_lookup(&c, repo, commit) < 0 || git_commit_tree(&tree, c) < 0) {
		char hex[GIT_OID_HEXSZ + 1];
		rc = gm_error_git(GM_EFATAL, "cannot read the tree of %s", git_oid_tostr(hex, sizeof(hex), commit));
	} else {
		rc = gm_repo_list_tree(&entries, repo, tree, NULL);
	}
	git_tree_free(tree);
	git_commit_free(c);
	if (rc < 0) {
		gm_entries_release(&entries);
		return rc;
	}
	r = gm_xcalloc(1, sizeof(*r));
	r->repo = repo;
	r->staged = !commit;
	if (commit)
		git_oid_cpy(&r->commit, commit);
	r->h_cpp = h_means_cpp(&entries);
	r->attrs = has_attributes(&entries, repo, r->staged);
	gm_entries_release(&entries);
	*out = r;
	return 0;
}

int gm_lang_rule_get(const struct gm_lang **out, struct gm_lang_rule *rule, const char *path)
{
	return file_lang(out, NULL, rule->repo, rule->staged ? NULL : &rule->commit, path, rule->h_cpp,
	                 rule->attrs);
}

void gm_lang_rule_free(struct gm_lang_rule *rule)
{
	free(rule);
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

	attrs = has_attributes(&entries, repo, opts->staged);
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
		f->unread = opts->scan_filter && !opts->scan_filter(f->path, opts->scan_filter_data);
		if ((rc = file_lang(&f->lang, &f->local_only, repo, opts->staged ? NULL : &idx->commit,
		                    f->path, h_cpp, attrs)) < 0)
			goto cleanup;
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
		if (f->unread)
			continue;
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
			ui->cluster = -1; /* until resolve.h says */
			ui->complex = f->scan.units[u].complexity >= idx->threshold;
		}
	}

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
