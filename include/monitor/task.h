/*
 * task.h: the model work of a refactor run.  A task is a rewrite (one
 * unit, to the local model, escalated to Claude) or an analysis (a complex
 * cluster, to Claude or the local model, whose plan releases the cluster's
 * rewrites and adds rewrites of the call sites it names).  A rewrite goes
 *
 *   submit -> answer -> validate -> accepted | unchanged
 *               ^                 \-> rejected: retry with the reason
 *               |                      (MAX_LOCAL_ATTEMPTS in all), then
 *               +------------------ escalate to Claude when allowed,
 *                                      else rejected for good
 *
 * and a failed request escalates (or fails) the same way.  Every request
 * goes through the engine (backend.h), which keeps every allowed slot busy:
 * a completion is handled at once in the engine's callback and may submit
 * a retry, an escalation or the rewrites a plan unlocked, so scheduling
 * never waits for a batch.  An answer in the cache (cache.h) is handled as
 * if it had just arrived, without a request.
 *
 * Every task is a row of the run's report (report.h), kept up to date
 * here: route, model, attempts, tokens, cost, status and reason.  Nothing
 * here knows the pipeline; it hands back the accepted edits.
 *
 * Ownership: the task set borrows the index, the report, the backends and
 * (during gm_tasks_run) the engine, cache and parser; it owns the base
 * texts it reads and the accepted code, both valid until gm_tasks_free.
 */
#ifndef MONITOR_TASK_H
#define MONITOR_TASK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <git2.h>
#include <tree_sitter/api.h>

#include "monitor/backend.h"
#include "monitor/cache.h"
#include "monitor/index.h"
#include "monitor/plan.h"
#include "monitor/report.h"

/* One local server on the progress line. */
struct gm_progress_server {
	const char *url;  /* its base URL (valid during the callback) */
	size_t running;   /* requests on it now */
	bool up;          /* in service */
};

/*
 * What the progress line shows.  Pointers are valid during the callback
 * only.
 */
struct gm_progress {
	const char *phase;       /* what the run is doing when it is not asking models
	                            ("scanning", "connecting", "merging", ...), else NULL */
	size_t done, total;      /* tasks ended, tasks in all (plans may add some) */
	size_t running_local, running_claude;
	size_t queued_local, queued_claude; /* requests waiting for a slot */
	const struct gm_progress_server *servers; /* the local servers, configuration order */
	size_t nservers;
	bool have_claude;        /* Claude is configured for this run */
	uint64_t streamed_bytes; /* answer text received so far, all backends, as it streams
	                            (about 4 bytes a token): a live rate from two samples */
	int64_t output_tokens;   /* of the answers that have completed */
	double tokens_per_s;     /* output tokens of completed answers per second of the run */
	double cost_usd;
};

/*
 * Called from the run's thread: at each change of phase, when tasks end,
 * and while answers are awaited (about ten times a second).
 */
typedef void (*gm_progress_fn)(void *ctx, const struct gm_progress *p);

struct gm_tasks_config {
	git_repository *repo;       /* the base texts are read from its objects */
	const struct gm_index *idx;
	struct gm_run_report *rep;  /* a row per task, and the run's totals */
	const char *goal;
	bool local_only;            /* --local-only (monitor-local-only is per file, in idx) */
	bool no_cache;              /* never answer from the cache (answers are still stored) */
	bool has_max_cost;
	double max_cost;            /* --max-cost: Claude's budget for the run, dollars */
	struct gm_backend *local;
	struct gm_backend *claude;  /* NULL: no Claude */
	gm_progress_fn progress;    /* NULL: none */
	void *progress_ctx;
	const volatile sig_atomic_t *interrupted; /* set asynchronously: stop soon */
};

struct gm_tasks;

/* `cfg` is copied; what it points to must outlive the task set. */
struct gm_tasks *gm_tasks_new(const struct gm_tasks_config *cfg);
void gm_tasks_free(struct gm_tasks *ts);

size_t gm_tasks_count(const struct gm_tasks *ts);

/*
 * Planning.  A rewrite of unit `unit` (global id); `held`: it waits for
 * its cluster's analysis, which must be added next.  `route_reason` is
 * copied.
 */
void gm_tasks_add_rewrite(struct gm_tasks *ts, size_t unit, bool held, const char *route_reason);
/*
 * An analysis of `units` (one cluster's targets, routed by `route`: Claude
 * or the local model; its reason is copied).
 */
void gm_tasks_add_analysis(struct gm_tasks *ts, const size_t *units, size_t n,
                           const struct gm_route *route);

/*
 * Plan `targets` (unit ids in file order): group them into clusters
 * (plan.h), route each, and add its rewrites and, for a complex cluster,
 * its analysis first (with Claude while --max-cost allows; `plan_all`:
 * --plan).  A cluster analysed locally is named in the report.
 */
int gm_tasks_route(struct gm_tasks *ts, const size_t *targets, size_t ntargets, bool plan_all);

/*
 * After planning: Claude's analyses go as Message Batches through `batch`
 * (a Claude backend with cfg.batch; it must outlive the runs), the
 * escalated rewrites interactively as before.  gm_tasks_claude_analyses
 * counts the analyses routed to Claude (monitor.claude.batch = auto decides
 * by it).
 */
void gm_tasks_use_batch(struct gm_tasks *ts, struct gm_backend *batch);
size_t gm_tasks_claude_analyses(const struct gm_tasks *ts);
/*
 * The batch decision: with `forced` (--batch, a resumed run) or `mode`
 * (monitor.claude.batch) "on"/"true", or "auto" and more than `above`
 * analyses for Claude, they go through `batch` (gm_tasks_use_batch).
 * True when they do (there are some).
 */
bool gm_tasks_batch_when(struct gm_tasks *ts, struct gm_backend *batch, bool forced,
                         const char *mode, size_t above);

/*
 * May a request of estimate `e` (NULL: of no cost) still go to Claude?  No
 * when there is no Claude or --max-cost would be reached: then a warning
 * goes into the report once, and no request goes to Claude from then on.
 */
bool gm_tasks_claude_allowed(struct gm_tasks *ts, const struct gm_token_estimate *e);

/*
 * --dry-run: every task's estimate (tokens, and Claude's cost for tasks
 * routed there) from the request it would send first; nothing is sent.
 */
int gm_tasks_estimate(struct gm_tasks *ts);

/*
 * Run every task to its end: analyses first (plans arrive while simple
 * rewrites run), then the rewrites not held, answers from `cache` (may be
 * NULL) before requests.  Returns 0 when every task has ended (failures are
 * statuses in the report), GM_EINTERRUPTED when interrupted, or the error
 * that stopped the run.
 */
int gm_tasks_run(struct gm_tasks *ts, struct gm_engine *engine, struct gm_cache *cache,
                 TSParser *parser);

/* An accepted rewrite. */
struct gm_task_edit {
	size_t row;       /* its row in the report: rep->tasks[row] */
	size_t unit;      /* global unit id */
	const struct gm_edit *edit; /* the function, its helpers and imports (validate.h),
	                               owned by the task set */
};

/* The accepted rewrites, in the order the tasks were added; `*out` is the caller's to free. */
size_t gm_tasks_edits(struct gm_task_edit **out, const struct gm_tasks *ts);

/* The base text of file `file` of the index, read once and owned by the task set. */
int gm_tasks_source(const char **out, size_t *len, struct gm_tasks *ts, size_t file);

#endif
