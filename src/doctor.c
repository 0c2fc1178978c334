/*
 * doctor.c: the checks of `git monitor doctor` (doctor.h).  Each check adds
 * one row to the report; nothing is printed here.
 */
#include "monitor/doctor.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <git2.h>

#include "monitor/anthropic.h"
#include "monitor/config.h"
#include "monitor/error.h"
#include "monitor/http.h"
#include "monitor/lang.h"
#include "monitor/openai.h"
#include "monitor/price.h"
#include "monitor/repo.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define DOCTOR_TIMEOUT_S 15
#define DOCTOR_MAX_BODY (4u << 20)
#define ENV_KEY "ANTHROPIC_API_KEY"


const char *gm_doctor_status_name(enum gm_doctor_status s)
{
	switch (s) {
	case GM_DOCTOR_OK: return "ok";
	case GM_DOCTOR_WARN: return "warn";
	case GM_DOCTOR_FAIL: return "fail";
	case GM_DOCTOR_SKIP: return "skip";
	}
	return "?";
}

/* Takes ownership of `detail` and `hint` (either may be NULL). */
static void add(struct gm_doctor_report *r, const char *check, enum gm_doctor_status st,
                char *detail, char *hint)
{
	struct gm_doctor_check *c;

	GM_GROW(r->checks, r->cap_checks, r->nchecks + 1);
	c = &r->checks[r->nchecks++];
	c->check = check;
	c->status = st;
	c->detail = detail ? detail : gm_xstrdup("");
	c->hint = hint;
}

/* ---- repository and grammars ------------------------------------------- */

static void check_repository(struct gm_doctor_report *r, git_repository **repo,
                             const char *path)
{
	git_reference *head = NULL;
	const char *dir;
	char *shown = NULL;
	int rc;

	*repo = NULL;
	if (gm_repo_open(repo, path) < 0) {
		char cwd[4096];
		const char *where = path ? path : getcwd(cwd, sizeof(cwd)) ? cwd : ".";
		add(r, "repository", GM_DOCTOR_FAIL, gm_xasprintf("%s: %s", where, gm_error_last()),
		    gm_xstrdup("run 'git monitor doctor' inside the repository to refactor "
		               "(the other checks ran anyway)"));
		return;
	}
	dir = git_repository_is_bare(*repo) ? git_repository_path(*repo)
	                                    : git_repository_workdir(*repo);
	{
		size_t n = strlen(dir);
		if (n > 1 && dir[n - 1] == '/')
			n--;
		dir = shown = gm_xstrndup(dir, n);
	}
	rc = git_repository_head_unborn(*repo);
	if (rc == 1) {
		add(r, "repository", GM_DOCTOR_WARN,
		    gm_xasprintf("%s: empty repository, no commits yet", dir),
		    gm_xstrdup("commit something first: refactor starts from HEAD"));
		goto cleanup;
	}
	if (rc < 0 || git_repository_head(&head, *repo) < 0) {
		gm_error_git(GM_ERROR, "%s: cannot read HEAD", dir);
		add(r, "repository", GM_DOCTOR_FAIL, gm_xstrdup(gm_error_last()),
		    gm_xstrdup("check the repository with 'git fsck'"));
		goto cleanup;
	}
	{
		char oid[GIT_OID_HEXSZ + 1] = "";
		git_object *obj = NULL;
		if (git_reference_peel(&obj, head, GIT_OBJECT_COMMIT) < 0) {
			gm_error_git(GM_ERROR, "%s: HEAD is not a readable commit", dir);
			add(r, "repository", GM_DOCTOR_FAIL, gm_xstrdup(gm_error_last()),
			    gm_xstrdup("check the repository with 'git fsck'"));
		} else {
			git_oid_tostr(oid, sizeof(oid), git_object_id(obj));
			add(r, "repository", GM_DOCTOR_OK,
			    gm_xasprintf("%s: HEAD %.7s%s%s", dir, oid,
			                 git_reference_is_branch(head) ? " on " : " (detached)",
			                 git_reference_is_branch(head) ? git_reference_shorthand(head) : ""),
			    NULL);
		}
		git_object_free(obj);
	}
cleanup:
	git_reference_free(head);
	free(shown);
}

