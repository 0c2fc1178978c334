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

/*
 * One row per configured URL from what the backend's set-up found there;
 * true when it answered with a model list.
 */
static bool report_server(struct gm_doctor_report *r, const struct gm_backend_server *s,
                          const char *port)
{
	const struct gm_backend_try *t = &s->asked;
	const char *url = t->url;

	if (t->status == 200 && t->listed < 0) {
		add(r, "lmstudio", GM_DOCTOR_FAIL,
		    gm_xasprintf("LM Studio at %s: GET /models answered without a model list", url),
		    gm_xasprintf("is %s the base URL of an OpenAI-compatible server (it usually ends in /v1)?",
		                 url));
	} else if (t->status == 200) {
		add(r, "lmstudio", GM_DOCTOR_OK,
		    gm_xasprintf("LM Studio at %s answered (%d models listed)", url, t->listed), NULL);
		return true;
	} else if (!t->unreachable) {
		add(r, "lmstudio", GM_DOCTOR_FAIL, gm_xasprintf("LM Studio at %s: %s", url, t->cause),
		    gm_xasprintf("is %s the base URL of an OpenAI-compatible server (LM Studio's ends "
		                 "in /v1, e.g. " GM_DEFAULT_LOCAL_URL ")?", url));
	} else if (s->wsl_host) {
		add(r, "lmstudio", GM_DOCTOR_OK,
		    gm_xasprintf("LM Studio answered at the Windows host %s (%s, %d models "
		                 "listed); %s did not answer under WSL2: %s",
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
		add(r, "lmstudio", GM_DOCTOR_FAIL,
		    gm_xasprintf("cannot reach LM Studio at %s: %s (WSL2: also tried the Windows "
		                 "host: %s)", url, t->cause, tried.ptr),
		    wsl_hint(port));
		gm_buf_release(&tried);
	} else if (s->wsl) {
		add(r, "lmstudio", GM_DOCTOR_FAIL,
		    gm_xasprintf("cannot reach LM Studio at %s: %s (WSL2: no Windows host address "
		                 "found in /proc/net/route or /etc/resolv.conf)", url, t->cause),
		    wsl_hint(port));
	} else {
		add(r, "lmstudio", GM_DOCTOR_FAIL,
		    gm_xasprintf("cannot reach LM Studio at %s: %s", url, t->cause),
		    gm_xasprintf("start the server (LM Studio: Developer > Start Server, or 'lms server "
		                 "start --port %s'), or point monitor.local.url / MONITOR_LOCAL_URL at it",
		                 port));
	}
	return false;
}

/*
 * One configured URL, set up as a backend of its own (so one bad URL does
 * not hide the others): 0 and the backend in *out when it answered with a
 * model list.
 */
static int check_server(struct gm_doctor_report *r, struct gm_backend **out, const char *cfg_url,
                        const char *model, const struct gm_doctor_options *o)
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
	if (gm_backend_new(&b, &c) < 0) {
		add(r, "lmstudio", GM_DOCTOR_FAIL,
		    gm_xasprintf("invalid LM Studio URL '%s': not http:// or https://", cfg_url),
		    gm_xstrdup("set monitor.local.url (or MONITOR_LOCAL_URL) to e.g. " GM_DEFAULT_LOCAL_URL));
		rc = GM_EUSAGE;
		goto cleanup;
	}
	/* Its failure is data: what the server said is in the record. */
	(void)gm_backend_prepare(b);
	s = gm_backend_server(b, 0);
	if (report_server(r, s, port)) {
		*out = b;
		b = NULL;
		rc = 0;
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
	c.probe_timeout_s = timeout_s;
	if (gm_backend_new(&b, &c) < 0) {
		add(r, "claude", GM_DOCTOR_FAIL, gm_xstrdup(gm_error_last()),
		    gm_xstrdup("set ANTHROPIC_BASE_URL / monitor.claude.url to e.g. " GM_DEFAULT_CLAUDE_URL));
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
	s->value = value;
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
	add(r, "config", status[c.verdict], c.detail, c.hint);
	c.detail = c.hint = NULL;
	gm_config_check_release(&c);
}

/* ---- driver ----------------------------------------------------------------- */

int gm_doctor_run(struct gm_doctor_report *out, const struct gm_doctor_options *opts)
{
	struct gm_doctor_options o = { 0 };
	struct gm_config *cfg = NULL;
	git_repository *repo = NULL;
	const char **urls = NULL, *dflt = GM_DEFAULT_LOCAL_URL, *want;
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
	for (size_t i = 0; i < nurls; i++) {
		struct gm_backend *b;
		if (check_server(out, &b, urls[i], want, &o) == 0) {
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
			if (!strcmp(out->checks[i].check, "lmstudio") &&
			    out->checks[i].status == GM_DOCTOR_FAIL)
				out->checks[i].status = GM_DOCTOR_WARN;
	if (server_ok) {
		check_model(out, srv, want);
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
	free(r->checks);
	free(r->settings);
	memset(r, 0, sizeof(*r));
}
