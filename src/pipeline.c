/*
 * pipeline.c: a refactor run through the stages of DESIGN.md, each a
 * function below:
 *
 *   scan     the base (a commit, or a snapshot of the index) into an index
 *   plan     targets (pathspecs, -f, the diff of --since/--staged), routes,
 *            the backends and the tasks (task.h)
 *   rewrite  run the tasks on the models (task.c's state machine)
 *   merge    the accepted edits, grouped by file (merge.h)
 *   verify   --verify: drop the edits that break the command (verify.h)
 *   commit   merge what is left, write the commit, the note and, last, the
 *            branch
 *
 * The run's record (report.h) is filled as it goes; --dry-run stops after
 * the plan with estimates.
 */
#include "monitor/pipeline.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "monitor/backend.h"
#include "monitor/cache.h"
#include "monitor/commit.h"
#include "monitor/error.h"
#include "monitor/index.h"
#include "monitor/merge.h"
#include "monitor/notes.h"
#include "monitor/plan.h"
#include "monitor/repo.h"
#include "monitor/resolve.h"
#include "monitor/resume.h"
#include "monitor/task.h"
#include "monitor/util.h"
#include "monitor/verify.h"
#include "monitor/banned.h"

#define CLAUDE_TIMEOUT_S 600

static volatile sig_atomic_t interrupted;
static struct gm_engine *volatile running_engine;

void gm_pipeline_interrupt(void)
{
	struct gm_engine *e = running_engine;
	interrupted = 1;
	if (e)
		gm_engine_cancel(e);
}

struct run {
	git_repository *repo;
	struct gm_config *cfg;
	const struct gm_run_opts *opts;
	const char *goal;
	struct gm_run_report *rep;
	gm_progress_fn progress;
	void *progress_ctx;
	uint64_t t0;
	char *branch;                       /* the name asked for (checked before any model call) */
	struct gm_index *idx;               /* scan */
	struct gm_backend *local, *claude;  /* plan */
	struct gm_backend *claude_batch;    /* plan: Claude's analyses as Message Batches, or NULL */
	struct gm_run_record *resumed;      /* --resume: the run as recorded */
	struct gm_run_opts resumed_opts;    /* and its options, pointing into it */
	bool recorded;                      /* a run record is out (resume.h) */
	char *batch_dir;                    /* <common dir>/monitor/batches */
	bool batched;                       /* Claude's analyses go as a batch */
	struct gm_tasks *tasks;
	struct gm_engine *engine;           /* rewrite */
	struct gm_cache *cache;
	TSParser *parser;
	struct gm_merge_file *files;        /* merge: the files with accepted edits */
	size_t nfiles;
	const struct gm_edit **edits;       /* numbered across files (merge.h) */
	size_t *edit_row;                   /* edit -> its task's row in the report */
	size_t nedits;
	bool *keep;                         /* verify: the edits that survive */
	bool *timed_out;                    /* verify: dropped because CMD hung with it */
	int64_t verify_timeout;             /* seconds (monitor.verify.timeout) */
};

/* An accepted edit that did not make it into the commit. */
static void mark_dropped(struct run *r, size_t edit, const char *reason)
{
	struct gm_run_task *rt = &r->rep->tasks[r->edit_row[edit]];
	rt->status = GM_TASK_DROPPED;
	free(rt->reason);
	rt->reason = gm_xstrdup(reason);
}

/* ---- scan ------------------------------------------------------------------------ */

/* The base: a commit, or with --staged a snapshot of the index on HEAD (none in a dry run). */
static int resolve_base(struct run *r)
{
	const struct gm_run_opts *o = r->opts;
	git_commit *base = NULL;
	int rc;

	if (o->staged) {
		if (o->dry_run)
			return 0;
		return gm_commit_snapshot_index(&r->rep->base, r->repo, "git-monitor: staged changes (snapshot)");
	}
	if ((rc = gm_repo_resolve_commit(&base, r->repo, o->base ? o->base : "HEAD")) < 0)
		return rc;
	git_oid_cpy(&r->rep->base, git_commit_id(base));
	git_commit_free(base);
	return 0;
}

