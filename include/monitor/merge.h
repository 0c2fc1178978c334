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

#endif
