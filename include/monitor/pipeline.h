/*
 * pipeline.h: one `git monitor refactor` run, from the base commit to the
 * new branch, through DESIGN.md's stages: scan (index.h), plan (plan.h:
 * targets and routes), rewrite (task.h: the models, with retries and
 * escalation, every answer validated), merge (merge.h), verify (verify.h:
 * --verify and the bisection), commit (commit.h, notes.h: blobs, trees,
 * one commit, two with --staged, the note and, last, the branch).  Never
 * writes the working tree, the index, HEAD or an existing ref.
 *
 * The run's record is report.h's: `*out` of gm_pipeline_run is the
 * caller's, released with gm_run_report_free.
 */
#ifndef MONITOR_PIPELINE_H
#define MONITOR_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "monitor/config.h"
#include "monitor/report.h"
#include "monitor/task.h" /* gm_progress */

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
	bool batch;           /* --batch: Claude's analyses as one Message Batch (else
	                         monitor.claude.batch: off, on, or auto above batchAbove) */
	const char *resume;   /* --resume RUN: run RUN again as recorded (resume.h), its
	                         batch picked up; the other options are ignored */
};

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

#endif