static void check_grammars(struct gm_doctor_report *r)
{
	const struct gm_lang *const *all;
	struct gm_buf names = GM_BUF_INIT;
	size_t nlang = 0, nq = 0;

	if (gm_lang_init() < 0 || gm_lang_load_all() < 0) {
		add(r, "grammars", GM_DOCTOR_FAIL, gm_xstrdup(gm_error_last()),
		    gm_xstrdup("the query files under grammars/ do not match the built-in grammars: rebuild git-monitor"));
		return;
	}
	all = gm_lang_all();
	for (size_t i = 0; all[i]; i++) {
		nlang++;
		gm_buf_printf(&names, "%s%s", i ? ", " : "", all[i]->name);
		for (int k = 0; k < GM_QUERY__COUNT; k++)
			nq += gm_lang_has_query(all[i], (enum gm_query_kind)k);
	}
	add(r, "grammars", GM_DOCTOR_OK,
	    gm_xasprintf("%zu languages (%s), %zu queries compiled", nlang,
	                 names.ptr ? names.ptr : "", nq),
	    NULL);
	gm_buf_release(&names);
}

/* ---- LM Studio ---------------------------------------------------------- */

static char *strip_slash(const char *url)
{
	size_t n = strlen(url);
	while (n && url[n - 1] == '/')
		n--;
	return gm_xstrndup(url, n);
}

/* The port of a URL, for hints ("1234"; the scheme's default when absent). */
static char *port_of(const char *url)
{
	const char *h = strstr(url, "://"), *p;

	if (!h)
		return gm_xstrdup("1234");
	h += 3;
	if (*h == '[' && strchr(h, ']'))
		h = strchr(h, ']') + 1;
	p = h + strcspn(h, ":/");
	if (*p == ':')
		return gm_xstrndup(p + 1, strcspn(p + 1, "/"));
	return gm_xstrdup(strncmp(url, "https", 5) ? "80" : "443");
}

/* GET {url}{path}: 0 with the body of a 200; else a message in *why. */
static int get(char **out, bool *unreachable, char **why, const char *base,
               const char *path, long timeout_s)
{
	char *u = gm_xasprintf("%s%s", base, path);
	struct gm_http_response resp;
	int rc;

	*out = NULL;
	*why = NULL;
	*unreachable = false;
	rc = gm_http_get(&resp, u, NULL, timeout_s, DOCTOR_MAX_BODY);
	if (rc < 0) {
		*unreachable = rc != GM_ETOOBIG;
		*why = gm_xstrdup(resp.cause);
	} else if (resp.status != 200) {
		*why = gm_openai_error_cause(resp.status, resp.body, resp.len);
		rc = GM_ERROR;
	} else {
		*out = resp.body;
		resp.body = NULL;
	}
	gm_http_response_release(&resp);
	free(u);
	return rc;
}

static char *get_opt(const char *base, const char *path, long timeout_s)
{
	char *body, *why;
	bool unreachable;

	if (get(&body, &unreachable, &why, base, path, timeout_s) < 0) {
		free(why);
		return NULL;
	}
	return body;
}

struct server {
	char *url;      /* the base URL that answered (WSL2: the host's) */
	char *models;   /* body of GET /models */
};

static char *wsl_hint(const char *port)
{
	return gm_xasprintf(
		"WSL2: in LM Studio on Windows turn on Developer > Server Settings > "
		"\"Serve on Local Network\" and allow inbound TCP %s in Windows Firewall, "
		"or use mirrored networking (networkingMode=mirrored under [wsl2] in "
		"%%USERPROFILE%%\\.wslconfig, then 'wsl --shutdown') so localhost reaches Windows",
		port);
}

/* Entries of an OpenAI model list; -1 when it is not one. */
static int count_models(const char *body)
{
	cJSON *root = cJSON_Parse(body);
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
	int n = cJSON_IsArray(data) ? cJSON_GetArraySize(data) : -1;
	cJSON_Delete(root);
	return n;
}

/* Takes `body`: 0 when it is a model list, else a failed check. */
static int models_or_fail(struct gm_doctor_report *r, const char *url, char *body)
{
	if (count_models(body) >= 0)
		return 0;
	add(r, "lmstudio", GM_DOCTOR_FAIL,
	    gm_xasprintf("LM Studio at %s: GET /models answered without a model list", url),
	    gm_xasprintf("is %s the base URL of an OpenAI-compatible server (it usually ends in /v1)?",
	                 url));
	free(body);
	return GM_EINVALID;
}

