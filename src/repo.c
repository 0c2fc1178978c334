#include "monitor/repo.h"

#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

int gm_repo_open(git_repository **out, const char *path)
{
	int rc;

	/*
	 * A scan reads every blob of a commit; libgit2 hashes each object it
	 * reads again to compare with its id (13% of a warm scan), which git
	 * itself does not do: zlib's checksum and the object's size still
	 * catch a damaged file.
	 */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	rc = git_repository_open_ext(out, path ? path : ".", 0, NULL);
	if (rc == GIT_ENOTFOUND) {
		gm_error_set("not a git repository");
		return GM_ENOREPO;
	}
	if (rc < 0)
		return gm_error_git(GM_ENOREPO, "cannot open repository");
	return 0;
}

int gm_repo_resolve_commit(git_commit **out, git_repository *repo, const char *rev)
{
	git_object *obj = NULL;
	int rc;

	*out = NULL;
	rc = git_revparse_single(&obj, repo, rev);
	if (rc == GIT_EUNBORNBRANCH ||
	    (rc == GIT_ENOTFOUND && strcmp(rev, "HEAD") == 0 && git_repository_head_unborn(repo) == 1)) {
		gm_error_set("'%s' has no commits yet", rev);
		return GM_EFATAL;
	}
	if (rc == GIT_ENOTFOUND || rc == GIT_EAMBIGUOUS || rc == GIT_EINVALIDSPEC) {
		gm_error_set("bad revision '%s'", rev);
		return GM_EFATAL;
	}
	if (rc < 0)
		return gm_error_git(GM_EFATAL, "cannot resolve '%s'", rev);
	rc = git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc < 0) {
		gm_error_set("'%s' does not name a commit", rev);
		return GM_EFATAL;
	}
	return 0;
}

int gm_repo_resolve_tree(git_tree **out, git_repository *repo, const char *rev)
{
	git_commit *c = NULL;
	int rc;

	*out = NULL;
	if ((rc = gm_repo_resolve_commit(&c, repo, rev)) < 0)
		return rc;
	if (git_commit_tree(out, c) < 0)
		rc = gm_error_git(GM_EFATAL, "cannot read '%s'", rev);
	git_commit_free(c);
	return rc;
}

/*
 * git's semantics: a path matches when it matches one include pattern (or
 * there are none) and no exclude pattern.  libgit2's own negation is
 * first-match-wins, so includes and excludes are kept apart.
 */
struct gm_pathspec {
	git_pathspec *include; /* NULL: everything */
	git_pathspec *exclude; /* NULL: nothing */
};

static const char *exclude_body(const char *s)
{
	if (strncmp(s, ":!", 2) == 0 || strncmp(s, ":^", 2) == 0)
		return s + 2;
	if (strncmp(s, ":(exclude)", 10) == 0)
		return s + 10;
	return NULL;
}

static char *normalize(const char *s)
{
	if (strncmp(s, ":/", 2) == 0)
		s += 2;
	while (strncmp(s, "./", 2) == 0)
		s += 2;
	if (strcmp(s, ".") == 0)
		s = "";
	return gm_xstrdup(s);
}

static int make_spec(git_pathspec **out, char **specs, size_t n)
{
	git_strarray arr = { specs, n };
	*out = NULL;
	if (n == 0)
		return 0;
	if (git_pathspec_new(out, &arr) < 0)
		return gm_error_git(GM_EUSAGE, "bad pathspec '%s'", specs[0]);
	return 0;
}

