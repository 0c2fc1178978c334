/*
 * backend.h: what the pipeline and doctor see of the models.  A backend is
 * a kind (local: a fleet of OpenAI-compatible servers, each LM Studio,
 * llama.cpp's llama-server, vLLM or Ollama, sharing the load; or the Claude
 * Messages API, interactive or as Message Batches) and its servers, set up
 * (kind, model, context length, slots, WSL2 host) and priced here.  The engine runs chat
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

/*
 * A local URL entry may start with settings for that server, separated by
 * white space: "kind=vllm slots=16 key=VLLM_API_KEY http://gpu2:8000/v1".
 * kind= is lmstudio, llamacpp, vllm, ollama or auto (detected: LM Studio's
 * /api/v0, llama.cpp's /props, vLLM's /v1/models fields, Ollama's
 * /api/version); slots= the requests it is sent at once (else what the
 * server says: llama.cpp's total_slots, LM Studio's parallel; else
 * `concurrency`); key= the NAME of the environment variable holding its
 * bearer key (the key itself is never in the configuration or a message).
 */
struct gm_backend_config {
	enum gm_backend_kind kind;
	const char *const *urls;  /* local: one or more base URL entries ("http://h:1234/v1");
	                             claude: one base URL ("https://api.anthropic.com") */
	size_t nurls;
	const char *model;        /* NULL: local = first loaded LLM; claude = default from the price table */
	const char *api_key;      /* claude only; never printed or logged; one trailing
	                             newline is dropped, other control characters refused */
	const char *api_key_var;  /* the environment variable it came from, for that message */
	int concurrency;          /* per server, where neither slots= nor the server says (4) */
	bool concurrency_fixed;   /* `concurrency` wins over what servers say (it was set:
	                             -j, or monitor.local.concurrency configured) */
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
	/* Local only. */
	const char *server_kind;  /* monitor.local.kind for entries without kind=: NULL or "auto":
	                             detected */
	const char *key_env;      /* monitor.local.apiKey for entries without key=: the NAME of
	                             an environment variable holding a bearer key, or NULL */
	long backoff_ms;          /* first back-off of a server taken out mid-run (5000) */
	/* Claude only: Message Batches (PROTOCOLS.md B8), see gm_engine_submit(). */
	bool batch;               /* requests go as Message Batches, at the batch price */
	const char *batch_dir;    /* where running batches are recorded for a resume (NULL: none) */
	long batch_poll_ms;       /* first wait before asking a batch's status (2000), doubling
	                             per poll up to 60000 */
	bool batch_keep;          /* interrupted: leave the batch running for a resume (default:
	                             cancel it) */
};

struct gm_backend;
struct gm_engine;

/*
 * `text` (a URL, a setting, a message) with the password of every URL in it
 * redacted, as backends show and record URLs ("http://user:<redacted>@h/v1").
 * Allocated.
 */
char *gm_backend_redact(const char *text);

/* Checks the configuration (GM_EUSAGE: no URL, one not http(s)://); no network. */
int gm_backend_new(struct gm_backend **out, const struct gm_backend_config *cfg);
void gm_backend_free(struct gm_backend *b);
/* The model requests name; NULL until set up when none was configured.
 * Valid until gm_backend_free() or the next gm_backend_prepare(). */
const char *gm_backend_model(const struct gm_backend *b);
/*
 * Local: the largest context length of its servers in tokens (0: none
 * known).  The engine admits each request only to servers whose own
 * context holds it (prompt and answer cap); one no server can hold fails
 * with GM_ETOOBIG, never truncated.
 */
int64_t gm_backend_context_length(const struct gm_backend *b);
/* Servers configured (in configuration order). */
size_t gm_backend_nservers(const struct gm_backend *b);
/* Dollars for one request's usage on this backend: the price table's, halved
 * for a Claude batch backend, 0 for local servers. */
double gm_backend_cost(const struct gm_backend *b, int64_t input, int64_t output,
                       int64_t cache_write, int64_t cache_read);
