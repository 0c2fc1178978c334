/*
 * backend.c: the backends of backend.h.  A backend is a pool of servers
 * (http.h) that all speak one protocol, plus what set-up learned about
 * them.  The table of kinds below is all this file knows of LM Studio and
 * Claude: which ops instance talks to them, how they are set up and
 * probed, whether answers cost money.  The engine of backend.h is the
 * transfer engine of http.h, with pricing on the way back.  This is the
 * only caller of http.c.
 */
#include "monitor/backend.h"

#include <stdlib.h>
#include <string.h>

#include "monitor/anthropic.h"
#include "monitor/error.h"
#include "monitor/http.h"
#include "monitor/openai.h"
#include "monitor/price.h"
#include "monitor/util.h"
#include "monitor/wsl.h"
#include "monitor/banned.h"

#define PROBE_TIMEOUT_S 15
#define PROBE_MAX (4u << 20)       /* a model list */
#define PROBE_ANSWER_MAX (1u << 20) /* a one-token answer, a one-entry list */

struct kind;

struct gm_backend {
	const struct kind *kind;
	struct gm_http_pool pool;        /* servers, limits; model and key point below */
	struct gm_backend_server *info;  /* per server, what set-up learned */
	char *model;
	char *api_key;
	char *wsl_root;
	long probe_timeout_s;
	bool inspect;
	bool prepared;
	int64_t context_length;
};

static int prepare_local(struct gm_backend *b);
static int prepare_claude(struct gm_backend *b);
static int probe_local(struct gm_backend_probe *out, struct gm_backend *b, size_t i);
static int probe_claude(struct gm_backend_probe *out, struct gm_backend *b, size_t i);

/* A kind of server: a row here and an ops instance (http.h). */
static const struct kind {
	const struct gm_http_proto *proto;
	bool one_url;   /* an API with one base URL */
	bool priced;    /* answers cost money (price.h) */
	int (*prepare)(struct gm_backend *b);
	int (*probe)(struct gm_backend_probe *out, struct gm_backend *b, size_t i);
} kinds[] = {
	[GM_BACKEND_LOCAL] = { &gm_openai_proto, false, false, prepare_local, probe_local },
	[GM_BACKEND_CLAUDE] = { &gm_anthropic_proto, true, true, prepare_claude, probe_claude },
};

static char *strip_slash(const char *url)
{
	size_t n = strlen(url);
	while (n && url[n - 1] == '/')
		n--;
	return gm_xstrndup(url, n);
}

static bool is_http(const char *url)
{
	return !strncmp(url, "http://", 7) || !strncmp(url, "https://", 8);
}

