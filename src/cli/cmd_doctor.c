/*
 * git monitor doctor [--json] [-v]
 *
 * One line per check on stdout, `<status> <check> <detail>`, the status
 * being ok, warn, fail or skip, with a `hint:` line under a check that has
 * a fix to suggest.  Checks: repository, grammars, config, lmstudio (one per
 * configured URL), model, claude.  -v adds every monitor.* setting with its
 * effective value and where it came from; secrets only as set/unset.
 *
 * Exit 0 when a local-only run can work (repository readable, grammars
 * compiled, settings parse, an LM Studio server answered, a model usable),
 * else 1.  The Claude check does not change the exit code (a run works
 * without Claude).  Outside a repository every other check still runs; the
 * repository check fails and the exit code is 1.
 *
 * -v also lists each configured local server: its kind, model, context
 * length, slots and GET /models latency, each with where it came from.
 *
 * --json: an array of {"check", "status", "detail", "hint" (string|null)};
 * with -v an object {"checks": [that array], "settings": [{"key", "value",
 * "origin", "secret", "known"}], "servers": [{"url", "answered", "kind",
 * "kind_from", "model", "model_from", "context", "context_from", "slots",
 * "slots_from", "latency_ms", "key_env", "key_missing"}]} (unknown: null).
 */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "term.h"
#include "monitor/doctor.h"
#include "monitor/util.h"
#include "monitor/banned.h"

static const char usage_text[] =
	"usage: git monitor doctor [--json] [-v]\n"
	"\n"
	"Check what git-monitor needs: the repository, the grammars, the LM Studio\n"
	"server (under WSL2 also the Windows host), a loaded model and its context\n"
	"length, and the Claude key (ANTHROPIC_API_KEY) if set. Exits 0 when a\n"
	"local-only run can work, 1 otherwise.";

