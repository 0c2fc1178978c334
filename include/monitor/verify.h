/*
 * verify.h: `refactor --verify CMD`.  CMD runs through /bin/sh in a
 * temporary checkout (commit.h) of the base with a subset of the accepted
 * edits merged in (merge.h), never in the user's working tree, its output
 * discarded; exit status 0 passes.  When all the edits together fail, the
 * base alone must pass (or no edit can be blamed), and the edits are
 * bisected: halves that pass are kept, halves that fail are split until
 * single edits are found to break it.  Nothing here writes a ref; the
 * commits made for the checkouts stay unreachable.
 *
 * CMD runs in a process group of its own, with a time limit per run
 * (monitor.verify.timeout): past it, or when the run is interrupted, the
 * whole group is sent SIGTERM, then SIGKILL after VERIFY_KILL_GRACE_S, so
 * nothing it started outlives it.  A run that timed out counts as a
 * failure, and the edits it is blamed on are reported as such.
 */
#ifndef MONITOR_VERIFY_H
#define MONITOR_VERIFY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <git2.h>
#include <tree_sitter/api.h>

#include "monitor/merge.h"

struct gm_verify {
	git_repository *repo;
	const git_oid *base;
	const char *cmd;
	const struct gm_merge_file *files; /* the accepted edits, numbered as merge.h says */
	size_t nfiles, nedits;
	TSParser *parser;                  /* the thread's, or NULL */
	long timeout_s;                    /* per run of CMD; 0: none */
	const volatile sig_atomic_t *interrupted; /* set asynchronously: CMD is sent SIGTERM */
};

/*
 * Find the edits that break `v->cmd`: `keep[k]` (nedits entries, all true
 * on entry) is cleared for each edit that breaks it, and `timed_out[k]`
 * (nedits entries, may be NULL) set when the run that blamed it was
 * stopped at the time limit rather than failing.  Returns 0 (also when
 * everything passes), GM_ERROR when CMD fails (or times out) on the base
 * already or cannot be started, GM_EINTERRUPTED when interrupted, or the
 * error that stopped a merge or checkout.
 */
int gm_verify_bisect(bool *keep, bool *timed_out, const struct gm_verify *v);

#endif
