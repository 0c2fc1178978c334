/*
 * pipeline.c: the scheduler of a refactor run.
 *
 * Tasks are rewrites (one unit, to the local model, escalated to Claude) or
 * analyses (a complex cluster, to Claude or the local model, whose plan
 * releases the cluster's rewrites and adds call-site rewrites).  Every model
 * request goes through the engine, which keeps every allowed slot busy; a
 * completion is validated at once and may submit a retry, an escalation or
 * the rewrites a plan unlocked, so scheduling never waits for a batch.
 * Answers are cached by everything that shaped them, so a re-run with
 * nothing changed sends no request.
 */
#include "monitor/pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor/backend.h"
#include "monitor/cache.h"
#include "monitor/commit.h"
#include "monitor/error.h"
#include "monitor/extract.h"
#include "monitor/index.h"
#include "monitor/merge.h"
#include "monitor/notes.h"
#include "monitor/plan.h"
#include "monitor/price.h"
#include "monitor/prompt.h"
#include "monitor/repo.h"
#include "monitor/util.h"
#include "monitor/validate.h"
#include "monitor/banned.h"

#define MAX_LOCAL_ATTEMPTS 3 /* the first answer and two retries */
#define MAX_CLAUDE_ATTEMPTS 2
#define CACHE_MAX (16u * 1024 * 1024)
#define DEFAULT_GOAL "improve readability and structure without changing behaviour"

static volatile sig_atomic_t interrupted;
static struct gm_engine *volatile running_engine;

void gm_pipeline_interrupt(void)
{
	struct gm_engine *e = running_engine;
	interrupted = 1;
	if (e)
		gm_engine_cancel(e);
}

static const char *const status_names[] = {
	"pending", "applied", "unchanged", "rejected", "failed", "skipped", "dropped"
};

const char *gm_task_status_name(enum gm_task_status s)
{
	return status_names[s];
}

enum task_type { T_REWRITE, T_ANALYSIS };

struct task {
	enum task_type type;
	size_t rt;          /* index into report->tasks */
	size_t unit;        /* rewrite: global unit id */
	size_t *cluster;    /* analysis: unit ids */
	size_t ncluster;
	bool held;          /* rewrite waiting for its cluster's plan */
	bool planned;       /* the plan named it (instructions gathered) */
	bool on_claude;
	bool allow_shrink;
	char *new_name, *new_signature;
	char *prev_error;
	unsigned tries;     /* on the current backend */
	char *cache_key;
	struct gm_validate_result vr; /* accepted answer */
	bool accepted;
};

/* The base text of a file, read once from its blob. */
struct source {
	char *data;
	size_t len;
	bool loaded;
};

struct ready {
	struct task *t;
	char *content, *finish, *model;
};

struct run {
	git_repository *repo;
	struct gm_config *cfg;
	const struct gm_run_opts *opts;
	struct gm_index *idx;
	struct gm_run_report *rep;
	struct gm_cache *cache;
	struct gm_engine *engine;
	struct gm_backend *local, *claude;
	const char *goal;
	struct task **tasks;
	size_t ntasks, ctasks;
	size_t rtcap;
	long *task_of_unit; /* unit id -> task index, -1 */
	struct source *src; /* per file */
	struct ready *ready;
	size_t nready, cready;
	gm_progress_fn progress;
	void *progress_ctx;
	uint64_t t0, last_progress;
	size_t done, total;
	TSParser *parser;
	bool claude_blocked; /* --max-cost spent */
};

/* ---- small helpers ------------------------------------------------------ */

static char *unit_display_name(const struct gm_unit *u)
{
	return u->ordinal ? gm_xasprintf("%s#%u", u->name, u->ordinal) : gm_xstrdup(u->name);
}

static void warn(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct run *r, const char *fmt, ...)
{
	struct gm_buf b = GM_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	gm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	r->rep->warnings = gm_xrealloc(r->rep->warnings, (r->rep->nwarnings + 1) * sizeof(char *));
	r->rep->warnings[r->rep->nwarnings++] = gm_buf_detach(&b, NULL);
}

static int load_source(struct run *r, size_t file)
{
	struct source *s = &r->src[file];
	git_blob *blob = NULL;
	if (s->loaded)
		return 0;
	if (git_blob_lookup(&blob, r->repo, &r->idx->files[file].oid) < 0)
		return gm_error_git(GM_EFATAL, "cannot read '%s'", r->idx->files[file].path);
	s->len = (size_t)git_blob_rawsize(blob);
	s->data = gm_xstrndup(git_blob_rawcontent(blob), s->len);
	s->loaded = true;
	git_blob_free(blob);
	return 0;
}

static struct gm_run_task *rtask(struct run *r, const struct task *t)
{
	return &r->rep->tasks[t->rt];
}

static size_t new_report_task(struct run *r)
{
	GM_GROW(r->rep->tasks, r->rtcap, r->rep->ntasks + 1);
	memset(&r->rep->tasks[r->rep->ntasks], 0, sizeof(struct gm_run_task));
	return r->rep->ntasks++;
}

static struct task *new_task(struct run *r, enum task_type type)
{
	struct task *t = gm_xcalloc(1, sizeof(*t));
	t->type = type;
	t->rt = new_report_task(r);
	GM_GROW(r->tasks, r->ctasks, r->ntasks + 1);
	r->tasks[r->ntasks++] = t;
	r->total++;
	return t;
}

static struct task *new_rewrite(struct run *r, size_t unit)
{
	struct task *t = new_task(r, T_REWRITE);
	const struct gm_unit *u = gm_index_unit(r->idx, unit);
	struct gm_run_task *rt = rtask(r, t);
	t->unit = unit;
	r->task_of_unit[unit] = (long)(r->ntasks - 1);
	rt->path = gm_xstrdup(r->idx->files[r->idx->units[unit].file].path);
	rt->name = unit_display_name(u);
	rt->kind = gm_xstrdup("rewrite");
	rt->route = gm_xstrdup("local");
	rt->start_line = u->start_line;
	rt->end_line = u->end_line;
	return t;
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? gm_xstrdup(s) : NULL;
}

static void finish_task(struct run *r, struct task *t, enum gm_task_status st, const char *reason)
{
	struct gm_run_task *rt = rtask(r, t);
	rt->status = st;
	set_str(&rt->reason, reason);
	r->done++;
}

/* An accepted edit that did not make it into the commit (already counted done). */
static void mark_dropped(struct run *r, struct task *t, const char *reason)
{
	struct gm_run_task *rt = rtask(r, t);
	rt->status = GM_TASK_DROPPED;
	set_str(&rt->reason, reason);
}

static void report_progress(struct run *r, bool force)
{
	struct gm_progress p;
	uint64_t now = gm_now_ms();
	double secs;
	if (!r->progress || (!force && now - r->last_progress < 100))
		return;
	r->last_progress = now;
	secs = (double)(now - r->t0) / 1000.0;
	p.done = r->done;
	p.total = r->total;
	p.running_local = r->engine && r->local ? gm_engine_inflight(r->engine, r->local) : 0;
	p.running_claude = r->engine && r->claude ? gm_engine_inflight(r->engine, r->claude) : 0;
	p.tokens_per_s = secs > 0 ? (double)r->rep->output_tokens / secs : 0;
	p.cost_usd = r->rep->cost_usd;
	r->progress(r->progress_ctx, &p);
}

/* ---- targets ------------------------------------------------------------- */

struct file_ranges {
	char *path;
	struct gm_line_range *v;
	size_t n, cap;
};

struct ranges {
	struct file_ranges *f;
	size_t n, cap;
};

static int hunk_cb(const git_diff_delta *delta, const git_diff_hunk *hunk, void *payload)
{
	struct ranges *rs = payload;
	struct file_ranges *fr;
	struct gm_line_range *g;
	if (!delta->new_file.path)
		return 0;
	if (!rs->n || strcmp(rs->f[rs->n - 1].path, delta->new_file.path) != 0) {
		GM_GROW(rs->f, rs->cap, rs->n + 1);
		memset(&rs->f[rs->n], 0, sizeof(rs->f[rs->n]));
		rs->f[rs->n++].path = gm_xstrdup(delta->new_file.path);
	}
	fr = &rs->f[rs->n - 1];
	GM_GROW(fr->v, fr->cap, fr->n + 1);
	g = &fr->v[fr->n++];
	/* plan.h's convention: a pure deletion after line s is {s + 1, s}. */
	g->start = (uint32_t)hunk->new_start + (hunk->new_lines == 0);
	g->end = (uint32_t)(hunk->new_start + hunk->new_lines - (hunk->new_lines > 0));
	return 0;
}

