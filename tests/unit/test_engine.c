/*
 * The engine end to end against the fake servers of tests/fakes (Python,
 * started here on a free port of 127.0.0.1): concurrency caps, retries,
 * failures and their messages, several servers, cancellation.  What the
 * fake logged is what the assertions read; nothing is timed.
 */
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "monitor/backend.h"
#include "monitor/error.h"
#include "monitor/util.h"

struct fake {
	pid_t pid;
	char dir[64];
	char url[128];
};

static char *source_dir(void)
{
	const char *fx = getenv("GM_FIXTURES");
	const char *slash;
	if (!fx || !(slash = strrchr(fx, '/')))
		return NULL;
	return gm_xstrndup(fx, (size_t)(slash - fx));
}

/* Start tests/fakes/<program> with a script (JSON text) and extra options. */
static bool fake_start(struct fake *f, const char *program, const char *script,
                       const char *const *opts)
{
	char *src = source_dir(), *prog, *port_file, *log, *spath, ppid[32];
	const char *argv[40];
	size_t n = 0;

	if (!src)
		return false;
	snprintf(f->dir, sizeof(f->dir), "/tmp/gm-engine-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	prog = gm_xasprintf("%s/tests/fakes/%s", src, program);
	port_file = gm_xasprintf("%s/port", f->dir);
	log = gm_xasprintf("%s/log", f->dir);
	spath = gm_xasprintf("%s/script.json", f->dir);
	assert_int_equal(gm_write_file_atomic(spath, script, strlen(script)), 0);
	snprintf(ppid, sizeof(ppid), "%ld", (long)getpid());
	argv[n++] = "python3";
	argv[n++] = "-B";
	argv[n++] = prog;
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--port-file";
	argv[n++] = port_file;
	argv[n++] = "--log";
	argv[n++] = log;
	argv[n++] = "--script";
	argv[n++] = spath;
	argv[n++] = "--parent-pid";
	argv[n++] = ppid;
	argv[n++] = "--max-lifetime";
	argv[n++] = "120";
	for (size_t i = 0; opts && opts[i] && n < 38; i++)
		argv[n++] = opts[i];
	argv[n] = NULL;
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		/* The fakes' chatter (tracebacks of reset connections) goes to a file. */
		char *err = gm_xasprintf("%s/stderr", f->dir);
		int devnull = open("/dev/null", O_WRONLY);
		int errfd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(devnull, 1);
		if (errfd >= 0)
			dup2(errfd, 2);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	/* Wait (bounded) until it listens. */
	for (int i = 0; i < 1500; i++) {
		char *port = NULL;
		if (gm_read_file(&port, NULL, port_file, 64) == 0) {
			snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d%s", atoi(port),
			         strstr(program, "lmstudio") ? "/v1" : "");
			free(port);
			break;
		}
		usleep(10000);
	}
	gm_error_clear();
	free(src);
	free(prog);
	free(port_file);
	free(log);
	free(spath);
	assert_true(f->url[0]);
	return true;
}

/* The fake's log once `n` requests to `path` are in it (bounded wait). */
static cJSON *fake_log_of(struct fake *f, const char *path_needle, size_t n)
{
	char *path = gm_xasprintf("%s/log", f->dir), *data = NULL;
	cJSON *arr = NULL;

	for (int i = 0; i < 1000; i++) {
		size_t lines = 0;
		free(data);
		data = NULL;
		if (gm_read_file(&data, NULL, path, 64 << 20) == 0)
			for (char *p = data; (p = strstr(p, path_needle)); p++)
				lines++;
		if (lines >= n)
			break;
		usleep(10000);
	}
	arr = cJSON_CreateArray();
	for (char *line = data, *nl; line && *line; line = nl + 1) {
		cJSON *j;
		if (!(nl = strchr(line, '\n')))
			break;
		*nl = '\0';
		if ((j = cJSON_Parse(line)))
			cJSON_AddItemToArray(arr, j);
	}
	free(data);
	free(path);
	return arr;
}

static cJSON *fake_log(struct fake *f, size_t n)
{
	return fake_log_of(f, "\"/v1/chat/completions\"", n);
}

