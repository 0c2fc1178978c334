/*
 * git monitor refactor: the whole pipeline (pipeline.h); this file parses
 * options, draws the progress line, prints the report and picks the exit
 * code.  stdout: the branch name first, then the table (or --json); all
 * else on stderr.
 *
 * --json prints the run record, the same JSON as the note under
 * refs/notes/monitor; its schema is in include/monitor/report.h.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "cli.h"
#include "progress.h"
#include "term.h"
#include "monitor/config.h"
#include "monitor/error.h"
#include "monitor/pipeline.h"
#include "monitor/repo.h"
#include "monitor/util.h"
#include "monitor/banned.h"

static const char usage_text[] =
	"usage: git monitor refactor [options] [<pathspec>...]\n"
	"\n"
	"Rewrite the functions of a commit (default HEAD) with language models and\n"
	"write the validated result as one commit on a new branch. Your working\n"
	"tree, index, HEAD and branches are never changed.";

static volatile sig_atomic_t first_signal_ms; /* when the first Ctrl-C came (0: none yet) */

static sig_atomic_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe */
	return (sig_atomic_t)((ts.tv_sec % 1000000) * 1000 + ts.tv_nsec / 1000000) + 1;
}

/*
 * Ctrl-C: stop the run (it ends within a second, leaving no branch).  git
 * passes the terminal's SIGINT on to us again (run-command's
 * clean_on_exit), so one Ctrl-C may come twice; a second one a moment
 * later ends the process at once.
 */
static void on_sigint(int sig)
{
	sig_atomic_t t = now_ms();
	if (first_signal_ms && t - first_signal_ms > 500) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	if (!first_signal_ms)
		first_signal_ms = t;
	cli_progress_interrupted();
	gm_pipeline_interrupt();
}

static const char *short_model(const char *m, bool full)
{
	return m && *m ? full ? m : cli_model_short(m) : "-";
}

/* "path:line name" as the table shows it, quoted for the terminal. */
static char *function_cell(const struct gm_run_task *t)
{
	char *path = cli_path(t->path), *name = cli_name(t->name), *cell;
	cell = t->start_line ? gm_xasprintf("%s:%u %s", path, t->start_line, name)
	                     : gm_xasprintf("%s %s", path, name);
	free(path);
	free(name);
	return cell;
}

/* The report's table, as wide as the terminal (full names with -v). */
static void print_table(const struct gm_run_report *r, bool color, bool full)
{
	struct cli_table *t = cli_table_new();

	cli_table_col(t, "STATUS", 0, 0);
	cli_table_col(t, "TASK", 0, 0);
	cli_table_col(t, "ROUTE", 0, 0);
	if (!r->dry_run) { /* a plan has neither: room for the reasons */
		/* "qwen2.5-7…" says more than "qwen…uct" */
		cli_table_col(t, "MODEL", CLI_COL_END | CLI_COL_FIRST, 8);
		cli_table_col(t, "TRY", CLI_COL_RIGHT, 0);
	}
	/* in a plan the reasons are what is read: they share the room with the names */
	cli_table_col(t, "FUNCTION", CLI_COL_PATH | (r->dry_run ? 0 : CLI_COL_LAST), 16);
	cli_table_col(t, "REASON", CLI_COL_END | (r->dry_run ? 0 : CLI_COL_FIRST), 12);
	for (size_t i = 0; i < r->ntasks; i++) {
		const struct gm_run_task *t2 = &r->tasks[i];
		const char *status = r->dry_run ? "planned" : gm_task_status_name(t2->status);
		const char *reason = t2->reason ? t2->reason : "";
		char *safe, *fn, *model;
		struct gm_buf what = GM_BUF_INIT;
		if (r->dry_run)
			reason = t2->route_reason ? t2->route_reason : "";
		if (!r->dry_run && t2->status == GM_TASK_APPLIED && !strcmp(t2->kind, "rewrite") &&
		    (t2->nhelpers || t2->nimports || t2->cc_before != t2->cc_after)) {
			/* What a split achieved: complexity before -> after, and what came with it. */
			gm_buf_printf(&what, "cc %u -> %u", t2->cc_before, t2->cc_after);
			for (size_t k = 0; k < t2->nhelpers; k++)
				gm_buf_printf(&what, "%s%s", k ? ", " : " (+ helper ", t2->helpers[k]);
			if (t2->nhelpers)
				gm_buf_puts(&what, ")");
			if (t2->nimports)
				gm_buf_printf(&what, ", %zu import%s", t2->nimports, t2->nimports == 1 ? "" : "s");
			reason = what.ptr;
		}
		safe = cli_text(reason);
		fn = function_cell(t2);
		model = cli_text(short_model(t2->model, full));
		cli_table_row(t);
		cli_table_cell(t, cli_status_color(color, status), status);
		cli_table_cell(t, NULL, t2->kind);
		cli_table_cell(t, NULL, t2->route);
		if (!r->dry_run) {
			cli_table_cell(t, NULL, model);
			cli_table_cellf(t, NULL, "%u", t2->attempts);
		}
		cli_table_cell(t, NULL, fn);
		cli_table_cell(t, NULL, safe);
		gm_buf_release(&what);
		free(safe);
		free(fn);
		free(model);
	}
	cli_table_print(t, stdout, full ? 0 : cli_term_columns());
	cli_table_free(t);
}

