/*
 * task.c: the tasks of a refactor run and their state machine (task.h):
 * building each request, submitting it (or answering it from the cache),
 * judging the answer, and retrying, escalating or releasing what a plan
 * unlocked, all from the engine's completion callback.
 */
#include "monitor/task.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "monitor/error.h"
#include "monitor/extract.h"
#include "monitor/prompt.h"
#include "monitor/quote.h"
#include "monitor/util.h"
#include "monitor/validate.h"
#include "monitor/banned.h"

#define MAX_LOCAL_ATTEMPTS 3  /* the first answer and two retries */
#define MAX_CLAUDE_ATTEMPTS 2
#define MAX_ANALYSIS_ATTEMPTS 2
#define MAX_CALLEES 24        /* signatures of called functions in a rewrite prompt */
#define MAX_SIGNATURES 64     /* callers' and callees' signatures in an analysis prompt */
#define MAX_IMPORTS 40
#define ANALYSIS_MAX_TOKENS 8192
#define CLAUDE_MAX_TOKENS 32000

enum task_type { T_REWRITE, T_ANALYSIS };

struct task {
	enum task_type type;
	size_t row;         /* its row in the report */
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
	struct gm_token_estimate est; /* of the last request */
	struct gm_validate_result vr; /* accepted answer */
	bool accepted;
	/* --max-cost */
	double reserved;    /* the worst case of its request in flight on Claude, dollars */
	bool has_reserved;
	bool no_claude;     /* the budget sent it back: never to Claude again */
	bool waiting;       /* in the budget's queue */
	enum gm_task_status fallback; /* what it ends as if Claude cannot take it */
	char *fallback_reason;
};

/* The base text of a file, read once from its blob. */
struct source {
	char *data;
	size_t len;
	bool loaded;
	struct gm_validate_file *vf; /* its parse for validation, made on the first answer */
};

/* An answer from the cache, handled once the current one is. */
struct ready {
	struct task *t;
	struct gm_cache_answer a;
};

struct gm_tasks {
	struct gm_tasks_config cfg;
	struct task **tasks;
	size_t ntasks, ctasks;
	long *task_of_unit; /* unit id -> task index, -1 */
	struct source *src; /* per file of the index */
	struct ready *ready;
	size_t nready, cready;
	struct gm_engine *engine; /* during gm_tasks_run */
	struct gm_cache *cache;
	TSParser *parser;
	uint64_t t0, last_progress;
	struct gm_progress_server *servers; /* the progress line's, per local server */
	size_t done;
	bool claude_blocked; /* --max-cost reached */
	/*
	 * --max-cost: spent (the report's cost) + the worst cases of the Claude
	 * requests in flight + the worst case of the next one must stay within
	 * the budget, so it can never be passed.  A request that would fit once
	 * those in flight are answered waits; one that would not fit even then
	 * goes to the local model or ends unsent.
	 */
	double reserved;      /* sum of the in-flight Claude requests' worst cases */
	size_t nreserved;     /* how many there are */
	struct task **waiting;
	size_t nwaiting, cwaiting;
	bool budget_warned;
	struct gm_backend *batch; /* Claude's analyses go here as Message Batches; NULL: none */
};

/* ---- the set ---------------------------------------------------------------- */

struct gm_tasks *gm_tasks_new(const struct gm_tasks_config *cfg)
{
	struct gm_tasks *ts = gm_xcalloc(1, sizeof(*ts));
	ts->cfg = *cfg;
	ts->task_of_unit = gm_xcalloc(cfg->idx->nunits + 1, sizeof(long));
	for (size_t i = 0; i < cfg->idx->nunits; i++)
		ts->task_of_unit[i] = -1;
	ts->src = gm_xcalloc(cfg->idx->nfiles + 1, sizeof(*ts->src));
	ts->t0 = gm_now_ms();
	return ts;
}

void gm_tasks_free(struct gm_tasks *ts)
{
	if (!ts)
		return;
	for (size_t i = 0; i < ts->nready; i++)
		gm_cache_answer_release(&ts->ready[i].a);
	free(ts->ready);
	for (size_t i = 0; i < ts->ntasks; i++) {
		struct task *t = ts->tasks[i];
		gm_validate_result_release(&t->vr);
		free(t->cluster);
		free(t->new_name);
		free(t->new_signature);
		free(t->prev_error);
		free(t->cache_key);
		free(t->fallback_reason);
		free(t);
	}
	free(ts->tasks);
	free(ts->waiting);
	for (size_t i = 0; i < ts->cfg.idx->nfiles; i++) {
		gm_validate_file_free(ts->src[i].vf);
		free(ts->src[i].data);
	}
	free(ts->src);
	free(ts->task_of_unit);
	free(ts->servers);
	free(ts);
}

size_t gm_tasks_count(const struct gm_tasks *ts)
{
	return ts->ntasks;
}

int gm_tasks_source(const char **out, size_t *len, struct gm_tasks *ts, size_t file)
{
	struct source *s = &ts->src[file];
	const struct gm_file *f = &ts->cfg.idx->files[file];
	git_blob *blob = NULL;

	if (!s->loaded) {
		if (git_blob_lookup(&blob, ts->cfg.repo, &f->oid) < 0)
			return gm_error_git(GM_EFATAL, "cannot read '%s'", f->path);
		s->len = (size_t)git_blob_rawsize(blob);
		s->data = gm_xstrndup(git_blob_rawcontent(blob), s->len);
		s->loaded = true;
		git_blob_free(blob);
	}
	*out = s->data;
	*len = s->len;
	return 0;
}

static struct gm_run_task *row(struct gm_tasks *ts, const struct task *t)
{
	return &ts->cfg.rep->tasks[t->row];
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? gm_xstrdup(s) : NULL;
}

static struct task *new_task(struct gm_tasks *ts, enum task_type type)
{
	struct task *t = gm_xcalloc(1, sizeof(*t));
	t->type = type;
	t->row = gm_run_report_add_task(ts->cfg.rep);
	GM_GROW(ts->tasks, ts->ctasks, ts->ntasks + 1);
	ts->tasks[ts->ntasks++] = t;
	return t;
}

static struct task *new_rewrite(struct gm_tasks *ts, size_t unit)
{
	const struct gm_index *idx = ts->cfg.idx;
	const struct gm_unit *u = gm_index_unit(idx, unit);
	struct task *t = new_task(ts, T_REWRITE);
	struct gm_run_task *rt = row(ts, t);

