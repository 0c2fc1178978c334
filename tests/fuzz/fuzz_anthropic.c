/* libFuzzer target for the Claude answer parsers (streamed and not). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/anthropic.h"
#include "monitor/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = gm_xstrndup((const char *)data, size);
	size_t n = strlen(s);

	for (int sse = 0; sse < 2; sse++) {
		struct gm_chat_result r;
		bool retry;
		memset(&r, 0, sizeof(r));
		if (gm_anthropic_parse(&r, &retry, s, n, sse) == 0 &&
		    (!r.content || !r.finish_reason))
			abort();
		free(r.content);
		free(r.reasoning);
		free(r.finish_reason);
		free(r.model);
	}
	free(gm_anthropic_error_cause(529, s, n));
	free(s);
	return 0;
}
