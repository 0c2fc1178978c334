/*
 * libFuzzer target for the LM Studio answer parsers (streamed and not).
 * Oracle: success promises an answer, and the engine's way (the decoder fed
 * in pieces, as the bytes come off the socket) agrees with the whole-body
 * wrapper.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/openai.h"
#include "monitor/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Through gm_openai_proto in pieces of `step` bytes. */
static int in_pieces(struct gm_chat_result *r, const char *s, size_t n, size_t step,
                     bool sse, bool structured)
{
	struct gm_chat_request req = { 0 };
	struct gm_http_answer *a;
	int rc = 0;

	req.json_schema = structured ? "{}" : NULL;
	a = gm_openai_proto.answer_new(&req, sse);
	for (size_t i = 0; i < n && !rc; i += step)
		rc = gm_openai_proto.answer_feed(a, s + i, i + step > n ? n - i : step);
	if (!rc)
		rc = gm_openai_proto.answer_end(a, r);
	gm_openai_proto.answer_free(a);
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
	char *s = gm_xstrndup((const char *)data, size), *m = NULL;
	size_t n = strlen(s);
	struct gm_chat_result r;

	for (int mode = 0; mode < 4; mode++) {
		struct gm_chat_result p;
		int rc;
		memset(&r, 0, sizeof(r));
		memset(&p, 0, sizeof(p));
		rc = gm_openai_parse(&r, NULL, s, n, mode & 1, mode & 2);
		if (rc == 0 && (!r.content || !r.content[0] || !r.finish_reason))
			abort(); /* success promises a non-empty answer */
		if (in_pieces(&p, s, n, size ? data[0] % 13 + 1 : 1, mode & 1, mode & 2) != rc ||
		    !same(r.content, p.content) || !same(r.reasoning, p.reasoning) ||
		    !same(r.finish_reason, p.finish_reason))
			abort(); /* however the answer arrives, it reads the same */
		release(&r);
		release(&p);
	}
	free(gm_openai_error_cause(400, s, n));
	if (gm_openai_pick_model(&m, s, s) == 0 && (!m || !m[0]))
		abort();
	free(m);
	(void)gm_openai_context_length("m", s, s);
	{
		char *c = gm_xstrdup(s), *re = NULL;
		gm_openai_split_think(&c, &re);
		if (strstr(c, "<think>"))
			abort(); /* every <think> goes */
		free(c);
		free(re);
	}
	free(s);
	return 0;
}