int gm_backend_new(struct gm_backend **out, const struct gm_backend_config *cfg)
{
	const struct kind *k;
	struct gm_backend *b;

	*out = NULL;
	if ((size_t)cfg->kind >= sizeof(kinds) / sizeof(kinds[0])) {
		gm_error_set("unknown kind of backend %d", (int)cfg->kind);
		return GM_EUSAGE;
	}
	k = &kinds[cfg->kind];
	if (!cfg->nurls || !cfg->urls) {
		gm_error_set("no server URL configured");
		return GM_EUSAGE;
	}
	if (k->one_url && cfg->nurls != 1) {
		gm_error_set("the %s takes one base URL, not %zu", k->proto->name, cfg->nurls);
		return GM_EUSAGE;
	}
	for (size_t i = 0; i < cfg->nurls; i++) {
		char *u = cfg->urls[i] ? strip_slash(cfg->urls[i]) : NULL;
		bool ok = u && is_http(u);
		free(u);
		if (!ok) {
			gm_error_set("invalid server URL '%s': not http:// or https://",
			             cfg->urls[i] ? cfg->urls[i] : "");
			return GM_EUSAGE;
		}
	}
	b = gm_xcalloc(1, sizeof(*b));
	b->kind = k;
	b->pool.nservers = cfg->nurls;
	b->pool.servers = gm_xcalloc(cfg->nurls, sizeof(*b->pool.servers));
	b->info = gm_xcalloc(cfg->nurls, sizeof(*b->info));
	for (size_t i = 0; i < cfg->nurls; i++) {
		struct gm_http_server *s = &b->pool.servers[i];
		s->url = strip_slash(cfg->urls[i]);
		s->proto = k->proto;
		s->slots = cfg->concurrency > 0 ? (size_t)cfg->concurrency : 4;
		b->info[i].url = s->url;
	}
	b->model = cfg->model && *cfg->model ? gm_xstrdup(cfg->model) : NULL;
	b->api_key = cfg->api_key && *cfg->api_key ? gm_xstrdup(cfg->api_key) : NULL;
	b->wsl_root = cfg->wsl_root ? gm_xstrdup(cfg->wsl_root) : NULL;
	b->probe_timeout_s = cfg->probe_timeout_s > 0 ? cfg->probe_timeout_s : PROBE_TIMEOUT_S;
	b->inspect = cfg->inspect;
	b->pool.model = b->model;
	b->pool.api_key = b->api_key;
	b->pool.stream = cfg->stream;
	b->pool.timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 600;
	b->pool.stall_s = cfg->stall_s > 0 ? cfg->stall_s : GM_HTTP_DEFAULT_STALL_S;
	b->pool.max_retries = cfg->max_retries < 0 ? 0
		: cfg->max_retries ? (unsigned)cfg->max_retries : GM_HTTP_DEFAULT_RETRIES;
	b->pool.max_body = cfg->max_body ? cfg->max_body : GM_HTTP_MAX_BODY;
	*out = b;
	return 0;
}

static void try_release(struct gm_backend_try *t)
{
	free(t->url);
	free(t->cause);
	memset(t, 0, sizeof(*t));
}

/* Forget what the last set-up learned about a server (its URL stays). */
static void info_reset(struct gm_backend_server *s, const char *url)
{
	try_release(&s->asked);
	for (size_t i = 0; i < s->nwsl; i++)
		try_release(&s->wsl_tries[i]);
	free((char *)s->wsl_host);
	free(s->models);
	free(s->v0_models);
	free(s->v1_models);
	memset(s, 0, sizeof(*s));
	s->url = url;
}

void gm_backend_free(struct gm_backend *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->pool.nservers; i++) {
		info_reset(&b->info[i], NULL);
		free(b->pool.servers[i].url);
	}
	free(b->info);
	free(b->pool.servers);
	free(b->model);
	if (b->api_key)
		explicit_bzero(b->api_key, strlen(b->api_key));
	free(b->api_key);
	free(b->wsl_root);
	free(b);
}

const char *gm_backend_model(const struct gm_backend *b)
{
	return b->model;
}

int64_t gm_backend_context_length(const struct gm_backend *b)
{
	return b->context_length;
}

const struct gm_backend_server *gm_backend_server(const struct gm_backend *b, size_t i)
{
	return i < b->pool.nservers ? &b->info[i] : NULL;
}

/* ---- set-up ------------------------------------------------------------ */

/* One line naming the server at `url`, the key scrubbed out of it. */
static char *describe(const struct gm_backend *b, const char *url, bool unreachable,
                      const char *cause)
{
	char *m = gm_http_describe(b->kind->proto, url, unreachable, cause);
	gm_http_scrub(m, b->api_key);
	return m;
}

/*
 * The message into the error slot, its cause (allocated) into *cause;
 * `why` may be the error slot itself.
 */
static void set_error(char **cause, const struct gm_backend *b, const char *url,
                      bool unreachable, const char *why)
{
	char *c = gm_xstrdup(why), *m;

	gm_http_scrub(c, b->api_key);
	m = describe(b, url, unreachable, c);
	gm_error_set("%s", m);
	free(m);
	*cause = c;
}