	t->unit = unit;
	ts->task_of_unit[unit] = (long)(ts->ntasks - 1);
	rt->path = gm_xstrdup(idx->files[idx->units[unit].file].path);
	rt->name = gm_unit_key(u);
	rt->kind = gm_xstrdup("rewrite");
	rt->route = gm_xstrdup("local");
	rt->start_line = u->start_line;
	rt->end_line = u->end_line;
	return t;
}

void gm_tasks_add_rewrite(struct gm_tasks *ts, size_t unit, bool held, const char *route_reason)
{
	struct task *t = new_rewrite(ts, unit);
	t->held = held;
	set_str(&row(ts, t)->route_reason, route_reason);
}

void gm_tasks_add_analysis(struct gm_tasks *ts, const size_t *units, size_t n,
                           const struct gm_route *route)
{
	const struct gm_index *idx = ts->cfg.idx;
	const struct gm_unit *first = gm_index_unit(idx, units[0]);
	struct task *t = new_task(ts, T_ANALYSIS);
	struct gm_run_task *rt = row(ts, t);

	t->cluster = gm_xcalloc(n, sizeof(size_t));
	memcpy(t->cluster, units, n * sizeof(size_t));
	t->ncluster = n;
	t->on_claude = route->route == GM_ANALYSIS_CLAUDE;
	rt->path = gm_xstrdup(idx->files[idx->units[units[0]].file].path);
	rt->name = n > 1 ? gm_xasprintf("%s (+%zu)", first->name, n - 1) : gm_xstrdup(first->name);
	rt->kind = gm_xstrdup("analysis");
	rt->start_line = first->start_line;
	rt->route = gm_xstrdup(t->on_claude ? "claude" : "local");
	set_str(&rt->route_reason, route->reason);
}

static void finish(struct gm_tasks *ts, struct task *t, enum gm_task_status st, const char *reason)
{
	struct gm_run_task *rt = row(ts, t);
	rt->status = st;
	set_str(&rt->reason, reason);
	ts->done++;
}

static void report_progress(struct gm_tasks *ts, bool force)
{
	const struct gm_tasks_config *c = &ts->cfg;
	struct gm_progress p = { 0 };
	uint64_t now = gm_now_ms();
	double secs;
	size_t n = c->local ? gm_backend_nservers(c->local) : 0;

	if (!c->progress || (!force && now - ts->last_progress < 50))
		return;
	ts->last_progress = now;
	secs = (double)(now - ts->t0) / 1000.0;
	if (n && !ts->servers)
		ts->servers = gm_xcalloc(n, sizeof(*ts->servers));
	for (size_t i = 0; i < n; i++) {
		struct gm_backend_server_stats st;
		gm_backend_server_stats(&st, c->local, i);
		ts->servers[i].url = st.url;
		ts->servers[i].running = st.inflight;
		ts->servers[i].up = st.up;
	}
	p.done = ts->done;
	p.total = ts->ntasks;
	p.running_local = ts->engine && c->local ? gm_engine_inflight(ts->engine, c->local) : 0;
	p.running_claude = ts->engine && c->claude ? gm_engine_inflight(ts->engine, c->claude) : 0;
	p.queued_local = ts->engine && c->local ? gm_engine_queued(ts->engine, c->local) : 0;
	p.queued_claude = ts->engine && c->claude ? gm_engine_queued(ts->engine, c->claude) : 0;
	p.servers = ts->servers;
	p.nservers = n;
	p.have_claude = c->claude != NULL;
	if (ts->engine)
		p.streamed_bytes = (c->local ? gm_engine_streamed(ts->engine, c->local) : 0) +
		                   (c->claude ? gm_engine_streamed(ts->engine, c->claude) : 0);
	p.output_tokens = c->rep->output_tokens;
	p.tokens_per_s = secs > 0 ? (double)c->rep->output_tokens / secs : 0;
	p.cost_usd = c->rep->cost_usd;
	c->progress(c->progress_ctx, &p);
}

/* The engine's tick: the line moves while every answer is still pending. */
static void on_tick(void *ctx)
{
	report_progress(ctx, false);
}

/* ---- routing --------------------------------------------------------------- */

static bool path_local_only(const struct gm_tasks *ts, size_t unit)
{
	const struct gm_index *idx = ts->cfg.idx;
	return ts->cfg.local_only || idx->files[idx->units[unit].file].local_only;
}

bool gm_tasks_claude_allowed(struct gm_tasks *ts, const struct gm_token_estimate *e)
{
	const struct gm_tasks_config *c = &ts->cfg;
	double cost;

	if (!c->claude || ts->claude_blocked)
		return false;
	if (!c->has_max_cost)
		return true;
	cost = e ? gm_backend_cost(c->claude, (int64_t)e->prompt, (int64_t)e->output, 0, 0) : 0.0;
	/* A budget of 0 means nothing at all goes to Claude. */
	if (c->rep->cost_usd + cost >= c->max_cost) {
		gm_run_report_warn(c->rep, "--max-cost $%.4f reached: no more requests to Claude", c->max_cost);
		ts->claude_blocked = true;
		return false;
	}
	return true;
}

/*
 * Move a rewrite to Claude (its tries start again there); should Claude
 * not take it after all (the budget), it ends as `fallback`, `reason`.
 */
static void escalate(struct gm_tasks *ts, struct task *t, const char *why,
                     enum gm_task_status fallback, const char *reason)
{
	set_str(&row(ts, t)->route_reason, why);
	t->on_claude = true;
	t->tries = 0;
	t->fallback = fallback;
	set_str(&t->fallback_reason, reason);
}

/* ---- backends ---------------------------------------------------------------- */

/* Where `t`'s next request goes: the local fleet, Claude, or Claude's batches. */
static struct gm_backend *backend_of(const struct gm_tasks *ts, const struct task *t)
{
	if (!t->on_claude)
		return ts->cfg.local;
	return t->type == T_ANALYSIS && ts->batch ? ts->batch : ts->cfg.claude;
}

