/*
 * http.c: the engine of backend.h on the libcurl multi interface (after
 * curl's src/tool_operate.c): a queue of jobs, topped up to each server's
 * cap, each easy handle tagged with its job (CURLOPT_PRIVATE) and given its
 * own error buffer; one thread polls, drains curl_multi_info_read, and
 * schedules retries with a start time that the poll timeout honours.
 */
#include "monitor/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backend_int.h"
#include "monitor/error.h"
#include "monitor/price.h"
#include "monitor/util.h"
#include "monitor/banned.h"

/* ---- retry rules (PROTOCOLS.md B5) ------------------------------------ */

bool gm_http_status_retryable(long status)
{
	return status == 408 || status == 409 || status == 429 || status >= 500;
}

bool gm_http_curl_retryable(int curl_code)
{
	switch (curl_code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

static int64_t cap_ms(double ms)
{
	if (!(ms > 0))
		return -1;
	if (ms > GM_HTTP_RETRY_AFTER_CAP_MS)
		return GM_HTTP_RETRY_AFTER_CAP_MS;
	return (int64_t)ms;
}

static bool parse_number(double *out, const char *s)
{
	char *end;
	errno = 0;
	*out = strtod(s, &end);
	if (end == s || errno || !isfinite(*out))
		return false;
	while (*end == ' ' || *end == '\t')
		end++;
	return *end == '\0';
}

int64_t gm_http_retry_after(const char *retry_after_ms, const char *retry_after,
                            time_t now)
{
	double v;
	time_t t;

	if (retry_after_ms && parse_number(&v, retry_after_ms))
		return cap_ms(v);
	if (!retry_after)
		return -1;
	if (parse_number(&v, retry_after))
		return cap_ms(v * 1000.0);
	t = curl_getdate(retry_after, &now);
	if (t == -1)
		return -1;
	return cap_ms(((double)t - (double)now) * 1000.0);
}

bool gm_http_retry_decide(uint64_t *delay_ms, const struct gm_http_outcome *o,
                          unsigned retries_done, unsigned max_retries,
                          double rand01, time_t now)
{
	bool retry;
	int64_t asked;
	double backoff;

	*delay_ms = 0;
	if (retries_done >= max_retries)
		return false;
	if (o->curl_code) {
		retry = gm_http_curl_retryable(o->curl_code);
	} else if (o->should_retry && !strcasecmp(o->should_retry, "true")) {
		retry = true;
	} else if (o->should_retry && !strcasecmp(o->should_retry, "false")) {
		retry = false;
	} else {
		retry = gm_http_status_retryable(o->status);
	}
	if (!retry)
		return false;
	asked = o->curl_code ? -1 : gm_http_retry_after(o->retry_after_ms,
	                                                o->retry_after, now);
	if (asked >= 0) {
		*delay_ms = (uint64_t)asked;
		return true;
	}
	backoff = GM_HTTP_BACKOFF_BASE_MS * pow(2.0, retries_done > 30 ? 30 : retries_done);
	if (backoff > GM_HTTP_BACKOFF_CAP_MS)
		backoff = GM_HTTP_BACKOFF_CAP_MS;
	if (rand01 < 0 || rand01 >= 1)
		rand01 = 0;
	*delay_ms = (uint64_t)(backoff * (1.0 - 0.25 * rand01));
	return true;
}

void gm_http_cause(char *buf, size_t size, int curl_code, long os_errno,
                   const char *errbuf)
{
	const char *s = NULL;

	switch (curl_code) {
	case CURLE_COULDNT_CONNECT:
		s = os_errno ? strerror((int)os_errno) : "cannot connect";
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		s = "cannot resolve host name";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		s = "timed out";
		break;
	case CURLE_GOT_NOTHING:
		s = "server closed the connection without answering";
		break;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		s = os_errno ? strerror((int)os_errno) : "connection lost";
		break;
	case CURLE_PARTIAL_FILE:
		s = "connection closed in the middle of the answer";
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		s = "invalid URL";
		break;
	default:
		s = errbuf && *errbuf ? errbuf : curl_easy_strerror(curl_code);
	}
	snprintf(buf, size, "%s", s);
	/* git style: lowercase, one line, no full stop. */
	gm_error_lowercase_first(buf);
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	for (size_t n = strlen(buf); n && (buf[n - 1] == '.' || buf[n - 1] == ' '); n--)
		buf[n - 1] = '\0';
}

void gm_http_scrub(char *msg, const char *secret)
{
	size_t n;
	char *p;

	if (!msg || !secret || !(n = strlen(secret)))
		return;
	while ((p = strstr(msg, secret)))
		memset(p, '*', n);
}

/* ---- blocking GET ------------------------------------------------------ */

struct get_sink {
	struct gm_buf b;
	bool too_big;
};

static size_t get_write(char *p, size_t size, size_t n, void *ud)
{
	struct get_sink *s = ud;
	if (gm_buf_put(&s->b, p, size * n) < 0) {
		s->too_big = true;
		return 0;
	}
	return size * n;
}

int gm_http_get(struct gm_http_response *resp, const char *url,
                const char *const *headers, long timeout_s, size_t max)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct get_sink sink = { GM_BUF_INIT, false };
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	long oserr = 0;
	int rc = 0;

	memset(resp, 0, sizeof(*resp));
	gm_buf_init(&sink.b, max);
	if (!h)
		abort();
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, get_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)GM_HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 30L);
	cc = curl_easy_perform(h);
	if (cc == CURLE_WRITE_ERROR && sink.too_big) {
		snprintf(resp->cause, sizeof(resp->cause),
		         "answer larger than %zu bytes", max);
		rc = GM_ETOOBIG;
		goto cleanup;
	}
	if (cc != CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
		gm_http_cause(resp->cause, sizeof(resp->cause), cc, oserr, errbuf);
		rc = GM_ERROR;
		goto cleanup;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->body = gm_buf_detach(&sink.b, &resp->len);
cleanup:
	gm_buf_release(&sink.b);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return rc;
}

