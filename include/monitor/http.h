/*
 * http.h: transfers.  A chat engine on the libcurl multi interface (curl's
 * src/tool_operate.c is the model: a queue topped up to each server's slots,
 * one error buffer per easy handle, retries with a start time) that knows a
 * protocol only through a `const struct gm_http_proto` (like curl's struct
 * Curl_protocol, one instance per protocol): openai.c and anthropic.c each
 * export one.  Besides: the retry rules of the official SDKs (PROTOCOLS.md
 * B5) as a pure function, a blocking request for set-up, and turning a
 * transfer failure into a short cause.
 *
 * Nothing here knows a backend, a model table or a price; backend.c is the
 * only caller.  Error messages follow two channels: a function that fails
 * puts its message into the error slot (error.h); a request that fails
 * carries its own message in its result (like curl's per-handle
 * CURLOPT_ERRORBUFFER), so many can fail at once.
 */
#ifndef MONITOR_HTTP_H
#define MONITOR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define GM_HTTP_CONNECT_TIMEOUT_S 10
#define GM_HTTP_MAX_BODY (8u << 20)        /* default bound of an answer */
#define GM_HTTP_DEFAULT_RETRIES 2          /* 3 attempts in all */
#define GM_HTTP_DEFAULT_STALL_S 120        /* stream sent nothing for this long */
#define GM_HTTP_RETRY_AFTER_CAP_MS 60000   /* server-asked delays are capped */
#define GM_HTTP_BACKOFF_BASE_MS 500
#define GM_HTTP_BACKOFF_CAP_MS 8000
#define GM_HTTP_SERVER_DOWN_MS 30000       /* a server set-up could not reach is passed over */
#define GM_HTTP_BACKOFF_DOWN_MS 5000       /* a server taken out mid-run: first back-off */
#define GM_HTTP_BACKOFF_DOWN_CAP_MS 120000 /* ... doubling per outage up to this */
#define GM_HTTP_STORM 3                    /* failures in a row (resets, 5xx) that take it out */
#define GM_HTTP_MAX_HEADERS 8

/* ---- what is asked and what comes back ---------------------------------- */

struct gm_chat_request {
	const char *system;      /* system prompt (Claude: cached prefix) */
	const char *user;        /* the user message */
	const char *json_schema; /* NULL, or JSON Schema text: structured output */
	const char *schema_name; /* name for the schema / forced tool */
	int max_tokens;          /* 0: backend default */
	bool has_temperature;
	double temperature;
	/* Optional (zero: none).  `prompt_tokens`: the caller's estimate of the
	 * prompt in tokens, for context admission (0: the engine estimates it from
	 * the bytes).  `id`: names the request where an API asks for one (a
	 * Message Batch's custom_id: 1 to 64 of [A-Za-z0-9_-]); requests that
	 * should be recognised again (a resumed batch) give the same id. */
	int64_t prompt_tokens;
	const char *id;
};

/*
 * One request's outcome.  Every string is allocated and owned by whoever
 * filled it: the engine frees a result after its completion callback
 * returns; the parse functions of openai.h and anthropic.h give theirs to
 * the caller.
 */
struct gm_chat_result {
	int error;            /* 0, or a GM_E* code; message in error_message */
	char *error_message;  /* one line, names the server and cause; no secrets */
	char *content;        /* answer text, reasoning removed (NULL on error) */
	char *reasoning;      /* reasoning_content / reasoning / <think> text, or NULL */
	char *finish_reason;  /* normalized: "stop", "length", "tool_calls", "refusal", ... */
	char *model;          /* model that answered (the server's own word, else the one asked) */
	char *server;         /* base URL that answered */
	int64_t input_tokens, output_tokens, cache_write_tokens, cache_read_tokens;
	double cost_usd;      /* set by the backend (0 for local) */
	unsigned attempts;    /* HTTP attempts made, retries included */
	uint64_t elapsed_ms;
};
/* Free the strings of `r` and zero it (for the engine's results and the batch's own). */
void gm_chat_result_release(struct gm_chat_result *r);

