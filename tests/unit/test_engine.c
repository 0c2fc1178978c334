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
#include "monitor/price.h"
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
		struct gm_chat_request req = { NULL, "again", NULL, NULL, 0, false, 0, 0, NULL };
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
	cfg.concurrency_fixed = true; /* these tests set the caps themselves */
	cfg.timeout_s = 60;
	cfg.stream = true;
	cfg.stall_s = stall;
	cfg.max_body = max_body;
	assert_int_equal(gm_backend_new(&b, &cfg), 0);
	return b;
}

static int submit_n(struct run *r, struct gm_backend *b, int n, const char *user)
{
	struct gm_chat_request req = { "be brief", user, NULL, NULL, 0, false, 0, 0, NULL };
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
		struct gm_chat_request req = { NULL, "nomodel", NULL, NULL, 0, false, 0, 0, NULL };
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
		struct gm_chat_request req = { NULL, "stall", NULL, NULL, 0, false, 0, 0, NULL };
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
	cfg.concurrency_fixed = true; /* these tests set the caps themselves */
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
	                               "verdict", 0, false, 0, 0, NULL };
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
		struct gm_chat_request req = { "s", "limited", NULL, NULL, 0, false, 0, 0, NULL };
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
		struct gm_chat_request req = { NULL, "slow", NULL, NULL, 0, false, 0, 0, NULL };
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


/* ---- server kinds, the fleet, batches ------------------------------------- */

static const cJSON *logged_at(const cJSON *log, const char *path, int i)
{
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, log) {
		const cJSON *p = cJSON_GetObjectItem(it, "path");
		if (cJSON_IsString(p) && !strcmp(p->valuestring, path) && n++ == i)
			return it;
	}
	return NULL;
}

static int logged_count(const cJSON *log, const char *path)
{
	int n = 0;
	while (logged_at(log, path, n))
		n++;
	return n;
}