int gm_tasks_route(struct gm_tasks *ts, const size_t *targets, size_t ntargets, bool plan_all)
{
	struct gm_plan_groups g;
	struct gm_route_opts ro = { 0 };
	struct gm_run_report *rep = ts->cfg.rep;
	int rc = 0;

	ro.have_claude_key = ts->cfg.claude != NULL;
	ro.local_only = ts->cfg.local_only;
	ro.plan_all = plan_all;
	gm_plan_group(&g, ts->cfg.idx, targets, ntargets);
	for (size_t c = 0; c < g.nclusters && rc == 0; c++) {
		const size_t *members = g.units + g.start[c];
		size_t n = g.start[c + 1] - g.start[c];
		struct gm_route rt;
		bool complex;
		if (!n)
			continue;
		ro.max_cost_spent = ts->cfg.claude && !gm_tasks_claude_allowed(ts, NULL);
		if ((rc = gm_plan_route_units(&rt, ts->cfg.idx, members, n, &ro)) < 0)
			break;
		complex = rt.route != GM_ANALYSIS_NONE;
		for (size_t k = 0; k < n; k++)
			gm_tasks_add_rewrite(ts, members[k], complex,
			                     complex ? "waits for the cluster's plan" : rt.reason);
		if (complex)
			gm_tasks_add_analysis(ts, members, n, &rt);
		if (rt.route == GM_ANALYSIS_LOCAL) {
			const char *semi = strchr(rt.reason, ';');
			rep->analysis_local = true;
			free(rep->analysis_note);
			rep->analysis_note = gm_xstrdup(semi ? semi + 2 : rt.reason);
		}
		gm_route_release(&rt);
	}
	gm_plan_groups_release(&g);
	return rc;
}

bool gm_tasks_batch_when(struct gm_tasks *ts, struct gm_backend *batch, bool forced,
                         const char *mode, size_t above)
{
	size_t n = gm_tasks_claude_analyses(ts);
	bool on = forced || !strcasecmp(mode, "on") || !strcasecmp(mode, "true") ||
	          (!strcasecmp(mode, "auto") && n > above);

	if (on && n)
		gm_tasks_use_batch(ts, batch);
	return on && n;
}

void gm_tasks_use_batch(struct gm_tasks *ts, struct gm_backend *batch)
{
	ts->batch = batch;
}

size_t gm_tasks_claude_analyses(const struct gm_tasks *ts)
{
	size_t n = 0;
	for (size_t i = 0; i < ts->ntasks; i++)
		n += ts->tasks[i]->type == T_ANALYSIS && ts->tasks[i]->on_claude;
	return n;
}

/* ---- the budget ---------------------------------------------------------------- */

enum fit {
	FITS,
	WAIT,  /* fits once requests in flight are answered */
	NEVER, /* would pass the budget even with nothing in flight */
};

static enum fit budget_fit(const struct gm_tasks *ts, double worst)
{
	const struct gm_tasks_config *c = &ts->cfg;
	double spent = c->rep->cost_usd;

	if (!c->has_max_cost)
		return FITS;
	if (worst < 0 || spent + worst > c->max_cost)
		return NEVER; /* spending only grows: it never will */
	if (ts->nreserved && spent + ts->reserved + worst > c->max_cost)
		return WAIT;
	return FITS;
}

static size_t request_bytes(const struct gm_chat_request *q)
{
	return (q->system ? strlen(q->system) : 0) + (q->user ? strlen(q->user) : 0) +
	       (q->json_schema ? strlen(q->json_schema) : 0);
}

/* The most request `q` can cost on Claude backend `b` (its batch price, if one); < 0: unbounded. */
static double worst_cost(const struct gm_backend *b, const struct gm_chat_request *q)
{
	double w = gm_plan_worst_cost(request_bytes(q), (size_t)q->max_tokens, gm_backend_model(b));
	return w < 0 ? w : w * gm_backend_price_factor(b);
}

/* What the report says of a Claude request the budget would not cover. */
static char *budget_reason(const struct gm_tasks *ts, double worst)
{
	const char *model = gm_backend_model(ts->cfg.claude);
	if (worst < 0)
		return gm_xasprintf("--max-cost: no price is known for %s, so no bound", model);
	return gm_xasprintf("--max-cost $%.4f would not cover Claude's worst case ($%.4f)",
	                    ts->cfg.max_cost, worst);
}

static void budget_warn(struct gm_tasks *ts)
{
	if (ts->budget_warned)
		return;
	ts->budget_warned = true;
	gm_run_report_warn(ts->cfg.rep, "--max-cost $%.4f: what Claude might cost past it went to the "
	                   "local model or was not sent", ts->cfg.max_cost);
}

static void reserve(struct gm_tasks *ts, struct task *t, double worst)
{
	t->reserved = worst;
	t->has_reserved = true;
	ts->reserved += worst;
	ts->nreserved++;
}

static void unreserve(struct gm_tasks *ts, struct task *t)
{
	if (!t->has_reserved)
		return;
	if (--ts->nreserved == 0)
		ts->reserved = 0; /* no rounding left over */
	else
		ts->reserved -= t->reserved;
	t->reserved = 0;
	t->has_reserved = false;
}

/* ---- requests ------------------------------------------------------------------ */

struct request {
	struct gm_chat_request q;
	char *user;
	struct gm_token_estimate est;
	char *skip; /* why it must not be sent at all, or NULL */
};

static void request_release(struct request *req)
{
	free(req->user);
	free(req->skip);
}

/*
 * A request is JSON text, so valid UTF-8.  The unit a rewrite sends must be
 * already, since its answer replaces those very bytes; what only gives
 * context (paths, imports, signatures, the goal, an analysis's code) has
 * any byte that is not UTF-8 shown as U+FFFD.
 */
static void request_text(struct request *out)
{
	char *valid = gm_quote_lossy(out->user);
	free(out->user);
	out->user = valid;
	out->q.user = valid;
}

