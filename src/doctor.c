/*
 * doctor.c: the checks of `git monitor doctor` (doctor.h).  Each check adds
 * one row to the report; nothing is printed here.  The servers are asked
 * through backend.h, as a run would ask them: doctor only words the result.
 */
#include "monitor/doctor.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <git2.h>

#include "monitor/backend.h"
#include "monitor/config.h"
#include "monitor/error.h"
#include "monitor/lang.h"
#include "monitor/openai.h"
#include "monitor/price.h"
#include "monitor/repo.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define DOCTOR_TIMEOUT_S 15
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

/* The port of a URL, for hints ("1234"; the scheme's default when absent). */
static char *port_of(const char *url)
{
	const char *h = strstr(url, "://"), *p;

	if (!h)
		return gm_xstrdup("1234");
	h += 3;
	for (const char *a = h; *a && !strchr("/?#", *a); a++)
		if (*a == '@')
			h = a + 1; /* past a userinfo: its password is no port */
	if (*h == '[' && strchr(h, ']'))
		h = strchr(h, ']') + 1;
	p = h + strcspn(h, ":/");
	if (*p == ':')
		return gm_xstrndup(p + 1, strcspn(p + 1, "/"));
	return gm_xstrdup(strncmp(url, "https", 5) ? "80" : "443");
}

static char *wsl_hint(const char *port)
{
	return gm_xasprintf(
		"WSL2: in LM Studio on Windows turn on Developer > Server Settings > "
		"\"Serve on Local Network\" and allow inbound TCP %s in Windows Firewall, "
		"or use mirrored networking (networkingMode=mirrored under [wsl2] in "
		"%%USERPROFILE%%\\.wslconfig, then 'wsl --shutdown') so localhost reaches Windows",
		port);
}

static bool is_server_check(const char *check)
{
	return !strcmp(check, "lmstudio") || !strcmp(check, "llamacpp") || !strcmp(check, "vllm") ||
	       !strcmp(check, "ollama");
}

/* How to start a server of this kind listening on `port`. */
static char *start_hint(const char *slug, const char *port)
{
	if (!strcmp(slug, "llamacpp"))
		return gm_xasprintf("start it ('llama-server -m <model.gguf> --port %s'), or point "
		                    "monitor.local.url / MONITOR_LOCAL_URL at it", port);
	if (!strcmp(slug, "vllm"))
		return gm_xasprintf("start it ('vllm serve <model> --port %s'), or point "
		                    "monitor.local.url / MONITOR_LOCAL_URL at it", port);
	if (!strcmp(slug, "ollama"))
		return gm_xasprintf("start it ('ollama serve'; its OpenAI base URL is "
		                    "http://<host>:%s/v1), or point monitor.local.url / "
		                    "MONITOR_LOCAL_URL at it", port);
	return gm_xasprintf("start the server (LM Studio: Developer > Start Server, or 'lms server "
	                    "start --port %s'), or point monitor.local.url / MONITOR_LOCAL_URL at it",
	                    port);
}

/* "context 8192 tokens, 4 slots, 3 ms" of a server that answered. */
static char *server_facts(const struct gm_backend_server *s)
{
	struct gm_buf b = GM_BUF_INIT;

	if (s->model)
		gm_buf_printf(&b, "%s, ", s->model);
	if (s->context > 0)
		gm_buf_printf(&b, "context %lld tokens, ", (long long)s->context);
	else
		gm_buf_puts(&b, "context unknown, ");
	gm_buf_printf(&b, "%zu slot%s, GET /models in %llu ms", s->slots, s->slots == 1 ? "" : "s",
	              (unsigned long long)s->latency_ms);
	return gm_buf_detach(&b, NULL);
}

/*
 * One row per configured URL from what the backend's set-up found there;
 * true when it answered with a model list.  An LM Studio row reads as it
 * always has; the other kinds name their kind and figures.
 */
