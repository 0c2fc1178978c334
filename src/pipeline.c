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
#include <time.h>

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

static volatile sig_atomic_t interrupted;
static struct gm_engine *volatile running_engine;

void gm_pipeline_interrupt(void)
{
	struct gm_engine *e = running_engine;
	interrupted = 1;
	gm_backend_interrupt(1); /* set-up's blocking requests too */
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
	int64_t verify_timeout;             /* seconds (monitor.verify.timeout) */
};

/* Tell the progress line what the run does between the model phase's updates. */
static void phase(struct run *r, const char *what)
{
	struct gm_progress p = { 0 };
	if (!r->progress)
		return;
	p.phase = what;
	if (r->tasks) {
		p.total = gm_tasks_count(r->tasks);
		p.done = what && strncmp(what, "connecting", 10) ? p.total : 0;
	}
	p.have_claude = r->claude != NULL;
	p.cost_usd = r->rep->cost_usd;
	p.output_tokens = r->rep->output_tokens;
	r->progress(r->progress_ctx, &p);
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

static int make_backends(struct run *r)
{
	int rc;

	if ((rc = gm_backend_open_local(&r->local, r->cfg, r->opts->jobs)) < 0)
		return rc;
	r->batch_dir = gm_xasprintf("%smonitor/batches", git_repository_commondir(r->repo));
	if (!r->opts->local_only &&
	    (rc = gm_backend_open_claude(&r->claude, &r->claude_batch, r->cfg, r->batch_dir)) < 0)
		return rc;
	r->rep->claude_model = r->claude ? gm_xstrdup(gm_backend_model(r->claude)) : NULL;
	return 0;
}

/* Claude's analyses as one Message Batch: --batch, monitor.claude.batch on, or auto above batchAbove. */
static int choose_batch(struct run *r)
{
	int64_t above;
	int rc;

	if (!r->claude_batch) {
		if (r->opts->batch)
			gm_run_report_warn(r->rep, "--batch: nothing goes to Claude in this run, so nothing "
			                   "is batched");
		return 0;
	}
	if ((rc = gm_config_positive(&above, r->cfg, "monitor.claude.batchAbove")) < 0)
		return rc;
	r->batched = gm_tasks_batch_when(r->tasks, r->claude_batch, r->opts->batch || r->resumed,
	                                 gm_config_string(r->cfg, "monitor.claude.batch", "off"),
	                                 (size_t)above);
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
	const struct gm_run_opts *o = r->opts;
	struct gm_target_opts to = { o->since, o->base, o->staged, o->functions, o->nfunctions };
	struct gm_tasks_config tc = { 0 };
	size_t *targets = NULL, ntargets = 0;
	int rc;

	if (r->opts->verify &&
	    (rc = gm_config_positive(&r->verify_timeout, r->cfg, "monitor.verify.timeout")) < 0)
		goto cleanup;
	if ((rc = preflight(r)) < 0 ||
	    (rc = gm_plan_select_targets(&targets, &ntargets, r->repo, r->idx, &to)) < 0 ||
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
	if ((rc = gm_tasks_route(r->tasks, targets, ntargets, r->opts->plan_all)) == 0)
		rc = choose_batch(r);
cleanup:
	free(targets);
	return rc;
}

/* ---- rewrite --------------------------------------------------------------------- */

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
	struct gm_engine_batch_stats st = { 0 };

	gm_run_report_add_servers(r->rep, r->local, r->claude);
	if (r->claude_batch && r->engine)
		gm_engine_batch_stats(&st, r->engine, r->claude_batch);
	if (st.batches) {
		r->rep->batch_id = gm_xstrdup(st.last_id);
		r->rep->batch_requests = st.requests;
		r->rep->batch_resumed = st.resumed > 0;
		r->rep->batch_canceled = st.last_canceled;
	}
	/* The record stays only while the batch does: it was cancelled or its results are in. */
	if (r->recorded && (!st.batches || !gm_backend_batch_recorded(r->claude_batch, st.last_id))) {
		gm_resume_remove(r->repo, r->rep->run_id);
		r->recorded = false;
	}
}

static int rewrite(struct run *r)
{
	int rc;

	{
		/* what the line says for the seconds set-up may take */
		size_t n = gm_backend_nservers(r->local);
		const struct gm_backend_server *s0 = gm_backend_server(r->local, 0);
		char *what = n > 1 ? gm_xasprintf("connecting to %s and %zu more", s0->url, n - 1)
		                   : gm_xasprintf("connecting to %s", s0 ? s0->url : "the local server");
		phase(r, what);
		free(what);
	}
	if ((rc = gm_backend_prepare(r->local)) < 0)
		return interrupted ? GM_EINTERRUPTED : rc;
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
	return gm_verify_edits(r->keep, &v, r->rep, r->edit_row);
}

/* ---- commit ------------------------------------------------------------------------ */

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
			gm_run_report_drop(r->rep, r->edit_row[i], dropped[i]);
	if (!m.nchanges)
		goto cleanup;
	msg = gm_merge_commit_message(r->rep, r->files, r->edits, r->edit_row, r->nedits, r->goal);
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

/* ---- the run ----------------------------------------------------------------------- */

static void run_release(struct run *r, int rc)
{
	running_engine = NULL;
	r->rep->elapsed_ms = gm_now_ms() - r->t0;
	if (!r->rep->local_model && r->local && gm_backend_model(r->local))
		r->rep->local_model = gm_xstrdup(gm_backend_model(r->local));
	gm_run_report_settle(r->rep, rc);
	free(r->files);
	free(r->edits);
	free(r->edit_row);
	free(r->keep);
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
	gm_backend_interrupt(0);
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
	r.rep->run_id = r.resumed ? gm_xstrdup(r.resumed->run) : gm_run_id_new();
	r.rep->dry_run = opts->dry_run;
	r.goal = opts->goal ? opts->goal
	                    : gm_config_string(cfg, "monitor.goal", gm_config_default("monitor.goal"));
	r.rep->goal = gm_xstrdup(r.goal);
	*out = r.rep;

	phase(&r, "scanning");
	if ((rc = scan(&r)) < 0 || (rc = plan(&r)) < 0)
		goto cleanup;
	if (opts->dry_run) {
		rc = gm_tasks_estimate(r.tasks); /* no model is asked anything */
		goto cleanup;
	}
	if (!gm_tasks_count(r.tasks))
		goto cleanup;
	if ((rc = rewrite(&r)) < 0)
		goto cleanup;
	phase(&r, "merging");
	if ((rc = merge(&r)) < 0)
		goto cleanup;
	if (r.opts->verify && r.nedits)
		phase(&r, "verifying");
	if ((rc = verify(&r)) < 0)
		goto cleanup;
	if (r.nedits) {
		uint64_t t = gm_now_ms();
		phase(&r, "writing the branch");
		rc = commit(&r);
		r.rep->commit_ms = gm_now_ms() - t;
	}
	if (rc == 0)
		rc = gm_run_report_judge(r.rep);
cleanup:
	run_release(&r, rc);
	return rc;
}
