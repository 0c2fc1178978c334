/*
 * validate.h: is a model's new function text an acceptable replacement of
 * one unit of a file?  The contract is DESIGN.md "Validation and merge".
 * Pure: text and units in, a verdict out; no model, no git.
 *
 * The answer is first re-indented to the unit's column (its own common
 * indentation removed, every line but the first prefixed by the
 * indentation of the unit's line in the original, tabs kept), then spliced
 * into the file at [start_byte, end_byte) and the whole file re-parsed.
 */
#ifndef MONITOR_VALIDATE_H
#define MONITOR_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/lang.h"
#include "monitor/scan.h"

enum gm_verdict {
	GM_VERDICT_ACCEPT,    /* apply it */
	GM_VERDICT_UNCHANGED, /* the same text, ignoring trailing white space */
	GM_VERDICT_REJECT,    /* reason says why, in one line */
};

struct gm_validate_in {
	const struct gm_lang *lang;
	const char *src; /* the original file */
	size_t len;
	const struct gm_file_scan *scan; /* the scan of src */
	const struct gm_unit *unit;      /* one of scan->units */
	const char *code;          /* the extracted answer (gm_extract_code) */
	size_t code_len;
	const char *finish_reason; /* NULL: unknown */
	const char *new_name;      /* the plan's new name (short or qualified), or NULL */
	const char *new_signature; /* the plan's new signature, or NULL: the name in it is allowed */
	bool allow_shrink;         /* the plan says the function may shrink */
	TSParser *parser;          /* the thread's parser, or NULL */
};

struct gm_validate_result {
	enum gm_verdict verdict;
	char *reason; /* NULL on accept */
	char *text;   /* the new file (accept only) */
	size_t len;
	char *code;   /* the function as spliced, re-indented (accept only) */
	size_t code_len;
};

/*
 * Judge `in->code`.  Returns 0 with a verdict (a rejection is not an
 * error), negative only when the check itself failed (parser).  Release
 * `out` with gm_validate_result_release().
 */
int gm_validate(struct gm_validate_result *out, const struct gm_validate_in *in);
void gm_validate_result_release(struct gm_validate_result *r);

/*
 * The one "answer was cut off" rule: `finish_reason` "length" (OpenAI,
 * and what backends normalize Anthropic's stop_reason to) or "max_tokens"
 * means the answer hit its token limit.  Returns the rejection reason
 * ("answer was cut off (finish_reason length)"), the caller's to free, or
 * NULL when the answer ended by itself (or `finish_reason` is NULL).
 * gm_validate applies it first; callers that must not read a cut-off
 * answer at all (before extraction) ask it directly.
 */
char *gm_validate_cut_off(const char *finish_reason);

/*
 * Re-indent `code` for `unit` of `src`: strip the code's common
 * indentation, prefix every line but the first with the indentation of the
 * unit's line, and use the unit's line endings (CRLF stays CRLF).  An
 * answer that copied the unit's bytes as they are in the file (first line
 * at column 0, the others at the file's columns) is recognised and kept.
 * The result is the caller's; trailing white space removed.
 */
char *gm_validate_reindent(const char *src, size_t len, const struct gm_unit *unit,
                           const char *code, size_t code_len, size_t *out_len);

/*
 * Placeholder kinds (bits) found in `text`: "..." alone on a line or as a
 * comment, and comments such as "rest of the code", "existing code".
 * Python's Ellipsis inside an expression and JS spread are not counted.
 */
unsigned gm_validate_placeholders(const char *text, size_t len);

#endif