static void fake_stop(struct fake *f)
{
	char *cmd;
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
	}
	cmd = gm_xasprintf("rm -rf '%s'", f->dir);
	if (system(cmd) != 0) {
		/* leftovers in /tmp are harmless */
	}
	free(cmd);
}

static int64_t num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

/* Results collected by the callback, by tag (an index). */
struct run {
	struct gm_chat_result res[64];
	char *content[64], *msg[64], *server[64];
	int calls;
	struct gm_engine *e;
	int cancel_after;      /* cancel the engine after this many completions */
	struct gm_backend *b;  /* submit_more: resubmit through this backend */
	int submit_more;
};

static int done(void *ctx, void *tag, const struct gm_chat_result *res)
{
	struct run *r = ctx;
	size_t i = (size_t)(uintptr_t)tag;

	assert_true(i < 64);
	r->res[i] = *res;
	r->content[i] = res->content ? gm_xstrdup(res->content) : NULL;
	r->msg[i] = res->error_message ? gm_xstrdup(res->error_message) : NULL;
	r->server[i] = res->server ? gm_xstrdup(res->server) : NULL;
	r->calls++;
	if (r->cancel_after && r->calls == r->cancel_after)
		gm_engine_cancel(r->e);
	if (r->submit_more > 0) {
		struct gm_chat_request req = { NULL, "again", NULL, NULL, 0, false, 0 };
		r->submit_more--;
		assert_int_equal(gm_engine_submit(r->e, r->b, &req, (void *)(uintptr_t)(32 + r->submit_more)), 0);
	}
	return 0;
}

static void run_release(struct run *r)
{
	for (int i = 0; i < 64; i++) {
		free(r->content[i]);
		free(r->msg[i]);
		free(r->server[i]);
	}
}

static struct gm_backend *local(const char *const *urls, size_t n, int conc,
                                long stall, size_t max_body)
{
	struct gm_backend_config cfg = { 0 };
	struct gm_backend *b;
	cfg.kind = GM_BACKEND_LOCAL;
	cfg.urls = urls;
	cfg.nurls = n;
	cfg.concurrency = conc;
	cfg.timeout_s = 60;
	cfg.stream = true;
	cfg.stall_s = stall;
	cfg.max_body = max_body;
	assert_int_equal(gm_backend_new(&b, &cfg), 0);
	return b;
}

static int submit_n(struct run *r, struct gm_backend *b, int n, const char *user)
{
	struct gm_chat_request req = { "be brief", user, NULL, NULL, 0, false, 0 };
	int rc = gm_engine_new(&r->e);
	assert_int_equal(rc, 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(gm_engine_submit(r->e, b, &req, (void *)(uintptr_t)i), 0);
	return gm_engine_run(r->e, done, r);
}

static void test_cap_reached_never_exceeded(void **state)
{
	struct fake f = { 0 };
	const char *opts[] = { "--latency", "0.2", "--concurrency", "16", NULL };
	struct run r = { 0 };
	struct gm_backend *b;
	cJSON *log, *it;
	int64_t most = 0;
	(void)state;

	fake_start(&f, "fake_lmstudio.py", "[]", opts);
	b = local((const char *[]){ f.url }, 1, 3, 0, 0);
	assert_int_equal(gm_backend_prepare(b), 0);
	assert_string_equal(gm_backend_model(b), "qwen2.5-7b-instruct");
	assert_true(gm_backend_context_length(b) > 0);
	assert_int_equal(submit_n(&r, b, 12, "hello"), 0);
	assert_int_equal(r.calls, 12);
	for (int i = 0; i < 12; i++) {
		assert_int_equal(r.res[i].error, 0);
		assert_non_null(r.content[i]);
		assert_true(r.content[i][0]);
		assert_string_equal(r.server[i], f.url);
		assert_int_equal(r.res[i].attempts, 1);
	}
	assert_int_equal(gm_engine_inflight(r.e, b), 0);
	log = fake_log(&f, 12);
	cJSON_ArrayForEach(it, log) {
		const cJSON *p = cJSON_GetObjectItem(it, "path");
		if (cJSON_IsString(p) && !strcmp(p->valuestring, "/v1/chat/completions") &&
		    num(it, "inflight_at_arrival") > most)
			most = num(it, "inflight_at_arrival");
	}
	assert_int_equal(most, 3);
	cJSON_Delete(log);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&f);
}

