/*
 * resume.h: what a run whose Claude analyses went out as a Message Batch
 * needs to be run again by `git monitor refactor --resume RUN`: its
 * options, resolved (the base as an object id, the branch name it chose),
 * kept as <common git dir>/monitor/runs/<run>.json while its batch is out.
 * The batch itself is recorded by the backend (backend.h, batch_dir); a
 * run made again from this record sends the same requests, so it polls
 * the recorded batch instead of sending a new one.
 *
 * A record is written before the batch is sent and removed once its
 * results are in or it was cancelled: only a run that died (killed, the
 * terminal closed, the machine asleep) leaves one behind.
 */
#ifndef MONITOR_RESUME_H
#define MONITOR_RESUME_H

#include <stdbool.h>
#include <stddef.h>

#include <git2.h>

struct gm_run_record {
	char *run;      /* the run's id */
	char *goal;
	git_oid base;   /* the commit it read (for --staged: the index's snapshot) */
	bool has_since;
	git_oid since;  /* --since, resolved (for --staged: HEAD then) */
	char *branch;   /* the branch it was going to write */
	char **functions, **pathspecs; /* -f globs; pathspecs as the run took them */
	size_t nfunctions, npathspecs;
	char *verify;   /* or NULL */
	int jobs;
	bool local_only, plan_all, no_cache, has_max_cost;
	double max_cost;
	char *base_hex, *since_hex; /* the reader's: base and since as text, for options */
};

/* Write `rec` (replacing one of the same run). */
int gm_resume_save(git_repository *repo, const struct gm_run_record *rec);

/*
 * Read the record of run `run`.  None: GM_ENOTFOUND, the message naming
 * the runs that can be resumed.  `*out` is the caller's (gm_run_record_free).
 */
int gm_resume_load(struct gm_run_record **out, git_repository *repo, const char *run);

/* Remove the record of `run`, if there is one. */
void gm_resume_remove(git_repository *repo, const char *run);

void gm_run_record_free(struct gm_run_record *rec);

#endif
