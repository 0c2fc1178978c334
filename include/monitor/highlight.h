/*
 * highlight.h: syntax highlighting with the grammars' own highlights.scm
 * (embedded at build time from the grammar packages by
 * cmake/Highlights.cmake), for the review page.
 *
 * A language's highlight query is compiled on first use, once, under a
 * lock.  A pattern the runtime cannot compile (a node type this grammar
 * version lacks, a predicate it does not know) is left out, never the
 * whole query; a language whose query does not compile at all, or that
 * has none, is shown plain.  Predicates the C runtime leaves to the caller
 * are evaluated here: #eq?, #not-eq?, #match?, #not-match? (POSIX
 * extended regular expressions, with \d \w \s), #any-of?, #not-any-of?;
 * others (#is-not? local, #set!) do not stop a match.
 *
 * Precedence, as these queries are written: inside a node, its innermost
 * captured node decides; among the patterns that capture the same node,
 * the last one wins (so `(identifier) @variable` first and
 * `(function_declaration name: (identifier) @function)` later gives a
 * function).  Capture names map onto a few classes by their first part
 * (`function.method` is a function); names starting with `_` are private.
 */
#ifndef MONITOR_HIGHLIGHT_H
#define MONITOR_HIGHLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tree_sitter/api.h>

#include "monitor/lang.h"

struct gm_highlight_text {
	const char *lang; /* a gm_lang name */
	const char *data; /* the combined highlights.scm */
	size_t len;
};

/* Generated (cmake/Highlights.cmake); ends with a zeroed row. */
extern const struct gm_highlight_text gm_highlight_texts[];

enum gm_hl {
	GM_HL_NONE,
	GM_HL_KEYWORD,
	GM_HL_FUNCTION,
	GM_HL_TYPE,
	GM_HL_STRING,
	GM_HL_ESCAPE,
	GM_HL_COMMENT,
	GM_HL_NUMBER,   /* numbers, constants */
	GM_HL_BUILTIN,  /* builtin variables and constants: self, this, None, true */
	GM_HL_PARAMETER,
	GM_HL_PROPERTY,
	GM_HL_OPERATOR,
	GM_HL_PUNCTUATION,
	GM_HL_ATTRIBUTE, /* attributes, decorators, macros, labels */
	GM_HL_TAG,       /* JSX tags */
	GM_HL__COUNT
};

/* A short name for `h` (a CSS class: "kw", "fn", ...; "" for none), static. */
const char *gm_hl_name(enum gm_hl h);

/*
 * Whether `lang` has a highlight query that compiled (compiling it now if
 * need be).  `*dropped`, when not NULL, gets how many of its patterns were
 * left out.
 */
bool gm_highlight_ready(const struct gm_lang *lang, unsigned *dropped);

/*
 * The class of every byte of src[from, to) into `out` (to - from bytes,
 * each an enum gm_hl), from `tree`, the parse of all of `src` with
 * `lang`'s grammar (a function is highlighted in the context of its file).
 * Without a query every byte is GM_HL_NONE.  Returns 0.
 */
int gm_highlight_range(uint8_t *out, const struct gm_lang *lang, const TSTree *tree,
                       const char *src, size_t len, uint32_t from, uint32_t to);

/*
 * Compile highlight query text `src` for `language`, leaving out each
 * top-level pattern the runtime refuses (`*dropped` counts them); NULL when
 * nothing compiles.  The caller deletes the query.
 */
TSQuery *gm_highlight_query_new(const TSLanguage *language, const char *src, size_t len,
                                unsigned *dropped);

/* Free every compiled highlight query (tests, leak checks). */
void gm_highlight_shutdown(void);

#endif
