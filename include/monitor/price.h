/*
 * price.h: the Claude model table (PROTOCOLS.md B10): prices in dollars per
 * million tokens and the quirks we must know per model.  Prices change; they
 * live in one data table in price.c and nowhere else.
 */
#ifndef MONITOR_PRICE_H
#define MONITOR_PRICE_H

#include <stdbool.h>
#include <stdint.h>

#define GM_CLAUDE_DEFAULT_MODEL "claude-sonnet-5"

struct gm_price {
	const char *model;  /* id, also matched as a prefix ("…-20251001") */
	double input, output, cache_write, cache_read; /* $ per million tokens; write = 5m TTL */
	bool forced_tool;   /* accepts tool_choice {type:"tool"}; else use output_config.format */
};

/* The row for `model` (exact id, else the longest id that prefixes it), or NULL. */
const struct gm_price *gm_price_lookup(const char *model);

/*
 * Dollars for the given usage of `model` (gm_price_lookup); unknown models,
 * and NULL, cost 0.
 */
double gm_price_cost(const char *model, int64_t input, int64_t output,
                     int64_t cache_write, int64_t cache_read);

#endif