static void ranges_release(struct ranges *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->f[i].path);
		free(rs->f[i].v);
	}
	free(rs->f);
}

/* Changed line ranges (new side) between `old` (NULL: empty) and the base or index. */
static int changed_ranges(struct ranges *out, git_repository *repo, git_tree *old, git_tree *new_tree,
                          bool to_index)
{
	git_diff_options o;
	git_diff *diff = NULL;
	int rc;
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	o.context_lines = 0;
	o.flags = GIT_DIFF_SKIP_BINARY_CHECK;
	if (to_index)
		rc = git_diff_tree_to_index(&diff, repo, old, NULL, &o);
	else
		rc = git_diff_tree_to_tree(&diff, repo, old, new_tree, &o);
	if (rc < 0)
		return gm_error_git(GM_EFATAL, "cannot diff");
	rc = git_diff_foreach(diff, NULL, NULL, hunk_cb, NULL, out);
	git_diff_free(diff);
	if (rc < 0)
		return gm_error_git(GM_EFATAL, "cannot diff");
	return 0;
}

static bool touched(const struct ranges *rs, const char *path, const struct gm_unit *u)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->f[i].path, path) == 0)
			return gm_plan_unit_touched(u, rs->f[i].v, rs->f[i].n);
	return false;
}

static int tree_of(git_tree **out, git_repository *repo, const char *rev)
{
	git_commit *c = NULL;
	int rc = gm_repo_resolve_commit(&c, repo, rev);
	if (rc < 0)
		return rc;
	rc = git_commit_tree(out, c) < 0 ? gm_error_git(GM_EFATAL, "cannot read '%s'", rev) : 0;
	git_commit_free(c);
	return rc;
}

/* Target unit ids, in file order. */
static int select_targets(size_t **out, size_t *nout, struct run *r)
{
	const struct gm_run_opts *o = r->opts;
	struct ranges rs = { 0 };
	bool by_diff = o->since || o->staged;
	size_t *v = gm_xcalloc(r->idx->nunits + 1, sizeof(*v)), n = 0;
	int rc = 0;

	if (o->since) {
		git_tree *old = NULL, *base = NULL;
		if ((rc = tree_of(&old, r->repo, o->since)) == 0 &&
		    (rc = tree_of(&base, r->repo, o->base ? o->base : "HEAD")) == 0)
			rc = changed_ranges(&rs, r->repo, old, base, false);
		git_tree_free(old);
		git_tree_free(base);
	} else if (o->staged) {
		git_tree *head = NULL;
		if (git_repository_head_unborn(r->repo) != 1 && (rc = tree_of(&head, r->repo, "HEAD")) < 0)
			goto cleanup;
		rc = changed_ranges(&rs, r->repo, head, NULL, true);
		git_tree_free(head);
	}
	if (rc < 0)
		goto cleanup;
	for (size_t id = 0; id < r->idx->nunits; id++) {
		const struct gm_file *f = &r->idx->files[r->idx->units[id].file];
		const struct gm_unit *u = gm_index_unit(r->idx, id);
		if (!f->target || (o->nfunctions && !gm_plan_match_function(u, o->functions, o->nfunctions)))
			continue;
		if (by_diff && !touched(&rs, f->path, u))
			continue;
		v[n++] = id;
	}
cleanup:
	ranges_release(&rs);
	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	*nout = n;
	return 0;
}

/* ---- backends ------------------------------------------------------------ */

static bool path_local_only(const struct run *r, size_t unit)
{
	return r->opts->local_only || r->idx->files[r->idx->units[unit].file].local_only;
}

static int64_t estimate_tokens(size_t prompt_bytes, size_t code_bytes)
{
	struct gm_token_estimate e;
	gm_plan_estimate(&e, prompt_bytes, code_bytes);
	return (int64_t)e.total;
}

static bool claude_allowed(struct run *r, int64_t est_tokens)
{
	double est;
	if (!r->claude || r->claude_blocked)
		return false;
	if (!r->opts->has_max_cost)
		return true;
	est = gm_price_cost(gm_backend_model(r->claude), est_tokens, est_tokens / 2, 0, 0);
	/* A budget of 0 means nothing at all goes to Claude. */
	if (r->rep->cost_usd + est >= r->opts->max_cost) {
		if (!r->claude_blocked)
			warn(r, "--max-cost $%.4f reached: no more requests to Claude", r->opts->max_cost);
		r->claude_blocked = true;
		return false;
	}
	return true;
}

static int make_backends(struct run *r)
{
	const struct gm_run_opts *o = r->opts;
	struct gm_backend_config lc = { 0 }, cc = { 0 };
	const char **urls = NULL, *one[1];
	const char *key = getenv("ANTHROPIC_API_KEY"); /* secrets: environment only */
	int64_t conc, timeout, cconc;
	size_t nurls;
	int rc;

	if ((rc = gm_config_int(&conc, r->cfg, "monitor.local.concurrency", 4)) < 0 ||
	    (rc = gm_config_int(&timeout, r->cfg, "monitor.local.timeout", 600)) < 0 ||
	    (rc = gm_config_int(&cconc, r->cfg, "monitor.claude.concurrency", 4)) < 0)
		return rc;
	nurls = gm_config_multi(&urls, r->cfg, "monitor.local.url");
	if (nurls) {
		lc.urls = urls;
		lc.nurls = nurls;
	} else {
		one[0] = GM_DEFAULT_LOCAL_URL;
		lc.urls = one;
		lc.nurls = 1;
	}
	lc.kind = GM_BACKEND_LOCAL;
	lc.model = gm_config_string(r->cfg, "monitor.local.model", NULL);
	lc.concurrency = o->jobs > 0 ? o->jobs : (int)(conc > 0 ? conc : 4);
	lc.timeout_s = timeout > 0 ? (long)timeout : 600;
	lc.stream = true;
	rc = gm_backend_new(&r->local, &lc);
	free(urls);
	if (rc < 0)
		return rc;

	if (key && *key && !o->local_only) {
		const char *u = gm_config_string(r->cfg, "monitor.claude.url", GM_DEFAULT_CLAUDE_URL);
		cc.kind = GM_BACKEND_CLAUDE;
		cc.urls = &u;
		cc.nurls = 1;
		cc.model = gm_config_string(r->cfg, "monitor.claude.model", NULL);
		cc.api_key = key;
		cc.concurrency = (int)(cconc > 0 ? cconc : 4);
		cc.timeout_s = 600;
		cc.stream = true;
		/* Claude's prepare needs no network: it settles the model now. */
		if ((rc = gm_backend_new(&r->claude, &cc)) < 0 || (rc = gm_backend_prepare(r->claude)) < 0)
			return rc;
	}
	return 0;
}

/* ---- prompts and submission --------------------------------------------- */

/*
 * Everything that shaped an answer: prompt version, backend and model,
 * schema, limits, both prompts, and the attempt (a retry with the same
 * prompt must ask the model again, yet a re-run replays the same keys).
 */
static char *request_key(const struct gm_backend *b, bool claude, const struct gm_chat_request *q,
                         unsigned attempt)
{
	struct gm_buf k = GM_BUF_INIT;
	char hex[41];
	gm_buf_printf(&k, "%s\n%s\n%s\n%s\n%d\n%u\n", GM_PROMPT_VERSION,
	              claude ? "claude" : "local", gm_backend_model(b),
	              q->json_schema ? q->json_schema : "", q->max_tokens, attempt);
	gm_buf_printf(&k, "%zu\n%s\n%zu\n%s", strlen(q->system), q->system, strlen(q->user), q->user);
	gm_cache_digest(hex, k.ptr, k.len);
	gm_buf_release(&k);
	return gm_xstrdup(hex);
}

