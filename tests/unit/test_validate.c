/*
 * Validation of rewrite answers: every way an answer goes wrong is
 * rejected with its reason, and good answers are spliced at the right
 * indentation with the rest of the file byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/error.h"
#include "monitor/extract.h"
#include "monitor/lang.h"
#include "monitor/scan.h"
#include "monitor/validate.h"

static const char PY[] =
	"import os\n"
	"from pkg import util\n"
	"\n"
	"\n"
	"def top(a, b):\n"
	"    total = a + b\n"
	"    if total > 10:\n"
	"        return total\n"
	"    return -total\n"
	"\n"
	"\n"
	"class Shape:\n"
	"    def area(self, w, h):\n"
	"        result = w * h\n"
	"        if result < 0:\n"
	"            raise ValueError(\"negative\")\n"
	"        return result\n"
	"\n"
	"    def name(self):\n"
	"        return \"shape\"\n";

/* PY with Shape.area's body replaced by `body` (lines at column 8). */
static const char PY_AREA_NEW[] =
	"import os\n"
	"from pkg import util\n"
	"\n"
	"\n"
	"def top(a, b):\n"
	"    total = a + b\n"
	"    if total > 10:\n"
	"        return total\n"
	"    return -total\n"
	"\n"
	"\n"
	"class Shape:\n"
	"    def area(self, w, h):\n"
	"        result = w * h\n"
	"        if result < 0:\n"
	"            raise ValueError(f\"negative area {result}\")\n"
	"        return result\n"
	"\n"
	"    def name(self):\n"
	"        return \"shape\"\n";

struct run {
	const char *lang, *src, *unit, *answer, *finish, *new_name;
	bool allow_shrink;
	const char *new_signature;
};

static struct gm_validate_result validate(const struct run *r)
{
	const struct gm_lang *lang = gm_lang_by_name(r->lang);
	struct gm_file_scan fs;
	struct gm_validate_result res;
	struct gm_validate_in in;
	const struct gm_unit *u = NULL;

	assert_non_null(lang);
	assert_int_equal(gm_scan_source(&fs, lang, r->src, strlen(r->src), NULL), 0);
	for (size_t i = 0; i < fs.n; i++)
		if (strcmp(fs.units[i].name, r->unit) == 0)
			u = &fs.units[i];
	if (!u)
		fail_msg("no unit '%s' in the source", r->unit);
	memset(&in, 0, sizeof(in));
	in.lang = lang;
	in.src = r->src;
	in.len = strlen(r->src);
	in.scan = &fs;
	in.unit = u;
	in.answer = r->answer;
	in.answer_len = strlen(r->answer);
	in.finish_reason = r->finish ? r->finish : "stop";
	in.new_name = r->new_name;
	in.new_signature = r->new_signature;
	in.allow_shrink = r->allow_shrink;
	if (gm_validate(&res, &in) < 0)
		fail_msg("validation failed: %s", gm_error_last());
	gm_file_scan_release(&fs);
	return res;
}

static void expect_reject(const struct run *r, const char *reason_part)
{
	struct gm_validate_result res = validate(r);
	if (res.verdict != GM_VERDICT_REJECT || !strstr(res.reason, reason_part))
		fail_msg("want a rejection with '%s', got verdict %d reason '%s'", reason_part,
		         (int)res.verdict, res.reason ? res.reason : "(none)");
	assert_null(res.text);
	gm_validate_result_release(&res);
}

static void expect_text(const struct run *r, const char *want)
{
	struct gm_validate_result res = validate(r);
	if (res.verdict != GM_VERDICT_ACCEPT)
		fail_msg("rejected: %s", res.reason);
	assert_int_equal(res.len, strlen(want));
	assert_string_equal(res.text, want);
	gm_validate_result_release(&res);
}

static void method_answer_at_column_0_is_reindented_to_column_4(void **state)
{
	(void)state;
	struct run r = { "python", PY, "Shape.area",
	                 "```python\ndef area(self, w, h):\n    result = w * h\n    if result < 0:\n"
	                 "        raise ValueError(f\"negative area {result}\")\n    return result\n```\n",
	                 NULL, NULL, false, NULL };
	expect_text(&r, PY_AREA_NEW);
}

static void method_answer_already_at_column_4_is_accepted(void **state)
{
	(void)state;
	struct run r = { "python", PY, "Shape.area",
	                 "```python\n    def area(self, w, h):\n        result = w * h\n        if result < 0:\n"
	                 "            raise ValueError(f\"negative area {result}\")\n        return result\n```",
	                 NULL, NULL, false, NULL };
	expect_text(&r, PY_AREA_NEW);
}