/* One configured URL: 0 and *out filled when it answered GET /models. */
static int check_server(struct gm_doctor_report *r, struct server *out, const char *cfg_url,
                        const char *root, long timeout_s)
{
	char *url = strip_slash(cfg_url), *port = port_of(cfg_url), *why = NULL, *body = NULL;
	const char *host;
	size_t hlen;
	bool unreachable;
	int rc;

	memset(out, 0, sizeof(*out));
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		add(r, "lmstudio", GM_DOCTOR_FAIL,
		    gm_xasprintf("invalid LM Studio URL '%s': not http:// or https://", cfg_url),
		    gm_xstrdup("set monitor.local.url (or MONITOR_LOCAL_URL) to e.g. " GM_DEFAULT_LOCAL_URL));
		rc = GM_EUSAGE;
		goto cleanup;
	}
	rc = get(&body, &unreachable, &why, url, "/models", timeout_s);
	if (rc == 0 && (rc = models_or_fail(r, url, body)) < 0)
		goto cleanup;
	if (rc == 0) {
		add(r, "lmstudio", GM_DOCTOR_OK,
		    gm_xasprintf("LM Studio at %s answered (%d models listed)", url, count_models(body)),
		    NULL);
		out->url = url;
		out->models = body;
		url = NULL;
		goto cleanup;
	}
	if (!unreachable) {
		add(r, "lmstudio", GM_DOCTOR_FAIL, gm_xasprintf("LM Studio at %s: %s", url, why),
		    gm_xasprintf("is %s the base URL of an OpenAI-compatible server (LM Studio's ends "
		                 "in /v1, e.g. " GM_DEFAULT_LOCAL_URL ")?", url));
		goto cleanup;
	}
	if (gm_http_url_is_local(url, &host, &hlen) && gm_wsl_detect(root)) {
		char hosts[2][64];
		size_t n = gm_wsl_hosts(hosts, 2, root);
		struct gm_buf tried = GM_BUF_INIT;

		for (size_t i = 0; i < n; i++) {
			char *hurl = gm_xasprintf("%.*s%s%s", (int)(host - url), url, hosts[i], host + hlen);
			char *hwhy = NULL;
			bool hun;
			if (get(&body, &hun, &hwhy, hurl, "/models", timeout_s) == 0 &&
			    count_models(body) >= 0) {
				add(r, "lmstudio", GM_DOCTOR_OK,
				    gm_xasprintf("LM Studio answered at the Windows host %s (%s, %d models "
				                 "listed); %s did not answer under WSL2: %s",
				                 hosts[i], hurl, count_models(body), url, why),
				    gm_xasprintf("the host address can change across reboots; with mirrored "
				                 "networking (networkingMode=mirrored under [wsl2] in "
				                 "%%USERPROFILE%%\\.wslconfig, then 'wsl --shutdown') %s works "
				                 "as configured", url));
				out->url = hurl;
				out->models = body;
				gm_buf_release(&tried);
				free(hwhy);
				rc = 0;
				goto cleanup;
			}
			gm_buf_printf(&tried, "%s%s: %s", tried.len ? "; " : "", hurl,
			              hwhy ? hwhy : "no model list");
			free(body);
			body = NULL;
			free(hwhy);
			free(hurl);
		}
		if (n) {
			add(r, "lmstudio", GM_DOCTOR_FAIL,
			    gm_xasprintf("cannot reach LM Studio at %s: %s (WSL2: also tried the Windows "
			                 "host: %s)", url, why, tried.ptr),
			    wsl_hint(port));
		} else {
			add(r, "lmstudio", GM_DOCTOR_FAIL,
			    gm_xasprintf("cannot reach LM Studio at %s: %s (WSL2: no Windows host address "
			                 "found in /proc/net/route or /etc/resolv.conf)", url, why),
			    wsl_hint(port));
		}
		gm_buf_release(&tried);
		goto cleanup;
	}
	add(r, "lmstudio", GM_DOCTOR_FAIL, gm_xasprintf("cannot reach LM Studio at %s: %s", url, why),
	    gm_xasprintf("start the server (LM Studio: Developer > Start Server, or 'lms server start "
	                 "--port %s'), or point monitor.local.url / MONITOR_LOCAL_URL at it", port));
