/*
 * The run record: what the writer puts in the note the reader gets back,
 * field for field (written again, the same bytes), and a note that is not
 * ours is refused naming the field instead of being half read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/error.h"
#include "monitor/report.h"
#include "monitor/util.h"

static struct gm_run_report *sample(void)
{
	struct gm_run_report *r = gm_run_report_new();
	struct gm_run_task *t;
	size_t k;

	r->run_id = gm_xstrdup("20260101-120000-abcdef");
	r->branch = gm_xstrdup("monitor/20260101-120000-tidy");
	git_oid_fromstr(&r->base, "0123456789abcdef0123456789abcdef01234567");
	git_oid_fromstr(&r->commit, "89abcdef0123456789abcdef0123456789abcdef");
	r->has_commit = true;
	r->local_model = gm_xstrdup("qwen");
	r->claude_model = gm_xstrdup("claude-sonnet-5");
	r->analysis_local = true;
	r->analysis_note = gm_xstrdup("no Claude key: analysis by the local model");
	r->requests = 3;
	r->input_tokens = 1200;
	r->output_tokens = 340;
	r->cost_usd = 0.0123;
	r->elapsed_ms = 1500;
	r->model_ms = 1200;
	r->scan_ms = 12;
	r->commit_ms = 30;
	gm_run_report_warn(r, "plan: %s", "unit 'x' is unknown");

	/* Added out of file order: the writer sorts. */
	k = gm_run_report_add_task(r);
	t = &r->tasks[k];
	t->path = gm_xstrdup("b.py");
	t->name = gm_xstrdup("Cli.run");
	t->kind = gm_xstrdup("rewrite");
	t->route = gm_xstrdup("claude");
	t->model = gm_xstrdup("claude-sonnet-5");
	t->route_reason = gm_xstrdup("escalated after 3 rejected local answers");
	t->status = GM_TASK_APPLIED;
	t->rationale = gm_xstrdup("one thing at a time");
	t->instructions = gm_xstrdup("split it");
	t->attempts = 4;
	t->start_line = 10;
	t->end_line = 40;
	t->input_tokens = 900;
	t->output_tokens = 300;
	t->est_tokens = 1000;
	t->cost_usd = 0.0123;
	t->cached = true;
	t->added = 7;
	t->removed = 12;
	t->helpers = gm_xcalloc(3, sizeof(char *));
	t->helpers[0] = gm_xstrdup("Cli._parse_flags");
	t->helpers[1] = gm_xstrdup("_usage");
	t->nhelpers = 2;
	t->imports = gm_xcalloc(2, sizeof(char *));
	t->imports[0] = gm_xstrdup("import shlex");
	t->nimports = 1;
	t->cc_before = 14;
	t->cc_after = 6;
	t->cc_after_sum = 11;
	k = gm_run_report_add_task(r);
	t = &r->tasks[k];
	t->path = gm_xstrdup("a.py");
	t->name = gm_xstrdup("f#1");
	t->kind = gm_xstrdup("rewrite");
	t->route = gm_xstrdup("local");
	t->status = GM_TASK_REJECTED;
	t->reason = gm_xstrdup("answer does not parse");
	t->attempts = 3;
	t->start_line = 1;
	t->end_line = 2;
	return r;
}

static char *text_of(const struct gm_run_report *r)
{
	cJSON *j = gm_run_report_json(r);
	char *s = cJSON_Print(j);
	cJSON_Delete(j);
	return s;
}