static void python_answer_with_file_indentation_on_later_lines_is_not_indented_twice(void **state)
{
	(void)state;
	/* The model copied the unit's bytes: first line at 0, the body at 8. */
	struct run r = { "python", PY, "Shape.area",
	                 "```python\ndef area(self, w, h):\n        result = w * h\n        if result < 0:\n"
	                 "            raise ValueError(f\"negative area {result}\")\n        return result\n```",
	                 NULL, NULL, false, NULL };
	expect_text(&r, PY_AREA_NEW);
}

static void tabs_of_the_original_line_are_kept(void **state)
{
	(void)state;
	const char *src = "class T:\n\tdef m(self):\n\t\treturn 1\n";
	struct run r = { "python", src, "T.m", "def m(self):\n\treturn 2\n", NULL, NULL, false, NULL };
	expect_text(&r, "class T:\n\tdef m(self):\n\t\treturn 2\n");
}

static void crlf_file_stays_crlf(void **state)
{
	(void)state;
	const char *src = "class K:\r\n    def m(self):\r\n        return 1\r\n";
	struct run r = { "python", src, "K.m", "```python\ndef m(self):\n    return 2\n```", NULL,
	                 NULL, false, NULL };
	expect_text(&r, "class K:\r\n    def m(self):\r\n        return 2\r\n");
}

static void decorated_method_keeps_its_decorator_at_the_column(void **state)
{
	(void)state;
	const char *src = "class K:\n    @staticmethod\n    def m(x):\n        return x\n";
	struct run r = { "python", src, "K.m", "@staticmethod\ndef m(x):\n    return x + 0\n", NULL,
	                 NULL, false, NULL };
	expect_text(&r, "class K:\n    @staticmethod\n    def m(x):\n        return x + 0\n");
}

static void prose_and_think_around_the_code_are_ignored(void **state)
{
	(void)state;
	struct run r = { "python", PY, "top",
	                 "<think>The user wants fewer branches. def top(a): ...</think>\n"
	                 "Sure! Here is the function:\n\n```python\ndef top(a, b):\n    total = a + b\n"
	                 "    return total if total > 10 else -total\n```\nThis keeps behaviour.",
	                 NULL, NULL, false, NULL };
	struct gm_validate_result res = validate(&r);
	assert_int_equal(res.verdict, GM_VERDICT_ACCEPT);
	assert_non_null(strstr(res.text, "\ndef top(a, b):\n    total = a + b\n"
	                                 "    return total if total > 10 else -total\n\n\nclass Shape:\n"));
	assert_string_equal(res.code, "def top(a, b):\n    total = a + b\n"
	                              "    return total if total > 10 else -total");
	gm_validate_result_release(&res);
}

static void syntax_error_is_rejected_with_its_line(void **state)
{
	(void)state;
	struct run r = { "python", PY, "top",
	                 "```python\ndef top(a, b):\n    total = a + b\n    if total > 10\n        return total\n"
	                 "    return -total\n```",
	                 NULL, NULL, false, NULL };
	expect_reject(&r, "answer does not parse: syntax error at line 3 of the function");
}

static void another_function_is_rejected(void **state)
{
	(void)state;
	struct run r = { "python", PY, "Shape.area",
	                 "```python\ndef perimeter(self, w, h):\n    return 2 * (w + h) + 0 * w * h\n```",
	                 NULL, NULL, false, NULL };
	expect_reject(&r, "answer defines another function 'Shape.perimeter'");
}

static void a_new_helper_goes_before_the_function(void **state)
{
	(void)state;
	struct run r = { "python", PY, "top",
	                 "```python\ndef top(a, b):\n"
	                 "    total = _sum(a, b)\n    if total > 10:\n        return total\n    return -total\n"
	                 "\n\ndef _sum(a, b):\n    return a + b\n```",
	                 NULL, NULL, false, NULL };
	struct gm_validate_result res = validate(&r);
	assert_int_equal(res.verdict, GM_VERDICT_ACCEPT);
	assert_int_equal(res.nhelpers, 1);
	assert_string_equal(res.helpers[0], "_sum");
	assert_non_null(strstr(res.text, "from pkg import util\n\n\ndef _sum(a, b):\n    return a + b\n"
	                                 "\n\ndef top(a, b):\n    total = _sum(a, b)\n"));
	gm_validate_result_release(&res);
	/* Two definitions of the function itself are not a helper. */
	r.answer = "```python\ndef top(a, b):\n    return a + b\n\n\ndef top(a, b):\n    return a - b\n```";
	expect_reject(&r, "answer defines 'top' twice");
}

static void nested_helper_belongs_to_the_function(void **state)
{
	(void)state;
	struct run r = { "python", PY, "top",
	                 "def top(a, b):\n    def neg(x):\n        return -x\n    total = a + b\n"
	                 "    if total > 10:\n        return total\n    return neg(total)\n",
	                 NULL, NULL, false, NULL };
	struct gm_validate_result res = validate(&r);
	assert_int_equal(res.verdict, GM_VERDICT_ACCEPT);
	gm_validate_result_release(&res);
}