cleanup:
	free(why);
	free(url);
	free(port);
	return rc;
}

/* ---- the model ---------------------------------------------------------- */

/* LM Studio's native API lives beside /v1. */
static char *native_base(const char *url)
{
	size_t n = strlen(url);
	if (n >= 3 && !strcmp(url + n - 3, "/v1"))
		n -= 3;
	return gm_xstrndup(url, n);
}

/* 1 loaded, 0 not loaded, -1 unknown (no native model list). */
static int loaded_state(const char *model, const cJSON *v0, const cJSON *v1)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(v0, "data")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "state");
		if (cJSON_IsString(id) && !strcmp(id->valuestring, model) && cJSON_IsString(st))
			return !strcmp(st->valuestring, "loaded");
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(v1, "models")) {
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(it, "key");
		const cJSON *inst = cJSON_GetObjectItemCaseSensitive(it, "loaded_instances");
		if (cJSON_IsString(key) && !strcmp(key->valuestring, model) && cJSON_IsArray(inst))
			return cJSON_GetArraySize(inst) > 0;
	}
	return -1;
}

static bool is_embedding(const char *model, const cJSON *v0, const cJSON *v1)
{
	const cJSON *it;

	if (strcasestr(model, "embed"))
		return true;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(v0, "data")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "type");
		if (cJSON_IsString(id) && !strcmp(id->valuestring, model))
			return cJSON_IsString(t) && !strncmp(t->valuestring, "embedding", 9);
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(v1, "models")) {
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(it, "key");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "type");
		if (cJSON_IsString(key) && !strcmp(key->valuestring, model))
			return cJSON_IsString(t) && !strncmp(t->valuestring, "embedding", 9);
	}
	return false;
}

/* A downloaded chat model from the native lists (for hints), or NULL. */
static const char *downloaded_llm(const cJSON *v0, const cJSON *v1)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(v0, "data")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "type");
		if (cJSON_IsString(id) && cJSON_IsString(t) && (!strcmp(t->valuestring, "llm") ||
		                                                 !strcmp(t->valuestring, "vlm")))
			return id->valuestring;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(v1, "models")) {
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(it, "key");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "type");
		if (cJSON_IsString(key) && cJSON_IsString(t) && !strcmp(t->valuestring, "llm"))
			return key->valuestring;
	}
	return NULL;
}

static size_t sink(char *data, size_t size, size_t n, void *ud)
{
	return gm_buf_put(ud, data, size * n) < 0 ? 0 : size * n;
}

/*
 * POST a one-token completion naming no model: what LM Studio says when
 * a run asks it for text.  0 and the model that answered, or GM_ERROR with
 * the server's exact cause in *why.
 */
static int probe_completion(char **model, char **why, const char *url, long timeout_s)
{
	static const char body[] =
		"{\"messages\":[{\"role\":\"user\",\"content\":\"Say OK.\"}],\"max_tokens\":1,\"stream\":false}";
	char *u = gm_xasprintf("%s/chat/completions", url), errbuf[CURL_ERROR_SIZE] = "";
	struct gm_buf b = GM_BUF_INIT;
	struct curl_slist *hl = NULL;
	CURL *h = curl_easy_init();
	CURLcode cc;
	long status = 0, oserr = 0;
	int rc = GM_ERROR;

	*model = *why = NULL;
	if (!h)
		abort();
	gm_buf_init(&b, 1u << 20);
	hl = curl_slist_append(hl, "Content-Type: application/json");
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, u);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)GM_HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		char cause[256];
		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
		gm_http_cause(cause, sizeof(cause), cc, oserr, errbuf);
		*why = gm_xstrdup(cause);
		goto cleanup;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		*why = gm_openai_error_cause(status, b.ptr, b.len);
		goto cleanup;
	}
	{
		cJSON *root = cJSON_Parse(b.ptr ? b.ptr : "");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
		*model = gm_xstrdup(cJSON_IsString(m) ? m->valuestring : "(unnamed)");
		cJSON_Delete(root);
	}
	rc = 0;
cleanup:
	gm_buf_release(&b);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	free(u);
	return rc;
}