static void test_server_errors_retried_with_backoff(void **state)
{
	struct fake f = { 0 };
	struct run r = { 0 };
	struct gm_backend *b;
	cJSON *log, *it;
	double t[3] = { 0 };
	int n = 0;
	(void)state;

	fake_start(&f, "fake_lmstudio.py",
	           "[{\"match\":{\"index\":[0,1]},\"response\":{\"error\":\"server_error\"}}]", NULL);
	b = local((const char *[]){ f.url }, 1, 1, 0, 0);
	assert_int_equal(submit_n(&r, b, 1, "hello"), 0);
	assert_int_equal(r.res[0].error, 0);
	assert_int_equal(r.res[0].attempts, 3);
	log = fake_log(&f, 3);
	cJSON_ArrayForEach(it, log) {
		const cJSON *p = cJSON_GetObjectItem(it, "path");
		if (cJSON_IsString(p) && !strcmp(p->valuestring, "/v1/chat/completions") && n < 3)
			t[n++] = cJSON_GetObjectItem(it, "t_arrival")->valuedouble;
	}
	assert_int_equal(n, 3);
	/* 0.5 s then 1 s, each less at most a quarter of jitter */
	assert_true(t[1] - t[0] >= 0.375);
	assert_true(t[2] - t[1] >= 0.75);
	cJSON_Delete(log);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&f);
}

static void test_client_errors_not_retried_and_named(void **state)
{
	struct fake f = { 0 };
	struct run r = { 0 };
	struct gm_backend *b;
	char *want;
	(void)state;

	fake_start(&f, "fake_lmstudio.py",
	           "[{\"match\":{\"user\":\"nomodel\"},\"response\":{\"error\":\"no_models\"}},"
	           "{\"match\":{\"user\":\"unknown\"},\"response\":{\"error\":\"unknown_model\"}},"
	           "{\"match\":{\"user\":\"overflow\"},\"response\":{\"fail\":\"event_error\","
	           "\"error\":\"context_overflow_stream\"}}]", NULL);
	b = local((const char *[]){ f.url }, 1, 2, 0, 0);
	assert_int_equal(gm_engine_new(&r.e), 0);
	{
		struct gm_chat_request req = { NULL, "nomodel", NULL, NULL, 0, false, 0 };
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)0), 0);
		req.user = "unknown";
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)1), 0);
		req.user = "overflow";
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)2), 0);
	}
	assert_int_equal(gm_engine_run(r.e, done, &r), 0);
	want = gm_xasprintf("LM Studio at %s: No models loaded.", f.url);
	assert_int_equal(strncmp(r.msg[0], want, strlen(want)), 0);
	free(want);
	assert_int_equal(r.res[0].error, GM_ERROR);
	assert_int_equal(r.res[0].attempts, 1);
	assert_non_null(strstr(r.msg[1], "Invalid model identifier"));
	assert_int_equal(r.res[1].attempts, 1);
	assert_non_null(strstr(r.msg[2], "Input does not fit in context length"));
	assert_int_equal(r.res[2].attempts, 1);
	for (int i = 0; i < 3; i++) {
		assert_null(r.content[i]);
		assert_null(strchr(r.msg[i], '\n'));
	}
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&f);
}

static void test_error_event_ends_the_attempt_at_once(void **state)
{
	struct fake f = { 0 };
	struct run r = { 0 };
	struct gm_backend *b;
	cJSON *log, *it;
	bool closed = false;
	(void)state;

	/* The server keeps the stream open after the error frame: waiting for
	 * its end would fail the attempt as a stall (2 s) and retry it. */
	fake_start(&f, "fake_lmstudio.py",
	           "[{\"match\":{\"user\":\"overflow\"},\"response\":{\"fail\":\"event_error\","
	           "\"error\":\"context_overflow_stream\",\"hold_seconds\":60}}]", NULL);
	b = local((const char *[]){ f.url }, 1, 1, 2, 0);
	assert_int_equal(submit_n(&r, b, 1, "overflow"), 0);
	assert_int_equal(r.res[0].error, GM_ERROR);
	assert_int_equal(r.res[0].attempts, 1);
	assert_non_null(strstr(r.msg[0], "Input does not fit in context length"));
	assert_null(strstr(r.msg[0], "stalled"));
	/* and the connection was let go, not read to its end */
	log = fake_log(&f, 1);
	cJSON_ArrayForEach(it, log)
		closed |= cJSON_IsTrue(cJSON_GetObjectItem(it, "client_closed"));
	assert_true(closed);
	cJSON_Delete(log);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&f);
}

