/*
 * git monitor review [<branch>] [--diff] [--json] [--drop <path>:<function>]...
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
#include "monitor/config.h"
#include "monitor/error.h"
#include "monitor/notes.h"
#include "monitor/repo.h"
#include "monitor/review.h"
#include "monitor/quote.h"
#include "monitor/util.h"
#include "monitor/banned.h"

static const char usage_text[] =
	"usage: git monitor review [<branch>] [--diff] [--json] [--drop <path>:<function>]... [--undo-drop]\n"
	"\n"
	"Show a branch written by 'git monitor refactor' (default: the newest one)\n"
	"function by function: route, model, attempts, status, lines changed and the\n"
	"plan's rationale. --drop adds one commit to that branch restoring the named\n"
	"functions (globs: 'src/*.py:Parser.*') to their base text, with the helpers\n"
	"and imports they brought; --undo-drop gives back what the last drop took.";

#define C_RESET "\033[m"
#define C_BOLD "\033[1m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"

static uint32_t fn_line(const struct gm_review_fn *fn, bool end)
{
	if (fn->in_tip && fn->tip_start_line)
		return end ? fn->tip_end_line : fn->tip_start_line;
	return end ? fn->base_end_line : fn->base_start_line;
}

/* color.diff, else color.ui: false/never off, always on, anything else: a terminal. */
static bool use_color(git_repository *repo, bool no_color)
{
	git_config *cfg = NULL;
	const char *v = NULL;
	bool tty = isatty(STDOUT_FILENO), on = tty;

	if (no_color)
		return false;
	if (git_repository_config_snapshot(&cfg, repo) == 0) {
		if (git_config_get_string(&v, cfg, "color.diff") < 0 &&
		    git_config_get_string(&v, cfg, "color.ui") < 0)
			v = NULL;
		if (v && (strcmp(v, "false") == 0 || strcmp(v, "never") == 0 || strcmp(v, "no") == 0 ||
		          strcmp(v, "off") == 0 || strcmp(v, "0") == 0))
			on = false;
		else if (v && strcmp(v, "always") == 0)
			on = true;
	}
	git_error_clear();
	git_config_free(cfg);
	return on;
}

struct printer {
	bool color;
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
	switch (origin) {
	case 'F': c = C_BOLD; break;
	case 'H': c = C_CYAN; break;
	case '+': c = C_GREEN; break;
	case '-': c = C_RED; break;
	default: break;
	}
	if (p->color && c)
		fputs(c, stdout);
	if (origin == '+' || origin == '-' || origin == ' ')
		putchar(origin);
	fwrite(text, 1, len, stdout);
	if (p->color && c)
		fputs(C_RESET, stdout);
	putchar('\n');
	return 0;
}

static void print_header(const struct gm_review *r)
{
	char base[GIT_OID_HEXSZ + 1], mon[GIT_OID_HEXSZ + 1];
	size_t changed = 0;

	git_oid_tostr(base, 13, &r->base);
	git_oid_tostr(mon, 13, &r->monitor_commit);
	for (size_t i = 0; i < r->n; i++)
		changed += r->fns[i].changed;
	printf("%s: %zu function%s changed since %s (git-monitor commit %s", r->branch, changed,
	       changed == 1 ? "" : "s", base, mon);
	if (r->run_id)
		printf(", run %s", r->run_id);
	if (r->ncommits_after)
		printf(", %zu commit%s after it", r->ncommits_after, r->ncommits_after == 1 ? "" : "s");
	printf(")\n");
}

