/*
 * git monitor clean (--merged | --older-than <age> | --all) [-n | --dry-run]
 *
 * Delete runs (runs.h): with --merged those HEAD's branch has merged, with
 * --older-than those whose git-monitor commit is older (both: either),
 * with --all every one.  For each: its branch under monitor/, the notes on its
 * commits, and the cached answers no remaining run names.  Never another
 * branch; a branch checked out in a worktree is refused (exit 1, the rest
 * still go).  Prints what it deleted (with -n, what it would), one line a
 * run, on stdout as `git branch -d` does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>

#include "cli.h"
#include "term.h"
#include "monitor/config.h"
#include "monitor/error.h"
#include "monitor/repo.h"
#include "monitor/runs.h"
#include "monitor/util.h"
#include "monitor/banned.h"

static const char usage_text[] =
	"usage: git monitor clean (--merged | --older-than <age> | --all)\n"
	"                         [-n | --dry-run]\n"
	"\n"
	"Delete runs of 'git monitor refactor': their monitor/* branch, its notes under\n"
	"refs/notes/monitor and the cached model answers no other run uses. No other\n"
	"branch is ever touched; a branch checked out in a worktree is kept.";

int cmd_clean(int argc, char **argv)
{
	bool merged = false, all = false, dry_run = false;
	const char *older = NULL;
	int exit_code = CLI_OK, rc;
	struct cli_list rest = { 0 };
	const struct cli_opt opts[] = {
		{ 0, "merged", CLI_OPT_FLAG, &merged, NULL, "runs merged into HEAD's branch" },
		{ 0, "older-than", CLI_OPT_VALUE, &older, "AGE", "runs older than AGE (30.days, 2.weeks, 12.hours)" },
		{ 0, "all", CLI_OPT_FLAG, &all, NULL, "every run" },
		{ 'n', "dry-run", CLI_OPT_FLAG, &dry_run, NULL, "say what would be deleted; delete nothing" },
		{ 0, NULL, 0, NULL, NULL, NULL },
	};
	git_repository *repo = NULL;
	struct gm_config *cfg = NULL;
	struct gm_runs runs = { 0 };
	struct gm_run_deleted *del = NULL;
	size_t ndel = 0, nwhich = 0;
	bool *which = NULL;
	int64_t age = 0, now = (int64_t)time(NULL);

	if (cli_parse(argc, argv, opts, &rest, usage_text, &exit_code) < 0)
		goto cleanup;
	if (rest.n) {
		exit_code = cli_usage_error("clean takes no arguments");
		goto cleanup;
	}
	if (!merged && !older && !all) {
		exit_code = cli_usage_error("say which runs to delete: --merged, --older-than <age> or --all");
		goto cleanup;
	}
	if (older && gm_runs_parse_age(&age, older) < 0) {
		exit_code = cli_usage_error("%s", gm_error_last());
		goto cleanup;
	}
	if ((rc = gm_repo_open(&repo, NULL)) < 0 || (rc = gm_config_load(&cfg, repo)) < 0 ||
	    (rc = gm_runs_list(&runs, repo,
	                       gm_config_string(cfg, "monitor.branchPrefix",
	                                        gm_config_default("monitor.branchPrefix")))) < 0) {
		exit_code = cli_error(rc);
		goto cleanup;
	}
	which = gm_xcalloc(runs.n + 1, sizeof(bool));
	for (size_t i = 0; i < runs.n; i++) {
		const struct gm_run_info *ri = &runs.runs[i];
		which[i] = all || (merged && ri->merged) || (older && ri->time < now - age);
		nwhich += which[i];
	}
	if (!nwhich) {
		fprintf(stderr, "nothing to clean: %zu run%s, none %s\n", runs.n, runs.n == 1 ? "" : "s",
		        merged && older ? "merged or that old" : merged ? "merged" : "that old");
		goto cleanup;
	}
	rc = gm_runs_delete(&del, &ndel, repo, &runs, which, dry_run);
	for (size_t i = 0; i < ndel; i++) {
		const struct gm_run_info *ri = &runs.runs[del[i].run];
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, 8, &ri->tip);
		if (del[i].refused) {
			fprintf(stderr, "git-monitor: cannot delete %s: %s\n", ri->branch, del[i].why);
			exit_code = CLI_FAILED;
			continue;
		}
		if (del[i].branch)
			printf("%s branch %s (was %s)", dry_run ? "Would delete" : "Deleted", ri->branch, hex);
		else
			printf("%s the run of deleted branch %s", dry_run ? "Would forget" : "Forgot",
			       ri->branch ? ri->branch : hex);
		/* what went with it on a line of its own: a branch name leaves little room */
		printf("\n  with %zu note%s and %zu cached answer%s\n", del[i].notes, del[i].notes == 1 ? "" : "s",
		       del[i].cache_entries, del[i].cache_entries == 1 ? "" : "s");
	}
	if (rc < 0)
		exit_code = cli_error(rc);
cleanup:
	gm_runs_deleted_free(del, ndel);
	free(which);
	gm_runs_release(&runs);
	gm_config_free(cfg);
	git_repository_free(repo);
	cli_list_release(&rest);
	return exit_code;
}