static void test_kinds_detected_and_each_spoken_to_in_its_form(void **state)
{
	struct fake fl = { 0 }, fv = { 0 }, fo = { 0 };
	const char *lo[] = { "--personality", "llamacpp", "--context", "2000", "--concurrency", "3", NULL };
	const char *vo[] = { "--personality", "vllm", "--context", "30000", NULL };
	const char *oo[] = { "--personality", "ollama", "--context", "4096", NULL };
	struct gm_backend_config cfg = { 0 };
	struct run r = { 0 };
	struct gm_backend *b;
	cJSON *log;
	const cJSON *body;
	char *mm;
	(void)state;

	fake_start(&fl, "fake_lmstudio.py", "[]", lo);
	fake_start(&fv, "fake_lmstudio.py", "[]", vo);
	fake_start(&fo, "fake_lmstudio.py", "[]", oo);
	cfg.kind = GM_BACKEND_LOCAL;
	cfg.urls = (const char *[]){ fl.url, fv.url, fo.url };
	cfg.nurls = 3;
	cfg.concurrency = 2;
	cfg.timeout_s = 60;
	cfg.stream = true;
	assert_int_equal(gm_backend_new(&b, &cfg), 0);
	assert_int_equal(gm_backend_prepare(b), 0);
	assert_string_equal(gm_backend_server(b, 0)->kind, "llama.cpp");
	assert_non_null(strstr(gm_backend_server(b, 0)->kind_from, "detected"));
	assert_int_equal(gm_backend_server(b, 0)->context, 2000);
	assert_int_equal(gm_backend_server(b, 0)->slots, 3);  /* /props total_slots */
	assert_non_null(strstr(gm_backend_server(b, 0)->slots_from, "total_slots"));
	assert_string_equal(gm_backend_server(b, 1)->kind, "vLLM");
	assert_int_equal(gm_backend_server(b, 1)->context, 30000);
	assert_int_equal(gm_backend_server(b, 1)->slots, 2);  /* vLLM does not say: config */
	assert_string_equal(gm_backend_server(b, 2)->kind, "Ollama");
	assert_int_equal(gm_backend_server(b, 2)->context, 4096);  /* /api/ps */
	assert_string_equal(gm_backend_server(b, 2)->model, "qwen2.5-coder:7b");
	assert_int_equal(gm_backend_context_length(b), 30000);
	assert_int_equal(gm_engine_new(&r.e), 0);
	{
		struct gm_chat_request req = { "be brief", "hello", NULL, NULL, 100, false, 0, 0, NULL };
		for (int i = 0; i < 9; i++)
			assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)(uintptr_t)i), 0);
	}
	assert_int_equal(gm_engine_run(r.e, done, &r), 0);
	for (int i = 0; i < 9; i++) {
		assert_int_equal(r.res[i].error, 0);
		assert_non_null(r.content[i]);
	}
	/* each server's own model, and the difference is reported */
	mm = gm_backend_model_mismatch(b);
	assert_non_null(mm);
	assert_non_null(strstr(mm, "qwen2.5-coder:7b"));
	assert_non_null(strstr(mm, "Qwen/Qwen2.5-Coder-32B-Instruct"));
	free(mm);
	log = fake_log_of(&fv, "\"/v1/chat/completions\"", 1);
	body = cJSON_GetObjectItem(logged_at(log, "/v1/chat/completions", 0), "body");
	assert_non_null(body);
	assert_int_equal(num(body, "max_completion_tokens"), 100);
	assert_null(cJSON_GetObjectItem(body, "max_tokens"));
	assert_string_equal(cJSON_GetObjectItem(body, "model")->valuestring,
	                    "Qwen/Qwen2.5-Coder-32B-Instruct");
	cJSON_Delete(log);
	log = fake_log_of(&fo, "\"/api/chat\"", 1);
	assert_int_equal(logged_count(log, "/v1/chat/completions"), 0);
	body = cJSON_GetObjectItem(logged_at(log, "/api/chat", 0), "body");
	assert_non_null(body);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(body, "truncate")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(body, "shift")));
	assert_int_equal(num(cJSON_GetObjectItem(body, "options"), "num_ctx"), 4096);
	assert_int_equal(num(cJSON_GetObjectItem(body, "options"), "num_predict"), 100);
	assert_null(cJSON_GetObjectItem(logged_at(log, "/api/chat", 0), "loaded")); /* no reload */
	cJSON_Delete(log);
	log = fake_log_of(&fl, "\"/v1/chat/completions\"", 1);
	body = cJSON_GetObjectItem(logged_at(log, "/v1/chat/completions", 0), "body");
	assert_int_equal(num(body, "max_tokens"), 100);
	cJSON_Delete(log);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&fl);
	fake_stop(&fv);
	fake_stop(&fo);
}

