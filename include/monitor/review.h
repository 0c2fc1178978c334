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
#include "monitor/report.h"

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
	struct gm_run_report *record; /* the note, read (report.h); NULL without one or unreadable */
	/* The note's tasks that changed nothing: rejected, failed, skipped (any kind), file order;
	 * pointers into `record`. */
	const struct gm_run_task **unapplied;
	size_t nunapplied;
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
 * The note's task `spec` ("path:name", exact) names, of any status (the
 * rewrite when an analysis has the same name), or NULL; borrowed from `r`.
 */
const struct gm_run_task *gm_review_find_task(const struct gm_review *r, const char *spec);

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

/* ---- decisions (review_walk.c) ------------------------------------------------
 *
 * Going through a branch one function at a time, as `review -i` and the
 * review page do: the functions that can be decided (changed by the branch,
 * still in its tip, not dropped already, not helpers: a helper goes with
 * its function), chosen by pathspecs and name globs, in file order, each
 * undecided, kept or dropped.  Only gm_review_walk_apply writes, through
 * gm_review_drop_fns: one commit for every function decided "drop".
 */
enum gm_review_decision { GM_REVIEW_UNDECIDED, GM_REVIEW_KEEP, GM_REVIEW_DROP };

struct gm_review_walk {
	const struct gm_review *r;         /* borrowed */
	size_t *fns;                       /* indexes into r->fns */
	enum gm_review_decision *decision; /* one per fns[i] */
	size_t n;
	size_t cur;                        /* the function shown: a position in fns, < n when n > 0 */
};

/*
 * The functions of `r` in paths `pathspecs` (git's pathspecs, repo.h; none:
 * all) whose qualified or short name matches one of `globs` (fnmatch; none:
 * all), all undecided, the first current.  GM_EUSAGE for a bad pathspec.
 * gm_review_walk_release frees what it holds (not `r`).
 */
int gm_review_walk_init(struct gm_review_walk *w, const struct gm_review *r,
                        const char *const *pathspecs, size_t npathspecs, const char *const *globs,
                        size_t nglobs);
void gm_review_walk_release(struct gm_review_walk *w);

/* The function at position `i` of the walk (borrowed from r). */
const struct gm_review_fn *gm_review_walk_fn(const struct gm_review_walk *w, size_t i);

/*
 * Decide the current function; with `rest_of_file`, also every undecided
 * function after it in the same file (git add -p's a and d).
 */
void gm_review_walk_decide(struct gm_review_walk *w, enum gm_review_decision d, bool rest_of_file);

/*
 * Move to the next (`dir` 1) or previous (-1) function, only undecided ones
 * when `undecided_only`; `wrap`: past the end, go on from the other end.
 * false (cur unchanged) when there is none.
 */
bool gm_review_walk_step(struct gm_review_walk *w, int dir, bool undecided_only, bool wrap);

/*
 * Make current the next function after the current one (wrapping) whose
 * qualified name or path:name matches the extended regular expression
 * `re`.  GM_EUSAGE (message set) for a bad expression, GM_ENOTFOUND when no
 * function matches.
 */
int gm_review_walk_search(struct gm_review_walk *w, const char *re);

/* How many functions have decision `d`. */
size_t gm_review_walk_count(const struct gm_review_walk *w, enum gm_review_decision d);

/*
 * Decide from a list (the page's Apply): the functions `specs` name
 * (gm_review_match: globs, a helper stands for its function) dropped,
 * every other one kept.  GM_ERROR naming the first spec that names no
 * function of the walk; the decisions are unchanged then.
 */
int gm_review_walk_drop_specs(struct gm_review_walk *w, const char *const *specs, size_t n);

/*
 * Write the decisions: one commit dropping every function decided "drop"
 * (gm_review_drop_fns).  Undecided functions are kept.  `*wrote` false and
 * nothing written when none is dropped; else `*out` is the new tip.
 */
int gm_review_walk_apply(git_oid *out, bool *wrote, git_repository *repo,
                         const struct gm_review_walk *w);

#endif
