/*
 * review.h: a generated branch, function by function (`git monitor
 * review`), and dropping single functions from it.
 *
 * The branch is read as the whole range base...tip: the monitor commit is
 * the newest commit from the tip (first parents) carrying a note under
 * refs/notes/monitor or a `Monitor-Run:` trailer; its note names the base
 * (else the base is its parent).  The changed functions are found by
 * scanning both sides of every file that differs between base and tip (a
 * unit is identified by path + qualified name + ordinal); the note, when
 * there is one, adds route, model, attempts, status and rationale; without
 * it, route and model come from the commit message.
 *
 * Nothing here writes but gm_review_drop, which adds one commit on top of
 * the branch, copies the note to it and moves that one branch ref (only if
 * it still points where it did).  The working tree, the index, HEAD and
 * other refs are never touched.
 */
#ifndef MONITOR_REVIEW_H
#define MONITOR_REVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <git2.h>

/* One function the branch changed.  The review owns every string. */
struct gm_review_fn {
	char *path;
	char *name;      /* qualified name, "#n" appended for the n-th duplicate */
	char *route;     /* "local", "claude", or "unknown" */
	char *model;     /* or "unknown" */
	char *status;    /* the note's status ("applied", "dropped"); "changed" without a note */
	char *reason;    /* the note's reason, or NULL */
	char *rationale; /* the plan's rationale, or NULL */
	unsigned attempts;
	bool in_note;       /* the note has a task for it */
	bool changed;       /* its text differs between base and tip */
	bool changed_after; /* a commit after the monitor commit changed it */
	bool in_base, in_tip;
	int added, removed; /* lines, base...tip */
	uint32_t base_start_line, base_end_line; /* 0 when not in base */
	uint32_t tip_start_line, tip_end_line;   /* 0 when not in tip */
	char *base_text, *tip_text;              /* NULL when absent */
	size_t base_len, tip_len;
};

struct gm_review {
	char *branch;  /* short name: monitor/... */
	char *refname; /* refs/heads/... */
	git_oid tip, base, monitor_commit;
	git_oid note_commit; /* the commit carrying the note (tip after a drop) */
	bool has_note;
	char *note;   /* the note's JSON text, or NULL */
	char *run_id; /* from the note or the trailer, or NULL */
	size_t ncommits_after; /* commits between the monitor commit and the tip */
	struct gm_review_fn *fns; /* file order: path, then position */
	size_t n;
};

/*
 * The newest branch under refs/heads/<prefix> (prefix NULL: "monitor/") by
 * committer date.  GM_ENOTFOUND (message set) when there is none.
 */
int gm_review_default_branch(char **out, git_repository *repo, const char *prefix);

/*
 * Read `branch` (a short name or refs/heads/...).  A branch that does not
 * exist is GM_EFATAL "no branch 'x'"; one without a monitor commit is
 * GM_ERROR.  gm_review_free releases it.
 */
int gm_review_load(struct gm_review **out, git_repository *repo, const char *branch);
void gm_review_free(struct gm_review *r);

/* The function `spec` ("path:name") names, or NULL. */
const struct gm_review_fn *gm_review_find(const struct gm_review *r, const char *spec);

/* One line of a function's diff; `origin` is ' ', '+', '-', 'H' (hunk header) or 'F' (file header). */
typedef int (*gm_review_line_fn)(void *ctx, char origin, const char *text, size_t len);

/*
 * The unified diff of `fn`, base text against tip text, line numbers as in
 * the files, through `cb` (text without its newline).  A callback
 * returning non-zero stops it with that value.
 */
int gm_review_diff(const struct gm_review_fn *fn, unsigned context, gm_review_line_fn cb, void *ctx);

/*
 * Drop the functions `specs` ("path:name", as the review lists them): one
 * commit on top of the tip restoring their base text (a function the branch
 * added is removed), message "review: drop <n> function(s)" with the names
 * in the body; the note copied to it with those tasks marked "dropped";
 * then the branch ref moved, only if it still points at the tip that was
 * read.  A spec naming no changed function is GM_ERROR naming it, and
 * nothing is written; so is a branch checked out in a worktree.
 * `*out` is the new tip.
 */
int gm_review_drop(git_oid *out, git_repository *repo, const struct gm_review *r,
                   const char *const *specs, size_t nspecs);

#endif
