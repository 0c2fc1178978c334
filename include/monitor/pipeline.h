/*
 * pipeline.h: one `git monitor refactor` run, from the base commit to the
 * new branch.  Scan (index), choose targets, route (plan), ask the models
 * (engine) with retries and escalation, validate, merge per file, optionally
 * verify with a command and bisect away breaking edits, then write blobs,
 * trees, one commit (two with --staged), the run's note and, last, the
 * branch.  Never writes the working tree, the index, HEAD or an existing ref.
 *
 * The report owns every string in it; gm_run_report_free releases it.
 */
#ifndef MONITOR_PIPELINE_H
#define MONITOR_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <git2.h>

#include "monitor/config.h"

struct gm_run_opts {
	const char *goal;
	const char *base;     /* default "HEAD" */
	const char *since;    /* units changed between since and base */
	bool staged;          /* units touched by the staged diff; two commits */
	const char *const *functions; /* -f globs */
	size_t nfunctions;
	const char *const *pathspecs;
	size_t npathspecs;
	const char *branch;   /* NULL: monitor/<timestamp>-<slug> */
	int jobs;             /* 0: monitor.local.concurrency per server */
	bool local_only;
	bool plan_all;        /* --plan */
	bool dry_run;
	bool has_max_cost;
	double max_cost;
	const char *verify;   /* shell command run in a temporary checkout */
	bool no_cache;
};

enum gm_task_status {
	GM_TASK_PENDING,
	GM_TASK_APPLIED,
	GM_TASK_UNCHANGED,
	GM_TASK_REJECTED, /* answers came back but none was acceptable */
	GM_TASK_FAILED,   /* the backend failed */
	GM_TASK_SKIPPED,  /* not sent: too large for the context, kept by plan, ... */
	GM_TASK_DROPPED,  /* accepted but dropped at merge or by --verify */
};

const char *gm_task_status_name(enum gm_task_status s);

struct gm_run_task {
	char *path;
	char *name;       /* qualified name (+ "#n" for duplicates) */
	char *kind;       /* "rewrite" or "analysis" */
	char *route;      /* "local", "claude" */
	char *model;
	char *route_reason;
	enum gm_task_status status;
	char *reason;     /* why rejected/failed/skipped/dropped, or NULL */
	char *rationale;  /* from the plan, or NULL */
	char *instructions;
	unsigned attempts;
	unsigned start_line, end_line;
	int64_t input_tokens, output_tokens, est_tokens;
	double cost_usd;
	bool cached;      /* answered from the cache */
	int added, removed;
	char **helpers;   /* applied rewrites: new functions it brought (qualified) */
	size_t nhelpers;
	char **imports;   /* and the import lines new to the file */
	size_t nimports;
	unsigned cc_before, cc_after, cc_after_sum; /* complexity: the function before;
	                                               max and sum with its helpers after */
};

struct gm_run_report {
	char *run_id;
	char *branch;     /* NULL when nothing was written */
	git_oid base, commit;
	bool has_commit;
	struct gm_run_task *tasks;
	size_t ntasks;
	size_t requests;  /* model requests actually sent (cache hits excluded) */
	int64_t input_tokens, output_tokens;
	double cost_usd;
	uint64_t elapsed_ms, model_ms;
	uint64_t scan_ms, commit_ms; /* reading + parsing; merging + writing objects and refs */
	bool analysis_local; /* analysis went to the local model instead of Claude */
	char *analysis_note; /* why, for the report */
	char *local_model, *claude_model;
	bool dry_run;
	bool ran;         /* models were asked (or the cache answered) */
	char **warnings;
	size_t nwarnings;
};

struct gm_progress {
	size_t done, total;
	size_t running_local, running_claude;
	double tokens_per_s;
	double cost_usd;
};

/* Called from the run's thread, at most a few times a second. */
typedef void (*gm_progress_fn)(void *ctx, const struct gm_progress *p);

/*
 * Run.  Returns 0 with a report (also when nothing changed, or some tasks
 * failed: the report says which); GM_ERROR when no backend is reachable or
 * no edit survived (report still filled); GM_EFATAL for repository errors;
 * GM_EINTERRUPTED after gm_pipeline_interrupt(): no branch is written.
 */
int gm_pipeline_run(struct gm_run_report **out, git_repository *repo, struct gm_config *cfg,
                    const struct gm_run_opts *opts, gm_progress_fn progress, void *ctx);

/* Async-signal-safe: ask the running pipeline to stop. */
void gm_pipeline_interrupt(void);

/* The report as JSON (the note under refs/notes/monitor and --json). */
cJSON *gm_run_report_json(const struct gm_run_report *r);
void gm_run_report_free(struct gm_run_report *r);

#endif