static int scan(struct run *r)
{
	struct gm_index_opts io = { 0 };
	int64_t threshold, max_size;
	uint64_t t;
	int rc;

	if ((rc = gm_config_positive(&threshold, r->cfg, "monitor.route.complexity")) < 0 ||
	    (rc = gm_config_positive(&max_size, r->cfg, "monitor.scan.maxFileSize")) < 0 ||
	    (rc = resolve_base(r)) < 0)
		return rc;
	io.rev = r->opts->base;
	io.staged = r->opts->staged;
	io.pathspecs = r->opts->pathspecs;
	io.npathspecs = r->opts->npathspecs;
	io.no_cache = r->opts->no_cache;
	io.max_file_size = (size_t)max_size;
	io.complexity_threshold = (unsigned)threshold;
	t = gm_now_ms();
	if ((rc = gm_index_build(&r->idx, r->repo, &io)) == 0)
		gm_resolve_index(r->idx); /* cross-file calls: clusters and routes need them */
	r->rep->scan_ms = gm_now_ms() - t;
	return rc;
}

/* ---- plan -------------------------------------------------------------------------- */

/* Target unit ids, in file order. */
static int select_targets(size_t **out, size_t *nout, struct run *r)
{
	const struct gm_run_opts *o = r->opts;
	struct gm_changed_lines changes = { 0 };
	git_tree *old = NULL, *base = NULL;
	size_t *v, n = 0, *touched = NULL, ntouched = 0, ncand;
	bool by_diff = o->since || o->staged;
	int rc = 0;

	if (o->since) {
		if ((rc = gm_repo_resolve_tree(&old, r->repo, o->since)) == 0 &&
		    (rc = gm_repo_resolve_tree(&base, r->repo, o->base ? o->base : "HEAD")) == 0)
			rc = gm_repo_changed_lines(&changes, r->repo, old, base, NULL);
	} else if (o->staged) {
		if (git_repository_head_unborn(r->repo) == 1 || (rc = gm_repo_resolve_tree(&old, r->repo, "HEAD")) == 0)
			rc = gm_repo_changed_lines(&changes, r->repo, old, NULL, NULL);
	}
	git_tree_free(old);
	git_tree_free(base);
	if (rc < 0)
		return rc;
	/* By diff: the units it touches (plan.h's rule, the hook's too); else every unit. */
	if (by_diff)
		ntouched = gm_plan_select_touched(&touched, r->idx, &changes);
	gm_changed_lines_release(&changes);
	ncand = by_diff ? ntouched : r->idx->nunits;
	v = gm_xcalloc(ncand + 1, sizeof(*v));
	for (size_t i = 0; i < ncand; i++) {
		size_t id = by_diff ? touched[i] : i;
		const struct gm_file *f = &r->idx->files[r->idx->units[id].file];
		const struct gm_unit *u = gm_index_unit(r->idx, id);
		if (f->target && gm_plan_match_function(u, o->functions, o->nfunctions))
			v[n++] = id;
	}
	free(touched);
	*out = v;
	*nout = n;
	return 0;
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

	if ((rc = gm_config_positive(&conc, r->cfg, "monitor.local.concurrency")) < 0 ||
	    (rc = gm_config_positive(&timeout, r->cfg, "monitor.local.timeout")) < 0 ||
	    (rc = gm_config_positive(&cconc, r->cfg, "monitor.claude.concurrency")) < 0)
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
	lc.server_kind = gm_config_string(r->cfg, "monitor.local.kind", NULL);
	lc.key_env = gm_config_string(r->cfg, "monitor.local.apiKey", NULL);
	lc.concurrency = o->jobs > 0 ? o->jobs : (int)conc;
	/* A concurrency that was asked for wins over what the servers say. */
	lc.concurrency_fixed = o->jobs > 0 ||
		strcmp(gm_config_origin(r->cfg, "monitor.local.concurrency"), "default") != 0;
	lc.timeout_s = (long)timeout;
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
		cc.api_key_var = "ANTHROPIC_API_KEY";
		cc.concurrency = (int)cconc;
		cc.timeout_s = CLAUDE_TIMEOUT_S;
		cc.stream = true;
		/* Claude's prepare needs no network: it settles the model now. */
		if ((rc = gm_backend_new(&r->claude, &cc)) < 0 || (rc = gm_backend_prepare(r->claude)) < 0)
			return rc;
		/* The same, as Message Batches: used for the analyses when batch() says so. */
		cc.batch = true;
		cc.stream = false;
		cc.batch_dir = r->batch_dir = gm_xasprintf("%smonitor/batches",
		                                           git_repository_commondir(r->repo));
		if ((rc = gm_backend_new(&r->claude_batch, &cc)) < 0 ||
		    (rc = gm_backend_prepare(r->claude_batch)) < 0)
			return rc;
	}
	r->rep->claude_model = r->claude ? gm_xstrdup(gm_backend_model(r->claude)) : NULL;
	return 0;
}

