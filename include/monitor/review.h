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
 * A function's text includes the comments, attributes and decorators
 * directly above it (scan.h's lead).  With a note, the helpers a function
 * brought are listed under it (helper_of), and its imports with it.
 *
 * Nothing here writes but gm_review_drop and gm_review_undo_drop
 * (review_drop.c), which add one commit on top of the branch, copy the note
 * to it and move that one branch ref (only if it still points where it
 * did).  The working tree, the index, HEAD and other refs are never touched.
 */
#ifndef MONITOR_REVIEW_H
#define MONITOR_REVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "monitor/index.h"

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
	char *base_text, *tip_text;              /* NULL when absent; whole lines */
	size_t base_len, tip_len;
	uint32_t base_start, base_end;           /* where those texts are in the files */
	uint32_t tip_start, tip_end;
	long helper_of;      /* a helper: the index in fns of the function it came with; else -1 */
	char **helpers;      /* the note: the helpers it brought (qualified names) */
	size_t nhelpers;
	char **imports;      /* the note: the import lines it brought */
	size_t nimports;
	unsigned cc_before, cc_after; /* the note: complexity before -> after (0: unknown) */
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
	struct gm_lang_rule *langs; /* how the tip's files are parsed (index.h) */
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

/* The function `spec` ("path:name") names, or NULL; borrowed from `r`. */
const struct gm_review_fn *gm_review_find(const struct gm_review *r, const char *spec);

/*
 * The changed functions `spec` names: "path:name" where either part may be a
 * glob (fnmatch; `*` also crosses '/', so "src/" "**:parse_*" works as
 * git users expect; 'encoder.py:JSONEncoder.*'); a helper stands for the function it came
 * with.  `*out` (indexes into r->fns, file order, no duplicates) is the
 * caller's to free; 0 when none matches.
 */
size_t gm_review_match(size_t **out, const struct gm_review *r, const char *spec);

/* One line of a function's diff; `origin` is ' ', '+', '-', 'H' (hunk header) or 'F' (file header). */
typedef int (*gm_review_line_fn)(void *ctx, char origin, const char *text, size_t len);

/*
 * The unified diff of `fn`, base text against tip text, line numbers as in
 * the files, through `cb` (text without its newline).  A callback
 * returning non-zero stops it with that value.
 */
int gm_review_diff(const struct gm_review_fn *fn, unsigned context, gm_review_line_fn cb, void *ctx);

/*
 * Drop functions (review_drop.c): one commit on top of the tip restoring
 * their base text with their leading comments (a function the branch added
 * is removed), removing the helpers they brought and the imports they
 * brought that no kept function of the file still lists; every file must
 * parse no worse than at the tip.  Message "review: drop <n> function(s)"
 * with the names in the body; the note copied to it with those tasks marked
 * "dropped"; then the branch ref moved, only if it still points at the tip
 * that was read.  Nothing is written when a spec matches no changed
 * function (GM_ERROR naming it), when the branch is checked out in a
 * worktree, or when a restored file would not parse.  `*out` is the new tip.
 *
 * gm_review_drop takes specs as gm_review_match reads them;
 * gm_review_drop_fns indexes into r->fns (a helper stands for its function).
 */
int gm_review_drop(git_oid *out, git_repository *repo, const struct gm_review *r,
                   const char *const *specs, size_t nspecs);
int gm_review_drop_fns(git_oid *out, git_repository *repo, const struct gm_review *r,
                       const size_t *fns, size_t n);

/*
 * Undo the last drop: the newest drop commit that no undo has taken back
 * yet is reverted on top of the tip (libgit2's revert, in memory: later
 * commits stay; conflicting ones are an error), in one new commit; the
 * note's tasks that drop marked dropped are as they were before it.
 * History is kept, nothing rewritten.  GM_ERROR when there is no drop left.
 */
int gm_review_undo_drop(git_oid *out, git_repository *repo, const struct gm_review *r);

#endif
