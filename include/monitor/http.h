/*
 * http.h: transfers.  The engine of backend.h (gm_engine_*) lives in http.c
 * on the libcurl multi interface; this header adds what can be used, and
 * tested, on its own: the retry rules of the official SDKs (PROTOCOLS.md B5)
 * as a pure function, a blocking GET for set-up and `doctor`, and turning a
 * transfer failure into a short cause.
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

/* How one attempt ended, as far as retrying is concerned. */
struct gm_http_outcome {
	int curl_code;              /* CURLcode; 0 when a response arrived */
	long status;                /* HTTP status when curl_code is 0 */
	const char *retry_after_ms; /* header values, or NULL */
	const char *retry_after;    /* seconds (may be fractional) or an HTTP date */
	const char *should_retry;   /* x-should-retry: "true" / "false" */
};

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

/* Short lowercase cause of a transfer failure ("connection refused"). */
void gm_http_cause(char *buf, size_t size, int curl_code, long os_errno,
                   const char *errbuf);

/* Overwrite every occurrence of `secret` in `msg` with '*' (NULL/"": no-op). */
void gm_http_scrub(char *msg, const char *secret);

/*
 * The host span of "scheme://host[:port]/..." in `*host`/`*len`; true when
 * the host is this machine (localhost, 127.x, [::1]).
 */
bool gm_http_url_is_local(const char *url, const char **host, size_t *len);

struct gm_http_response {
	long status;     /* 0 when no response */
	char *body;      /* NUL-terminated, or NULL */
	size_t len;
	char cause[256]; /* on failure: gm_http_cause() text */
};

/*
 * Blocking GET with `headers` (NULL-terminated "Name: value" strings, may be
 * NULL), a connect timeout of GM_HTTP_CONNECT_TIMEOUT_S and a total of
 * `timeout_s`; the body is bounded by `max`.  0 when a response arrived
 * (whatever its status), else GM_ERROR with resp->cause set and nothing in
 * the error slot (the caller knows which server it was), GM_ETOOBIG past `max`.
 */
int gm_http_get(struct gm_http_response *resp, const char *url,
                const char *const *headers, long timeout_s, size_t max);
void gm_http_response_release(struct gm_http_response *resp);

#endif