/* Route each cluster of targets: complex ones are analysed first, their rewrites held. */
static int route(struct run *r, const size_t *targets, size_t ntargets)
{
	struct gm_plan_groups g;
	struct gm_route_opts ro = { 0 };
	int rc = 0;

	ro.have_claude_key = r->claude != NULL;
	ro.local_only = r->opts->local_only;
	ro.plan_all = r->opts->plan_all;
	gm_plan_group(&g, r->idx, targets, ntargets);
	for (size_t c = 0; c < g.nclusters && rc == 0; c++) {
		const size_t *members = g.units + g.start[c];
		size_t n = g.start[c + 1] - g.start[c];
		struct gm_route rt;
		bool complex;
		if (!n)
			continue;
		ro.max_cost_spent = r->claude && !gm_tasks_claude_allowed(r->tasks, NULL);
		if ((rc = gm_plan_route_units(&rt, r->idx, members, n, &ro)) < 0)
			break;
		complex = rt.route != GM_ANALYSIS_NONE;
		for (size_t k = 0; k < n; k++)
			gm_tasks_add_rewrite(r->tasks, members[k], complex,
			                     complex ? "waits for the cluster's plan" : rt.reason);
		if (complex)
			gm_tasks_add_analysis(r->tasks, members, n, &rt);
		if (rt.route == GM_ANALYSIS_LOCAL) {
			const char *semi = strchr(rt.reason, ';');
			r->rep->analysis_local = true;
			free(r->rep->analysis_note);
			r->rep->analysis_note = gm_xstrdup(semi ? semi + 2 : rt.reason);
		}
		gm_route_release(&rt);
	}
	gm_plan_groups_release(&g);
	return rc;
}

/* Claude's analyses as one Message Batch: --batch, monitor.claude.batch on, or auto above batchAbove. */
static int choose_batch(struct run *r)
{
	const char *mode = gm_config_string(r->cfg, "monitor.claude.batch", "off");
	size_t n;
	bool on;
	int rc;

	if (!r->claude_batch) {
		if (r->opts->batch)
			gm_run_report_warn(r->rep, "--batch: nothing goes to Claude in this run, so nothing "
			                   "is batched");
		return 0;
	}
	n = gm_tasks_claude_analyses(r->tasks);
	if (r->opts->batch || r->resumed || !strcasecmp(mode, "on") || !strcasecmp(mode, "true")) {
		on = true;
	} else if (!strcasecmp(mode, "auto")) {
		int64_t above;
		if ((rc = gm_config_positive(&above, r->cfg, "monitor.claude.batchAbove")) < 0)
			return rc;
		on = n > (size_t)above;
	} else {
		on = false;
	}
	if (on && n)
		gm_tasks_use_batch(r->tasks, r->claude_batch);
	r->batched = on && n;
	return 0;
}

