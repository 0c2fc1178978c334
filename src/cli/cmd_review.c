/*
 * git monitor review [<branch>] [--diff] [--json] [--drop <path>:<function>]...
 * git monitor review -i [<branch>] [<pathspec>...] [-f GLOB]...
 * git monitor review --web [<branch>] | --html FILE [<branch>] | --show <path>:<function>
 *
 * A generated branch function by function (review.h): the table on stdout,
 * each function's diff with --diff, the same data as JSON with --json.
 * --drop adds one commit restoring those functions, moves only that branch
 * and then shows the branch as it is now.
 *
 * --json prints one object:
 *   {
 *     "branch": "monitor/...",        short name
 *     "tip": "<oid>",                 the branch's commit (after --drop: the new one)
 *     "base": "<oid>",                the run's base; the review covers base...tip
 *     "commit": "<oid>",              the git-monitor commit
 *     "run": "<id>" | null,           Monitor-Run
 *     "source": "note" | "diff",      where route/model/status came from
 *     "commits_after": N,             commits on top of the git-monitor commit
 *     "dropped": ["path:name", ...],  only with --drop
 *     "not_applied": [{               the note's rejected, failed and skipped tasks
 *       "path", "name", "kind",       kind "rewrite" or "analysis"
 *       "status", "reason",           reason: string or null
 *       "route", "model", "attempts", "start_line",
 *       "answer", "answer_truncated"  the last rejected answer kept in the note, or null
 *     }],
 *     "functions": [{                 file order
 *       "path", "name",               name: qualified, "#n" for the n-th duplicate
 *       "route", "model",             "unknown" when neither note nor message says;
 *                                     route "none": changed only by later commits
 *       "status",                     the note's ("applied", "dropped", ...) or "changed"
 *       "reason", "rationale",        strings or null
 *       "attempts",
 *       "changed",                    its text differs between base and tip
 *       "changed_after",              a commit after the git-monitor commit changed it
 *       "in_base", "in_tip",          false: added / removed by the branch
 *       "start_line", "end_line",     in the tip (in the base when removed)
 *       "lines_added", "lines_removed",
 *       "helper_of",                  a helper: the function it came with, else null
 *       "helpers", "imports",         what the function brought (the note's)
 *       "complexity": {"before", "after"}  when the note says
 *       "diff"                        only with --diff: the unified diff text
 *     }]
 *   }
 * It is valid UTF-8 whatever the bytes (include/monitor/quote.h): "branch",
 * "path" and "name" in git's C-quoted form when not UTF-8, reversibly; in
 * the other strings a byte that is not UTF-8 is U+FFFD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <git2.h>

#include "cli.h"
#include "review_cli.h"
#include "term.h"
#include "monitor/config.h"
#include "monitor/error.h"
#include "monitor/notes.h"
#include "monitor/repo.h"
#include "monitor/review.h"
#include "monitor/quote.h"
#include "monitor/util.h"
#include "monitor/banned.h"

static const char usage_text[] =
	"usage: git monitor review [<branch>] [--diff] [--json]\n"
	"                          [--drop <path>:<function>]... [--undo-drop]\n"
	"   or: git monitor review -i [<branch>] [<pathspec>...] [-f <glob>]...\n"
	"   or: git monitor review --web [<branch>] | --html <file> [<branch>]\n"
	"   or: git monitor review --show <path>:<function> [<branch>]\n"
	"\n"
	"Show a branch written by 'git monitor refactor' (default: the newest one)\n"
	"function by function: route, model, attempts, status, lines changed and the\n"
	"plan's rationale, then the tasks that were rejected, failed or skipped.\n"
	"--drop adds one commit to that branch restoring the named functions (globs:\n"
	"'src/*.py:Parser.*') to their base text, with the helpers and imports they\n"
	"brought; --undo-drop gives back what the last drop took. -i asks about each\n"
	"function as 'git add -p' does and drops the ones you say no to in one commit;\n"
	"--web serves a review page on 127.0.0.1 that does the same in a browser;\n"
	"--html writes that page as one file. --show prints a rejected answer.";


static uint32_t fn_line(const struct gm_review_fn *fn, bool end)
{
	if (fn->in_tip && fn->tip_start_line)
		return end ? fn->tip_end_line : fn->tip_start_line;
	return end ? fn->base_end_line : fn->base_start_line;
}

/* git's colour slots for diffs (color.diff.<slot>); "" when colour is off. */
struct diff_colors {
	const char *meta, *frag, *old, *new, *commit;
};

