/*
 * Code and JSON out of model answers: reasoning removed, the right fenced
 * block chosen, prose ignored, clear reasons when there is nothing usable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/error.h"
#include "monitor/extract.h"

static char *code_of(const char *answer, const char *name)
{
	char *out = NULL;
	size_t len = 0;
	if (gm_extract_code(&out, &len, answer, strlen(answer), name) < 0)
		return NULL;
	assert_int_equal(len, strlen(out));
	return out;
}

static void fenced_block_with_prose_around_gives_only_the_code(void **state)
{
	(void)state;
	char *c = code_of("Here is the refactored function:\n\n```python\ndef f(x):\n    return x + 1\n```\n\n"
	                  "I renamed nothing and kept behaviour.\n",
	                  "f");
	assert_string_equal(c, "def f(x):\n    return x + 1");
	free(c);
}

static void tilde_fence_and_no_language_tag(void **state)
{
	(void)state;
	char *c = code_of("~~~\nint f(void)\n{\n\treturn 1;\n}\n~~~\n", "f");
	assert_string_equal(c, "int f(void)\n{\n\treturn 1;\n}");
	free(c);
	c = code_of("```\nint g(void) { return 2; }\n```", "g");
	assert_string_equal(c, "int g(void) { return 2; }");
	free(c);
}

static void bare_answer_without_fence_is_the_code(void **state)
{
	(void)state;
	char *c = code_of("\n\n    def m(self):\n        return 1\n\n", "C.m");
	/* The first line's indentation is kept for re-indentation. */
	assert_string_equal(c, "    def m(self):\n        return 1");
	free(c);
}

static void think_text_is_removed(void **state)
{
	(void)state;
	char *c = code_of("<think>\nMaybe ```python\ndef wrong(): pass\n``` is better.\n</think>\n"
	                  "```python\ndef f():\n    return 2\n```",
	                  "f");
	assert_string_equal(c, "def f():\n    return 2");
	free(c);
	/* The template opened the reasoning; only its end is in the answer. */
	c = code_of("the user wants def f...\n</think>\n\n```python\ndef f():\n    return 3\n```", "f");
	assert_string_equal(c, "def f():\n    return 3");
	free(c);
}

static void unterminated_think_leaves_nothing(void **state)
{
	(void)state;
	assert_null(code_of("<think>\nI should write def f(): and then", "f"));
	assert_string_equal(gm_error_last(), "answer is empty");
}

static void empty_answer_is_reported(void **state)
{
	(void)state;
	assert_null(code_of("", "f"));
	assert_string_equal(gm_error_last(), "answer is empty");
	assert_null(code_of("```python\n\n```\n", "f"));
	assert_string_equal(gm_error_last(), "answer is empty");
}

static void several_blocks_choose_the_one_naming_the_unit(void **state)
{
	(void)state;
	char *c = code_of("Usage:\n```python\nprint(1)\n```\nThe function:\n```python\n"
	                  "def parse_args(argv):\n    return argv\n```\n",
	                  "Cli.parse_args");
	assert_string_equal(c, "def parse_args(argv):\n    return argv");
	free(c);
	/* A longer identifier containing the name does not count. */
	c = code_of("```\nparse_args_old()\n```\n```\ndef parse_args(): pass\n```", "parse_args");
	assert_string_equal(c, "def parse_args(): pass");
	free(c);
}

static void several_blocks_ambiguous_are_rejected(void **state)
{
	(void)state;
	assert_null(code_of("```python\ndef f(): return 1\n```\nor\n```python\ndef f(): return 2\n```", "f"));
	assert_string_equal(gm_error_last(), "several code blocks");
}

static void truncated_fence_runs_to_the_end(void **state)
{
	(void)state;
	char *c = code_of("```c\nint f(void)\n{\n\treturn", "f");
	assert_string_equal(c, "int f(void)\n{\n\treturn");
	free(c);
}

static void json_in_fence_with_prose_and_braces_in_strings(void **state)
{
	(void)state;
	const char *a = "<think>{not json}</think>Sure, {the plan}:\n```json\n"
	                "{\"units\": [{\"name\": \"f\", \"instructions\": \"use \\\"}\\\" and {\"}],"
	                " \"rationale\": \"r\"}\n```\nDone.";
	cJSON *j = NULL;
	assert_int_equal(gm_extract_json(&j, a, strlen(a)), 0);
	cJSON *units = cJSON_GetObjectItem(j, "units");
	assert_int_equal(cJSON_GetArraySize(units), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(units, 0), "instructions")->valuestring,
	                    "use \"}\" and {");
	cJSON_Delete(j);
}

static void json_missing_is_an_error(void **state)
{
	(void)state;
	cJSON *j = (cJSON *)1;
	assert_int_equal(gm_extract_json(&j, "I cannot help with that.", 24), GM_EINVALID);
	assert_null(j);
	assert_string_equal(gm_error_last(), "no JSON object in the answer");
	assert_int_equal(gm_extract_json(&j, "{\"units\": [", 11), GM_EINVALID);
	assert_string_equal(gm_error_last(), "answer's JSON object is not closed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fenced_block_with_prose_around_gives_only_the_code),
		cmocka_unit_test(tilde_fence_and_no_language_tag),
		cmocka_unit_test(bare_answer_without_fence_is_the_code),
		cmocka_unit_test(think_text_is_removed),
		cmocka_unit_test(unterminated_think_leaves_nothing),
		cmocka_unit_test(empty_answer_is_reported),
		cmocka_unit_test(several_blocks_choose_the_one_naming_the_unit),
		cmocka_unit_test(several_blocks_ambiguous_are_rejected),
		cmocka_unit_test(truncated_fence_runs_to_the_end),
		cmocka_unit_test(json_in_fence_with_prose_and_braces_in_strings),
		cmocka_unit_test(json_missing_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