/*
 * What would stop the commit, checked before any model is asked: the
 * branch name (valid, writable), and who the commit is by.  The
 * configuration was checked by reading it (gm_config_positive).
 */
static int preflight(struct run *r)
{
	git_signature *author = NULL, *committer = NULL;
	int rc;

	if ((rc = gm_commit_branch_name(&r->branch, gm_config_string(r->cfg, "monitor.branchPrefix", NULL),
	                                r->goal, time(NULL), r->opts->branch)) < 0 ||
	    (rc = gm_commit_branch_check(r->repo, r->branch)) < 0)
		return rc;
	if (r->opts->dry_run)
		return 0;
	rc = gm_commit_signatures(&author, &committer, r->repo);
	git_signature_free(author);
	git_signature_free(committer);
	return rc;
}

static int plan(struct run *r)
{
	struct gm_tasks_config tc = { 0 };
	size_t *targets = NULL, ntargets = 0;
	int rc;

	if (r->opts->verify &&
	    (rc = gm_config_positive(&r->verify_timeout, r->cfg, "monitor.verify.timeout")) < 0)
		goto cleanup;
	if ((rc = preflight(r)) < 0 || (rc = select_targets(&targets, &ntargets, r)) < 0 ||
	    (rc = make_backends(r)) < 0)
		goto cleanup;
	tc.repo = r->repo;
	tc.idx = r->idx;
	tc.rep = r->rep;
	tc.goal = r->goal;
	tc.local_only = r->opts->local_only;
	tc.no_cache = r->opts->no_cache;
	tc.has_max_cost = r->opts->has_max_cost;
	tc.max_cost = r->opts->max_cost;
	tc.local = r->local;
	tc.claude = r->claude;
	tc.progress = r->progress;
	tc.progress_ctx = r->progress_ctx;
	tc.interrupted = &interrupted;
	r->tasks = gm_tasks_new(&tc);
	if ((rc = route(r, targets, ntargets)) == 0)
		rc = choose_batch(r);
cleanup:
	free(targets);
	return rc;
}

/* ---- rewrite --------------------------------------------------------------------- */

static bool batch_recorded(const struct run *r, const char *id)
{
	char *path = gm_xasprintf("%s/%s.json", r->batch_dir, id);
	bool there = access(path, F_OK) == 0;
	free(path);
	return there;
}

/* A batched run can be run again (`--resume`) while its batch is out: its options, resolved. */
static int record_run(struct run *r)
{
	const struct gm_run_opts *o = r->opts;
	struct gm_run_record rec = { 0 };
	git_commit *since = NULL;
	int rc;

	rec.run = r->rep->run_id;
	rec.goal = (char *)r->goal;
	git_oid_cpy(&rec.base, &r->rep->base);
	if (o->since || o->staged) {
		/* --staged read the diff of HEAD and the index: the snapshot is the base now. */
		if ((rc = gm_repo_resolve_commit(&since, r->repo, o->since ? o->since : "HEAD")) == 0) {
			git_oid_cpy(&rec.since, git_commit_id(since));
			rec.has_since = true;
		} else if (o->since) {
			return rc;
		}
		git_commit_free(since);
	}
	rec.branch = r->branch;
	rec.functions = (char **)o->functions;
	rec.nfunctions = o->nfunctions;
	rec.pathspecs = (char **)o->pathspecs;
	rec.npathspecs = o->npathspecs;
	rec.verify = (char *)o->verify;
	rec.jobs = o->jobs;
	rec.local_only = o->local_only;
	rec.plan_all = o->plan_all;
	rec.no_cache = o->no_cache;
	rec.has_max_cost = o->has_max_cost;
	rec.max_cost = o->max_cost;
	if ((rc = gm_resume_save(r->repo, &rec)) == 0)
		r->recorded = true;
	return rc;
}

