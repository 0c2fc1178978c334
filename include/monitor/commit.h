/*
 * commit.h: writing a refactor's result into the object store and onto a
 * new branch, without ever touching the user's state.
 *
 * Guarantees: nothing here checks out, moves HEAD, writes the index file or
 * updates an existing ref.  Blobs, trees and commits are written first; the
 * one new branch ref is created last (gm_commit_write_branch, never forced),
 * so an interrupted run leaves only unreachable objects behind.  The
 * temporary checkout (for --verify) goes to a fresh directory of its own,
 * through a private repository handle whose index lives in memory.
 */
#ifndef MONITOR_COMMIT_H
#define MONITOR_COMMIT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <git2.h>

/* One file's new content; the file keeps its mode (new files: 100644). */
struct gm_change {
	const char *path; /* repository-relative, '/'-separated */
	const char *data;
	size_t len;
};

/*
 * The author/committer signature: user.name and user.email from git config
 * (git_signature_default), GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL (author) or
 * GIT_COMMITTER_NAME/GIT_COMMITTER_EMAIL (committer) overriding them as git
 * does.  Without a name and an email: GM_ERROR, "set user.name and
 * user.email".  The caller frees with git_signature_free.
 */
int gm_commit_signatures(git_signature **author, git_signature **committer, git_repository *repo);

/*
 * Write the blobs of `changes` and one commit whose tree is `base`'s tree
 * with those files replaced, parent `base`, message `message`.  `*out` is
 * the new commit; no ref is written.
 */
int gm_commit_create(git_oid *out, git_repository *repo, const git_oid *base,
                     const struct gm_change *changes, size_t nchanges, const char *message);

/*
 * For --staged: a commit of the index's tree (parent HEAD, none on an unborn
 * HEAD) so the refactor commit can go on top of it.  Reads the index, never
 * writes it.  A conflicted index is an error.
 */
int gm_commit_snapshot_index(git_oid *out, git_repository *repo, const char *message);

/*
 * The goal as a branch-name slug: lowercase ASCII letters, digits and single
 * dashes, at most 40 bytes, no leading or trailing dash, never empty
 * ("refactor" when nothing is left).  The caller frees it.
 */
char *gm_commit_slug(const char *goal);

/*
 * The branch name a run wants: `given` if not NULL, else
 * `<prefix><yyyymmdd-hhmmss>-<slug>` for `when` (local time).  `prefix`
 * NULL means "monitor/".  An invalid name is GM_EUSAGE naming it.
 */
int gm_commit_branch_name(char **out, const char *prefix, const char *goal, time_t when,
                          const char *given);

/*
 * Can branch `name` (valid, gm_commit_branch_name) be written at all?
 * Cheap, so a run asks before any model call.  GM_EUSAGE naming the
 * problem when a component is too long for a file name, or when a branch
 * holds a place where `name` needs a directory ("monitor" for
 * "monitor/x", "monitor/x" for "monitor/x/y"), which no suffix can
 * resolve.  The branch existing already, or branches beneath it, are not a
 * problem: gm_commit_write_branch then picks a suffix.
 */
int gm_commit_branch_check(git_repository *repo, const char *name);

/*
 * Waiting for a ref lock another git holds (its `.lock` file exists), as
 * git does for core.filesRefLockTimeout: attempts are retried with a
 * growing, jittered back-off until the timeout.  Our refs are written by
 * long runs whose model work must not be lost over a lock held for a few
 * milliseconds, so the timeout is GM_REF_LOCK_TIMEOUT_MS unless
 * core.filesRefLockTimeout says otherwise (milliseconds; negative: wait
 * for ever, as git).
 */
#define GM_REF_LOCK_TIMEOUT_MS 10000

struct gm_lock_wait {
	uint64_t start_ms;
	long timeout_ms;  /* < 0: no limit */
	unsigned attempts;
	const volatile sig_atomic_t *interrupted; /* NULL: not interruptible */
};

/* Start waiting on `repo`'s refs; `interrupted` (may be NULL) stops the wait. */
void gm_lock_wait_init(struct gm_lock_wait *w, git_repository *repo,
                       const volatile sig_atomic_t *interrupted);
/*
 * After a failed attempt on a locked ref (GIT_ELOCKED): sleep before the
 * next one and return 0; GM_EINTERRUPTED when interrupted, GM_ERROR when
 * the timeout has passed (message: "'<ref>' is locked by another git
 * process (<ref>.lock)").
 */
int gm_lock_wait_next(struct gm_lock_wait *w, const char *ref);

/*
 * Create refs/heads/<name> at `commit` (never forced), with `reflog_msg`.
 * When the branch exists (or branches exist beneath it: "monitor/x/y"
 * for "monitor/x"), `<name>-2`, `<name>-3` … are tried instead.  A locked
 * name is waited for (gm_lock_wait) and looked at again.  `*out_name` is
 * the branch name written; the caller frees it.  `interrupted` (may be
 * NULL) stops a wait: GM_EINTERRUPTED, nothing written.
 */
int gm_commit_write_branch(char **out_name, git_repository *repo, const char *name,
                           const git_oid *commit, const char *reflog_msg,
                           const volatile sig_atomic_t *interrupted);

/* One changed function, for the commit message body. */
struct gm_commit_fn {
	const char *path;
	const char *name;  /* qualified: Class.method */
	const char *route; /* "local" or "claude" */
	const char *model;
	unsigned attempts;
	const char *const *helpers; /* new functions that came with it */
	size_t nhelpers;
};

struct gm_commit_msg {
	const char *goal;
	const struct gm_commit_fn *fns;
	size_t nfns;
	const char *run_id;
	const char *models; /* NULL: the distinct route:model pairs of fns */
	double cost_usd;
};

/*
 * The commit message: "refactor: <goal, first line, at most ~60 chars>",
 * a body of one line per function ("path: Class.method (local:m, 1
 * attempt)"; "path: f (+ helpers g, h) (local:m, 1 attempt)"), then the trailers Monitor-Run, Monitor-Models and
 * Monitor-Cost ("$0.0123").  The caller frees it.
 */
char *gm_commit_message(const struct gm_commit_msg *m);

/*
 * Check out `commit` into a new temporary directory (under $TMPDIR) for
 * --verify; the user's working tree and index are not involved.
 * `*out_dir` is the directory; remove it with gm_commit_checkout_remove.
 */
int gm_commit_checkout_temp(char **out_dir, git_repository *repo, const git_oid *commit);
/* Remove the directory tree made by gm_commit_checkout_temp (NULL: no-op). */
int gm_commit_checkout_remove(const char *dir);

#endif
