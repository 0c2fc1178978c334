#include "monitor/extract.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define OPEN_TAG "<think>"
#define CLOSE_TAG "</think>"

char *gm_extract_strip_think(const char *answer, size_t len, size_t *out_len)
{
	struct gm_buf b = GM_BUF_INIT;
	const char *p = answer, *end = answer + len;
	const char *open = memmem(p, len, OPEN_TAG, strlen(OPEN_TAG));
	const char *close = memmem(p, len, CLOSE_TAG, strlen(CLOSE_TAG));

	/* The template opened the reasoning: only its end is in the answer. */
	if (close && (!open || close < open))
		p = close + strlen(CLOSE_TAG);
	while (p < end) {
		open = memmem(p, (size_t)(end - p), OPEN_TAG, strlen(OPEN_TAG));
		if (!open) {
			gm_buf_put(&b, p, (size_t)(end - p));
			break;
		}
		gm_buf_put(&b, p, (size_t)(open - p));
		close = memmem(open, (size_t)(end - open), CLOSE_TAG, strlen(CLOSE_TAG));
		if (!close)
			break; /* unterminated: the rest is reasoning */
		p = close + strlen(CLOSE_TAG);
	}
	return gm_buf_detach(&b, out_len);
}

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

static const char *next_line(const char *p, const char *end)
{
	const char *e = line_end(p, end);
	return e < end ? e + 1 : end;
}

/* A fence line: optional indentation, then 3+ ` or ~.  Sets char and run. */
static bool is_fence(const char *p, const char *e, char *ch, size_t *run, bool closing,
                     const char **tag, size_t *tag_len)
{
	size_t n = 0;

	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p == e || (*p != '`' && *p != '~'))
		return false;
	if (closing && *p != *ch)
		return false;
	while (p + n < e && p[n] == *p)
		n++;
	if (n < 3 || (closing && n < *run))
		return false;
	if (closing) {
		for (p += n; p < e; p++)
			if (!isspace((unsigned char)*p))
				return false;
		return true;
	}
	/* A backtick info string never holds a backtick (CommonMark). */
	if (*p == '`' && memchr(p + n, '`', (size_t)(e - p - n)))
		return false;
	*ch = *p;
	*run = n;
	/* The info string's first word: ```python title="x" -> python. */
	p += n;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	*tag = p;
	while (p < e && !isspace((unsigned char)*p) && *p != '{' && *p != ',')
		p++;
	*tag_len = (size_t)(p - *tag);
	return true;
}

size_t gm_extract_blocks(struct gm_code_block **out, const char *s, size_t len)
{
	struct gm_code_block *blocks = NULL;
	const char *p = s, *end = s + len;
	size_t n = 0, cap = 0;

	while (p < end) {
		const char *e = line_end(p, end), *tag = NULL;
		char ch = 0;
		size_t run = 0, tag_len = 0;

		if (!is_fence(p, e, &ch, &run, false, &tag, &tag_len)) {
			p = next_line(p, end);
			continue;
		}
		GM_GROW(blocks, cap, n + 1);
		memset(&blocks[n], 0, sizeof(blocks[n]));
		blocks[n].tag = tag;
		blocks[n].tag_len = tag_len;
		blocks[n].fenced = true;
		blocks[n].start = next_line(p, end);
		blocks[n].end = end; /* unterminated: runs to the end */
		for (p = blocks[n].start; p < end; p = next_line(p, end)) {
			e = line_end(p, end);
			if (is_fence(p, e, &ch, &run, true, NULL, NULL)) {
				blocks[n].end = p;
				blocks[n].closed = true;
				p = next_line(p, end);
				break;
			}
		}
		n++;
	}
	if (n == 0) {
		const char *q = s;
		while (q < end && isspace((unsigned char)*q))
			q++;
		if (q < end) {
			blocks = gm_xcalloc(1, sizeof(*blocks));
			blocks[0].tag = "";
			blocks[0].start = s;
			blocks[0].end = end;
			blocks[0].closed = true;
			n = 1;
		}
	}
	*out = blocks;
	return n;
}

/* End of the balanced {...} starting at `p`, or NULL. */
static const char *balanced_end(const char *p, const char *end)
{
	int depth = 0;
	bool in_str = false;

	for (; p < end; p++) {
		if (in_str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_str = false;
			continue;
		}
		if (*p == '"')
			in_str = true;
		else if (*p == '{')
			depth++;
		else if (*p == '}' && --depth == 0)
			return p + 1;
	}
	return NULL;
}

int gm_extract_json(cJSON **out, const char *answer, size_t len)
{
	size_t tlen;
	char *text = gm_extract_strip_think(answer, len, &tlen);
	const char *p = text, *end = text + tlen;
	bool unbalanced = false;
	int error = 0;

	*out = NULL;
	while (p < end && (p = memchr(p, '{', (size_t)(end - p)))) {
		const char *e = balanced_end(p, end);
		cJSON *j;

		if (!e) {
			unbalanced = true;
			p++;
			continue;
		}
		j = cJSON_ParseWithLength(p, (size_t)(e - p));
		if (j && cJSON_IsObject(j)) {
			*out = j;
			goto cleanup;
		}
		cJSON_Delete(j);
		p++;
	}
	gm_error_set(unbalanced ? "answer's JSON object is not closed" : "no JSON object in the answer");
	error = GM_EINVALID;

cleanup:
	free(text);
	return error;
}