static void diff_colors(struct diff_colors *c, bool on)
{
	c->meta = cli_color(on, "color.diff.meta", "bold");
	c->frag = cli_color(on, "color.diff.frag", "cyan");
	c->old = cli_color(on, "color.diff.old", "red");
	c->new = cli_color(on, "color.diff.new", "green");
	c->commit = cli_color(on, "color.diff.commit", "yellow");
}

struct printer {
	const struct diff_colors *color; /* NULL: none */
	struct gm_buf *buf; /* JSON: collect instead of printing */
};

static int print_line(void *ctx, char origin, const char *text, size_t len)
{
	struct printer *p = ctx;
	const char *c = NULL;

	if (p->buf) {
		if (origin == '+' || origin == '-' || origin == ' ')
			gm_buf_put(p->buf, &origin, 1);
		gm_buf_put(p->buf, text, len);
		gm_buf_put(p->buf, "\n", 1);
		return 0;
	}
	if (p->color) {
		switch (origin) {
		case 'F': c = p->color->meta; break;
		case 'H': c = p->color->frag; break;
		case '+': c = p->color->new; break;
		case '-': c = p->color->old; break;
		default: break;
		}
	}
	if (c)
		fputs(c, stdout);
	if (origin == '+' || origin == '-' || origin == ' ')
		putchar(origin);
	fwrite(text, 1, len, stdout);
	fputs(cli_color_reset(c), stdout);
	putchar('\n');
	return 0;
}

static void print_header(const struct gm_review *r)
{
	char base[GIT_OID_HEXSZ + 1], mon[GIT_OID_HEXSZ + 1];
	size_t changed = 0;

	git_oid_tostr(base, 8, &r->base);
	git_oid_tostr(mon, 8, &r->monitor_commit);
	for (size_t i = 0; i < r->n; i++)
		changed += r->fns[i].changed;
	/* two lines, so that a branch name and the commits fit 80 columns */
	printf("%s: %zu function%s changed\n", r->branch, changed, changed == 1 ? "" : "s");
	printf("since %s, git-monitor commit %s", base, mon);
	if (r->run_id)
		printf(", run %s", r->run_id);
	if (r->ncommits_after)
		printf(", %zu commit%s after it", r->ncommits_after, r->ncommits_after == 1 ? "" : "s");
	printf("\n");
}

static void print_table(const struct gm_review *r, bool color, bool full)
{
	struct cli_table *t = cli_table_new();

	cli_table_col(t, "STATUS", 0, 0);
	cli_table_col(t, "ROUTE", 0, 0);
	cli_table_col(t, "MODEL", CLI_COL_END | CLI_COL_FIRST, 8); /* "qwen2.5-7…", not "qwen…uct" */
	cli_table_col(t, "TRY", CLI_COL_RIGHT, 0);
	cli_table_col(t, "+/-", CLI_COL_RIGHT, 0);
	cli_table_col(t, "FUNCTION", CLI_COL_PATH | CLI_COL_LAST, 16);
	cli_table_col(t, "", CLI_COL_END, 8);
	for (size_t i = 0; i < r->n; i++) {
		const struct gm_review_fn *fn = &r->fns[i];
		struct gm_buf extra = GM_BUF_INIT;
		char *path = cli_path(fn->path), *name = cli_name(fn->name), *model = cli_text(full ? fn->model : cli_model_short(fn->model));
		cli_table_row(t);
		cli_table_cell(t, cli_status_color(color, fn->status), fn->status);
		cli_table_cell(t, NULL, fn->route);
		cli_table_cell(t, NULL, model);
		cli_table_cellf(t, NULL, "%u", fn->attempts);
		if (fn->changed)
			cli_table_cellf(t, NULL, "+%d -%d", fn->added, fn->removed);
		else
			cli_table_cell(t, NULL, "-");
		cli_table_cellf(t, NULL, "%s:%u %s", path, fn_line(fn, false), name);
		free(path);
		free(name);
		free(model);
		if (fn->helper_of >= 0) {
			char *of = cli_name(r->fns[fn->helper_of].name);
			gm_buf_printf(&extra, "(helper of %s) ", of);
			free(of);
		}
		if (fn->changed_after)
			gm_buf_puts(&extra, "[changed after] ");
		/* A dropped function is its base text again: no news in saying it. */
		if (!fn->changed && strcmp(fn->status, "dropped") != 0)
			gm_buf_puts(&extra, "[not changed on the branch] ");
		/* What a split achieved, when it achieved something. */
		if (fn->changed && (fn->nhelpers || fn->cc_before != fn->cc_after))
			gm_buf_printf(&extra, "cc %u -> %u", fn->cc_before, fn->cc_after);
		cli_table_cell(t, NULL, extra.ptr ? extra.ptr : "");
		gm_buf_release(&extra);
		for (size_t k = 0; k < fn->nimports; k++) {
			char *q = cli_text(fn->imports[k]);
			cli_table_note(t, "    + import: %s", q);
			free(q);
		}
		if (fn->rationale && *fn->rationale) {
			char *q = cli_text(fn->rationale);
			cli_table_note(t, "    rationale: %s", q);
			free(q);
		}
		if (fn->reason && *fn->reason && strcmp(fn->status, "applied") != 0) {
			char *q = cli_text(fn->reason);
			cli_table_note(t, "    reason: %s", q);
			free(q);
		}
	}
	cli_table_print(t, stdout, full ? 0 : cli_term_columns());
	cli_table_free(t);
	review_print_unapplied(r, color, full);
}

