#include "monitor/repo.h"

#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

int gm_repo_open(git_repository **out, const char *path)
{
	int rc = git_repository_open_ext(out, path ? path : ".", 0, NULL);
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
		return GM_ENOTFOUND;
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

struct gm_pathspec {
	git_pathspec *ps;
	bool empty;
};

int gm_pathspec_new(struct gm_pathspec **out, const char *const *specs, size_t n)
{
	struct gm_pathspec *p = gm_xcalloc(1, sizeof(*p));
	char **conv = gm_xcalloc(n + 1, sizeof(char *));
	git_strarray arr = { conv, n };
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const char *s = specs[i];
		/* git's exclude magic becomes libgit2's negation. */
		if (strncmp(s, ":!", 2) == 0 || strncmp(s, ":^", 2) == 0)
			conv[i] = gm_xasprintf("!%s", s + 2);
		else if (strncmp(s, ":(exclude)", 10) == 0)
			conv[i] = gm_xasprintf("!%s", s + 10);
		else if (strncmp(s, ":/", 2) == 0)
			conv[i] = gm_xstrdup(s + 2);
		else if (strcmp(s, ".") == 0 || strcmp(s, "./") == 0)
			conv[i] = gm_xstrdup("");
		else if (strncmp(s, "./", 2) == 0)
			conv[i] = gm_xstrdup(s + 2);
		else
			conv[i] = gm_xstrdup(s);
	}
	p->empty = true;
	for (size_t i = 0; i < n; i++)
		if (conv[i][0] != '\0')
			p->empty = false;
	if (!p->empty && git_pathspec_new(&p->ps, &arr) < 0)
		rc = gm_error_git(GM_EUSAGE, "bad pathspec");
	for (size_t i = 0; i < n; i++)
		free(conv[i]);
	free(conv);
	if (rc < 0) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

bool gm_pathspec_matches(const struct gm_pathspec *ps, const char *path)
{
	if (!ps || ps->empty)
		return true;
	return git_pathspec_matches_path(ps->ps, 0, path) == 1;
}

void gm_pathspec_free(struct gm_pathspec *ps)
{
	if (!ps)
		return;
	git_pathspec_free(ps->ps);
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
