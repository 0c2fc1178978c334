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

/* ---- Message Batches (PROTOCOLS.md B8) ---- */

/* A custom_id the API accepts: 1 to 64 of [A-Za-z0-9_-]. */
bool gm_anthropic_valid_id(const char *id);

/*
 * Body of POST {url}/v1/messages/batches: each request as the params of
 * gm_anthropic_request (no stream), named by ids[i].  GM_EINVALID for an id
 * the API would refuse or a bad schema.
 */
int gm_anthropic_batch_body(char **out, const struct gm_chat_request *const *reqs,
                            const char *const *ids, size_t n, const char *model);

/* A message batch object (create, retrieve and cancel answer one). */
struct gm_anthropic_batch {
	char *id;            /* "msgbatch_…" */
	char *status;        /* processing_status: "in_progress", "canceling", "ended" */
	char *results_url;   /* NULL until it has ended */
	int64_t processing, succeeded, errored, canceled, expired;
};
int gm_anthropic_batch_parse(struct gm_anthropic_batch *out, const char *body, size_t len);
void gm_anthropic_batch_release(struct gm_anthropic_batch *b);

/*
 * One line of a batch's results (JSONL, in no particular order): its
 * custom_id, and `res` filled as gm_anthropic_parse does for a succeeded
 * item, else res->error set with "<type>: <message>" (errored) or
 * "canceled/expired before it was processed".  Fails (GM_EINVALID) only on
 * a line that is not a result.
 */
int gm_anthropic_batch_result(char **custom_id, struct gm_chat_result *res, const char *line,
                              size_t len);

#endif