/* Why `code` cannot go to a model, or NULL: a byte that is not UTF-8, named with its line. */
static char *not_utf8(const char *code, size_t len, const struct gm_unit *u)
{
	unsigned line = u->start_line;
	size_t i = 0, n;

	for (; i < len; i += n) {
		if (!(n = gm_utf8_seq(code + i, len - i)))
			break;
		line += code[i] == '\n';
	}
	if (i == len)
		return NULL;
	return gm_xasprintf("not valid UTF-8 (byte 0x%02X on line %u): a model's answer cannot give "
	                    "these bytes back", (unsigned char)code[i], line);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char **callee_signatures(const struct gm_index *idx, size_t unit, size_t *n)
{
	char **v = NULL;
	size_t cap = 0;
	*n = 0;
	for (size_t i = 0; i < idx->nedges && *n < MAX_CALLEES; i++) {
		const struct gm_edge *e = &idx->edges[i];
		if (e->caller != unit)
			continue;
		GM_GROW(v, cap, *n + 1);
		v[(*n)++] = gm_xstrdup(gm_index_unit(idx, e->callee)->signature);
	}
	return v;
}

/* The rewrite request of `t` as it stands (plan, previous error), before any context check. */
static int rewrite_request(struct request *out, struct gm_tasks *ts, struct task *t)
{
	const struct gm_index *idx = ts->cfg.idx;
	size_t file = idx->units[t->unit].file;
	const struct gm_file *f = &idx->files[file];
	const struct gm_unit *u = gm_index_unit(idx, t->unit);
	struct gm_rewrite_prompt p = { 0 };
	char **imports = NULL, **callees = NULL, *code, *scope;
	size_t nimports, ncallees, code_len, len;
	const char *src;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = gm_tasks_source(&src, &len, ts, file)) < 0)
		return rc;
	code = gm_prompt_unit_code(src, len, u, &code_len);
	out->skip = not_utf8(code, code_len, u);
	scope = gm_prompt_scope_header(src, len, u, f->lang);
	nimports = gm_prompt_import_lines(&imports, f->lang, src, len, MAX_IMPORTS);
	callees = callee_signatures(idx, t->unit, &ncallees);
	p.goal = ts->cfg.goal;
	p.instructions = row(ts, t)->instructions;
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
	out->user = gm_prompt_rewrite_user(&p);
	request_text(out);
	free(code);
	free(scope);
	free_strv(imports, nimports);
	free_strv(callees, ncallees);

	out->q.system = gm_prompt_rewrite_system();
	out->q.user = out->user;
	gm_plan_estimate(&out->est, GM_ESTIMATE_REWRITE, strlen(out->q.system) + strlen(out->user),
	                 u->end_byte - u->start_byte);
	/* Room for the whole function again, some growth and a little reasoning. */
	out->q.max_tokens = (int)(out->est.output * 3 + 2048);
	return 0;
}

/* The analysis request of `t`: the cluster's code and the signatures around it. */
static int analysis_request(struct request *out, struct gm_tasks *ts, struct task *t)
{
	const struct gm_index *idx = ts->cfg.idx;
	struct gm_plan_prompt_unit *units = gm_xcalloc(t->ncluster, sizeof(*units));
	char **sigs = NULL, **codes = gm_xcalloc(t->ncluster, sizeof(char *));
	size_t nsigs = 0, csigs = 0, bytes = 0, len;
	const char *src;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < t->ncluster; i++) {
		size_t id = t->cluster[i], file = idx->units[id].file;
		const struct gm_unit *u = gm_index_unit(idx, id);
		if ((rc = gm_tasks_source(&src, &len, ts, file)) < 0)
			goto cleanup;
		codes[i] = gm_prompt_unit_code(src, len, u, &units[i].code_len);
		units[i].code = codes[i];
		units[i].path = idx->files[file].path;
		units[i].name = u->name;
		units[i].lang = idx->files[file].lang;
		bytes += units[i].code_len;
		/* Callers and callees outside the cluster, by signature. */
		for (size_t e = 0; e < idx->nedges && nsigs < MAX_SIGNATURES; e++) {
			const struct gm_edge *ed = &idx->edges[e];
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
			sigs[nsigs++] = gm_xasprintf("%s: %s", idx->files[idx->units[other].file].path,
			                             gm_index_unit(idx, other)->signature);
		}
	}
	out->user = gm_prompt_plan_user(ts->cfg.goal, units, t->ncluster, (const char *const *)sigs,
	                                nsigs);
	request_text(out);
	out->q.system = gm_prompt_plan_system();
	out->q.user = out->user;
	out->q.json_schema = gm_prompt_plan_schema;
	out->q.schema_name = "refactor_plan";
	out->q.max_tokens = ANALYSIS_MAX_TOKENS;
	gm_plan_estimate(&out->est, GM_ESTIMATE_ANALYSIS, strlen(out->q.system) + strlen(out->user),
	                 bytes);
cleanup:
	for (size_t i = 0; i < t->ncluster; i++)
		free(codes[i]);
	free(codes);
	free(units);
	free_strv(sigs, nsigs);
	return rc;
}

static int submit_rewrite(struct gm_tasks *ts, struct task *t);
static int submit_analysis(struct gm_tasks *ts, struct task *t);
static int release_held(struct gm_tasks *ts, struct task *analysis, const char *why);

/*
 * The budget will not cover `t` on Claude (`why`): an analysis goes to the
 * local model, a rewrite ends as it would have without Claude.
 */
static int over_budget(struct gm_tasks *ts, struct task *t, const char *why)
{
	struct gm_run_task *rt = row(ts, t);
	char *s;

	budget_warn(ts);
	t->on_claude = false;
	t->no_claude = true;
	t->tries = 0;
	set_str(&rt->route, "local");
	if (t->type == T_ANALYSIS) {
		s = gm_xasprintf("%s%s%s: analysis by the local model", rt->route_reason ? rt->route_reason : "",
		                 rt->route_reason ? "; " : "", why);
		set_str(&rt->route_reason, s);
		free(s);
		ts->cfg.rep->analysis_local = true;
		s = gm_xasprintf("%s: analysis by the local model", why);
		set_str(&ts->cfg.rep->analysis_note, s);
		free(s);
		return submit_analysis(ts, t);
	}
	s = gm_xasprintf("not escalated: %s", why);
	set_str(&rt->route_reason, s);
	free(s);
	finish(ts, t, t->fallback ? t->fallback : GM_TASK_FAILED,
	       t->fallback_reason ? t->fallback_reason : why);
	return 0;
}

/*
 * Send `req` for `t`, or take its answer from the cache (handled in
 * drain_ready).  Every model request passes here, so here the budget is
 * kept: a Claude request is sent only when the spent amount, the worst
 * cases of the Claude requests in flight and its own worst case stay
 * within --max-cost; else it waits for those in flight, or goes elsewhere.
 */