static bool cache_lookup(struct run *r, struct task *t)
{
	char *data = NULL;
	size_t len;
	cJSON *j;
	const cJSON *c, *f, *m;
	if (!r->cache || r->opts->no_cache)
		return false;
	if (gm_cache_get(&data, &len, r->cache, "model", t->cache_key, CACHE_MAX) < 0)
		return false;
	j = cJSON_ParseWithLength(data, len);
	c = cJSON_GetObjectItemCaseSensitive(j, "content");
	f = cJSON_GetObjectItemCaseSensitive(j, "finish_reason");
	m = cJSON_GetObjectItemCaseSensitive(j, "model");
	free(data);
	if (!cJSON_IsString(c) || !cJSON_IsString(f) || !cJSON_IsString(m)) {
		cJSON_Delete(j);
		return false; /* not trusted: ask again */
	}
	GM_GROW(r->ready, r->cready, r->nready + 1);
	r->ready[r->nready].t = t;
	r->ready[r->nready].content = gm_xstrdup(c->valuestring);
	r->ready[r->nready].finish = gm_xstrdup(f->valuestring);
	r->ready[r->nready].model = gm_xstrdup(m->valuestring);
	r->nready++;
	rtask(r, t)->cached = true;
	cJSON_Delete(j);
	return true;
}

static void cache_store(struct run *r, const struct task *t, const struct gm_chat_result *res)
{
	cJSON *j;
	char *text;
	if (!r->cache || !res->content)
		return;
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "content", res->content);
	cJSON_AddStringToObject(j, "finish_reason", res->finish_reason ? res->finish_reason : "stop");
	cJSON_AddStringToObject(j, "model", res->model ? res->model : "");
	text = cJSON_PrintUnformatted(j);
	if (text && gm_cache_put(r->cache, "model", t->cache_key, text, strlen(text)) < 0)
		gm_error_clear(); /* a cache that cannot be written only costs a request */
	free(text);
	cJSON_Delete(j);
}