void gm_http_response_release(struct gm_http_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

/* ---- the engine -------------------------------------------------------- */

struct job {
	struct job *next;
	struct gm_engine *e;
	struct gm_backend *b;
	struct gm_chat_request req; /* strings owned */
	void *tag;
	unsigned attempts, retries;
	uint64_t start_ms, not_before, last_byte;
	struct gm_server *server;
	CURL *easy;
	struct curl_slist *headers;
	char *url, *body;
	struct gm_buf resp;
	char *ra_ms, *ra, *should, *ctype;
	bool got_byte, too_big;
	char errbuf[CURL_ERROR_SIZE];
};

struct gm_engine {
	CURLM *multi;
	struct job *queue, *queue_tail; /* waiting, FIFO */
	struct job *active;
	int pipe[2];
	volatile sig_atomic_t cancelled;
	gm_engine_done_fn done;
	void *ctx;
	int stop_rc;
	uint64_t rng;
};

static bool curl_ready;

int gm_engine_new(struct gm_engine **out)
{
	struct gm_engine *e;

	*out = NULL;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
			gm_error_set("cannot initialise libcurl");
			return GM_ERROR;
		}
		curl_ready = true;
	}
	e = gm_xcalloc(1, sizeof(*e));
	if (pipe(e->pipe) < 0) {
		gm_error_set("cannot create a pipe: %s", strerror(errno));
		free(e);
		return GM_ERROR;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(e->pipe[i], F_SETFL, fcntl(e->pipe[i], F_GETFL) | O_NONBLOCK);
		fcntl(e->pipe[i], F_SETFD, FD_CLOEXEC);
	}
	if (!(e->multi = curl_multi_init()))
		abort();
	curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, 256L);
	e->rng = (gm_now_ms() << 16) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)e;
	if (!e->rng)
		e->rng = 1;
	*out = e;
	return 0;
}

