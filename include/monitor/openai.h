/*
 * openai.h: the wire format of LM Studio and other OpenAI-compatible servers
 * (PROTOCOLS.md section A): gm_openai_proto, the ops instance the engine of
 * http.h talks to them with, and the pure functions behind it and behind
 * set-up (model lists).  No I/O here: backend.c and http.c do the transfers.
 *
 * Strings returned (through `out` parameters or as the result) are
 * allocated; the caller frees them.  On failure the cause alone is in the
 * error slot (the caller adds which server it was).
 */
#ifndef MONITOR_OPENAI_H
#define MONITOR_OPENAI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/http.h"

/* Build, decode as it arrives, describe errors: "LM Studio at <url>: …". */
extern const struct gm_http_proto gm_openai_proto;

/* Body of POST {url}/chat/completions. */
int gm_openai_request(char **out, const struct gm_chat_request *req,
                      const char *model, bool stream);

/*
 * Fill content, reasoning, finish_reason, model and usage of `res` from a
 * whole 2xx answer (gm_openai_proto's decoder, fed it at once): an event
 * stream when `sse`, else one JSON object.  An error inside the answer
 * (`event: error`, an "error" member), a malformed answer and an empty
 * answer fail (GM_ERROR / GM_EINVALID).  `structured`: a JSON schema was
 * requested (an answer left in reasoning_content is then used).  `*retry`
 * (may be NULL): a stream cut short, worth another attempt.
 */
int gm_openai_parse(struct gm_chat_result *res, bool *retry, const char *body,
                    size_t len, bool sse, bool structured);

/* The cause in an error body ("error" a string or an object), else "HTTP <status>". */
char *gm_openai_error_cause(long status, const char *body, size_t len);

/*
 * The first LLM listed by GET /models (ids containing "embed" skipped, and
 * models that `v0_models` (GET /api/v0/models, may be NULL) types as
 * "embeddings").  GM_ENOTFOUND when there is none.
 */
int gm_openai_pick_model(char **out, const char *models, const char *v0_models);

/* Entries of a GET /models answer ("data"), or -1 when it is not a model list. */
int gm_openai_count_models(const char *models);

/* The "model" an answer (JSON, not a stream) names, or NULL; read leniently. */
char *gm_openai_answer_model(const char *body, size_t len);

/*
 * Context length of `model`: from /api/v0/models (loaded_context_length,
 * else max_context_length) or /api/v1/models (loaded_instances[].config.
 * context_length, else max_context_length).  Either body may be NULL; 0 when
 * unknown.
 */
int64_t gm_openai_context_length(const char *model, const char *v0_models,
                                 const char *v1_models);

/*
 * Move every inline <think>…</think> out of `*content` into `*reasoning`
 * (appended).  An unterminated <think> makes the rest reasoning; a lone
 * </think> (the opening tag was in the template) makes what precedes it
 * reasoning.  The content left is trimmed of surrounding white space.
 */
void gm_openai_split_think(char **content, char **reasoning);

#endif