static void print_summary(const struct gm_run_report *r, FILE *out)
{
	size_t counts[8] = { 0 };
	size_t n = 0;
	const char *sep = "";
	for (size_t i = 0; i < r->ntasks; i++)
		if (strcmp(r->tasks[i].kind, "rewrite") == 0) {
			counts[r->tasks[i].status]++;
			n++;
		}
	if (r->dry_run) {
		int64_t est = 0;
		for (size_t i = 0; i < r->ntasks; i++)
			est += r->tasks[i].est_tokens;
		fprintf(out, "dry run: %zu rewrite%s, %zu task%s in all; about %lld tokens, Claude about $%.4f; nothing sent, nothing written\n",
		        n, n == 1 ? "" : "s", r->ntasks, r->ntasks == 1 ? "" : "s", (long long)est, r->cost_usd);
		return;
	}
	fprintf(out, "%zu function%s: ", n, n == 1 ? "" : "s");
	for (int s = GM_TASK_APPLIED; s <= GM_TASK_DROPPED; s++) {
		if (!counts[s])
			continue;
		fprintf(out, "%s%zu %s", sep, counts[s], gm_task_status_name((enum gm_task_status)s));
		sep = ", ";
	}
	if (!*sep)
		fputs("none", out);
	fprintf(out, "; %zu request%s, %lld tokens in, %lld out", r->requests, r->requests == 1 ? "" : "s",
	        (long long)r->input_tokens, (long long)r->output_tokens);
	if (r->claude_model) /* a cost only where one can arise */
		fprintf(out, ", $%.4f", r->cost_usd);
	fprintf(out, ", %.1f s\n", (double)r->elapsed_ms / 1000.0);
}

/* What to do with the branch, in git's hint style (advice.monitorNextSteps). */
static void next_steps(const struct gm_run_report *r, const char *base_hex)
{
	(void)base_hex;
	/* one command a line: each can be copied, and fits 80 columns with a branch name */
	cli_advise("monitorNextSteps",
	           "Review the branch, keep or drop each function, then merge or delete it:\n"
	           "  git monitor review %s\n"
	           "  git monitor review -i %s\n"
	           "  git merge %s\n"
	           "  git branch -D %s\n"
	           "('git monitor clean --merged' deletes runs once they are merged.)",
	           r->branch, r->branch, r->branch, r->branch);
}

/*
 * A server as the progress line names it: "192.168.1.20:1234" for
 * "http://192.168.1.20:1234/v1" (https and other paths stay), so that a
 * line per server fits 80 columns.
 */
static char *server_short(const char *url)
{
	const char *p = url && !strncmp(url, "http://", 7) ? url + 7 : url ? url : "?";
	size_t n = strlen(p);
	if (p != url && n > 3 && !strcmp(p + n - 3, "/v1"))
		n -= 3;
	return gm_xstrndup(p, n);
}

/*
 * Per server, when there was more than one or something went wrong (or -v):
 * answers, mean time, failures, time out of service; the batch, if one.
 */