static bool report_server(struct gm_doctor_report *r, const struct gm_backend_server *s,
                          const char *port)
{
	const struct gm_backend_try *t = &s->asked;
	const char *url = t->url;
	const char *name = s->kind ? s->kind : "LM Studio";
	const char *check = s->kind_slug ? s->kind_slug : "lmstudio";
	bool lms = !strcmp(check, "lmstudio");

	if (t->status == 200 && t->listed < 0) {
		add(r, check, GM_DOCTOR_FAIL,
		    gm_xasprintf("%s at %s: GET /models answered without a model list", name, url),
		    gm_xasprintf("is %s the base URL of an OpenAI-compatible server (it usually ends in /v1)?",
		                 url));
	} else if (t->status == 200 && lms) {
		add(r, check, GM_DOCTOR_OK,
		    gm_xasprintf("LM Studio at %s answered (%d models listed)", url, t->listed), NULL);
		return true;
	} else if (t->status == 200) {
		char *facts = server_facts(s);
		add(r, check, GM_DOCTOR_OK,
		    gm_xasprintf("%s at %s answered (%d model%s listed): %s", name, url, t->listed,
		                 t->listed == 1 ? "" : "s", facts),
		    s->key_missing ? gm_xasprintf("%s (the key variable named for it) is not set", s->key_env)
		                   : NULL);
		free(facts);
		return true;
	} else if (!t->unreachable) {
		add(r, check, GM_DOCTOR_FAIL, gm_xasprintf("%s at %s: %s", name, url, t->cause),
		    (t->status == 401 || t->status == 403) && s->key_env
		    ? gm_xasprintf("%s: check the key in %s%s", url, s->key_env,
		                   s->key_missing ? " (not set)" : "")
		    : (t->status == 401 || t->status == 403) && !lms
		    ? gm_xasprintf("name the environment variable holding its key: 'key=VAR %s' in "
		                   "monitor.local.url, or monitor.local.apiKey", url)
		    : gm_xasprintf("is %s the base URL of an OpenAI-compatible server (LM Studio's ends "
		                   "in /v1, e.g. " GM_DEFAULT_LOCAL_URL ")?", url));
	} else if (s->wsl_host) {
		add(r, check, GM_DOCTOR_OK,
		    gm_xasprintf("%s answered at the Windows host %s (%s, %d models "
		                 "listed); %s did not answer under WSL2: %s", name,
		                 s->wsl_host, s->url, s->wsl_tries[s->nwsl - 1].listed, url, t->cause),
		    gm_xasprintf("the host address can change across reboots; with mirrored "
		                 "networking (networkingMode=mirrored under [wsl2] in "
		                 "%%USERPROFILE%%\\.wslconfig, then 'wsl --shutdown') %s works "
		                 "as configured", url));
		return true;
	} else if (s->wsl && s->nwsl) {
		struct gm_buf tried = GM_BUF_INIT;
		for (size_t i = 0; i < s->nwsl; i++)
			gm_buf_printf(&tried, "%s%s: %s", i ? "; " : "", s->wsl_tries[i].url,
			              s->wsl_tries[i].cause);
		add(r, check, GM_DOCTOR_FAIL,
		    gm_xasprintf("cannot reach %s at %s: %s (WSL2: also tried the Windows "
		                 "host: %s)", name, url, t->cause, tried.ptr),
		    wsl_hint(port));
		gm_buf_release(&tried);
	} else if (s->wsl) {
		add(r, check, GM_DOCTOR_FAIL,
		    gm_xasprintf("cannot reach %s at %s: %s (WSL2: no Windows host address "
		                 "found in /proc/net/route or /etc/resolv.conf)", name, url, t->cause),
		    wsl_hint(port));
	} else {
		add(r, check, GM_DOCTOR_FAIL,
		    gm_xasprintf("cannot reach %s at %s: %s", name, url, t->cause),
		    start_hint(check, port));
	}
	return false;
}