/* What each server did, into the report (and so the note); the batch, if one. */
static void record_servers(struct run *r)
{
	struct gm_backend *bs[2] = { r->local, r->claude };
	struct gm_engine_batch_stats st = { 0 };
	char *mismatch;
	size_t n = 0;

	for (size_t k = 0; k < 2; k++)
		n += bs[k] ? gm_backend_nservers(bs[k]) : 0;
	r->rep->servers = gm_xcalloc(n + 1, sizeof(*r->rep->servers));
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; bs[k] && i < gm_backend_nservers(bs[k]); i++) {
			struct gm_backend_server_stats s;
			struct gm_run_server *o = &r->rep->servers[r->rep->nservers];
			gm_backend_server_stats(&s, bs[k], i);
			if (k == 1 && !s.answers && !s.failures)
				continue; /* Claude, unasked */
			r->rep->nservers++;
			o->url = gm_xstrdup(s.url ? s.url : "");
			o->kind = gm_xstrdup(s.kind ? s.kind : "");
			o->model = s.model ? gm_xstrdup(s.model) : NULL;
			o->answers = s.answers;
			o->failures = s.failures;
			o->requeued = s.requeued;
			o->outages = s.outages;
			o->down_ms = s.down_ms;
			o->avg_ms = s.avg_ms;
			o->cause = s.cause && *s.cause ? gm_xstrdup(s.cause) : NULL;
		}
	if ((mismatch = gm_backend_model_mismatch(r->local))) {
		gm_run_report_warn(r->rep, "%s (their answers are cached apart)", mismatch);
		free(mismatch);
	}
	if (r->claude_batch && r->engine)
		gm_engine_batch_stats(&st, r->engine, r->claude_batch);
	if (st.batches) {
		r->rep->batch_id = gm_xstrdup(st.last_id);
		r->rep->batch_requests = st.requests;
		r->rep->batch_resumed = st.resumed > 0;
	}
	/* The record stays only while the batch does: it was cancelled or its results are in. */
	if (r->recorded && (!st.batches || !batch_recorded(r, st.last_id))) {
		gm_resume_remove(r->repo, r->rep->run_id);
		r->recorded = false;
	}
}

static int rewrite(struct run *r)
{
	int rc;

	if ((rc = gm_backend_prepare(r->local)) < 0)
		return rc;
	r->rep->local_model = gm_xstrdup(gm_backend_model(r->local));
	gm_cache_open(&r->cache, r->repo);
	if ((rc = gm_engine_new(&r->engine)) < 0)
		return rc;
	r->parser = ts_parser_new();
	running_engine = r->engine;
	if (interrupted)
		return GM_EINTERRUPTED;
	r->rep->ran = true;
	if (r->batched && (rc = record_run(r)) < 0)
		return rc;
	rc = gm_tasks_run(r->tasks, r->engine, r->cache, r->parser);
	running_engine = NULL;
	record_servers(r);
	return rc;
}

/* ---- merge ------------------------------------------------------------------------- */

static int cmp_edit(const void *a, const void *b, void *arg)
{
	const struct gm_task_edit *x = a, *y = b;
	const struct gm_index *idx = arg;
	size_t fx = idx->units[x->unit].file, fy = idx->units[y->unit].file;
	if (fx != fy)
		return fx < fy ? -1 : 1;
	return x->row < y->row ? -1 : (x->row > y->row);
}

