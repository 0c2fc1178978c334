/*
 * review_list.c: what a run tried and did not apply (rejected, failed,
 * skipped), in the table and in --json, and `review --show path:Name`,
 * which prints a rejected answer so that it can be salvaged.
 */
#include "review_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "term.h"
#include "monitor/error.h"
#include "monitor/quote.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define QUOTE_SLOTS 8

/* The quoted forms live in a ring of a few slots, so that a printf may hold several. */
static const char *keep(char *q)
{
	static char *ring[QUOTE_SLOTS];
	static unsigned next;
	char **slot = &ring[next++ % QUOTE_SLOTS];
	free(*slot);
	*slot = q;
	return q;
}

const char *review_tq(const char *s)
{
	return keep(cli_name(s ? s : ""));
}

const char *review_tqp(const char *s)
{
	return keep(cli_path(s ? s : ""));
}

const char *review_tqt(const char *s)
{
	return keep(cli_text(s ? s : ""));
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* The first line of `s`, for a table cell. */
static char *first_line(const char *s)
{
	return gm_xstrndup(s, strcspn(s, "\r\n"));
}

void review_print_unapplied(const struct gm_review *r, bool color, bool full)
{
	size_t counts[3] = { 0 };
	struct cli_table *tb;

	if (!r->nunapplied)
		return;
	for (size_t i = 0; i < r->nunapplied; i++) {
		const struct gm_run_task *t = r->unapplied[i];
		counts[t->status == GM_TASK_REJECTED ? 0 : t->status == GM_TASK_FAILED ? 1 : 2]++;
	}
	printf("\nnot applied:");
	for (int k = 0, first = 1; k < 3; k++)
		if (counts[k]) {
			printf("%s %zu %s", first ? "" : ",", counts[k],
			       k == 0 ? "rejected" : k == 1 ? "failed" : "skipped");
			first = 0;
		}
	putchar('\n');
	/* The same columns as the table above, cut to the terminal as it is (term.h). */
	tb = cli_table_new();
	cli_table_col(tb, "STATUS", 0, 0);
	cli_table_col(tb, "ROUTE", 0, 0);
	cli_table_col(tb, "MODEL", CLI_COL_MIDDLE | CLI_COL_FIRST, 8);
	cli_table_col(tb, "TRY", CLI_COL_RIGHT, 0);
	cli_table_col(tb, "FUNCTION", CLI_COL_PATH | CLI_COL_LAST, 16);
	for (size_t i = 0; i < r->nunapplied; i++) {
		const struct gm_run_task *t = r->unapplied[i];
		const char *st = gm_task_status_name(t->status);
		bool analysis = t->kind && strcmp(t->kind, "rewrite") != 0;
		cli_table_row(tb);
		cli_table_cell(tb, cli_status_color(color, st), st);
		cli_table_cell(tb, NULL, or_dash(t->route));
		cli_table_cell(tb, NULL, review_tqt(or_dash(t->model)));
		cli_table_cellf(tb, NULL, "%u", t->attempts);
		cli_table_cellf(tb, NULL, "%s:%u %s%s", review_tqp(t->path), t->start_line,
		                review_tq(t->name), analysis ? " (analysis)" : "");
		if (t->reason && *t->reason) {
			char *line = first_line(t->reason);
			cli_table_note(tb, "    reason: %s", review_tqt(line));
			free(line);
		}
		if (t->answer) {
			char *spec = gm_xasprintf("%s:%s", t->path, t->name);
			cli_table_note(tb, "    answer: git monitor review --show '%s'", review_tq(spec));
			free(spec);
		}
	}
	cli_table_print(tb, stdout, full ? 0 : cli_term_columns());
	cli_table_free(tb);
}

/* Valid UTF-8 whatever the bytes (monitor/quote.h): names reversibly, text lossily. */
static void add_name(cJSON *o, const char *key, const char *v)
{
	char *q = gm_quote_name(v ? v : "");
	cJSON_AddStringToObject(o, key, q);
	free(q);
}

static void add_text(cJSON *o, const char *key, const char *v)
{
	char *q;
	if (!v) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	q = gm_quote_lossy(v);
	cJSON_AddStringToObject(o, key, q);
	free(q);
}

void review_json_unapplied(cJSON *root, const struct gm_review *r)
{
	cJSON *a = cJSON_AddArrayToObject(root, "not_applied");
	for (size_t i = 0; i < r->nunapplied; i++) {
		const struct gm_run_task *t = r->unapplied[i];
		cJSON *o = cJSON_CreateObject();
		add_name(o, "path", t->path);
		add_name(o, "name", t->name);
		add_text(o, "kind", t->kind ? t->kind : "rewrite");
		add_text(o, "status", gm_task_status_name(t->status));
		add_text(o, "reason", t->reason);
		add_text(o, "route", or_dash(t->route));
		add_text(o, "model", or_dash(t->model));
		cJSON_AddNumberToObject(o, "attempts", t->attempts);
		cJSON_AddNumberToObject(o, "start_line", t->start_line);
		add_text(o, "answer", t->answer);
		cJSON_AddBoolToObject(o, "answer_truncated", t->answer_truncated);
		cJSON_AddItemToArray(a, o);
	}
}

/*
 * The answer on stdout: its bytes as kept, so that `> file` saves it; on a
 * terminal its control characters (but tabs and newlines) escaped, so no
 * escape sequence a model wrote reaches the terminal.
 */
static void put_answer(const char *s)
{
	size_t len = strlen(s);
	if (!isatty(STDOUT_FILENO)) {
		fwrite(s, 1, len, stdout);
	} else {
		for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
			if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
				printf("\\%03o", *p);
			else
				putchar(*p);
		}
	}
	if (len && s[len - 1] != '\n')
		putchar('\n');
}

int review_show(const struct gm_review *r, const char *spec)
{
	const struct gm_run_task *t;

	if (!strchr(spec, ':'))
		return cli_fail(CLI_USAGE, "--show '%s': expected <path>:<function>", review_tq(spec));
	if (!r->record)
		return cli_fail(CLI_FAILED, "'%s' has no readable note; the answers are kept there",
		                review_tqp(r->branch));
	t = gm_review_find_task(r, spec);
	if (!t)
		return cli_fail(CLI_FAILED, "the run of '%s' has no task '%s'", review_tqp(r->branch),
		                review_tq(spec));
	if (!t->answer) {
		if (t->status == GM_TASK_APPLIED || t->status == GM_TASK_DROPPED)
			return cli_fail(CLI_FAILED, "'%s' was %s; its text is on the branch (see 'git monitor "
			                "review --diff')", review_tq(spec), gm_task_status_name(t->status));
		return cli_fail(CLI_FAILED, "'%s' was %s with no answer kept%s%s", review_tq(spec),
		                gm_task_status_name(t->status), t->reason ? ": " : "",
		                t->reason ? review_tqt(t->reason) : "");
	}
	fprintf(stderr, "%s:%s: %s after %u attempt%s (%s:%s)%s%s\n", review_tqp(t->path),
	        review_tq(t->name), gm_task_status_name(t->status), t->attempts,
	        t->attempts == 1 ? "" : "s", or_dash(t->route), review_tqt(or_dash(t->model)),
	        t->reason ? ": " : "", t->reason ? review_tqt(t->reason) : "");
	if (t->answer_truncated)
		fprintf(stderr, "warning: the answer was longer than the note keeps; cut at %u KiB\n",
		        GM_REPORT_ANSWER_MAX / 1024);
	put_answer(t->answer);
	return CLI_OK;
}