static void what_is_written_reads_back_the_same(void **state)
{
	struct gm_run_report *r = sample(), *back = NULL;
	char *first = text_of(r), *second;
	(void)state;

	assert_int_equal(gm_run_report_parse(&back, first), 0);
	assert_string_equal(back->run_id, r->run_id);
	assert_true(back->has_commit);
	assert_true(git_oid_equal(&back->base, &r->base));
	assert_int_equal(back->ntasks, 2);
	/* In file order now. */
	assert_string_equal(back->tasks[0].path, "a.py");
	assert_int_equal(back->tasks[0].status, GM_TASK_REJECTED);
	assert_string_equal(back->tasks[1].route_reason, "escalated after 3 rejected local answers");
	assert_int_equal(back->tasks[1].added, 7);
	/* What a split brought, and what it achieved. */
	assert_int_equal(back->tasks[1].nhelpers, 2);
	assert_string_equal(back->tasks[1].helpers[1], "_usage");
	assert_int_equal(back->tasks[1].nimports, 1);
	assert_string_equal(back->tasks[1].imports[0], "import shlex");
	assert_int_equal(back->tasks[1].cc_before, 14);
	assert_int_equal(back->tasks[1].cc_after, 6);
	assert_int_equal(back->tasks[1].cc_after_sum, 11);
	assert_true(back->tasks[1].cached);
	assert_int_equal(back->nwarnings, 1);
	second = text_of(back);
	assert_string_equal(first, second);
	free(first);
	free(second);
	gm_run_report_free(back);
	gm_run_report_free(r);
}

static void expect_unreadable(const char *json, const char *field)
{
	struct gm_run_report *r = (struct gm_run_report *)1;
	assert_int_equal(gm_run_report_parse(&r, json), GM_EINVALID);
	assert_null(r);
	assert_non_null(strstr(gm_error_last(), field));
}

static void a_note_that_is_not_ours_is_refused_naming_the_field(void **state)
{
	(void)state;
	expect_unreadable("[1]", "not a JSON object");
	expect_unreadable("{\"run\": \"x\"}", "'version' is missing");
	expect_unreadable("{\"version\": 2, \"run\": \"x\"}", "'version' is not 1");
	expect_unreadable("{\"version\": 1}", "'run' is missing");
	expect_unreadable("{\"version\": 1, \"run\": \"x\", \"base\": \"abc\"}", "'base' is not an object id");
	expect_unreadable("{\"version\": 1, \"run\": \"x\", \"tasks\": [{\"path\": \"a\", \"name\": \"f\", "
	                  "\"status\": \"great\"}]}", "'tasks[0].status' is not a known status");
	expect_unreadable("{\"version\": 1, \"run\": \"x\", \"tasks\": [{\"path\": \"a\", \"status\": "
	                  "\"applied\"}]}", "'tasks[0].name' is missing");
	expect_unreadable("{\"version\": 1, \"run\": \"x\", \"tasks\": [{\"path\": \"a\", \"name\": \"f\", "
	                  "\"status\": \"applied\", \"attempts\": -1}]}", "'tasks[0].attempts'");

	/* Optional fields may be absent. */
	struct gm_run_report *r = NULL;
	assert_int_equal(gm_run_report_parse(&r, "{\"version\": 1, \"run\": \"x\", \"commit\": null, "
	                                          "\"tasks\": [{\"path\": \"a\", \"name\": \"f\", "
	                                          "\"status\": \"dropped\"}]}"), 0);
	assert_false(r->has_commit);
	assert_null(r->tasks[0].kind);
	assert_int_equal(r->tasks[0].status, GM_TASK_DROPPED);
	gm_run_report_free(r);
}

static void drop_marks_the_named_tasks_and_keeps_the_rest(void **state)
{
	const char *note = "{\"version\": 1, \"run\": \"x\", \"future\": 7, \"tasks\": ["
	                   "{\"path\": \"a.py\", \"name\": \"f\", \"status\": \"applied\", \"lines_added\": 2},"
	                   "{\"path\": \"a.py\", \"name\": \"g\", \"status\": \"applied\", \"lines_added\": 1}]}";
	const char *paths[] = { "a.py" }, *names[] = { "g" };
	char *text = gm_run_report_note_drop(note, paths, names, 1);
	struct gm_run_report *r = NULL;
	(void)state;

	assert_non_null(text);
	assert_non_null(strstr(text, "\"future\":\t7"));
	assert_int_equal(gm_run_report_parse(&r, text), 0);
	assert_int_equal(r->tasks[0].status, GM_TASK_APPLIED);
	assert_int_equal(r->tasks[0].added, 2);
	assert_int_equal(r->tasks[1].status, GM_TASK_DROPPED);
	assert_string_equal(r->tasks[1].reason, "dropped in review");
	assert_int_equal(r->tasks[1].added, 0);
	gm_run_report_free(r);
	free(text);
	assert_null(gm_run_report_note_drop("not json", paths, names, 1));
}