/* Loaded contexts below this leave little room for a function and its answer. */
#define SMALL_CONTEXT 8192

static char *context_hint(const char *model, const char *v0, const char *v1)
{
	int64_t n = gm_openai_context_length(model, v0, v1);
	if (n <= 0 || n >= SMALL_CONTEXT)
		return NULL;
	return gm_xasprintf("a context of %lld tokens only fits small functions; reload with "
	                    "'lms load %s --context-length 16384' (or more)", (long long)n, model);
}

static char *context_text(const char *model, const char *v0, const char *v1)
{
	int64_t n = gm_openai_context_length(model, v0, v1);
	if (n > 0)
		return gm_xasprintf("context %lld tokens", (long long)n);
	return gm_xstrdup("context length unknown (the server has no /api/v0 or /api/v1 model list)");
}

static void check_model(struct gm_doctor_report *r, struct gm_config *cfg,
                        const struct server *s, long timeout_s)
{
	char *base = native_base(s->url);
	char *v0t = get_opt(base, "/api/v0/models", timeout_s);
	char *v1t = get_opt(base, "/api/v1/models", timeout_s);
	cJSON *list = cJSON_Parse(s->models), *v0 = v0t ? cJSON_Parse(v0t) : NULL;
	cJSON *v1 = v1t ? cJSON_Parse(v1t) : NULL;
	const char *want = gm_config_string(cfg, "monitor.local.model", NULL);
	const char *first_llm = NULL, *pick = NULL;
	struct gm_buf ids = GM_BUF_INIT;
	const cJSON *it;
	bool listed = false, any_embedding = false;
	int pick_state = -1;

	if (want && !*want)
		want = NULL;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "data")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		const char *m;
		int st;
		if (!cJSON_IsString(id) || !id->valuestring[0])
			continue;
		m = id->valuestring;
		gm_buf_printf(&ids, "%s%s", ids.len ? ", " : "", m);
		if (want && !strcmp(m, want))
			listed = true;
		if (is_embedding(m, v0, v1)) {
			any_embedding = true;
			continue;
		}
		if (!first_llm)
			first_llm = m;
		st = loaded_state(m, v0, v1);
		/* A loaded LLM wins; else the first whose state is unknown. */
		if (st == 1 && pick_state != 1) {
			pick = m;
			pick_state = 1;
		} else if (st < 0 && !pick) {
			pick = m;
		}
	}
	if (want) {
		int st = loaded_state(want, v0, v1);
		char *ctx = context_text(want, v0t, v1t);
		if (!listed)
			add(r, "model", GM_DOCTOR_FAIL,
			    gm_xasprintf("LM Studio at %s does not serve monitor.local.model '%s' "
			                 "(it lists: %s)", s->url, want, ids.len ? ids.ptr : "nothing"),
			    gm_xasprintf("download and load it ('lms load %s'), or set monitor.local.model "
			                 "to one of the listed ids", want));
		else if (st == 0)
			add(r, "model", GM_DOCTOR_WARN,
			    gm_xasprintf("%s (monitor.local.model) is not loaded; LM Studio loads it on the "
			                 "first request (JIT); %s", want, ctx),
			    gm_xasprintf("load it now with 'lms load %s --context-length <n>' to choose its "
			                 "context length", want));
		else
			add(r, "model", GM_DOCTOR_OK,
			    gm_xasprintf("%s (monitor.local.model)%s, %s", want,
			                 st == 1 ? " loaded" : "", ctx),
			    context_hint(want, v0t, v1t));
		free(ctx);
	} else if (pick) {
		char *ctx = context_text(pick, v0t, v1t);
		add(r, "model", GM_DOCTOR_OK,
		    gm_xasprintf("%s (%s), %s", pick,
		                 pick_state == 1 ? "first loaded LLM"
		                                 : "first LLM listed; load state unknown", ctx),
		    context_hint(pick, v0t, v1t));
		free(ctx);
	} else {
		char *answered = NULL, *why = NULL;
		/* JIT off lists loaded models only: name a downloaded one in the hint. */
		if (!first_llm)
			first_llm = downloaded_llm(v0, v1);
		if (probe_completion(&answered, &why, s->url, timeout_s) == 0) {
			char *ctx = context_text(answered, v0t, v1t);
			add(r, "model", GM_DOCTOR_OK,
			    gm_xasprintf("%s (answered a one-token test prompt), %s", answered, ctx), NULL);
			free(ctx);
		} else {
			add(r, "model", GM_DOCTOR_FAIL,
			    gm_xasprintf("LM Studio at %s: %s%s", s->url,
			                 any_embedding && !first_llm ? "only embedding models are available; " : "",
			                 why),
			    first_llm ? gm_xasprintf("load a model: 'lms load %s' (or in LM Studio's Developer "
			                             "page), or set monitor.local.model to a downloaded model",
			                             first_llm)
			              : gm_xstrdup("load a chat model (not an embedding model): 'lms load <model>' "
			                           "or in LM Studio's Developer page"));
		}
		free(answered);
		free(why);
	}
	gm_buf_release(&ids);
	cJSON_Delete(list);
	cJSON_Delete(v0);
	cJSON_Delete(v1);
	free(v0t);
	free(v1t);
	free(base);
}

