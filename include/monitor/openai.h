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

/*
 * The kinds of OpenAI-compatible server (PROTOCOLS.md A and E), each with
 * its ops instance: what it is sent (the answer cap's name, the JSON schema's
 * form, Ollama's native /api/chat so that nothing is truncated silently),
 * what it answers (reasoning_content / reasoning / thinking; Ollama's NDJSON),
 * its name in messages ("llama.cpp at <url>: …").  A server whose kind is
 * neither detected nor configured is taken for LM Studio.
 */
enum gm_openai_kind {
	GM_OPENAI_LMSTUDIO,
	GM_OPENAI_LLAMACPP,
	GM_OPENAI_VLLM,
	GM_OPENAI_OLLAMA,
};

/* Build, decode as it arrives, describe errors: "LM Studio at <url>: …". */
extern const struct gm_http_proto gm_openai_proto;
extern const struct gm_http_proto gm_llamacpp_proto;
extern const struct gm_http_proto gm_vllm_proto;
extern const struct gm_http_proto gm_ollama_proto;

/* The ops instance of `kind`. */
const struct gm_http_proto *gm_openai_kind_proto(enum gm_openai_kind kind);
/* "lmstudio", "llamacpp", "vllm", "ollama" (also accepted: "lm-studio", "llama.cpp",
 * "llama-server"), case-insensitive, `len` bytes of `name`; GM_EUSAGE otherwise. */
int gm_openai_kind_parse(enum gm_openai_kind *out, const char *name, size_t len);
const char *gm_openai_kind_slug(enum gm_openai_kind kind);
/* The server's root: the base URL without a trailing "/v1" (allocated). */
char *gm_openai_native_base(const char *url);

/*
 * The body of a chat request to a server of `kind` (POST {url}/chat/completions;
 * Ollama: POST {root}/api/chat).  The answer cap is lowered to what
 * `context` (0: unknown) leaves after `prompt_tokens` (gm_http_answer_cap).
 */
int gm_openai_request_kind(char **out, enum gm_openai_kind kind, const struct gm_chat_request *req,
                           const char *model, bool stream, int64_t context, int64_t prompt_tokens);
/* LM Studio's body of POST {url}/chat/completions. */
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
 * The one-line message of a failing answer, the same for every kind: the
 * cause (gm_openai_error_cause) after what it means, when that is one of
 * "prompt too long for the context", "not authorized", "unknown model",
 * "not ready" (503: loading, busy).  The ops instances' error_cause.
 */
char *gm_openai_error_line(long status, const char *body, size_t len);

/* Like gm_openai_parse, for Ollama's native answer (NDJSON lines, or one object). */
int gm_openai_parse_ndjson(struct gm_chat_result *res, bool *retry, const char *body,
                           size_t len, bool structured);

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

/* The kind a /models answer shows (owned_by "vllm" or "llamacpp", vLLM's
 * max_model_len), or -1 when it does not say. */
int gm_openai_detect_kind(const char *models);
/* Context of `model` in a /models answer: vLLM's max_model_len, llama.cpp's
 * meta.n_ctx; 0 when it does not say. */
int64_t gm_openai_list_context(const char *models, const char *model);
/* llama.cpp GET /props: the per-slot context (default_generation_settings.n_ctx)
 * and total_slots; 0 for what it does not say. */
void gm_openai_llamacpp_props(const char *props, int64_t *n_ctx, int64_t *slots);
/* Ollama GET /api/ps: the runtime context_length of `model` (NULL: of the first
 * loaded model) and in *loaded (may be NULL) that model's name; 0 / NULL when
 * it is not loaded. */
int64_t gm_openai_ollama_ps(const char *ps, const char *model, char **loaded);
/* LM Studio GET /api/v1/models: loaded_instances[].config.parallel of `model`, or 0. */
int64_t gm_openai_lmstudio_parallel(const char *v1_models, const char *model);
/* `body` is a JSON object with member `field` (Ollama's /api/version: "version"). */
bool gm_openai_has_field(const char *body, const char *field);

/*
 * Move every inline <think>…</think> out of `*content` into `*reasoning`
 * (appended).  An unterminated <think> makes the rest reasoning; a lone
 * </think> (the opening tag was in the template) makes what precedes it
 * reasoning.  The content left is trimmed of surrounding white space.
 */
void gm_openai_split_think(char **content, char **reasoning);

#endif