/* Keep what set-up learned of a server for -v (figures and their sources). */
static void keep_server(struct gm_doctor_report *r, const struct gm_backend_server *s, bool answered)
{
	struct gm_doctor_server *d;

	GM_GROW(r->servers, r->cap_servers, r->nservers + 1);
	d = &r->servers[r->nservers++];
	memset(d, 0, sizeof(*d));
	d->url = gm_xstrdup(s->asked.url ? s->asked.url : s->url);
	d->answered = answered;
	d->kind = gm_xstrdup(s->kind ? s->kind : "LM Studio");
	d->kind_from = gm_xstrdup(s->kind_from ? s->kind_from
	                                       : "not known: the server did not answer (LM Studio "
	                                         "unless kind= or monitor.local.kind says otherwise)");
	d->model = s->model ? gm_xstrdup(s->model) : NULL;
	d->model_from = s->model_from ? gm_xstrdup(s->model_from) : NULL;
	d->context = (long long)s->context;
	d->context_from = s->context_from ? gm_xstrdup(s->context_from) : NULL;
	d->slots = s->slots;
	d->slots_from = s->slots_from ? gm_xstrdup(s->slots_from) : NULL;
	d->latency_ms = (unsigned long long)s->latency_ms;
	d->key_env = s->key_env ? gm_xstrdup(s->key_env) : NULL;
	d->key_missing = s->key_missing;
}

/*
 * One configured URL, set up as a backend of its own (so one bad URL does
 * not hide the others): 0 and the backend in *out when it answered with a
 * model list.
 */
static int check_server(struct gm_doctor_report *r, struct gm_backend **out, const char *cfg_url,
                        const char *model, const char *kind, const char *key_env,
                        const struct gm_doctor_options *o)
{
	struct gm_backend_config c = { 0 };
	const struct gm_backend_server *s;
	struct gm_backend *b = NULL;
	char *port = port_of(cfg_url);
	int rc = GM_ERROR;

	*out = NULL;
	c.kind = GM_BACKEND_LOCAL;
	c.urls = &cfg_url;
	c.nurls = 1;
	c.model = model;
	c.probe_timeout_s = o->timeout_s;
	c.inspect = true;
	c.wsl_root = o->root;
	c.server_kind = kind;
	c.key_env = key_env;
	if (gm_backend_new(&b, &c) < 0) {
		char *shown = gm_backend_redact(cfg_url);
		if (strstr(gm_error_last(), "not http:// or https://"))
			add(r, "lmstudio", GM_DOCTOR_FAIL,
			    gm_xasprintf("invalid LM Studio URL '%s': not http:// or https://", shown),
			    gm_xstrdup("set monitor.local.url (or MONITOR_LOCAL_URL) to e.g. "
			               GM_DEFAULT_LOCAL_URL));
		else
			add(r, "lmstudio", GM_DOCTOR_FAIL, gm_xstrdup(gm_error_last()),
			    gm_xstrdup("entries of monitor.local.url read '[kind=K] [slots=N] [key=VAR] URL'"));
		free(shown);
		rc = GM_EUSAGE;
		goto cleanup;
	}
	/* Its failure is data: what the server said is in the record. */
	(void)gm_backend_prepare(b);
	s = gm_backend_server(b, 0);
	if (report_server(r, s, port)) {
		keep_server(r, s, true);
		*out = b;
		b = NULL;
		rc = 0;
	} else {
		keep_server(r, s, false);
	}
cleanup:
	gm_backend_free(b);
	free(port);
	return rc;
}

/* ---- the model ---------------------------------------------------------- */

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

