/*
 * libFuzzer target for the Claude answer parsers (streamed and not).
 * Oracle: success promises an answer, and the engine's way (the decoder fed
 * in pieces) agrees with the whole-body wrapper.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/anthropic.h"
#include "monitor/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Through gm_anthropic_proto in pieces of `step` bytes. */
static int in_pieces(struct gm_chat_result *r, bool *retry, const char *s, size_t n,
                     size_t step, bool sse)
{
	struct gm_chat_request req = { 0 };
	struct gm_http_answer *a = gm_anthropic_proto.answer_new(&req, sse);
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i += step)
		rc = gm_anthropic_proto.answer_feed(a, s + i, i + step > n ? n - i : step);
	if (!rc)
		rc = gm_anthropic_proto.answer_end(a, r);
	*retry = a->retry;
	gm_anthropic_proto.answer_free(a);
	return rc;
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void release(struct gm_chat_result *r)
{
	free(r->content);
	free(r->reasoning);
	free(r->finish_reason);
	free(r->model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = gm_xstrndup((const char *)data, size);
	size_t n = strlen(s);

	for (int sse = 0; sse < 2; sse++) {
		struct gm_chat_result r, p;
		bool retry, pretry;
		int rc;
		memset(&r, 0, sizeof(r));
		memset(&p, 0, sizeof(p));
		rc = gm_anthropic_parse(&r, &retry, s, n, sse);
		if (rc == 0 && (!r.content || !r.finish_reason))
			abort();
		if (in_pieces(&p, &pretry, s, n, size ? data[0] % 13 + 1 : 1, sse) != rc ||
		    pretry != retry || !same(r.content, p.content) ||
		    !same(r.reasoning, p.reasoning) || !same(r.finish_reason, p.finish_reason))
			abort(); /* however the answer arrives, it reads the same */
		release(&r);
		release(&p);
	}
	free(gm_anthropic_error_cause(529, s, n));
	free(s);
	return 0;
}
