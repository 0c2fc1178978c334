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

struct block {
	const char *start, *end; /* content, without the fence lines */
};

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
static bool is_fence(const char *p, const char *e, char *ch, size_t *run, bool closing)
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
	return true;
}

static size_t find_blocks(struct block **out, const char *s, const char *end)
{
	struct block *blocks = NULL;
	size_t n = 0, cap = 0;
	const char *p = s;

	while (p < end) {
		const char *e = line_end(p, end);
		char ch = 0;
		size_t run = 0;

		if (!is_fence(p, e, &ch, &run, false)) {
			p = next_line(p, end);
			continue;
		}
		GM_GROW(blocks, cap, n + 1);
		blocks[n].start = next_line(p, end);
		blocks[n].end = end; /* unterminated: runs to the end */
		for (p = blocks[n].start; p < end; p = next_line(p, end)) {
			e = line_end(p, end);
			if (is_fence(p, e, &ch, &run, true)) {
				blocks[n].end = p;
				p = next_line(p, end);
				break;
			}
		}
		n++;
	}
	*out = blocks;
	return n;
}

static bool is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* `name` as a whole word in [s, e). */
static bool has_word(const char *s, const char *e, const char *name)
{
	size_t nl = strlen(name);
	const char *p = s;

	if (!nl)
		return false;
	while (p < e && (p = memmem(p, (size_t)(e - p), name, nl))) {
		if ((p == s || !is_ident(p[-1])) && (p + nl == e || !is_ident(p[nl])))
			return true;
		p++;
	}
	return false;
}

/* The last component of a qualified name: Class.method, ns::f, (*T).M. */
static const char *last_component(const char *name)
{
	const char *r = name;
	for (const char *p = name; *p; p++)
		if (*p == '.' || *p == ':')
			r = p + 1;
	return r;
}

int gm_extract_code(char **out, size_t *out_len, const char *answer, size_t len,
                    const char *unit_name)
{
	size_t tlen, nblocks;
	char *text = gm_extract_strip_think(answer, len, &tlen);
	struct block *blocks = NULL;
	const char *s = text, *e = text + tlen, *p;
	int error = 0;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	nblocks = find_blocks(&blocks, text, text + tlen);
	if (nblocks == 1) {
		s = blocks[0].start;
		e = blocks[0].end;
	} else if (nblocks > 1) {
		const char *want = unit_name ? last_component(unit_name) : "";
		size_t found = 0, which = 0;
		for (size_t i = 0; i < nblocks; i++) {
			if (has_word(blocks[i].start, blocks[i].end, want)) {
				found++;
				which = i;
			}
		}
		if (found != 1) {
			gm_error_set("several code blocks");
			error = GM_EINVALID;
			goto cleanup;
		}
		s = blocks[which].start;
		e = blocks[which].end;
	}
	/* Leading blank lines go; the first line's indentation stays. */
	for (p = s; p < e; p++) {
		if (*p == '\n')
			s = p + 1;
		else if (!isspace((unsigned char)*p))
			break;
	}
	if (p >= e)
		s = e;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e == s) {
		gm_error_set("answer is empty");
		error = GM_EINVALID;
		goto cleanup;
	}
	*out = gm_xstrndup(s, (size_t)(e - s));
	if (out_len)
		*out_len = (size_t)(e - s);

cleanup:
	free(blocks);
	free(text);
	return error;
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
