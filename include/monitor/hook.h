/*
 * hook.h: the pre-commit hook: installing our script into the hooks
 * directory (chaining a foreign hook that was there), removing it again
 * byte-for-byte, and the check the hook runs: the units the staged diff
 * touches whose complexity is over a threshold.
 *
 * Files in the hooks directory, for a hook installed over a foreign one:
 *   pre-commit                      our script (marker line GM_HOOK_MARKER)
 *   pre-commit.monitor-chained      the foreign hook, renamed; run first
 *   pre-commit.monitor-chained.old  only with --force, an older chained file
 * Nothing is ever deleted but our own script; uninstall renames back.
 * The check reads the index and objects only: it writes no file, index or
 * ref (the scan cache under .git/monitor may grow).
 */
#ifndef MONITOR_HOOK_H
#define MONITOR_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <git2.h>

#define GM_HOOK_MARKER "# git-monitor hook"
#define GM_HOOK_CHAINED_NAME "pre-commit.monitor-chained"

/*
 * The hooks directory: core.hooksPath (relative: to the worktree root, or
 * the git dir when bare; "~/" expanded), else <common git dir>/hooks, which
 * linked worktrees share.  The caller frees `*out`.
 */
int gm_hook_dir(char **out, git_repository *repo);

enum gm_hook_result {
	GM_HOOK_INSTALLED,     /* there was no hook */
	GM_HOOK_CHAINED,       /* a foreign hook was kept and runs first */
	GM_HOOK_ALREADY,       /* ours was there: refreshed */
	GM_HOOK_REMOVED,       /* uninstall: ours removed, nothing to restore */
	GM_HOOK_RESTORED,      /* uninstall: the chained hook is back */
	GM_HOOK_NOT_INSTALLED, /* uninstall: there was nothing of ours */
};

/*
 * Install our pre-commit script.  `self_exe` (may be NULL) is an absolute
 * path of the git-monitor binary, used when `git monitor` is not found at
 * commit time.  Without `force`, a hook that cannot be chained (a symlink,
 * a directory, or a chained file already there) is GM_EEXISTS with a
 * message saying what to do; with `force` it is chained anyway (renamed,
 * never deleted).  `*hook_path` (may be NULL) is the script's path, the
 * caller's to free.
 */
int gm_hook_install(enum gm_hook_result *out, char **hook_path, git_repository *repo,
                    const char *self_exe, bool force);

/*
 * Remove our script and rename the chained hook back.  A pre-commit that is
 * not ours is left alone: GM_EEXISTS naming it.  `*hook_path` (may be NULL)
 * is the script's path, the caller's to free, also on failure.
 */
int gm_hook_uninstall(enum gm_hook_result *out, char **hook_path, git_repository *repo);

struct gm_hook_finding {
	char *path;
	unsigned line; /* first line of the unit */
	char *name;    /* qualified name */
	unsigned complexity;
};

struct gm_hook_findings {
	struct gm_hook_finding *items;
	size_t n, cap;
};

/*
 * The units of the staged content (the repository's index, or the file in
 * $GIT_INDEX_FILE as git sets it for `commit -a` / `commit <paths>`) that
 * the staged diff against HEAD touches (every unit of staged files on an
 * unborn HEAD), with complexity over `max`, in path and line order.
 * "Touches" is plan.h's rule, the one `refactor --staged` selects by.
 * `out` owns its strings: release it with gm_hook_findings_release().
 */
int gm_hook_check(struct gm_hook_findings *out, git_repository *repo, unsigned max);
void gm_hook_findings_release(struct gm_hook_findings *f);

/*
 * Start `argv` (argv[0] looked up on PATH) fully detached: new session, no
 * terminal, stdin from /dev/null, stdout and stderr appended to `log_path`,
 * not waited for.  When called under `git commit` (a `git ... commit`
 * process among our ancestors), the command starts only once that commit
 * has landed (HEAD of `repo` moved), so it reads the new commit; if the
 * commit process ends without moving HEAD (aborted), nothing is started.
 */
int gm_hook_spawn_detached(const char *const *argv, const char *log_path, git_repository *repo);

#endif
