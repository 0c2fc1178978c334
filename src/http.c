/*
 * http.c: transfers (http.h).  The engine runs on the libcurl multi
 * interface after curl's src/tool_operate.c: a queue of jobs, topped up to
 * each server's slots, each easy handle tagged with its job
 * (CURLOPT_PRIVATE) and given its own error buffer; one thread polls,
 * drains curl_multi_info_read, and schedules retries with a start time that
 * the poll timeout honours.  A 2xx answer goes to its server's protocol as
 * it arrives; everything about the wire format is behind that ops struct.
 */
#include "monitor/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "monitor/error.h"
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

char *gm_http_describe(const struct gm_http_proto *p, const char *url, bool unreachable,
                       const char *cause)
{
	char *shown = gm_http_url_redact(url), *m;

	if (unreachable)
		m = gm_xasprintf("cannot reach %s at %s: %s", p->name, shown, cause);
	else if (p->url_in_name)
		m = gm_xasprintf("%s at %s: %s", p->name, shown, cause);
	else
		m = gm_xasprintf("%s: %s", p->name, cause);
	free(shown);
	return m;
}

/*
 * Where the userinfo of the URL whose "://" is at `sep` is: [*start, at);
 * NULL: none.  The authority ends at a path, query, fragment, space or quote.
 */
static const char *userinfo(const char *sep, const char **start)
{
	const char *a = sep + 3, *end, *at = NULL;

	end = a + strcspn(a, "/?# \t\n'\"");
	for (const char *p = a; p < end; p++)
		if (*p == '@')
			at = p; /* the last one: a password may hold an unescaped '@' */
	*start = a;
	return at;
}