static void print_diffs(const struct gm_review *r, bool color)
{
	struct diff_colors dc;
	struct printer p = { color ? &dc : NULL, NULL };
	const char *st;

	diff_colors(&dc, color);
	for (size_t i = 0; i < r->n; i++) {
		const struct gm_review_fn *fn = &r->fns[i];
		if (!fn->changed)
			continue;
		{
			char *path = cli_path(fn->path), *name = cli_name(fn->name), *model = cli_text(fn->model);
			printf("%sfunction %s:%u %s%s", dc.commit, path, fn_line(fn, false), name,
			       cli_color_reset(dc.commit));
			st = cli_status_color(color, fn->status);
			printf(" (%s%s%s, %s:%s, %u attempt%s%s)\n", st, fn->status, cli_color_reset(st),
			       fn->route, model, fn->attempts, fn->attempts == 1 ? "" : "s",
			       fn->changed_after ? ", changed after" : "");
			free(path);
			free(name);
			free(model);
		}
		if (fn->rationale && *fn->rationale) {
			char *q = cli_text(fn->rationale);
			printf("rationale: %s\n", q);
			free(q);
		}
		if (gm_review_diff(fn, 3, print_line, &p) < 0)
			fprintf(stderr, "warning: %s\n", gm_error_last());
		putchar('\n');
	}
}

/* Valid UTF-8 whatever the bytes (monitor/quote.h): text lossily, names reversibly. */
static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
	char *q = gm_quote_lossy(v);
	if (q)
		cJSON_AddStringToObject(o, key, q);
	else
		cJSON_AddNullToObject(o, key);
	free(q);
}

static void add_name(cJSON *o, const char *key, const char *v)
{
	char *q = gm_quote_name(v ? v : "");
	cJSON_AddStringToObject(o, key, q);
	free(q);
}