static void a_rejected_answer_is_kept_without_reasoning_and_bounded(void **state)
{
	struct gm_run_report *r = gm_run_report_new(), *back = NULL;
	struct gm_run_task *t;
	struct gm_buf big = GM_BUF_INIT;
	char *text;
	size_t k;
	(void)state;

	r->run_id = gm_xstrdup("x");
	k = gm_run_report_add_task(r);
	t = &r->tasks[k];
	t->path = gm_xstrdup("a.py");
	t->name = gm_xstrdup("f");
	t->status = GM_TASK_REJECTED;
	gm_run_task_keep_answer(t, "<think>draft</think>def f():\n    return (\n");
	assert_string_equal(t->answer, "def f():\n    return (\n");
	assert_false(t->answer_truncated);
	/* An accepted answer forgets it. */
	gm_run_task_keep_answer(t, NULL);
	assert_null(t->answer);

	/* Longer than the note keeps: cut at a line end, marked. */
	while (big.len <= GM_REPORT_ANSWER_MAX)
		gm_buf_puts(&big, "x = 1  # \xc3\xa9t\xc3\xa9\n");
	gm_run_task_keep_answer(t, big.ptr);
	assert_true(t->answer_truncated);
	assert_true(strlen(t->answer) <= GM_REPORT_ANSWER_MAX);
	assert_int_equal(t->answer[strlen(t->answer) - 1], '\n');
	assert_memory_equal(t->answer, big.ptr, strlen(t->answer));

	{
		cJSON *j = gm_run_report_json(r);
		text = cJSON_Print(j);
		cJSON_Delete(j);
	}
	assert_int_equal(gm_run_report_parse(&back, text), 0);
	assert_string_equal(back->tasks[0].answer, t->answer);
	assert_true(back->tasks[0].answer_truncated);
	free(text);
	gm_run_report_free(back);

	/* An applied task's answer is never written; past the run's budget none is. */
	t->status = GM_TASK_APPLIED;
	{
		cJSON *j = gm_run_report_json(r);
		assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tasks"), 0),
		                                "answer"));
		cJSON_Delete(j);
	}
	t->status = GM_TASK_REJECTED;
	for (size_t i = 0; i < GM_REPORT_ANSWERS_MAX / GM_REPORT_ANSWER_MAX + 2; i++) {
		struct gm_run_task *u;
		k = gm_run_report_add_task(r);
		u = &r->tasks[k];
		u->path = gm_xasprintf("z%03zu.py", i);
		u->name = gm_xstrdup("g");
		u->status = GM_TASK_REJECTED;
		gm_run_task_keep_answer(u, big.ptr);
	}
	{
		cJSON *j = gm_run_report_json(r), *it;
		size_t with = 0, total = 0;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "tasks")) {
			const cJSON *a = cJSON_GetObjectItem(it, "answer");
			if (a) {
				with++;
				total += strlen(a->valuestring);
			}
		}
		assert_true(total <= GM_REPORT_ANSWERS_MAX);
		assert_true(with < r->ntasks);
		assert_true(with >= GM_REPORT_ANSWERS_MAX / GM_REPORT_ANSWER_MAX - 1);
		cJSON_Delete(j);
	}
	gm_buf_release(&big);
	gm_run_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(what_is_written_reads_back_the_same),
		cmocka_unit_test(a_note_that_is_not_ours_is_refused_naming_the_field),
		cmocka_unit_test(drop_marks_the_named_tasks_and_keeps_the_rest),
		cmocka_unit_test(a_rejected_answer_is_kept_without_reasoning_and_bounded),
	};
	int rc;
	git_libgit2_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}