static void test_streamed_text_is_counted_per_backend(void **state)
{
	struct fake f = { 0 };
	struct run r = { 0 };
	struct gm_backend *b, *other;
	size_t text = 0;
	(void)state;

	fake_start(&f, "fake_lmstudio.py", "[]", NULL);
	b = local((const char *[]){ f.url }, 1, 2, 0, 0);
	other = local((const char *[]){ f.url }, 1, 2, 0, 0);
	assert_int_equal(gm_engine_new(&r.e), 0);
	assert_int_equal(gm_engine_streamed(r.e, b), 0);
	gm_engine_free(r.e);
	assert_int_equal(submit_n(&r, b, 4, "hello"), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(r.res[i].error, 0);
		text += strlen(r.content[i]);
	}
	/* at least the answers' text (reasoning counts too), from this backend only */
	assert_true(text > 0);
	assert_true(gm_engine_streamed(r.e, b) >= text);
	assert_int_equal(gm_engine_streamed(r.e, other), 0);
	gm_engine_free(r.e);
	gm_backend_free(b);
	gm_backend_free(other);
	run_release(&r);
	fake_stop(&f);
}

static void test_stall_reset_and_oversize(void **state)
{
	struct fake f = { 0 };
	struct run r = { 0 };
	struct gm_backend *b;
	(void)state;

	fake_start(&f, "fake_lmstudio.py",
	           "[{\"match\":{\"user\":\"stall\"},\"times\":1,\"response\":{\"fail\":\"stall\","
	           "\"after_chunks\":1,\"stall_seconds\":30}},"
	           "{\"match\":{\"user\":\"reset\"},\"times\":1,\"response\":{\"fail\":\"reset\","
	           "\"after_chunks\":1}},"
	           "{\"match\":{\"user\":\"huge\"},\"response\":{\"fail\":\"oversized\",\"size\":3000000}}]",
	           NULL);
	b = local((const char *[]){ f.url }, 1, 4, 1, 1 << 20);
	assert_int_equal(gm_engine_new(&r.e), 0);
	{
		struct gm_chat_request req = { NULL, "stall", NULL, NULL, 0, false, 0 };
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)0), 0);
		req.user = "reset";
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)1), 0);
		req.user = "huge";
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)2), 0);
	}
	assert_int_equal(gm_engine_run(r.e, done, &r), 0);
	assert_int_equal(r.res[0].error, 0);
	assert_int_equal(r.res[0].attempts, 2);
	assert_int_equal(r.res[1].error, 0);
	assert_int_equal(r.res[1].attempts, 2);
	assert_int_equal(r.res[2].error, GM_ETOOBIG);
	assert_int_equal(r.res[2].attempts, 1);
	assert_non_null(strstr(r.msg[2], "answer larger than 1048576 bytes"));
	assert_non_null(strstr(r.msg[2], f.url));
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&f);
}

static int closed_port(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd); /* nobody listens there now */
	return port;
}

static void test_unreachable_server_message(void **state)
{
	struct gm_backend *b;
	char url[64], *want;
	(void)state;

	setenv("GM_PROC_ROOT", "/nonexistent", 1); /* not WSL, whatever runs the test */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", closed_port());
	b = local((const char *[]){ url }, 1, 1, 0, 0);
	assert_int_equal(gm_backend_prepare(b), GM_ERROR);
	want = gm_xasprintf("cannot reach LM Studio at %s: connection refused", url);
	assert_string_equal(gm_error_last(), want);
	free(want);
	gm_backend_free(b);
}

