/*
 * libFuzzer target for the SSE parser.  Oracle: the events must be the same
 * whether the stream arrives whole or cut at the places the input's first
 * bytes choose, and the parser must never read or write out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/sse.h"
#include "monitor/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int record(void *ctx, const char *event, const char *d, size_t len)
{
	struct gm_buf *b = ctx;
	if (strlen(d) != len)
		abort(); /* data holds a NUL: the callback would see it truncated */
	gm_buf_printf(b, "%s\x1f", event);
	gm_buf_put(b, d, len);
	gm_buf_put(b, "\x1e", 1);
	return 0;
}

static char *run(const char *s, size_t n, const uint8_t *cuts, size_t ncuts, int *rc)
{
	struct gm_buf out = GM_BUF_INIT;
	struct gm_sse p;
	size_t i = 0, k = 0;

	gm_sse_init(&p, 4096, record, &out);
	*rc = 0;
	while (i < n && !*rc) {
		size_t step = ncuts ? (size_t)cuts[k++ % ncuts] % 17 + 1 : n;
		if (step > n - i)
			step = n - i;
		*rc = gm_sse_feed(&p, s + i, step);
		i += step;
	}
	if (!*rc)
		*rc = gm_sse_finish(&p);
	gm_sse_release(&p);
	return gm_buf_detach(&out, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t ncuts = size ? data[0] % 8 : 0;
	const char *s;
	size_t n;
	char *whole, *split;
	int rc1, rc2;

	if (size < 1 + ncuts)
		return 0;
	s = (const char *)data + 1 + ncuts;
	n = size - 1 - ncuts;
	if (memchr(s, '\0', n))
		return 0; /* SSE is text; NULs are not a case we promise anything for */
	whole = run(s, n, NULL, 0, &rc1);
	split = run(s, n, data + 1, ncuts, &rc2);
	if (rc1 == 0 && rc2 == 0 && strcmp(whole, split))
		abort();
	free(whole);
	free(split);
	return 0;
}
