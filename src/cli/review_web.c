/*
 * review_web.c: `git monitor review --web` and `--html FILE`.
 *
 * --web serves the review page (review_page.h) with libmicrohttpd on
 * 127.0.0.1 only, on a port the system picks, behind a random token:
 *
 *   GET  /?token=T     the page, rendered from the branch as it is now
 *   POST /apply        {"tip": "<oid the page showed>", "drop": ["path:name", ...]}
 *                      with the token in the X-Monitor-Token header: the one
 *                      drop commit (gm_review_walk_apply, as -i and --drop),
 *                      then the branch is read again for the next GET
 *
 * Anything without the token, or with a Host header that is not this
 * address (a DNS-rebinding page), gets 403.  A custom header on the POST
 * means a page of another origin cannot send it without a CORS preflight,
 * which is never granted.  The page itself runs only its own script and
 * style (Content-Security-Policy with a nonce) and sends no Referer, so the
 * token stays in this browser tab.  The server stops on Ctrl-C, SIGTERM or
 * after the idle timeout without a request.
 */
#include "review_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "cli.h"
#include "monitor/error.h"
#include "monitor/review_page.h"
#include "monitor/util.h"
#include "monitor/wsl.h"
#include "monitor/banned.h"

#define MAX_BODY (1u << 20)
#define MAX_SPECS 100000
#define TOKEN_BYTES 16

extern char **environ;

static int random_hex(char *out, size_t nbytes)
{
	unsigned char buf[64];
	size_t got = 0;

	if (nbytes > sizeof(buf))
		return -1;
	while (got < nbytes) {
		ssize_t n = getrandom(buf + got, nbytes - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* An old kernel: the same bytes from the device. */
			int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return -1;
			n = read(fd, buf + got, nbytes - got);
			close(fd);
			if (n <= 0)
				return -1;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", buf[i]);
	return 0;
}

/* ---- the server ---------------------------------------------------------------------- */

struct server {
	git_repository *repo;
	struct gm_review **r;
	const char *branch;
	char token[2 * TOKEN_BYTES + 1];
	char host[2][64]; /* the Host headers this server answers to */
	_Atomic uint64_t last_request_ms;
};

struct request {
	struct gm_buf body;
	bool too_big;
};

static bool same_secret(const char *a, const char *b)
{
	size_t la = a ? strlen(a) : 0, lb = strlen(b);
	unsigned char diff = la != lb;
	for (size_t i = 0; i < lb; i++)
		diff |= (unsigned char)((i < la ? a[i] : 0) ^ b[i]);
	return a && !diff;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type,
                               const char *data, size_t len, const char *csp)
{
	struct MHD_Response *res =
		MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;
	MHD_add_response_header(res, "Content-Type", type);
	MHD_add_response_header(res, "Cache-Control", "no-store");
	MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(res, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(res, "X-Frame-Options", "DENY");
	MHD_add_response_header(res, "Cross-Origin-Resource-Policy", "same-origin");
	if (csp)
		MHD_add_response_header(res, "Content-Security-Policy", csp);
	ret = MHD_queue_response(c, status, res);
	MHD_destroy_response(res);
	return ret;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, cJSON *j)
{
	char *text = cJSON_PrintUnformatted(j);
	enum MHD_Result ret = respond(c, status, "application/json", text, strlen(text), NULL);
	free(text);
	cJSON_Delete(j);
	return ret;
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", msg);
	return respond_json(c, status, j);
}

/*
 * The branch as it is now: read again when it moved since it was read (a
 * --drop or --undo-drop in another terminal), or a reload would show the
 * old state and every Apply from it would be refused as stale.
 */
static int refresh(struct server *s)
{
	struct gm_review *fresh = NULL;
	git_oid now;
	int rc;

	if (git_reference_name_to_id(&now, s->repo, (*s->r)->refname) < 0) {
		git_error_clear();
		return 0; /* gone: the page says what it last saw; Apply will say why it cannot */
	}
	if (git_oid_equal(&now, &(*s->r)->tip))
		return 0;
	if ((rc = gm_review_load(&fresh, s->repo, s->branch)) < 0)
		return rc;
	gm_review_free(*s->r);
	*s->r = fresh;
	return 0;
}

static enum MHD_Result serve_page(struct server *s, struct MHD_Connection *c)
{
	struct gm_buf page = GM_BUF_INIT;
	struct gm_review_page_opts o = { true, NULL };
	char nonce[2 * TOKEN_BYTES + 1], *csp;
	enum MHD_Result ret;
	int rc;

	if ((rc = refresh(s)) < 0)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, gm_error_last());
	if (random_hex(nonce, TOKEN_BYTES) < 0)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "no random bytes for the page");
	o.nonce = nonce;
	if ((rc = gm_review_page(&page, s->repo, *s->r, &o)) < 0) {
		gm_buf_release(&page);
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, gm_error_last());
	}
	csp = gm_xasprintf("default-src 'none'; style-src 'nonce-%s'; script-src 'nonce-%s'; "
	                   "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
	                   "frame-ancestors 'none'", nonce, nonce);
	ret = respond(c, MHD_HTTP_OK, "text/html; charset=utf-8", page.ptr ? page.ptr : "", page.len, csp);
	free(csp);
	gm_buf_release(&page);
	return ret;
}