static void test_context_admission_per_server_never_truncates(void **state)
{
	struct fake fl = { 0 }, fv = { 0 }, fo = { 0 }, fn = { 0 };
	const char *lo[] = { "--personality", "llamacpp", "--context", "1000", NULL };
	const char *vo[] = { "--personality", "vllm", "--context", "50000", NULL };
	const char *oo[] = { "--personality", "ollama", "--context", "4096", NULL };
	const char *no[] = { "--personality", "ollama", "--context", "4096", "--not-loaded", NULL };
	struct run r = { 0 };
	struct gm_backend *b;
	struct gm_buf big = GM_BUF_INIT;
	cJSON *log;
	const cJSON *it;
	(void)state;

	fake_start(&fl, "fake_lmstudio.py", "[]", lo);
	fake_start(&fv, "fake_lmstudio.py", "[]", vo);
	b = local((const char *[]){ fl.url, fv.url }, 2, 4, 0, 0);
	assert_int_equal(gm_engine_new(&r.e), 0);
	{
		struct gm_chat_request req = { NULL, "medium", NULL, NULL, 500, false, 0, 5000, NULL };
		for (int i = 0; i < 4; i++)
			assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)(uintptr_t)i), 0);
		req.prompt_tokens = 100000; /* no server holds it */
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)4), 0);
		req.prompt_tokens = 200; /* any server does */
		req.user = "small";
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)5), 0);
	}
	assert_int_equal(gm_engine_run(r.e, done, &r), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(r.res[i].error, 0);
		assert_string_equal(r.server[i], fv.url);
	}
	assert_int_equal(r.res[4].error, GM_ETOOBIG);
	assert_int_equal(r.res[4].attempts, 0);
	assert_non_null(strstr(r.msg[4], "does not fit the context of any server"));
	assert_non_null(strstr(r.msg[4], "largest context 50000 tokens"));
	assert_int_equal(r.res[5].error, 0);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	/* the llama.cpp server never saw a request it could not hold */
	log = fake_log_of(&fl, "\"/v1/models\"", 1);
	cJSON_ArrayForEach(it, log) {
		const cJSON *p = cJSON_GetObjectItem(it, "path");
		if (cJSON_IsString(p) && !strcmp(p->valuestring, "/v1/chat/completions")) {
			char *body = cJSON_PrintUnformatted(cJSON_GetObjectItem(it, "body"));
			assert_null(strstr(body, "medium"));
			free(body);
		}
	}
	cJSON_Delete(log);
	fake_stop(&fl);
	fake_stop(&fv);

	/* Ollama: a loaded context is known and enforced here; an unknown one is
	 * enforced by the server because truncation is turned off. */
	for (int i = 0; i < 4000; i++) /* ~5000 tokens by the fake's count, over 4096 */
		gm_buf_puts(&big, "word ");
	fake_start(&fo, "fake_lmstudio.py", "[]", oo);
	fake_start(&fn, "fake_lmstudio.py", "[]", no);
	memset(&r, 0, sizeof(r));
	b = local((const char *[]){ fo.url }, 1, 1, 0, 0);
	assert_int_equal(gm_engine_new(&r.e), 0);
	{
		struct gm_chat_request req = { NULL, big.ptr, NULL, NULL, 100, false, 0, 0, NULL };
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)0), 0);
	}
	assert_int_equal(gm_engine_run(r.e, done, &r), 0);
	assert_int_equal(r.res[0].error, GM_ETOOBIG);
	assert_int_equal(r.res[0].attempts, 0);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	memset(&r, 0, sizeof(r));
	b = local((const char *[]){ fn.url }, 1, 1, 0, 0);
	assert_int_equal(gm_backend_prepare(b), 0);
	assert_int_equal(gm_backend_server(b, 0)->context, 0);
	assert_int_equal(gm_engine_new(&r.e), 0);
	{
		struct gm_chat_request req = { NULL, big.ptr, NULL, NULL, 100, false, 0, 0, NULL };
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)0), 0);
	}
	assert_int_equal(gm_engine_run(r.e, done, &r), 0);
	assert_int_equal(r.res[0].error, GM_ERROR);
	assert_int_equal(r.res[0].attempts, 1);
	assert_non_null(strstr(r.msg[0], "Ollama at "));
	assert_non_null(strstr(r.msg[0], "prompt too long for the context: the input length exceeds "
	                                 "the context length"));
	log = fake_log_of(&fn, "\"/api/chat\"", 1);
	cJSON_ArrayForEach(it, log)
		assert_null(cJSON_GetObjectItem(it, "truncated"));
	cJSON_Delete(log);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	gm_buf_release(&big);
	fake_stop(&fo);
	fake_stop(&fn);
}

/* Restart a fake on its old port from within a callback. */
struct revive {
	struct run r;
	struct fake *f;
	int port, after;
	int seen[64];
};

static int done_revive(void *ctx, void *tag, const struct gm_chat_result *res)
{
	struct revive *v = ctx;
	char port[16];
	v->seen[(uintptr_t)tag]++;
	done(&v->r, tag, res);
	if (v->r.calls == v->after) {
		const char *opts[] = { "--latency", "0.1", "--port", port, NULL };
		snprintf(port, sizeof(port), "%d", v->port);
		fake_stop(v->f);
		fake_start(v->f, "fake_lmstudio.py", "[]", opts);
	}
	return 0;
}