/* The model of a server that is not LM Studio: what its /models lists and set-up read. */
static void check_model_other(struct gm_doctor_report *r, const struct gm_backend_server *s,
                              const char *want)
{
	cJSON *list = cJSON_Parse(s->models);
	struct gm_buf ids = GM_BUF_INIT;
	const cJSON *it;
	bool listed = false;
	char *ctx = s->context > 0 ? gm_xasprintf("context %lld tokens (%s)", (long long)s->context,
	                                          s->context_from)
	                           : gm_xasprintf("context %s", s->context_from ? s->context_from
	                                                                        : "unknown");

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "data")) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		if (!cJSON_IsString(id) || !id->valuestring[0])
			continue;
		gm_buf_printf(&ids, "%s%s", ids.len ? ", " : "", id->valuestring);
		listed |= want && !strcmp(id->valuestring, want);
	}
	if (want && !listed && !strcmp(s->kind_slug, "llamacpp"))
		add(r, "model", GM_DOCTOR_WARN,
		    gm_xasprintf("llama.cpp at %s serves one model (%s) and ignores monitor.local.model "
		                 "'%s'; %s", s->url, ids.len ? ids.ptr : "unnamed", want, ctx),
		    gm_xstrdup("answers name the model that gave them, so they are cached apart"));
	else if (want && !listed)
		add(r, "model", GM_DOCTOR_FAIL,
		    gm_xasprintf("%s at %s does not serve monitor.local.model '%s' (it lists: %s)",
		                 s->kind, s->url, want, ids.len ? ids.ptr : "nothing"),
		    !strcmp(s->kind_slug, "ollama")
		    ? gm_xasprintf("pull it ('ollama pull %s'), or set monitor.local.model to one of the "
		                   "listed ids", want)
		    : gm_xstrdup("set monitor.local.model to the served name (vllm serve "
		                 "--served-model-name), one of the listed ids"));
	else if (s->model)
		add(r, "model", GM_DOCTOR_OK,
		    gm_xasprintf("%s (%s), %s", s->model, s->model_from, ctx), NULL);
	else
		add(r, "model", GM_DOCTOR_FAIL,
		    gm_xasprintf("%s at %s lists no model to use (%s)", s->kind, s->url,
		                 ids.len ? ids.ptr : "nothing"),
		    !strcmp(s->kind_slug, "ollama") ? gm_xstrdup("pull one: 'ollama pull <model>'")
		                                    : gm_xstrdup("load a chat model into the server"));
	free(ctx);
	gm_buf_release(&ids);
	cJSON_Delete(list);
}

/* The model a run would use on the server that answered (`want`: configured, or NULL). */
static void check_model(struct gm_doctor_report *r, struct gm_backend *b, const char *want)
{
	const struct gm_backend_server *s = gm_backend_server(b, 0);
	const char *v0t = s->v0_models, *v1t = s->v1_models;
	cJSON *list = cJSON_Parse(s->models), *v0 = v0t ? cJSON_Parse(v0t) : NULL;
	cJSON *v1 = v1t ? cJSON_Parse(v1t) : NULL;
	const char *first_llm = NULL, *pick = NULL;
	struct gm_buf ids = GM_BUF_INIT;
	const cJSON *it;
	bool listed = false, any_embedding = false;
	int pick_state = -1;

	if (s->kind_slug && strcmp(s->kind_slug, "lmstudio")) {
		cJSON_Delete(list);
		cJSON_Delete(v0);
		cJSON_Delete(v1);
		check_model_other(r, s, want);
		return;
	}

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
		struct gm_backend_probe p;
		/* JIT off lists loaded models only: name a downloaded one in the hint. */
		if (!first_llm)
			first_llm = downloaded_llm(v0, v1);
		/* What a run asking for text gets: the server's own words. */
		if (gm_backend_probe(&p, b, 0) == 0) {
			char *ctx = context_text(p.model, v0t, v1t);
			add(r, "model", GM_DOCTOR_OK,
			    gm_xasprintf("%s (answered a one-token test prompt), %s", p.model, ctx), NULL);
			free(ctx);
		} else {
			add(r, "model", GM_DOCTOR_FAIL,
			    gm_xasprintf("LM Studio at %s: %s%s", s->url,
			                 any_embedding && !first_llm ? "only embedding models are available; " : "",
			                 p.cause),
			    first_llm ? gm_xasprintf("load a model: 'lms load %s' (or in LM Studio's Developer "
			                             "page), or set monitor.local.model to a downloaded model",
			                             first_llm)
			              : gm_xstrdup("load a chat model (not an embedding model): 'lms load <model>' "
			                           "or in LM Studio's Developer page"));
		}
		gm_backend_probe_release(&p);
	}
	gm_buf_release(&ids);
	cJSON_Delete(list);
	cJSON_Delete(v0);
	cJSON_Delete(v1);
}

/* ---- the fleet -------------------------------------------------------------- */