/* POST /apply: the functions to drop, in one commit. */
static enum MHD_Result serve_apply(struct server *s, struct MHD_Connection *c, struct request *req)
{
	struct gm_review *r = *s->r, *fresh = NULL;
	cJSON *j = NULL, *res;
	const cJSON *tip, *drop, *it;
	const char **specs = NULL;
	size_t n = 0;
	char hex[GIT_OID_HEXSZ + 1];
	struct gm_review_walk w;
	git_oid new_tip;
	bool wrote = false;
	enum MHD_Result ret;
	int rc;

	if (req->too_big)
		return respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request too large");
	j = cJSON_Parse(req->body.ptr ? req->body.ptr : "");
	tip = cJSON_GetObjectItemCaseSensitive(j, "tip");
	drop = cJSON_GetObjectItemCaseSensitive(j, "drop");
	if (!cJSON_IsObject(j) || !cJSON_IsString(tip) || !cJSON_IsArray(drop) ||
	    cJSON_GetArraySize(drop) > MAX_SPECS) {
		cJSON_Delete(j);
		return respond_error(c, MHD_HTTP_BAD_REQUEST, "expected {\"tip\": \"<oid>\", \"drop\": [\"path:name\", ...]}");
	}
	git_oid_tostr(hex, sizeof(hex), &r->tip);
	if (strcmp(tip->valuestring, hex) != 0) {
		cJSON_Delete(j);
		return respond_error(c, MHD_HTTP_CONFLICT, "the branch is not where the page showed it; reload the page");
	}
	specs = gm_xcalloc((size_t)cJSON_GetArraySize(drop) + 1, sizeof(*specs));
	cJSON_ArrayForEach(it, drop) {
		if (!cJSON_IsString(it) || !strchr(it->valuestring, ':')) {
			free(specs);
			cJSON_Delete(j);
			return respond_error(c, MHD_HTTP_BAD_REQUEST, "every entry of \"drop\" is \"path:name\"");
		}
		specs[n++] = it->valuestring;
	}
	if ((rc = gm_review_walk_init(&w, r, NULL, 0, NULL, 0)) == 0) {
		if ((rc = gm_review_walk_drop_specs(&w, specs, n)) == 0)
			rc = gm_review_walk_apply(&new_tip, &wrote, s->repo, &w);
		gm_review_walk_release(&w);
	}
	free(specs);
	cJSON_Delete(j);
	if (rc < 0)
		return respond_error(c, strstr(gm_error_last(), "moved") ? MHD_HTTP_CONFLICT
		                                                         : MHD_HTTP_BAD_REQUEST,
		                     gm_error_last());
	if (wrote) {
		fprintf(stderr, "dropped %zu function%s from '%s' (now %s)\n", n, n == 1 ? "" : "s",
		        review_tqp(r->branch), git_oid_tostr(hex, 13, &new_tip));
		/* The page shows the branch as it is now. */
		if ((rc = gm_review_load(&fresh, s->repo, s->branch)) < 0)
			return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, gm_error_last());
		gm_review_free(*s->r);
		*s->r = fresh;
	}
	res = cJSON_CreateObject();
	cJSON_AddBoolToObject(res, "ok", true);
	cJSON_AddNumberToObject(res, "dropped", wrote ? (double)n : 0);
	cJSON_AddStringToObject(res, "tip", git_oid_tostr(hex, sizeof(hex), &(*s->r)->tip));
	ret = respond_json(c, MHD_HTTP_OK, res);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct request *req = *con_cls;
	const char *host, *token;
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	(void)version;

	if (!req) {
		req = gm_xcalloc(1, sizeof(*req));
		gm_buf_init(&req->body, MAX_BODY);
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!req->too_big && gm_buf_put(&req->body, upload, *upload_size) < 0)
			req->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	atomic_store(&s->last_request_ms, gm_now_ms());
	host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (!host || (strcmp(host, s->host[0]) != 0 && strcmp(host, s->host[1]) != 0))
		return respond_error(c, MHD_HTTP_FORBIDDEN, "forbidden");
	token = post ? MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Monitor-Token")
	             : MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	if (!same_secret(token, s->token))
		return respond_error(c, MHD_HTTP_FORBIDDEN, "forbidden: this page needs the token of its URL");
	if (!post && strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	if (!post && strcmp(url, "/") == 0)
		return serve_page(s, c);
	if (post && strcmp(url, "/apply") == 0)
		return serve_apply(s, c, req);
	return respond_error(c, MHD_HTTP_NOT_FOUND, "not found");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;
	if (req) {
		gm_buf_release(&req->body);
		free(req);
		*con_cls = NULL;
	}
}