static char **callee_signatures(struct run *r, size_t unit, size_t *n)
{
	char **v = NULL;
	size_t cap = 0;
	*n = 0;
	for (size_t i = 0; i < r->idx->nedges; i++) {
		const struct gm_edge *e = &r->idx->edges[i];
		if (e->caller != unit)
			continue;
		GM_GROW(v, cap, *n + 1);
		v[(*n)++] = gm_xstrdup(gm_index_unit(r->idx, e->callee)->signature);
		if (*n >= 24)
			break;
	}
	return v;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int submit_rewrite(struct run *r, struct task *t)
{
	struct gm_run_task *rt = rtask(r, t);
	size_t file = r->idx->units[t->unit].file;
	const struct gm_file *f = &r->idx->files[file];
	const struct gm_unit *u = gm_index_unit(r->idx, t->unit);
	struct gm_rewrite_prompt p = { 0 };
	struct gm_chat_request q = { 0 };
	struct gm_backend *b;
	char **imports = NULL, **callees = NULL, *code, *scope, *user;
	size_t nimports, ncallees, code_len;
	struct gm_token_estimate est;
	int64_t ctx;
	int rc;

	if ((rc = load_source(r, file)) < 0)
		return rc;
	code = gm_prompt_unit_code(r->src[file].data, r->src[file].len, u, &code_len);
	scope = gm_prompt_scope_header(r->src[file].data, r->src[file].len, u, f->lang);
	nimports = gm_prompt_import_lines(&imports, f->lang, r->src[file].data, r->src[file].len, 40);
	callees = callee_signatures(r, t->unit, &ncallees);
	p.goal = r->goal;
	p.instructions = rt->instructions;
	p.new_name = t->new_name;
	p.new_signature = t->new_signature;
	p.path = f->path;
	p.lang = f->lang;
	p.scope_header = scope;
	p.imports = (const char *const *)imports;
	p.nimports = nimports;
	p.callees = (const char *const *)callees;
	p.ncallees = ncallees;
	p.code = code;
	p.code_len = code_len;
	p.previous_error = t->prev_error;
	user = gm_prompt_rewrite_user(&p);
	free(code);
	free(scope);
	free_strv(imports, nimports);
	free_strv(callees, ncallees);

	q.system = gm_prompt_rewrite_system();
	q.user = user;
	gm_plan_estimate(&est, strlen(q.system) + strlen(user), u->end_byte - u->start_byte);
	rt->est_tokens = (int64_t)est.total;
	/* Room for the whole function again, some growth and a little reasoning. */
	q.max_tokens = (int)(est.output * 3 + 2048);

	if (!t->on_claude) {
		ctx = gm_backend_context_length(r->local);
		if (!gm_plan_fits_context(&est, ctx > 0 ? (size_t)ctx : 0)) {
			if (!path_local_only(r, t->unit) && claude_allowed(r, rt->est_tokens)) {
				t->on_claude = true;
				t->tries = 0;
				set_str(&rt->route_reason, "too large for the local model's context");
			} else {
				char *why = gm_xasprintf("too large for the local model's context (~%zu tokens > %lld)",
				                         est.total, (long long)ctx);
				finish_task(r, t, GM_TASK_SKIPPED, why);
				free(why);
				free(user);
				return 0;
			}
		} else if (ctx > 0 && (int64_t)q.max_tokens > ctx - (int64_t)est.prompt) {
			q.max_tokens = (int)(ctx - (int64_t)est.prompt); /* never more than fits */
		}
	}
	b = t->on_claude ? r->claude : r->local;
	if (t->on_claude && q.max_tokens > 32000)
		q.max_tokens = 32000;
	set_str(&rt->route, t->on_claude ? "claude" : "local");
	free(t->cache_key);
	t->tries++;
	rt->attempts++;
	t->cache_key = request_key(b, t->on_claude, &q, t->tries);
	if (!cache_lookup(r, t))
		rc = gm_engine_submit(r->engine, b, &q, t);
	free(user);
	return rc;
}

static int submit_analysis(struct run *r, struct task *t)
{
	struct gm_run_task *rt = rtask(r, t);
	struct gm_plan_prompt_unit *units = gm_xcalloc(t->ncluster, sizeof(*units));
	char **sigs = NULL, **codes = gm_xcalloc(t->ncluster, sizeof(char *));
	size_t nsigs = 0, csigs = 0, bytes = 0;
	struct gm_chat_request q = { 0 };
	char *user;
	int rc = 0;

	for (size_t i = 0; i < t->ncluster; i++) {
		size_t id = t->cluster[i], file = r->idx->units[id].file;
		const struct gm_unit *u = gm_index_unit(r->idx, id);
		if ((rc = load_source(r, file)) < 0)
			goto cleanup;
		codes[i] = gm_prompt_unit_code(r->src[file].data, r->src[file].len, u, &units[i].code_len);
		units[i].code = codes[i];
		units[i].path = r->idx->files[file].path;
		units[i].name = u->name;
		units[i].lang = r->idx->files[file].lang;
		bytes += units[i].code_len;
		/* Callers and callees outside the cluster, by signature. */
		for (size_t e = 0; e < r->idx->nedges && nsigs < 64; e++) {
			const struct gm_edge *ed = &r->idx->edges[e];
			size_t other;
			bool inside = false;
			if (ed->caller == id)
				other = ed->callee;
			else if (ed->callee == id)
				other = ed->caller;
			else
				continue;
			for (size_t k = 0; k < t->ncluster; k++)
				inside |= t->cluster[k] == other;
			if (inside)
				continue;
			GM_GROW(sigs, csigs, nsigs + 1);
			sigs[nsigs++] = gm_xasprintf("%s: %s", r->idx->files[r->idx->units[other].file].path,
			                             gm_index_unit(r->idx, other)->signature);
		}
	}
	user = gm_prompt_plan_user(r->goal, units, t->ncluster, (const char *const *)sigs, nsigs);
	q.system = gm_prompt_plan_system();
	q.user = user;
	q.json_schema = gm_prompt_plan_schema;
	q.schema_name = "refactor_plan";
	q.max_tokens = 8192;
	rt->est_tokens = estimate_tokens(strlen(q.system) + strlen(user), bytes / 2);
	{
		struct gm_backend *b = t->on_claude ? r->claude : r->local;
		free(t->cache_key);
		t->tries++;
		rt->attempts++;
		t->cache_key = request_key(b, t->on_claude, &q, t->tries);
		if (!cache_lookup(r, t))
			rc = gm_engine_submit(r->engine, b, &q, t);
	}
	free(user);
cleanup:
	for (size_t i = 0; i < t->ncluster; i++)
		free(codes[i]);
	free(codes);
	free(units);
	free_strv(sigs, nsigs);
	return rc;
}

/* ---- answers -------------------------------------------------------------- */

static int release_held(struct run *r, struct task *analysis, const char *why);

/* A rejected answer: retry with the reason, escalate, or give up. */
static int retry_or_give_up(struct run *r, struct task *t, const char *reason)
{
	struct gm_run_task *rt = rtask(r, t);
	unsigned max = t->on_claude ? MAX_CLAUDE_ATTEMPTS : MAX_LOCAL_ATTEMPTS;
	set_str(&t->prev_error, reason);
	if (t->tries < max)
		return submit_rewrite(r, t);
	if (!t->on_claude && !path_local_only(r, t->unit) && claude_allowed(r, rt->est_tokens)) {
		char *why = gm_xasprintf("escalated after %u rejected local answers (last: %s)", t->tries, reason);
		set_str(&rt->route_reason, why);
		free(why);
		t->on_claude = true;
		t->tries = 0;
		return submit_rewrite(r, t);
	}
	finish_task(r, t, GM_TASK_REJECTED, reason);
	return 0;
}

static int on_rewrite_answer(struct run *r, struct task *t, const char *content, const char *finish)
{
	size_t file = r->idx->units[t->unit].file;
	const struct gm_file *f = &r->idx->files[file];
	const struct gm_unit *u = gm_index_unit(r->idx, t->unit);
	struct gm_validate_in in = { 0 };
	struct gm_validate_result vr = { 0 };
	int rc;

	in.lang = f->lang;
	in.src = r->src[file].data;
	in.len = r->src[file].len;
	in.scan = &f->scan;
	in.unit = u;
	in.answer = content;
	in.answer_len = strlen(content);
	in.finish_reason = finish;
	in.new_name = t->new_name;
	in.allow_shrink = t->allow_shrink;
	in.parser = r->parser;
	rc = gm_validate(&vr, &in);
	if (rc < 0)
		return rc;
	switch (vr.verdict) {
	case GM_VERDICT_ACCEPT: {
		struct gm_run_task *rt = rtask(r, t);
		const char *taken = NULL, *owner = NULL;
		/* Helpers of two functions of one file must not share a name. */
		for (size_t i = 0; i < r->ntasks && !taken; i++) {
			const struct task *o = r->tasks[i];
			if (o == t || !o->accepted || o->type != T_REWRITE ||
			    r->idx->units[o->unit].file != file)
				continue;
			for (size_t a = 0; a < vr.nhelpers && !taken; a++)
				for (size_t b = 0; b < o->vr.nhelpers; b++)
					if (!strcmp(vr.helpers[a], o->vr.helpers[b])) {
						taken = vr.helpers[a];
						owner = rtask(r, o)->name;
						break;
					}
		}
		if (taken) {
			char *why = gm_xasprintf("helper name '%s' is already taken by a helper of '%s': "
			                         "choose another name", taken, owner);
			gm_validate_result_release(&vr);
			rc = retry_or_give_up(r, t, why);
			free(why);
			return rc;
		}
		t->vr = vr;
		t->accepted = true;
		rt->helpers = gm_xcalloc(vr.nhelpers + 1, sizeof(char *));
		for (size_t i = 0; i < vr.nhelpers; i++)
			rt->helpers[i] = gm_xstrdup(vr.helpers[i]);
		rt->nhelpers = vr.nhelpers;
		rt->imports = gm_xcalloc(vr.nimports + 1, sizeof(char *));
		for (size_t i = 0; i < vr.nimports; i++)
			rt->imports[i] = gm_xstrdup(vr.imports[i]);
		rt->nimports = vr.nimports;
		rt->cc_before = vr.cc_before;
		rt->cc_after = vr.cc_after;
		rt->cc_after_sum = vr.cc_after_sum;
		finish_task(r, t, GM_TASK_APPLIED, NULL);
		return 0;
	}
	case GM_VERDICT_UNCHANGED:
		gm_validate_result_release(&vr);
		finish_task(r, t, GM_TASK_UNCHANGED, "the model returned the function unchanged");
		return 0;
	case GM_VERDICT_REJECT:
	default: {
		char *why = gm_xstrdup(vr.reason ? vr.reason : "rejected");
		gm_validate_result_release(&vr);
		rc = retry_or_give_up(r, t, why);
		free(why);
		return rc;
	}
	}
}

static struct task *task_for(struct run *r, const char *path, const char *name)
{
	for (size_t id = 0; id < r->idx->nunits; id++) {
		const struct gm_unit *u = gm_index_unit(r->idx, id);
		if (strcmp(r->idx->files[r->idx->units[id].file].path, path) != 0 ||
		    (strcmp(u->name, name) != 0 && strcmp(u->short_name, name) != 0))
			continue;
		if (r->task_of_unit[id] >= 0)
			return r->tasks[r->task_of_unit[id]];
		return new_rewrite(r, id);
	}
	return NULL;
}

static void append_instructions(struct gm_run_task *rt, const char *more)
{
	char *s;
	if (!more || !*more)
		return;
	s = rt->instructions ? gm_xasprintf("%s\n%s", rt->instructions, more) : gm_xstrdup(more);
	free(rt->instructions);
	rt->instructions = s;
}

static int on_analysis_answer(struct run *r, struct task *t, const char *content)
{
	struct gm_plan_prompt_unit *known = gm_xcalloc(t->ncluster, sizeof(*known));
	struct gm_analysis a = { 0 };
	cJSON *json = NULL;
	int rc = 0;

	for (size_t i = 0; i < t->ncluster; i++) {
		size_t id = t->cluster[i];
		known[i].path = r->idx->files[r->idx->units[id].file].path;
		known[i].name = gm_index_unit(r->idx, id)->name;
		known[i].lang = r->idx->files[r->idx->units[id].file].lang;
	}
	if (gm_extract_json(&json, content, strlen(content)) < 0 ||
	    gm_prompt_analysis_parse(&a, json, known, t->ncluster) < 0) {
		char *why = gm_xasprintf("unusable plan: %s", gm_error_last());
		cJSON_Delete(json);
		free(known);
		if (t->tries < 2) {
			free(why);
			return submit_analysis(r, t);
		}
		finish_task(r, t, GM_TASK_FAILED, why);
		rc = release_held(r, t, why);
		free(why);
		return rc;
	}
	cJSON_Delete(json);
	free(known);
	set_str(&rtask(r, t)->rationale, a.rationale);
	finish_task(r, t, GM_TASK_APPLIED, NULL);
	for (size_t i = 0; i < a.nwarnings; i++)
		warn(r, "plan: %s", a.warnings[i]);
	/*
	 * Gather every instruction for a unit first (it may be named both as a
	 * unit and as a call site), then send each unit once.
	 */
	for (size_t i = 0; i < a.nunits; i++) {
		struct gm_plan_unit *pu = &a.units[i];
		struct task *w = task_for(r, pu->path, pu->name);
		struct gm_run_task *wt;
		if (!w || w->type != T_REWRITE || !w->held || w->planned)
			continue;
		wt = rtask(r, w);
		w->planned = true;
		set_str(&wt->rationale, a.rationale);
		if (!pu->rewrite) {
			char *why = gm_xasprintf("kept by the plan%s%s", *pu->instructions ? ": " : "",
			                         pu->instructions);
			w->held = false;
			finish_task(r, w, GM_TASK_SKIPPED, why);
			free(why);
			continue;
		}
		append_instructions(wt, pu->instructions);
		set_str(&w->new_name, pu->new_name);
		set_str(&w->new_signature, pu->new_signature);
		w->allow_shrink = pu->new_signature != NULL || pu->new_name != NULL;
	}
	/* Call sites elsewhere follow the plan in the same run. */
	for (size_t i = 0; i < a.nsites; i++) {
		struct task *w = task_for(r, a.sites[i].path, a.sites[i].name);
		struct gm_run_task *wt;
		if (!w || w->type != T_REWRITE)
			continue;
		wt = rtask(r, w);
		if (wt->status != GM_TASK_PENDING || wt->attempts) {
			warn(r, "plan: call site %s %s was already sent; its instructions were not applied",
			     a.sites[i].path, a.sites[i].name);
			continue;
		}
		if (!w->planned) {
			w->planned = true;
			w->held = true; /* a new task, or one not yet sent: send it below */
			set_str(&wt->route_reason, "call site named by the plan");
		}
		append_instructions(wt, a.sites[i].instructions);
	}
	for (size_t i = 0; i < r->ntasks && rc == 0; i++) {
		struct task *w = r->tasks[i];
		if (w->type != T_REWRITE || !w->planned || !w->held || rtask(r, w)->status != GM_TASK_PENDING)
			continue;
		w->held = false;
		rc = submit_rewrite(r, w);
	}
	/* Units of the cluster the plan did not mention get the plain goal. */
	if (rc == 0)
		rc = release_held(r, t, NULL);
	gm_prompt_analysis_release(&a);
	return rc;
}

/* Release the rewrites an analysis was holding, with the plain goal. */
static int release_held(struct run *r, struct task *analysis, const char *why)
{
	int rc = 0;
	for (size_t i = 0; i < analysis->ncluster && rc == 0; i++) {
		long k = r->task_of_unit[analysis->cluster[i]];
		struct task *w = k >= 0 ? r->tasks[k] : NULL;
		if (!w || !w->held)
			continue;
		w->held = false;
		if (why)
			warn(r, "%s %s: rewritten without a plan (%s)", rtask(r, w)->path, rtask(r, w)->name, why);
		rc = submit_rewrite(r, w);
	}
	return rc;
}

static int handle_answer(struct run *r, struct task *t, const char *content, const char *finish,
                         const char *model)
{
	struct gm_run_task *rt = rtask(r, t);
	if (model && *model)
		set_str(&rt->model, model);
	if (t->type == T_ANALYSIS)
		return on_analysis_answer(r, t, content);
	return on_rewrite_answer(r, t, content, finish);
}

static int drain_ready(struct run *r)
{
	int rc = 0;
	while (r->nready && rc == 0 && !interrupted) {
		struct ready it = r->ready[--r->nready];
		rc = handle_answer(r, it.t, it.content, it.finish, it.model);
		free(it.content);
		free(it.finish);
		free(it.model);
		report_progress(r, false);
	}
	return rc;
}

static int on_done(void *ctx, void *tag, const struct gm_chat_result *res)
{
	struct run *r = ctx;
	struct task *t = tag;
	struct gm_run_task *rt = rtask(r, t);
	int rc = 0;

	r->rep->requests += res->attempts ? res->attempts : 1;
	r->rep->model_ms += res->elapsed_ms;
	rt->input_tokens += res->input_tokens + res->cache_read_tokens + res->cache_write_tokens;
	rt->output_tokens += res->output_tokens;
	rt->cost_usd += res->cost_usd;
	r->rep->input_tokens += res->input_tokens + res->cache_read_tokens + res->cache_write_tokens;
	r->rep->output_tokens += res->output_tokens;
	r->rep->cost_usd += res->cost_usd;

	if (res->error) {
		if (res->error == GM_EINTERRUPTED || interrupted)
			return GM_EINTERRUPTED;
		if (res->error == GM_EINVALID && t->type == T_REWRITE) {
			/* The server answered, but nothing usable: a rejected answer. */
			rc = retry_or_give_up(r, t, res->error_message ? res->error_message : "unusable answer");
		} else if (res->error == GM_EINVALID && t->type == T_ANALYSIS && t->tries < 2) {
			rc = submit_analysis(r, t);
		} else if (t->type == T_ANALYSIS) {
			finish_task(r, t, GM_TASK_FAILED, res->error_message);
			rc = release_held(r, t, res->error_message);
		} else if (!t->on_claude && !path_local_only(r, t->unit) && claude_allowed(r, rt->est_tokens)) {
			char *why = gm_xasprintf("escalated: %s", res->error_message ? res->error_message : "local model failed");
			set_str(&rt->route_reason, why);
			free(why);
			t->on_claude = true;
			t->tries = 0;
			rc = submit_rewrite(r, t);
		} else {
			finish_task(r, t, GM_TASK_FAILED, res->error_message ? res->error_message : "request failed");
		}
	} else {
		cache_store(r, t, res);
		rc = handle_answer(r, t, res->content ? res->content : "", res->finish_reason, res->model);
	}
	if (rc == 0)
		rc = drain_ready(r);
	report_progress(r, false);
	return rc;
}

/* ---- routing --------------------------------------------------------------- */

static int plan_tasks(struct run *r, const size_t *targets, size_t ntargets)
{
	const struct gm_run_opts *o = r->opts;
	size_t nclusters = r->idx->nclusters;
	size_t **members = gm_xcalloc(nclusters + 1, sizeof(*members));
	size_t *nmembers = gm_xcalloc(nclusters + 1, sizeof(*nmembers));
	size_t *caps = gm_xcalloc(nclusters + 1, sizeof(*caps));
	int rc = 0;

	/* Clusters restricted to the selected targets. */
	for (size_t i = 0; i < ntargets; i++) {
		long c = r->idx->units[targets[i]].cluster;
		if (c < 0)
			continue;
		GM_GROW(members[c], caps[c], nmembers[c] + 1);
		members[c][nmembers[c]++] = targets[i];
	}
	for (size_t c = 0; c < nclusters && rc == 0; c++) {
		struct gm_route route;
		struct gm_route_opts ro = { 0 };
		bool complex;
		if (!nmembers[c])
			continue;
		ro.have_claude_key = r->claude != NULL;
		ro.local_only = o->local_only;
		ro.plan_all = o->plan_all;
		ro.max_cost_spent = r->claude && !claude_allowed(r, 0);
		if ((rc = gm_plan_route_units(&route, r->idx, members[c], nmembers[c], &ro)) < 0)
			break;
		complex = route.route != GM_ANALYSIS_NONE;
		for (size_t k = 0; k < nmembers[c]; k++) {
			struct task *w = new_rewrite(r, members[c][k]);
			w->held = complex;
			set_str(&rtask(r, w)->route_reason, complex ? "waits for the cluster's plan" : route.reason);
		}
		if (complex) {
			struct task *a = new_task(r, T_ANALYSIS);
			struct gm_run_task *rt = rtask(r, a);
			const struct gm_unit *first = gm_index_unit(r->idx, members[c][0]);
			a->cluster = gm_xcalloc(nmembers[c], sizeof(size_t));
			memcpy(a->cluster, members[c], nmembers[c] * sizeof(size_t));
			a->ncluster = nmembers[c];
			rt->path = gm_xstrdup(r->idx->files[r->idx->units[members[c][0]].file].path);
			rt->name = nmembers[c] > 1 ? gm_xasprintf("%s (+%zu)", first->name, nmembers[c] - 1)
			                           : gm_xstrdup(first->name);
			rt->kind = gm_xstrdup("analysis");
			rt->start_line = first->start_line;
			a->on_claude = route.route == GM_ANALYSIS_CLAUDE;
			rt->route = gm_xstrdup(a->on_claude ? "claude" : "local");
			rt->route_reason = route.reason;
			route.reason = NULL;
			if (!a->on_claude) {
				const char *semi = strchr(rt->route_reason, ';');
				r->rep->analysis_local = true;
				set_str(&r->rep->analysis_note, semi ? semi + 2 : rt->route_reason);
			}
		}
		gm_route_release(&route);
	}
	for (size_t c = 0; c < nclusters; c++)
		free(members[c]);
	free(members);
	free(nmembers);
	free(caps);
	return rc;
}

/* ---- merge, verify, commit --------------------------------------------------- */

struct edit_ref {
	size_t task;  /* index into r->tasks */
	size_t file;
};

/* Build the changed files for the accepted edits with `on[i]` set. */
static int build_changes(struct run *r, const struct edit_ref *edits, size_t n, const bool *on,
                         struct gm_change **out, size_t *nout, char ***texts, bool record)
{
	struct gm_change *ch = NULL;
	char **keep = NULL;
	size_t nch = 0, cap = 0;
	int rc = 0;

	for (size_t i = 0; i < n;) {
		size_t file = edits[i].file, j = i, m = 0;
		const struct gm_edit **ev = gm_xcalloc(n, sizeof(*ev));
		size_t *which = gm_xcalloc(n, sizeof(size_t));
		struct gm_merge_result mr = { 0 };
		const struct gm_file *f = &r->idx->files[file];
		while (j < n && edits[j].file == file) {
			if (on[j]) {
				struct task *t = r->tasks[edits[j].task];
				ev[m] = &t->vr.edit;
				which[m++] = j;
			}
			j++;
		}
		if (m) {
			rc = gm_merge(&mr, f->lang, r->src[file].data, r->src[file].len, f->scan.errors, ev, m,
			              r->parser);
			if (rc == 0) {
				for (size_t k = 0; record && k < m; k++)
					if (!mr.applied[k])
						mark_dropped(r, r->tasks[edits[which[k]].task],
						             mr.reason[k] ? mr.reason[k] : "dropped at merge");
				if (mr.n - mr.ndropped > 0) {
					GM_GROW(ch, cap, nch + 1);
					keep = gm_xrealloc(keep, (nch + 1) * sizeof(char *));
					keep[nch] = mr.text;
					ch[nch].path = f->path;
					ch[nch].data = mr.text;
					ch[nch].len = mr.len;
					mr.text = NULL;
					nch++;
				}
			}
			gm_merge_result_release(&mr);
		}
		free(ev);
		free(which);
		if (rc < 0)
			break;
		i = j;
	}
	if (rc < 0) {
		for (size_t k = 0; k < nch; k++)
			free(keep[k]);
		free(keep);
		free(ch);
		return rc;
	}
	*out = ch;
	*nout = nch;
	*texts = keep;
	return 0;
}

static void free_changes(struct gm_change *ch, char **texts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	free(ch);
}

/* Does `cmd` pass on base + the edits with on[] set?  1 yes, 0 no, <0 error. */
static int verify_subset(struct run *r, const struct edit_ref *edits, size_t n, const bool *on)
{
	struct gm_change *ch = NULL;
	char **texts = NULL, *dir = NULL;
	size_t nch = 0;
	git_oid commit;
	pid_t pid;
	int rc, status;

	if ((rc = build_changes(r, edits, n, on, &ch, &nch, &texts, false)) < 0)
		return rc;
	rc = gm_commit_create(&commit, r->repo, &r->rep->base, ch, nch, "git-monitor verify");
	free_changes(ch, texts, nch);
	if (rc < 0)
		return rc;
	if ((rc = gm_commit_checkout_temp(&dir, r->repo, &commit)) < 0)
		return rc;
	pid = fork();
	if (pid < 0) {
		gm_error_set("cannot run --verify command: %s", strerror(errno));
		gm_commit_checkout_remove(dir);
		free(dir);
		return GM_ERROR;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		if (chdir(dir) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", r->opts->verify, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			break;
		if (interrupted)
			kill(pid, SIGTERM);
	}
	gm_commit_checkout_remove(dir);
	free(dir);
	if (interrupted)
		return GM_EINTERRUPTED;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Find edits that break --verify by bisection; on[] holds the survivors. */
static int bisect(struct run *r, const struct edit_ref *edits, size_t n, bool *good,
                  const size_t *cand, size_t ncand, bool *bad)
{
	bool *on = gm_xcalloc(n, sizeof(bool));
	int rc = 0;
	if (ncand == 1) {
		bad[cand[0]] = true;
		free(on);
		return 0;
	}
	for (int half = 0; half < 2 && rc >= 0; half++) {
		size_t lo = half ? ncand / 2 : 0, hi = half ? ncand : ncand / 2;
		memcpy(on, good, n * sizeof(bool));
		for (size_t k = lo; k < hi; k++)
			on[cand[k]] = true;
		rc = verify_subset(r, edits, n, on);
		if (rc == 1) {
			memcpy(good, on, n * sizeof(bool));
		} else if (rc == 0) {
			rc = bisect(r, edits, n, good, cand + lo, hi - lo, bad);
		}
	}
	free(on);
	return rc < 0 ? rc : 0;
}

static int run_verify(struct run *r, const struct edit_ref *edits, size_t n, bool *on)
{
	bool *good, *bad;
	size_t *cand;
	int rc;

	rc = verify_subset(r, edits, n, on);
	if (rc != 0)
		return rc < 0 ? rc : 0; /* all pass (or error) */
	good = gm_xcalloc(n, sizeof(bool));
	bad = gm_xcalloc(n, sizeof(bool));
	cand = gm_xcalloc(n, sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		cand[i] = i;
	/* The base itself must pass, or no edit can be blamed. */
	rc = verify_subset(r, edits, n, good);
	if (rc == 0) {
		gm_error_set("--verify command fails on the base commit already: '%s'", r->opts->verify);
		rc = GM_ERROR;
	} else if (rc == 1) {
		rc = bisect(r, edits, n, good, cand, n, bad);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			on[i] = !bad[i];
			if (bad[i])
				mark_dropped(r, r->tasks[edits[i].task], "breaks the --verify command");
		}
	}
	free(good);
	free(bad);
	free(cand);
	return rc;
}

static int count_line_cb(const git_diff_delta *d, const git_diff_hunk *h, const git_diff_line *l,
                         void *payload)
{
	struct gm_run_task *rt = payload;
	(void)d;
	(void)h;
	if (l->origin == GIT_DIFF_LINE_ADDITION)
		rt->added++;
	else if (l->origin == GIT_DIFF_LINE_DELETION)
		rt->removed++;
	return 0;
}

/* Lines added and removed in the function, as `git diff` counts them. */
static void count_lines(struct run *r, struct task *t)
{
	struct gm_run_task *rt = rtask(r, t);
	const struct gm_unit *u = gm_index_unit(r->idx, t->unit);
	const char *old = r->src[r->idx->units[t->unit].file].data + u->start_byte;
	git_diff_options o;
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	o.context_lines = 0;
	rt->added = rt->removed = 0;
	if (git_diff_buffers(old, u->end_byte - u->start_byte, NULL, t->vr.code, t->vr.code_len, NULL,
	                     &o, NULL, NULL, NULL, count_line_cb, rt) < 0)
		git_error_clear();
}

static int cmp_report_task(const void *a, const void *b)
{
	const struct gm_run_task *x = a, *y = b;
	int c = strcmp(x->path ? x->path : "", y->path ? y->path : "");
	if (c)
		return c;
	if (x->start_line != y->start_line)
		return x->start_line < y->start_line ? -1 : 1;
	return strcmp(x->kind ? x->kind : "", y->kind ? y->kind : "");
}

static char *make_run_id(void)
{
	time_t now = time(NULL);
	struct tm tm;
	char ts[32];
	unsigned rnd = (unsigned)getpid() ^ (unsigned)gm_now_ms() * 2654435761u;
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
	return gm_xasprintf("%s-%06x", ts, rnd & 0xffffff);
}

static int write_result(struct run *r, const struct edit_ref *edits, size_t nedits, bool *on)
{
	struct gm_change *ch = NULL;
	char **texts = NULL, *msg = NULL, *branch = NULL, *note = NULL, *reflog = NULL;
	struct gm_commit_fn *fns = NULL;
	struct gm_commit_msg m = { 0 };
	size_t nch = 0, nfns = 0;
	cJSON *json;
	int rc;

	if ((rc = build_changes(r, edits, nedits, on, &ch, &nch, &texts, true)) < 0)
		return rc;
	if (nch == 0)
		goto cleanup;
	fns = gm_xcalloc(nedits, sizeof(*fns));
	for (size_t i = 0; i < nedits; i++) {
		struct task *t = r->tasks[edits[i].task];
		struct gm_run_task *rt = rtask(r, t);
		if (rt->status != GM_TASK_APPLIED)
			continue;
		count_lines(r, t);
		fns[nfns].path = rt->path;
		fns[nfns].name = rt->name;
		fns[nfns].route = rt->route;
		fns[nfns].model = rt->model ? rt->model : "unknown";
		fns[nfns].attempts = rt->attempts;
		fns[nfns].helpers = (const char *const *)rt->helpers;
		fns[nfns].nhelpers = rt->nhelpers;
		nfns++;
	}
	m.goal = r->goal;
	m.fns = fns;
	m.nfns = nfns;
	m.run_id = r->rep->run_id;
	m.cost_usd = r->rep->cost_usd;
	msg = gm_commit_message(&m);
	if (interrupted) {
		rc = GM_EINTERRUPTED;
		goto cleanup;
	}
	if ((rc = gm_commit_create(&r->rep->commit, r->repo, &r->rep->base, ch, nch, msg)) < 0)
		goto cleanup;
	r->rep->has_commit = true;
	if ((rc = gm_commit_branch_name(&branch, gm_config_string(r->cfg, "monitor.branchPrefix", NULL),
	                                r->goal, time(NULL), r->opts->branch)) < 0)
		goto cleanup;
	json = gm_run_report_json(r->rep);
	note = cJSON_Print(json);
	cJSON_Delete(json);
	if ((rc = gm_notes_write(r->repo, &r->rep->commit, note)) < 0)
		goto cleanup;
	if (interrupted) {
		rc = GM_EINTERRUPTED;
		goto cleanup;
	}
	reflog = gm_xasprintf("git-monitor: refactor (%s)", r->rep->run_id);
	/* The ref is written last: an interrupted run leaves no branch. */
	if ((rc = gm_commit_write_branch(&r->rep->branch, r->repo, branch, &r->rep->commit, reflog)) < 0)
		goto cleanup;
	/* The note names the final branch too. */
	json = gm_run_report_json(r->rep);
	free(note);
	note = cJSON_Print(json);
	cJSON_Delete(json);
	rc = gm_notes_update(r->repo, &r->rep->commit, note);
cleanup:
	free(reflog);
	free(note);
	free(branch);
	free(msg);
	free(fns);
	free_changes(ch, texts, nch);
	return rc;
}

static int cmp_edit(const void *a, const void *b)
{
	const struct edit_ref *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->task < y->task ? -1 : (x->task > y->task);
}

/* ---- the run ------------------------------------------------------------------- */

int gm_pipeline_run(struct gm_run_report **out, git_repository *repo, struct gm_config *cfg,
                    const struct gm_run_opts *opts, gm_progress_fn progress, void *ctx)
{
	struct run r;
	struct gm_index_opts io = { 0 };
	struct edit_ref *edits = NULL;
	size_t *targets = NULL, ntargets = 0, nedits = 0;
	bool *on = NULL;
	int64_t threshold, max_size;
	int rc;

	memset(&r, 0, sizeof(r));
	interrupted = 0;
	r.repo = repo;
	r.cfg = cfg;
	r.opts = opts;
	r.progress = progress;
	r.progress_ctx = ctx;
	r.t0 = gm_now_ms();
	r.rep = gm_xcalloc(1, sizeof(*r.rep));
	r.rep->run_id = make_run_id();
	r.rep->dry_run = opts->dry_run;
	r.goal = opts->goal ? opts->goal : gm_config_string(cfg, "monitor.goal", DEFAULT_GOAL);
	*out = r.rep;

	if ((rc = gm_config_int(&threshold, cfg, "monitor.route.complexity", 10)) < 0 ||
	    (rc = gm_config_int(&max_size, cfg, "monitor.scan.maxFileSize", 1024 * 1024)) < 0)
		goto cleanup;

	/* The base: a commit, or with --staged a snapshot of the index on HEAD. */
	if (opts->staged) {
		if (opts->dry_run) {
			memset(&r.rep->base, 0, sizeof(r.rep->base));
		} else if ((rc = gm_commit_snapshot_index(&r.rep->base, repo,
		                                          "git-monitor: staged changes (snapshot)")) < 0) {
			goto cleanup;
		}
	} else {
		git_commit *base = NULL;
		if ((rc = gm_repo_resolve_commit(&base, repo, opts->base ? opts->base : "HEAD")) < 0)
			goto cleanup;
		git_oid_cpy(&r.rep->base, git_commit_id(base));
		git_commit_free(base);
	}

	io.rev = opts->base;
	io.staged = opts->staged;
	io.pathspecs = opts->pathspecs;
	io.npathspecs = opts->npathspecs;
	io.no_cache = opts->no_cache;
	io.max_file_size = max_size > 0 ? (size_t)max_size : 1;
	io.complexity_threshold = threshold > 0 ? (unsigned)threshold : 1;
	{
		uint64_t t = gm_now_ms();
		rc = gm_index_build(&r.idx, repo, &io);
		r.rep->scan_ms = gm_now_ms() - t;
		if (rc < 0)
			goto cleanup;
	}
	r.task_of_unit = gm_xcalloc(r.idx->nunits + 1, sizeof(long));
	for (size_t i = 0; i < r.idx->nunits; i++)
		r.task_of_unit[i] = -1;
	r.src = gm_xcalloc(r.idx->nfiles + 1, sizeof(*r.src));
	if ((rc = select_targets(&targets, &ntargets, &r)) < 0)
		goto cleanup;

	if ((rc = make_backends(&r)) < 0)
		goto cleanup;
	r.rep->claude_model = r.claude ? gm_xstrdup(gm_backend_model(r.claude)) : NULL;
	if ((rc = plan_tasks(&r, targets, ntargets)) < 0)
		goto cleanup;
	if (opts->dry_run) {
		/* Estimates only: no model is asked anything. */
		for (size_t i = 0; i < r.ntasks; i++) {
			struct task *t = r.tasks[i];
			struct gm_run_task *rt = rtask(&r, t);
			size_t bytes = 0;
			if (t->type == T_REWRITE) {
				const struct gm_unit *u = gm_index_unit(r.idx, t->unit);
				bytes = u->end_byte - u->start_byte;
				rt->est_tokens = estimate_tokens(bytes + 1500, bytes);
			} else {
				for (size_t k = 0; k < t->ncluster; k++) {
					const struct gm_unit *u = gm_index_unit(r.idx, t->cluster[k]);
					bytes += u->end_byte - u->start_byte;
				}
				rt->est_tokens = estimate_tokens(bytes + 2500, bytes / 2);
				if (t->on_claude)
					rt->cost_usd = gm_price_cost(gm_backend_model(r.claude), rt->est_tokens,
					                             rt->est_tokens / 3, 0, 0);
			}
			r.rep->cost_usd += rt->cost_usd;
		}
		goto cleanup;
	}
	if (r.ntasks == 0)
		goto cleanup;

	if ((rc = gm_backend_prepare(r.local)) < 0)
		goto cleanup;
	r.rep->local_model = gm_xstrdup(gm_backend_model(r.local));
	gm_cache_open(&r.cache, repo);
	if ((rc = gm_engine_new(&r.engine)) < 0)
		goto cleanup;
	r.parser = ts_parser_new();
	running_engine = r.engine;
	if (interrupted) {
		rc = GM_EINTERRUPTED;
		goto cleanup;
	}

	r.rep->ran = true;
	/* Analyses first, so plans arrive while simple rewrites run. */
	for (size_t pass = 0; pass < 2 && rc == 0; pass++)
		for (size_t i = 0; i < r.ntasks && rc == 0; i++) {
			struct task *t = r.tasks[i];
			if (pass == 0 && t->type == T_ANALYSIS)
				rc = submit_analysis(&r, t);
			else if (pass == 1 && t->type == T_REWRITE && !t->held && rtask(&r, t)->attempts == 0)
				rc = submit_rewrite(&r, t);
		}
	if (rc == 0)
		rc = drain_ready(&r);
	if (rc == 0)
		rc = gm_engine_run(r.engine, on_done, &r);
	running_engine = NULL;
	if (interrupted)
		rc = GM_EINTERRUPTED;
	if (rc < 0)
		goto cleanup;
	report_progress(&r, true);

	/* Accepted edits, grouped by file. */
	edits = gm_xcalloc(r.ntasks + 1, sizeof(*edits));
	for (size_t i = 0; i < r.ntasks; i++)
		if (r.tasks[i]->accepted) {
			edits[nedits].task = i;
			edits[nedits].file = r.idx->units[r.tasks[i]->unit].file;
			nedits++;
		}
	qsort(edits, nedits, sizeof(*edits), cmp_edit);
	on = gm_xcalloc(nedits + 1, sizeof(bool));
	for (size_t i = 0; i < nedits; i++)
		on[i] = true;
	if (nedits && opts->verify && (rc = run_verify(&r, edits, nedits, on)) < 0)
		goto cleanup;
	if (nedits) {
		uint64_t t = gm_now_ms();
		rc = write_result(&r, edits, nedits, on);
		r.rep->commit_ms = gm_now_ms() - t;
	}
	if (rc == 0 && !r.rep->branch) {
		/* Nothing written: a failure only when something failed. */
		for (size_t i = 0; i < r.rep->ntasks; i++) {
			enum gm_task_status s = r.rep->tasks[i].status;
			if (s == GM_TASK_FAILED || s == GM_TASK_REJECTED || s == GM_TASK_DROPPED) {
				gm_error_set("no edit survived: %s %s: %s", r.rep->tasks[i].path, r.rep->tasks[i].name,
				             r.rep->tasks[i].reason ? r.rep->tasks[i].reason : gm_task_status_name(s));
				rc = GM_ERROR;
				break;
			}
		}
	}
cleanup:
	running_engine = NULL;
	r.rep->elapsed_ms = gm_now_ms() - r.t0;
	if (!r.rep->local_model && r.local)
		r.rep->local_model = gm_backend_model(r.local) ? gm_xstrdup(gm_backend_model(r.local)) : NULL;
	for (size_t i = 0; i < r.nready; i++) {
		free(r.ready[i].content);
		free(r.ready[i].finish);
		free(r.ready[i].model);
	}
	free(r.ready);
	for (size_t i = 0; i < r.ntasks; i++) {
		struct task *t = r.tasks[i];
		if (rtask(&r, t)->status == GM_TASK_PENDING && rc == GM_EINTERRUPTED)
			set_str(&rtask(&r, t)->reason, "interrupted");
		gm_validate_result_release(&t->vr);
		free(t->cluster);
		free(t->new_name);
		free(t->new_signature);
		free(t->prev_error);
		free(t->cache_key);
		free(t);
	}
	free(r.tasks);
	/* Report in file order, whatever order the answers came in. */
	if (r.rep->ntasks > 1)
		qsort(r.rep->tasks, r.rep->ntasks, sizeof(*r.rep->tasks), cmp_report_task);
	if (r.src)
		for (size_t i = 0; i < r.idx->nfiles; i++)
			free(r.src[i].data);
	free(r.src);
	free(r.task_of_unit);
	free(targets);
	free(edits);
	free(on);
	ts_parser_delete(r.parser);
	gm_engine_free(r.engine);
	gm_backend_free(r.local);
	gm_backend_free(r.claude);
	gm_cache_free(r.cache);
	gm_index_free(r.idx);
	return rc;
}

/* ---- report ------------------------------------------------------------------------ */

static int cmp_report_task_ptr(const void *a, const void *b)
{
	return cmp_report_task(*(const struct gm_run_task *const *)a, *(const struct gm_run_task *const *)b);
}

cJSON *gm_run_report_json(const struct gm_run_report *r)
{
	cJSON *root = cJSON_CreateObject(), *tasks, *totals, *warnings;
	const struct gm_run_task **order;
	char oid[GIT_OID_HEXSZ + 1];

	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "run", r->run_id);
	cJSON_AddBoolToObject(root, "dry_run", r->dry_run);
	git_oid_tostr(oid, sizeof(oid), &r->base);
	cJSON_AddStringToObject(root, "base", oid);
	if (r->has_commit) {
		git_oid_tostr(oid, sizeof(oid), &r->commit);
		cJSON_AddStringToObject(root, "commit", oid);
	} else {
		cJSON_AddNullToObject(root, "commit");
	}
	if (r->branch)
		cJSON_AddStringToObject(root, "branch", r->branch);
	else
		cJSON_AddNullToObject(root, "branch");
	if (r->local_model)
		cJSON_AddStringToObject(root, "local_model", r->local_model);
	if (r->claude_model)
		cJSON_AddStringToObject(root, "claude_model", r->claude_model);
	cJSON_AddBoolToObject(root, "analysis_local", r->analysis_local);
	if (r->analysis_note)
		cJSON_AddStringToObject(root, "analysis_note", r->analysis_note);
	tasks = cJSON_AddArrayToObject(root, "tasks");
	order = gm_xcalloc(r->ntasks + 1, sizeof(*order));
	for (size_t i = 0; i < r->ntasks; i++)
		order[i] = &r->tasks[i];
	qsort(order, r->ntasks, sizeof(*order), cmp_report_task_ptr);
	for (size_t i = 0; i < r->ntasks; i++) {
		const struct gm_run_task *t = order[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", t->path ? t->path : "");
		cJSON_AddStringToObject(o, "name", t->name ? t->name : "");
		cJSON_AddStringToObject(o, "kind", t->kind ? t->kind : "rewrite");
		cJSON_AddStringToObject(o, "route", t->route ? t->route : "local");
		if (t->route_reason)
			cJSON_AddStringToObject(o, "route_reason", t->route_reason);
		if (t->model)
			cJSON_AddStringToObject(o, "model", t->model);
		cJSON_AddStringToObject(o, "status", gm_task_status_name(t->status));
		if (t->reason)
			cJSON_AddStringToObject(o, "reason", t->reason);
		if (t->rationale)
			cJSON_AddStringToObject(o, "rationale", t->rationale);
		if (t->instructions)
			cJSON_AddStringToObject(o, "instructions", t->instructions);
		cJSON_AddNumberToObject(o, "attempts", t->attempts);
		cJSON_AddNumberToObject(o, "start_line", t->start_line);
		cJSON_AddNumberToObject(o, "end_line", t->end_line);
		cJSON_AddNumberToObject(o, "input_tokens", (double)t->input_tokens);
		cJSON_AddNumberToObject(o, "output_tokens", (double)t->output_tokens);
		cJSON_AddNumberToObject(o, "estimated_tokens", (double)t->est_tokens);
		cJSON_AddNumberToObject(o, "cost_usd", t->cost_usd);
		cJSON_AddBoolToObject(o, "cached", t->cached);
		if (t->status == GM_TASK_APPLIED && t->kind && strcmp(t->kind, "rewrite") == 0) {
			cJSON *h = cJSON_AddArrayToObject(o, "helpers"), *im = cJSON_AddArrayToObject(o, "imports");
			cJSON *cc = cJSON_AddObjectToObject(o, "complexity");
			cJSON_AddNumberToObject(o, "lines_added", t->added);
			cJSON_AddNumberToObject(o, "lines_removed", t->removed);
			for (size_t k = 0; k < t->nhelpers; k++)
				cJSON_AddItemToArray(h, cJSON_CreateString(t->helpers[k]));
			for (size_t k = 0; k < t->nimports; k++)
				cJSON_AddItemToArray(im, cJSON_CreateString(t->imports[k]));
			cJSON_AddNumberToObject(cc, "before", t->cc_before);
			cJSON_AddNumberToObject(cc, "after", t->cc_after);
			cJSON_AddNumberToObject(cc, "after_sum", t->cc_after_sum);
		}
		cJSON_AddItemToArray(tasks, o);
	}
	free(order);
	totals = cJSON_AddObjectToObject(root, "totals");
	cJSON_AddNumberToObject(totals, "requests", (double)r->requests);
	cJSON_AddNumberToObject(totals, "input_tokens", (double)r->input_tokens);
	cJSON_AddNumberToObject(totals, "output_tokens", (double)r->output_tokens);
	cJSON_AddNumberToObject(totals, "cost_usd", r->cost_usd);
	cJSON_AddNumberToObject(totals, "elapsed_ms", (double)r->elapsed_ms);
	cJSON_AddNumberToObject(totals, "model_ms", (double)r->model_ms);
	cJSON_AddNumberToObject(totals, "scan_ms", (double)r->scan_ms);
	cJSON_AddNumberToObject(totals, "commit_ms", (double)r->commit_ms);
	warnings = cJSON_AddArrayToObject(root, "warnings");
	for (size_t i = 0; i < r->nwarnings; i++)
		cJSON_AddItemToArray(warnings, cJSON_CreateString(r->warnings[i]));
	return root;
}

void gm_run_report_free(struct gm_run_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ntasks; i++) {
		struct gm_run_task *t = &r->tasks[i];
		free(t->path);
		free(t->name);
		free(t->kind);
		free(t->route);
		free(t->model);
		free(t->route_reason);
		free(t->reason);
		free(t->rationale);
		free(t->instructions);
		for (size_t k = 0; k < t->nhelpers; k++)
			free(t->helpers[k]);
		free(t->helpers);
		for (size_t k = 0; k < t->nimports; k++)
			free(t->imports[k]);
		free(t->imports);
	}
	free(r->tasks);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	free(r->run_id);
	free(r->branch);
	free(r->analysis_note);
	free(r->local_model);
	free(r->claude_model);
	free(r);
}