/* The accepted edits as the merge's input: by file (index order), then by task. */
static int merge(struct run *r)
{
	struct gm_task_edit *te = NULL;
	size_t n = gm_tasks_edits(&te, r->tasks);
	int rc = 0;

	qsort_r(te, n, sizeof(*te), cmp_edit, r->idx);
	r->files = gm_xcalloc(n + 1, sizeof(*r->files));
	r->edits = gm_xcalloc(n + 1, sizeof(*r->edits));
	r->edit_row = gm_xcalloc(n + 1, sizeof(size_t));
	r->keep = gm_xcalloc(n + 1, sizeof(bool));
	r->timed_out = gm_xcalloc(n + 1, sizeof(bool));
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t file = r->idx->units[te[i].unit].file;
		const struct gm_file *f = &r->idx->files[file];
		struct gm_merge_file *mf;

		if (!r->nfiles || r->files[r->nfiles - 1].path != f->path) {
			mf = &r->files[r->nfiles++];
			mf->path = f->path;
			mf->lang = f->lang;
			mf->errors = f->scan.errors;
			mf->edits = &r->edits[i];
			rc = gm_tasks_source(&mf->src, &mf->len, r->tasks, file);
		}
		mf = &r->files[r->nfiles - 1];
		r->edits[i] = te[i].edit;
		r->edit_row[i] = te[i].row;
		r->keep[i] = true;
		mf->nedits++;
		r->nedits++;
	}
	free(te);
	return rc;
}

/* ---- verify ------------------------------------------------------------------------ */

static int verify(struct run *r)
{
	struct gm_verify v = { 0 };
	size_t ntimed = 0;
	int rc;

	if (!r->opts->verify || !r->nedits)
		return 0;
	v.repo = r->repo;
	v.base = &r->rep->base;
	v.cmd = r->opts->verify;
	v.files = r->files;
	v.nfiles = r->nfiles;
	v.nedits = r->nedits;
	v.parser = r->parser;
	v.timeout_s = (long)r->verify_timeout;
	v.interrupted = &interrupted;
	if ((rc = gm_verify_bisect(r->keep, r->timed_out, &v)) < 0)
		return rc;
	for (size_t i = 0; i < r->nedits; i++) {
		if (r->keep[i])
			continue;
		if (r->timed_out[i]) {
			char *why = gm_xasprintf("the --verify command timed out after %ld s with it", v.timeout_s);
			mark_dropped(r, i, why);
			free(why);
			ntimed++;
		} else {
			mark_dropped(r, i, "breaks the --verify command");
		}
	}
	if (ntimed)
		gm_run_report_warn(r->rep, "--verify command timed out after %ld s (monitor.verify.timeout) "
		                   "with %zu edit%s, which %s dropped", v.timeout_s, ntimed,
		                   ntimed == 1 ? "" : "s", ntimed == 1 ? "was" : "were");
	return 0;
}

/* ---- commit ------------------------------------------------------------------------ */

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