static int send_request(struct gm_tasks *ts, struct task *t, const struct request *req)
{
	struct gm_backend *b = backend_of(ts, t);
	struct gm_run_task *rt = row(ts, t);
	struct gm_cache_answer a;
	struct gm_chat_request q = req->q;
	char *key = gm_cache_answer_key(GM_PROMPT_VERSION, t->on_claude ? "claude" : "local",
	                                gm_backend_model(b), &req->q, t->tries + 1);
	bool cached = !ts->cfg.no_cache && gm_cache_answer_get(&a, ts->cache, key);

	if (!cached && t->on_claude) {
		double worst = worst_cost(b, &req->q);
		enum fit f = budget_fit(ts, worst);
		if (f == WAIT) {
			free(key);
			t->waiting = true;
			GM_GROW(ts->waiting, ts->cwaiting, ts->nwaiting + 1);
			ts->waiting[ts->nwaiting++] = t;
			return 0;
		}
		if (f == NEVER) {
			char *why = budget_reason(ts, worst);
			int rc;
			free(key);
			rc = over_budget(ts, t, why);
			free(why);
			return rc;
		}
		if (ts->cfg.has_max_cost)
			reserve(ts, t, worst);
	}
	t->est = req->est;
	rt->est_tokens = (int64_t)req->est.total;
	free(t->cache_key);
	t->cache_key = key;
	t->tries++;
	rt->attempts++;
	gm_run_report_add_cache_key(ts->cfg.rep, t->cache_key);
	if (!cached) {
		/* The key names the request again in a later run: a batch is resumed by it. */
		q.id = key;
		return gm_engine_submit(ts->engine, b, &q, t);
	}
	GM_GROW(ts->ready, ts->cready, ts->nready + 1);
	ts->ready[ts->nready].t = t;
	ts->ready[ts->nready].a = a;
	ts->nready++;
	rt->cached = true;
	return 0;
}

/* Requests the budget held back, tried again now that one in flight was answered. */
static int budget_retry(struct gm_tasks *ts)
{
	struct task **v = ts->waiting;
	size_t n = ts->nwaiting;
	int rc = 0;

	if (!n)
		return 0;
	ts->waiting = NULL;
	ts->nwaiting = ts->cwaiting = 0;
	for (size_t i = 0; i < n; i++) {
		struct task *t = v[i];
		t->waiting = false;
		if (rc == 0)
			rc = t->type == T_REWRITE ? submit_rewrite(ts, t) : submit_analysis(ts, t);
	}
	free(v);
	return rc;
}

static int submit_rewrite(struct gm_tasks *ts, struct task *t)
{
	struct gm_run_task *rt = row(ts, t);
	struct request req;
	int64_t ctx;
	int rc;

	if ((rc = rewrite_request(&req, ts, t)) < 0)
		return rc;
	rt->est_tokens = (int64_t)req.est.total;
	if (req.skip) {
		finish(ts, t, GM_TASK_SKIPPED, req.skip);
		request_release(&req);
		return 0;
	}
	if (!t->on_claude) {
		ctx = gm_backend_context_length(ts->cfg.local);
		if (!gm_plan_fits_context(&req.est, ctx > 0 ? (size_t)ctx : 0)) {
			char *why = gm_xasprintf("too large for the local model's context (~%zu tokens > %lld)",
			                         req.est.total, (long long)ctx);
			if (!t->no_claude && !path_local_only(ts, t->unit) && gm_tasks_claude_allowed(ts, &req.est)) {
				escalate(ts, t, "too large for the local model's context", GM_TASK_SKIPPED, why);
				free(why);
			} else {
				finish(ts, t, GM_TASK_SKIPPED, why);
				free(why);
				request_release(&req);
				return 0;
			}
		} else if (ctx > 0 && (int64_t)req.q.max_tokens > ctx - (int64_t)req.est.prompt) {
			req.q.max_tokens = (int)(ctx - (int64_t)req.est.prompt); /* never more than fits */
		}
	}
	if (t->on_claude && req.q.max_tokens > CLAUDE_MAX_TOKENS)
		req.q.max_tokens = CLAUDE_MAX_TOKENS;
	set_str(&rt->route, t->on_claude ? "claude" : "local");
	rc = send_request(ts, t, &req);
	request_release(&req);
	return rc;
}

/* Is a unit of the cluster kept on this machine (--local-only, monitor-local-only)? */
static bool cluster_local_only(const struct gm_tasks *ts, const struct task *t)
{
	for (size_t i = 0; i < t->ncluster; i++)
		if (path_local_only(ts, t->cluster[i]))
			return true;
	return false;
}

static int submit_analysis(struct gm_tasks *ts, struct task *t)
{
	struct gm_run_task *rt = row(ts, t);
	struct request req;
	int64_t ctx;
	int rc;

	if ((rc = analysis_request(&req, ts, t)) < 0)
		return rc;
	rt->est_tokens = (int64_t)req.est.total;
	/* Routed like a rewrite: never sent truncated to the local model. */
	if (!t->on_claude) {
		ctx = gm_backend_context_length(ts->cfg.local);
		if (!gm_plan_fits_context(&req.est, ctx > 0 ? (size_t)ctx : 0)) {
			char *why = gm_xasprintf("too large for the local model's context (~%zu tokens > %lld)",
			                         req.est.total, (long long)ctx);
			if (!t->no_claude && !cluster_local_only(ts, t) && gm_tasks_claude_allowed(ts, &req.est)) {
				char *s = gm_xasprintf("%s; %s: analysis by Claude", rt->route_reason ? rt->route_reason : "",
				                       why);
				set_str(&rt->route_reason, s);
				free(s);
				t->on_claude = true;
				t->tries = 0;
				set_str(&rt->route, "claude");
			} else {
				finish(ts, t, GM_TASK_SKIPPED, why);
				rc = release_held(ts, t, why);
				free(why);
				request_release(&req);
				return rc;
			}
			free(why);
		} else if (ctx > 0 && (int64_t)req.q.max_tokens > ctx - (int64_t)req.est.prompt) {
			req.q.max_tokens = (int)(ctx - (int64_t)req.est.prompt); /* never more than fits */
		}
	}
	rc = send_request(ts, t, &req);
	request_release(&req);
	return rc;
}

