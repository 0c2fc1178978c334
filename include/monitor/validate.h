/*
 * validate.h: is a model's answer an acceptable edit of one unit of a
 * file, and which edit?  The contract is DESIGN.md "Validation and merge".
 * Pure: text and units in, a verdict and an edit out; no model, no git.
 *
 * How an answer is read:
 *   1. Reasoning goes (<think>…</think>); the code block is the one that
 *      *defines* the function (a usage example, a shell command, a diff or
 *      a block tagged with another language is not it; an echo of the
 *      original is passed over when another block defines it); blocks that
 *      hold only imports, or only new functions the answer's function
 *      calls, join it.  An answer without fences is the code, prose lines
 *      before and after dropped.
 *   2. The block is parsed alone: import statements are taken out (they
 *      go into the file's import block, those the file has are dropped);
 *      a class around a method (`class Shape:` + the method, `impl Foo
 *      {…}`, `class Foo {…}`) is taken off when it is the method's own
 *      class (another class is a rejection); new functions outside that
 *      class, and for a method the ones the language writes as free
 *      functions (Python: no self/cls; JS/TS: a function declaration; Rust:
 *      no self and not called as Self::name), are free helpers, inserted
 *      before the class.
 *   3. The rest is re-indented to the unit's column (the lines inside a
 *      multi-line string literal are never re-indented; another indent
 *      unit, 2 vs 4 spaces or spaces vs tabs, is converted when every line
 *      is a whole number of levels) and spliced in place of the unit
 *      (with its leading comments when the answer brings its own).
 *      What lands there must be the function, once, of the same kind and
 *      name (or the planned one); other new functions beside it are
 *      helpers (moved before it); comments, decorators and attributes
 *      directly above a function go with it; code identical to the
 *      original file (echoed neighbours, class attributes) is dropped;
 *      anything else is a rejection naming it.
 *   4. A helper must have a name the file does not use and be called by
 *      the function or another helper.  The file with the edit must parse
 *      with no more ERROR/MISSING nodes than before and keep every other
 *      unit by name and order; no placeholder the original lacked; not
 *      shrunk by more than half (function + helpers) unless planned; not
 *      cut off (finish_reason length / max_tokens).
 */
#ifndef MONITOR_VALIDATE_H
#define MONITOR_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/edit.h"
#include "monitor/lang.h"
#include "monitor/scan.h"

enum gm_verdict {
	GM_VERDICT_ACCEPT,    /* apply it */
	GM_VERDICT_UNCHANGED, /* the same function, ignoring trailing white space, nothing added */
	GM_VERDICT_REJECT,    /* reason says why, in one line */
};

/*
 * What validation needs of an original file (its parse, a fresh scan with
 * scopes and leads, its imports), computed once for the many answers about
 * its functions.  Borrows `src`, which must outlive it.
 */
struct gm_validate_file;
int gm_validate_file_new(struct gm_validate_file **out, const struct gm_lang *lang, const char *src,
                         size_t len, TSParser *parser);
void gm_validate_file_free(struct gm_validate_file *f);

struct gm_validate_in {
	const struct gm_lang *lang;
	const char *src; /* the original file */
	size_t len;
	const struct gm_file_scan *scan; /* a scan of src (the cache's will do) */
	const struct gm_unit *unit;      /* one of scan->units */
	const char *answer;        /* the model's answer (reasoning may be inline) */
	size_t answer_len;
	const char *finish_reason; /* NULL: unknown */
	const char *new_name;      /* the plan's new name (short or qualified), or NULL */
	const char *new_signature; /* the plan's new signature, or NULL: the name in it is allowed */
	bool allow_shrink;         /* the plan says the function may shrink */
	TSParser *parser;          /* the thread's parser, or NULL */
	const struct gm_validate_file *file; /* of src, or NULL: made here for this answer */
};

struct gm_validate_result {
	enum gm_verdict verdict;
	char *reason;           /* NULL on accept */
	/* On accept: */
	char *text;             /* the new file, this edit alone */
	size_t len;
	struct gm_edit edit;    /* what merge applies */
	char *code;             /* the function as it stands in `text` */
	size_t code_len;
	char **helpers;         /* qualified names of the new functions, file order */
	size_t nhelpers;
	char **imports;         /* the import lines (Go: specs) new to the file */
	size_t nimports;
	unsigned cc_before;     /* the function's cyclomatic complexity before */
	unsigned cc_after;      /* after: the highest of the function and its helpers */
	unsigned cc_after_sum;  /* after: their sum */
};

/*
 * Judge `in->answer`.  Returns 0 with a verdict (a rejection is not an
 * error), negative only when the check itself failed (parser).  Release
 * `out` with gm_validate_result_release().  Every string in `out` is its own.
 */
int gm_validate(struct gm_validate_result *out, const struct gm_validate_in *in);
void gm_validate_result_release(struct gm_validate_result *r);

/*
 * The one "answer was cut off" rule: `finish_reason` "length" (OpenAI,
 * and what backends normalize Anthropic's stop_reason to) or "max_tokens"
 * means the answer hit its token limit.  Returns the rejection reason
 * ("answer was cut off (finish_reason length)"), the caller's to free, or
 * NULL when the answer ended by itself (or `finish_reason` is NULL).
 * gm_validate applies it first.
 */
char *gm_validate_cut_off(const char *finish_reason);

/*
 * Placeholder kinds (bits) found in `text`: "..." alone on a line or as a
 * comment, and comments such as "rest of the code", "existing code".
 * Python's Ellipsis inside an expression and JS spread are not counted.
 */
unsigned gm_validate_placeholders(const char *text, size_t len);

#endif