static void test_dead_server_taken_out_requeued_and_taken_back(void **state)
{
	struct fake f1 = { 0 }, f2 = { 0 };
	const char *o1[] = { "--latency", "0.1", "--die-after", "4", NULL };
	const char *o2[] = { "--latency", "0.1", NULL };
	struct gm_backend_config cfg = { 0 };
	struct gm_backend_server_stats st;
	struct revive v = { 0 };
	struct gm_backend *b;
	(void)state;

	fake_start(&f1, "fake_lmstudio.py", "[]", o1);
	fake_start(&f2, "fake_lmstudio.py", "[]", o2);
	cfg.kind = GM_BACKEND_LOCAL;
	cfg.urls = (const char *[]){ f1.url, f2.url };
	cfg.nurls = 2;
	cfg.concurrency = 2;
	cfg.concurrency_fixed = true;
	cfg.timeout_s = 60;
	cfg.stream = true;
	cfg.backoff_ms = 300;
	assert_int_equal(gm_backend_new(&b, &cfg), 0);
	assert_int_equal(gm_backend_prepare(b), 0);
	v.f = &f1;
	v.port = atoi(strrchr(f1.url, ':') + 1);
	v.after = 12;
	assert_int_equal(gm_engine_new(&v.r.e), 0);
	{
		struct gm_chat_request req = { "be brief", "hello", NULL, NULL, 0, false, 0, 0, NULL };
		for (int i = 0; i < 48; i++)
			assert_int_equal(gm_engine_submit(v.r.e, b, &req, (void *)(uintptr_t)i), 0);
	}
	assert_int_equal(gm_engine_run(v.r.e, done_revive, &v), 0);
	/* every request answered, each exactly once */
	assert_int_equal(v.r.calls, 48);
	for (int i = 0; i < 48; i++) {
		assert_int_equal(v.seen[i], 1);
		assert_int_equal(v.r.res[i].error, 0);
	}
	gm_backend_server_stats(&st, b, 0);
	assert_true(st.outages >= 1);
	assert_true(st.requeued >= 1);   /* its transfers went to the other */
	assert_true(st.answers > 4);     /* answers after it came back */
	assert_true(st.down_ms >= 250);
	assert_true(st.up);
	assert_non_null(strstr(st.cause, f1.url));
	gm_backend_server_stats(&st, b, 1);
	assert_int_equal(st.outages, 0);
	assert_true(st.answers >= 24);
	gm_engine_free(v.r.e);
	gm_backend_free(b);
	run_release(&v.r);
	fake_stop(&f1);
	fake_stop(&f2);
}

static void test_stalling_or_failing_server_taken_out_for_the_others(void **state)
{
	struct fake f1 = { 0 }, f2 = { 0 }, f3 = { 0 };
	struct gm_backend_config cfg = { 0 };
	struct gm_backend_server_stats st;
	struct run r = { 0 };
	struct gm_backend *b;
	(void)state;

	fake_start(&f1, "fake_lmstudio.py",
	           "[{\"match\":{},\"response\":{\"fail\":\"stall\",\"after_chunks\":1,"
	           "\"stall_seconds\":30}}]", NULL);
	fake_start(&f2, "fake_lmstudio.py", "[{\"match\":{},\"response\":{\"error\":\"server_error\"}}]",
	           NULL);
	fake_start(&f3, "fake_lmstudio.py", "[]", (const char *[]){ "--latency", "0.1", NULL });
	cfg.kind = GM_BACKEND_LOCAL;
	cfg.urls = (const char *[]){ f1.url, f2.url, f3.url };
	cfg.nurls = 3;
	cfg.concurrency = 2;
	cfg.concurrency_fixed = true;
	cfg.timeout_s = 60;
	cfg.stream = true;
	cfg.stall_s = 1;
	cfg.max_retries = 4;
	cfg.backoff_ms = 60000; /* out for the rest of the run */
	assert_int_equal(gm_backend_new(&b, &cfg), 0);
	assert_int_equal(submit_n(&r, b, 12, "hello"), 0);
	for (int i = 0; i < 12; i++) {
		assert_int_equal(r.res[i].error, 0);
		assert_string_equal(r.server[i], f3.url);
	}
	gm_backend_server_stats(&st, b, 0);
	assert_int_equal(st.outages, 1);  /* one stall is enough */
	assert_non_null(strstr(st.cause, "stream stalled"));
	assert_false(st.up);
	assert_int_equal(st.answers, 0);
	gm_backend_server_stats(&st, b, 1);
	assert_int_equal(st.outages, 1);  /* a 5xx storm */
	assert_true(st.failures >= 3);
	assert_non_null(strstr(st.cause, "Unexpected internal error"));
	gm_backend_server_stats(&st, b, 2);
	assert_int_equal(st.answers, 12);
	assert_int_equal(st.outages, 0);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&f1);
	fake_stop(&f2);
	fake_stop(&f3);
}