int gm_pathspec_new(struct gm_pathspec **out, const char *const *specs, size_t n)
{
	struct gm_pathspec *p = gm_xcalloc(1, sizeof(*p));
	char **inc = gm_xcalloc(n + 1, sizeof(char *));
	char **exc = gm_xcalloc(n + 1, sizeof(char *));
	size_t ni = 0, ne = 0;
	bool everything = false;
	int rc;

	for (size_t i = 0; i < n; i++) {
		const char *body = exclude_body(specs[i]);
		char *norm = normalize(body ? body : specs[i]);
		if (body) {
			exc[ne++] = norm;
		} else if (!*norm) {
			everything = true; /* "." or ":/": the whole tree */
			free(norm);
		} else {
			inc[ni++] = norm;
		}
	}
	rc = make_spec(&p->include, inc, everything ? 0 : ni);
	if (rc == 0)
		rc = make_spec(&p->exclude, exc, ne);
	for (size_t i = 0; i < ni; i++)
		free(inc[i]);
	for (size_t i = 0; i < ne; i++)
		free(exc[i]);
	free(inc);
	free(exc);
	if (rc < 0) {
		gm_pathspec_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

bool gm_pathspec_matches(const struct gm_pathspec *ps, const char *path)
{
	if (!ps)
		return true;
	if (ps->include && git_pathspec_matches_path(ps->include, 0, path) != 1)
		return false;
	return !(ps->exclude && git_pathspec_matches_path(ps->exclude, 0, path) == 1);
}

void gm_pathspec_free(struct gm_pathspec *ps)
{
	if (!ps)
		return;
	git_pathspec_free(ps->include);
	git_pathspec_free(ps->exclude);
	free(ps);
}

static void push_entry(struct gm_entries *out, const char *path, const git_oid *oid, uint32_t mode)
{
	GM_GROW(out->items, out->cap, out->n + 1);
	out->items[out->n].path = gm_xstrdup(path);
	git_oid_cpy(&out->items[out->n].oid, oid);
	out->items[out->n].mode = mode;
	out->n++;
}

struct walk_ctx {
	struct gm_entries *out;
	const struct gm_pathspec *ps;
};

static int walk_cb(const char *root, const git_tree_entry *entry, void *payload)
{
	struct walk_ctx *ctx = payload;
	git_filemode_t mode = git_tree_entry_filemode(entry);
	char *path;

	if (mode == GIT_FILEMODE_TREE)
		return 0;
	path = gm_xasprintf("%s%s", root, git_tree_entry_name(entry));
	if (gm_pathspec_matches(ctx->ps, path))
		push_entry(ctx->out, path, git_tree_entry_id(entry), (uint32_t)mode);
	free(path);
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct gm_entry *)a)->path, ((const struct gm_entry *)b)->path);
}

int gm_repo_list_tree(struct gm_entries *out, git_repository *repo, git_tree *tree,
                      const struct gm_pathspec *ps)
{
	struct walk_ctx ctx = { out, ps };
	(void)repo;
	if (git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, &ctx) < 0)
		return gm_error_git(GM_EFATAL, "cannot read tree");
	qsort(out->items, out->n, sizeof(*out->items), cmp_entry);
	return 0;
}

int gm_repo_list_index(struct gm_entries *out, git_repository *repo,
                       const struct gm_pathspec *ps)
{
	git_index *idx = NULL;
	size_t n;

	if (git_repository_index(&idx, repo) < 0)
		return gm_error_git(GM_EFATAL, "cannot read the index");
	n = git_index_entrycount(idx);
	for (size_t i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(idx, i);
		if (!e || git_index_entry_stage(e) != 0)
			continue;
		if (gm_pathspec_matches(ps, e->path))
			push_entry(out, e->path, &e->id, e->mode);
	}
	git_index_free(idx);
	qsort(out->items, out->n, sizeof(*out->items), cmp_entry);
	return 0;
}

void gm_entries_release(struct gm_entries *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->items[i].path);
	free(e->items);
	e->items = NULL;
	e->n = e->cap = 0;
}

int gm_repo_attr(char **out, git_repository *repo, const git_oid *commit,
                 const char *path, const char *name)
{
	git_attr_options opts;
	const char *v = NULL;

	*out = NULL;
	memset(&opts, 0, sizeof(opts));
	opts.version = GIT_ATTR_OPTIONS_VERSION;
	if (commit) {
		opts.flags = GIT_ATTR_CHECK_NO_SYSTEM | GIT_ATTR_CHECK_INCLUDE_COMMIT |
		             GIT_ATTR_CHECK_INDEX_ONLY;
		git_oid_cpy(&opts.attr_commit_id, commit);
	} else {
		opts.flags = GIT_ATTR_CHECK_INDEX_THEN_FILE;
	}
	if (git_attr_get_ext(&v, repo, &opts, path, name) < 0)
		return gm_error_git(GM_ERROR, "cannot read attributes of '%s'", path);
	switch (git_attr_value(v)) {
	case GIT_ATTR_VALUE_TRUE: *out = gm_xstrdup("true"); break;
	case GIT_ATTR_VALUE_FALSE: *out = gm_xstrdup("false"); break;
	case GIT_ATTR_VALUE_STRING: *out = gm_xstrdup(v); break;
	default: break;
	}
	return 0;
}

/* ---- changed lines ------------------------------------------------------------- */