static double rand01(struct gm_engine *e)
{
	/* xorshift64: jitter needs no quality, only spread. */
	e->rng ^= e->rng << 13;
	e->rng ^= e->rng >> 7;
	e->rng ^= e->rng << 17;
	return (double)(e->rng >> 11) / 9007199254740992.0;
}

static char *dup_or_null(const char *s)
{
	return s ? gm_xstrdup(s) : NULL;
}

static void attempt_release(struct job *j)
{
	if (j->easy) {
		curl_multi_remove_handle(j->e->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	if (j->server) {
		j->server->inflight--;
		j->server = NULL;
	}
	curl_slist_free_all(j->headers);
	j->headers = NULL;
	free(j->url);
	free(j->body);
	free(j->ra_ms);
	free(j->ra);
	free(j->should);
	free(j->ctype);
	j->url = j->body = j->ra_ms = j->ra = j->should = j->ctype = NULL;
	gm_buf_release(&j->resp);
	j->got_byte = j->too_big = false;
	j->errbuf[0] = '\0';
}

static void job_free(struct job *j)
{
	attempt_release(j);
	free((char *)j->req.system);
	free((char *)j->req.user);
	free((char *)j->req.json_schema);
	free((char *)j->req.schema_name);
	free(j);
}

static void enqueue(struct gm_engine *e, struct job *j)
{
	j->next = NULL;
	if (e->queue_tail)
		e->queue_tail->next = j;
	else
		e->queue = j;
	e->queue_tail = j;
}

int gm_engine_submit(struct gm_engine *e, struct gm_backend *b,
                     const struct gm_chat_request *req, void *tag)
{
	struct job *j;
	int rc;

	if (!b->prepared && (rc = gm_backend_prepare(b)) < 0)
		return rc;
	j = gm_xcalloc(1, sizeof(*j));
	j->e = e;
	j->b = b;
	j->tag = tag;
	j->req = *req;
	j->req.system = dup_or_null(req->system);
	j->req.user = dup_or_null(req->user);
	j->req.json_schema = dup_or_null(req->json_schema);
	j->req.schema_name = dup_or_null(req->schema_name);
	j->start_ms = gm_now_ms();
	enqueue(e, j);
	return 0;
}

size_t gm_engine_inflight(const struct gm_engine *e, const struct gm_backend *b)
{
	size_t n = 0;
	(void)e;
	for (size_t i = 0; i < b->nservers; i++)
		n += b->servers[i].inflight;
	return n;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
	struct job *j = ud;
	j->last_byte = gm_now_ms();
	j->got_byte = true;
	if (gm_buf_put(&j->resp, p, size * n) < 0) {
		j->too_big = true;
		return 0;
	}
	return size * n;
}

static void header_value(char **dst, const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	free(*dst);
	*dst = gm_xstrndup(v, n);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct job *j = ud;
	static const struct { const char *name; size_t off; } want[] = {
		{ "retry-after-ms:", offsetof(struct job, ra_ms) },
		{ "retry-after:", offsetof(struct job, ra) },
		{ "x-should-retry:", offsetof(struct job, should) },
		{ "content-type:", offsetof(struct job, ctype) },
	};
	size_t len = size * n;

	j->last_byte = gm_now_ms();
	j->got_byte = true;
	if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		/* A new response (after a 1xx or a redirect): forget the last. */
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			char **dst = (char **)((char *)j + want[i].off);
			free(*dst);
			*dst = NULL;
		}
		return len;
	}
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t wl = strlen(want[i].name);
		if (len >= wl && !strncasecmp(p, want[i].name, wl)) {
			header_value((char **)((char *)j + want[i].off), p + wl, len - wl);
			break;
		}
	}
	return len;
}

/* The least busy server with a free slot; servers that are down only when all are. */
static struct gm_server *pick_server(struct gm_backend *b, uint64_t now)
{
	struct gm_server *best = NULL;
	bool any_up = false;