static void test_all_servers_dead_each_request_says_so(void **state)
{
	struct fake f1 = { 0 }, f2 = { 0 };
	const char *opts[] = { "--die-after", "1", NULL };
	struct run r = { 0 };
	struct gm_backend *b;
	int answered = 0;
	char dead1[64], dead2[64], *want;
	(void)state;

	/* dead from the start: set-up says so, naming the first */
	snprintf(dead1, sizeof(dead1), "http://127.0.0.1:%d/v1", closed_port());
	snprintf(dead2, sizeof(dead2), "http://127.0.0.1:%d/v1", closed_port());
	b = local((const char *[]){ dead1, dead2 }, 2, 1, 0, 0);
	assert_int_equal(gm_backend_prepare(b), GM_ERROR);
	want = gm_xasprintf("cannot reach LM Studio at %s: connection refused", dead1);
	assert_string_equal(gm_error_last(), want);
	free(want);
	gm_backend_free(b);
	/* both die during the run: what is left fails, one clear line each */
	fake_start(&f1, "fake_lmstudio.py", "[]", opts);
	fake_start(&f2, "fake_lmstudio.py", "[]", opts);
	b = local((const char *[]){ f1.url, f2.url }, 2, 1, 0, 0);
	assert_int_equal(submit_n(&r, b, 6, "hello"), 0);
	assert_int_equal(r.calls, 6);
	for (int i = 0; i < 6; i++) {
		if (!r.res[i].error) {
			answered++;
			continue;
		}
		assert_non_null(strstr(r.msg[i], "cannot reach LM Studio at http://127.0.0.1:"));
		assert_null(strchr(r.msg[i], '\n'));
	}
	assert_int_equal(answered, 2);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	fake_stop(&f1);
	fake_stop(&f2);
}

static struct gm_backend *claude_batch(const char *url, const char *dir, bool keep)
{
	struct gm_backend_config cfg = { 0 };
	struct gm_backend *b;
	cfg.kind = GM_BACKEND_CLAUDE;
	cfg.urls = (const char *[]){ url };
	cfg.nurls = 1;
	cfg.api_key = "sk-test-secret";
	cfg.concurrency = 2;
	cfg.timeout_s = 60;
	cfg.stream = true;
	cfg.batch = true;
	cfg.batch_dir = dir;
	cfg.batch_poll_ms = 100;
	cfg.batch_keep = keep;
	assert_int_equal(gm_backend_new(&b, &cfg), 0);
	return b;
}

static int files_in(const char *dir)
{
	char *cmd = gm_xasprintf("ls '%s' 2>/dev/null | wc -l", dir), buf[32] = "";
	FILE *p = popen(cmd, "r");
	int n = 0;
	if (p && fgets(buf, sizeof(buf), p))
		n = atoi(buf);
	if (p)
		pclose(p);
	free(cmd);
	return n;
}