char *gm_http_url_redact(const char *text)
{
	struct gm_buf b = GM_BUF_INIT;
	const char *p = text, *sep;

	while ((sep = strstr(p, "://"))) {
		const char *start, *at = userinfo(sep, &start), *colon;
		if (!at) {
			gm_buf_put(&b, p, (size_t)(sep + 3 - p));
			p = sep + 3;
			continue;
		}
		colon = memchr(start, ':', (size_t)(at - start));
		gm_buf_put(&b, p, (size_t)((colon ? colon + 1 : start) - p));
		gm_buf_puts(&b, "<redacted>");
		p = at;
	}
	gm_buf_puts(&b, p);
	return gm_buf_detach(&b, NULL);
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

/* ---- requests as a protocol builds them -------------------------------- */

void gm_http_send_header(struct gm_http_send *s, const char *fmt, ...)
{
	va_list ap;
	char *line;
	int n;

	if (s->nheaders >= GM_HTTP_MAX_HEADERS) {
		fprintf(stderr, "git-monitor: more than %d request headers\n", GM_HTTP_MAX_HEADERS);
		abort();
	}
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	/* One allocation of the exact size: no stray copy of a key is left behind. */
	line = gm_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(line, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->headers[s->nheaders++] = line;
}

void gm_http_send_release(struct gm_http_send *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nheaders; i++) {
		explicit_bzero(s->headers[i], strlen(s->headers[i]));
		free(s->headers[i]);
	}
	free(s->url);
	free(s->body);
	memset(s, 0, sizeof(*s));
}

static struct curl_slist *header_list(const struct gm_http_send *s)
{
	struct curl_slist *l = NULL, *nl;

	for (size_t i = 0; i <= s->nheaders; i++) {
		const char *h = i < s->nheaders ? s->headers[i] : s->body ? "Expect:" : NULL;
		if (!h)
			break;
		if (!(nl = curl_slist_append(l, h)))
			abort();
		l = nl;
	}
	return l;
}

/* curl copied the header lines, keys included: wipe the copies too. */
static void header_list_free(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/* ---- blocking requests ------------------------------------------------- */

struct sink {
	struct gm_buf b;
	bool too_big;
};

static size_t sink_write(char *p, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	if (gm_buf_put(&s->b, p, size * n) < 0) {
		s->too_big = true;
		return 0;
	}
	return size * n;
}

static volatile sig_atomic_t fetch_interrupted;

void gm_http_fetch_interrupt(int on)
{
	fetch_interrupted = on != 0;
}

/* libcurl calls this at least once a second while a blocking fetch runs. */
static int fetch_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                          curl_off_t ulnow)
{
	const struct gm_http_send *req = ud;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return fetch_interrupted && !req->after_interrupt ? 1 : 0;
}

int gm_http_fetch(struct gm_http_response *resp, const struct gm_http_send *req,
                  long timeout_s, size_t max)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hl = header_list(req);
	struct sink sink = { GM_BUF_INIT, false };
	char errbuf[CURL_ERROR_SIZE] = "", cause[256];
	CURLcode cc;
	long oserr = 0;
	int rc = 0;

	memset(resp, 0, sizeof(*resp));
	gm_buf_init(&sink.b, max);
	if (!h)
		abort();
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	if (req->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(req->body));
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)GM_HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 30L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, fetch_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, req);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	cc = fetch_interrupted && !req->after_interrupt ? CURLE_ABORTED_BY_CALLBACK : curl_easy_perform(h);
	if (cc == CURLE_ABORTED_BY_CALLBACK && fetch_interrupted) {
		gm_error_set("interrupted");
		rc = GM_EINTERRUPTED;
		goto cleanup;
	}
	if (cc == CURLE_WRITE_ERROR && sink.too_big) {
		gm_error_set("answer larger than %zu bytes", max);
		rc = GM_ETOOBIG;
		goto cleanup;
	}
	if (cc != CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
		gm_http_cause(cause, sizeof(cause), cc, oserr, errbuf);
		gm_error_set("%s", cause);
		rc = GM_ERROR;
		goto cleanup;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->body = gm_buf_detach(&sink.b, &resp->len);
cleanup:
	gm_buf_release(&sink.b);
	header_list_free(hl);
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

/* ---- context admission ----------------------------------------------- */

int64_t gm_http_estimate_tokens(const struct gm_chat_request *req)
{
	size_t bytes = (req->system ? strlen(req->system) : 0) + (req->user ? strlen(req->user) : 0);
	return (int64_t)(bytes / 3) + 16;
}

bool gm_http_fits(int64_t context, int64_t prompt, int max_tokens, bool relaxed)
{
	int64_t answer = max_tokens > 0 ? max_tokens : 0;

	if (context <= 0)
		return true;
	if (relaxed)
		answer /= 4;
	return prompt + (answer ? answer : 1) <= context;
}

int gm_http_answer_cap(int64_t context, int64_t prompt, int max_tokens)
{
	if (context <= 0 || max_tokens <= 0 || prompt + max_tokens <= context)
		return max_tokens;
	return context - prompt > 1 ? (int)(context - prompt) : 1;
}

/* ---- the engine -------------------------------------------------------- */

enum job_kind { JOB_CHAT, JOB_FETCH, JOB_PROBE };

struct job {
	struct job *next;
	struct gm_http_multi *m;
	struct gm_http_pool *pool;
	enum job_kind kind;
	struct gm_chat_request req; /* strings owned */
	gm_http_build_fn build;     /* JOB_FETCH */
	void *build_ctx;
	size_t fetch_max;
	struct gm_http_server *probed; /* JOB_PROBE */
	void *tag;
	unsigned attempts, retries, moves;
	uint64_t start_ms, not_before, last_byte, attempt_ms;
	/* The attempt running, if any. */
	struct gm_http_server *server;
	CURL *easy;
	struct curl_slist *headers;
	struct gm_http_send send;
	long status;                   /* of the answer arriving; 0 until known */
	size_t received;               /* its bytes so far (bounded by pool->max_body) */
	struct gm_buf body;            /* a failing answer, a fetched one, or the first bytes of an untyped one */
	struct gm_http_answer *answer; /* a 2xx answer being decoded */
	size_t text_seen;              /* of answer->text, added to pool->streamed */
	int parse_rc;                  /* the decoder failed; the transfer was stopped */
	char *parse_cause;
	char *ra_ms, *ra, *should, *ctype;
	bool got_byte, too_big;
	char errbuf[CURL_ERROR_SIZE];
};

struct gm_http_multi {
	CURLM *multi;
	struct job *queue, *queue_tail; /* waiting, FIFO */
	struct job *active;
	int pipe[2];
	volatile sig_atomic_t cancelled;
	gm_http_done_fn done;
	void *ctx;
	int stop_rc;
	uint64_t rng;
	void (*tick)(void *ctx);        /* called between waits, at least every tick_ms */
	void *tick_ctx;
	long tick_ms;
};

static bool curl_ready;

int gm_http_multi_new(struct gm_http_multi **out)
{
	struct gm_http_multi *m;

	*out = NULL;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
			gm_error_set("cannot initialise libcurl");
			return GM_ERROR;
		}
		curl_ready = true;
	}
	m = gm_xcalloc(1, sizeof(*m));
	if (pipe(m->pipe) < 0) {
		gm_error_set("cannot create a pipe: %s", strerror(errno));
		free(m);
		return GM_ERROR;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(m->pipe[i], F_SETFL, fcntl(m->pipe[i], F_GETFL) | O_NONBLOCK);
		fcntl(m->pipe[i], F_SETFD, FD_CLOEXEC);
	}
	if (!(m->multi = curl_multi_init()))
		abort();
	curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, 256L);
	m->rng = (gm_now_ms() << 16) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)m;
	if (!m->rng)
		m->rng = 1;
	*out = m;
	return 0;
}

static double rand01(struct gm_http_multi *m)
{
	/* xorshift64: jitter needs no quality, only spread. */
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return (double)(m->rng >> 11) / 9007199254740992.0;
}

static char *dup_or_null(const char *s)
{
	return s ? gm_xstrdup(s) : NULL;
}

