/*
 * backend.c: the two backends behind backend.h: configuration, set-up
 * (model, context length, WSL2 host) and the glue between the engine and the
 * wire formats of openai.c and anthropic.c.
 */
#include "backend_int.h"

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
#define PROBE_MAX (4u << 20)

static char *strip_slash(const char *url)
{
	size_t n = strlen(url);
	while (n && url[n - 1] == '/')
		n--;
	return gm_xstrndup(url, n);
}

int gm_backend_new(struct gm_backend **out, const struct gm_backend_config *cfg)
{
	struct gm_backend *b;

	*out = NULL;
	if (!cfg->nurls || !cfg->urls) {
		gm_error_set("no server URL configured");
		return GM_EUSAGE;
	}
	if (cfg->kind == GM_BACKEND_CLAUDE && cfg->nurls != 1) {
		gm_error_set("the Claude API takes one base URL, not %zu", cfg->nurls);
		return GM_EUSAGE;
	}
	for (size_t i = 0; i < cfg->nurls; i++) {
		if (!cfg->urls[i] || (strncmp(cfg->urls[i], "http://", 7) &&
		                      strncmp(cfg->urls[i], "https://", 8))) {
			gm_error_set("invalid server URL '%s': not http:// or https://",
			             cfg->urls[i] ? cfg->urls[i] : "");
			return GM_EUSAGE;
		}
	}
	b = gm_xcalloc(1, sizeof(*b));
	b->kind = cfg->kind;
	b->nservers = cfg->nurls;
	b->servers = gm_xcalloc(cfg->nurls, sizeof(*b->servers));
	for (size_t i = 0; i < cfg->nurls; i++)
		b->servers[i].url = strip_slash(cfg->urls[i]);
	b->model = cfg->model && *cfg->model ? gm_xstrdup(cfg->model) : NULL;
	b->api_key = cfg->api_key && *cfg->api_key ? gm_xstrdup(cfg->api_key) : NULL;
	b->concurrency = cfg->concurrency > 0 ? (size_t)cfg->concurrency : 4;
	b->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 600;
	b->stall_s = cfg->stall_s > 0 ? cfg->stall_s : GM_HTTP_DEFAULT_STALL_S;
	b->max_retries = cfg->max_retries < 0 ? 0
		: cfg->max_retries ? (unsigned)cfg->max_retries : GM_HTTP_DEFAULT_RETRIES;
	b->max_body = cfg->max_body ? cfg->max_body : GM_HTTP_MAX_BODY;
	b->stream = cfg->stream;
	*out = b;
	return 0;
}

void gm_backend_free(struct gm_backend *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nservers; i++)
		free(b->servers[i].url);
	free(b->servers);
	free(b->model);
	if (b->api_key)
		explicit_bzero(b->api_key, strlen(b->api_key));
	free(b->api_key);
	free(b->wsl_host);
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
	return b->nservers;
}

const char *gm_backend_server(const struct gm_backend *b, size_t i)
{
	return i < b->nservers ? b->servers[i].url : NULL;
}

const char *gm_backend_wsl_host(const struct gm_backend *b)
{
	return b->wsl_host;
}

/* ---- set-up ------------------------------------------------------------ */

/* GET {base}{path}: the body of a 200, else NULL. */
static char *get_body(const struct gm_backend *b, const char *base, const char *path)
{
	char *url = gm_xasprintf("%s%s", base, path), *auth = NULL, *body = NULL;
	const char *headers[2] = { NULL, NULL };
	struct gm_http_response r;

	if (b->api_key)
		headers[0] = auth = gm_xasprintf("Authorization: Bearer %s", b->api_key);
	if (gm_http_get(&r, url, headers, PROBE_TIMEOUT_S, PROBE_MAX) == 0 &&
	    r.status == 200) {
		body = r.body;
		r.body = NULL;
	}
	gm_http_response_release(&r);
	free(url);
	free(auth);
	return body;
}

/*
 * GET {url}/models: 0 and the body, or an error whose message names the
 * server.  *unreachable: no HTTP answer at all.
 */
