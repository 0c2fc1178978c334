/*
 * backend.c: the backends of backend.h.  A backend is a pool of servers
 * (http.h) plus what set-up learned about them.  The table of kinds below
 * says which ops instance talks to a backend, how it is set up and probed,
 * whether answers cost money; a local backend's servers each have their
 * own kind of OpenAI-compatible server (openai.h), detected or configured.
 * The engine of backend.h is the transfer engine of http.h, with pricing on
 * the way back and Claude's Message Batches on top.  This is the only
 * caller of http.c.
 */
#include "monitor/backend.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

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
#define BATCH_POLL_MS 2000
#define BATCH_POLL_CAP_MS 60000
#define BATCH_RESULTS_MAX (256u << 20) /* the API's own bound of a batch */
#define BATCH_ID_MAX (64u << 10)       /* a recorded batch's file */

struct kind;

/* What the configuration says of one local server (its URL entry). */
struct entry {
	bool kind_set;               /* kind= or monitor.local.kind */
	bool kind_from_entry;
	enum gm_openai_kind okind;
	size_t slots;                /* slots=; 0: not given */
	char *key_env;               /* key= or monitor.local.apiKey */
	bool key_from_entry;
	char *key;                   /* its value, from the environment */
	char *shown;                 /* the server's URL as shown (password redacted) */
};

struct gm_backend {
	const struct kind *kind;
	struct gm_http_pool pool;        /* servers, limits; model and key point below */
	struct gm_http_pool batch_pool;  /* claude batches: the same server, no streams */
	struct gm_backend_server *info;  /* per server, what set-up learned */
	struct entry *entries;           /* per server, what its URL entry said */
	char *model;
	char *api_key;
	char *wsl_root;
	long probe_timeout_s;
	size_t concurrency;              /* configured default slots */
	bool concurrency_fixed;
	bool inspect;
	bool prepared;
	int64_t context_length;
	/* claude batches */
	bool batch, batch_keep;
	char *batch_dir;
	uint64_t batch_poll_ms;
};

static int prepare_local(struct gm_backend *b);
static int prepare_claude(struct gm_backend *b);
static int probe_local(struct gm_backend_probe *out, struct gm_backend *b, size_t i);
static int probe_claude(struct gm_backend_probe *out, struct gm_backend *b, size_t i);

/* A kind of backend: a row here and an ops instance (http.h). */
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

static char *strip_slash(const char *url, size_t n)
{
	while (n && url[n - 1] == '/')
		n--;
	return gm_xstrndup(url, n);
}

static bool is_http(const char *url)
{
	return !strncmp(url, "http://", 7) || !strncmp(url, "https://", 8);
}

static void entry_release(struct entry *e)
{
	free(e->key_env);
	if (e->key)
		explicit_bzero(e->key, strlen(e->key));
	free(e->key);
	free(e->shown);
	memset(e, 0, sizeof(*e));
}

/*
 * A key as read from the environment into *out (allocated; NULL when
 * empty): one trailing newline dropped (`$(cat keyfile)` keeps none, but
 * `export K="$(cat f)"` edits and here-strings do), any other control
 * character refused, naming the variable and never the value: it would
 * end up in a request header.
 */
static int take_key(char **out, const char *value, const char *var)
{
	size_t n = value ? strlen(value) : 0;

	*out = NULL;
	if (n && value[n - 1] == '\n')
		n--;
	if (n && value[n - 1] == '\r')
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f) {
			gm_error_set("%s holds a control character: a key is one line of printable "
			             "characters", var ? var : "the API key");
			return GM_EUSAGE;
		}
	if (n)
		*out = gm_xstrndup(value, n);
	return 0;
}

/* An environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
static bool env_name(const char *s, size_t n)
{
	if (!n || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/*
 * "[kind=K] [slots=N] [key=NAME] URL": the settings into `e`, the URL
 * (trailing slashes removed) into *url.  GM_EUSAGE naming what is wrong.
 */
static int parse_entry(char **url, struct entry *e, const char *raw, bool local)
{
	char *spec = gm_http_url_redact(raw); /* for messages; a URL may hold a password */
	const char *p = raw;
	int rc = GM_EUSAGE;

	*url = NULL;
	for (;;) {
		const char *tok, *eq;
		size_t n;
		while (*p == ' ' || *p == '\t')
			p++;
		tok = p;
		n = strcspn(p, " \t");
		if (!n)
			break;
		p += n;
		eq = memchr(tok, '=', n);
		if (!local || !eq || (size_t)(eq - tok) > 5 || memchr(tok, ':', (size_t)(eq - tok))) {
			if (*url) {
				gm_error_set("invalid server URL '%s': more than one URL", spec);
				goto done;
			}
			*url = strip_slash(tok, n);
			continue;
		}
		if (eq - tok == 4 && !strncmp(tok, "kind", 4)) {
			size_t vn = n - 5;
			if (vn == 4 && !strncasecmp(eq + 1, "auto", 4))
				continue;
			if (gm_openai_kind_parse(&e->okind, eq + 1, vn) < 0)
				goto done;
			e->kind_set = e->kind_from_entry = true;
		} else if (eq - tok == 5 && !strncmp(tok, "slots", 5)) {
			char *end;
			long v = strtol(eq + 1, &end, 10);
			if (end != tok + n || v <= 0 || v > 4096) {
				gm_error_set("invalid slots= in '%s': not a whole number from 1 to 4096", spec);
				goto done;
			}
			e->slots = (size_t)v;
		} else if (eq - tok == 3 && !strncmp(tok, "key", 3)) {
			if (!env_name(eq + 1, n - 4)) {
				/* Never repeat what was written there: it may be a key. */
				gm_error_set("invalid key= in monitor.local.url: it names the environment "
				             "variable holding the key, it is not the key");
				goto done;
			}
			free(e->key_env);
			e->key_env = gm_xstrndup(eq + 1, n - 4);
			e->key_from_entry = true;
		} else {
			gm_error_set("invalid server URL '%s': unknown setting '%.*s' (kind=, slots=, key=)",
			             spec, (int)(eq - tok), tok);
			goto done;
		}
	}
	if (!*url || !is_http(*url)) {
		gm_error_set("invalid server URL '%s': not http:// or https://", spec);
	} else if (strpbrk(*url, "?#")) {
		/* Paths are appended to a base URL: a query would end up in the middle. */
		gm_error_set("invalid server URL '%s': a base URL takes no query or fragment ('%s')",
		             spec, strpbrk(spec, "?#"));
	} else {
		e->shown = gm_http_url_redact(*url);
		rc = 0;
	}
done:
	if (rc < 0) {
		free(*url);
		*url = NULL;
	}
	free(spec);
	return rc;
}