int gm_tasks_estimate(struct gm_tasks *ts)
{
	const struct gm_tasks_config *c = &ts->cfg;
	size_t moved = 0;
	int rc = 0;

	/* In the order the run sends them (tasks were added in it), each Claude
	 * request kept to the budget as the run keeps it: moved when its worst
	 * case would pass what the earlier ones are expected to spend. */
	for (size_t i = 0; i < ts->ntasks && rc == 0; i++) {
		struct task *t = ts->tasks[i];
		struct gm_run_task *rt = row(ts, t);
		struct request req;
		rc = t->type == T_REWRITE ? rewrite_request(&req, ts, t) : analysis_request(&req, ts, t);
		if (rc < 0)
			break;
		rt->est_tokens = (int64_t)req.est.total;
		rt->cost_usd = 0.0;
		if (req.skip) {
			char *s = gm_xasprintf("will be skipped: %s", req.skip);
			set_str(&rt->route_reason, s);
			free(s);
		}
		if (t->on_claude) {
			struct gm_backend *b = backend_of(ts, t);
			double worst = worst_cost(b, &req.q);
			if (c->has_max_cost && (worst < 0 || c->rep->cost_usd + worst > c->max_cost)) {
				char *why = budget_reason(ts, worst);
				char *s = gm_xasprintf("%s%s%s: analysis by the local model",
				                       rt->route_reason ? rt->route_reason : "",
				                       rt->route_reason ? "; " : "", why);
				t->on_claude = false;
				set_str(&rt->route, "local");
				set_str(&rt->route_reason, s);
				c->rep->analysis_local = true;
				free(s);
				s = gm_xasprintf("%s: analysis by the local model", why);
				set_str(&c->rep->analysis_note, s);
				free(s);
				free(why);
				moved++;
			} else {
				rt->cost_usd = gm_backend_cost(b, (int64_t)req.est.prompt, (int64_t)req.est.output, 0, 0);
			}
		}
		c->rep->cost_usd += rt->cost_usd;
		request_release(&req);
	}
	if (moved)
		gm_run_report_warn(c->rep, "--max-cost $%.4f: %zu analys%s would go to the local model "
		                   "(Claude's worst case would pass the budget)", c->max_cost, moved,
		                   moved == 1 ? "is" : "es");
	return rc;
}

/* ---- answers -------------------------------------------------------------------- */

static int release_held(struct gm_tasks *ts, struct task *analysis, const char *why);

/* A rejected answer: retry with the reason, escalate, or give up. */
static int retry_or_give_up(struct gm_tasks *ts, struct task *t, const char *reason)
{
	unsigned max = t->on_claude ? MAX_CLAUDE_ATTEMPTS : MAX_LOCAL_ATTEMPTS;
	set_str(&t->prev_error, reason);
	if (t->tries < max)
		return submit_rewrite(ts, t);
	if (!t->on_claude && !t->no_claude && !path_local_only(ts, t->unit) &&
	    gm_tasks_claude_allowed(ts, &t->est)) {
		char *why = gm_xasprintf("escalated after %u rejected local answers (last: %s)", t->tries, reason);
		escalate(ts, t, why, GM_TASK_REJECTED, reason);
		free(why);
		return submit_rewrite(ts, t);
	}
	finish(ts, t, GM_TASK_REJECTED, reason);
	return 0;
}

/*
 * Another accepted rewrite of the same file whose helpers share a name with
 * the helpers of `vr`: that helper's name, and the function it came with.
 */
static const char *helper_taken(const struct gm_tasks *ts, const struct task *t,
                                const struct gm_validate_result *vr, const char **owner)
{
	const struct gm_index *idx = ts->cfg.idx;
	size_t file = idx->units[t->unit].file;
	for (size_t i = 0; i < ts->ntasks; i++) {
		const struct task *o = ts->tasks[i];
		if (o == t || !o->accepted || o->type != T_REWRITE || idx->units[o->unit].file != file)
			continue;
		for (size_t a = 0; a < vr->nhelpers; a++)
			for (size_t b = 0; b < o->vr.nhelpers; b++)
				if (!strcmp(vr->helpers[a], o->vr.helpers[b])) {
					*owner = ts->cfg.rep->tasks[o->row].name;
					return vr->helpers[a];
				}
	}
	return NULL;
}

static char **copy_strv(char *const *v, size_t n)
{
	char **c = gm_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		c[i] = gm_xstrdup(v[i]);
	return c;
}

static int on_rewrite_answer(struct gm_tasks *ts, struct task *t, const char *content,
                             const char *finish_reason)
{
	const struct gm_index *idx = ts->cfg.idx;
	size_t file = idx->units[t->unit].file;
	const struct gm_file *f = &idx->files[file];
	const struct gm_unit *u = gm_index_unit(idx, t->unit);
	struct gm_validate_in in = { 0 };
	struct gm_validate_result vr = { 0 };
	const char *taken, *owner = NULL;
	char *why;
	int rc;

	in.lang = f->lang;
	if ((rc = gm_tasks_source(&in.src, &in.len, ts, file)) < 0)
		return rc;
	in.scan = &f->scan;
	in.unit = u;
	in.answer = content;
	in.answer_len = strlen(content);
	in.finish_reason = finish_reason;
	in.new_name = t->new_name;
	in.allow_shrink = t->allow_shrink;
	in.parser = ts->parser;
	/* The file is parsed once for all the answers about its functions. */
	if (!ts->src[file].vf &&
	    (rc = gm_validate_file_new(&ts->src[file].vf, f->lang, in.src, in.len, ts->parser)) < 0)
		return rc;
	in.file = ts->src[file].vf;
	if ((rc = gm_validate(&vr, &in)) < 0)
		return rc;
	/* A rejected answer is kept for salvage (review --show); an accepted one needs none. */
	gm_run_task_keep_answer(row(ts, t), vr.verdict == GM_VERDICT_REJECT ? content : NULL);
	if (vr.verdict == GM_VERDICT_ACCEPT && (taken = helper_taken(ts, t, &vr, &owner))) {
		gm_run_task_keep_answer(row(ts, t), content);
		/* Two functions' helpers of one name would clash in the file: ask again. */
		why = gm_xasprintf("helper name '%s' is already taken by a helper of '%s': choose another "
		                   "name", taken, owner);
		gm_validate_result_release(&vr);
		rc = retry_or_give_up(ts, t, why);
		free(why);
		return rc;
	}
	switch (vr.verdict) {
	case GM_VERDICT_ACCEPT: {
		struct gm_run_task *rt = &ts->cfg.rep->tasks[t->row];
		rt->helpers = copy_strv(vr.helpers, vr.nhelpers);
		rt->nhelpers = vr.nhelpers;
		rt->imports = copy_strv(vr.imports, vr.nimports);
		rt->nimports = vr.nimports;
		rt->cc_before = vr.cc_before;
		rt->cc_after = vr.cc_after;
		rt->cc_after_sum = vr.cc_after_sum;
		t->vr = vr;
		t->accepted = true;
		finish(ts, t, GM_TASK_APPLIED, NULL);
		return 0;
	}
	case GM_VERDICT_UNCHANGED:
		gm_validate_result_release(&vr);
		finish(ts, t, GM_TASK_UNCHANGED, "the model returned the function unchanged");
		return 0;
	case GM_VERDICT_REJECT:
	default:
		why = gm_xstrdup(vr.reason ? vr.reason : "rejected");
		gm_validate_result_release(&vr);
		rc = retry_or_give_up(ts, t, why);
		free(why);
		return rc;
	}
}