/* ---- Claude --------------------------------------------------------------- */

static void check_claude(struct gm_doctor_report *r, struct gm_config *cfg, long timeout_s)
{
	const char *key = getenv(ENV_KEY), *cause;
	char *url, *msg;
	const char *model = gm_config_string(cfg, "monitor.claude.model", GM_CLAUDE_DEFAULT_MODEL);

	if (!key || !*key) {
		add(r, "claude", GM_DOCTOR_SKIP,
		    gm_xstrdup("ANTHROPIC_API_KEY is not set: local-only mode, every task goes to LM Studio"),
		    gm_xstrdup("export ANTHROPIC_API_KEY to send complex functions to Claude"));
		return;
	}
	url = strip_slash(gm_config_string(cfg, "monitor.claude.url", GM_DEFAULT_CLAUDE_URL));
	if (gm_anthropic_check_key(url, key, timeout_s) == 0) {
		add(r, "claude", GM_DOCTOR_OK,
		    gm_xasprintf("Claude API at %s accepted the key (model %s)", url, model), NULL);
		free(url);
		return;
	}
	msg = gm_xstrdup(gm_error_last());
	gm_http_scrub(msg, key);
	cause = !strncmp(msg, "Claude API: ", 12) ? msg + 12 : msg;
	if (!strncmp(msg, "cannot reach", 12))
		add(r, "claude", GM_DOCTOR_FAIL, gm_xstrdup(msg),
		    gm_xstrdup("check the network, or ANTHROPIC_BASE_URL / monitor.claude.url"));
	else if (strstr(cause, "authentication_error"))
		add(r, "claude", GM_DOCTOR_FAIL,
		    gm_xasprintf("Claude API at %s: the key was rejected (%s)", url, cause),
		    gm_xstrdup("check ANTHROPIC_API_KEY (create one at console.anthropic.com), or unset "
		               "it to run local-only"));
	else if (strstr(cause, "permission_error"))
		add(r, "claude", GM_DOCTOR_FAIL,
		    gm_xasprintf("Claude API at %s: the key may not use this API (%s)", url, cause),
		    gm_xstrdup("check the key's workspace and permissions in the Claude console"));
	else if (strstr(cause, "billing_error"))
		add(r, "claude", GM_DOCTOR_FAIL,
		    gm_xasprintf("Claude API at %s: billing problem (%s)", url, cause),
		    gm_xstrdup("check the plan and credits of the account in the Claude console"));
	else
		add(r, "claude", GM_DOCTOR_FAIL, gm_xasprintf("Claude API at %s: %s", url, cause),
		    gm_xstrdup("try again later; if it persists check ANTHROPIC_BASE_URL / monitor.claude.url"));
	free(msg);
	free(url);
}

/* ---- settings ------------------------------------------------------------- */

static void add_setting(struct gm_doctor_report *r, const char *key, char *value, char *origin,
                        bool secret, bool known)
{
	struct gm_doctor_setting *s;

	GM_GROW(r->settings, r->cap_settings, r->nsettings + 1);
	s = &r->settings[r->nsettings++];
	s->key = key;
	s->value = value;
	s->origin = origin;
	s->secret = secret;
	s->known = known;
}