char *gm_backend_redact(const char *text)
{
	return gm_http_url_redact(text);
}

int gm_backend_new(struct gm_backend **out, const struct gm_backend_config *cfg)
{
	const struct kind *k;
	struct gm_backend *b;
	enum gm_openai_kind dflt = GM_OPENAI_LMSTUDIO;
	bool dflt_set = false;
	int rc;

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
	if (cfg->server_kind && *cfg->server_kind && strcasecmp(cfg->server_kind, "auto")) {
		if (gm_openai_kind_parse(&dflt, cfg->server_kind, strlen(cfg->server_kind)) < 0)
			return GM_EUSAGE;
		dflt_set = true;
	}
	if (cfg->key_env && *cfg->key_env && !env_name(cfg->key_env, strlen(cfg->key_env))) {
		gm_error_set("invalid monitor.local.apiKey: it holds the name of an environment variable "
		             "with the key, not the key");
		return GM_EUSAGE;
	}
	b = gm_xcalloc(1, sizeof(*b));
	b->kind = k;
	b->pool.nservers = cfg->nurls;
	b->pool.servers = gm_xcalloc(cfg->nurls, sizeof(*b->pool.servers));
	b->info = gm_xcalloc(cfg->nurls, sizeof(*b->info));
	b->entries = gm_xcalloc(cfg->nurls, sizeof(*b->entries));
	b->concurrency = cfg->concurrency > 0 ? (size_t)cfg->concurrency : 4;
	b->concurrency_fixed = cfg->concurrency_fixed && cfg->concurrency > 0;
	for (size_t i = 0; i < cfg->nurls; i++) {
		struct gm_http_server *s = &b->pool.servers[i];
		struct entry *e = &b->entries[i];
		char *url = NULL;
		if (!cfg->urls[i]) {
			gm_error_set("invalid server URL '': not http:// or https://");
			rc = GM_EUSAGE;
			goto fail;
		}
		if ((rc = parse_entry(&url, e, cfg->urls[i], cfg->kind == GM_BACKEND_LOCAL)) < 0)
			goto fail;
		if (!e->kind_set && dflt_set) {
			e->kind_set = true;
			e->okind = dflt;
		}
		if (!e->key_env && cfg->key_env && *cfg->key_env)
			e->key_env = gm_xstrdup(cfg->key_env);
		s->url = url;
		s->shown = e->shown;
		if (e->key_env && (rc = take_key(&e->key, getenv(e->key_env), e->key_env)) < 0)
			goto fail;
		s->proto = cfg->kind == GM_BACKEND_LOCAL ? gm_openai_kind_proto(e->okind) : k->proto;
		s->slots = e->slots ? e->slots : b->concurrency;
		s->api_key = e->key;
		b->info[i].url = e->shown;
	}
	b->model = cfg->model && *cfg->model ? gm_xstrdup(cfg->model) : NULL;
	if ((rc = take_key(&b->api_key, cfg->api_key, cfg->api_key_var)) < 0)
		goto fail;
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
	b->pool.backoff_ms = cfg->backoff_ms > 0 ? (uint64_t)cfg->backoff_ms : 0;
	b->pool.owner = b;
	if (cfg->kind == GM_BACKEND_CLAUDE && cfg->batch) {
		b->batch = true;
		b->batch_keep = cfg->batch_keep;
		b->batch_dir = cfg->batch_dir ? gm_xstrdup(cfg->batch_dir) : NULL;
		b->batch_poll_ms = cfg->batch_poll_ms > 0 ? (uint64_t)cfg->batch_poll_ms : BATCH_POLL_MS;
	}
	/* Batch calls: the same server, one answer each, never streamed. */
	b->batch_pool = b->pool;
	b->batch_pool.stream = false;
	b->batch_pool.max_body = BATCH_RESULTS_MAX;
	*out = b;
	return 0;
fail:
	for (size_t i = 0; i < cfg->nurls; i++) {
		entry_release(&b->entries[i]);
		free(b->pool.servers[i].url);
	}
	free(b->entries);
	free(b->info);
	free(b->pool.servers);
	free(b);
	return rc;
}

#define CLAUDE_TIMEOUT_S 600

int gm_backend_open_local(struct gm_backend **out, struct gm_config *cfg, int jobs)
{
	struct gm_backend_config lc = { 0 };
	const char **urls = NULL, *one[1] = { GM_DEFAULT_LOCAL_URL };
	int64_t conc, timeout;
	int rc;

	*out = NULL;
	if ((rc = gm_config_positive(&conc, cfg, "monitor.local.concurrency")) < 0 ||
	    (rc = gm_config_positive(&timeout, cfg, "monitor.local.timeout")) < 0)
		return rc;
	lc.nurls = gm_config_multi(&urls, cfg, "monitor.local.url");
	lc.urls = lc.nurls ? urls : one;
	lc.nurls = lc.nurls ? lc.nurls : 1;
	lc.kind = GM_BACKEND_LOCAL;
	lc.model = gm_config_string(cfg, "monitor.local.model", NULL);
	lc.server_kind = gm_config_string(cfg, "monitor.local.kind", NULL);
	lc.key_env = gm_config_string(cfg, "monitor.local.apiKey", NULL);
	lc.concurrency = jobs > 0 ? jobs : (int)conc;
	/* A concurrency that was asked for wins over what the servers say. */
	lc.concurrency_fixed = jobs > 0 ||
		strcmp(gm_config_origin(cfg, "monitor.local.concurrency"), "default") != 0;
	lc.timeout_s = (long)timeout;
	lc.stream = true;
	rc = gm_backend_new(out, &lc);
	free(urls);
	return rc;
}

int gm_backend_open_claude(struct gm_backend **out, struct gm_backend **batch,
                           struct gm_config *cfg, const char *batch_dir)
{
	struct gm_backend_config cc = { 0 };
	const char *key = getenv("ANTHROPIC_API_KEY"); /* secrets: environment only */
	const char *url = gm_config_string(cfg, "monitor.claude.url", GM_DEFAULT_CLAUDE_URL);
	int64_t conc;
	int rc;