/* What the price table's figures are multiplied by here: 0 local, 0.5 a Claude batch, else 1. */
double gm_backend_price_factor(const struct gm_backend *b);

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
	const char *url;              /* base URL in use: as configured (settings and
	                                 trailing slashes removed), or the Windows host's */
	struct gm_backend_try asked;  /* the URL as configured */
	bool wsl;                     /* it gave no answer, it is local and this is
	                                 WSL2: the Windows host was looked for */
	size_t nwsl;                  /* host addresses found and tried, in order */
	struct gm_backend_try wsl_tries[2];
	const char *wsl_host;         /* the address that answered instead, or NULL */
	char *models;                 /* with `inspect`: GET {url}/models, */
	char *v0_models, *v1_models;  /* LM Studio's /api/v0 and /api/v1 model lists; else NULL */
	/*
	 * Local, once it answered: what it is and what it said, each figure with
	 * where it came from ("GET /props total_slots", "slots= in
	 * monitor.local.url", "monitor.local.concurrency", …); NULL / 0 unknown.
	 */
	const char *kind;             /* "LM Studio", "llama.cpp", "vLLM", "Ollama" */
	const char *kind_slug;        /* "lmstudio", "llamacpp", "vllm", "ollama" */
	char *kind_from;
	char *model;                  /* the model requests to it name (or that it serves) */
	char *model_from;
	int64_t context;              /* tokens a request (prompt and answer) may use */
	char *context_from;
	size_t slots;                 /* requests it is sent at once */
	char *slots_from;
	uint64_t latency_ms;          /* round trip of GET {url}/models */
	const char *key_env;          /* the variable its bearer key came from, or NULL (never the key) */
	bool key_missing;             /* key_env is named but not set */
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

/* What one server did during runs of the engine (for the report and progress). */
struct gm_backend_server_stats {
	const char *url;
	const char *kind;            /* "LM Studio", … */
	const char *model;           /* the model it answered with last, else the one asked; or NULL */
	size_t slots;
	int64_t context;
	size_t inflight;             /* requests on it now */
	bool up;                     /* in service now */
	uint64_t answers;            /* requests it answered */
	uint64_t failures;           /* attempts that failed on it */
	uint64_t requeued;           /* requests moved from it to another server */
	unsigned outages;            /* times it was taken out of service */
	uint64_t down_ms;            /* time out of service (an outage still going included) */
	uint64_t avg_ms;             /* mean time of its answers */
	const char *cause;           /* why it was last taken out ("" never); no key */
};

/* Figures of server `i`; strings valid until the next engine call or gm_backend_free(). */
void gm_backend_server_stats(struct gm_backend_server_stats *out, const struct gm_backend *b,
                             size_t i);

/*
 * When the servers do not all serve (or answer with) one model: one line
 * naming each model and its servers ("servers answer with different models:
 * qwen2.5-7b-instruct (http://a/v1, http://b/v1), llama3 (http://c/v1)"),
 * allocated; else NULL.  Answers carry their model (gm_chat_result.model):
 * a cache keyed by it never mixes them.
 */
char *gm_backend_model_mismatch(const struct gm_backend *b);

int gm_engine_new(struct gm_engine **out);
/* Aborts what is queued or running, without callbacks; NULL is fine. */
void gm_engine_free(struct gm_engine *e);

/*
 * Queue a request; `tag` comes back with its result.  The backend must
 * outlive the engine's work on it.
 *
 * Claude batch backends (cfg.batch): requests submitted before the engine
 * next starts a transfer (all those submitted before gm_engine_run(), or
 * within one callback) go together as one Message Batch, named by their
 * `id` (custom_id; "r<n>" when NULL).  The batch is polled with back-off;
 * when it has ended (results cannot be read before), each request's
 * result comes through the same callback, in any order, priced at the
 * batch price; an errored, canceled or expired item is an error result
 * naming the batch.  With cfg.batch_dir, a batch is recorded there
 * (<batch_dir>/<batch id>.json, with the ids of its requests) until its
 * results are in: a later run whose requests all carry ids of a recorded
 * batch polls that batch instead of sending a new one (a resume).
 * Interrupted (gm_engine_cancel), a batch is cancelled and its record
 * removed, or with cfg.batch_keep left running and recorded; either way
 * each of its requests gets GM_EINTERRUPTED with a message that names the
 * batch and says which.
 */
int gm_engine_submit(struct gm_engine *e, struct gm_backend *b,
                     const struct gm_chat_request *req, void *tag);

/* A backend's Message Batches in this engine so far. */
struct gm_engine_batch_stats {
	size_t batches;        /* sent (or resumed) */
	size_t resumed;        /* of those, found recorded in batch_dir */
	size_t requests;       /* requests in them */
	size_t waiting;        /* requests whose result has not come yet */
	char last_id[80];      /* the last batch's id ("" none) */
};
void gm_engine_batch_stats(struct gm_engine_batch_stats *out, const struct gm_engine *e,
                           const struct gm_backend *b);

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

/* Requests in flight on a backend right now (for the progress line); for a
 * batch backend, requests in batches whose results have not come. */
size_t gm_engine_inflight(const struct gm_engine *e, const struct gm_backend *b);

/*
 * Bytes of answer text (content and reasoning) streamed from a backend so
 * far, every attempt counted, as they arrive: sampled twice, the difference
 * over the time between is a live rate (about 4 bytes a token).
 */
uint64_t gm_engine_streamed(const struct gm_engine *e, const struct gm_backend *b);

#endif
