/*
 * extract.h: the code or the JSON out of a model answer.  Pure functions
 * over text; which block is the answer is decided by validate.c, which can
 * parse them.
 *
 * Reasoning is removed first: every <think>...</think>, a leading
 * "...</think>" whose opening tag was in the prompt template, and an
 * unterminated <think> (the rest of the answer is reasoning).
 */
#ifndef MONITOR_EXTRACT_H
#define MONITOR_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* A block of code in an answer: a fenced block, or the whole answer when it has none. */
struct gm_code_block {
	const char *tag;   /* the info string's first word ("python"), or "" */
	size_t tag_len;
	const char *start; /* the content, without the fence lines */
	const char *end;
	bool fenced;
	bool closed;       /* its closing fence was found (an unclosed one runs to the end) */
};

/*
 * The blocks of `text` (reasoning already removed: gm_extract_strip_think),
 * in order: every ``` or ~~~ fenced block (CommonMark rules: a closing fence
 * at least as long, of the same character), or, when there is none, the
 * whole text as one unfenced block.  `*out` points into `text`; the caller
 * frees the array.  0 blocks only for an empty text.
 */
size_t gm_extract_blocks(struct gm_code_block **out, const char *text, size_t len);

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
