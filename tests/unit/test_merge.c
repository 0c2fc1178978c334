/*
 * Merging several accepted edits of one file: all land at their places in
 * one pass, an edit that breaks the parse is dropped with its reason and
 * the others still land, overlapping edits are refused.
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
#include "monitor/lang.h"
#include "monitor/merge.h"
#include "monitor/scan.h"

static const char PY[] =
	"def a():\n"
	"    return 1\n"
	"\n"
	"\n"
	"class K:\n"
	"    def b(self):\n"
	"        return 2\n"
	"\n"
	"    def c(self):\n"
	"        return 3\n";

static struct gm_file_scan fs;

static struct gm_edit edit_of(const char *name, const char *text)
{
	for (size_t i = 0; i < fs.n; i++)
		if (strcmp(fs.units[i].name, name) == 0)
			return (struct gm_edit){ fs.units[i].start_byte, fs.units[i].end_byte, text,
			                         strlen(text), name };
	fail_msg("no unit %s", name);
	return (struct gm_edit){ 0 };
}

static void several_edits_land_in_one_pass_whatever_their_order(void **state)
{
	(void)state;
	/* Given top-down: the later edits' offsets must still be right. */
	struct gm_edit e[3] = {
		edit_of("a", "def a():\n    \"\"\"One.\"\"\"\n    return 1"),
		edit_of("K.c", "def c(self):\n        return 3 * 1"),
		edit_of("K.b", "def b(self):\n        x = 2\n        return x"),
	};
	struct gm_merge_result r;
	assert_int_equal(gm_merge(&r, gm_lang_by_name("python"), PY, strlen(PY), 0, e, 3, NULL), 0);
	assert_string_equal(r.text, "def a():\n"
	                            "    \"\"\"One.\"\"\"\n"
	                            "    return 1\n"
	                            "\n"
	                            "\n"
	                            "class K:\n"
	                            "    def b(self):\n"
	                            "        x = 2\n"
	                            "        return x\n"
	                            "\n"
	                            "    def c(self):\n"
	                            "        return 3 * 1\n");
	assert_int_equal(r.ndropped, 0);
	for (int i = 0; i < 3; i++) {
		assert_true(r.applied[i]);
		assert_null(r.reason[i]);
	}
	gm_merge_result_release(&r);
}

static void edit_that_breaks_the_parse_is_dropped_and_the_rest_lands(void **state)
{
	(void)state;
	struct gm_edit e[3] = {
		edit_of("a", "def a():\n    return 10"),
		edit_of("K.b", "def b(self):\n        return (2"),
		edit_of("K.c", "def c(self):\n        return 30"),
	};
	struct gm_merge_result r;
	assert_int_equal(gm_merge(&r, gm_lang_by_name("python"), PY, strlen(PY), 0, e, 3, NULL), 0);
	assert_int_equal(r.ndropped, 1);
	assert_true(r.applied[0]);
	assert_false(r.applied[1]);
	assert_true(r.applied[2]);
	assert_string_equal(r.reason[1], "the file does not parse with this edit");
	assert_string_equal(r.text, "def a():\n"
	                            "    return 10\n"
	                            "\n"
	                            "\n"
	                            "class K:\n"
	                            "    def b(self):\n"
	                            "        return 2\n"
	                            "\n"
	                            "    def c(self):\n"
	                            "        return 30\n");
	gm_merge_result_release(&r);
}

static void errors_already_in_the_original_do_not_drop_edits(void **state)
{
	(void)state;
	const char *src = "def a():\n    return 1\n\n\ndef b(:\n    return 2\n";
	struct gm_file_scan bad;
	assert_int_equal(gm_scan_source(&bad, gm_lang_by_name("python"), src, strlen(src), NULL), 0);
	assert_true(bad.errors > 0);
	struct gm_edit e = { bad.units[0].start_byte, bad.units[0].end_byte, "def a():\n    return 11",
	                     22, "a" };
	struct gm_merge_result r;
	assert_int_equal(gm_merge(&r, gm_lang_by_name("python"), src, strlen(src), bad.errors, &e, 1,
	                          NULL),
	                 0);
	assert_true(r.applied[0]);
	assert_string_equal(r.text, "def a():\n    return 11\n\n\ndef b(:\n    return 2\n");
	gm_merge_result_release(&r);
	gm_file_scan_release(&bad);
}

static void overlapping_edits_are_refused(void **state)
{
	(void)state;
	struct gm_edit e[2] = { edit_of("K.b", "def b(self): pass"), edit_of("K.b", "def b(self): pass") };
	struct gm_merge_result r;
	e[1].start += 2;
	assert_int_equal(gm_merge(&r, gm_lang_by_name("python"), PY, strlen(PY), 0, e, 2, NULL),
	                 GM_EINVALID);
	assert_string_equal(gm_error_last(), "edits of 'K.b' and 'K.b' overlap");
	assert_null(r.text);
}

static int setup(void **state)
{
	(void)state;
	if (gm_lang_init() < 0)
		fail_msg("%s", gm_error_last());
	return gm_scan_source(&fs, gm_lang_by_name("python"), PY, strlen(PY), NULL);
}

static int teardown(void **state)
{
	(void)state;
	gm_file_scan_release(&fs);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(several_edits_land_in_one_pass_whatever_their_order),
		cmocka_unit_test(edit_that_breaks_the_parse_is_dropped_and_the_rest_lands),
		cmocka_unit_test(errors_already_in_the_original_do_not_drop_edits),
		cmocka_unit_test(overlapping_edits_are_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