static cJSON *checks_json(const struct gm_doctor_report *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < r->nchecks; i++) {
		const struct gm_doctor_check *c = &r->checks[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "check", c->check);
		cJSON_AddStringToObject(o, "status", gm_doctor_status_name(c->status));
		cJSON_AddStringToObject(o, "detail", c->detail);
		if (c->hint)
			cJSON_AddStringToObject(o, "hint", c->hint);
		else
			cJSON_AddNullToObject(o, "hint");
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *settings_json(const struct gm_doctor_report *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < r->nsettings; i++) {
		const struct gm_doctor_setting *s = &r->settings[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "key", s->key);
		cJSON_AddStringToObject(o, "value", s->value);
		cJSON_AddStringToObject(o, "origin", s->origin);
		cJSON_AddBoolToObject(o, "secret", s->secret);
		cJSON_AddBoolToObject(o, "known", s->known);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static cJSON *servers_json(const struct gm_doctor_report *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < r->nservers; i++) {
		const struct gm_doctor_server *d = &r->servers[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "url", d->url);
		cJSON_AddBoolToObject(o, "answered", d->answered);
		add_str(o, "kind", d->kind);
		add_str(o, "kind_from", d->kind_from);
		add_str(o, "model", d->model);
		add_str(o, "model_from", d->model_from);
		if (d->context > 0)
			cJSON_AddNumberToObject(o, "context", (double)d->context);
		else
			cJSON_AddNullToObject(o, "context");
		add_str(o, "context_from", d->context_from);
		if (d->answered)
			cJSON_AddNumberToObject(o, "slots", (double)d->slots);
		else
			cJSON_AddNullToObject(o, "slots");
		add_str(o, "slots_from", d->slots_from);
		cJSON_AddNumberToObject(o, "latency_ms", (double)d->latency_ms);
		add_str(o, "key_env", d->key_env);
		cJSON_AddBoolToObject(o, "key_missing", d->key_missing);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static void print_json(const struct gm_doctor_report *r, bool verbose)
{
	cJSON *root;
	char *text;

	if (verbose) {
		root = cJSON_CreateObject();
		cJSON_AddItemToObject(root, "checks", checks_json(r));
		cJSON_AddItemToObject(root, "settings", settings_json(r));
		cJSON_AddItemToObject(root, "servers", servers_json(r));
	} else {
		root = checks_json(r);
	}
	text = cJSON_Print(root);
	if (!text)
		abort();
	fputs(text, stdout);
	fputc('\n', stdout);
	free(text);
	cJSON_Delete(root);
}

/* While a check runs, on a terminal: what it is asking, on stderr, erased when its row comes. */
static bool asking_shown;

static void erase_asking(void)
{
	if (asking_shown)
		fputs("\r\033[K", stderr);
	asking_shown = false;
}

static void on_begin(void *ctx, const char *check, const char *what)
{
	char *line, *cut;
	(void)ctx;
	if (!cli_stderr_is_tty())
		return;
	line = gm_xasprintf("      %-10s checking %s ...", check, what);
	cut = cli_truncate_end(line, cli_term_columns_stderr() - 1);
	erase_asking();
	fprintf(stderr, "%s", cut);
	fflush(stderr);
	asking_shown = true;
	free(cut);
	free(line);
}

static void print_check(const struct gm_doctor_check *c, bool color)
{
	const char *st = gm_doctor_status_name(c->status);
	const char *col = c->status == GM_DOCTOR_OK     ? cli_color(color, "color.monitor.ok", "green")
	                  : c->status == GM_DOCTOR_WARN ? cli_color(color, "color.monitor.warn", "yellow")
	                  : c->status == GM_DOCTOR_FAIL ? cli_color(color, "color.monitor.fail", "red")
	                                                : "";
	/* on a terminal, long details go on under their column instead of wrapping at any character */
	int width = cli_stdout_is_tty() ? cli_term_columns() - 1 : 0;

	erase_asking();
	printf("%s%-5s%s %-10s ", col, st, cli_color_reset(col), c->check);
	if (width > 40)
		cli_put_wrapped(stdout, c->detail, 17, width);
	else
		printf("%s\n", c->detail);
	if (c->hint) {
		printf("%-16s hint: ", "");
		if (width > 40)
			cli_put_wrapped(stdout, c->hint, 23, width);
		else
			printf("%s\n", c->hint);
	}
	fflush(stdout);
}

static void on_check(void *ctx, const struct gm_doctor_check *c)
{
	print_check(c, *(bool *)ctx);
}

static void print_text(const struct gm_doctor_report *r, bool verbose)
{
	if (!verbose)
		return;
	printf("\nsettings (effective value, from where):\n");
	for (size_t i = 0; i < r->nsettings; i++) {
		const struct gm_doctor_setting *s = &r->settings[i];
		printf("  %-27s %s  [%s%s]\n", s->key, s->value, s->origin,
		       s->known ? "" : "; unknown key, not used by git-monitor");
	}
	printf("\nservers (what each is and said, from where):\n");
	for (size_t i = 0; i < r->nservers; i++) {
		const struct gm_doctor_server *d = &r->servers[i];
		printf("  %s\n", d->url);
		printf("    %-8s %s  [%s]\n", "kind", d->kind, d->kind_from);
		if (!d->answered) {
			printf("    %-8s %s\n", "answer", "none: it did not answer with a model list");
			continue;
		}
		if (d->model)
			printf("    %-8s %s  [%s]\n", "model", d->model, d->model_from);
		if (d->context > 0)
			printf("    %-8s %lld tokens  [%s]\n", "context", d->context, d->context_from);
		else
			printf("    %-8s unknown  [%s]\n", "context",
			       d->context_from ? d->context_from : "the server does not say");
		printf("    %-8s %zu  [%s]\n", "slots", d->slots, d->slots_from ? d->slots_from : "");
		printf("    %-8s %llu ms  [GET /models round trip]\n", "latency", d->latency_ms);
		if (d->key_env)
			printf("    %-8s from %s%s\n", "key", d->key_env,
			       d->key_missing ? " (not set: no key sent)" : "");
	}
}

int cmd_doctor(int argc, char **argv)
{
	bool json = false;
	int verbose = 0, exit_code = CLI_OK, rc;
	struct cli_list rest = { 0 };
	const struct cli_opt opts[] = {
		{ 0, "json", CLI_OPT_FLAG, &json, NULL, "print the checks as JSON for scripts" },
		{ 'v', "verbose", CLI_OPT_COUNT, &verbose, NULL,
		  "also list every monitor.* setting, its value and where it came from" },
		{ 0, NULL, 0, NULL, NULL, NULL },
	};
	struct gm_doctor_report report;
	struct gm_doctor_options o = { 0 };
	bool color;

	if (cli_parse(argc, argv, opts, &rest, usage_text, &exit_code) < 0)
		goto cleanup;
	if (rest.n) {
		exit_code = cli_fail(CLI_USAGE, "doctor takes no arguments; see 'git monitor doctor -h'");
		goto cleanup;
	}
	/* text: each check's row as soon as it is known (probes take seconds) */
	color = cli_want_color(NULL);
	if (!json) {
		o.on_begin = on_begin;
		o.on_check = on_check;
		o.ctx = &color;
	}
	rc = gm_doctor_run(&report, &o);
	erase_asking();
	if (rc < 0) {
		exit_code = cli_error(rc);
		gm_doctor_report_release(&report);
		goto cleanup;
	}
	if (json)
		print_json(&report, verbose > 0);
	else
		print_text(&report, verbose > 0);
	exit_code = report.local_ok ? CLI_OK : CLI_FAILED;
	gm_doctor_report_release(&report);
cleanup:
	cli_list_release(&rest);
	return exit_code;
}
