/*
 * backend.h: what the pipeline sees of the models.  One engine (http.c, on
 * the libcurl multi interface, driven by the calling thread) runs chat
 * requests against backends; openai.c (LM Studio / any OpenAI-compatible
 * server, several base URLs sharing the load) and anthropic.c (Claude
 * Messages API) know the wire formats.  Backends know nothing of units or git.
 *
 * Ownership: requests are copied on submit; a result handed to the
 * completion callback belongs to the engine and is freed after it returns.
 */
#ifndef MONITOR_BACKEND_H
#define MONITOR_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gm_backend_kind { GM_BACKEND_LOCAL, GM_BACKEND_CLAUDE };

struct gm_chat_request {
	const char *system;      /* system prompt (Claude: cached prefix) */
	const char *user;        /* the user message */
	const char *json_schema; /* NULL, or JSON Schema text: structured output */
	const char *schema_name; /* name for the schema / forced tool */
	int max_tokens;          /* 0: backend default */
	bool has_temperature;
	double temperature;
};

struct gm_chat_result {
	int error;            /* 0, or a GM_E* code; message in error_message */
	char *error_message;  /* one line, names the server and cause; no secrets */
	char *content;        /* answer text, reasoning removed (NULL on error) */
	char *reasoning;      /* reasoning_content / reasoning / <think> text, or NULL */
	char *finish_reason;  /* normalized: "stop", "length", "tool_calls", "refusal", ... */
	char *model;          /* model that answered */
	char *server;         /* base URL that answered */
	int64_t input_tokens, output_tokens, cache_write_tokens, cache_read_tokens;
	double cost_usd;      /* 0 for local */
	unsigned attempts;    /* HTTP attempts made, retries included */
	uint64_t elapsed_ms;
};

struct gm_backend_config {
	enum gm_backend_kind kind;
	const char *const *urls;  /* local: one or more base URLs ("http://h:1234/v1");
	                             claude: one base URL ("https://api.anthropic.com") */
	size_t nurls;
	const char *model;        /* NULL: local = first loaded LLM; claude = default from the price table */
	const char *api_key;      /* claude only; never printed or logged */
	int concurrency;          /* per server */
	long timeout_s;           /* per request total; streams also have a stall timeout */
	bool stream;              /* default true */
	/* Optional; zero means the default. */
	long stall_s;             /* stream silent this long fails the attempt (120) */
	int max_retries;          /* retries after the first attempt (2); negative: none */
	size_t max_body;          /* bound of one answer in bytes (8 MiB) */
};

struct gm_backend;
struct gm_engine;

int gm_backend_new(struct gm_backend **out, const struct gm_backend_config *cfg);
void gm_backend_free(struct gm_backend *b);
const char *gm_backend_model(const struct gm_backend *b);
/* Local: the loaded context length in tokens (0: unknown). */
int64_t gm_backend_context_length(const struct gm_backend *b);

/*
 * Resolve the model (and context length) by asking the server(s); blocking.
 * Local: fails only when no server answers (the others are used and the
 * failed ones retried later).  Claude: no network; fails without a key.
 * gm_engine_submit() calls it when it has not been called.
 */
int gm_backend_prepare(struct gm_backend *b);

/* Base URLs in use (after WSL2 substitution), for doctor and progress. */
size_t gm_backend_nservers(const struct gm_backend *b);
const char *gm_backend_server(const struct gm_backend *b, size_t i);
/* WSL2: the Windows host address that answered for localhost, or NULL. */
const char *gm_backend_wsl_host(const struct gm_backend *b);

int gm_engine_new(struct gm_engine **out);
void gm_engine_free(struct gm_engine *e);

/* Queue a request; `tag` comes back with its result. */
int gm_engine_submit(struct gm_engine *e, struct gm_backend *b,
                     const struct gm_chat_request *req, void *tag);

/*
 * Run until every queued request (including those submitted from the
 * callback) has completed, or until gm_engine_cancel() / SIGINT.  Returns 0,
 * or GM_EINTERRUPTED when cancelled (in-flight transfers are aborted and
 * their callbacks get error GM_EINTERRUPTED).  A non-zero return from the
 * callback cancels the run and is returned.
 */
typedef int (*gm_engine_done_fn)(void *ctx, void *tag, const struct gm_chat_result *res);
int gm_engine_run(struct gm_engine *e, gm_engine_done_fn done, void *ctx);
void gm_engine_cancel(struct gm_engine *e); /* async-signal-safe */

/* Requests in flight on a backend right now (for the progress line). */
size_t gm_engine_inflight(const struct gm_engine *e, const struct gm_backend *b);

#endif