static void print_json(const struct gm_review *r, bool with_diff, const struct cli_list *dropped)
{
	cJSON *root = cJSON_CreateObject(), *fns;
	char hex[GIT_OID_HEXSZ + 1];
	char *text;

	add_name(root, "branch", r->branch);
	cJSON_AddStringToObject(root, "tip", git_oid_tostr(hex, sizeof(hex), &r->tip));
	cJSON_AddStringToObject(root, "base", git_oid_tostr(hex, sizeof(hex), &r->base));
	cJSON_AddStringToObject(root, "commit", git_oid_tostr(hex, sizeof(hex), &r->monitor_commit));
	add_str_or_null(root, "run", r->run_id);
	cJSON_AddStringToObject(root, "source", r->has_note ? "note" : "diff");
	cJSON_AddNumberToObject(root, "commits_after", (double)r->ncommits_after);
	if (dropped) {
		cJSON *d = cJSON_AddArrayToObject(root, "dropped");
		for (size_t i = 0; i < dropped->n; i++) {
			char *q = gm_quote_lossy(dropped->items[i]); /* as typed */
			cJSON_AddItemToArray(d, cJSON_CreateString(q));
			free(q);
		}
	}
	fns = cJSON_AddArrayToObject(root, "functions");
	for (size_t i = 0; i < r->n; i++) {
		const struct gm_review_fn *fn = &r->fns[i];
		cJSON *o = cJSON_CreateObject();
		add_name(o, "path", fn->path);
		add_name(o, "name", fn->name);
		add_str_or_null(o, "route", fn->route);
		add_str_or_null(o, "model", fn->model);
		cJSON_AddStringToObject(o, "status", fn->status);
		add_str_or_null(o, "reason", fn->reason);
		add_str_or_null(o, "rationale", fn->rationale);
		cJSON_AddNumberToObject(o, "attempts", fn->attempts);
		cJSON_AddBoolToObject(o, "changed", fn->changed);
		cJSON_AddBoolToObject(o, "changed_after", fn->changed_after);
		cJSON_AddBoolToObject(o, "in_base", fn->in_base);
		cJSON_AddBoolToObject(o, "in_tip", fn->in_tip);
		cJSON_AddNumberToObject(o, "start_line", fn_line(fn, false));
		cJSON_AddNumberToObject(o, "end_line", fn_line(fn, true));
		cJSON_AddNumberToObject(o, "lines_added", fn->added);
		cJSON_AddNumberToObject(o, "lines_removed", fn->removed);
		add_str_or_null(o, "helper_of", fn->helper_of >= 0 ? r->fns[fn->helper_of].name : NULL);
		{
			cJSON *h = cJSON_AddArrayToObject(o, "helpers"), *im = cJSON_AddArrayToObject(o, "imports");
			for (size_t k = 0; k < fn->nhelpers; k++)
				cJSON_AddItemToArray(h, cJSON_CreateString(fn->helpers[k]));
			for (size_t k = 0; k < fn->nimports; k++)
				cJSON_AddItemToArray(im, cJSON_CreateString(fn->imports[k]));
			if (fn->cc_before) {
				cJSON *cc = cJSON_AddObjectToObject(o, "complexity");
				cJSON_AddNumberToObject(cc, "before", fn->cc_before);
				cJSON_AddNumberToObject(cc, "after", fn->cc_after);
			}
		}
		if (with_diff) {
			struct gm_buf b = GM_BUF_INIT;
			struct printer p = { NULL, &b };
			if (fn->changed)
				gm_review_diff(fn, 3, print_line, &p);
			add_str_or_null(o, "diff", b.ptr ? b.ptr : "");
			gm_buf_release(&b);
		}
		cJSON_AddItemToArray(fns, o);
	}
	review_json_unapplied(root, r);
	text = cJSON_Print(root);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(root);
}

/* What to do next with the branch (advice.monitorNextSteps). */
static void next_steps(const struct gm_review *r)
{
	size_t applied = 0;
	for (size_t i = 0; i < r->n; i++)
		applied += r->fns[i].changed;
	if (!applied)
		return;
	cli_advise("monitorNextSteps",
	           "Keep or drop each function, in the terminal or in a browser, drop some,\n"
	           "or take the branch:\n"
	           "  git monitor review -i %s\n"
	           "  git monitor review --web %s\n"
	           "  git monitor review %s --drop <path>:<function>\n"
	           "  git merge %s\n"
	           "('git monitor clean --merged' deletes it once it is merged.)",
	           r->branch, r->branch, r->branch, r->branch);
}

/* How many functions the specs name together (a glob may name several). */
static size_t count_matches(const struct gm_review *r, const struct cli_list *specs)
{
	bool *hit = gm_xcalloc(r->n + 1, sizeof(bool));
	size_t n = 0;
	for (size_t i = 0; i < specs->n; i++) {
		size_t *m = NULL, k = gm_review_match(&m, r, specs->items[i]);
		for (size_t j = 0; j < k; j++)
			if (!hit[m[j]]) {
				hit[m[j]] = true;
				n++;
			}
		free(m);
	}
	free(hit);
	return n;
}