static void test_batch_results_in_any_order_errored_item_half_price(void **state)
{
	struct fake f = { 0 };
	const char *opts[] = { "--api-key", "sk-test-secret", "--batch-delay", "0.4", NULL };
	struct run r = { 0 };
	struct gm_backend *b;
	struct gm_buf sys = GM_BUF_INIT;
	struct gm_engine_batch_stats bs;
	char dir[] = "/tmp/gm-batch-XXXXXX";
	const char *ids[] = { "t1", "t2", "t3", "bad1" };
	cJSON *log;
	int reads = 0;
	(void)state;

	assert_non_null(mkdtemp(dir));
	fake_start(&f, "fake_anthropic.py",
	           "[{\"match\":{\"user\":\"broken\"},\"response\":{\"error\":\"invalid_request\"}}]", opts);
	for (int i = 0; i < 800; i++)
		gm_buf_puts(&sys, "shared repository context ");
	b = claude_batch(f.url, dir, false);
	assert_int_equal(gm_engine_new(&r.e), 0);
	for (int i = 0; i < 4; i++) {
		struct gm_chat_request req = { sys.ptr, i == 3 ? "broken" : "analyse",
		                               "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":"
		                               "\"boolean\"}},\"required\":[\"ok\"]}", "verdict", 0, false,
		                               0, 0, ids[i] };
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)(uintptr_t)i), 0);
	}
	assert_int_equal(gm_engine_inflight(r.e, b), 0); /* collected, not sent yet */
	assert_int_equal(gm_engine_run(r.e, done, &r), 0);
	assert_int_equal(r.calls, 4);
	for (int i = 0; i < 3; i++) {
		double full;
		assert_int_equal(r.res[i].error, 0);
		assert_non_null(strstr(r.content[i], "\"ok\""));
		full = gm_price_cost(gm_backend_model(b), r.res[i].input_tokens, r.res[i].output_tokens,
		                     r.res[i].cache_write_tokens, r.res[i].cache_read_tokens);
		assert_true(full > 0);
		assert_true(r.res[i].cost_usd > 0.49 * full && r.res[i].cost_usd < 0.51 * full);
		reads += r.res[i].cache_read_tokens > 0;
	}
	assert_true(reads >= 1); /* the shared prefix was read from the cache */
	assert_int_equal(r.res[3].error, GM_ERROR);
	assert_non_null(strstr(r.msg[3], "invalid_request_error"));
	assert_non_null(strstr(r.msg[3], "Message Batch msgbatch_"));
	assert_non_null(strstr(r.msg[3], "request bad1"));
	gm_engine_batch_stats(&bs, r.e, b);
	assert_int_equal(bs.batches, 1);
	assert_int_equal(bs.requests, 4);
	assert_int_equal(bs.waiting, 0);
	assert_int_equal(strncmp(bs.last_id, "msgbatch_", 9), 0);
	/* one batch created, polled until it ended, its results read once; no record left */
	log = fake_log_of(&f, "/results", 1);
	assert_int_equal(logged_count(log, "/v1/messages/batches"), 1);
	assert_int_equal(logged_count(log, "/v1/messages"), 0);
	{
		char *p = gm_xasprintf("/v1/messages/batches/%s", bs.last_id);
		char *q = gm_xasprintf("/v1/messages/batches/%s/results", bs.last_id);
		assert_true(logged_count(log, p) >= 1);
		assert_int_equal(logged_count(log, q), 1);
		free(p);
		free(q);
	}
	assert_int_equal(files_in(dir), 0);
	cJSON_Delete(log);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	gm_buf_release(&sys);
	rmdir(dir);
	fake_stop(&f);
}