	for (size_t i = 0; i < b->nservers; i++)
		if (b->servers[i].down_until <= now)
			any_up = true;
	for (size_t i = 0; i < b->nservers; i++) {
		struct gm_server *s = &b->servers[i];
		if (any_up && s->down_until > now)
			continue;
		if (s->inflight >= b->concurrency)
			continue;
		if (!best || s->inflight < best->inflight)
			best = s;
	}
	return best;
}

static void result_release(struct gm_chat_result *r)
{
	free(r->error_message);
	free(r->content);
	free(r->reasoning);
	free(r->finish_reason);
	free(r->model);
	free(r->server);
}

/* Hand the job's result to the caller and free the job (already unlinked). */
static void complete(struct gm_engine *e, struct job *j, struct gm_chat_result *res)
{
	int rc;

	res->attempts = j->attempts;
	res->elapsed_ms = gm_now_ms() - j->start_ms;
	if (!res->server && j->server)
		res->server = gm_xstrdup(j->server->url);
	if (!res->model && j->b->model)
		res->model = gm_xstrdup(j->b->model);
	if (res->error && !res->error_message)
		res->error_message = gm_xstrdup("request failed");
	gm_http_scrub(res->error_message, j->b->api_key);
	attempt_release(j);
	if (e->done) {
		rc = e->done(e->ctx, j->tag, res);
		if (rc && !e->stop_rc)
			e->stop_rc = rc;
	}
	result_release(res);
	job_free(j);
}

static void fail(struct gm_engine *e, struct job *j, int code, char *msg)
{
	struct gm_chat_result res = { 0 };
	res.error = code;
	res.error_message = msg;
	complete(e, j, &res);
}

/*
 * Start job `j` (unlinked) on `s`.  On a local failure (a request that cannot
 * be built) the job completes, is freed, and the result is negative.
 */
static int start(struct gm_engine *e, struct job *j, struct gm_server *s)
{
	CURL *h;
	int rc;

	if ((rc = gm_backend_build(j->b, &j->req, s, &j->url, &j->headers, &j->body)) < 0) {
		fail(e, j, rc, gm_xstrdup(gm_error_last()));
		return rc;
	}
	if (!(h = curl_easy_init()))
		abort();
	j->easy = h;
	j->server = s;
	s->inflight++;
	j->attempts++;
	gm_buf_init(&j->resp, j->b->max_body);
	j->last_byte = gm_now_ms();
	curl_easy_setopt(h, CURLOPT_URL, j->url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(h, CURLOPT_PRIVATE, j);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)GM_HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, j->b->timeout_s * 1000L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_multi_add_handle(e->multi, h);
	return 0;
}

/* Start every waiting job that is due and has a free slot; FIFO otherwise. */
static void top_up(struct gm_engine *e, uint64_t now)
{
	struct job **pp = &e->queue, *j, *prev = NULL;

	while ((j = *pp)) {
		struct gm_server *s;
		if (j->not_before > now || !(s = pick_server(j->b, now))) {
			prev = j;
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		if (e->queue_tail == j)
			e->queue_tail = prev;
		if (start(e, j, s) == 0) {
			j->next = e->active;
			e->active = j;
		}
	}
}

static void unlink_active(struct gm_engine *e, struct job *j)
{
	for (struct job **pp = &e->active; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			return;
		}
	}
}

static bool other_server_up(const struct gm_backend *b, const struct gm_server *s,
                            uint64_t now)
{
	for (size_t i = 0; i < b->nservers; i++)
		if (&b->servers[i] != s && b->servers[i].down_until <= now)
			return true;
	return false;
}

