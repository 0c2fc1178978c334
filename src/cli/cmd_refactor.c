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
#include <unistd.h>

#include <git2.h>

#include "cli.h"
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

static bool progress_drawn;

static void on_sigint(int sig)
{
	(void)sig;
	gm_pipeline_interrupt();
}

static void draw_progress(void *ctx, const struct gm_progress *p)
{
	(void)ctx;
	fprintf(stderr, "\r\033[Krefactor: %zu/%zu done, running local %zu, claude %zu, %.1f tok/s, $%.4f",
	        p->done, p->total, p->running_local, p->running_claude, p->tokens_per_s, p->cost_usd);
	fflush(stderr);
	progress_drawn = true;
}

static void clear_progress(void)
{
	if (progress_drawn)
		fputs("\r\033[K", stderr);
	progress_drawn = false;
}

static const char *short_model(const char *m)
{
	return m && *m ? m : "-";
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

static void print_table(const struct gm_run_report *r)
{
	int wfn = 8, wmodel = 5;
	for (size_t i = 0; i < r->ntasks; i++) {
		const struct gm_run_task *t = &r->tasks[i];
		char *fn = function_cell(t), *model = cli_text(short_model(t->model));
		int l = (int)strlen(fn);
		if (l > wfn)
			wfn = l;
		l = (int)strlen(model);
		if (l > wmodel)
			wmodel = l;
		free(fn);
		free(model);
	}
	if (wfn > 56)
		wfn = 56;
	if (wmodel > 32)
		wmodel = 32;
	printf("%-9s  %-8s  %-6s  %-*s  %3s  %-*s  %s\n", "STATUS", "TASK", "ROUTE", wmodel, "MODEL", "TRY",
	       wfn, "FUNCTION", "REASON");
	for (size_t i = 0; i < r->ntasks; i++) {
		const struct gm_run_task *t = &r->tasks[i];
		char *fn = function_cell(t), *model = cli_text(short_model(t->model)), *reason;
		const char *why = r->dry_run ? (t->route_reason ? t->route_reason : "")
		                             : (t->reason ? t->reason : "");
		struct gm_buf what = GM_BUF_INIT;
		if (!r->dry_run && t->status == GM_TASK_APPLIED && !strcmp(t->kind, "rewrite") &&
		    (t->nhelpers || t->nimports || t->cc_before != t->cc_after)) {
			/* What a split achieved: complexity before -> after, and what came with it. */
			gm_buf_printf(&what, "cc %u -> %u", t->cc_before, t->cc_after);
			for (size_t k = 0; k < t->nhelpers; k++)
				gm_buf_printf(&what, "%s%s", k ? ", " : " (+ helper ", t->helpers[k]);
			if (t->nhelpers)
				gm_buf_puts(&what, ")");
			if (t->nimports)
				gm_buf_printf(&what, ", %zu import%s", t->nimports, t->nimports == 1 ? "" : "s");
			why = what.ptr;
		}
		reason = cli_text(why);
		printf("%-9s  %-8s  %-6s  %-*s  %3u  %-*s  %s\n",
		       r->dry_run ? "planned" : gm_task_status_name(t->status), t->kind, t->route, wmodel,
		       model, t->attempts, wfn, fn, reason);
		gm_buf_release(&what);
		free(fn);
		free(model);
		free(reason);
	}
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
	fprintf(out, "; %zu request%s, %lld tokens in, %lld out, $%.4f, %.1f s\n", r->requests,
	        r->requests == 1 ? "" : "s", (long long)r->input_tokens, (long long)r->output_tokens,
	        r->cost_usd, (double)r->elapsed_ms / 1000.0);
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
		char *url = cli_text(s->url), *model = cli_text(s->model ? s->model : "?");
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
		return cli_fail(CLI_USAGE, "bad value '%s' for --max-cost: expected dollars, e.g. 0.50", s), -1;
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
	bool no_cache = false, quiet = false, batch = false;
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
		{ 'v', "verbose", CLI_OPT_COUNT, &verbose, NULL, "say why each task took its route" },
		{ 0, NULL, 0, NULL, NULL, NULL },
	};
	struct gm_run_opts ro = { 0 };
	git_repository *repo = NULL;
	struct gm_config *cfg = NULL;
	struct gm_run_report *rep = NULL;
	struct sigaction sa, old_int, old_term;
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

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	rc = gm_pipeline_run(&rep, repo, cfg, &ro,
	                     !quiet && !json && isatty(STDERR_FILENO) ? draw_progress : NULL, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	clear_progress();

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
			print_table(rep);
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
			fprintf(stderr, "review it:  git monitor review %s\n            git diff %s...%s\n",
			        rep->branch, base_hex, rep->branch);
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
