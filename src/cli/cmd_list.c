/*
 * git monitor list [--json] [-v]
 *
 * The runs of `git monitor refactor` this repository holds (runs.h),
 * newest first: branch, date, applied and rejected functions, cost (when
 * some run cost something), whether HEAD's branch has merged it, and the
 * goal.  The table fits the
 * terminal (names cut in the middle); -v and --json give everything.
 *
 * --json prints an array of
 *   { "branch": "<name>" | null, "ref": "refs/heads/..." | null (gone),
 *     "tip", "commit": "<oid>", "run": "<id>" | null,
 *     "date": "<ISO 8601>", "time": <epoch seconds>, "goal": "<text>" | null,
 *     "functions", "applied", "unchanged", "rejected", "failed", "skipped",
 *     "dropped": <counts of rewrites>, "cost_usd", "merged", "checked_out",
 *     "note": bool }
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <git2.h>

#include "cli.h"
#include "term.h"
#include "monitor/config.h"
#include "monitor/error.h"
#include "monitor/repo.h"
#include "monitor/runs.h"
#include "monitor/banned.h"

static const char usage_text[] =
	"usage: git monitor list [--json] [-v]\n"
	"\n"
	"List the runs of 'git monitor refactor' in this repository, newest first:\n"
	"their branch, date, how many functions were applied and rejected, the cost,\n"
	"whether HEAD's branch has merged them, and the goal.";

static void fmt_date(char *out, size_t size, int64_t t, bool iso, int offset)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (iso) {
		tt += (time_t)offset * 60;
		gmtime_r(&tt, &tm);
		strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(out + strlen(out), size - strlen(out), "%c%02d:%02d", offset < 0 ? '-' : '+',
		         abs(offset) / 60, abs(offset) % 60);
		return;
	}
	localtime_r(&tt, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M", &tm);
}

static void print_json(const struct gm_runs *runs)
{
	cJSON *arr = cJSON_CreateArray();
	char hex[GIT_OID_HEXSZ + 1], date[64];
	char *text;

	for (size_t i = 0; i < runs->n; i++) {
		const struct gm_run_info *ri = &runs->runs[i];
		cJSON *o = cJSON_CreateObject();
		if (ri->branch)
			cJSON_AddStringToObject(o, "branch", ri->branch);
		else
			cJSON_AddNullToObject(o, "branch");
		if (ri->refname)
			cJSON_AddStringToObject(o, "ref", ri->refname);
		else
			cJSON_AddNullToObject(o, "ref");
		cJSON_AddStringToObject(o, "tip", git_oid_tostr(hex, sizeof(hex), &ri->tip));
		cJSON_AddStringToObject(o, "commit", git_oid_tostr(hex, sizeof(hex), &ri->commit));
		if (ri->run_id)
			cJSON_AddStringToObject(o, "run", ri->run_id);
		else
			cJSON_AddNullToObject(o, "run");
		fmt_date(date, sizeof(date), ri->time, true, ri->offset);
		cJSON_AddStringToObject(o, "date", date);
		cJSON_AddNumberToObject(o, "time", (double)ri->time);
		if (ri->goal)
			cJSON_AddStringToObject(o, "goal", ri->goal);
		else
			cJSON_AddNullToObject(o, "goal");
		cJSON_AddNumberToObject(o, "functions", (double)ri->functions);
		for (int s = GM_TASK_APPLIED; s <= GM_TASK_DROPPED; s++)
			cJSON_AddNumberToObject(o, gm_task_status_name((enum gm_task_status)s),
			                        (double)ri->counts[s]);
		cJSON_AddNumberToObject(o, "cost_usd", ri->cost_usd);
		cJSON_AddBoolToObject(o, "merged", ri->merged);
		cJSON_AddBoolToObject(o, "checked_out", ri->checked_out);
		cJSON_AddBoolToObject(o, "note", ri->has_note);
		cJSON_AddItemToArray(arr, o);
	}
	text = cJSON_Print(arr);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(arr);
}

static void print_table(const struct gm_runs *runs, bool color, bool full)
{
	struct cli_table *t = cli_table_new();
	char date[64];
	bool costs = false; /* a cost column only when some run cost something (Claude) */

	for (size_t i = 0; i < runs->n; i++)
		costs |= runs->runs[i].cost_usd > 0;

	/* cut at its end: the run's time stays, which completion and a glob find it by */
	cli_table_col(t, "BRANCH", CLI_COL_END | CLI_COL_LAST, 24);
	cli_table_col(t, "DATE", 0, 0);
	cli_table_col(t, "APPLIED", CLI_COL_RIGHT, 0);
	cli_table_col(t, "REJECTED", CLI_COL_RIGHT, 0);
	if (costs)
		cli_table_col(t, "COST", CLI_COL_RIGHT, 0);
	cli_table_col(t, "MERGED", 0, 0);
	cli_table_col(t, "GOAL", CLI_COL_END | CLI_COL_FIRST, 8);
	for (size_t i = 0; i < runs->n; i++) {
		const struct gm_run_info *ri = &runs->runs[i];
		size_t rejected = ri->counts[GM_TASK_REJECTED] + ri->counts[GM_TASK_FAILED];
		cli_table_row(t);
		if (ri->refname)
			cli_table_cellf(t, NULL, "%s%s", ri->branch, ri->checked_out ? " *" : "");
		else
			cli_table_cellf(t, NULL, "%s (deleted)", ri->branch ? ri->branch : "?");
		fmt_date(date, sizeof(date), ri->time, false, ri->offset);
		cli_table_cell(t, NULL, date);
		if (ri->has_note) {
			cli_table_cellf(t, ri->counts[GM_TASK_APPLIED] ? cli_status_color(color, "applied") : NULL,
			                "%zu", ri->counts[GM_TASK_APPLIED]);
			cli_table_cellf(t, rejected ? cli_status_color(color, "rejected") : NULL, "%zu", rejected);
		} else {
			cli_table_cell(t, NULL, "?");
			cli_table_cell(t, NULL, "?");
		}
		if (costs)
			cli_table_cellf(t, NULL, "$%.4f", ri->cost_usd);
		cli_table_cell(t, ri->merged ? cli_color(color, "color.monitor.merged", "green") : NULL,
		               ri->merged ? "yes" : "no");
		cli_table_cell(t, NULL, ri->goal ? ri->goal : "");
	}
	cli_table_print(t, stdout, full ? 0 : cli_term_columns());
	cli_table_free(t);
}