static void test_batch_cancelled_or_kept_and_resumed(void **state)
{
	struct fake f = { 0 };
	const char *opts[] = { "--api-key", "sk-test-secret", "--batch-delay", "2.5", NULL };
	struct sigaction sa = { 0 };
	struct itimerval it = { { 0, 0 }, { 0, 500000 } };
	struct gm_engine_batch_stats bs;
	struct run r = { 0 };
	struct gm_backend *b;
	char dir[] = "/tmp/gm-batch-XXXXXX", *cancel_path;
	const char *ids[] = { "c1", "c2" };
	cJSON *log;
	(void)state;

	assert_non_null(mkdtemp(dir));
	fake_start(&f, "fake_anthropic.py", "[]", opts);
	/* interrupted: the batch is cancelled, its record removed */
	b = claude_batch(f.url, dir, false);
	assert_int_equal(gm_engine_new(&r.e), 0);
	for (int i = 0; i < 2; i++) {
		struct gm_chat_request req = { "s", "analyse", NULL, NULL, 0, false, 0, 0, ids[i] };
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)(uintptr_t)i), 0);
	}
	alarm_engine = r.e;
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	assert_int_equal(gm_engine_run(r.e, done, &r), GM_EINTERRUPTED);
	signal(SIGALRM, SIG_DFL);
	assert_int_equal(r.calls, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(r.res[i].error, GM_EINTERRUPTED);
		assert_non_null(strstr(r.msg[i], "canceled"));
	}
	gm_engine_batch_stats(&bs, r.e, b);
	cancel_path = gm_xasprintf("/v1/messages/batches/%s/cancel", bs.last_id);
	log = fake_log_of(&f, "/cancel", 1);
	assert_int_equal(logged_count(log, cancel_path), 1);
	cJSON_Delete(log);
	free(cancel_path);
	assert_int_equal(files_in(dir), 0);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);

	/* interrupted with batch_keep: left running and recorded; the next run resumes it */
	memset(&r, 0, sizeof(r));
	b = claude_batch(f.url, dir, true);
	assert_int_equal(gm_engine_new(&r.e), 0);
	for (int i = 0; i < 2; i++) {
		struct gm_chat_request req = { "s", "analyse", NULL, NULL, 0, false, 0, 0, ids[i] };
		assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)(uintptr_t)i), 0);
	}
	alarm_engine = r.e;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	assert_int_equal(gm_engine_run(r.e, done, &r), GM_EINTERRUPTED);
	signal(SIGALRM, SIG_DFL);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(r.res[i].error, GM_EINTERRUPTED);
		assert_non_null(strstr(r.msg[i], "still running"));
	}
	gm_engine_batch_stats(&bs, r.e, b);
	assert_int_equal(files_in(dir), 1);
	gm_engine_free(r.e);
	gm_backend_free(b);
	run_release(&r);
	{
		char first[80];
		snprintf(first, sizeof(first), "%s", bs.last_id);
		memset(&r, 0, sizeof(r));
		b = claude_batch(f.url, dir, true);
		assert_int_equal(gm_engine_new(&r.e), 0);
		for (int i = 1; i >= 0; i--) { /* the same ids, in another order */
			struct gm_chat_request req = { "s", "analyse", NULL, NULL, 0, false, 0, 0, ids[i] };
			assert_int_equal(gm_engine_submit(r.e, b, &req, (void *)(uintptr_t)i), 0);
		}
		assert_int_equal(gm_engine_run(r.e, done, &r), 0);
		for (int i = 0; i < 2; i++)
			assert_int_equal(r.res[i].error, 0);
		gm_engine_batch_stats(&bs, r.e, b);
		assert_int_equal(bs.resumed, 1);
		assert_string_equal(bs.last_id, first);
		log = fake_log_of(&f, "/results", 1);
		assert_int_equal(logged_count(log, "/v1/messages/batches"), 2); /* no third create */
		cJSON_Delete(log);
		assert_int_equal(files_in(dir), 0);
		gm_engine_free(r.e);
		gm_backend_free(b);
		run_release(&r);
	}
	rmdir(dir);
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
		cmocka_unit_test(test_kinds_detected_and_each_spoken_to_in_its_form),
		cmocka_unit_test(test_context_admission_per_server_never_truncates),
		cmocka_unit_test(test_dead_server_taken_out_requeued_and_taken_back),
		cmocka_unit_test(test_stalling_or_failing_server_taken_out_for_the_others),
		cmocka_unit_test(test_all_servers_dead_each_request_says_so),
		cmocka_unit_test(test_batch_results_in_any_order_errored_item_half_price),
		cmocka_unit_test(test_batch_cancelled_or_kept_and_resumed),
	};
	if (!getenv("GM_FIXTURES")) {
		fprintf(stderr, "GM_FIXTURES not set: skipping\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