/* With more than one server answering: their slots, and whether they serve one model. */
static void check_fleet(struct gm_doctor_report *r)
{
	struct gm_buf list = GM_BUF_INIT, models = GM_BUF_INIT;
	size_t n = 0, slots = 0;
	const char *first = NULL;
	bool mixed = false;

	for (size_t i = 0; i < r->nservers; i++) {
		const struct gm_doctor_server *d = &r->servers[i];
		if (!d->answered)
			continue;
		n++;
		slots += d->slots;
		gm_buf_printf(&list, "%s%s %s (%zu)", list.len ? ", " : "", d->kind, d->url, d->slots);
		if (d->model && !first)
			first = d->model;
		else if (d->model && strcmp(d->model, first))
			mixed = true;
		gm_buf_printf(&models, "%s%s: %s", models.len ? "; " : "", d->url,
		              d->model ? d->model : "unknown");
	}
	if (n > 1)
		add(r, "fleet", mixed ? GM_DOCTOR_WARN : GM_DOCTOR_OK,
		    mixed ? gm_xasprintf("%zu servers answered, %zu slots in all, serving different "
		                         "models (%s)", n, slots, models.ptr)
		          : gm_xasprintf("%zu servers answered, %zu slots in all: %s", n, slots, list.ptr),
		    mixed ? gm_xstrdup("answers are cached per model, so they never mix; set "
		                       "monitor.local.model to have them all asked for one")
		          : NULL);
	gm_buf_release(&list);
	gm_buf_release(&models);
}

/* ---- Claude --------------------------------------------------------------- */

static void check_claude(struct gm_doctor_report *r, struct gm_config *cfg, long timeout_s)
{
	const char *key = getenv(ENV_KEY), *cause, *url;
	const char *model = gm_config_string(cfg, "monitor.claude.model", GM_CLAUDE_DEFAULT_MODEL);
	const char *cfg_url = gm_config_string(cfg, "monitor.claude.url", GM_DEFAULT_CLAUDE_URL);
	struct gm_backend_config c = { 0 };
	struct gm_backend_probe p = { 0 };
	struct gm_backend *b = NULL;

	if (!key || !*key) {
		add(r, "claude", GM_DOCTOR_SKIP,
		    gm_xstrdup("ANTHROPIC_API_KEY is not set: local-only mode, every task goes to LM Studio"),
		    gm_xstrdup("export ANTHROPIC_API_KEY to send complex functions to Claude"));
		return;
	}
	c.kind = GM_BACKEND_CLAUDE;
	c.urls = &cfg_url;
	c.nurls = 1;
	c.api_key = key;
	c.api_key_var = ENV_KEY;
	c.probe_timeout_s = timeout_s;
	if (gm_backend_new(&b, &c) < 0) {
		bool bad_key = strstr(gm_error_last(), ENV_KEY) != NULL;
		add(r, "claude", GM_DOCTOR_FAIL, gm_xstrdup(gm_error_last()),
		    gm_xstrdup(bad_key ? "export " ENV_KEY " as the key alone, e.g. "
		                         "ANTHROPIC_API_KEY=\"$(tr -d '\\r\\n' < keyfile)\""
		                       : "set ANTHROPIC_BASE_URL / monitor.claude.url to e.g. "
		                         GM_DEFAULT_CLAUDE_URL));
		return;
	}
	url = gm_backend_server(b, 0)->url;
	if (gm_backend_probe(&p, b, 0) == 0)
		add(r, "claude", GM_DOCTOR_OK,
		    gm_xasprintf("Claude API at %s accepted the key (model %s)", url, model), NULL);
	else if (p.unreachable)
		add(r, "claude", GM_DOCTOR_FAIL, gm_xstrdup(gm_error_last()),
		    gm_xstrdup("check the network, or ANTHROPIC_BASE_URL / monitor.claude.url"));
	else if (strstr((cause = p.cause), "authentication_error"))
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
	gm_backend_probe_release(&p);
	gm_backend_free(b);
}

/* ---- settings ------------------------------------------------------------- */

static void add_setting(struct gm_doctor_report *r, const char *key, char *value, char *origin,
                        bool secret, bool known)
{
	struct gm_doctor_setting *s;

	GM_GROW(r->settings, r->cap_settings, r->nsettings + 1);
	s = &r->settings[r->nsettings++];
	s->key = key;
	s->value = value ? gm_backend_redact(value) : NULL; /* a URL may hold a password */
	free(value);
	s->origin = origin;
	s->secret = secret;
	s->known = known;
}


