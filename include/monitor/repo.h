/*
 * repo.h: reading a repository through libgit2: opening, resolving
 * revisions, listing the blobs of a commit or of the index under pathspecs,
 * reading attributes as of a commit, and the changed lines of a diff.
 * Nothing here writes.
 */
#ifndef MONITOR_REPO_H
#define MONITOR_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <git2.h>

/*
 * Discover the repository containing `path`; NULL: as git does from its
 * environment (GIT_DIR, GIT_WORK_TREE, GIT_CEILING_DIRECTORIES, ...; so
 * `git --git-dir=X monitor` and `git -C dir monitor` work), else the
 * current directory.  Turns off libgit2's re-hashing of every object read.
 * git_repository_free it.
 */
int gm_repo_open(git_repository **out, const char *path);

/*
 * Resolve `rev` to a commit.  A revision that does not exist is GM_EFATAL
 * with "bad revision 'X'"; an unborn HEAD is GM_EFATAL too, with a message
 * saying it has no commits yet (git's `log` exits 128 there as well).
 * The caller frees `*out` with git_commit_free.
 */
int gm_repo_resolve_commit(git_commit **out, git_repository *repo, const char *rev);
/* The tree of that commit (the same errors); the caller frees it with git_tree_free. */
int gm_repo_resolve_tree(git_tree **out, git_repository *repo, const char *rev);

/*
 * Pathspecs as git takes them, from the top of the tree: a directory or
 * file ("src/", "a.py"), a wildcard pattern ("*.py": '*' crosses '/'), and
 * git's magic: long ":(top,literal,glob,icase,exclude)path" (`glob`: '*'
 * stays in a component, '**' spans directories; `literal`: no wildcards;
 * `icase`: ASCII case ignored) or short ":/path" (top), ":!path" /
 * ":^path" (exclude), and "prefix:N" (the first N bytes are the directory
 * the path was typed in: compared exactly, wildcards in it are plain).  A
 * path matches when one include matches (or there are only excludes) and
 * no exclude does.  Bad magic, "" and a path above the top are GM_EUSAGE
 * with git's words.  gm_pathspec_free frees.
 */
struct gm_pathspec;
int gm_pathspec_new(struct gm_pathspec **out, const char *const *specs, size_t n);
bool gm_pathspec_matches(const struct gm_pathspec *ps, const char *path);
void gm_pathspec_free(struct gm_pathspec *ps);

/*
 * The current directory as git's prefix: its path from the top of the
 * work tree with a trailing '/' ("inventory/"), "" at the top, outside
 * the work tree, inside the repository directory or in a bare
 * repository.  The caller frees `*out`.
 */
int gm_repo_prefix(char **out, git_repository *repo);

/*
 * Pathspecs typed in the directory `prefix` (gm_repo_prefix), made into
 * pathspecs from the top as git does: the prefix put in front unless
 * :(top) or ":/", ".", ".." and "//" resolved, the magic kept, written as
 * ":(magic,...,prefix:N)path" for gm_pathspec_new.  Errors as
 * gm_pathspec_new's.  `*out` has `n` strings; gm_pathspec_strv_free frees.
 */
int gm_pathspec_prefix(char ***out, const char *prefix, const char *const *specs, size_t n);
void gm_pathspec_strv_free(char **v, size_t n);

/*
 * Does `text` match the wildcard `pattern` ('*', '?', "[a-z]", "[!x]",
 * "[[:alpha:]]", '\' escapes)?  `pathname`: '*' and '?' never match '/',
 * and "**" as a whole component matches any number of directories (git's
 * wildmatch with WM_PATHNAME); `icase`: ASCII case is ignored.
 */
bool gm_wildmatch(const char *pattern, const char *text, bool pathname, bool icase);

struct gm_entry {
	char *path;
	git_oid oid;
	uint32_t mode; /* git_filemode_t */
};

struct gm_entries {
	struct gm_entry *items;
	size_t n, cap;
};

/* Blobs (and links/submodules, by mode) of a tree, sorted by path; gm_entries_release frees. */
int gm_repo_list_tree(struct gm_entries *out, git_repository *repo, git_tree *tree,
                      const struct gm_pathspec *ps);
/* Stage-0 entries of the index, sorted by path. */
/*
 * The index as git commands see it: $GIT_INDEX_FILE when set (git points
 * hooks at a temporary one for `commit -a` / `commit <paths>`; it becomes
 * the repository's index), else the repository's own.  A bare repository
 * has none: GM_EFATAL "this operation must be run in a work tree", as git
 * says.  The caller frees `*out` with git_index_free.
 */
int gm_repo_index(git_index **out, git_repository *repo);

int gm_repo_list_index(struct gm_entries *out, git_repository *repo,
                       const struct gm_pathspec *ps);
void gm_entries_release(struct gm_entries *e);

/*
 * Value of attribute `name` for `path` as of `commit` (NULL: index and
 * working tree .gitattributes, as git does for staged content).  `*out`
 * is NULL when unspecified, "true"/"false" for set/unset, else the value;
 * the caller frees it.
 */
int gm_repo_attr(char **out, git_repository *repo, const git_oid *commit,
                 const char *path, const char *name);

/*
 * Changed lines of one file, new side, 1-based inclusive.  A pure deletion
 * is given as end = start - 1: lines were removed after line `start - 1`
 * (start 1: at the top of the file).  plan.h decides which units a range
 * touches.
 */
struct gm_line_range {
	uint32_t start, end;
};

struct gm_file_lines {
	char *path;                   /* new side */
	char *old_path;               /* the rename source, or NULL when not renamed */
	bool has_old;                 /* the file existed before (modified or renamed) */
	git_oid old_id, new_id;       /* its blobs before (when has_old) and after */
	/* Both texts, so a unit can be compared by content (plan.h): */
	char *old_text, *new_text;    /* NULL when there is none, or it cannot be read */
	size_t old_len, new_len;
	struct gm_line_range *ranges; /* in file order, one per hunk */
	size_t n, cap;
};

/* Per-file changed lines, sorted by path (strcmp), one entry per path. */
struct gm_changed_lines {
	struct gm_file_lines *files;
	size_t n, cap;
};

/*
 * The lines changed from `old_tree` (NULL: the empty tree, everything is
 * new) to `new_tree`, or, when `new_tree` is NULL, to the index `index`
 * (NULL: the repository's, git_repository_set_index respected).  Hunks
 * without context, as `git diff -U0` shows them; every file is diffed as
 * text (whether it is source is the scanner's call).  Renames are found
 * as git finds them (git_diff_find_similar, 50% similar): a renamed file's
 * lines are those changed from its source, so a pure `git mv` changes none.
 * Files deleted on the new side have no lines and are left out.  The texts
 * of each changed file before and after are kept with its lines (memory:
 * the changed files, not the repository).  Release with
 * gm_changed_lines_release().
 */
int gm_repo_changed_lines(struct gm_changed_lines *out, git_repository *repo, git_tree *old_tree,
                          git_tree *new_tree, git_index *index);
/* The entry of `path`, or NULL when the diff did not change it (pointer into `c`). */
const struct gm_file_lines *gm_changed_lines_find(const struct gm_changed_lines *c,
                                                  const char *path);
void gm_changed_lines_release(struct gm_changed_lines *c);

/*
 * The file at `path` in `commit`, NUL-terminated: `*out` NULL (and 0) when
 * there is none or it is not a file.  GM_ETOOBIG past `max` bytes, naming
 * it; the caller frees `*out`.
 */
int gm_repo_read_path(char **out, size_t *len, git_repository *repo, const git_oid *commit,
                      const char *path, size_t max);

#endif