static void print_servers(const struct gm_run_report *r, bool always)
{
	bool show = always;
	for (size_t i = 0; i < r->nservers; i++)
		show |= r->servers[i].failures || r->servers[i].outages;
	show |= r->nservers > 1 && strcmp(r->servers[1].kind, "Claude API") != 0;
	for (size_t i = 0; show && i < r->nservers; i++) {
		const struct gm_run_server *s = &r->servers[i];
		char *shown = server_short(s->url);
		char *url = cli_text(shown), *model = cli_text(s->model ? s->model : "?");
		fprintf(stderr, "server %s (%s, %s): %llu answer%s, %.1f s each", url, s->kind, model,
		        (unsigned long long)s->answers, s->answers == 1 ? "" : "s", (double)s->avg_ms / 1000.0);
		if (s->failures)
			fprintf(stderr, ", %llu failed", (unsigned long long)s->failures);
		if (s->requeued)
			fprintf(stderr, ", %llu moved to others", (unsigned long long)s->requeued);
		if (s->outages) {
			char *cause = cli_text(s->cause ? s->cause : "");
			fprintf(stderr, ", out of service %u time%s (%.1f s)%s%s", s->outages,
			        s->outages == 1 ? "" : "s", (double)s->down_ms / 1000.0, *cause ? ": " : "", cause);
			free(cause);
		}
		fputc('\n', stderr);
		free(shown);
		free(url);
		free(model);
	}
	if (r->batch_id)
		fprintf(stderr, "Claude's analyses went as Message Batch %s (%zu request%s%s)\n", r->batch_id,
		        r->batch_requests, r->batch_requests == 1 ? "" : "s",
		        r->batch_resumed ? ", resumed" : "");
}

static int parse_cost(double *out, const char *s)
{
	char *end;
	if (*s == '$')
		s++;
	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(*out) || *out < 0)
		return cli_usage_error("bad value '%s' for --max-cost: expected dollars, e.g. 0.50", s), -1;
	return 0;
}

/* --max-complexity: which functions came under the threshold, and which did not. */
static void print_threshold(const struct gm_run_report *r, unsigned max)
{
	for (size_t i = 0; i < r->ntasks; i++) {
		const struct gm_run_task *t = &r->tasks[i];
		if (strcmp(t->kind, "rewrite") != 0)
			continue;
		if (t->status == GM_TASK_APPLIED && t->cc_after <= max)
			fprintf(stderr, "under the threshold: %s:%u %s: complexity %u -> %u (max %u)%s%zu helper%s\n",
			        t->path, t->start_line, t->name, t->cc_before, t->cc_after, max,
			        t->nhelpers ? ", with " : "", t->nhelpers, t->nhelpers == 1 ? "" : "s");
		else if (t->status == GM_TASK_APPLIED)
			fprintf(stderr, "still over the threshold: %s:%u %s: complexity %u -> %u (max %u)\n",
			        t->path, t->start_line, t->name, t->cc_before, t->cc_after, max);
		else
			fprintf(stderr, "still over the threshold: %s:%u %s: %s\n", t->path, t->start_line,
			        t->name, t->reason ? t->reason : gm_task_status_name(t->status));
	}
}