static void test_dead_server_does_not_stop_the_run(void **state)
{
	struct fake f = { 0 };
	struct run r = { 0 };
	struct gm_backend *b;
	char dead[64];
	(void)state;

	fake_start(&f, "fake_lmstudio.py", "[]", NULL);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d/v1", closed_port());
	b = local((const char *[]){ dead, f.url }, 2, 2, 0, 0);
	assert_int_equal(gm_backend_prepare(b), 0);
	assert_int_equal(submit_n(&r, b, 8, "hello"), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(r.res[i].error, 0);
		assert_string_equal(r.server[i], f.url);
	}
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&f);
}

static void test_two_servers_share_the_load(void **state)
{
	struct fake f1 = { 0 }, f2 = { 0 };
	const char *opts[] = { "--latency", "0.2", NULL };
	struct run r = { 0 };
	struct gm_backend *b;
	int on1 = 0, on2 = 0;
	(void)state;

	fake_start(&f1, "fake_lmstudio.py", "[]", opts);
	fake_start(&f2, "fake_lmstudio.py", "[]", opts);
	b = local((const char *[]){ f1.url, f2.url }, 2, 2, 0, 0);
	assert_int_equal(submit_n(&r, b, 8, "hello"), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(r.res[i].error, 0);
		on1 += !strcmp(r.server[i], f1.url);
		on2 += !strcmp(r.server[i], f2.url);
	}
	assert_int_equal(on1, 4);
	assert_int_equal(on2, 4);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&f1);
	fake_stop(&f2);
}

static void test_callbacks_submit_more_and_cancel(void **state)
{
	struct fake f = { 0 };
	const char *opts[] = { "--latency", "0.3", NULL };
	struct run r = { 0 };
	struct gm_backend *b;
	int interrupted = 0;
	(void)state;

	fake_start(&f, "fake_lmstudio.py", "[]", opts);
	b = local((const char *[]){ f.url }, 1, 2, 0, 0);
	/* chained submissions run to the end */
	r.b = b;
	r.submit_more = 3;
	assert_int_equal(submit_n(&r, b, 1, "hello"), 0);
	assert_int_equal(r.calls, 4);
	for (int i = 32; i < 35; i++)
		assert_int_equal(r.res[i].error, 0);
	gm_engine_free(r.e);
	run_release(&r);

	/* cancel after the first two: the rest end interrupted, each with its callback */
	memset(&r, 0, sizeof(r));
	r.cancel_after = 2;
	assert_int_equal(submit_n(&r, b, 10, "hello"), GM_EINTERRUPTED);
	assert_int_equal(r.calls, 10);
	for (int i = 0; i < 10; i++)
		interrupted += r.res[i].error == GM_EINTERRUPTED;
	assert_int_equal(interrupted, 8);
	assert_int_equal(gm_engine_inflight(r.e, b), 0);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&f);
}

static struct gm_backend *claude(const char *url, const char *model, const char *key, int conc)
{
	struct gm_backend_config cfg = { 0 };
	struct gm_backend *b;
	cfg.kind = GM_BACKEND_CLAUDE;
	cfg.urls = (const char *[]){ url };
	cfg.nurls = 1;
	cfg.model = model;
	cfg.api_key = key;
	cfg.concurrency = conc;
	cfg.timeout_s = 60;
	cfg.stream = true;
	assert_int_equal(gm_backend_new(&b, &cfg), 0);
	return b;
}

/* Is `key` accepted?  What doctor asks: the probe of a Claude backend. */
static int check_key(const char *url, const char *key)
{
	struct gm_backend *b = claude(url, NULL, key, 1);
	struct gm_backend_probe p;
	int rc = gm_backend_probe(&p, b, 0);

	gm_backend_probe_release(&p);
	gm_backend_free(b);
	return rc;
}

static const cJSON *logged_body(const cJSON *log, int i)
{
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, log) {
		const cJSON *p = cJSON_GetObjectItem(it, "path");
		if (cJSON_IsString(p) && !strcmp(p->valuestring, "/v1/messages") && n++ == i)
			return it;
	}
	return NULL;
}