static const char *known_key(const char *name)
{
	for (const struct gm_config_key *k = gm_config_keys; k->key; k++)
		if (!strcasecmp(k->key, name))
			return k->key;
	return NULL;
}

static void collect_settings(struct gm_doctor_report *r, struct gm_config *cfg,
                             git_repository *repo)
{
	git_config *gc = NULL, *snap = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	const char *key = getenv(ENV_KEY);

	for (const struct gm_config_key *k = gm_config_keys; k->key; k++) {
		const char **vals = NULL;
		size_t n = gm_config_multi(&vals, cfg, k->key);
		struct gm_buf v = GM_BUF_INIT;
		for (size_t i = 0; i < n; i++)
			gm_buf_printf(&v, "%s%s", i ? ", " : "", vals[i]);
		free(vals);
		if (!n)
			gm_buf_puts(&v, k->def);
		add_setting(r, k->key, gm_buf_detach(&v, NULL),
		            gm_xstrdup(gm_config_origin(cfg, k->key)), false, true);
	}
	add_setting(r, ENV_KEY, gm_xstrdup(key && *key ? "set" : "unset"),
	            gm_xstrdup("environment (" ENV_KEY ")"), true, true);
	/* monitor.* keys nobody reads: typos worth seeing. */
	if (repo ? git_repository_config(&gc, repo) < 0 : git_config_open_default(&gc) < 0) {
		git_error_clear();
		return;
	}
	/* No glob iterator: libgit2 1.5 leaks pcre2 match data on every miss. */
	if (git_config_snapshot(&snap, gc) == 0 && git_config_iterator_new(&it, snap) == 0) {
		while (git_config_next(&e, it) == 0) {
			bool seen = false;
			if (strncasecmp(e->name, "monitor.", 8) || known_key(e->name))
				continue;
			for (size_t i = 0; i < r->nsettings; i++)
				seen |= !r->settings[i].known && !strcasecmp(r->settings[i].key, e->name);
			if (!seen) {
				/* The key string must outlive the snapshot. */
				char *name = gm_xstrdup(e->name);
				add_setting(r, name, gm_xstrdup(e->value ? e->value : ""),
				            gm_xstrdup(gm_config_origin(cfg, name)), false, false);
			}
		}
	}
	git_error_clear();
	git_config_iterator_free(it);
	git_config_free(snap);
	git_config_free(gc);
}

/* A choice list "a|b|c" holds `v`. */
static bool one_of(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *c = choices; *c;) {
		size_t len = strcspn(c, "|");
		if (len == n && !strncmp(c, v, n))
			return true;
		c += len + (c[len] == '|');
	}
	return false;
}

/* Keep the first problem of the worst kind seen so far. */
static void note(enum gm_doctor_status *st, char **detail, char **hint,
                 enum gm_doctor_status nst, char *ndetail, char *nhint)
{
	if (*detail && (*st == GM_DOCTOR_FAIL || nst != GM_DOCTOR_FAIL)) {
		free(ndetail);
		free(nhint);
		return;
	}
	free(*detail);
	free(*hint);
	*st = nst;
	*detail = ndetail;
	*hint = nhint;
}

/* Values that would stop a run, and monitor.* keys nothing reads. */
static void check_config(struct gm_doctor_report *r, struct gm_config *cfg)
{
	struct gm_buf unknown = GM_BUF_INIT;
	enum gm_doctor_status st = GM_DOCTOR_OK;
	char *detail = NULL, *hint = NULL;
	size_t nknown = 0, nunknown = 0;

	for (const struct gm_config_key *k = gm_config_keys; k->key; k++) {
		const char *v = gm_config_string(cfg, k->key, NULL);
		int64_t n;
		if (!v)
			continue;
		nknown++;
		if (!strcmp(k->type, "count")) {
			if (gm_config_int(&n, cfg, k->key, 0) < 0 || n <= 0)
				note(&st, &detail, &hint, GM_DOCTOR_FAIL,
				     gm_xasprintf("%s = '%s' (from %s): not a positive whole number", k->key,
				                  v, gm_config_origin(cfg, k->key)),
				     gm_xasprintf("git config %s %s", k->key, k->def));
		} else if (strcmp(k->type, "string") && !one_of(k->type, v)) {
			note(&st, &detail, &hint, GM_DOCTOR_WARN,
			     gm_xasprintf("%s = '%s' (from %s): not one of %s; %s is used", k->key, v,
			                  gm_config_origin(cfg, k->key), k->type, k->def),
			     gm_xasprintf("git config %s %s", k->key, k->def));
		}
	}
	for (size_t i = 0; i < r->nsettings; i++)
		if (!r->settings[i].known)
			gm_buf_printf(&unknown, "%s%s", nunknown++ ? ", " : "", r->settings[i].key);
	if (nunknown)
		note(&st, &detail, &hint, GM_DOCTOR_WARN,
		     gm_xasprintf("unknown setting%s %s (not used by git-monitor)",
		                  nunknown == 1 ? "" : "s", unknown.ptr),
		     gm_xstrdup("a typo? 'git monitor doctor -v' lists the known keys"));
	if (!detail)
		detail = gm_xasprintf("%zu monitor.* setting%s configured, all valid", nknown,
		                      nknown == 1 ? "" : "s");
	add(r, "config", st, detail, hint);
	gm_buf_release(&unknown);
}

