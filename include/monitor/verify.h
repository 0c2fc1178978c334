/*
 * verify.h: `refactor --verify CMD`.  CMD runs through /bin/sh in a
 * temporary checkout (commit.h) of the base with a subset of the accepted
 * edits merged in (merge.h), never in the user's working tree, its output
 * discarded; exit status 0 passes.  When all the edits together fail, the
 * base alone must pass (or no edit can be blamed), and the edits are
 * bisected: halves that pass are kept, halves that fail are split until
 * single edits are found to break it.  Nothing here writes a ref; the
 * commits made for the checkouts stay unreachable.
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
	const volatile sig_atomic_t *interrupted; /* set asynchronously: CMD is sent SIGTERM */
};

/*
 * Find the edits that break `v->cmd`: `keep[k]` (nedits entries, all true
 * on entry) is cleared for each edit that breaks it.  Returns 0 (also when
 * everything passes), GM_ERROR when CMD fails on the base already or cannot
 * be started, GM_EINTERRUPTED when interrupted, or the error that stopped
 * a merge or checkout.
 */
int gm_verify_bisect(bool *keep, const struct gm_verify *v);

#endif