/* GET {base}{path} as the backend (its key, if any); 0 or the cause in the slot. */
static int get(struct gm_http_response *r, const struct gm_backend *b, const char *base,
               const char *path, size_t max)
{
	struct gm_http_target t = { base, b->model, b->api_key, false };
	struct gm_http_send req = { 0 };
	int rc;

	req.url = gm_xasprintf("%s%s", base, path);
	b->kind->proto->auth(&req, &t);
	rc = gm_http_fetch(r, &req, b->probe_timeout_s, max);
	gm_http_send_release(&req);
	return rc;
}

/* GET {base}{path}: the body of a 200, else NULL. */
static char *get_body(const struct gm_backend *b, const char *base, const char *path)
{
	struct gm_http_response r;
	char *body = NULL;

	if (get(&r, b, base, path, PROBE_MAX) == 0 && r.status == 200) {
		body = r.body;
		r.body = NULL;
	}
	gm_http_response_release(&r);
	return body;
}

/*
 * GET {url}/models, recorded in `t`: 0 and the body when a 200 came
 * (whatever it holds), else an error in the slot naming the server.
 */
static int ask_models(char **body, struct gm_backend_try *t, const struct gm_backend *b,
                      const char *url)
{
	struct gm_http_response r;
	int rc;

	*body = NULL;
	memset(t, 0, sizeof(*t));
	t->url = gm_xstrdup(url);
	t->listed = -1;
	if ((rc = get(&r, b, url, "/models", PROBE_MAX)) < 0) {
		t->unreachable = rc != GM_ETOOBIG;
		set_error(&t->cause, b, url, t->unreachable, gm_error_last());
		return rc;
	}
	t->status = r.status;
	if (r.status != 200) {
		char *why = b->kind->proto->error_cause(r.status, r.body, r.len);
		set_error(&t->cause, b, url, false, why);
		free(why);
		gm_http_response_release(&r);
		return GM_ERROR;
	}
	t->listed = gm_openai_count_models(r.body);
	*body = r.body;
	return 0;
}

/* WSL2: local server `i` did not answer; try the Windows host instead. */
static int ask_wsl(char **body, struct gm_backend *b, size_t i)
{
	struct gm_http_server *s = &b->pool.servers[i];
	struct gm_backend_server *info = &b->info[i];
	char hosts[2][64], *saved = gm_xstrdup(gm_error_last());
	const char *host;
	size_t hlen, n;

	if (!gm_http_url_is_local(s->url, &host, &hlen) || !gm_wsl_detect(b->wsl_root))
		goto fail;
	info->wsl = true;
	if (!(n = gm_wsl_hosts(hosts, 2, b->wsl_root)))
		goto fail;
	for (size_t k = 0; k < n; k++) {
		struct gm_backend_try *t = &info->wsl_tries[info->nwsl++];
		char *url = gm_xasprintf("%.*s%s%s", (int)(host - s->url), s->url,
		                         hosts[k], host + hlen);
		if (ask_models(body, t, b, url) == 0 && t->listed >= 0) {
			free(s->url);
			s->url = url;
			info->wsl_host = gm_xstrdup(hosts[k]);
			free(saved);
			return 0;
		}
		if (*body) {
			free(*body);
			*body = NULL;
			t->cause = gm_xstrdup("no model list");
		}
		free(url);
	}
	gm_error_set("%s (also tried the Windows host at %s%s%s)", saved, hosts[0],
	             n > 1 ? " and " : "", n > 1 ? hosts[1] : "");
	free(saved);
	return GM_ERROR;
fail:
	gm_error_set("%s", saved);
	free(saved);
	return GM_ERROR;
}

/* {server} of LM Studio's native API: the base URL without "/v1". */
static char *native_base(const char *url)
{
	size_t n = strlen(url);
	if (n >= 3 && !strcmp(url + n - 3, "/v1"))
		n -= 3;
	return gm_xstrndup(url, n);
}

