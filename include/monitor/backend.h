/*
 * backend.h: what the pipeline and doctor see of the models.  A backend is
 * a kind (LM Studio or any OpenAI-compatible server, several base URLs
 * sharing the load; or the Claude Messages API) and its servers, set up
 * (model, context length, WSL2 host) and priced here.  The engine runs chat
 * requests against backends, many at once, on the transfer engine of
 * http.h; openai.c and anthropic.c know the wire formats.  Backends know
 * nothing of units or git.
 *
 * Errors: a call that fails leaves its message in the error slot; a request
 * that fails carries its own in its result (error_message), so many can
 * fail at once.  Messages name the server ("LM Studio at http://…: …") and
 * never hold the API key.
 *
 * Ownership: requests are copied on submit; a result handed to the
 * completion callback belongs to the engine and is freed after it returns.
 * Strings a getter returns belong to the backend and stay valid until
 * gm_backend_free() (or, where said, the next gm_backend_prepare()).
 */
#ifndef MONITOR_BACKEND_H
#define MONITOR_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/http.h" /* struct gm_chat_request, struct gm_chat_result */

enum gm_backend_kind { GM_BACKEND_LOCAL, GM_BACKEND_CLAUDE };

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
	long probe_timeout_s;     /* set-up requests and probes, each (15) */
	bool inspect;             /* keep every model list set-up reads (doctor), see
	                             struct gm_backend_server; costs one GET more per server */
	const char *wsl_root;     /* WSL2 files prefix (wsl.h; NULL: $GM_PROC_ROOT or /) */
};

struct gm_backend;
struct gm_engine;

/* Checks the configuration (GM_EUSAGE: no URL, one not http(s)://); no network. */
int gm_backend_new(struct gm_backend **out, const struct gm_backend_config *cfg);
void gm_backend_free(struct gm_backend *b);
/* The model requests name; NULL until set up when none was configured.
 * Valid until gm_backend_free() or the next gm_backend_prepare(). */
const char *gm_backend_model(const struct gm_backend *b);
/* Local: the loaded context length in tokens (0: unknown). */
int64_t gm_backend_context_length(const struct gm_backend *b);

/*
 * Resolve the model (and context length) by asking the server(s); blocking.
 * Local: fails only when no server answers (the others are used and the
 * failed ones retried later); what each server said is kept, see
 * gm_backend_server().  Claude: no network; fails without a key.
 * gm_engine_submit() calls it when it has not been called.
 */
int gm_backend_prepare(struct gm_backend *b);

/* One GET of a server's model list during set-up. */
struct gm_backend_try {
	char *url;         /* the base URL asked */
	bool unreachable;  /* no HTTP answer at all */
	long status;       /* its HTTP status (0: none) */
	int listed;        /* models in the list it answered; -1: no model list */
	char *cause;       /* why this answer was not used, without the server's name
	                      ("connection refused"); NULL when it was */
};

/*
 * What set-up learned about one server.  Owned by the backend; valid until
 * the next gm_backend_prepare() or gm_backend_free().  Before set-up only
 * `url` is filled (Claude's set-up asks nothing, so it stays that way).
 */
struct gm_backend_server {
	const char *url;              /* base URL in use: as configured (trailing
	                                 slashes removed), or the Windows host's */
	struct gm_backend_try asked;  /* the URL as configured */
	bool wsl;                     /* it gave no answer, it is local and this is
	                                 WSL2: the Windows host was looked for */
	size_t nwsl;                  /* host addresses found and tried, in order */
	struct gm_backend_try wsl_tries[2];
	const char *wsl_host;         /* the address that answered instead, or NULL */
	char *models;                 /* with `inspect`: GET {url}/models, */
	char *v0_models, *v1_models;  /* LM Studio's /api/v0 and /api/v1 model lists; else NULL */
};

/* Server `i` (in configuration order), or NULL past the last. */
const struct gm_backend_server *gm_backend_server(const struct gm_backend *b, size_t i);

/* What gm_backend_probe() found.  Owned by the caller: gm_backend_probe_release(). */
struct gm_backend_probe {
	char *model;       /* local: the model that answered ("(unnamed)" when it named none) */
	bool unreachable;  /* no HTTP answer at all */
	char *cause;       /* on failure: the error slot's message without the server's name */
};

/*
 * Blocking: ask server `i` what a run would get from it.  Local: a
 * one-token completion naming no model (what LM Studio answers when asked
 * for text; it may load a model to do it).  Claude: is the key accepted
 * (the models list, one entry).  0, or an error with its message in the
 * error slot (GM_ENOTFOUND: no key).
 */
int gm_backend_probe(struct gm_backend_probe *out, struct gm_backend *b, size_t i);
void gm_backend_probe_release(struct gm_backend_probe *p);

int gm_engine_new(struct gm_engine **out);
/* Aborts what is queued or running, without callbacks; NULL is fine. */
void gm_engine_free(struct gm_engine *e);

/* Queue a request; `tag` comes back with its result.  The backend must
 * outlive the engine's work on it. */
int gm_engine_submit(struct gm_engine *e, struct gm_backend *b,
                     const struct gm_chat_request *req, void *tag);

/*
 * Run until every queued request (including those submitted from the
 * callback) has completed, or until gm_engine_cancel() / SIGINT.  Returns 0,
 * or GM_EINTERRUPTED when cancelled (in-flight transfers are aborted and
 * their callbacks get error GM_EINTERRUPTED).  A non-zero return from the
 * callback cancels the run and is returned.  Results are priced
 * (cost_usd) before the callback sees them.
 */
typedef int (*gm_engine_done_fn)(void *ctx, void *tag, const struct gm_chat_result *res);
int gm_engine_run(struct gm_engine *e, gm_engine_done_fn done, void *ctx);
void gm_engine_cancel(struct gm_engine *e); /* async-signal-safe */

/* Requests in flight on a backend right now (for the progress line). */
size_t gm_engine_inflight(const struct gm_engine *e, const struct gm_backend *b);

/*
 * Bytes of answer text (content and reasoning) streamed from a backend so
 * far, every attempt counted, as they arrive: sampled twice, the difference
 * over the time between is a live rate (about 4 bytes a token).
 */
uint64_t gm_engine_streamed(const struct gm_engine *e, const struct gm_backend *b);

#endif