static void test_claude_structured_cached_and_priced(void **state)
{
	struct fake f = { 0 };
	const char *opts[] = { "--api-key", "sk-test-secret", NULL };
	struct run r = { 0 };
	struct gm_backend *b;
	struct gm_chat_request req = { NULL, "analyse", "{\"type\":\"object\",\"properties\":"
	                               "{\"ok\":{\"type\":\"boolean\"}},\"required\":[\"ok\"]}",
	                               "verdict", 0, false, 0 };
	struct gm_buf sys = GM_BUF_INIT;
	cJSON *log, *j;
	const cJSON *e, *h;
	(void)state;

	fake_start(&f, "fake_anthropic.py", "[]", opts);
	for (int i = 0; i < 800; i++)
		gm_buf_puts(&sys, "shared repository context ");
	req.system = sys.ptr;
	b = claude(f.url, NULL, "sk-test-secret", 1);
	assert_int_equal(gm_engine_new(&r.e), 0);
	assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)0), 0);
	assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)1), 0);
	assert_int_equal(gm_engine_run(r.e, done, &r), 0);
	assert_string_equal(gm_backend_model(b), "claude-sonnet-5");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(r.res[i].error, 0);
		j = cJSON_Parse(r.content[i]);
		assert_true(cJSON_IsBool(cJSON_GetObjectItem(j, "ok")));
		cJSON_Delete(j);
		assert_true(r.res[i].cost_usd > 0);
	}
	assert_true(r.res[0].cache_write_tokens > 1000);
	assert_int_equal(r.res[0].cache_read_tokens, 0);
	assert_int_equal(r.res[1].cache_read_tokens, r.res[0].cache_write_tokens);
	assert_true(r.res[1].cost_usd < r.res[0].cost_usd);
	log = fake_log_of(&f, "\"/v1/messages\"", 2);
	e = logged_body(log, 0);
	assert_non_null(e);
	h = cJSON_GetObjectItem(e, "headers");
	assert_string_equal(cJSON_GetObjectItem(h, "anthropic-version")->valuestring, "2023-06-01");
	e = cJSON_GetObjectItem(e, "body");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "tool_choice"), "name")->valuestring,
	                    "verdict");
	assert_null(cJSON_GetObjectItem(e, "temperature"));
	cJSON_Delete(log);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);

	/* Opus 5.5 refuses forced tools: output_config.format instead */
	memset(&r, 0, sizeof(r));
	b = claude(f.url, "claude-opus-5-5", "sk-test-secret", 1);
	assert_int_equal(gm_engine_new(&r.e), 0);
	assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)0), 0);
	assert_int_equal(gm_engine_run(r.e, done, &r), 0);
	assert_int_equal(r.res[0].error, 0);
	j = cJSON_Parse(r.content[0]);
	assert_true(cJSON_IsBool(cJSON_GetObjectItem(j, "ok")));
	cJSON_Delete(j);
	log = fake_log_of(&f, "\"/v1/messages\"", 3);
	e = cJSON_GetObjectItem(logged_body(log, 2), "body");
	assert_null(cJSON_GetObjectItem(e, "tool_choice"));
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "output_config"), "format"));
	cJSON_Delete(log);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	gm_buf_release(&sys);
	fake_stop(&f);
}