static int prepare_local(struct gm_backend *b)
{
	char *first_error = NULL;
	size_t ok = 0;
	int rc = 0;

	for (size_t i = 0; i < b->pool.nservers; i++) {
		struct gm_http_server *s = &b->pool.servers[i];
		struct gm_backend_server *info = &b->info[i];
		char *models = NULL, *base, *v0, *v1 = NULL, *picked = NULL;

		info_reset(info, s->url);
		rc = ask_models(&models, &info->asked, b, s->url);
		if (rc < 0 && info->asked.unreachable)
			rc = ask_wsl(&models, b, i);
		info->url = s->url;
		if (rc < 0) {
			if (!first_error)
				first_error = gm_xstrdup(gm_error_last());
			s->down_until = gm_now_ms() + GM_HTTP_SERVER_DOWN_MS;
			continue;
		}
		base = native_base(s->url);
		v0 = get_body(b, base, "/api/v0/models");
		if (!b->model) {
			if ((rc = gm_openai_pick_model(&picked, models, v0)) < 0) {
				char *m = describe(b, s->url, false, gm_error_last());
				if (!first_error)
					first_error = m;
				else
					free(m);
				s->down_until = gm_now_ms() + GM_HTTP_SERVER_DOWN_MS;
			} else {
				b->model = picked;
				b->pool.model = b->model;
			}
		}
		if (b->model && !b->context_length) {
			b->context_length = gm_openai_context_length(b->model, v0, NULL);
			if (!b->context_length) {
				v1 = get_body(b, base, "/api/v1/models");
				b->context_length = gm_openai_context_length(b->model, NULL, v1);
			}
		}
		if (b->inspect) {
			if (!v1)
				v1 = get_body(b, base, "/api/v1/models");
			info->models = models;
			info->v0_models = v0;
			info->v1_models = v1;
			models = v0 = v1 = NULL;
		}
		if (rc == 0)
			ok++;
		free(models);
		free(base);
		free(v0);
		free(v1);
	}
	if (!ok) {
		gm_error_set("%s", first_error ? first_error : "no LM Studio server answered");
		rc = GM_ERROR;
	} else {
		rc = 0;
		b->prepared = true;
	}
	free(first_error);
	return rc;
}

static int prepare_claude(struct gm_backend *b)
{
	if (!b->api_key) {
		gm_error_set("%s: no key (set ANTHROPIC_API_KEY)", b->kind->proto->name);
		return GM_EUSAGE;
	}
	if (!b->model)
		b->model = gm_xstrdup(GM_CLAUDE_DEFAULT_MODEL);
	b->pool.model = b->model;
	b->prepared = true;
	return 0;
}

int gm_backend_prepare(struct gm_backend *b)
{
	return b->kind->prepare(b);
}

/* ---- probes ------------------------------------------------------------- */

/* Send `req` to server `i`: 0 with a 200's body, else an error (slot, `out`). */
static int probe_send(struct gm_http_response *r, struct gm_backend_probe *out,
                      struct gm_backend *b, size_t i, const struct gm_http_send *req)
{
	const char *url = b->pool.servers[i].url;
	int rc;

	if ((rc = gm_http_fetch(r, req, b->probe_timeout_s, PROBE_ANSWER_MAX)) < 0) {
		out->unreachable = rc != GM_ETOOBIG;
		set_error(&out->cause, b, url, out->unreachable, gm_error_last());
		return rc;
	}
	if (r->status != 200) {
		char *why = b->kind->proto->error_cause(r->status, r->body, r->len);
		set_error(&out->cause, b, url, false, why);
		free(why);
		gm_http_response_release(r);
		return GM_ERROR;
	}
	return 0;
}

static int probe_local(struct gm_backend_probe *out, struct gm_backend *b, size_t i)
{
	struct gm_chat_request q = { NULL, "Say OK.", NULL, NULL, 1, false, 0 };
	struct gm_http_target t = { b->pool.servers[i].url, NULL, b->api_key, false };
	struct gm_http_send req = { 0 };
	struct gm_http_response r = { 0 };
	int rc;

	if ((rc = b->kind->proto->build(&req, &t, &q)) == 0 &&
	    (rc = probe_send(&r, out, b, i, &req)) == 0) {
		out->model = gm_openai_answer_model(r.body, r.len);
		if (!out->model)
			out->model = gm_xstrdup("(unnamed)");
	}
	gm_http_response_release(&r);
	gm_http_send_release(&req);
	return rc;
}