/* Schedule another attempt, or complete with `res` (its error set). */
static void retry_or_fail(struct gm_engine *e, struct job *j, struct gm_chat_result *res,
                          const struct gm_http_outcome *o)
{
	uint64_t delay, now = gm_now_ms();
	bool connect_failed = o->curl_code == CURLE_COULDNT_CONNECT ||
	                      o->curl_code == CURLE_COULDNT_RESOLVE_HOST;
	struct gm_server *s = j->server;

	if (connect_failed && s)
		s->down_until = now + GM_SERVER_DOWN_MS;
	if (connect_failed && s && other_server_up(j->b, s, now) &&
	    j->attempts < j->b->max_retries + 1 + j->b->nservers) {
		/* Another server can take it now; this does not use up a retry. */
		delay = 0;
	} else if (gm_http_retry_decide(&delay, o, j->retries, j->b->max_retries,
	                                rand01(e), time(NULL))) {
		j->retries++;
	} else {
		complete(e, j, res);
		return;
	}
	result_release(res);
	attempt_release(j);
	j->not_before = now + delay;
	enqueue(e, j);
}

static void finished(struct gm_engine *e, struct job *j, CURLcode cc, bool stalled)
{
	struct gm_chat_result res = { 0 };
	struct gm_http_outcome o = { 0 };
	long status = 0, oserr = 0;
	char cause[256];

	unlink_active(e, j);
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	if (j->too_big) {
		res.error = GM_ETOOBIG;
		snprintf(cause, sizeof(cause), "answer larger than %zu bytes", j->b->max_body);
		res.error_message = gm_backend_transfer_error(j->b, j->server, false, cause);
		complete(e, j, &res);
		return;
	}
	if (cc != CURLE_OK || stalled) {
		curl_easy_getinfo(j->easy, CURLINFO_OS_ERRNO, &oserr);
		if (stalled)
			snprintf(cause, sizeof(cause), "stream stalled: no data for %ld s",
			         j->b->stall_s);
		else if (cc == CURLE_OPERATION_TIMEDOUT && !j->got_byte &&
		         strstr(j->errbuf, "onnect"))
			snprintf(cause, sizeof(cause), "connect timed out after %d s",
			         GM_HTTP_CONNECT_TIMEOUT_S);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			snprintf(cause, sizeof(cause), "timed out after %ld s", j->b->timeout_s);
		else
			gm_http_cause(cause, sizeof(cause), cc, oserr, j->errbuf);
		res.error = GM_ERROR;
		res.error_message = gm_backend_transfer_error(
			j->b, j->server,
			!stalled && !j->got_byte && (cc == CURLE_COULDNT_CONNECT ||
			                             cc == CURLE_COULDNT_RESOLVE_HOST ||
			                             strstr(cause, "connect timed out")),
			cause);
		o.curl_code = stalled ? CURLE_OPERATION_TIMEDOUT : (int)cc;
		retry_or_fail(e, j, &res, &o);
		return;
	}
	o.status = status;
	o.retry_after_ms = j->ra_ms;
	o.retry_after = j->ra;
	o.should_retry = j->should;
	if (status >= 200 && status < 300) {
		bool retry = false;
		const char *body = j->resp.ptr ? j->resp.ptr : "";
		int rc = gm_backend_parse(j->b, j->server, &j->req, &res, &retry,
		                          j->ctype, body, j->resp.len);
		if (!rc) {
			res.cost_usd = j->b->kind == GM_BACKEND_CLAUDE
				? gm_price_cost(res.model ? res.model : j->b->model,
				                res.input_tokens, res.output_tokens,
				                res.cache_write_tokens, res.cache_read_tokens)
				: 0.0;
			complete(e, j, &res);
			return;
		}
		res.error = rc;
		o.status = retry ? 500 : 400; /* a failure inside a 200 */
		o.should_retry = retry ? "true" : "false";
		o.retry_after = o.retry_after_ms = NULL;
		retry_or_fail(e, j, &res, &o);
		return;
	}
	res.error = GM_ERROR;
	res.error_message = gm_backend_http_error(j->b, j->server, status,
	                                          j->resp.ptr, j->resp.len);
	retry_or_fail(e, j, &res, &o);
}