/* The rewrite task of unit `name` of `path` (created when it has none), or NULL. */
static struct task *task_for(struct gm_tasks *ts, const char *path, const char *name)
{
	const struct gm_index *idx = ts->cfg.idx;
	for (size_t id = 0; id < idx->nunits; id++) {
		const struct gm_unit *u = gm_index_unit(idx, id);
		if (strcmp(idx->files[idx->units[id].file].path, path) != 0 ||
		    (strcmp(u->name, name) != 0 && strcmp(u->short_name, name) != 0))
			continue;
		if (ts->task_of_unit[id] >= 0)
			return ts->tasks[ts->task_of_unit[id]];
		return new_rewrite(ts, id);
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

/* Take the plan's word for one unit: keep it, or gather its instructions. */
static void apply_plan_unit(struct gm_tasks *ts, const struct gm_plan_unit *pu, const char *rationale)
{
	struct task *w = task_for(ts, pu->path, pu->name);
	struct gm_run_task *wt;

	if (!w || w->type != T_REWRITE || !w->held || w->planned)
		return;
	wt = row(ts, w);
	w->planned = true;
	set_str(&wt->rationale, rationale);
	if (!pu->rewrite) {
		char *why = gm_xasprintf("kept by the plan%s%s", *pu->instructions ? ": " : "",
		                         pu->instructions);
		w->held = false;
		finish(ts, w, GM_TASK_SKIPPED, why);
		free(why);
		return;
	}
	append_instructions(wt, pu->instructions);
	set_str(&w->new_name, pu->new_name);
	set_str(&w->new_signature, pu->new_signature);
	w->allow_shrink = pu->new_signature != NULL || pu->new_name != NULL;
}

/* A call site the plan names follows it in the same run, unless it was sent already. */
static void apply_plan_site(struct gm_tasks *ts, const struct gm_plan_site *site)
{
	struct task *w = task_for(ts, site->path, site->name);
	struct gm_run_task *wt;

	if (!w || w->type != T_REWRITE)
		return;
	wt = row(ts, w);
	if (wt->status != GM_TASK_PENDING || wt->attempts) {
		gm_run_report_warn(ts->cfg.rep,
		                   "plan: call site %s %s was already sent; its instructions were not applied",
		                   site->path, site->name);
		return;
	}
	if (!w->planned) {
		w->planned = true;
		w->held = true; /* a new task, or one not yet sent: sent with the others */
		set_str(&wt->route_reason, "call site named by the plan");
	}
	append_instructions(wt, site->instructions);
}

static int on_analysis_answer(struct gm_tasks *ts, struct task *t, const char *content)
{
	const struct gm_index *idx = ts->cfg.idx;
	struct gm_plan_prompt_unit *known = gm_xcalloc(t->ncluster, sizeof(*known));
	struct gm_analysis a = { 0 };
	cJSON *json = NULL;
	int rc = 0;

	for (size_t i = 0; i < t->ncluster; i++) {
		size_t id = t->cluster[i];
		known[i].path = idx->files[idx->units[id].file].path;
		known[i].name = gm_index_unit(idx, id)->name;
		known[i].lang = idx->files[idx->units[id].file].lang;
	}
	if (gm_extract_json(&json, content, strlen(content)) < 0 ||
	    gm_prompt_analysis_parse(&a, json, known, t->ncluster) < 0) {
		char *why = gm_xasprintf("unusable plan: %s", gm_error_last());
		cJSON_Delete(json);
		free(known);
		if (t->tries < MAX_ANALYSIS_ATTEMPTS) {
			free(why);
			return submit_analysis(ts, t);
		}
		finish(ts, t, GM_TASK_FAILED, why);
		rc = release_held(ts, t, why);
		free(why);
		return rc;
	}
	cJSON_Delete(json);
	free(known);
	set_str(&row(ts, t)->rationale, a.rationale);
	finish(ts, t, GM_TASK_APPLIED, NULL);
	for (size_t i = 0; i < a.nwarnings; i++)
		gm_run_report_warn(ts->cfg.rep, "plan: %s", a.warnings[i]);
	/*
	 * Gather every instruction for a unit first (it may be named both as a
	 * unit and as a call site), then send each unit once.
	 */
	for (size_t i = 0; i < a.nunits; i++)
		apply_plan_unit(ts, &a.units[i], a.rationale);
	for (size_t i = 0; i < a.nsites; i++)
		apply_plan_site(ts, &a.sites[i]);
	for (size_t i = 0; i < ts->ntasks && rc == 0; i++) {
		struct task *w = ts->tasks[i];
		if (w->type != T_REWRITE || !w->planned || !w->held || row(ts, w)->status != GM_TASK_PENDING)
			continue;
		w->held = false;
		rc = submit_rewrite(ts, w);
	}
	/* Units of the cluster the plan did not mention get the plain goal. */
	if (rc == 0)
		rc = release_held(ts, t, NULL);
	gm_prompt_analysis_release(&a);
	return rc;
}

/* Release the rewrites an analysis was holding, with the plain goal. */
static int release_held(struct gm_tasks *ts, struct task *analysis, const char *why)
{
	int rc = 0;
	for (size_t i = 0; i < analysis->ncluster && rc == 0; i++) {
		long k = ts->task_of_unit[analysis->cluster[i]];
		struct task *w = k >= 0 ? ts->tasks[k] : NULL;
		if (!w || !w->held)
			continue;
		w->held = false;
		if (why)
			/* says what the table says of the analysis; the rewrite's own row says how it went */
			gm_run_report_warn(ts->cfg.rep, "%s %s: sent without a plan (its analysis %s: %s)",
			                   row(ts, w)->path, row(ts, w)->name,
			                   row(ts, analysis)->status == GM_TASK_PENDING
			                           ? "gave none"
			                           : row(ts, analysis)->status == GM_TASK_SKIPPED
			                                     ? "was skipped"
			                                     : gm_task_status_name(row(ts, analysis)->status),
			                   why);
		rc = submit_rewrite(ts, w);
	}
	return rc;
}

static int handle_answer(struct gm_tasks *ts, struct task *t, const char *content,
                         const char *finish_reason, const char *model)
{
	if (model && *model)
		set_str(&row(ts, t)->model, model);
	if (t->type == T_ANALYSIS)
		return on_analysis_answer(ts, t, content);
	return on_rewrite_answer(ts, t, content, finish_reason);
}

/* Handle the answers the cache gave, newest first. */
static int drain_ready(struct gm_tasks *ts)
{
	int rc = 0;
	while (ts->nready && rc == 0 && !*ts->cfg.interrupted) {
		struct ready it = ts->ready[--ts->nready];
		rc = handle_answer(ts, it.t, it.a.content, it.a.finish_reason, it.a.model);
		gm_cache_answer_release(&it.a);
		report_progress(ts, false);
	}
	return rc;
}

/* A request failed: retry what can be, escalate, or record the failure. */
static int on_failure(struct gm_tasks *ts, struct task *t, const struct gm_chat_result *res)
{
	const char *msg = res->error_message;

	if (res->error == GM_EINVALID && t->type == T_REWRITE) {
		/* The server answered, but nothing usable: a rejected answer. */
		return retry_or_give_up(ts, t, msg ? msg : "unusable answer");
	}
	if (t->type == T_ANALYSIS) {
		if (res->error == GM_EINVALID && t->tries < MAX_ANALYSIS_ATTEMPTS)
			return submit_analysis(ts, t);
		finish(ts, t, GM_TASK_FAILED, msg);
		return release_held(ts, t, msg);
	}
	if (!t->on_claude && !t->no_claude && !path_local_only(ts, t->unit) &&
	    gm_tasks_claude_allowed(ts, &t->est)) {
		char *why = gm_xasprintf("escalated: %s", msg ? msg : "local model failed");
		escalate(ts, t, why, GM_TASK_FAILED, msg ? msg : "local model failed");
		free(why);
		return submit_rewrite(ts, t);
	}
	finish(ts, t, GM_TASK_FAILED, msg ? msg : "request failed");
	return 0;
}

/* The engine's completion callback. */
static int on_done(void *ctx, void *tag, const struct gm_chat_result *res)
{
	struct gm_tasks *ts = ctx;
	struct task *t = tag;
	struct gm_run_task *rt = row(ts, t);
	struct gm_run_report *rep = ts->cfg.rep;
	int64_t in = res->input_tokens + res->cache_read_tokens + res->cache_write_tokens;
	int rc;

	rep->requests += res->attempts ? res->attempts : 1;
	rep->model_ms += res->elapsed_ms;
	rt->input_tokens += in;
	rt->output_tokens += res->output_tokens;
	rt->cost_usd += res->cost_usd;
	rep->input_tokens += in;
	rep->cache_read_tokens += res->cache_read_tokens;
	rep->cache_write_tokens += res->cache_write_tokens;
	rep->output_tokens += res->output_tokens;
	rep->cost_usd += res->cost_usd;
	unreserve(ts, t);

	if (res->error) {
		if (res->error == GM_EINTERRUPTED || *ts->cfg.interrupted)
			return GM_EINTERRUPTED;
		rc = on_failure(ts, t, res);
	} else {
		const char *asked = gm_backend_model(backend_of(ts, t));
		if (res->model && asked && strcmp(res->model, asked)) {
			/* Another model answered (a fleet serving several): kept under a key of its
			 * own, so a later run asking for `asked` never gets it. */
			char *key = gm_cache_answer_key_for_model(t->cache_key, res->model);
			gm_cache_answer_put(ts->cache, key, res);
			free(key);
		} else {
			gm_cache_answer_put(ts->cache, t->cache_key, res);
		}
		rc = handle_answer(ts, t, res->content ? res->content : "", res->finish_reason, res->model);
	}
	if (rc == 0)
		rc = drain_ready(ts);
	/* Spent is known now and one reservation freed: what waited may fit. */
	if (rc == 0)
		rc = budget_retry(ts);
	if (rc == 0)
		rc = drain_ready(ts);
	report_progress(ts, false);
	return rc;
}

int gm_tasks_run(struct gm_tasks *ts, struct gm_engine *engine, struct gm_cache *cache,
                 TSParser *parser)
{
	int rc = 0;

	ts->engine = engine;
	ts->cache = cache;
	ts->parser = parser;
	if (ts->cfg.progress)
		gm_engine_set_tick(engine, on_tick, ts, 100);
	/* Analyses first, so plans arrive while simple rewrites run. */
	for (size_t pass = 0; pass < 2 && rc == 0; pass++)
		for (size_t i = 0; i < ts->ntasks && rc == 0; i++) {
			struct task *t = ts->tasks[i];
			if (pass == 0 && t->type == T_ANALYSIS)
				rc = submit_analysis(ts, t);
			else if (pass == 1 && t->type == T_REWRITE && !t->held && row(ts, t)->attempts == 0)
				rc = submit_rewrite(ts, t);
		}
	if (rc == 0)
		rc = drain_ready(ts);
	if (rc == 0)
		rc = gm_engine_run(engine, on_done, ts);
	/* Nothing waits on the budget with nothing in flight; should it, it is decided now. */
	while (rc == 0 && ts->nwaiting && !*ts->cfg.interrupted) {
		if ((rc = budget_retry(ts)) == 0 && (rc = drain_ready(ts)) == 0)
			rc = gm_engine_run(engine, on_done, ts);
	}
	if (*ts->cfg.interrupted)
		rc = GM_EINTERRUPTED;
	if (rc == 0)
		report_progress(ts, true);
	gm_engine_set_tick(engine, NULL, NULL, 0);
	ts->engine = NULL;
	ts->cache = NULL;
	ts->parser = NULL;
	return rc;
}

size_t gm_tasks_edits(struct gm_task_edit **out, const struct gm_tasks *ts)
{
	struct gm_task_edit *v = gm_xcalloc(ts->ntasks + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < ts->ntasks; i++) {
		const struct task *t = ts->tasks[i];
		if (!t->accepted)
			continue;
		v[n].row = t->row;
		v[n].unit = t->unit;
		v[n].edit = &t->vr.edit;
		n++;
	}
	*out = v;
	return n;
}
