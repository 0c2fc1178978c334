/*
 * merge.h: apply the accepted edits of one file in one pass, by byte
 * offset of the original (as bottom-up application would: no edit moves
 * another's offsets), and keep only edits whose file still parses.  Pure:
 * text in, text out.
 *
 * Edits are splices of the original file plus imports (edit.h: units never
 * overlap, so neither do edits; overlapping edits are refused); an edit is
 * applied or dropped whole, with its helpers and imports.  When the merged file has more
 * ERROR/MISSING nodes than the original, each edit is tried alone against
 * the original and dropped if it alone breaks the parse; if the survivors
 * still break it together, they are added one at a time in file order and
 * any that breaks the parse is dropped.
 */
#ifndef MONITOR_MERGE_H
#define MONITOR_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/commit.h"
#include "monitor/edit.h"
#include "monitor/lang.h"


struct gm_merge_result {
	char *text; /* the merged file */
	size_t len;
	bool *applied; /* per edit, in the caller's order */
	char **reason; /* per edit: why it was dropped, NULL when applied */
	size_t n;
	size_t ndropped;
};

/*
 * Merge `edits` (any order) into `src`.  GM_EINVALID when two edits overlap
 * or one lies outside the file; negative also when the parser fails.
 * `errors` is the original's ERROR/MISSING count (gm_file_scan.errors).
 * Release `out` with gm_merge_result_release().
 */
int gm_merge(struct gm_merge_result *out, const struct gm_lang *lang, const char *src,
             size_t len, unsigned errors, const struct gm_edit *const *edits, size_t n,
             TSParser *parser);
void gm_merge_result_release(struct gm_merge_result *r);

/*
 * The merge stage of a run: the accepted edits of many files, each file
 * merged as gm_merge does.  Edits are numbered across the files in order
 * (files[0]'s first is 0), which is how `on` and `dropped` index them.
 */
struct gm_merge_file {
	const char *path;
	const struct gm_lang *lang;
	const char *src;  /* the base text */
	size_t len;
	unsigned errors;  /* its ERROR/MISSING count (gm_file_scan.errors) */
	const struct gm_edit *const *edits;
	size_t nedits;
};

/*
 * The files that keep an edit, ready for gm_commit_create: the texts are
 * owned here, the paths are the input files' (borrowed).
 */
struct gm_merged {
	struct gm_change *changes; /* in the order of the input files */
	size_t nchanges;
};

/*
 * Merge the edits with on[k] set (`on` NULL: all).  `dropped` (NULL: not
 * wanted) has one slot per edit: for an edit that was merged but dropped,
 * why (the caller frees it); NULL otherwise.  Release `out` with
 * gm_merged_release().
 */
int gm_merge_files(struct gm_merged *out, char **dropped, const struct gm_merge_file *files,
                   size_t nfiles, const bool *on, TSParser *parser);
void gm_merged_release(struct gm_merged *m);

/* Lines `e` adds to and removes from `src` (the file it edits), as `git diff` counts them. */
void gm_merge_count_lines(int *added, int *removed, const char *src, const struct gm_edit *e);

struct gm_run_report;

/*
 * The commit message of a run (commit.h's): its goal and the applied
 * functions among `nedits` accepted edits (numbered across `files` as
 * above; edit k is the task of row edit_row[k] of `rep`), whose added and
 * removed line counts go into the report on the way.  Allocated.
 */
char *gm_merge_commit_message(struct gm_run_report *rep, const struct gm_merge_file *files,
                              const struct gm_edit *const *edits, const size_t *edit_row,
                              size_t nedits, const char *goal);

#endif