int cmd_list(int argc, char **argv)
{
	bool json = false;
	int verbose = 0, exit_code = CLI_OK, rc;
	struct cli_list rest = { 0 };
	const struct cli_opt opts[] = {
		{ 0, "json", CLI_OPT_FLAG, &json, NULL, "print the runs as JSON" },
		{ 'v', "verbose", CLI_OPT_COUNT, &verbose, NULL, "full branch names and goals, however wide" },
		{ 0, NULL, 0, NULL, NULL, NULL },
	};
	git_repository *repo = NULL;
	struct gm_config *cfg = NULL;
	struct gm_runs runs = { 0 };
	size_t merged = 0;

	if (cli_parse(argc, argv, opts, &rest, usage_text, &exit_code) < 0)
		goto cleanup;
	if (rest.n) {
		exit_code = cli_usage_error("list takes no arguments");
		goto cleanup;
	}
	if ((rc = gm_repo_open(&repo, NULL)) < 0 || (rc = gm_config_load(&cfg, repo)) < 0 ||
	    (rc = gm_runs_list(&runs, repo,
	                       gm_config_string(cfg, "monitor.branchPrefix",
	                                        gm_config_default("monitor.branchPrefix")))) < 0) {
		exit_code = cli_error(rc);
		goto cleanup;
	}
	if (json) {
		print_json(&runs);
		goto cleanup;
	}
	if (!runs.n) {
		fprintf(stderr, "no runs: no branch under %s and no note under refs/notes/monitor\n",
		        runs.prefix);
		goto cleanup;
	}
	cli_term_columns(); /* the terminal's, before a pager takes stdout */
	cli_pager_setup("list", true);
	print_table(&runs, cli_want_color(NULL), verbose > 0);
	for (size_t i = 0; i < runs.n; i++)
		merged += runs.runs[i].merged;
	fflush(stdout);
	if (merged)
		cli_advise("monitorClean", "%zu of these %s merged; 'git monitor clean --merged' deletes %s.",
		           merged, merged == 1 ? "is" : "are", merged == 1 ? "it" : "them");
cleanup:
	gm_runs_release(&runs);
	gm_config_free(cfg);
	git_repository_free(repo);
	cli_list_release(&rest);
	return exit_code;
}