/* ---- driver ----------------------------------------------------------------- */

int gm_doctor_run(struct gm_doctor_report *out, const struct gm_doctor_options *opts)
{
	struct gm_doctor_options o = { 0 };
	struct gm_config *cfg = NULL;
	git_repository *repo = NULL;
	const char **urls = NULL, *dflt = GM_DEFAULT_LOCAL_URL;
	struct server srv = { 0 };
	bool repo_ok, grammars_ok, config_ok, server_ok = false, model_ok = false;
	size_t nurls;
	int rc;

	memset(out, 0, sizeof(*out));
	if (opts)
		o = *opts;
	if (o.timeout_s <= 0)
		o.timeout_s = DOCTOR_TIMEOUT_S;

	check_repository(out, &repo, o.path);
	repo_ok = out->checks[out->nchecks - 1].status != GM_DOCTOR_FAIL;
	check_grammars(out);
	grammars_ok = out->checks[out->nchecks - 1].status == GM_DOCTOR_OK;

	if ((rc = gm_config_load(&cfg, repo)) < 0)
		goto cleanup;
	collect_settings(out, cfg, repo);
	check_config(out, cfg);
	config_ok = out->checks[out->nchecks - 1].status != GM_DOCTOR_FAIL;

	nurls = gm_config_multi(&urls, cfg, "monitor.local.url");
	if (!nurls) {
		urls[0] = dflt;
		nurls = 1;
	}
	for (size_t i = 0; i < nurls; i++) {
		struct server s;
		if (check_server(out, &s, urls[i], o.root, o.timeout_s) == 0) {
			if (!server_ok) {
				srv = s;
			} else {
				free(s.url);
				free(s.models);
			}
			server_ok = true;
		}
	}
	/* A dead server next to a live one is a warning: the run uses the others. */
	if (server_ok)
		for (size_t i = 0; i < out->nchecks; i++)
			if (!strcmp(out->checks[i].check, "lmstudio") &&
			    out->checks[i].status == GM_DOCTOR_FAIL)
				out->checks[i].status = GM_DOCTOR_WARN;
	if (server_ok) {
		check_model(out, cfg, &srv, o.timeout_s);
		model_ok = out->checks[out->nchecks - 1].status != GM_DOCTOR_FAIL;
	} else {
		add(out, "model", GM_DOCTOR_SKIP,
		    gm_xstrdup("no LM Studio server answered, so no model could be checked"), NULL);
	}
	check_claude(out, cfg, o.timeout_s);
	out->local_ok = repo_ok && grammars_ok && config_ok && server_ok && model_ok;
	rc = 0;
cleanup:
	free(urls);
	free(srv.url);
	free(srv.models);
	gm_config_free(cfg);
	git_repository_free(repo);
	return rc;
}

void gm_doctor_report_release(struct gm_doctor_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nchecks; i++) {
		free(r->checks[i].detail);
		free(r->checks[i].hint);
	}
	for (size_t i = 0; i < r->nsettings; i++) {
		if (!r->settings[i].known)
			free((char *)r->settings[i].key);
		free(r->settings[i].value);
		free(r->settings[i].origin);
	}
	free(r->checks);
	free(r->settings);
	memset(r, 0, sizeof(*r));
}