static void placeholder_elisions_are_rejected(void **state)
{
	(void)state;
	struct run r = { "python", PY, "top",
	                 "```python\ndef top(a, b):\n    total = a + b\n    # ... rest of the code\n```",
	                 NULL, NULL, false, NULL };
	expect_reject(&r, "answer elides code with the placeholder '# ... rest of the code'");
	r.answer = "```python\ndef top(a, b):\n    total = a + b\n    ...\n    return -total\n```";
	expect_reject(&r, "placeholder '...'");
	r.answer = "def top(a, b):\n    total = a + b  # existing code\n    if total > 10:\n"
	           "        return total\n    return -total\n";
	expect_reject(&r, "placeholder 'total = a + b  # existing code'");
}

static void ellipsis_and_spread_are_not_placeholders(void **state)
{
	(void)state;
	assert_int_equal(gm_validate_placeholders("x = a[..., 0]\nf(*args, ...)\n", 29), 0);
	assert_int_equal(gm_validate_placeholders("g(...args);\nconst o = {...p};\n", 31), 0);
	assert_int_not_equal(gm_validate_placeholders("  // ...\n", 9), 0);
	assert_int_not_equal(gm_validate_placeholders("/* rest of code */\n", 19), 0);

	/* The original's own `...` body may stay. */
	const char *src = "class P:\n    def run(self):\n        ...\n";
	struct run r = { "python", src, "P.run", "def run(self):\n    \"\"\"Run.\"\"\"\n    ...\n",
	                 NULL, NULL, false, NULL };
	expect_text(&r, "class P:\n    def run(self):\n        \"\"\"Run.\"\"\"\n        ...\n");
}

static void truncated_answer_is_rejected(void **state)
{
	(void)state;
	struct run r = { "python", PY, "top", "```python\ndef top(a, b):\n    total = a +", "length",
	                 NULL, false, NULL };
	expect_reject(&r, "answer was cut off (finish_reason length)");
	r.finish = "max_tokens";
	expect_reject(&r, "answer was cut off (finish_reason max_tokens)");
}

static void empty_answer_is_rejected(void **state)
{
	(void)state;
	struct run r = { "python", PY, "top", "```python\n```", NULL, NULL, false, NULL };
	expect_reject(&r, "answer is empty");
	r.answer = "<think>hmm</think>\n  \n";
	expect_reject(&r, "answer is empty");
}

static void unchanged_function_is_unchanged_not_applied(void **state)
{
	(void)state;
	struct run r = { "python", PY, "Shape.name",
	                 "```python\ndef name(self):   \n    return \"shape\"  \n\n```", NULL, NULL, false, NULL };
	struct gm_validate_result res = validate(&r);
	assert_int_equal(res.verdict, GM_VERDICT_UNCHANGED);
	assert_null(res.text);
	gm_validate_result_release(&res);
}

static void shrinking_by_more_than_half_needs_the_plan(void **state)
{
	(void)state;
	struct run r = { "python", PY, "Shape.area", "def area(self, w, h):\n    return w * h\n",
	                 NULL, NULL, false, NULL };
	expect_reject(&r, "answer shrank the function by more than half");
	r.allow_shrink = true;
	struct gm_validate_result res = validate(&r);
	assert_int_equal(res.verdict, GM_VERDICT_ACCEPT);
	assert_non_null(strstr(res.text, "class Shape:\n    def area(self, w, h):\n        return w * h\n\n"
	                                 "    def name(self):\n"));
	gm_validate_result_release(&res);
}

static void planned_new_name_is_accepted_only_when_planned(void **state)
{
	(void)state;
	struct run r = { "python", PY, "top",
	                 "def signed_total(a, b):\n    total = a + b\n    if total > 10:\n"
	                 "        return total\n    return -total\n",
	                 NULL, NULL, false, NULL };
	expect_reject(&r, "answer defines another function 'signed_total'");
	r.new_name = "signed_total";
	struct gm_validate_result res = validate(&r);
	assert_int_equal(res.verdict, GM_VERDICT_ACCEPT);
	gm_validate_result_release(&res);
	/* A planned signature carries the new name as well. */
	r.new_name = NULL;
	r.new_signature = "def signed_total(a, b)";
	res = validate(&r);
	assert_int_equal(res.verdict, GM_VERDICT_ACCEPT);
	gm_validate_result_release(&res);
	r.new_signature = "def other_total(a, b)";
	expect_reject(&r, "answer defines another function 'signed_total'");
}