static bool drain(struct gm_engine *e)
{
	CURLMsg *m;
	int left;
	bool any = false;

	while ((m = curl_multi_info_read(e->multi, &left))) {
		struct job *j = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		finished(e, j, m->data.result, false);
		any = true;
	}
	return any;
}

/* Streams that went quiet; returns the ms until the next could go quiet. */
static long check_stalls(struct gm_engine *e, uint64_t now)
{
	long next = 1000;
	struct job *j = e->active;

	while (j) {
		struct job *nx = j->next;
		if (j->b->stream && j->got_byte && j->b->stall_s > 0) {
			uint64_t limit = (uint64_t)j->b->stall_s * 1000;
			uint64_t quiet = now - j->last_byte;
			if (quiet >= limit)
				finished(e, j, CURLE_OK, true);
			else if ((long)(limit - quiet) < next)
				next = (long)(limit - quiet);
		}
		j = nx;
	}
	return next;
}

static void abort_all(struct gm_engine *e)
{
	struct job *j;

	while ((j = e->active) || (j = e->queue)) {
		if (j == e->active) {
			e->active = j->next;
		} else {
			e->queue = j->next;
			if (!e->queue)
				e->queue_tail = NULL;
		}
		fail(e, j, GM_EINTERRUPTED, gm_xstrdup("interrupted"));
	}
}

int gm_engine_run(struct gm_engine *e, gm_engine_done_fn done, void *ctx)
{
	int running, rc = 0;

	e->done = done;
	e->ctx = ctx;
	e->stop_rc = 0;
	for (;;) {
		uint64_t now;
		long timeout;
		char sink[64];
		struct curl_waitfd wfd = { e->pipe[0], CURL_WAIT_POLLIN, 0 };

		if (e->cancelled || e->stop_rc)
			break;
		top_up(e, gm_now_ms());
		curl_multi_perform(e->multi, &running);
		if (drain(e))
			continue; /* slots freed: top up before waiting */
		if (e->stop_rc)
			break;
		if (!e->active && !e->queue)
			break;
		now = gm_now_ms();
		timeout = check_stalls(e, now);
		for (struct job *j = e->queue; j; j = j->next) {
			if (j->not_before > now && (long)(j->not_before - now) < timeout)
				timeout = (long)(j->not_before - now);
			else if (j->not_before <= now && pick_server(j->b, now))
				timeout = 0;
		}
		if (timeout > 0)
			curl_multi_poll(e->multi, &wfd, 1, (int)timeout, NULL);
		while (read(e->pipe[0], sink, sizeof(sink)) > 0)
			;
	}
	if (e->cancelled || e->stop_rc) {
		rc = e->stop_rc ? e->stop_rc : GM_EINTERRUPTED;
		abort_all(e); /* each gets its callback, with GM_EINTERRUPTED */
		if (rc == GM_EINTERRUPTED)
			gm_error_set("interrupted");
	}
	e->done = NULL;
	return rc;
}

void gm_engine_cancel(struct gm_engine *e)
{
	int saved = errno;
	e->cancelled = 1;
	if (write(e->pipe[1], "c", 1) < 0) {
		/* full pipe: a wake-up is pending anyway */
	}
	errno = saved;
}

void gm_engine_free(struct gm_engine *e)
{
	if (!e)
		return;
	e->done = NULL;
	abort_all(e);
	curl_multi_cleanup(e->multi);
	close(e->pipe[0]);
	close(e->pipe[1]);
	free(e);
}

bool gm_http_url_is_local(const char *url, const char **host, size_t *len)
{
	const char *h = strstr(url, "://"), *end;

	if (!h)
		return false;
	h += 3;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end)
			return false;
		end++;
	} else {
		end = h + strcspn(h, ":/");
	}
	*host = h;
	*len = (size_t)(end - h);
	return (*len == 9 && !strncasecmp(h, "localhost", 9)) ||
	       (*len >= 4 && !strncmp(h, "127.", 4)) ||
	       (*len == 5 && !strncmp(h, "[::1]", 5));
}
