/*
 * runs.h: the runs of `git monitor refactor` that a repository holds, for
 * `git monitor list` and `git monitor clean`.  A run is a branch under the
 * branch prefix (monitor.branchPrefix, "monitor/") whose first-parent
 * history holds a git-monitor commit (a note under refs/notes/monitor or a
 * Monitor-Run trailer), or a note whose branch is gone (deleted after a
 * merge, say): its record still names the branch.
 *
 * Deleting (gm_runs_delete) removes only what a run owns: its branch ref
 * (only under the prefix, only while it still points where it was read,
 * never one checked out in a worktree), the notes on its commits that no
 * other remaining run shares, and the answer-cache entries its notes name
 * that no remaining note names.  Nothing else: not HEAD, the index, the
 * working tree or any other ref.
 *
 * Ownership: a gm_runs owns everything in it (gm_runs_release).
 */
#ifndef MONITOR_RUNS_H
#define MONITOR_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "monitor/report.h"

struct gm_run_info {
	char *branch;           /* short name ("monitor/..."); for a run whose branch is gone,
	                           the one its note names (or NULL) */
	char *refname;          /* refs/heads/...; NULL when the branch is gone */
	git_oid tip;            /* the branch's commit (gone: the newest noted commit) */
	git_oid commit;         /* the git-monitor commit */
	int64_t time;           /* its committer time (seconds since the epoch) */
	int offset;             /* and time zone, minutes east of UTC */
	char *goal;             /* the note's goal, else the commit subject after "refactor: " */
	char *run_id;           /* or NULL */
	bool has_note;
	size_t functions;       /* rewrite tasks in the note */
	size_t counts[GM_TASK_DROPPED + 1]; /* of those, by status */
	double cost_usd;        /* the note's total (0 without one) */
	bool merged;            /* the tip is HEAD's commit or one of its ancestors */
	bool checked_out;       /* its branch is checked out in a worktree */
	char *worktree;         /* where, when known, else NULL */
	git_oid *noted;         /* the commits of the run that carry a note */
	size_t nnoted;
	char **cache_keys;      /* the answer-cache entries its notes name */
	size_t ncache_keys;
};

struct gm_runs {
	struct gm_run_info *runs; /* newest first (time of the git-monitor commit) */
	size_t n;
	char *prefix;             /* the branch prefix used */
};

/* Every run, newest first.  `prefix` NULL: "monitor/". */
int gm_runs_list(struct gm_runs *out, git_repository *repo, const char *prefix);
void gm_runs_release(struct gm_runs *r);

/* What gm_runs_delete did (or, dry run, would do) to one run. */
struct gm_run_deleted {
	size_t run;             /* index into the gm_runs */
	bool refused;           /* nothing deleted: see `why` */
	char *why;              /* why refused, or NULL */
	bool branch;            /* its branch ref was (would be) deleted */
	size_t notes;           /* notes removed */
	size_t cache_entries;   /* answer-cache entries removed */
};

/*
 * Delete the runs `which[i]` says (indexes into `runs`); `dry_run`: change
 * nothing, say what would go.  `*out` (one entry per selected run, the
 * caller frees it and its `why`s) is filled even when a run is refused,
 * which is not an error; errors are git's (GM_EFATAL) and stop it.
 */
int gm_runs_delete(struct gm_run_deleted **out, size_t *nout, git_repository *repo,
                   const struct gm_runs *runs, const bool *which, bool dry_run);
void gm_runs_deleted_free(struct gm_run_deleted *d, size_t n);

/*
 * An age as `--older-than` takes it, git-style: "30.days", "2.weeks.ago",
 * "12 hours", "6.months", "1.year", "90.minutes" (a month is 30 days);
 * seconds.  GM_EUSAGE (message set) for anything else.
 */
int gm_runs_parse_age(int64_t *out, const char *text);

#endif