static void wrong_dedent_that_leaves_the_class_is_rejected(void **state)
{
	(void)state;
	/* A method whose body falls out of the class: `name` would move. */
	struct run r = { "python", PY, "Shape.area",
	                 "```python\n    def area(self, w, h):\n        result = w * h\nreturn result\n```",
	                 NULL, NULL, false, NULL };
	expect_reject(&r, "answer adds code outside the function: 'return result'");
}

static void go_function_keeps_tabs_and_rejects_syntax_errors(void **state)
{
	(void)state;
	const char *src = "package main\n\nimport \"fmt\"\n\nfunc hello(n int) string {\n"
	                  "\tif n > 1 {\n\t\treturn fmt.Sprint(n)\n\t}\n\treturn \"one\"\n}\n\n"
	                  "func main() {\n\tfmt.Println(hello(2))\n}\n";
	struct run r = { "go", src, "hello",
	                 "```go\nfunc hello(n int) string {\n\tif n <= 1 {\n\t\treturn \"one\"\n\t}\n"
	                 "\treturn fmt.Sprint(n)\n}\n```",
	                 NULL, NULL, false, NULL };
	expect_text(&r, "package main\n\nimport \"fmt\"\n\nfunc hello(n int) string {\n"
	                "\tif n <= 1 {\n\t\treturn \"one\"\n\t}\n\treturn fmt.Sprint(n)\n}\n\n"
	                "func main() {\n\tfmt.Println(hello(2))\n}\n");
	r.answer = "```go\nfunc hello(n int) string {\n\tif n <= 1 {\n\t\treturn \"one\"\n\t\n"
	           "\treturn fmt.Sprint(n)\n}\n```";
	expect_reject(&r, "answer does not parse");
}

static void javascript_spread_is_not_a_placeholder_but_an_elided_body_is(void **state)
{
	(void)state;
	const char *src = "class Log {\n  write(msg) {\n    console.log(msg);\n  }\n}\n";
	struct run r = { "javascript", src, "Log.write",
	                 "```js\nwrite(...parts) {\n  console.log(parts.join(' '));\n}\n```", NULL,
	                 NULL, false, NULL };
	expect_text(&r, "class Log {\n  write(...parts) {\n    console.log(parts.join(' '));\n  }\n}\n");
	r.answer = "```js\nwrite(msg) {\n  // ...\n}\n```";
	expect_reject(&r, "placeholder '// ...'");
}

static void c_function_with_another_function_is_rejected(void **state)
{
	(void)state;
	const char *src = "#include <stdio.h>\n\nstatic int twice(int x)\n{\n\treturn x * 2;\n}\n";
	struct run r = { "c", src, "twice",
	                 "```c\nstatic int thrice(int x)\n{\n\treturn x * 3;\n}\n```", NULL, NULL, false, NULL };
	expect_reject(&r, "answer defines another function 'thrice'");
	r.answer = "```c\nstatic int twice(int x)\n{\n\treturn x << 1;\n}\n```";
	expect_text(&r, "#include <stdio.h>\n\nstatic int twice(int x)\n{\n\treturn x << 1;\n}\n");
}

static int setup(void **state)
{
	(void)state;
	if (gm_lang_init() < 0)
		fail_msg("%s", gm_error_last());
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(method_answer_at_column_0_is_reindented_to_column_4),
		cmocka_unit_test(method_answer_already_at_column_4_is_accepted),
		cmocka_unit_test(python_answer_with_file_indentation_on_later_lines_is_not_indented_twice),
		cmocka_unit_test(tabs_of_the_original_line_are_kept),
		cmocka_unit_test(crlf_file_stays_crlf),
		cmocka_unit_test(decorated_method_keeps_its_decorator_at_the_column),
		cmocka_unit_test(prose_and_think_around_the_code_are_ignored),
		cmocka_unit_test(syntax_error_is_rejected_with_its_line),
		cmocka_unit_test(another_function_is_rejected),
		cmocka_unit_test(a_new_helper_goes_before_the_function),
		cmocka_unit_test(nested_helper_belongs_to_the_function),
		cmocka_unit_test(placeholder_elisions_are_rejected),
		cmocka_unit_test(ellipsis_and_spread_are_not_placeholders),
		cmocka_unit_test(truncated_answer_is_rejected),
		cmocka_unit_test(empty_answer_is_rejected),
		cmocka_unit_test(unchanged_function_is_unchanged_not_applied),
		cmocka_unit_test(shrinking_by_more_than_half_needs_the_plan),
		cmocka_unit_test(planned_new_name_is_accepted_only_when_planned),
		cmocka_unit_test(wrong_dedent_that_leaves_the_class_is_rejected),
		cmocka_unit_test(go_function_keeps_tabs_and_rejects_syntax_errors),
		cmocka_unit_test(javascript_spread_is_not_a_placeholder_but_an_elided_body_is),
		cmocka_unit_test(c_function_with_another_function_is_rejected),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