int cmd_refactor(int argc, char **argv)
{
	const char *goal = NULL, *goal_file = NULL, *base = NULL, *since = NULL, *branch = NULL;
	const char *jobs_s = NULL, *max_cost_s = NULL, *verify = NULL, *max_cc_s = NULL;
	const char *resume = NULL;
	bool staged = false, local_only = false, plan = false, dry_run = false, json = false;
	bool no_cache = false, quiet = false, batch = false, progress_on = false, progress_off = false;
	int verbose = 0;
	struct cli_list functions = { 0 }, rest = { 0 };
	const struct cli_opt opts[] = {
		{ 'g', "goal", CLI_OPT_VALUE, &goal, "TEXT", "what to achieve (default: monitor.goal)" },
		{ 0, "goal-file", CLI_OPT_VALUE, &goal_file, "FILE", "read the goal from FILE" },
		{ 0, "base", CLI_OPT_VALUE, &base, "REV", "commit to read and branch from (default HEAD)" },
		{ 0, "since", CLI_OPT_VALUE, &since, "REV", "only functions changed between REV and the base" },
		{ 0, "staged", CLI_OPT_FLAG, &staged, NULL, "only functions the staged changes touch" },
		{ 'f', "function", CLI_OPT_MULTI, &functions, "GLOB", "only functions matching GLOB (Class.method or name)" },
		{ 'b', "branch", CLI_OPT_VALUE, &branch, "NAME", "branch to create (default monitor/<time>-<goal>)" },
		{ 'j', "jobs", CLI_OPT_VALUE, &jobs_s, "N", "requests at once per local server" },
		{ 0, "local-only", CLI_OPT_FLAG, &local_only, NULL, "send nothing to Claude" },
		{ 0, "plan", CLI_OPT_FLAG, &plan, NULL, "analyse every cluster first (signature or cross-file goals)" },
		{ 0, "dry-run", CLI_OPT_FLAG, &dry_run, NULL, "show the plan and estimates; no model call, nothing written" },
		{ 0, "json", CLI_OPT_FLAG, &json, NULL, "print the report as JSON" },
		{ 0, "max-cost", CLI_OPT_VALUE, &max_cost_s, "USD", "stop sending to Claude past this cost" },
		{ 0, "verify", CLI_OPT_VALUE, &verify, "CMD", "run CMD in a temporary checkout; drop edits that break it" },
		{ 0, "max-complexity", CLI_OPT_VALUE, &max_cc_s, "N",
		  "split functions into helpers until none is over complexity N; report which are" },
		{ 0, "no-cache", CLI_OPT_FLAG, &no_cache, NULL, "ask the models again even for cached answers" },
		{ 0, "batch", CLI_OPT_FLAG, &batch, NULL,
		  "send Claude's analyses as one Message Batch (half the price, slower)" },
		{ 0, "resume", CLI_OPT_VALUE, &resume, "RUN",
		  "run RUN again as it was, picking up the Message Batch it left running" },
		{ 'q', "quiet", CLI_OPT_FLAG, &quiet, NULL, "no progress line, no summary" },
		{ 0, "progress", CLI_OPT_FLAG, &progress_on, NULL, "draw the progress line even when stderr is no terminal" },
		{ 0, "no-progress", CLI_OPT_FLAG, &progress_off, NULL, "no progress line" },
		{ 'v', "verbose", CLI_OPT_COUNT, &verbose, NULL, "say why each task took its route" },
		{ 0, NULL, 0, NULL, NULL, NULL },
	};
	struct gm_run_opts ro = { 0 };
	git_repository *repo = NULL;
	struct gm_config *cfg = NULL;
	struct gm_run_report *rep = NULL;
	struct sigaction sa, old_int, old_term;
	struct cli_progress *progress = NULL;
	char *goal_text = NULL, *prefix = NULL, **specs = NULL;
	int exit_code = 0, rc, jobs = 0, max_cc = 0;

	if (cli_parse(argc, argv, opts, &rest, usage_text, &exit_code) < 0)
		goto cleanup;
	if (since && staged) {
		exit_code = cli_fail(CLI_USAGE, "--since and --staged cannot be used together");
		goto cleanup;
	}
	if (base && staged) {
		exit_code = cli_fail(CLI_USAGE, "--base and --staged cannot be used together");
		goto cleanup;
	}
	if (goal && goal_file) {
		exit_code = cli_fail(CLI_USAGE, "--goal and --goal-file cannot be used together");
		goto cleanup;
	}
	if (resume && (goal || goal_file || base || since || staged || functions.n || rest.n || branch ||
	               max_cost_s || verify || max_cc_s || local_only || plan || dry_run)) {
		exit_code = cli_fail(CLI_USAGE, "--resume runs the run again as it was recorded: it takes "
		                     "no goal, selection, branch or limits of its own");
		goto cleanup;
	}
	if (max_cc_s && cli_parse_int(&max_cc, "--max-complexity", max_cc_s, 1, 1000) < 0) {
		exit_code = CLI_USAGE;
		goto cleanup;
	}
	if (jobs_s && cli_parse_int(&jobs, "--jobs", jobs_s, 1, 256) < 0) {
		exit_code = CLI_USAGE;
		goto cleanup;
	}
	if (max_cost_s && parse_cost(&ro.max_cost, max_cost_s) < 0) {
		exit_code = CLI_USAGE;
		goto cleanup;
	}
	if (goal_file) {
		size_t len;
		if (gm_read_file(&goal_text, &len, goal_file, 64 * 1024) < 0) {
			exit_code = cli_fail(CLI_USAGE, "%s", gm_error_last());
			goto cleanup;
		}
		while (len && (goal_text[len - 1] == '\n' || goal_text[len - 1] == ' '))
			goal_text[--len] = '\0';
		goal = goal_text;
	}
	if (goal && !goal[strspn(goal, " \t\r\n\f\v")]) {
		exit_code = cli_fail(CLI_USAGE, "the goal is empty");
		goto cleanup;
	}
	/* Pathspecs are relative to the current directory, as git takes them. */
	if ((rc = gm_repo_open(&repo, NULL)) < 0 || (rc = gm_config_load(&cfg, repo)) < 0 ||
	    (rc = gm_repo_prefix(&prefix, repo)) < 0 ||
	    (rc = gm_pathspec_prefix(&specs, prefix, rest.items, rest.n)) < 0) {
		exit_code = cli_error(rc);
		goto cleanup;
	}
	if (max_cc && !goal && !goal_file) {
		/* The hook's suggest mode: split what is too complex. */
		goal_text = gm_xasprintf("split this function into smaller helper functions so that it "
		                         "and each helper has a cyclomatic complexity of at most %d, "
		                         "without changing behaviour", max_cc);
		goal = goal_text;
	}
	ro.goal = goal;
	ro.base = base;
	ro.since = since;
	ro.staged = staged;
	ro.functions = functions.items;
	ro.nfunctions = functions.n;
	ro.pathspecs = (const char *const *)specs;
	ro.npathspecs = rest.n;
	ro.branch = branch;
	ro.jobs = jobs;
	ro.local_only = local_only;
	ro.plan_all = plan;
	ro.dry_run = dry_run;
	ro.has_max_cost = max_cost_s != NULL;
	ro.verify = verify;
	ro.no_cache = no_cache;
	ro.batch = batch;
	ro.resume = resume;

	progress = cli_progress_start(dry_run ? "dry run" : "refactor",
	                              progress_on ? 1 : progress_off || quiet || json ? 0 : -1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	rc = gm_pipeline_run(&rep, repo, cfg, &ro, progress ? cli_progress_update : NULL, progress);
	cli_progress_stop(progress);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);

	if (rc == GM_EINTERRUPTED) {
		if (rep && rep->batch_id)
			exit_code = cli_fail(CLI_INTERRUPTED, "interrupted; no branch was written; Message "
			                     "Batch %s was cancelled", rep->batch_id);
		else
			exit_code = cli_fail(CLI_INTERRUPTED, "interrupted; no branch was written");
		goto cleanup;
	}
	if (rc < 0 && (!rep || !(rep->ran || rep->dry_run) || rc != GM_ERROR)) {
		exit_code = cli_error(rc);
		goto cleanup;
	}
	cli_quote_setup(repo);
	if (json) {
		cJSON *j = gm_run_report_json(rep);
		char *text = cJSON_Print(j);
		printf("%s\n", text);
		free(text);
		cJSON_Delete(j);
	} else {
		if (rep->branch) {
			char *b = cli_path(rep->branch);
			printf("%s\n", b);
			free(b);
		}
		if (rep->ntasks)
			print_table(rep, cli_want_color(NULL), verbose > 0);
	}
	if (!quiet) {
		char base_hex[GIT_OID_HEXSZ + 1];
		for (size_t i = 0; i < rep->nwarnings; i++) {
			char *w = cli_text(rep->warnings[i]);
			fprintf(stderr, "warning: %s\n", w);
			free(w);
		}
		if (rep->analysis_local && verbose) {
			char *n = cli_text(rep->analysis_note);
			fprintf(stderr, "note: analysis went to the local model (%s)\n", n);
			free(n);
		}
		if (verbose)
			for (size_t i = 0; i < rep->ntasks; i++)
				if (rep->tasks[i].route_reason) {
					char *path = cli_path(rep->tasks[i].path), *name = cli_name(rep->tasks[i].name);
					char *why = cli_text(rep->tasks[i].route_reason);
					fprintf(stderr, "route: %s %s -> %s: %s\n", path, name, rep->tasks[i].route, why);
					free(path);
					free(name);
					free(why);
				}
		if (!rep->ntasks)
			fprintf(stderr, "nothing to refactor: no function matched\n");
		else if (!json)
			print_summary(rep, stderr);
		if (!json)
			print_servers(rep, verbose > 0);
		if (max_cc && !rep->dry_run)
			print_threshold(rep, (unsigned)max_cc);
		git_oid_tostr(base_hex, 13, &rep->base);
		if (rep->branch)
			next_steps(rep, base_hex);
		else if (rep->ntasks && !rep->dry_run && rc == 0)
			fprintf(stderr, "nothing to change: no branch written\n");
	}
	exit_code = rc < 0 ? cli_error(rc) : CLI_OK;
cleanup:
	gm_pathspec_strv_free(specs, rest.n);
	free(prefix);
	gm_run_report_free(rep);
	gm_config_free(cfg);
	git_repository_free(repo);
	cli_list_release(&functions);
	cli_list_release(&rest);
	free(goal_text);
	return exit_code;
}