static int probe_claude(struct gm_backend_probe *out, struct gm_backend *b, size_t i)
{
	struct gm_http_target t = { b->pool.servers[i].url, NULL, b->api_key, false };
	struct gm_http_send req = { 0 };
	struct gm_http_response r = { 0 };
	int rc;

	if (!b->api_key) {
		gm_error_set("%s: no key (set ANTHROPIC_API_KEY)", b->kind->proto->name);
		out->cause = gm_xstrdup("no key (set ANTHROPIC_API_KEY)");
		return GM_ENOTFOUND;
	}
	req.url = gm_xasprintf("%s/v1/models?limit=1", t.url);
	b->kind->proto->auth(&req, &t);
	rc = probe_send(&r, out, b, i, &req);
	gm_http_response_release(&r);
	gm_http_send_release(&req);
	return rc;
}

int gm_backend_probe(struct gm_backend_probe *out, struct gm_backend *b, size_t i)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (i >= b->pool.nservers) {
		gm_error_set("no server %zu", i);
		rc = GM_EUSAGE;
	} else {
		rc = b->kind->probe(out, b, i);
	}
	if (rc < 0 && !out->cause)
		out->cause = gm_xstrdup(gm_error_last());
	return rc;
}

void gm_backend_probe_release(struct gm_backend_probe *p)
{
	if (!p)
		return;
	free(p->model);
	free(p->cause);
	memset(p, 0, sizeof(*p));
}

/* ---- the engine: http.h's, with pricing on the way back ----------------- */

struct gm_engine {
	struct gm_http_multi *multi;
	gm_engine_done_fn done;
	void *ctx;
};

int gm_engine_new(struct gm_engine **out)
{
	struct gm_http_multi *m;
	int rc;

	*out = NULL;
	if ((rc = gm_http_multi_new(&m)) < 0)
		return rc;
	*out = gm_xcalloc(1, sizeof(**out));
	(*out)->multi = m;
	return 0;
}

void gm_engine_free(struct gm_engine *e)
{
	if (!e)
		return;
	gm_http_multi_free(e->multi);
	free(e);
}

int gm_engine_submit(struct gm_engine *e, struct gm_backend *b,
                     const struct gm_chat_request *req, void *tag)
{
	int rc;

	if (!b->prepared && (rc = gm_backend_prepare(b)) < 0)
		return rc;
	gm_http_multi_add(e->multi, &b->pool, req, tag);
	return 0;
}

static int on_done(void *ctx, struct gm_http_pool *pool, void *tag, struct gm_chat_result *res)
{
	struct gm_engine *e = ctx;
	const struct gm_backend *b =
		(const struct gm_backend *)((char *)pool - offsetof(struct gm_backend, pool));

	if (!res->error && b->kind->priced)
		res->cost_usd = gm_price_cost(res->model, res->input_tokens, res->output_tokens,
		                              res->cache_write_tokens, res->cache_read_tokens);
	return e->done ? e->done(e->ctx, tag, res) : 0;
}

int gm_engine_run(struct gm_engine *e, gm_engine_done_fn done, void *ctx)
{
	int rc;

	e->done = done;
	e->ctx = ctx;
	rc = gm_http_multi_run(e->multi, on_done, e);
	e->done = NULL;
	return rc;
}

void gm_engine_cancel(struct gm_engine *e)
{
	gm_http_multi_cancel(e->multi);
}

size_t gm_engine_inflight(const struct gm_engine *e, const struct gm_backend *b)
{
	(void)e;
	return gm_http_pool_inflight(&b->pool);
}

uint64_t gm_engine_streamed(const struct gm_engine *e, const struct gm_backend *b)
{
	(void)e;
	return b->pool.streamed;
}