/* The settings (config.c checks them), the key's row, and the "config" check. */
static void check_config(struct gm_doctor_report *r, struct gm_config *cfg, git_repository *repo)
{
	static const enum gm_doctor_status status[] = {
		[GM_CONFIG_VALID] = GM_DOCTOR_OK,
		[GM_CONFIG_WARN] = GM_DOCTOR_WARN,
		[GM_CONFIG_FAIL] = GM_DOCTOR_FAIL,
	};
	const char *key = getenv(ENV_KEY);
	struct gm_config_check c;
	size_t i = 0;

	gm_config_check(&c, cfg, repo);
	/* Known keys, then the Claude key (never its value), then unknown keys. */
	for (; i < c.nsettings && c.settings[i].known; i++) {
		add_setting(r, c.settings[i].key, c.settings[i].value, c.settings[i].origin, false, true);
		c.settings[i].value = c.settings[i].origin = NULL;
	}
	add_setting(r, ENV_KEY, gm_xstrdup(key && *key ? "set" : "unset"),
	            gm_xstrdup("environment (" ENV_KEY ")"), true, true);
	for (; i < c.nsettings; i++) {
		add_setting(r, gm_xstrdup(c.settings[i].key), c.settings[i].value, c.settings[i].origin,
		            false, false);
		c.settings[i].value = c.settings[i].origin = NULL;
	}
	add(r, "config", status[c.verdict], c.detail ? gm_backend_redact(c.detail) : NULL,
	    c.hint ? gm_backend_redact(c.hint) : NULL);
	gm_config_check_release(&c);
}

/* ---- driver ----------------------------------------------------------------- */

int gm_doctor_run(struct gm_doctor_report *out, const struct gm_doctor_options *opts)
{
	struct gm_doctor_options o = { 0 };
	struct gm_config *cfg = NULL;
	git_repository *repo = NULL;
	const char **urls = NULL, *dflt = GM_DEFAULT_LOCAL_URL, *want, *kind, *key_env;
	struct gm_backend *srv = NULL;
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
	check_config(out, cfg, repo);
	config_ok = out->checks[out->nchecks - 1].status != GM_DOCTOR_FAIL;

	nurls = gm_config_multi(&urls, cfg, "monitor.local.url");
	if (!nurls) {
		urls[0] = dflt;
		nurls = 1;
	}
	want = gm_config_string(cfg, "monitor.local.model", NULL);
	if (want && !*want)
		want = NULL;
	kind = gm_config_string(cfg, "monitor.local.kind", NULL);
	key_env = gm_config_string(cfg, "monitor.local.apiKey", NULL);
	for (size_t i = 0; i < nurls; i++) {
		struct gm_backend *b;
		if (check_server(out, &b, urls[i], want, kind, key_env, &o) == 0) {
			if (!server_ok)
				srv = b;
			else
				gm_backend_free(b);
			server_ok = true;
		}
	}
	/* A dead server next to a live one is a warning: the run uses the others. */
	if (server_ok)
		for (size_t i = 0; i < out->nchecks; i++)
			if (is_server_check(out->checks[i].check) &&
			    out->checks[i].status == GM_DOCTOR_FAIL)
				out->checks[i].status = GM_DOCTOR_WARN;
	if (server_ok) {
		check_model(out, srv, want);
		model_ok = out->checks[out->nchecks - 1].status != GM_DOCTOR_FAIL;
		check_fleet(out);
	} else {
		add(out, "model", GM_DOCTOR_SKIP,
		    gm_xstrdup("no LM Studio server answered, so no model could be checked"), NULL);
	}
	check_claude(out, cfg, o.timeout_s);
	out->local_ok = repo_ok && grammars_ok && config_ok && server_ok && model_ok;
	rc = 0;
cleanup:
	free(urls);
	gm_backend_free(srv);
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
	for (size_t i = 0; i < r->nservers; i++) {
		struct gm_doctor_server *d = &r->servers[i];
		free(d->url);
		free(d->kind);
		free(d->kind_from);
		free(d->model);
		free(d->model_from);
		free(d->context_from);
		free(d->slots_from);
		free(d->key_env);
	}
	free(r->servers);
	free(r->checks);
	free(r->settings);
	memset(r, 0, sizeof(*r));
}