	*out = *batch = NULL;
	if ((rc = gm_config_positive(&conc, cfg, "monitor.claude.concurrency")) < 0 || !key || !*key)
		return rc;
	cc.kind = GM_BACKEND_CLAUDE;
	cc.urls = &url;
	cc.nurls = 1;
	cc.model = gm_config_string(cfg, "monitor.claude.model", NULL);
	cc.api_key = key;
	cc.api_key_var = "ANTHROPIC_API_KEY";
	cc.concurrency = (int)conc;
	cc.timeout_s = CLAUDE_TIMEOUT_S;
	cc.stream = true;
	if ((rc = gm_backend_new(out, &cc)) < 0 || (rc = gm_backend_prepare(*out)) < 0)
		return rc;
	cc.batch = true;
	cc.stream = false;
	cc.batch_dir = batch_dir;
	if ((rc = gm_backend_new(batch, &cc)) < 0 || (rc = gm_backend_prepare(*batch)) < 0)
		return rc;
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
	free(s->kind_from);
	free(s->model);
	free(s->model_from);
	free(s->context_from);
	free(s->slots_from);
	memset(s, 0, sizeof(*s));
	s->url = url;
}

void gm_backend_free(struct gm_backend *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->pool.nservers; i++) {
		info_reset(&b->info[i], NULL);
		entry_release(&b->entries[i]);
		free(b->pool.servers[i].url);
	}
	free(b->entries);
	free(b->info);
	free(b->pool.servers);
	free(b->model);
	if (b->api_key)
		explicit_bzero(b->api_key, strlen(b->api_key));
	free(b->api_key);
	free(b->wsl_root);
	free(b->batch_dir);
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

size_t gm_backend_nservers(const struct gm_backend *b)
{
	return b->pool.nservers;
}

double gm_backend_cost(const struct gm_backend *b, int64_t input, int64_t output,
                       int64_t cache_write, int64_t cache_read)
{
	double c;

	if (!b->kind->priced)
		return 0.0;
	c = gm_price_cost(b->model, input, output, cache_write, cache_read);
	return b->batch ? c * GM_PRICE_BATCH_FACTOR : c;
}

double gm_backend_price_factor(const struct gm_backend *b)
{
	if (!b->kind->priced)
		return 0.0;
	return b->batch ? GM_PRICE_BATCH_FACTOR : 1.0;
}

const struct gm_backend_server *gm_backend_server(const struct gm_backend *b, size_t i)
{
	return i < b->pool.nservers ? &b->info[i] : NULL;
}

/* ---- set-up ------------------------------------------------------------ */

static void scrub_keys(char *m, const struct gm_backend *b)
{
	gm_http_scrub(m, b->api_key);
	for (size_t i = 0; i < b->pool.nservers; i++)
		gm_http_scrub(m, b->entries[i].key);
}

/* One line naming the server at `url` (of protocol `p`), the keys scrubbed out of it. */
static char *describe_as(const struct gm_backend *b, const struct gm_http_proto *p,
                         const char *url, bool unreachable, const char *cause)
{
	char *m = gm_http_describe(p, url, unreachable, cause);
	scrub_keys(m, b);
	return m;
}

/*
 * The message into the error slot, its cause (allocated) into *cause;
 * `why` may be the error slot itself.
 */
static void set_error(char **cause, const struct gm_backend *b, const struct gm_http_proto *p,
                      const char *url, bool unreachable, const char *why)
{
	char *c = gm_xstrdup(why), *m;

	scrub_keys(c, b);
	m = describe_as(b, p, url, unreachable, c);
	gm_error_set("%s", m);
	free(m);
	*cause = c;
}

/* The key to send to server `i` (its own, else the backend's). */
static const char *key_of(const struct gm_backend *b, size_t i)
{
	return i < b->pool.nservers && b->entries[i].key ? b->entries[i].key : b->api_key;
}

/* GET {base}{path} as server `i` (its key, if any); 0 or the cause in the slot. */
static int get(struct gm_http_response *r, const struct gm_backend *b, size_t i,
               const char *base, const char *path, size_t max)
{
	struct gm_http_target t = { base, b->model, key_of(b, i), false, 0, 0 };
	struct gm_http_send req = { 0 };
	int rc;

	req.url = gm_xasprintf("%s%s", base, path);
	b->pool.servers[i].proto->auth(&req, &t);
	rc = gm_http_fetch(r, &req, b->probe_timeout_s, max);
	gm_http_send_release(&req);
	return rc;
}