static int probe(char **out, bool *unreachable, const struct gm_backend *b,
                 const char *url)
{
	char *u = gm_xasprintf("%s/models", url), *auth = NULL;
	const char *headers[2] = { NULL, NULL };
	struct gm_http_response r;
	int rc;

	*out = NULL;
	*unreachable = false;
	if (b->api_key)
		headers[0] = auth = gm_xasprintf("Authorization: Bearer %s", b->api_key);
	rc = gm_http_get(&r, u, headers, PROBE_TIMEOUT_S, PROBE_MAX);
	if (rc < 0) {
		*unreachable = rc != GM_ETOOBIG;
		gm_error_set("%sLM Studio at %s: %s", *unreachable ? "cannot reach " : "",
		             url, r.cause);
	} else if (r.status != 200) {
		char *cause = gm_openai_error_cause(r.status, r.body, r.len);
		gm_http_scrub(cause, b->api_key);
		gm_error_set("LM Studio at %s: %s", url, cause);
		free(cause);
		rc = GM_ERROR;
	} else {
		*out = r.body;
		r.body = NULL;
	}
	gm_http_response_release(&r);
	free(u);
	free(auth);
	return rc;
}

/* WSL2: localhost did not answer; try the Windows host. */
static int probe_wsl(char **out, struct gm_backend *b, struct gm_server *s)
{
	char hosts[2][64], *saved = gm_xstrdup(gm_error_last());
	const char *host;
	size_t hlen, n;
	int rc = GM_ERROR;

	if (!gm_http_url_is_local(s->url, &host, &hlen) || !gm_wsl_detect(NULL) ||
	    !(n = gm_wsl_hosts(hosts, 2, NULL)))
		goto cleanup;
	for (size_t i = 0; i < n; i++) {
		char *url = gm_xasprintf("%.*s%s%s", (int)(host - s->url), s->url,
		                         hosts[i], host + hlen);
		bool unreachable;
		if (probe(out, &unreachable, b, url) == 0) {
			free(s->url);
			s->url = url;
			free(b->wsl_host);
			b->wsl_host = gm_xstrdup(hosts[i]);
			rc = 0;
			goto cleanup;
		}
		free(url);
	}
	gm_error_set("%s (also tried the Windows host at %s%s%s)", saved, hosts[0],
	             n > 1 ? " and " : "", n > 1 ? hosts[1] : "");
	free(saved);
	return GM_ERROR;
cleanup:
	if (rc < 0)
		gm_error_set("%s", saved);
	free(saved);
	return rc;
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

	for (size_t i = 0; i < b->nservers; i++) {
		struct gm_server *s = &b->servers[i];
		char *models = NULL, *base, *v0, *v1 = NULL, *picked = NULL;
		bool unreachable;

		rc = probe(&models, &unreachable, b, s->url);
		if (rc < 0 && unreachable)
			rc = probe_wsl(&models, b, s);
		if (rc < 0) {
			if (!first_error)
				first_error = gm_xstrdup(gm_error_last());
			s->down_until = gm_now_ms() + GM_SERVER_DOWN_MS;
			continue;
		}
		base = native_base(s->url);
		v0 = get_body(b, base, "/api/v0/models");
		if (!b->model) {
			if ((rc = gm_openai_pick_model(&picked, models, v0)) < 0) {
				char *m = gm_xasprintf("LM Studio at %s: %s", s->url,
				                       gm_error_last());
				if (!first_error)
					first_error = m;
				else
					free(m);
				s->down_until = gm_now_ms() + GM_SERVER_DOWN_MS;
			} else {
				b->model = picked;
			}
		}
		if (b->model && !b->context_length) {
			b->context_length = gm_openai_context_length(b->model, v0, NULL);
			if (!b->context_length) {
				v1 = get_body(b, base, "/api/v1/models");
				b->context_length = gm_openai_context_length(b->model, NULL, v1);
			}
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

int gm_backend_prepare(struct gm_backend *b)
{
	const struct gm_price *p;

	if (b->kind == GM_BACKEND_LOCAL)
		return prepare_local(b);
	if (!b->api_key) {
		gm_error_set("Claude API: no key (set ANTHROPIC_API_KEY)");
		return GM_EUSAGE;
	}
	if (!b->model)
		b->model = gm_xstrdup(GM_CLAUDE_DEFAULT_MODEL);
	p = gm_price_lookup(b->model);
	/* Unknown ids: forced tool use works on every model but the two known. */
	b->forced_tool = p ? p->forced_tool : true;
	b->prepared = true;
	return 0;
}

/* ---- glue for the engine ---------------------------------------------- */

int gm_backend_build(const struct gm_backend *b, const struct gm_chat_request *req,
                     const struct gm_server *server, char **url,
                     struct curl_slist **headers, char **body)
{
	struct curl_slist *h = NULL;
	char *line;
	int rc;

	*url = *body = NULL;
	*headers = NULL;
	if (b->kind == GM_BACKEND_LOCAL)
		rc = gm_openai_request(body, req, b->model, b->stream);
	else
		rc = gm_anthropic_request(body, req, b->model, b->stream, b->forced_tool);
	if (rc < 0)
		return rc;
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, b->stream ? "Accept: text/event-stream"
	                                   : "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	if (b->kind == GM_BACKEND_LOCAL) {
		*url = gm_xasprintf("%s/chat/completions", server->url);
		line = b->api_key ? gm_xasprintf("Authorization: Bearer %s", b->api_key) : NULL;
	} else {
		*url = gm_xasprintf("%s/v1/messages", server->url);
		h = curl_slist_append(h, "anthropic-version: " GM_ANTHROPIC_VERSION);
		line = gm_xasprintf("x-api-key: %s", b->api_key ? b->api_key : "");
	}
	if (line) {
		h = curl_slist_append(h, line);
		explicit_bzero(line, strlen(line));
		free(line);
	}
	if (!h)
		abort();
	*headers = h;
	return 0;
}

static bool is_sse(const char *ctype, const char *body)
{
	if (ctype)
		return !strncasecmp(ctype, "text/event-stream", 17);
	return !strncmp(body, "data:", 5) || !strncmp(body, "event:", 6);
}

static char *label(const struct gm_backend *b, const struct gm_server *s)
{
	return b->kind == GM_BACKEND_LOCAL ? gm_xasprintf("LM Studio at %s", s->url)
	                                   : gm_xstrdup("Claude API");
}

static char *with_label(const struct gm_backend *b, const struct gm_server *s,
                        const char *cause)
{
	char *l = label(b, s), *m = gm_xasprintf("%s: %s", l, cause);
	free(l);
	gm_http_scrub(m, b->api_key);
	return m;
}

int gm_backend_parse(const struct gm_backend *b, const struct gm_server *server,
                     const struct gm_chat_request *req, struct gm_chat_result *res,
                     bool *retry, const char *content_type, const char *body,
                     size_t len)
{
	bool sse = is_sse(content_type, body);
	int rc;

	*retry = false;
	if (b->kind == GM_BACKEND_LOCAL)
		rc = gm_openai_parse(res, retry, body, len, sse, req->json_schema != NULL);
	else
		rc = gm_anthropic_parse(res, retry, body, len, sse);
	if (rc < 0)
		res->error_message = with_label(b, server, gm_error_last());
	return rc;
}

char *gm_backend_http_error(const struct gm_backend *b, const struct gm_server *server,
                            long status, const char *body, size_t len)
{
	char *cause = b->kind == GM_BACKEND_LOCAL
		? gm_openai_error_cause(status, body, len)
		: gm_anthropic_error_cause(status, body, len);
	char *m = with_label(b, server, cause);
	free(cause);
	return m;
}

char *gm_backend_transfer_error(const struct gm_backend *b,
                                const struct gm_server *server, bool unreachable,
                                const char *cause)
{
	const char *name = b->kind == GM_BACKEND_LOCAL ? "LM Studio" : "Claude API";
	char *m;

	if (unreachable)
		m = gm_xasprintf("cannot reach %s at %s: %s", name, server->url, cause);
	else if (b->kind == GM_BACKEND_LOCAL)
		m = gm_xasprintf("%s at %s: %s", name, server->url, cause);
	else
		m = gm_xasprintf("%s: %s", name, cause);
	gm_http_scrub(m, b->api_key);
	return m;
}