/* ---- the protocol ops ------------------------------------------------------ */

/*
 * One HTTP request as a protocol builds it.  Owns its strings;
 * gm_http_send_release() wipes the headers (they may hold a key) and frees.
 */
struct gm_http_send {
	char *url;                              /* absolute */
	char *body;                             /* NULL: GET, else POST this */
	char *headers[GM_HTTP_MAX_HEADERS];     /* "Name: value" */
	size_t nheaders;
	bool after_interrupt; /* not stopped by an interrupt: a clean-up sent once
	                         interrupted (a batch's cancel) is not stopped by
	                         gm_http_fetch_interrupt, and a transfer running when
	                         gm_http_multi_cancel comes (a batch's create) ends
	                         normally first */
};

/* Append a header line; aborts past GM_HTTP_MAX_HEADERS (a programming error). */
void gm_http_send_header(struct gm_http_send *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gm_http_send_release(struct gm_http_send *s);

/* Where one request goes and as whom: what a protocol needs besides it. */
struct gm_http_target {
	const char *url;     /* the server's base URL, no trailing slash */
	const char *model;   /* NULL: name none (the server chooses) */
	const char *api_key; /* NULL: none; only ever put into a header */
	bool stream;         /* ask for an event stream */
	int64_t context;     /* tokens a request may use there (prompt and answer); 0: unknown */
	int64_t prompt_tokens; /* the request's prompt, estimated (0: unknown) */
};

/*
 * The state of one answer being decoded; a protocol's own state embeds it
 * first.  `retry`: a failure inside a 2xx answer that is worth another
 * attempt (the protocol's retry rule: a stream cut short, an overloaded
 * error event); failing statuses and transfers follow gm_http_retry_decide().
 * `text`: bytes of answer text (content and reasoning) decoded so far.
 */
struct gm_http_answer {
	bool retry;
	size_t text;
};

struct gm_http_proto {
	/* Names the server in messages: "LM Studio at <url>: …" when `url_in_name`,
	 * else "Claude API: …"; a server that cannot be reached is always named
	 * by its URL. */
	const char *name;
	bool url_in_name;

	/* The chat request to `t`: 0, or negative with the cause in the error slot. */
	int (*build)(struct gm_http_send *out, const struct gm_http_target *t,
	             const struct gm_chat_request *req);
	/* Headers that authenticate a set-up request to `t` (model lists, key checks). */
	void (*auth)(struct gm_http_send *out, const struct gm_http_target *t);

	/*
	 * Decode a 2xx answer as it arrives: new (never fails; the state is the
	 * caller's until answer_free), feed the bytes in pieces of any size, end
	 * once the transfer is over; after a failed feed only free.  feed and end
	 * return 0 or negative with the cause alone in the error slot; end fills
	 * content, reasoning, finish_reason, model and usage of `res` (allocated,
	 * the caller's) on success.  `sse`: an event stream (every frame is
	 * checked as it comes: an error event fails the feed at once), else one
	 * JSON object.
	 */
	struct gm_http_answer *(*answer_new)(const struct gm_chat_request *req, bool sse);
	int (*answer_feed)(struct gm_http_answer *a, const char *buf, size_t n);
	int (*answer_end)(struct gm_http_answer *a, struct gm_chat_result *res);
	void (*answer_free)(struct gm_http_answer *a);

	/* One-line cause of a non-2xx answer ("HTTP <status>" at worst); allocated. */
	char *(*error_cause)(long status, const char *body, size_t len);

	/* Appended to a server's base URL, a GET that tells whether it is up
	 * (and authenticates like a chat request): the engine's probe of a
	 * server taken out of service. */
	const char *probe_path;
};

/* ---- servers and the engine --------------------------------------------- */

/* What the engine saw of one server during runs (for reports and progress). */
struct gm_http_server_stats {
	uint64_t answers;   /* requests it answered (2xx, decoded) */
	uint64_t failures;  /* attempts that failed on it, whatever the cause */
	uint64_t requeued;  /* requests moved from it to another server */
	unsigned outages;   /* times it was taken out of service */
	uint64_t down_ms;   /* time out of service, outages ended so far */
	uint64_t busy_ms;   /* summed time of its answered attempts */
	char cause[200];    /* why it was last taken out ("" never); no key in it */
	char model[128];    /* the model it last answered with ("" none yet) */
};

/*
 * A server requests can go to.  Its owner (backend.c) sets url, proto,
 * slots and, where known, model, api_key and context; the engine keeps the
 * rest.  A server is taken out of service (down_until in the future) when
 * it cannot be reached, when a stream stalls on it, or after GM_HTTP_STORM
 * failures in a row (resets, 5xx), provided another server of its pool is
 * up; its transfers are then aborted and their requests go to the others
 * without using up a retry.  When its back-off has passed it is probed
 * (GET {url}{proto->probe_path}) and taken back when that answers 2xx.
 */
struct gm_http_server {
	char *url;                         /* base URL, no trailing slash */
	const char *shown;                 /* the URL in messages, results and records, its
	                                      password redacted (gm_http_url_redact); the
	                                      owner's; NULL: url has none */
	const struct gm_http_proto *proto; /* how to talk to it */
	size_t slots;                      /* transfers at once */
	const char *model;                 /* model to name there; NULL: the pool's */
	const char *api_key;               /* key to send there; NULL: the pool's */
	int64_t context;                   /* tokens a request may use there; 0: unknown */
	/* the engine's */
	size_t inflight;                   /* transfers running on it now */
	uint64_t down_until;               /* gm_now_ms() before which it is passed over */
	uint64_t down_since;               /* when the current outage began (0: up) */
	uint64_t backoff_ms;               /* of the current or last outage */
	unsigned streak;                   /* failures in a row */
	bool probing;                      /* a probe is in flight */
	struct gm_http_server_stats stats;
};

/*
 * Servers sharing one queue of requests (a backend), and how to ask them.
 * Owned by the caller; it must outlive every request submitted on it.  A
 * request goes to a server with a free slot whose context holds it (the
 * least busy, the faster of equals); while every server is out of service
 * they are tried anyway, each attempt counting as a retry.
 */
struct gm_http_pool {
	struct gm_http_server *servers;
	size_t nservers;
	const char *model;     /* as in gm_http_target; the owner's strings */
	const char *api_key;   /* as in gm_http_target; scrubbed from every message */
	bool stream;
	long timeout_s;        /* per attempt, in all */
	long stall_s;          /* a stream silent this long fails the attempt; 0: never */
	unsigned max_retries;  /* retries after the first attempt */
	size_t max_body;       /* bound of one answer in bytes */
	uint64_t backoff_ms;   /* first back-off of a server taken out (0: GM_HTTP_BACKOFF_DOWN_MS) */
	void *owner;           /* the owner's, untouched */
	uint64_t streamed;     /* engine: answer text received so far, in bytes, all attempts */
};

/*
 * Take `s` out of service from `now` for a back-off (the first is
 * `backoff_ms`, 0: GM_HTTP_BACKOFF_DOWN_MS; each outage in a row doubles
 * it), recording `cause`; the engine probes it when that has passed.  For
 * the owner too: a server set-up could not reach starts out like this.
 */
void gm_http_server_take_out(struct gm_http_server *s, uint64_t backoff_ms, const char *cause,
                             uint64_t now);
/* Its time out of service so far, the outage still going (if any) included. */
uint64_t gm_http_server_down_ms(const struct gm_http_server *s, uint64_t now);

/* Requests running on `pool` right now. */
size_t gm_http_pool_inflight(const struct gm_http_pool *pool);

struct gm_http_multi;

/* Requests of `pool` waiting in `m`'s queue for a slot (or their retry time). */
size_t gm_http_multi_queued(const struct gm_http_multi *m, const struct gm_http_pool *pool);
/*
 * Have gm_http_multi_run call `fn(ctx)` between waits, and wait no longer
 * than `ms` (0: 100) at a time, so a progress line can be redrawn while
 * every answer is still pending.  `fn` must not queue requests.  NULL: none.
 */
void gm_http_multi_set_tick(struct gm_http_multi *m, void (*fn)(void *ctx), void *ctx, long ms);

int gm_http_multi_new(struct gm_http_multi **out);
/* Aborts what is queued or running without calling back; NULL is fine. */
void gm_http_multi_free(struct gm_http_multi *m);

/* Queue `req` (copied) on `pool`; `tag` comes back with its result. */
void gm_http_multi_add(struct gm_http_multi *m, struct gm_http_pool *pool,
                       const struct gm_chat_request *req, void *tag);

/*
 * Queue a request that is not a chat: `build` fills the request for server
 * `s` when the transfer starts (so it may gather what was queued until
 * then); 0, or negative with the cause in the error slot (the request then
 * completes with that error).  It starts no earlier than `delay_ms` from
 * now.  Its 2xx body, bounded by `max` bytes, comes back whole as the
 * result's content (NUL-terminated); failures follow the retry rules of a
 * chat.  `build_ctx` stays the caller's.
 */
typedef int (*gm_http_build_fn)(struct gm_http_send *out, void *build_ctx,
                                const struct gm_http_server *s);
void gm_http_multi_fetch(struct gm_http_multi *m, struct gm_http_pool *pool,
                         gm_http_build_fn build, void *build_ctx, uint64_t delay_ms,
                         size_t max, void *tag);

/*
 * The completion callback: `res` belongs to the engine and is freed after
 * the callback returns (the callback may change it first).  It may queue
 * more requests.  A non-zero return stops the run.
 */
typedef int (*gm_http_done_fn)(void *ctx, struct gm_http_pool *pool, void *tag,
                               struct gm_chat_result *res);

/*
 * Run until every queued request has completed (probes of servers out of
 * service do not keep it running), or until
 * gm_http_multi_cancel() or a non-zero return from `done`.  Returns 0,
 * GM_EINTERRUPTED when cancelled (in-flight transfers are aborted and their
 * callbacks get error GM_EINTERRUPTED, except those sent `after_interrupt`,
 * which end first; what their callbacks queue is aborted), or what `done`
 * returned.
 */
int gm_http_multi_run(struct gm_http_multi *m, gm_http_done_fn done, void *ctx);
void gm_http_multi_cancel(struct gm_http_multi *m); /* async-signal-safe */

/* ---- retry rules (PROTOCOLS.md B5) --------------------------------------- */

/* How one attempt ended, as far as retrying is concerned. */
struct gm_http_outcome {
	int curl_code;              /* CURLcode; 0 when a response arrived */
	long status;                /* HTTP status when curl_code is 0 */
	const char *retry_after_ms; /* header values, or NULL */
	const char *retry_after;    /* seconds (may be fractional) or an HTTP date */
	const char *should_retry;   /* x-should-retry: "true" / "false" */
};

/*
 * The token estimate used when a request gives none: its bytes over 3
 * (code is denser than prose) and a little for the chat template.
 */
int64_t gm_http_estimate_tokens(const struct gm_chat_request *req);

/*
 * Whether `req` (prompt estimate `prompt`) may go to a server whose context
 * is `context` tokens (0: unknown, always): the prompt and the requested
 * answer fit; `relaxed`: the prompt and a quarter of the answer fit (the
 * answer is then capped, see gm_http_answer_cap).
 */
bool gm_http_fits(int64_t context, int64_t prompt, int max_tokens, bool relaxed);
/* The answer cap to send: `max_tokens`, lowered to what the context leaves. */
int gm_http_answer_cap(int64_t context, int64_t prompt, int max_tokens);

/* Statuses the SDKs retry: 408, 409, 429 and all >= 500 (529 included). */
bool gm_http_status_retryable(long status);
/* Transfer failures worth retrying: connection errors and timeouts. */
bool gm_http_curl_retryable(int curl_code);

/*
 * The delay the server asked for, in ms: retry-after-ms, else retry-after
 * (seconds or an HTTP date relative to `now`); -1 when absent, unparsable
 * or not positive.  Values over GM_HTTP_RETRY_AFTER_CAP_MS are capped.
 */
int64_t gm_http_retry_after(const char *retry_after_ms, const char *retry_after,
                            time_t now);

/*
 * Decide whether to try again after attempt number `retries_done + 1`
 * failed with `o`, and after how long (*delay_ms).  x-should-retry wins over
 * the status; no retry once `retries_done` reaches `max_retries`.  The delay
 * is the server's (gm_http_retry_after), else min(0.5 s * 2^retries_done,
 * 8 s) * (1 - 0.25 * `rand01`), `rand01` uniform in [0, 1).
 */
bool gm_http_retry_decide(uint64_t *delay_ms, const struct gm_http_outcome *o,
                          unsigned retries_done, unsigned max_retries,
                          double rand01, time_t now);

/* ---- small tools ---------------------------------------------------------- */

/* Short lowercase cause of a transfer failure ("connection refused"). */
void gm_http_cause(char *buf, size_t size, int curl_code, long os_errno,
                   const char *errbuf);

/*
 * One line naming a server of protocol `p` at `url`, as the messages of
 * this module do: "cannot reach LM Studio at <url>: <cause>" when
 * `unreachable`, else "LM Studio at <url>: <cause>" / "Claude API: <cause>"
 * (see url_in_name); the URL's password redacted.  Allocated; scrub keys
 * out of it before showing it.
 */
char *gm_http_describe(const struct gm_http_proto *p, const char *url, bool unreachable,
                       const char *cause);

/*
 * `text` (a URL, a setting holding URLs, a message) as it may be shown or
 * stored: in every URL, the password of its userinfo replaced by
 * "<redacted>" as git does ("http://user:<redacted>@host/v1"), a userinfo
 * without a password (a token as the user name) replaced whole
 * ("http://<redacted>@host/v1").  Allocated.
 */
char *gm_http_url_redact(const char *url);

/* Overwrite every occurrence of `secret` in `msg` with '*' (NULL/"": no-op). */
void gm_http_scrub(char *msg, const char *secret);

/*
 * The host span of "scheme://host[:port]/..." in `*host`/`*len`; true when
 * the host is this machine (localhost, 127.x, [::1]).
 */
bool gm_http_url_is_local(const char *url, const char **host, size_t *len);

/* ---- blocking requests (set-up, probes) ---------------------------------- */

struct gm_http_response {
	long status;     /* the HTTP status */
	char *body;      /* NUL-terminated, or NULL; owned, see release */
	size_t len;
};

/*
 * Send `req` (GET, or POST when it has a body) and wait, with a connect
 * timeout of GM_HTTP_CONNECT_TIMEOUT_S and a total of `timeout_s`; the body
 * is bounded by `max`.  0 when a response arrived, whatever its status;
 * else GM_ERROR, or GM_ETOOBIG past `max`, with the cause alone in the error
 * slot ("connection refused": the caller knows which server it asked).
 */
int gm_http_fetch(struct gm_http_response *resp, const struct gm_http_send *req,
                  long timeout_s, size_t max);
void gm_http_response_release(struct gm_http_response *resp);
/*
 * Async-signal-safe: non-zero makes every blocking fetch (running or
 * started later) stop within about a second with GM_EINTERRUPTED
 * ("interrupted"), until it is called again with 0; a request marked
 * `after_interrupt` still runs to its own timeout.
 */
void gm_http_fetch_interrupt(int on);

#endif