/* GET {base}{path}: the body of a 200, else NULL. */
static char *get_body(const struct gm_backend *b, size_t i, const char *base, const char *path)
{
	struct gm_http_response r;
	char *body = NULL;

	if (get(&r, b, i, base, path, PROBE_MAX) == 0 && r.status == 200) {
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
                      size_t i, const char *url, uint64_t *ms)
{
	const struct gm_http_proto *p = b->pool.servers[i].proto;
	struct gm_http_response r;
	uint64_t t0 = gm_now_ms();
	int rc;

	*body = NULL;
	memset(t, 0, sizeof(*t));
	t->url = gm_http_url_redact(url);
	t->listed = -1;
	rc = get(&r, b, i, url, "/models", PROBE_MAX);
	if (ms)
		*ms = gm_now_ms() - t0;
	if (rc < 0) {
		t->unreachable = rc != GM_ETOOBIG;
		set_error(&t->cause, b, p, url, t->unreachable, gm_error_last());
		return rc;
	}
	t->status = r.status;
	if (r.status != 200) {
		char *why = p->error_cause(r.status, r.body, r.len);
		set_error(&t->cause, b, p, url, false, why);
		free(why);
		gm_http_response_release(&r);
		return GM_ERROR;
	}
	t->listed = gm_openai_count_models(r.body);
	*body = r.body;
	return 0;
}

/* WSL2: local server `i` did not answer; try the Windows host instead. */
static int ask_wsl(char **body, struct gm_backend *b, size_t i, uint64_t *ms)
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
		if (ask_models(body, t, b, i, url, ms) == 0 && t->listed >= 0) {
			free(s->url);
			s->url = url;
			free(b->entries[i].shown);
			b->entries[i].shown = gm_http_url_redact(url);
			s->shown = b->entries[i].shown;
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

/* What a server of each kind tells about itself, besides its /models list. */
struct facts {
	char *v0, *v1;   /* LM Studio /api/v0/models, /api/v1/models */
	char *props;     /* llama.cpp /props */
	char *ps;        /* Ollama /api/ps */
};

static void facts_release(struct facts *f)
{
	free(f->v0);
	free(f->v1);
	free(f->props);
	free(f->ps);
}

/*
 * The kind of server `i` (answered `models` at its base URL): configured,
 * or detected from what it answers, asking as few questions as the answer
 * allows (the bodies asked for are kept in `f`).
 */
static enum gm_openai_kind detect_kind(struct gm_backend *b, size_t i, const char *models,
                                       const char *root, struct facts *f)
{
	struct gm_backend_server *info = &b->info[i];
	const struct entry *e = &b->entries[i];
	int k;

	if (e->kind_set) {
		info->kind_from = gm_xstrdup(e->kind_from_entry ? "kind= in monitor.local.url"
		                                                : "monitor.local.kind");
		return e->okind;
	}
	if ((k = gm_openai_detect_kind(models)) >= 0) {
		info->kind_from = gm_xstrdup(k == GM_OPENAI_VLLM
		                             ? "detected: GET /models lists models owned by vllm"
		                             : "detected: GET /models lists models owned by llamacpp");
		return (enum gm_openai_kind)k;
	}
	if ((f->v0 = get_body(b, i, root, "/api/v0/models")) && gm_openai_count_models(f->v0) >= 0) {
		info->kind_from = gm_xstrdup("detected: GET /api/v0/models answered (LM Studio's native API)");
		return GM_OPENAI_LMSTUDIO;
	}
	free(f->v0);
	f->v0 = NULL;
	if ((f->props = get_body(b, i, root, "/props")) &&
	    gm_openai_has_field(f->props, "default_generation_settings")) {
		info->kind_from = gm_xstrdup("detected: GET /props answered (llama-server)");
		return GM_OPENAI_LLAMACPP;
	}
	free(f->props);
	f->props = NULL;
	{
		char *v = get_body(b, i, root, "/api/version");
		bool ollama = v && gm_openai_has_field(v, "version");
		free(v);
		if (ollama) {
			info->kind_from = gm_xstrdup("detected: GET /api/version answered (Ollama)");
			return GM_OPENAI_OLLAMA;
		}
	}
	info->kind_from = gm_xstrdup("default: no other kind recognised (LM Studio's /api/v0, "
	                             "llama.cpp's /props, vLLM's /models, Ollama's /api/version)");
	return GM_OPENAI_LMSTUDIO;
}

/* The model of server `i` when none is configured: 0, or an error in the slot. */
static int pick_model(struct gm_backend *b, size_t i, enum gm_openai_kind k, const char *models,
                      const struct facts *f)
{
	struct gm_backend_server *info = &b->info[i];
	char *picked = NULL, *loaded = NULL;
	int rc;

	if (k == GM_OPENAI_OLLAMA && gm_openai_ollama_ps(f->ps, NULL, &loaded) >= 0 && loaded) {
		info->model = loaded;
		info->model_from = gm_xstrdup("first loaded model in GET /api/ps");
		return 0;
	}
	if ((rc = gm_openai_pick_model(&picked, models, k == GM_OPENAI_LMSTUDIO ? f->v0 : NULL)) < 0) {
		if (rc == GM_ENOTFOUND && k == GM_OPENAI_OLLAMA)
			gm_error_set("no models pulled (pull one with 'ollama pull <model>')");
		else if (rc == GM_ENOTFOUND && k != GM_OPENAI_LMSTUDIO)
			gm_error_set("GET /models lists no chat model");
		return rc;
	}
	info->model = picked;
	info->model_from = gm_xstrdup(k == GM_OPENAI_LMSTUDIO
	                              ? "first LLM in GET /models (LM Studio lists loaded ones first)"
	                              : "first model in GET /models");
	return 0;
}

/* Context length and slots of server `i` of kind `k` serving `model`, with their sources. */
static void read_limits(struct gm_backend *b, size_t i, enum gm_openai_kind k, const char *model,
                        const char *models, const char *root, struct facts *f)
{
	struct gm_backend_server *info = &b->info[i];
	struct gm_http_server *s = &b->pool.servers[i];
	int64_t ctx = 0, slots = 0;
	const char *ctx_from = NULL, *slots_from = NULL;

	switch (k) {
	case GM_OPENAI_LMSTUDIO:
		if (!f->v0)
			f->v0 = get_body(b, i, root, "/api/v0/models");
		if ((ctx = gm_openai_context_length(model, f->v0, NULL)))
			ctx_from = "GET /api/v0/models (loaded_context_length, else max_context_length)";
		f->v1 = get_body(b, i, root, "/api/v1/models");
		if (!ctx && (ctx = gm_openai_context_length(model, NULL, f->v1)))
			ctx_from = "GET /api/v1/models loaded_instances[].config.context_length";
		if ((slots = gm_openai_lmstudio_parallel(f->v1, model)))
			slots_from = "GET /api/v1/models loaded_instances[].config.parallel";
		break;
	case GM_OPENAI_LLAMACPP:
		if (!f->props)
			f->props = get_body(b, i, root, "/props");
		gm_openai_llamacpp_props(f->props, &ctx, &slots);
		if (ctx)
			ctx_from = "GET /props default_generation_settings.n_ctx (the per-slot context)";
		if (slots)
			slots_from = "GET /props total_slots";
		if (!ctx && (ctx = gm_openai_list_context(models, model)))
			ctx_from = "GET /models meta.n_ctx";
		break;
	case GM_OPENAI_VLLM:
		if ((ctx = gm_openai_list_context(models, model)))
			ctx_from = "GET /models max_model_len";
		break;
	case GM_OPENAI_OLLAMA:
		if ((ctx = gm_openai_ollama_ps(f->ps, model, NULL)))
			ctx_from = "GET /api/ps context_length (the loaded num_ctx, sent back as "
			           "options.num_ctx)";
		break;
	}
	info->context = ctx;
	info->context_from = gm_xstrdup(ctx_from ? ctx_from
	                                : k == GM_OPENAI_OLLAMA
	                                ? "unknown: the model is not loaded (GET /api/ps); "
	                                  "requests are sent with truncate off"
	                                : "unknown: the server does not say");
	if (b->entries[i].slots) {
		s->slots = b->entries[i].slots;
		info->slots_from = gm_xstrdup("slots= in monitor.local.url");
	} else if (b->concurrency_fixed) {
		s->slots = b->concurrency;
		info->slots_from = gm_xstrdup(slots > 0 ? "-j / monitor.local.concurrency (set, so it "
		                                          "wins over what the server says)"
		                                        : "-j / monitor.local.concurrency");
	} else if (slots > 0) {
		s->slots = (size_t)slots;
		info->slots_from = gm_xstrdup(slots_from);
	} else {
		s->slots = b->concurrency;
		info->slots_from = gm_xstrdup("default of monitor.local.concurrency (the server does "
		                              "not say)");
	}
	info->slots = s->slots;
	s->context = ctx;
}

static int prepare_local(struct gm_backend *b)
{
	char *first_error = NULL;
	size_t ok = 0;
	int rc = 0;

	b->context_length = 0;
	for (size_t i = 0; i < b->pool.nservers; i++) {
		struct gm_http_server *s = &b->pool.servers[i];
		struct gm_backend_server *info = &b->info[i];
		struct entry *e = &b->entries[i];
		struct facts f = { 0 };
		char *models = NULL, *root;
		enum gm_openai_kind k;
		const char *model;

		info_reset(info, s->shown);
		info->kind = s->proto->name;
		info->kind_slug = gm_openai_kind_slug(e->okind);
		info->key_env = e->key_env;
		info->key_missing = e->key_env && !e->key;
		rc = ask_models(&models, &info->asked, b, i, s->url, &info->latency_ms);
		if (rc < 0 && info->asked.unreachable)
			rc = ask_wsl(&models, b, i, &info->latency_ms);
		info->url = s->shown;
		if (rc < 0) {
			if (!first_error)
				first_error = gm_xstrdup(gm_error_last());
			gm_http_server_take_out(s, GM_HTTP_SERVER_DOWN_MS, gm_error_last(), gm_now_ms());
			continue;
		}
		root = gm_openai_native_base(s->url);
		k = detect_kind(b, i, models, root, &f);
		s->proto = gm_openai_kind_proto(k);
		info->kind = s->proto->name;
		info->kind_slug = gm_openai_kind_slug(k);
		if (k == GM_OPENAI_OLLAMA)
			f.ps = get_body(b, i, root, "/api/ps");
		if (k == GM_OPENAI_LMSTUDIO && !f.v0)
			f.v0 = get_body(b, i, root, "/api/v0/models");
		if (b->model) {
			info->model = gm_xstrdup(b->model);
			info->model_from = gm_xstrdup("monitor.local.model");
			rc = 0;
		} else if ((rc = pick_model(b, i, k, models, &f)) < 0) {
			char *m = describe_as(b, s->proto, s->url, false, gm_error_last());
			if (!first_error)
				first_error = m;
			else
				free(m);
			gm_http_server_take_out(s, GM_HTTP_SERVER_DOWN_MS, gm_error_last(), gm_now_ms());
		}
		model = info->model;
		if (model)
			read_limits(b, i, k, model, models, root, &f);
		if (!b->model && rc == 0)
			s->model = info->model; /* each server its own pick */
		if (info->context > b->context_length)
			b->context_length = info->context;
		if (b->inspect) {
			if (k == GM_OPENAI_LMSTUDIO && !f.v1)
				f.v1 = get_body(b, i, root, "/api/v1/models");
			info->models = models;
			info->v0_models = f.v0;
			info->v1_models = f.v1;
			models = f.v0 = f.v1 = NULL;
		}
		if (rc == 0)
			ok++;
		free(models);
		free(root);
		facts_release(&f);
	}
	if (!ok) {
		gm_error_set("%s", first_error ? first_error : "no LM Studio server answered");
		rc = GM_ERROR;
	} else {
		/* The backend's model: configured, else the first server's pick. */
		for (size_t i = 0; !b->model && i < b->pool.nservers; i++)
			if (b->pool.servers[i].model)
				b->model = gm_xstrdup(b->pool.servers[i].model);
		b->pool.model = b->model;
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
	b->batch_pool.model = b->model;
	b->prepared = true;
	return 0;
}

int gm_backend_prepare(struct gm_backend *b)
{
	return b->kind->prepare(b);
}

void gm_backend_interrupt(int on)
{
	gm_http_fetch_interrupt(on);
}

/* ---- figures --------------------------------------------------------------- */

void gm_backend_server_stats(struct gm_backend_server_stats *out, const struct gm_backend *b,
                             size_t i)
{
	const struct gm_http_server *s;
	uint64_t now = gm_now_ms();

	memset(out, 0, sizeof(*out));
	if (i >= b->pool.nservers)
		return;
	s = &b->pool.servers[i];
	out->url = s->shown;
	out->kind = s->proto->name;
	out->model = s->stats.model[0] ? s->stats.model : s->model ? s->model : b->model;
	out->slots = s->slots;
	out->context = s->context;
	out->inflight = s->inflight;
	out->up = !s->down_since && s->down_until <= now;
	out->answers = s->stats.answers;
	out->failures = s->stats.failures;
	out->requeued = s->stats.requeued;
	out->outages = s->stats.outages;
	out->down_ms = gm_http_server_down_ms(s, now);
	out->avg_ms = s->stats.answers ? s->stats.busy_ms / s->stats.answers : 0;
	out->cause = s->stats.cause;
}

char *gm_backend_model_mismatch(const struct gm_backend *b)
{
	struct gm_buf out = GM_BUF_INIT;
	const char *models[64];
	size_t nmodels = 0;

	for (size_t i = 0; i < b->pool.nservers && nmodels < 64; i++) {
		struct gm_backend_server_stats st;
		bool seen = false;
		gm_backend_server_stats(&st, b, i);
		if (!st.model || (!st.answers && !b->info[i].model))
			continue;
		for (size_t k = 0; k < nmodels; k++)
			seen |= !strcmp(models[k], st.model);
		if (!seen)
			models[nmodels++] = st.model;
	}
	if (nmodels < 2)
		return NULL;
	gm_buf_puts(&out, "servers answer with different models:");
	for (size_t k = 0; k < nmodels; k++) {
		size_t n = 0;
		gm_buf_printf(&out, "%s %s (", k ? ";" : "", models[k]);
		for (size_t i = 0; i < b->pool.nservers; i++) {
			struct gm_backend_server_stats st;
			gm_backend_server_stats(&st, b, i);
			if (st.model && !strcmp(st.model, models[k]) &&
			    (st.answers || b->info[i].model))
				gm_buf_printf(&out, "%s%s", n++ ? ", " : "", st.url);
		}
		gm_buf_puts(&out, ")");
	}
	return gm_buf_detach(&out, NULL);
}

/* ---- probes ------------------------------------------------------------- */

/* Send `req` to server `i`: 0 with a 200's body, else an error (slot, `out`). */
static int probe_send(struct gm_http_response *r, struct gm_backend_probe *out,
                      struct gm_backend *b, size_t i, const struct gm_http_send *req)
{
	const struct gm_http_server *s = &b->pool.servers[i];
	int rc;

	if ((rc = gm_http_fetch(r, req, b->probe_timeout_s, PROBE_ANSWER_MAX)) < 0) {
		out->unreachable = rc != GM_ETOOBIG;
		set_error(&out->cause, b, s->proto, s->url, out->unreachable, gm_error_last());
		return rc;
	}
	if (r->status != 200) {
		char *why = s->proto->error_cause(r->status, r->body, r->len);
		set_error(&out->cause, b, s->proto, s->url, false, why);
		free(why);
		gm_http_response_release(r);
		return GM_ERROR;
	}
	return 0;
}

static int probe_local(struct gm_backend_probe *out, struct gm_backend *b, size_t i)
{
	const struct gm_http_server *s = &b->pool.servers[i];
	struct gm_chat_request q = { NULL, "Say OK.", NULL, NULL, 1, false, 0, 0, NULL };
	/* LM Studio answers with what it has when asked for no model; the others need one. */
	struct gm_http_target t = { s->url, s->proto == &gm_openai_proto ? NULL : s->model,
	                            key_of(b, i), false, 0, 0 };
	struct gm_http_send req = { 0 };
	struct gm_http_response r = { 0 };
	int rc;

	if ((rc = s->proto->build(&req, &t, &q)) == 0 &&
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
	struct gm_http_target t = { b->pool.servers[i].url, NULL, b->api_key, false, 0, 0 };
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

/* ---- the engine: http.h's, with pricing and batches ----------------------- */

/* One request of a Message Batch: a copy, and who asked. */
struct batch_req {
	struct gm_chat_request req;  /* strings owned */
	char *id;                    /* custom_id */
	void *tag;
	bool delivered;
};

enum batch_state { B_COLLECTING, B_CREATING, B_POLLING, B_RESULTS, B_DONE };

/* A Message Batch of one backend in one engine (all the engine's). */
struct batch {
	struct batch *next;
	struct gm_engine *e;
	struct gm_backend *b;
	enum batch_state state;
	struct batch_req *reqs;
	size_t n, cap;
	char *id;            /* msgbatch_…, once created (or resumed) */
	char *results_url;
	char *record;        /* its file under batch_dir, or NULL */
	uint64_t poll_ms;    /* the next poll's wait */
	bool resumed;
	bool canceled;       /* cancelled by us (interrupt) */
};

struct gm_engine {
	struct gm_http_multi *multi;
	gm_engine_done_fn done;
	void *ctx;
	struct batch *batches;
	size_t seq;          /* for ids of requests that gave none */
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

static void batch_free(struct batch *bt)
{
	for (size_t i = 0; i < bt->n; i++) {
		struct batch_req *r = &bt->reqs[i];
		free((char *)r->req.system);
		free((char *)r->req.user);
		free((char *)r->req.json_schema);
		free((char *)r->req.schema_name);
		free(r->id);
	}
	free(bt->reqs);
	free(bt->id);
	free(bt->results_url);
	free(bt->record);
	free(bt);
}

void gm_engine_free(struct gm_engine *e)
{
	if (!e)
		return;
	gm_http_multi_free(e->multi);
	while (e->batches) {
		struct batch *bt = e->batches;
		e->batches = bt->next;
		batch_free(bt);
	}
	free(e);
}

static char *dup_or_null(const char *s)
{
	return s ? gm_xstrdup(s) : NULL;
}

static int batch_build(struct gm_http_send *out, void *ctx, const struct gm_http_server *s);

/* Queue the next call of batch `bt` (its state says which) after `delay_ms`. */
static void batch_queue(struct batch *bt, uint64_t delay_ms)
{
	gm_http_multi_fetch(bt->e->multi, &bt->b->batch_pool, batch_build, bt, delay_ms,
	                    bt->state == B_RESULTS ? BATCH_RESULTS_MAX : PROBE_MAX, bt);
}

static int submit_batch(struct gm_engine *e, struct gm_backend *b,
                        const struct gm_chat_request *req, void *tag)
{
	struct batch *bt = NULL;
	struct batch_req *r;

	for (struct batch *x = e->batches; x; x = x->next)
		if (x->b == b && x->state == B_COLLECTING)
			bt = x;
	if (!bt) {
		bt = gm_xcalloc(1, sizeof(*bt));
		bt->e = e;
		bt->b = b;
		bt->state = B_COLLECTING;
		bt->poll_ms = b->batch_poll_ms;
		bt->next = e->batches;
		e->batches = bt;
		/* Built when it starts: it takes whatever was submitted until then. */
		batch_queue(bt, 0);
	}
	if (req->id && !gm_anthropic_valid_id(req->id)) {
		gm_error_set("invalid batch request id '%s' (1 to 64 of A-Z, a-z, 0-9, _ and -)",
		             req->id);
		return GM_EINVALID;
	}
	GM_GROW(bt->reqs, bt->cap, bt->n + 1);
	r = &bt->reqs[bt->n++];
	memset(r, 0, sizeof(*r));
	r->req = *req;
	r->req.system = dup_or_null(req->system);
	r->req.user = dup_or_null(req->user);
	r->req.json_schema = dup_or_null(req->json_schema);
	r->req.schema_name = dup_or_null(req->schema_name);
	r->req.id = NULL;
	r->id = req->id ? gm_xstrdup(req->id) : gm_xasprintf("r%zu", ++e->seq);
	r->tag = tag;
	return 0;
}

int gm_engine_submit(struct gm_engine *e, struct gm_backend *b,
                     const struct gm_chat_request *req, void *tag)
{
	int rc;

	if (!b->prepared && (rc = gm_backend_prepare(b)) < 0)
		return rc;
	if (b->batch)
		return submit_batch(e, b, req, tag);
	gm_http_multi_add(e->multi, &b->pool, req, tag);
	return 0;
}

/* ---- Message Batches: records for a resume ---- */

static char *record_path(const struct gm_backend *b, const char *id)
{
	return gm_xasprintf("%s/%s.json", b->batch_dir, id);
}

bool gm_backend_batch_recorded(const struct gm_backend *b, const char *id)
{
	char *path;
	bool there;

	if (!b || !b->batch_dir || !id)
		return false;
	path = record_path(b, id);
	there = access(path, F_OK) == 0;
	free(path);
	return there;
}

static void record_write(struct batch *bt)
{
	cJSON *root, *ids;
	char *text;

	if (!bt->b->batch_dir || !bt->id)
		return;
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "id", bt->id);
	cJSON_AddStringToObject(root, "model", bt->b->model ? bt->b->model : "");
	cJSON_AddStringToObject(root, "url", bt->b->pool.servers[0].shown);
	ids = cJSON_AddArrayToObject(root, "ids");
	for (size_t i = 0; i < bt->n; i++)
		cJSON_AddItemToArray(ids, cJSON_CreateString(bt->reqs[i].id));
	text = cJSON_PrintUnformatted(root);
	free(bt->record);
	bt->record = record_path(bt->b, bt->id);
	if (!text || gm_mkdirs(bt->b->batch_dir) < 0 ||
	    gm_write_file_atomic(bt->record, text, strlen(text)) < 0) {
		/* Only a resume is lost; the run goes on. */
		gm_error_clear();
		free(bt->record);
		bt->record = NULL;
	}
	cJSON_free(text);
	cJSON_Delete(root);
}

static void record_remove(struct batch *bt)
{
	if (bt->record)
		unlink(bt->record);
	free(bt->record);
	bt->record = NULL;
}

/* A recorded batch of this backend's model and URL holding every request of `bt`. */
static void record_find(struct batch *bt)
{
	DIR *d = bt->b->batch_dir ? opendir(bt->b->batch_dir) : NULL;
	struct dirent *de;

	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name), found = 0;
		char *path, *text = NULL;
		cJSON *root;
		const cJSON *id, *model, *url, *ids, *it;
		if (n < 6 || strcmp(de->d_name + n - 5, ".json"))
			continue;
		path = gm_xasprintf("%s/%s", bt->b->batch_dir, de->d_name);
		if (gm_read_file(&text, NULL, path, BATCH_ID_MAX) < 0) {
			gm_error_clear();
			free(path);
			continue;
		}
		root = cJSON_Parse(text);
		free(text);
		id = cJSON_GetObjectItemCaseSensitive(root, "id");
		model = cJSON_GetObjectItemCaseSensitive(root, "model");
		url = cJSON_GetObjectItemCaseSensitive(root, "url");
		ids = cJSON_GetObjectItemCaseSensitive(root, "ids");
		if (cJSON_IsString(id) && cJSON_IsString(model) && cJSON_IsString(url) &&
		    bt->b->model && !strcmp(model->valuestring, bt->b->model) &&
		    !strcmp(url->valuestring, bt->b->pool.servers[0].shown)) {
			for (size_t i = 0; i < bt->n; i++) {
				bool in = false;
				cJSON_ArrayForEach(it, ids)
					in |= cJSON_IsString(it) && !strcmp(it->valuestring, bt->reqs[i].id);
				found += in;
			}
			if (found == bt->n && bt->n) {
				bt->id = gm_xstrdup(id->valuestring);
				bt->record = path;
				bt->resumed = true;
				path = NULL;
			}
		}
		cJSON_Delete(root);
		free(path);
		if (bt->id)
			break;
	}
	if (d)
		closedir(d);
}

/* ---- Message Batches: the calls ---- */

static int batch_build(struct gm_http_send *out, void *ctx, const struct gm_http_server *s)
{
	struct batch *bt = ctx;
	struct gm_http_target t = { s->url, NULL, bt->b->api_key, false, 0, 0 };
	int rc;

	if (bt->state == B_COLLECTING) {
		record_find(bt);
		bt->state = bt->id ? B_POLLING : B_CREATING;
	}
	switch (bt->state) {
	case B_CREATING: {
		const struct gm_chat_request **reqs = gm_xcalloc(bt->n, sizeof(*reqs));
		const char **ids = gm_xcalloc(bt->n, sizeof(*ids));
		for (size_t i = 0; i < bt->n; i++) {
			reqs[i] = &bt->reqs[i].req;
			ids[i] = bt->reqs[i].id;
		}
		rc = gm_anthropic_batch_body(&out->body, (const struct gm_chat_request *const *)reqs,
		                             (const char *const *)ids, bt->n, bt->b->model);
		free(reqs);
		free(ids);
		if (rc < 0)
			return rc;
		out->url = gm_xasprintf("%s/v1/messages/batches", s->url);
		gm_http_send_header(out, "Content-Type: application/json");
		out->after_interrupt = true; /* a Ctrl-C now waits for the id, to cancel by it */
		break;
	}
	case B_POLLING:
		out->url = gm_xasprintf("%s/v1/messages/batches/%s", s->url, bt->id);
		break;
	case B_RESULTS:
		out->url = bt->results_url ? gm_xstrdup(bt->results_url)
		                           : gm_xasprintf("%s/v1/messages/batches/%s/results",
		                                          s->url, bt->id);
		break;
	default:
		gm_error_set("internal error: batch call in state %d", (int)bt->state);
		return GM_ERROR;
	}
	s->proto->auth(out, &t);
	return 0;
}

/* Give request `r` of `bt` its result through the caller's callback. */
static int deliver(struct batch *bt, struct batch_req *r, struct gm_chat_result *res)
{
	struct gm_engine *e = bt->e;
	const struct gm_http_server *s = &bt->b->pool.servers[0];

	if (r->delivered)
		return 0;
	r->delivered = true;
	if (!res->server)
		res->server = gm_xstrdup(s->shown);
	if (!res->model && bt->b->model)
		res->model = gm_xstrdup(bt->b->model);
	res->attempts = res->attempts ? res->attempts : 1;
	if (!res->error)
		res->cost_usd = gm_backend_cost(bt->b, res->input_tokens, res->output_tokens,
		                                res->cache_write_tokens, res->cache_read_tokens);
	if (res->error_message)
		scrub_keys(res->error_message, bt->b);
	return e->done ? e->done(e->ctx, r->tag, res) : 0;
}

/* Every request of `bt` not answered yet gets error `code` with `why`. */
static int fail_all(struct batch *bt, int code, const char *why)
{
	int rc = 0;

	for (size_t i = 0; i < bt->n; i++) {
		struct gm_chat_result res = { 0 };
		int r;
		if (bt->reqs[i].delivered)
			continue;
		res.error = code;
		res.error_message = gm_xstrdup(why);
		r = deliver(bt, &bt->reqs[i], &res);
		if (r && !rc)
			rc = r;
		gm_chat_result_release(&res);
	}
	bt->state = B_DONE;
	return rc;
}

static struct batch_req *find_req(struct batch *bt, const char *id)
{
	for (size_t i = 0; i < bt->n; i++)
		if (!strcmp(bt->reqs[i].id, id))
			return &bt->reqs[i];
	return NULL;
}

/* The results (JSONL) of an ended batch: each to its request, by custom_id. */
static int batch_results(struct batch *bt, const char *body)
{
	int rc = 0;

	for (const char *line = body, *nl; *line && !rc; line = nl + (*nl ? 1 : 0)) {
		struct gm_chat_result res = { 0 };
		struct batch_req *r;
		char *cid = NULL;
		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line);
		if (nl == line || gm_anthropic_batch_result(&cid, &res, line, (size_t)(nl - line)) < 0) {
			gm_chat_result_release(&res);
			gm_error_clear();
			continue;
		}
		if ((r = find_req(bt, cid))) {
			if (res.error) {
				char *m = gm_xasprintf("%s: %s (Message Batch %s, request %s)",
				                       bt->b->kind->proto->name, res.error_message, bt->id, cid);
				free(res.error_message);
				res.error_message = m;
			}
			rc = deliver(bt, r, &res);
		}
		free(cid);
		gm_chat_result_release(&res);
	}
	if (!rc) {
		char *why = gm_xasprintf("%s: no result for this request in Message Batch %s",
		                         bt->b->kind->proto->name, bt->id);
		rc = fail_all(bt, GM_ERROR, why);
		free(why);
	}
	bt->state = B_DONE;
	record_remove(bt);
	return rc;
}

/* Interrupted: cancel the batch (blocking, briefly) or leave it for a resume. */
static int batch_interrupted(struct batch *bt)
{
	char *why;
	int rc;

	if (!bt->id)
		return fail_all(bt, GM_EINTERRUPTED, "interrupted");
	if (bt->b->batch_keep && bt->record) {
		why = gm_xasprintf("interrupted; Message Batch %s is still running (recorded in %s): "
		                   "run again to collect its results", bt->id, bt->b->batch_dir);
	} else {
		struct gm_http_target t = { bt->b->pool.servers[0].url, NULL, bt->b->api_key, false, 0, 0 };
		struct gm_http_send req = { 0 };
		struct gm_http_response r = { 0 };
		bool ok;
		req.url = gm_xasprintf("%s/v1/messages/batches/%s/cancel", t.url, bt->id);
		req.body = gm_xstrdup("");
		req.after_interrupt = true; /* the Ctrl-C that brought us here must not stop it */
		bt->b->kind->proto->auth(&req, &t);
		ok = gm_http_fetch(&r, &req, 10, PROBE_MAX) == 0 && r.status >= 200 && r.status < 300;
		gm_http_response_release(&r);
		gm_http_send_release(&req);
		gm_error_clear();
		if (ok)
			record_remove(bt);
		why = ok ? gm_xasprintf("interrupted; Message Batch %s canceled", bt->id)
		         : gm_xasprintf("interrupted; Message Batch %s could not be canceled and may "
		                        "still run", bt->id);
		bt->canceled = ok;
	}
	rc = fail_all(bt, GM_EINTERRUPTED, why);
	free(why);
	return rc;
}

/* A call of batch `bt` ended with `res`: on to the next step. */
static int batch_step(struct gm_engine *e, struct batch *bt, struct gm_chat_result *res)
{
	struct gm_anthropic_batch info;
	char *why;
	int rc;

	(void)e;
	if (res->error == GM_EINTERRUPTED)
		return batch_interrupted(bt);
	if (res->error) {
		if (bt->resumed && bt->state == B_POLLING && strstr(res->error_message, "not_found")) {
			/* The recorded batch is gone: send the requests afresh. */
			record_remove(bt);
			free(bt->id);
			bt->id = NULL;
			bt->resumed = false;
			bt->state = B_CREATING;
			batch_queue(bt, 0);
			return 0;
		}
		why = gm_xasprintf("%s%s%s", res->error_message,
		                   bt->id ? " (Message Batch " : "", bt->id ? bt->id : "");
		if (bt->id) {
			char *w = gm_xasprintf("%s)", why);
			free(why);
			why = w;
		}
		rc = fail_all(bt, res->error, why);
		free(why);
		return rc;
	}
	if (bt->state == B_RESULTS)
		return batch_results(bt, res->content ? res->content : "");
	if (gm_anthropic_batch_parse(&info, res->content, res->content ? strlen(res->content) : 0) < 0) {
		why = gm_xasprintf("%s: %s", bt->b->kind->proto->name, gm_error_last());
		rc = fail_all(bt, GM_EINVALID, why);
		free(why);
		return rc;
	}
	if (!bt->id) {
		bt->id = gm_xstrdup(info.id);
		record_write(bt);
	}
	if (!strcmp(info.status, "ended")) {
		free(bt->results_url);
		bt->results_url = info.results_url;
		info.results_url = NULL;
		bt->state = B_RESULTS;
		batch_queue(bt, 0);
	} else {
		bt->state = B_POLLING;
		batch_queue(bt, bt->poll_ms);
		bt->poll_ms = bt->poll_ms * 2 > BATCH_POLL_CAP_MS ? BATCH_POLL_CAP_MS : bt->poll_ms * 2;
	}
	gm_anthropic_batch_release(&info);
	return 0;
}

static int on_done(void *ctx, struct gm_http_pool *pool, void *tag, struct gm_chat_result *res)
{
	struct gm_engine *e = ctx;
	const struct gm_backend *b = pool->owner;

	if (pool == &b->batch_pool)
		return batch_step(e, tag, res);
	if (!res->error && b->kind->priced)
		res->cost_usd = gm_backend_cost(b, res->input_tokens, res->output_tokens,
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
	size_t n = gm_http_pool_inflight(&b->pool);

	for (const struct batch *bt = e ? e->batches : NULL; bt; bt = bt->next)
		if (bt->b == b && bt->state != B_COLLECTING && bt->state != B_DONE)
			for (size_t i = 0; i < bt->n; i++)
				n += !bt->reqs[i].delivered;
	return n;
}

size_t gm_engine_queued(const struct gm_engine *e, const struct gm_backend *b)
{
	return e ? gm_http_multi_queued(e->multi, &b->pool) : 0;
}

void gm_engine_set_tick(struct gm_engine *e, void (*fn)(void *ctx), void *ctx, long ms)
{
	gm_http_multi_set_tick(e->multi, fn, ctx, ms);
}

void gm_engine_batch_stats(struct gm_engine_batch_stats *out, const struct gm_engine *e,
                           const struct gm_backend *b)
{
	memset(out, 0, sizeof(*out));
	for (const struct batch *bt = e->batches; bt; bt = bt->next) {
		if (bt->b != b)
			continue;
		if (bt->state != B_COLLECTING || bt->id) {
			out->batches++;
			out->resumed += bt->resumed;
		}
		out->requests += bt->n;
		for (size_t i = 0; i < bt->n; i++)
			out->waiting += !bt->reqs[i].delivered;
		if (bt->id && !out->last_id[0]) {
			snprintf(out->last_id, sizeof(out->last_id), "%s", bt->id);
			out->last_canceled = bt->canceled;
		}
	}
}

uint64_t gm_engine_streamed(const struct gm_engine *e, const struct gm_backend *b)
{
	(void)e;
	return b->pool.streamed;
}
