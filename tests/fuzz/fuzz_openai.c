/* libFuzzer target for the LM Studio answer parsers (streamed and not). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/openai.h"
#include "monitor/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		memset(&r, 0, sizeof(r));
		if (gm_openai_parse(&r, NULL, s, n, mode & 1, mode & 2) == 0 &&
		    (!r.content || !r.content[0] || !r.finish_reason))
			abort(); /* success promises a non-empty answer */
		release(&r);
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