/* MHD's own messages (a socket error): one warning line each. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fputs("warning: http: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* ---- the browser ------------------------------------------------------------------------ */

/* Start `prog url` in the background, its output thrown away; false when it cannot start. */
static bool spawn_detached(const char *prog, const char *url)
{
	posix_spawn_file_actions_t fa;
	char *argv[3];
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	argv[0] = (char *)prog;
	argv[1] = (char *)url;
	argv[2] = NULL;
	rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc == 0;
}

/* $BROWSER (its first entry), else wslview under WSL (the Windows browser), else xdg-open. */
static void open_browser(const char *url)
{
	const char *b = getenv("BROWSER");
	if (b && *b) {
		char *first = gm_xstrndup(b, strcspn(b, ":"));
		bool ok = spawn_detached(first, url);
		free(first);
		if (ok)
			return;
	}
	if (gm_wsl_detect(NULL) && spawn_detached("wslview", url))
		return;
	if ((getenv("DISPLAY") || getenv("WAYLAND_DISPLAY")) && spawn_detached("xdg-open", url))
		return;
	fprintf(stderr, "hint: open the address above in a browser\n");
}

/* ---- running -------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static int write_html(git_repository *repo, const struct gm_review *r, const char *file)
{
	struct gm_buf page = GM_BUF_INIT;
	struct gm_review_page_opts o = { false, NULL };
	char nonce[2 * TOKEN_BYTES + 1];
	int rc;

	if (random_hex(nonce, TOKEN_BYTES) < 0)
		return cli_fail(CLI_FAILED, "cannot read random bytes");
	o.nonce = nonce;
	if ((rc = gm_review_page(&page, repo, r, &o)) < 0) {
		gm_buf_release(&page);
		return cli_error(rc);
	}
	if (strcmp(file, "-") == 0) {
		fwrite(page.ptr, 1, page.len, stdout);
		fflush(stdout);
	} else if (gm_write_file_atomic(file, page.ptr, page.len) < 0) {
		gm_buf_release(&page);
		return cli_fail(CLI_FAILED, "cannot write '%s': %s", review_tqp(file), gm_error_last());
	} else {
		fprintf(stderr, "wrote the review page of '%s' to %s\n", review_tqp(r->branch), review_tqp(file));
	}
	gm_buf_release(&page);
	return CLI_OK;
}

int review_web(git_repository *repo, struct gm_review **r, const char *branch,
               const struct review_web_opts *o)
{
	struct server s;
	struct sockaddr_in addr;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	struct sigaction sa, old[3];
	const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	char *url;
	unsigned port;
	int exit_code = CLI_OK;

	if (o->html_file)
		return write_html(repo, *r, o->html_file);

	memset(&s, 0, sizeof(s));
	s.repo = repo;
	s.r = r;
	s.branch = branch;
	if (random_hex(s.token, TOKEN_BYTES) < 0)
		return cli_fail(CLI_FAILED, "cannot read random bytes for the page's token");
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = 0; /* the system picks a free one */
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, &s,
	                     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)NULL,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	                     MHD_OPTION_NOTIFY_COMPLETED, completed, (void *)NULL,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
	if (!d)
		return cli_fail(CLI_FAILED, "cannot serve the review page on 127.0.0.1");
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	port = info ? info->port : 0;
	if (!port) {
		MHD_stop_daemon(d);
		return cli_fail(CLI_FAILED, "cannot tell which port the review page is on");
	}
	snprintf(s.host[0], sizeof(s.host[0]), "127.0.0.1:%u", port);
	snprintf(s.host[1], sizeof(s.host[1]), "localhost:%u", port);
	atomic_store(&s.last_request_ms, gm_now_ms());

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	stop_signal = 0;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);

	url = gm_xasprintf("http://127.0.0.1:%u/?token=%s", port, s.token);
	printf("%s\n", url);
	fflush(stdout);
	fprintf(stderr, "serving the review of '%s' at that address; Ctrl-C stops it", review_tqp((*r)->branch));
	if (o->idle_timeout)
		fprintf(stderr, ", and so does %u second%s without a request", o->idle_timeout,
		        o->idle_timeout == 1 ? "" : "s");
	fputc('\n', stderr);
	if (o->open_browser && !getenv("GIT_MONITOR_NO_BROWSER"))
		open_browser(url);

	while (!stop_signal) {
		uint64_t idle = gm_now_ms() - atomic_load(&s.last_request_ms);
		if (o->idle_timeout && idle >= (uint64_t)o->idle_timeout * 1000) {
			fprintf(stderr, "stopping: no request for %u seconds\n", o->idle_timeout);
			break;
		}
		poll(NULL, 0, 200);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			; /* a browser launcher that ended */
	}
	if (stop_signal)
		fprintf(stderr, "stopped\n");
	MHD_stop_daemon(d);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	free(url);
	return exit_code;
}