static void attempt_release(struct job *j)
{
	if (j->easy) {
		curl_multi_remove_handle(j->m->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	if (j->answer) {
		j->server->proto->answer_free(j->answer);
		j->answer = NULL;
	}
	if (j->server) {
		if (j->kind != JOB_PROBE)
			j->server->inflight--;
		j->server = NULL;
	}
	header_list_free(j->headers);
	j->headers = NULL;
	gm_http_send_release(&j->send);
	free(j->ra_ms);
	free(j->ra);
	free(j->should);
	free(j->ctype);
	free(j->parse_cause);
	j->ra_ms = j->ra = j->should = j->ctype = j->parse_cause = NULL;
	gm_buf_release(&j->body);
	j->status = 0;
	j->received = j->text_seen = 0;
	j->parse_rc = 0;
	j->got_byte = j->too_big = false;
	j->errbuf[0] = '\0';
}

static void job_free(struct job *j)
{
	attempt_release(j);
	if (j->probed)
		j->probed->probing = false;
	free((char *)j->req.system);
	free((char *)j->req.user);
	free((char *)j->req.json_schema);
	free((char *)j->req.schema_name);
	free((char *)j->req.id);
	free(j);
}

static void enqueue(struct gm_http_multi *m, struct job *j)
{
	j->next = NULL;
	if (m->queue_tail)
		m->queue_tail->next = j;
	else
		m->queue = j;
	m->queue_tail = j;
}

/* Requests moved off a dead server go first: they have waited longest. */
static void enqueue_front(struct gm_http_multi *m, struct job *j)
{
	j->next = m->queue;
	m->queue = j;
	if (!m->queue_tail)
		m->queue_tail = j;
}

static struct job *job_new(struct gm_http_multi *m, struct gm_http_pool *pool, void *tag)
{
	struct job *j = gm_xcalloc(1, sizeof(*j));

	j->m = m;
	j->pool = pool;
	j->tag = tag;
	j->start_ms = gm_now_ms();
	return j;
}

void gm_http_multi_add(struct gm_http_multi *m, struct gm_http_pool *pool,
                       const struct gm_chat_request *req, void *tag)
{
	struct job *j = job_new(m, pool, tag);

	j->kind = JOB_CHAT;
	j->req = *req;
	j->req.system = dup_or_null(req->system);
	j->req.user = dup_or_null(req->user);
	j->req.json_schema = dup_or_null(req->json_schema);
	j->req.schema_name = dup_or_null(req->schema_name);
	j->req.id = dup_or_null(req->id);
	if (j->req.prompt_tokens <= 0)
		j->req.prompt_tokens = gm_http_estimate_tokens(req);
	enqueue(m, j);
}

void gm_http_multi_fetch(struct gm_http_multi *m, struct gm_http_pool *pool,
                         gm_http_build_fn build, void *build_ctx, uint64_t delay_ms,
                         size_t max, void *tag)
{
	struct job *j = job_new(m, pool, tag);

	j->kind = JOB_FETCH;
	j->build = build;
	j->build_ctx = build_ctx;
	j->fetch_max = max ? max : pool->max_body;
	j->not_before = j->start_ms + delay_ms;
	enqueue(m, j);
}

size_t gm_http_multi_queued(const struct gm_http_multi *m, const struct gm_http_pool *pool)
{
	size_t n = 0;
	for (const struct job *j = m ? m->queue : NULL; j; j = j->next)
		n += j->pool == pool && j->kind != JOB_PROBE;
	return n;
}

void gm_http_multi_set_tick(struct gm_http_multi *m, void (*fn)(void *ctx), void *ctx, long ms)
{
	m->tick = fn;
	m->tick_ctx = ctx;
	m->tick_ms = ms > 0 ? ms : 100;
}

size_t gm_http_pool_inflight(const struct gm_http_pool *pool)
{
	size_t n = 0;
	for (size_t i = 0; i < pool->nservers; i++)
		n += pool->servers[i].inflight;
	return n;
}

/* Decode a 2xx answer with the server's protocol, once its type is known. */
static void answer_start(struct job *j)
{
	const char *b = j->body.ptr ? j->body.ptr : "";
	bool sse = j->ctype ? !strncasecmp(j->ctype, "text/event-stream", 17)
	                    : !strncmp(b, "data:", 5) || !strncmp(b, "event:", 6);
	j->answer = j->server->proto->answer_new(&j->req, sse);
}

static int answer_put(struct job *j, const char *p, size_t len)
{
	int rc = 0;

	if (!j->answer) {
		if (!j->ctype) {
			/* Untyped: the first bytes tell ("data:", "event:"); hold them till then. */
			gm_buf_put(&j->body, p, len);
			if (j->body.len < 6)
				return 0;
			p = j->body.ptr;
			len = j->body.len;
		}
		answer_start(j);
	}
	if (len)
		rc = j->server->proto->answer_feed(j->answer, p, len);
	gm_buf_clear(&j->body);
	if (j->answer->text > j->text_seen) {
		j->pool->streamed += j->answer->text - j->text_seen;
		j->text_seen = j->answer->text;
	}
	if (rc < 0) {
		j->parse_rc = rc;
		j->parse_cause = gm_xstrdup(gm_error_last());
	}
	return rc;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
	struct job *j = ud;
	size_t len = size * n;
	size_t max = j->kind == JOB_FETCH ? j->fetch_max : j->pool->max_body;

	j->last_byte = gm_now_ms();
	j->got_byte = true;
	if (len > max - j->received) {
		j->too_big = true;
		return 0;
	}
	j->received += len;
	if (!j->status)
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->status);
	if (j->status < 200 || j->status >= 300 || j->kind != JOB_CHAT) {
		/* Kept whole (an error's cause, a fetched body); bounded by the check above. */
		gm_buf_put(&j->body, p, len);
		return len;
	}
	/* Every frame is checked as it comes: an error ends the attempt now. */
	return answer_put(j, p, len) < 0 ? 0 : len;
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
		j->status = 0;
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

static bool server_up(const struct gm_http_server *s, uint64_t now)
{
	return s->down_until <= now && !s->probing && !s->down_since;
}

static bool job_fits(const struct job *j, const struct gm_http_server *s, bool relaxed)
{
	return j->kind != JOB_CHAT ||
	       gm_http_fits(s->context, j->req.prompt_tokens, j->req.max_tokens, relaxed);
}

/* A server in service that could take `j`. */
static bool any_up(const struct job *j, uint64_t now, bool relaxed)
{
	for (size_t i = 0; i < j->pool->nservers; i++)
		if (server_up(&j->pool->servers[i], now) && job_fits(j, &j->pool->servers[i], relaxed))
			return true;
	return false;
}

/* Can some server of the pool ever take it (up or not)?  0: no; 1: as asked; 2: relaxed. */
static int admissible(const struct job *j)
{
	int best = 0;
	for (size_t i = 0; i < j->pool->nservers; i++) {
		if (job_fits(j, &j->pool->servers[i], false))
			return 1;
		if (job_fits(j, &j->pool->servers[i], true))
			best = 2;
	}
	return best;
}

static double avg_ms(const struct gm_http_server *s)
{
	return s->stats.answers ? (double)s->stats.busy_ms / (double)s->stats.answers : 0.0;
}

/*
 * The server for `j`: a free slot, a context that holds it, up (unless every
 * server is out of service: then the one whose back-off ends first); the
 * least busy for its slots, the faster of equals.
 */
static struct gm_http_server *pick_server(struct job *j, uint64_t now)
{
	struct gm_http_pool *pool = j->pool;
	struct gm_http_server *best = NULL;
	bool relaxed = admissible(j) == 2;
	bool up = any_up(j, now, relaxed);

	for (size_t i = 0; i < pool->nservers; i++) {
		struct gm_http_server *s = &pool->servers[i];
		double load, best_load;
		if (s->inflight >= s->slots || s->probing)
			continue;
		if (up && !server_up(s, now))
			continue;
		if (!job_fits(j, s, relaxed))
			continue;
		if (!best) {
			best = s;
			continue;
		}
		if (!up) {
			if (s->down_until < best->down_until)
				best = s;
			continue;
		}
		load = (double)s->inflight / (double)s->slots;
		best_load = (double)best->inflight / (double)best->slots;
		if (load < best_load || (load == best_load && avg_ms(s) < avg_ms(best)))
			best = s;
	}
	return best;
}

void gm_chat_result_release(struct gm_chat_result *r)
{
	free(r->error_message);
	free(r->content);
	free(r->reasoning);
	free(r->finish_reason);
	free(r->model);
	free(r->server);
	memset(r, 0, sizeof(*r));
}

static const char *server_key(const struct gm_http_pool *pool, const struct gm_http_server *s)
{
	return s->api_key ? s->api_key : pool->api_key;
}

static void scrub_all(char *msg, const struct gm_http_pool *pool)
{
	gm_http_scrub(msg, pool->api_key);
	for (size_t i = 0; i < pool->nservers; i++)
		gm_http_scrub(msg, pool->servers[i].api_key);
}

/* One line naming the attempt's server, the keys scrubbed out of it. */
static char *message(const struct job *j, bool unreachable, const char *cause)
{
	char *m = gm_http_describe(j->server->proto, j->server->url, unreachable, cause); /* redacted */
	scrub_all(m, j->pool);
	return m;
}

static void bring_back(struct gm_http_server *s, uint64_t now);

/* Hand the job's result to the caller and free the job (already unlinked). */
static void complete(struct gm_http_multi *m, struct job *j, struct gm_chat_result *res)
{
	struct gm_http_server *s = j->server;
	int rc;

	res->attempts = j->attempts;
	res->elapsed_ms = gm_now_ms() - j->start_ms;
	if (!res->server && s)
		res->server = s->shown ? gm_xstrdup(s->shown) : gm_http_url_redact(s->url);
	if (!res->model && j->kind == JOB_CHAT) {
		const char *asked = s && s->model ? s->model : j->pool->model;
		if (asked)
			res->model = gm_xstrdup(asked);
	}
	if (s && !res->error)
		bring_back(s, gm_now_ms()); /* it answered: in service, whatever it was */
	if (s && !res->error && j->kind == JOB_CHAT) {
		s->stats.answers++;
		s->stats.busy_ms += gm_now_ms() - j->attempt_ms;
		if (res->model)
			snprintf(s->stats.model, sizeof(s->stats.model), "%s", res->model);
	}
	if (res->error && !res->error_message)
		res->error_message = gm_xstrdup("request failed");
	scrub_all(res->error_message, j->pool);
	attempt_release(j);
	if (m->done) {
		rc = m->done(m->ctx, j->pool, j->tag, res);
		if (rc && !m->stop_rc)
			m->stop_rc = rc;
	}
	gm_chat_result_release(res);
	job_free(j);
}

static void fail(struct gm_http_multi *m, struct job *j, int code, char *msg)
{
	struct gm_chat_result res = { 0 };
	res.error = code;
	res.error_message = msg;
	complete(m, j, &res);
}

static int build_probe(struct gm_http_send *out, const struct gm_http_server *s,
                       const struct gm_http_pool *pool)
{
	struct gm_http_target t = { s->url, s->model ? s->model : pool->model, server_key(pool, s),
	                            false, s->context, 0 };
	out->url = gm_xasprintf("%s%s", s->url, s->proto->probe_path ? s->proto->probe_path : "/");
	s->proto->auth(out, &t);
	return 0;
}

/*
 * Start job `j` (unlinked) on `s`.  On a local failure (a request that cannot
 * be built) the job completes, is freed, and the result is negative.
 */
static int start(struct gm_http_multi *m, struct job *j, struct gm_http_server *s)
{
	const struct gm_http_pool *pool = j->pool;
	struct gm_http_target t = { s->url, s->model ? s->model : pool->model, server_key(pool, s),
	                            pool->stream, s->context, j->req.prompt_tokens };
	CURL *h;
	int rc;

	if (j->kind == JOB_PROBE)
		rc = build_probe(&j->send, s, pool);
	else if (j->kind == JOB_FETCH)
		rc = j->build(&j->send, j->build_ctx, s);
	else
		rc = s->proto->build(&j->send, &t, &j->req);
	if (rc < 0) {
		gm_http_send_release(&j->send);
		fail(m, j, rc, gm_xstrdup(gm_error_last()));
		return rc;
	}
	if (!(h = curl_easy_init()))
		abort();
	j->headers = header_list(&j->send);
	j->easy = h;
	j->server = s;
	if (j->kind != JOB_PROBE)
		s->inflight++;
	j->attempts++;
	j->attempt_ms = gm_now_ms();
	gm_buf_init(&j->body, j->kind == JOB_FETCH ? j->fetch_max : pool->max_body);
	j->last_byte = gm_now_ms();
	curl_easy_setopt(h, CURLOPT_URL, j->send.url);
	if (j->send.body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->send.body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(j->send.body));
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(h, CURLOPT_PRIVATE, j);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)GM_HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, j->kind == JOB_PROBE
	                 ? (long)GM_HTTP_CONNECT_TIMEOUT_S * 1000L : pool->timeout_s * 1000L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_multi_add_handle(m->multi, h);
	return 0;
}

/* Probe every server whose back-off has passed; a probe job is never queued. */
static void start_probes(struct gm_http_multi *m, struct gm_http_pool *pool, uint64_t now)
{
	for (size_t i = 0; i < pool->nservers; i++) {
		struct gm_http_server *s = &pool->servers[i];
		struct job *j;
		if (!s->down_since || s->probing || s->down_until > now)
			continue;
		j = job_new(m, pool, NULL);
		j->kind = JOB_PROBE;
		j->probed = s;
		s->probing = true;
		if (start(m, j, s) == 0) {
			j->next = m->active;
			m->active = j;
		}
	}
}

/* Start every waiting job that is due and has a free slot; FIFO otherwise. */
static void top_up(struct gm_http_multi *m, uint64_t now)
{
	struct job **pp = &m->queue, *j, *prev = NULL;

	for (j = m->queue; j; j = j->next)
		start_probes(m, j->pool, now);
	for (j = m->active; j; j = j->next)
		if (j->kind != JOB_PROBE)
			start_probes(m, j->pool, now);
	while ((j = *pp)) {
		struct gm_http_server *s;
		if (j->kind == JOB_CHAT && !admissible(j)) {
			int64_t most = 0;
			*pp = j->next;
			if (m->queue_tail == j)
				m->queue_tail = prev;
			for (size_t i = 0; i < j->pool->nservers; i++)
				if (j->pool->servers[i].context > most)
					most = j->pool->servers[i].context;
			fail(m, j, GM_ETOOBIG,
			     gm_xasprintf("request does not fit the context of any server: about %lld "
			                  "tokens of prompt and %d of answer, largest context %lld tokens",
			                  (long long)j->req.prompt_tokens, j->req.max_tokens,
			                  (long long)most));
			continue;
		}
		if (j->not_before > now || !(s = pick_server(j, now))) {
			prev = j;
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		if (m->queue_tail == j)
			m->queue_tail = prev;
		if (start(m, j, s) == 0) {
			j->next = m->active;
			m->active = j;
		}
	}
}

static void unlink_active(struct gm_http_multi *m, struct job *j)
{
	for (struct job **pp = &m->active; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			return;
		}
	}
}

static bool other_server_up(const struct gm_http_pool *pool, const struct gm_http_server *s,
                            uint64_t now)
{
	for (size_t i = 0; i < pool->nservers; i++)
		if (&pool->servers[i] != s && server_up(&pool->servers[i], now))
			return true;
	return false;
}

/* Put `j` (unlinked, its attempt over) back in the queue, first, due now. */
static void requeue(struct gm_http_multi *m, struct job *j)
{
	if (j->server)
		j->server->stats.requeued++;
	attempt_release(j);
	j->moves++;
	j->not_before = 0;
	enqueue_front(m, j);
}

/*
 * Take `s` out of service for its back-off (doubling per outage), saying
 * why; its other transfers are stopped and their requests go back to the
 * queue, to be sent elsewhere.  Nothing is lost or answered twice: each
 * request completes once, whichever server ends up answering it.
 */
static void take_out(struct gm_http_multi *m, struct gm_http_pool *pool,
                     struct gm_http_server *s, const char *cause, uint64_t now, bool move)
{
	struct job *j = m->active, *nx;

	gm_http_server_take_out(s, pool->backoff_ms, cause, now);
	scrub_all(s->stats.cause, pool);
	for (; move && j; j = nx) {
		nx = j->next;
		if (j->server != s || j->kind == JOB_PROBE)
			continue;
		unlink_active(m, j);
		requeue(m, j);
	}
}

void gm_http_server_take_out(struct gm_http_server *s, uint64_t backoff_ms, const char *cause,
                             uint64_t now)
{
	uint64_t base = backoff_ms ? backoff_ms : GM_HTTP_BACKOFF_DOWN_MS;

	if (!s->down_since) {
		s->down_since = now;
		s->stats.outages++;
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : base;
	}
	if (s->backoff_ms > GM_HTTP_BACKOFF_DOWN_CAP_MS)
		s->backoff_ms = GM_HTTP_BACKOFF_DOWN_CAP_MS;
	s->down_until = now + s->backoff_ms;
	s->streak = 0;
	if (cause)
		snprintf(s->stats.cause, sizeof(s->stats.cause), "%s", cause);
}

uint64_t gm_http_server_down_ms(const struct gm_http_server *s, uint64_t now)
{
	return s->stats.down_ms + (s->down_since && now > s->down_since ? now - s->down_since : 0);
}

/* `s` answered: back in service (an outage's time is added up). */
static void bring_back(struct gm_http_server *s, uint64_t now)
{
	if (s->down_since) {
		s->stats.down_ms += now - s->down_since;
		s->down_since = 0;
		s->backoff_ms = 0;
	}
	s->down_until = 0;
	s->streak = 0;
}

/* The end of a probe of `s`: back when it answered 2xx, else longer out. */
static void probe_done(struct gm_http_multi *m, struct job *j, CURLcode cc, long status)
{
	struct gm_http_server *s = j->probed;
	uint64_t now = gm_now_ms();

	unlink_active(m, j);
	if (cc == CURLE_OK && status >= 200 && status < 300) {
		bring_back(s, now);
	} else {
		char cause[256];
		if (cc != CURLE_OK)
			gm_http_cause(cause, sizeof(cause), cc, 0, j->errbuf);
		else
			snprintf(cause, sizeof(cause), "HTTP %ld", status);
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : GM_HTTP_BACKOFF_DOWN_MS;
		if (s->backoff_ms > GM_HTTP_BACKOFF_DOWN_CAP_MS)
			s->backoff_ms = GM_HTTP_BACKOFF_DOWN_CAP_MS;
		s->down_until = now + s->backoff_ms;
		{
			char *shown = gm_http_url_redact(s->url);
			char *line = gm_xasprintf("%s at %s (probe of GET %s): %s", s->proto->name, shown,
			                       s->proto->probe_path ? s->proto->probe_path : "/", cause);
			free(shown);
			snprintf(s->stats.cause, sizeof(s->stats.cause), "%s", line);
			free(line);
		}
		scrub_all(s->stats.cause, j->pool);
	}
	job_free(j);
}

enum failure { F_CONNECT, F_TRANSPORT, F_STALL, F_STATUS, F_ANSWER };

/* Schedule another attempt, or complete with `res` (its error set). */
static void retry_or_fail(struct gm_http_multi *m, struct job *j, struct gm_chat_result *res,
                          const struct gm_http_outcome *o, enum failure why)
{
	uint64_t delay, now = gm_now_ms();
	struct gm_http_server *s = j->server;
	struct gm_http_pool *pool = j->pool;
	bool others, dead = false;

	if (s) {
		s->stats.failures++;
		if (why == F_ANSWER || (why == F_STATUS && o->status < 500))
			s->streak = 0; /* it answers: alive, whatever it said */
		else
			s->streak++;
		others = other_server_up(pool, s, now);
		if (why == F_CONNECT) {
			/* Set-up's rule: passed over for a while, even when it is the last. */
			dead = true;
		} else if (others && (why == F_STALL ||
		                      (why == F_TRANSPORT && s->streak >= GM_HTTP_STORM) ||
		                      (why == F_STATUS && s->streak >= GM_HTTP_STORM))) {
			dead = true;
		}
		if (dead)
			take_out(m, pool, s, res->error_message ? res->error_message : "failed", now,
			         others);
		if ((why == F_CONNECT || why == F_TRANSPORT || why == F_STALL) && others &&
		    j->moves < pool->max_retries + 1 + pool->nservers) {
			/* Another server can take it now; this does not use up a retry. */
			gm_chat_result_release(res);
			requeue(m, j);
			return;
		}
	}
	if (gm_http_retry_decide(&delay, o, j->retries, pool->max_retries, rand01(m),
	                         time(NULL))) {
		j->retries++;
	} else {
		complete(m, j, res);
		return;
	}
	gm_chat_result_release(res);
	attempt_release(j);
	j->not_before = now + delay;
	enqueue(m, j);
}

/* A 2xx answer that failed (an error inside it, or one that cannot be read). */
static void answer_failed(struct gm_http_multi *m, struct job *j, struct gm_chat_result *res)
{
	struct gm_http_outcome o = { 0 };
	bool retry = j->answer && j->answer->retry;

	o.status = retry ? 500 : 400;
	o.should_retry = retry ? "true" : "false";
	retry_or_fail(m, j, res, &o, retry ? F_TRANSPORT : F_ANSWER);
}

static void finished(struct gm_http_multi *m, struct job *j, CURLcode cc, bool stalled)
{
	const struct gm_http_pool *pool = j->pool;
	struct gm_chat_result res = { 0 };
	struct gm_http_outcome o = { 0 };
	long status = 0, oserr = 0;
	char cause[256];
	int rc;

	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	if (j->kind == JOB_PROBE) {
		probe_done(m, j, stalled ? CURLE_OPERATION_TIMEDOUT : cc, status);
		return;
	}
	unlink_active(m, j);
	if (j->too_big) {
		res.error = GM_ETOOBIG;
		snprintf(cause, sizeof(cause), "answer larger than %zu bytes",
		         j->kind == JOB_FETCH ? j->fetch_max : pool->max_body);
		res.error_message = message(j, false, cause);
		complete(m, j, &res);
		return;
	}
	if (j->parse_rc) {
		res.error = j->parse_rc;
		res.error_message = message(j, false, j->parse_cause);
		answer_failed(m, j, &res);
		return;
	}
	if (cc != CURLE_OK || stalled) {
		bool connect;
		curl_easy_getinfo(j->easy, CURLINFO_OS_ERRNO, &oserr);
		if (stalled)
			snprintf(cause, sizeof(cause), "stream stalled: no data for %ld s",
			         pool->stall_s);
		else if (cc == CURLE_OPERATION_TIMEDOUT && !j->got_byte &&
		         strstr(j->errbuf, "onnect"))
			snprintf(cause, sizeof(cause), "connect timed out after %d s",
			         GM_HTTP_CONNECT_TIMEOUT_S);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			snprintf(cause, sizeof(cause), "timed out after %ld s", pool->timeout_s);
		else
			gm_http_cause(cause, sizeof(cause), cc, oserr, j->errbuf);
		connect = !stalled && !j->got_byte && (cc == CURLE_COULDNT_CONNECT ||
		                                       cc == CURLE_COULDNT_RESOLVE_HOST ||
		                                       strstr(cause, "connect timed out"));
		res.error = GM_ERROR;
		res.error_message = message(j, connect, cause);
		o.curl_code = stalled ? CURLE_OPERATION_TIMEDOUT : (int)cc;
		retry_or_fail(m, j, &res, &o, connect ? F_CONNECT : stalled ? F_STALL : F_TRANSPORT);
		return;
	}
	o.status = status;
	o.retry_after_ms = j->ra_ms;
	o.retry_after = j->ra;
	o.should_retry = j->should;
	if (status >= 200 && status < 300 && j->kind == JOB_FETCH) {
		j->server->streak = 0;
		res.content = j->body.ptr ? gm_buf_detach(&j->body, NULL) : gm_xstrdup("");
		complete(m, j, &res);
		return;
	}
	if (status >= 200 && status < 300) {
		j->server->streak = 0;
		if (!j->answer)
			answer_start(j);
		if (j->body.len && (rc = answer_put(j, j->body.ptr, j->body.len)) < 0) {
			res.error = rc;
			res.error_message = message(j, false, j->parse_cause);
			answer_failed(m, j, &res);
			return;
		}
		if ((rc = j->server->proto->answer_end(j->answer, &res)) < 0) {
			res.error = rc;
			res.error_message = message(j, false, gm_error_last());
			answer_failed(m, j, &res);
			return;
		}
		complete(m, j, &res);
		return;
	}
	{
		char *c = j->server->proto->error_cause(status, j->body.ptr, j->body.len);
		res.error = GM_ERROR;
		res.error_message = message(j, false, c);
		free(c);
	}
	retry_or_fail(m, j, &res, &o, F_STATUS);
}

static bool drain(struct gm_http_multi *m)
{
	CURLMsg *msg;
	int left;
	bool any = false;

	while ((msg = curl_multi_info_read(m->multi, &left))) {
		struct job *j = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		finished(m, j, msg->data.result, false);
		any = true;
	}
	return any;
}

/* Streams that went quiet; returns the ms until the next could go quiet. */
static long check_stalls(struct gm_http_multi *m, uint64_t now)
{
	long next = 1000;
	struct job *j = m->active;

	while (j) {
		struct job *nx = j->next;
		if (j->kind == JOB_CHAT && j->pool->stream && j->got_byte && j->pool->stall_s > 0) {
			uint64_t limit = (uint64_t)j->pool->stall_s * 1000;
			uint64_t quiet = now - j->last_byte;
			if (quiet >= limit) {
				finished(m, j, CURLE_OK, true);
				/* finished() may have moved other jobs: start over */
				return 0;
			}
			if ((long)(limit - quiet) < next)
				next = (long)(limit - quiet);
		}
		j = nx;
	}
	return next;
}

/* Jobs whose callers wait (probes do not keep a run going). */
static bool work_left(const struct gm_http_multi *m)
{
	if (m->queue)
		return true;
	for (const struct job *j = m->active; j; j = j->next)
		if (j->kind != JOB_PROBE)
			return true;
	return false;
}

/* Stop the probes still running (the run is over). */
static void stop_probes(struct gm_http_multi *m)
{
	struct job *j = m->active, *nx;

	for (; j; j = nx) {
		nx = j->next;
		if (j->kind != JOB_PROBE)
			continue;
		unlink_active(m, j);
		job_free(j);
	}
}

static void abort_all(struct gm_http_multi *m)
{
	struct job *j;

	stop_probes(m);
	while ((j = m->active) || (j = m->queue)) {
		if (j == m->active) {
			m->active = j->next;
		} else {
			m->queue = j->next;
			if (!m->queue)
				m->queue_tail = NULL;
		}
		fail(m, j, GM_EINTERRUPTED, gm_xstrdup("interrupted"));
	}
}

/*
 * Cancelled: every job fails with GM_EINTERRUPTED except the transfers
 * running that were sent `after_interrupt` (a Message Batch's create: the
 * id it brings back is what the batch is cancelled by, so it must not be
 * cut off and leave a paid batch running unseen).  True while one of those
 * is still running; what their callbacks queue fails on the next call.
 */
static bool wind_down(struct gm_http_multi *m)
{
	struct job *j, *nx;
	bool left = false;

	stop_probes(m);
	while ((j = m->queue)) {
		m->queue = j->next;
		if (!m->queue)
			m->queue_tail = NULL;
		fail(m, j, GM_EINTERRUPTED, gm_xstrdup("interrupted"));
	}
	for (j = m->active; j; j = nx) {
		nx = j->next;
		if (j->send.after_interrupt) {
			left = true;
			continue;
		}
		unlink_active(m, j);
		fail(m, j, GM_EINTERRUPTED, gm_xstrdup("interrupted"));
	}
	return left;
}

int gm_http_multi_run(struct gm_http_multi *m, gm_http_done_fn done, void *ctx)
{
	int running, rc = 0;

	m->done = done;
	m->ctx = ctx;
	m->stop_rc = 0;
	for (;;) {
		uint64_t now;
		long timeout;
		char sink[64];
		struct curl_waitfd wfd = { m->pipe[0], CURL_WAIT_POLLIN, 0 };

		if (m->stop_rc || (m->cancelled && !wind_down(m)))
			break;
		if (!m->cancelled)
			top_up(m, gm_now_ms());
		curl_multi_perform(m->multi, &running);
		if (drain(m))
			continue; /* slots freed: top up before waiting */
		if (m->stop_rc)
			break;
		if (!work_left(m))
			break;
		now = gm_now_ms();
		if ((timeout = check_stalls(m, now)) == 0)
			continue;
		for (struct job *j = m->cancelled ? NULL : m->queue; j; j = j->next) {
			if (j->not_before > now && (long)(j->not_before - now) < timeout)
				timeout = (long)(j->not_before - now);
			else if (j->not_before <= now && pick_server(j, now))
				timeout = 0;
			for (size_t i = 0; i < j->pool->nservers; i++) {
				const struct gm_http_server *s = &j->pool->servers[i];
				if (s->down_since && !s->probing && s->down_until > now &&
				    (long)(s->down_until - now) < timeout)
					timeout = (long)(s->down_until - now);
			}
		}
		/* The progress line is redrawn while answers are awaited, not only when one comes. */
		if (m->tick) {
			m->tick(m->tick_ctx);
			if (timeout > m->tick_ms)
				timeout = m->tick_ms;
		}
		if (timeout > 0)
			curl_multi_poll(m->multi, &wfd, 1, (int)timeout, NULL);
		while (read(m->pipe[0], sink, sizeof(sink)) > 0)
			;
	}
	stop_probes(m);
	if (m->cancelled || m->stop_rc) {
		rc = m->stop_rc ? m->stop_rc : GM_EINTERRUPTED;
		abort_all(m); /* each gets its callback, with GM_EINTERRUPTED */
		if (rc == GM_EINTERRUPTED)
			gm_error_set("interrupted");
	}
	m->done = NULL;
	return rc;
}

void gm_http_multi_cancel(struct gm_http_multi *m)
{
	int saved = errno;
	m->cancelled = 1;
	if (write(m->pipe[1], "c", 1) < 0) {
		/* full pipe: a wake-up is pending anyway */
	}
	errno = saved;
}

void gm_http_multi_free(struct gm_http_multi *m)
{
	if (!m)
		return;
	m->done = NULL;
	abort_all(m);
	curl_multi_cleanup(m->multi);
	close(m->pipe[0]);
	close(m->pipe[1]);
	free(m);
}

bool gm_http_url_is_local(const char *url, const char **host, size_t *len)
{
	const char *h = strstr(url, "://"), *end, *ui, *at;

	if (!h)
		return false;
	at = userinfo(h, &ui);
	h = at ? at + 1 : h + 3;
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
