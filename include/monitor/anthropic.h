/*
 * anthropic.h: the wire format of the Claude Messages API (PROTOCOLS.md
 * section B): gm_anthropic_proto, the ops instance the engine of http.h
 * talks to it with, and the pure functions on JSON text behind it.  No I/O
 * here.  The API key is only ever put into a request header; it is never
 * part of a message.
 *
 * Strings returned (through `out` parameters or as the result) are
 * allocated; the caller frees them.  On failure the cause is in the error
 * slot.
 */
#ifndef MONITOR_ANTHROPIC_H
#define MONITOR_ANTHROPIC_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/http.h"

#define GM_ANTHROPIC_VERSION "2023-06-01"
#define GM_ANTHROPIC_DEFAULT_MAX_TOKENS 8192
#define GM_ANTHROPIC_TOOL_NAME "emit"

/*
 * Build (the model's quirks from price.h: a forced tool where it is
 * accepted), decode as it arrives, describe errors: "Claude API: …".
 */
extern const struct gm_http_proto gm_anthropic_proto;

/*
 * Body of POST {url}/v1/messages.  The system prompt is a text block marked
 * cache_control ephemeral; a JSON schema becomes a forced tool when
 * `forced_tool`, else output_config.format.
 */
int gm_anthropic_request(char **out, const struct gm_chat_request *req,
                         const char *model, bool stream, bool forced_tool);

/*
 * Fill content (text blocks joined, or the first tool_use input as JSON
 * text), reasoning (thinking blocks), finish_reason (end_turn and
 * stop_sequence → "stop", max_tokens and model_context_window_exceeded →
 * "length", tool_use → "tool_calls", others as given), model and usage from
 * a whole 2xx answer (gm_anthropic_proto's decoder, fed it at once); `sse`
 * for an event stream.  An `error` event fails with
 * GM_ERROR and "<type>: <message>"; `*retry` says whether that error type is
 * one the SDKs retry (overloaded, api, rate limit, timeout).
 */
int gm_anthropic_parse(struct gm_chat_result *res, bool *retry,
                       const char *body, size_t len, bool sse);

/* "<type>: <message>" from an error body, else "HTTP <status>". */
char *gm_anthropic_error_cause(long status, const char *body, size_t len);

#endif
