#include "monitor/price.h"

#include <string.h>

#include "monitor/banned.h"

/* PROTOCOLS.md B10, captured 2026-09-22.  Keep sorted by family. */
static const struct gm_price prices[] = {
	/* model                input  output cache-w cache-r forced_tool */
	{ "claude-opus-5-5",    4.00,  20.00, 5.00,   0.20,   false },
	{ "claude-opus-5",      5.00,  25.00, 6.25,   0.50,   true },
	{ "claude-sonnet-5-5",  2.00,  10.00, 2.50,   0.20,   true },
	{ "claude-sonnet-5",    2.00,  10.00, 2.50,   0.20,   true },
	/* Fable: id and cache prices unconfirmed (cache at the usual 1.25x / 0.1x). */
	{ "claude-fable-5-1",  10.00,  50.00, 12.50,  1.00,   false },
	{ "claude-haiku-4-5",   1.00,   5.00, 1.25,   0.10,   true },
};

const struct gm_price *gm_price_lookup(const char *model)
{
	const struct gm_price *best = NULL;
	size_t best_len = 0;

	if (!model)
		return NULL;
	for (size_t i = 0; i < sizeof(prices) / sizeof(prices[0]); i++) {
		size_t n = strlen(prices[i].model);
		if (strncmp(model, prices[i].model, n))
			continue;
		/* A prefix must end at a '-' (a date suffix), not mid-word. */
		if (model[n] && model[n] != '-')
			continue;
		if (n > best_len) {
			best = &prices[i];
			best_len = n;
		}
	}
	return best;
}

double gm_price_cost(const char *model, int64_t input, int64_t output,
                     int64_t cache_write, int64_t cache_read)
{
	const struct gm_price *p = gm_price_lookup(model);
	if (!p)
		return 0.0;
	return ((double)input * p->input + (double)output * p->output +
	        (double)cache_write * p->cache_write +
	        (double)cache_read * p->cache_read) / 1e6;
}
