/*
 * extract.h: the code or the JSON out of a model answer.  Pure functions
 * over text; they know nothing of units beyond a name to choose a block by.
 *
 * Reasoning is removed first: every <think>...</think>, a leading
 * "...</think>" whose opening tag was in the prompt template, and an
 * unterminated <think> (the rest of the answer is reasoning).
 */
#ifndef MONITOR_EXTRACT_H
#define MONITOR_EXTRACT_H

#include <stddef.h>

#include <cjson/cJSON.h>

/*
 * The code of a rewrite answer: the one fenced block (``` or ~~~, with or
 * without a language tag) or, without any fence, the whole answer; prose
 * around a fenced block is ignored.  With several blocks, the one that
 * contains `unit_name` (its last component) is taken; if none or more than
 * one does, the answer is rejected ("several code blocks").
 *
 * `out` (caller frees) has leading blank lines and trailing white space
 * removed; the indentation of the first line is kept.  Fails with
 * GM_EINVALID and a one-line reason ("answer is empty", "several code
 * blocks") when there is no usable code.
 */
int gm_extract_code(char **out, size_t *out_len, const char *answer, size_t len,
                    const char *unit_name);

/*
 * The JSON object of a plan answer: reasoning and fences removed, the first
 * balanced {...} (strings and escapes respected) that cJSON parses as an
 * object.  `out` is the caller's to cJSON_Delete.  GM_EINVALID when none.
 */
int gm_extract_json(cJSON **out, const char *answer, size_t len);

/*
 * The answer without its reasoning (see above); `out` is the caller's.
 * Exposed for the backends' logs and the tests.
 */
char *gm_extract_strip_think(const char *answer, size_t len, size_t *out_len);

#endif