static int on_hunk(const git_diff_delta *delta, const git_diff_hunk *hunk, void *payload)
{
	struct gm_changed_lines *c = payload;
	struct gm_file_lines *f;
	struct gm_line_range *g;

	if (delta->status == GIT_DELTA_DELETED || !delta->new_file.path)
		return 0;
	/* Deltas come one path at a time; a path seen again (a type change) is merged below. */
	if (!c->n || strcmp(c->files[c->n - 1].path, delta->new_file.path) != 0) {
		GM_GROW(c->files, c->cap, c->n + 1);
		memset(&c->files[c->n], 0, sizeof(c->files[c->n]));
		c->files[c->n++].path = gm_xstrdup(delta->new_file.path);
	}
	f = &c->files[c->n - 1];
	GM_GROW(f->ranges, f->cap, f->n + 1);
	g = &f->ranges[f->n++];
	/* -U0: a pure deletion's new_start is the line after which lines went. */
	g->start = (uint32_t)hunk->new_start + (hunk->new_lines == 0);
	g->end = (uint32_t)(hunk->new_start + hunk->new_lines - (hunk->new_lines > 0));
	return 0;
}

static int cmp_file_lines(const void *a, const void *b)
{
	return strcmp(((const struct gm_file_lines *)a)->path, ((const struct gm_file_lines *)b)->path);
}

static int cmp_range(const void *a, const void *b)
{
	const struct gm_line_range *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Sort by path and fold entries of the same path into one. */
static void normalize_files(struct gm_changed_lines *c)
{
	size_t w = 0;

	qsort(c->files, c->n, sizeof(*c->files), cmp_file_lines);
	for (size_t i = 0; i < c->n; i++) {
		struct gm_file_lines *f = &c->files[i];
		if (w && strcmp(c->files[w - 1].path, f->path) == 0) {
			struct gm_file_lines *d = &c->files[w - 1];
			GM_GROW(d->ranges, d->cap, d->n + f->n);
			memcpy(d->ranges + d->n, f->ranges, f->n * sizeof(*f->ranges));
			d->n += f->n;
			qsort(d->ranges, d->n, sizeof(*d->ranges), cmp_range);
			free(f->path);
			free(f->ranges);
			continue;
		}
		c->files[w++] = *f;
	}
	c->n = w;
}

int gm_repo_changed_lines(struct gm_changed_lines *out, git_repository *repo, git_tree *old_tree,
                          git_tree *new_tree, git_index *index)
{
	git_diff_options o;
	git_diff *diff = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	o.context_lines = 0;
	o.interhunk_lines = 0;
	o.flags = GIT_DIFF_SKIP_BINARY_CHECK;
	if (new_tree)
		err = git_diff_tree_to_tree(&diff, repo, old_tree, new_tree, &o);
	else
		err = git_diff_tree_to_index(&diff, repo, old_tree, index, &o);
	if (err < 0)
		return gm_error_git(GM_EFATAL, new_tree ? "cannot diff two trees" : "cannot diff the index");
	err = git_diff_foreach(diff, NULL, NULL, on_hunk, NULL, out);
	git_diff_free(diff);
	if (err < 0) {
		gm_changed_lines_release(out);
		return gm_error_git(GM_EFATAL, new_tree ? "cannot diff two trees" : "cannot diff the index");
	}
	normalize_files(out);
	return 0;
}

const struct gm_file_lines *gm_changed_lines_find(const struct gm_changed_lines *c,
                                                  const char *path)
{
	struct gm_file_lines key;
	key.path = (char *)path;
	if (!c->n)
		return NULL;
	return bsearch(&key, c->files, c->n, sizeof(*c->files), cmp_file_lines);
}

void gm_changed_lines_release(struct gm_changed_lines *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->files[i].path);
		free(c->files[i].ranges);
	}
	free(c->files);
	memset(c, 0, sizeof(*c));
}

int gm_repo_read_path(char **out, size_t *len, git_repository *repo, const git_oid *commit,
                      const char *path, size_t max)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int rc = 0;

	*out = NULL;
	*len = 0;
	git_oid_tostr(hex, sizeof(hex), commit);
	if (git_commit_lookup(&c, repo, commit) < 0 || git_commit_tree(&tree, c) < 0) {
		rc = gm_error_git(GM_EFATAL, "cannot read commit %s", hex);
		goto cleanup;
	}
	if (git_tree_entry_bypath(&e, tree, path) < 0) {
		git_error_clear();
		goto cleanup;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		goto cleanup;
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0) {
		rc = gm_error_git(GM_EFATAL, "cannot read '%s' in %s", path, hex);
		goto cleanup;
	}
	if ((size_t)git_blob_rawsize(blob) > max) {
		gm_error_set("'%s' in %s is larger than %zu bytes", path, hex, max);
		rc = GM_ETOOBIG;
		goto cleanup;
	}
	*len = (size_t)git_blob_rawsize(blob);
	*out = gm_xmalloc(*len + 1);
	memcpy(*out, git_blob_rawcontent(blob), *len);
	(*out)[*len] = '\0';
cleanup:
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(c);
	return rc;
}