int cmd_review(int argc, char **argv)
{
	bool diff = false, json = false, no_color = false, undo = false;
	bool interactive = false, web = false, no_open = false;
	const char *show = NULL, *html = NULL, *idle = NULL;
	int verbose = 0;
	struct cli_list drops = { 0 }, rest = { 0 }, globs = { 0 };
	const struct cli_opt opts[] = {
		{ 0, "diff", CLI_OPT_FLAG, &diff, NULL, "show each function's diff, in file order" },
		{ 0, "json", CLI_OPT_FLAG, &json, NULL, "print the review as JSON" },
		{ 0, "drop", CLI_OPT_MULTI, &drops, "PATH:FUNCTION",
		  "add a commit restoring this function to its base text (repeatable)" },
		{ 0, "undo-drop", CLI_OPT_FLAG, &undo, NULL, "add a commit giving back what the last drop took" },
		{ 'i', "interactive", CLI_OPT_FLAG, &interactive, NULL,
		  "keep or drop each function in the terminal; one commit at the end" },
		{ 'f', "function", CLI_OPT_MULTI, &globs, "GLOB", "with -i: only functions matching (repeatable)" },
		{ 0, "show", CLI_OPT_VALUE, &show, "PATH:FUNCTION", "print the rejected answer of a task" },
		{ 0, "web", CLI_OPT_FLAG, &web, NULL, "serve the review page on 127.0.0.1 (Ctrl-C stops it)" },
		{ 0, "html", CLI_OPT_VALUE, &html, "FILE", "write the review page as one static file" },
		{ 0, "no-open", CLI_OPT_FLAG, &no_open, NULL, "with --web: do not open a browser" },
		{ 0, "idle-timeout", CLI_OPT_VALUE, &idle, "SECONDS",
		  "with --web: stop after this long without a request (default 1800, 0: never)" },
		{ 0, "no-color", CLI_OPT_FLAG, &no_color, NULL, "no colours, even on a terminal" },
		{ 'v', "verbose", CLI_OPT_COUNT, &verbose, NULL, "full names, however wide the terminal" },
		{ 0, NULL, 0, NULL, NULL, NULL },
	};
	struct cli_list pathspecs = { 0 };
	int idle_timeout = 1800, modes;
	git_repository *repo = NULL;
	struct gm_config *cfg = NULL;
	struct gm_review *r = NULL;
	char *branch = NULL;
	int exit_code = CLI_OK, rc;

	if (cli_parse(argc, argv, opts, &rest, usage_text, &exit_code) < 0)
		goto cleanup;
	modes = interactive + web + (html != NULL) + (show != NULL) + (drops.n || undo);
	if (modes > 1) {
		exit_code = cli_fail(CLI_USAGE, "-i, --web, --html, --show and --drop/--undo-drop are "
		                                "ways of their own; use one at a time");
		goto cleanup;
	}
	if (globs.n && !interactive) {
		exit_code = cli_fail(CLI_USAGE, "-f/--function goes with -i");
		goto cleanup;
	}
	if (idle && cli_parse_int(&idle_timeout, "--idle-timeout", idle, 0, 86400 * 7) < 0) {
		exit_code = CLI_USAGE;
		goto cleanup;
	}
	if (rest.n > 1 && !interactive) {
		exit_code = cli_fail(CLI_USAGE, "expected at most one branch; see 'git monitor review -h'");
		goto cleanup;
	}
	/* Before any work: -i on a pipe says at once what to use instead. */
	if (interactive && (exit_code = review_interactive_check_tty()) != CLI_OK)
		goto cleanup;
	for (size_t i = 0; i < drops.n; i++)
		if (!strchr(drops.items[i], ':')) {
			exit_code = cli_fail(CLI_USAGE, "--drop '%s': expected <path>:<function>", drops.items[i]);
			goto cleanup;
		}
	if ((rc = gm_repo_open(&repo, NULL)) < 0 || (rc = gm_config_load(&cfg, repo)) < 0) {
		exit_code = cli_error(rc);
		goto cleanup;
	}
	cli_quote_setup(repo);
	/* -i [<branch>] [<pathspec>...]: the first argument is the branch when one has that name. */
	for (size_t i = 0; i < rest.n; i++) {
		git_reference *ref = NULL;
		char *name = strncmp(rest.items[i], "refs/heads/", 11) == 0
		                     ? gm_xstrdup(rest.items[i])
		                     : gm_xasprintf("refs/heads/%s", rest.items[i]);
		bool is_branch = i == 0 && (!interactive || git_reference_lookup(&ref, repo, name) == 0);
		git_reference_free(ref);
		git_error_clear();
		free(name);
		if (is_branch) {
			branch = gm_xstrdup(rest.items[i]);
			continue;
		}
		GM_GROW(pathspecs.items, pathspecs.cap, pathspecs.n + 1);
		pathspecs.items[pathspecs.n++] = rest.items[i];
	}
	if (!branch && (rc = gm_review_default_branch(&branch, repo,
	                                              gm_config_string(cfg, "monitor.branchPrefix",
	                                                               gm_config_default("monitor.branchPrefix")))) < 0) {
		exit_code = cli_error(rc);
		goto cleanup;
	}
	if ((rc = gm_review_load(&r, repo, branch)) < 0) {
		exit_code = cli_error(rc);
		goto cleanup;
	}
	if (undo && drops.n) {
		exit_code = cli_fail(CLI_USAGE, "--undo-drop and --drop cannot be used together");
		goto cleanup;
	}
	if (show) {
		exit_code = review_show(r, show);
		goto cleanup;
	}
	if (no_color)
		cli_color_set_flag(CLI_COLOR_NEVER);
	/* -i asks at the terminal and --web serves: neither pages. */
	if (interactive) {
		struct review_interactive_opts io = { pathspecs.items, pathspecs.n, globs.items, globs.n,
			                              cli_want_color("color.diff") };
		exit_code = review_interactive(repo, r, &io);
		goto cleanup;
	}
	if (web || html) {
		struct review_web_opts wo = { !no_open, (unsigned)idle_timeout, html };
		exit_code = review_web(repo, &r, branch, &wo);
		goto cleanup;
	}
	if (undo) {
		git_oid tip;
		char hex[GIT_OID_HEXSZ + 1];
		if ((rc = gm_review_undo_drop(&tip, repo, r)) < 0) {
			exit_code = cli_error(rc);
			goto cleanup;
		}
		fprintf(stderr, "undid the last drop on '%s' (now %s)\n", r->branch,
		        git_oid_tostr(hex, 13, &tip));
		gm_review_free(r);
		r = NULL;
		if ((rc = gm_review_load(&r, repo, branch)) < 0) {
			exit_code = cli_error(rc);
			goto cleanup;
		}
	}
	if (drops.n) {
		git_oid tip;
		char hex[GIT_OID_HEXSZ + 1];
		size_t ndropped;
		if ((rc = gm_review_drop(&tip, repo, r, drops.items, drops.n)) < 0) {
			exit_code = cli_error(rc);
			goto cleanup;
		}
		if (!r->has_note)
			fprintf(stderr, "warning: '%s' has no note under %s; nothing to update there\n", r->branch,
			        GM_NOTES_REF);
		ndropped = count_matches(r, &drops);
		fprintf(stderr, "dropped %zu function%s from '%s' (now %s)\n", ndropped, ndropped == 1 ? "" : "s",
		        r->branch, git_oid_tostr(hex, 13, &tip));
		gm_review_free(r);
		r = NULL;
		if ((rc = gm_review_load(&r, repo, branch)) < 0) {
			exit_code = cli_error(rc);
			goto cleanup;
		}
	}
	if (!r->has_note)
		fprintf(stderr,
		        "warning: no note under %s for '%s' (fetch it with 'git fetch <remote> %s:%s'); "
		        "functions found from the diff\n",
		        GM_NOTES_REF, r->branch, GM_NOTES_REF, GM_NOTES_REF);
	cli_term_columns(); /* the terminal's, before a pager takes stdout */
	cli_pager_setup("review", true);
	if (json) {
		print_json(r, diff, drops.n ? &drops : NULL);
	} else {
		print_header(r);
		if (diff)
			print_diffs(r, cli_want_color("color.diff"));
		else
			print_table(r, cli_want_color(NULL), verbose > 0);
	}
	fflush(stdout);
	if (!json)
		next_steps(r);
cleanup:
	gm_review_free(r);
	free(branch);
	gm_config_free(cfg);
	git_repository_free(repo);
	cli_list_release(&drops);
	cli_list_release(&rest);
	cli_list_release(&globs);
	cli_list_release(&pathspecs);
	return exit_code;
}
