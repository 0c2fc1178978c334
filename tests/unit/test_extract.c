/*
 * Code blocks and JSON out of model answers: reasoning removed, fences and
 * their tags read as CommonMark does, prose ignored, clear reasons when there
 * is nothing usable.  Which block is the answer is validation's (test_validate).
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

/* The blocks of `answer` (reasoning removed first, as validation does). */
static size_t blocks_of(struct gm_code_block **out, char **text, const char *answer)
{
	size_t len;
	*text = gm_extract_strip_think(answer, strlen(answer), &len);
	return gm_extract_blocks(out, *text, len);
}

static void expect_block(const struct gm_code_block *b, const char *tag, const char *content)
{
	size_t n = (size_t)(b->end - b->start);
	assert_int_equal(b->tag_len, strlen(tag));
	assert_memory_equal(b->tag, tag, b->tag_len);
	if (n != strlen(content) || memcmp(b->start, content, n) != 0)
		fail_msg("block is '%.*s', want '%s'", (int)n, b->start, content);
}

static void fenced_block_with_prose_around_gives_only_the_code(void **state)
{
	struct gm_code_block *b = NULL;
	char *t;
	(void)state;
	assert_int_equal(blocks_of(&b, &t, "Here is the refactored function:\n\n```python\ndef f(x):\n"
	                                    "    return x + 1\n```\n\nI renamed nothing and kept behaviour.\n"),
	                 1);
	expect_block(&b[0], "python", "def f(x):\n    return x + 1\n");
	assert_true(b[0].fenced);
	assert_true(b[0].closed);
	free(b);
	free(t);
}

static void tilde_fence_info_string_words_and_no_tag(void **state)
{
	struct gm_code_block *b = NULL;
	char *t;
	(void)state;
	assert_int_equal(blocks_of(&b, &t, "~~~\nint f(void)\n{\n\treturn 1;\n}\n~~~\n"
	                                    "```c title=\"x.c\"\nint g(void) { return 2; }\n```"),
	                 2);
	expect_block(&b[0], "", "int f(void)\n{\n\treturn 1;\n}\n");
	expect_block(&b[1], "c", "int g(void) { return 2; }\n");
	free(b);
	free(t);
}

static void bare_answer_without_fence_is_one_unfenced_block(void **state)
{
	struct gm_code_block *b = NULL;
	char *t;
	(void)state;
	assert_int_equal(blocks_of(&b, &t, "\n\n    def m(self):\n        return 1\n\n"), 1);
	assert_false(b[0].fenced);
	expect_block(&b[0], "", "\n\n    def m(self):\n        return 1\n\n");
	free(b);
	free(t);
}

static void think_text_is_removed_with_its_blocks(void **state)
{
	struct gm_code_block *b = NULL;
	char *t;
	(void)state;
	assert_int_equal(blocks_of(&b, &t, "<think>\nMaybe ```python\ndef wrong(): pass\n``` is better.\n"
	                                    "</think>\n```python\ndef f():\n    return 2\n```"),
	                 1);
	expect_block(&b[0], "python", "def f():\n    return 2\n");
	free(b);
	free(t);
	/* The template opened the reasoning; only its end is in the answer. */
	assert_int_equal(blocks_of(&b, &t, "the user wants def f...\n</think>\n\n```python\ndef f():\n"
	                                    "    return 3\n```"),
	                 1);
	expect_block(&b[0], "python", "def f():\n    return 3\n");
	free(b);
	free(t);
}

static void unterminated_think_or_empty_answer_leaves_no_block(void **state)
{
	struct gm_code_block *b = NULL;
	char *t;
	(void)state;
	assert_int_equal(blocks_of(&b, &t, "<think>\nI should write def f(): and then"), 0);
	free(b);
	free(t);
	assert_int_equal(blocks_of(&b, &t, "  \n"), 0);
	free(b);
	free(t);
}

static void several_blocks_come_in_order_and_a_longer_fence_holds_backticks(void **state)
{
	struct gm_code_block *b = NULL;
	char *t;
	(void)state;
	assert_int_equal(blocks_of(&b, &t, "Usage:\n```python\nprint(1)\n```\nThe function:\n````python\n"
	                                    "def f():\n    return \"```\"\n````\n"),
	                 2);
	expect_block(&b[0], "python", "print(1)\n");
	expect_block(&b[1], "python", "def f():\n    return \"```\"\n");
	free(b);
	free(t);
}

static void truncated_fence_runs_to_the_end(void **state)
{
	struct gm_code_block *b = NULL;
	char *t;
	(void)state;
	assert_int_equal(blocks_of(&b, &t, "```c\nint f(void)\n{\n\treturn"), 1);
	expect_block(&b[0], "c", "int f(void)\n{\n\treturn");
	assert_false(b[0].closed);
	free(b);
	free(t);
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
		cmocka_unit_test(tilde_fence_info_string_words_and_no_tag),
		cmocka_unit_test(bare_answer_without_fence_is_one_unfenced_block),
		cmocka_unit_test(think_text_is_removed_with_its_blocks),
		cmocka_unit_test(unterminated_think_or_empty_answer_leaves_no_block),
		cmocka_unit_test(several_blocks_come_in_order_and_a_longer_fence_holds_backticks),
		cmocka_unit_test(truncated_fence_runs_to_the_end),
		cmocka_unit_test(json_in_fence_with_prose_and_braces_in_strings),
		cmocka_unit_test(json_missing_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