static void test_claude_errors_and_retries(void **state)
{
	struct fake f = { 0 };
	const char *opts[] = { "--api-key", "sk-test-secret", NULL };
	struct run r = { 0 };
	struct gm_backend *b;
	cJSON *log;
	double t0, t1;
	(void)state;

	fake_start(&f, "fake_anthropic.py",
	           "[{\"match\":{\"user\":\"limited\"},\"times\":1,\"response\":{\"error\":\"rate_limit\","
	           "\"retry_after_ms\":300}},"
	           "{\"match\":{\"user\":\"midstream\"},\"times\":1,\"response\":{\"fail\":\"event_error\"}},"
	           "{\"match\":{\"user\":\"nope\"},\"response\":{\"error\":\"overloaded\",\"should_retry\":false}},"
	           "{\"match\":{\"user\":\"bad\"},\"response\":{\"error\":\"invalid_request\"}}]", opts);
	b = claude(f.url, NULL, "sk-test-secret", 4);
	assert_int_equal(gm_engine_new(&r.e), 0);
	{
		struct gm_chat_request req = { "s", "limited", NULL, NULL, 0, false, 0 };
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)0), 0);
		req.user = "midstream";
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)1), 0);
		req.user = "nope";
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)2), 0);
		req.user = "bad";
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)3), 0);
	}
	assert_int_equal(gm_engine_run(r.e, done, &r), 0);
	assert_int_equal(r.res[0].error, 0);
	assert_int_equal(r.res[0].attempts, 2);
	assert_int_equal(r.res[1].error, 0);
	assert_int_equal(r.res[1].attempts, 2);
	assert_int_equal(r.res[2].attempts, 1);
	assert_string_equal(r.msg[2], "Claude API: overloaded_error: Overloaded");
	assert_int_equal(r.res[3].attempts, 1);
	assert_int_equal(strncmp(r.msg[3], "Claude API: invalid_request_error: ", 35), 0);
	/* retry-after-ms honoured: the second "limited" came at least 0.3 s later */
	log = fake_log_of(&f, "\"/v1/messages\"", 6);
	t0 = t1 = -1;
	for (int i = 0; logged_body(log, i); i++) {
		const cJSON *e = logged_body(log, i);
		char *body = cJSON_PrintUnformatted(cJSON_GetObjectItem(e, "body"));
		if (strstr(body, "limited")) {
			double t = cJSON_GetObjectItem(e, "t_arrival")->valuedouble;
			if (t0 < 0)
				t0 = t;
			else
				t1 = t;
		}
		free(body);
	}
	assert_true(t0 > 0 && t1 > 0);
	assert_true(t1 - t0 >= 0.3);
	cJSON_Delete(log);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);

	/* a wrong key: one line, and the key nowhere in it */
	memset(&r, 0, sizeof(r));
	b = claude(f.url, NULL, "sk-wrong-key-123", 1);
	assert_int_equal(submit_n(&r, b, 1, "hello"), 0);
	assert_string_equal(r.msg[0], "Claude API: authentication_error: invalid x-api-key");
	assert_int_equal(r.res[0].attempts, 1);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);

	assert_int_equal(check_key(f.url, "sk-test-secret"), 0);
	assert_int_equal(check_key(f.url, "sk-wrong-key-123"), GM_ERROR);
	assert_string_equal(gm_error_last(), "Claude API: authentication_error: invalid x-api-key");
	assert_int_equal(check_key(f.url, NULL), GM_ENOTFOUND);
	fake_stop(&f);
}

static struct gm_engine *alarm_engine;

static void on_alarm(int sig)
{
	(void)sig;
	gm_engine_cancel(alarm_engine);
}

static void test_signal_cancels_transfers_in_flight(void **state)
{
	struct fake f = { 0 };
	struct run r = { 0 };
	struct gm_backend *b;
	struct sigaction sa = { 0 };
	struct itimerval it = { { 0, 0 }, { 0, 300000 } };
	(void)state;

	fake_start(&f, "fake_lmstudio.py",
	           "[{\"match\":{\"user\":\"slow\"},\"response\":{\"delay\":60}}]", NULL);
	b = local((const char *[]){ f.url }, 1, 4, 0, 0);
	assert_int_equal(gm_backend_prepare(b), 0);
	assert_int_equal(gm_engine_new(&r.e), 0);
	alarm_engine = r.e;
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	{
		struct gm_chat_request req = { NULL, "slow", NULL, NULL, 0, false, 0 };
		for (int i = 0; i < 6; i++)
			assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)(uintptr_t)i), 0);
	}
	/* Without a working cancel this would return after a minute, all answered. */
	assert_int_equal(gm_engine_run(r.e, done, &r), GM_EINTERRUPTED);
	signal(SIGALRM, SIG_DFL);
	assert_int_equal(r.calls, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(r.res[i].error, GM_EINTERRUPTED);
	assert_int_equal(gm_engine_inflight(r.e, b), 0);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&f);
}