static void print_table(const struct gm_review *r)
{
	int wmodel = 5, wroute = 5, wstatus = 6;
	for (size_t i = 0; i < r->n; i++) {
		int l = (int)strlen(r->fns[i].model);
		if (l > wmodel)
			wmodel = l < 32 ? l : 32;
		l = (int)strlen(r->fns[i].route);
		if (l > wroute)
			wroute = l < 12 ? l : 12;
		l = (int)strlen(r->fns[i].status);
		if (l > wstatus)
			wstatus = l < 12 ? l : 12;
	}
	printf("%-*s  %-*s  %-*s  %3s  %9s  %s\n", wstatus, "STATUS", wroute, "ROUTE", wmodel, "MODEL",
	       "TRY", "+/-", "FUNCTION");
	for (size_t i = 0; i < r->n; i++) {
		const struct gm_review_fn *fn = &r->fns[i];
		char *lines = fn->changed ? gm_xasprintf("+%d -%d", fn->added, fn->removed) : gm_xstrdup("-");
		char *path = cli_path(fn->path), *name = cli_name(fn->name), *model = cli_text(fn->model);
		printf("%-*s  %-*s  %-*s  %3u  %9s  %s:%u %s", wstatus, fn->status, wroute, fn->route, wmodel,
		       model, fn->attempts, lines, path, fn_line(fn, false), name);
		free(path);
		free(name);
		free(model);
		if (fn->helper_of >= 0) {
			char *of = cli_name(r->fns[fn->helper_of].name);
			printf("  (helper of %s)", of);
			free(of);
		}
		if (fn->changed_after)
			printf("  [changed after]");
		if (!fn->changed)
			printf("  [not changed on the branch]");
		/* What a split achieved, when it achieved something. */
		if (fn->changed && (fn->nhelpers || fn->cc_before != fn->cc_after))
			printf("  cc %u -> %u", fn->cc_before, fn->cc_after);
		putchar('\n');
		for (size_t k = 0; k < fn->nimports; k++) {
			char *t = cli_text(fn->imports[k]);
			printf("    + import: %s\n", t);
			free(t);
		}
		if (fn->rationale && *fn->rationale) {
			char *t = cli_text(fn->rationale);
			printf("    rationale: %s\n", t);
			free(t);
		}
		if (fn->reason && *fn->reason && strcmp(fn->status, "applied") != 0) {
			char *t = cli_text(fn->reason);
			printf("    reason: %s\n", t);
			free(t);
		}
		free(lines);
	}
}

static void print_diffs(const struct gm_review *r, bool color)
{
	struct printer p = { color, NULL };
	for (size_t i = 0; i < r->n; i++) {
		const struct gm_review_fn *fn = &r->fns[i];
		if (!fn->changed)
			continue;
		if (color)
			fputs(C_YELLOW, stdout);
		{
			char *path = cli_path(fn->path), *name = cli_name(fn->name), *model = cli_text(fn->model);
			printf("function %s:%u %s", path, fn_line(fn, false), name);
			if (color)
				fputs(C_RESET, stdout);
			printf(" (%s, %s:%s, %u attempt%s%s)\n", fn->status, fn->route, model, fn->attempts,
			       fn->attempts == 1 ? "" : "s", fn->changed_after ? ", changed after" : "");
			free(path);
			free(name);
			free(model);
		}
		if (fn->rationale && *fn->rationale) {
			char *t = cli_text(fn->rationale);
			printf("rationale: %s\n", t);
			free(t);
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
			struct printer p = { false, &b };
			if (fn->changed)
				gm_review_diff(fn, 3, print_line, &p);
			add_str_or_null(o, "diff", b.ptr ? b.ptr : "");
			gm_buf_release(&b);
		}
		cJSON_AddItemToArray(fns, o);
	}
	text = cJSON_Print(root);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(root);
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
	struct cli_list drops = { 0 }, rest = { 0 };
	const struct cli_opt opts[] = {
		{ 0, "diff", CLI_OPT_FLAG, &diff, NULL, "show each function's diff, in file order" },
		{ 0, "json", CLI_OPT_FLAG, &json, NULL, "print the review as JSON" },
		{ 0, "drop", CLI_OPT_MULTI, &drops, "PATH:FUNCTION",
		  "add a commit restoring this function to its base text (repeatable)" },
		{ 0, "undo-drop", CLI_OPT_FLAG, &undo, NULL, "add a commit giving back what the last drop took" },
		{ 0, "no-color", CLI_OPT_FLAG, &no_color, NULL, "no colours, even on a terminal" },
		{ 0, NULL, 0, NULL, NULL, NULL },
	};
	git_repository *repo = NULL;
	struct gm_config *cfg = NULL;
	struct gm_review *r = NULL;
	char *branch = NULL;
	int exit_code = CLI_OK, rc;

	if (cli_parse(argc, argv, opts, &rest, usage_text, &exit_code) < 0)
		goto cleanup;
	if (rest.n > 1) {
		exit_code = cli_fail(CLI_USAGE, "expected at most one branch; see 'git monitor review -h'");
		goto cleanup;
	}
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
	if (rest.n)
		branch = gm_xstrdup(rest.items[0]);
	else if ((rc = gm_review_default_branch(&branch, repo,
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
	if (json) {
		print_json(r, diff, drops.n ? &drops : NULL);
	} else {
		print_header(r);
		if (diff)
			print_diffs(r, use_color(repo, no_color));
		else
			print_table(r);
	}
	fflush(stdout);
cleanup:
	gm_review_free(r);
	free(branch);
	gm_config_free(cfg);
	git_repository_free(repo);
	cli_list_release(&drops);
	cli_list_release(&rest);
	return exit_code;
}