/* The message lists the applied functions; their line counts go into the report. */
static char *commit_message(struct run *r)
{
	struct gm_commit_fn *fns = gm_xcalloc(r->nedits + 1, sizeof(*fns));
	struct gm_commit_msg m = { 0 };
	size_t nfns = 0;
	char *msg;
	size_t f = 0, first = 0; /* the file of edit i, and that file's first edit */

	for (size_t i = 0; i < r->nedits; i++) {
		struct gm_run_task *rt = &r->rep->tasks[r->edit_row[i]];
		if (i == first + r->files[f].nedits)
			first += r->files[f++].nedits;
		if (rt->status != GM_TASK_APPLIED)
			continue;
		gm_merge_count_lines(&rt->added, &rt->removed, r->files[f].src, r->edits[i]);
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
	free(fns);
	return msg;
}

static int write_note(struct run *r, bool update)
{
	cJSON *json = gm_run_report_json(r->rep);
	char *note = cJSON_Print(json);
	/* Once the branch is written the run is done: the update is not interrupted. */
	int rc = update ? gm_notes_update(r->repo, &r->rep->commit, note, NULL)
	                : gm_notes_write(r->repo, &r->rep->commit, note, &interrupted);
	cJSON_Delete(json);
	free(note);
	return rc;
}

/* Merge the surviving edits, write the commit and its note, then the branch. */
static int commit(struct run *r)
{
	struct gm_merged m = { 0 };
	char **dropped = gm_xcalloc(r->nedits + 1, sizeof(char *));
	char *msg = NULL, *reflog = NULL;
	bool noted = false;
	int rc;

	if ((rc = gm_merge_files(&m, dropped, r->files, r->nfiles, r->keep, r->parser)) < 0)
		goto cleanup;
	for (size_t i = 0; i < r->nedits; i++)
		if (dropped[i])
			mark_dropped(r, i, dropped[i]);
	if (!m.nchanges)
		goto cleanup;
	msg = commit_message(r);
	if (interrupted) {
		rc = GM_EINTERRUPTED;
		goto cleanup;
	}
	if ((rc = gm_commit_create(&r->rep->commit, r->repo, &r->rep->base, m.changes, m.nchanges, msg)) < 0)
		goto cleanup;
	r->rep->has_commit = true;
	if ((rc = write_note(r, false)) < 0)
		goto cleanup;
	noted = true;
	if (interrupted) {
		rc = GM_EINTERRUPTED;
		goto cleanup;
	}
	reflog = gm_xasprintf("git-monitor: refactor (%s)", r->rep->run_id);
	/* The ref is written last: an interrupted run leaves no branch. */
	if ((rc = gm_commit_write_branch(&r->rep->branch, r->repo, r->branch, &r->rep->commit, reflog,
	                                 &interrupted)) < 0)
		goto cleanup;
	noted = false;
	/* The note names the final branch too; the first one stays if this fails. */
	if (write_note(r, true) < 0)
		gm_run_report_warn(r->rep, "the note on %s does not name its branch: %s", r->rep->branch,
		                   gm_error_last());
cleanup:
	/* No branch after all: the note on the unreachable commit goes too. */
	if (noted && rc < 0) {
		char why[1024];
		snprintf(why, sizeof(why), "%s", gm_error_last());
		if (gm_notes_remove(r->repo, &r->rep->commit) < 0)
			gm_run_report_warn(r->rep, "a note was left on the unreachable commit: %s", gm_error_last());
		gm_error_set("%s", why);
	}
	for (size_t i = 0; i < r->nedits; i++)
		free(dropped[i]);
	free(dropped);
	gm_merged_release(&m);
	free(reflog);
	free(msg);
	return rc;
}

/* Nothing written: a failure only when something failed. */
static int judge(struct run *r)
{
	for (size_t i = 0; !r->rep->branch && i < r->rep->ntasks; i++) {
		const struct gm_run_task *t = &r->rep->tasks[i];
		if (t->status == GM_TASK_FAILED || t->status == GM_TASK_REJECTED ||
		    t->status == GM_TASK_DROPPED) {
			gm_error_set("no edit survived: %s %s: %s", t->path, t->name,
			             t->reason ? t->reason : gm_task_status_name(t->status));
			return GM_ERROR;
		}
	}
	return 0;
}

/* ---- the run ----------------------------------------------------------------------- */

static void run_release(struct run *r, int rc)
{
	running_engine = NULL;
	r->rep->elapsed_ms = gm_now_ms() - r->t0;
	if (!r->rep->local_model && r->local && gm_backend_model(r->local))
		r->rep->local_model = gm_xstrdup(gm_backend_model(r->local));
	/* A run that stopped before its branch committed none of its edits: say so. */
	for (size_t i = 0; rc < 0 && !r->rep->branch && i < r->rep->ntasks; i++) {
		struct gm_run_task *t = &r->rep->tasks[i];
		if (t->status != GM_TASK_APPLIED || !t->kind || strcmp(t->kind, "rewrite") != 0)
			continue;
		t->status = GM_TASK_DROPPED;
		free(t->reason);
		t->reason = gm_xasprintf("not committed: %s",
		                         rc == GM_EINTERRUPTED ? "interrupted" : gm_error_last());
	}
	for (size_t i = 0; rc == GM_EINTERRUPTED && i < r->rep->ntasks; i++)
		if (r->rep->tasks[i].status == GM_TASK_PENDING) {
			free(r->rep->tasks[i].reason);
			r->rep->tasks[i].reason = gm_xstrdup("interrupted");
		}
	/* Report in file order, whatever order the answers came in. */
	gm_run_report_sort(r->rep);
	free(r->files);
	free(r->edits);
	free(r->edit_row);
	free(r->keep);
	free(r->timed_out);
	gm_tasks_free(r->tasks);
	ts_parser_delete(r->parser);
	gm_engine_free(r->engine);
	gm_backend_free(r->local);
	gm_backend_free(r->claude);
	gm_backend_free(r->claude_batch);
	free(r->batch_dir);
	gm_run_record_free(r->resumed);
	gm_cache_free(r->cache);
	gm_index_free(r->idx);
	free(r->branch);
}

/* --resume RUN: the options RUN recorded, its base as a commit id, its branch, as a batch. */
static int resume(struct run *r)
{
	struct gm_run_opts *o = &r->resumed_opts;
	struct gm_run_record *rec;
	char hex[GIT_OID_HEXSZ + 1];
	int rc;

	if ((rc = gm_resume_load(&rec, r->repo, r->opts->resume)) < 0)
		return rc;
	r->resumed = rec;
	memset(o, 0, sizeof(*o));
	o->goal = rec->goal;
	git_oid_tostr(hex, sizeof(hex), &rec->base);
	rec->base_hex = gm_xstrdup(hex);
	o->base = rec->base_hex;
	if (rec->has_since) {
		git_oid_tostr(hex, sizeof(hex), &rec->since);
		rec->since_hex = gm_xstrdup(hex);
		o->since = rec->since_hex;
	}
	o->functions = (const char *const *)rec->functions;
	o->nfunctions = rec->nfunctions;
	o->pathspecs = (const char *const *)rec->pathspecs;
	o->npathspecs = rec->npathspecs;
	o->branch = rec->branch;
	o->jobs = rec->jobs;
	o->local_only = rec->local_only;
	o->plan_all = rec->plan_all;
	o->no_cache = rec->no_cache;
	o->has_max_cost = rec->has_max_cost;
	o->max_cost = rec->max_cost;
	o->verify = rec->verify;
	o->batch = true;
	r->opts = o;
	return 0;
}

int gm_pipeline_run(struct gm_run_report **out, git_repository *repo, struct gm_config *cfg,
                    const struct gm_run_opts *opts, gm_progress_fn progress, void *ctx)
{
	struct run r = { 0 };
	int rc;

	interrupted = 0;
	r.repo = repo;
	r.cfg = cfg;
	r.opts = opts;
	if (opts->resume && (rc = resume(&r)) < 0) {
		*out = NULL;
		return rc;
	}
	opts = r.opts;
	r.progress = progress;
	r.progress_ctx = ctx;
	r.t0 = gm_now_ms();
	r.rep = gm_run_report_new();
	r.rep->run_id = r.resumed ? gm_xstrdup(r.resumed->run) : make_run_id();
	r.rep->dry_run = opts->dry_run;
	r.goal = opts->goal ? opts->goal
	                    : gm_config_string(cfg, "monitor.goal", gm_config_default("monitor.goal"));
	*out = r.rep;

	if ((rc = scan(&r)) < 0 || (rc = plan(&r)) < 0)
		goto cleanup;
	if (opts->dry_run) {
		rc = gm_tasks_estimate(r.tasks); /* no model is asked anything */
		goto cleanup;
	}
	if (!gm_tasks_count(r.tasks))
		goto cleanup;
	if ((rc = rewrite(&r)) < 0 || (rc = merge(&r)) < 0 || (rc = verify(&r)) < 0)
		goto cleanup;
	if (r.nedits) {
		uint64_t t = gm_now_ms();
		rc = commit(&r);
		r.rep->commit_ms = gm_now_ms() - t;
	}
	if (rc == 0)
		rc = judge(&r);
cleanup:
	run_release(&r, rc);
	return rc;
}