static void test_server_dying_mid_run_drained(void **state)
{
	struct fake f1 = { 0 }, f2 = { 0 };
	struct run r = { 0 };
	struct gm_backend *b;
	(void)state;

	fake_start(&f1, "fake_lmstudio.py", "[]", NULL);
	fake_start(&f2, "fake_lmstudio.py", "[]", NULL);
	b = local((const char *[]){ f1.url, f2.url }, 2, 2, 0, 0);
	assert_int_equal(gm_backend_prepare(b), 0);
	fake_stop(&f1); /* gone after set-up: its share is sent to the other */
	assert_int_equal(submit_n(&r, b, 8, "hello"), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(r.res[i].error, 0);
		assert_string_equal(r.server[i], f2.url);
	}
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&f2);
}

static void put(const char *dir, const char *rel, const char *text)
{
	char *p = gm_xasprintf("%s%s", dir, rel), *slash = strrchr(p, '/');
	*slash = '\0';
	assert_int_equal(gm_mkdirs(p), 0);
	*slash = '/';
	assert_int_equal(gm_write_file_atomic(p, text, strlen(text)), 0);
	free(p);
}

static void test_wsl_falls_back_to_windows_host(void **state)
{
	struct fake f = { 0 };
	struct gm_backend *b;
	char root[] = "/tmp/gm-wslroot-XXXXXX", url[128], *want, *cmd;
	const char *port;
	(void)state;

	fake_start(&f, "fake_lmstudio.py", "[]", NULL);
	/* The fake listens on 127.0.0.1 only, so [::1] plays the silent localhost
	 * and 127.0.0.1, the "default gateway", the Windows host. */
	port = strrchr(f.url, ':');
	snprintf(url, sizeof(url), "http://[::1]%s", port);
	assert_non_null(mkdtemp(root));
	put(root, "/proc/sys/kernel/osrelease", "6.6.87.2-microsoft-standard-WSL2\n");
	put(root, "/proc/net/route",
	    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
	    "eth0\t00000000\t0100007F\t0003\t0\t0\t0\t00000000\n");
	put(root, "/etc/resolv.conf", "nameserver 10.255.255.254\n");
	setenv("GM_PROC_ROOT", root, 1);
	b = local((const char *[]){ url }, 1, 1, 0, 0);
	assert_int_equal(gm_backend_prepare(b), 0);
	assert_string_equal(gm_backend_server(b, 0)->wsl_host, "127.0.0.1");
	assert_string_equal(gm_backend_server(b, 0)->url, f.url);
	assert_string_equal(gm_backend_model(b), "qwen2.5-7b-instruct");
	gm_backend_free(b);

	/* not WSL: no fallback, and the message names the URL as configured */
	setenv("GM_PROC_ROOT", "/nonexistent", 1);
	b = local((const char *[]){ url }, 1, 1, 0, 0);
	assert_int_equal(gm_backend_prepare(b), GM_ERROR);
	want = gm_xasprintf("cannot reach LM Studio at %s: ", url);
	assert_int_equal(strncmp(gm_error_last(), want, strlen(want)), 0);
	assert_null(gm_backend_server(b, 0)->wsl_host);
	free(want);
	gm_backend_free(b);
	cmd = gm_xasprintf("rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_reached_never_exceeded),
		cmocka_unit_test(test_server_errors_retried_with_backoff),
		cmocka_unit_test(test_client_errors_not_retried_and_named),
		cmocka_unit_test(test_stall_reset_and_oversize),
		cmocka_unit_test(test_error_event_ends_the_attempt_at_once),
		cmocka_unit_test(test_streamed_text_is_counted_per_backend),
		cmocka_unit_test(test_unreachable_server_message),
		cmocka_unit_test(test_dead_server_does_not_stop_the_run),
		cmocka_unit_test(test_two_servers_share_the_load),
		cmocka_unit_test(test_callbacks_submit_more_and_cancel),
		cmocka_unit_test(test_signal_cancels_transfers_in_flight),
		cmocka_unit_test(test_server_dying_mid_run_drained),
		cmocka_unit_test(test_wsl_falls_back_to_windows_host),
		cmocka_unit_test(test_claude_structured_cached_and_priced),
		cmocka_unit_test(test_claude_errors_and_retries),
	};
	if (!getenv("GM_FIXTURES")) {
		fprintf(stderr, "GM_FIXTURES not set: skipping\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
