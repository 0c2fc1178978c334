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
	struct gm_edit e = { 0 };
	for (size_t i = 0; i < fs.n; i++) {
		if (strcmp(fs.units[i].name, name) == 0) {
			e.name = strdup(name);
			gm_edit_add_splice(&e, fs.units[i].start_byte, fs.units[i].end_byte, text,
			                   strlen(text));
			return e;
		}
	}
	fail_msg("no unit %s", name);
	return e;
}

static int merge(struct gm_merge_result *r, const char *src, unsigned errors, struct gm_edit *e,
                 size_t n)
{
	const struct gm_edit *ev[8];
	int rc;
	for (size_t i = 0; i < n; i++)
		ev[i] = &e[i];
	rc = gm_merge(r, gm_lang_by_name("python"), src, strlen(src), errors, ev, n, NULL);
	for (size_t i = 0; i < n; i++)
		gm_edit_release(&e[i]);
	return rc;
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
	assert_int_equal(merge(&r, PY, 0, e, 3), 0);
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
	assert_int_equal(merge(&r, PY, 0, e, 3), 0);
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
	struct gm_edit e = { 0 };
	struct gm_merge_result r;
	e.name = strdup("a");
	gm_edit_add_splice(&e, bad.units[0].start_byte, bad.units[0].end_byte, "def a():\n    return 11",
	                   22);
	assert_int_equal(merge(&r, src, bad.errors, &e, 1), 0);
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
	e[1].splices[0].start += 2;
	assert_int_equal(merge(&r, PY, 0, e, 2), GM_EINVALID);
	assert_string_equal(gm_error_last(), "edits of 'K.b' and 'K.b' overlap");
	assert_null(r.text);
}

#define S(lit) lit, strlen(lit)

static const char PYI[] =
	"\"\"\"Module.\"\"\"\n"
	"import os\n"
	"\n"
	"\n"
	"def a():\n"
	"    return 1\n"
	"\n"
	"\n"
	"def b():\n"
	"    return 2\n";

static void helpers_and_imports_land_with_their_edit_and_an_import_comes_once(void **state)
{
	(void)state;
	struct gm_file_scan f2;
	struct gm_edit e[3] = { { 0 } };
	struct gm_merge_result r;
	assert_int_equal(gm_scan_source(&f2, gm_lang_by_name("python"), PYI, strlen(PYI), NULL), 0);
	e[0].name = strdup("a");
	gm_edit_add_splice(&e[0], f2.units[0].start_byte, f2.units[0].end_byte,
	                   S("def _one():\n    return int(re.sub('x', '', '1'))\n\n\ndef a():\n    return _one()"));
	gm_edit_add_import(&e[0], S("import re"), "import");
	e[1].name = strdup("b");
	gm_edit_add_splice(&e[1], f2.units[1].start_byte, f2.units[1].end_byte,
	                   S("def b():\n    return len(re.findall('.', 'ab'))"));
	gm_edit_add_import(&e[1], S("import re"), "import");
	gm_edit_add_import(&e[1], S("import os"), "import"); /* the file has it */
	assert_int_equal(merge(&r, PYI, 0, e, 2), 0);
	assert_string_equal(r.text, "\"\"\"Module.\"\"\"\n"
	                            "import os\n"
	                            "import re\n"
	                            "\n"
	                            "\n"
	                            "def _one():\n"
	                            "    return int(re.sub('x', '', '1'))\n"
	                            "\n"
	                            "\n"
	                            "def a():\n"
	                            "    return _one()\n"
	                            "\n"
	                            "\n"
	                            "def b():\n"
	                            "    return len(re.findall('.', 'ab'))\n");
	gm_merge_result_release(&r);

	/* A dropped edit takes its import along; the kept one keeps its own. */
	e[0].name = strdup("a");
	gm_edit_add_splice(&e[0], f2.units[0].start_byte, f2.units[0].end_byte,
	                   S("def a():\n    return (json.dumps(1)"));
	gm_edit_add_import(&e[0], S("import json"), "import");
	e[1].name = strdup("b");
	gm_edit_add_splice(&e[1], f2.units[1].start_byte, f2.units[1].end_byte,
	                   S("def b():\n    return sys.maxsize"));
	gm_edit_add_import(&e[1], S("import sys"), "import");
	assert_int_equal(merge(&r, PYI, 0, e, 2), 0);
	assert_false(r.applied[0]);
	assert_true(r.applied[1]);
	assert_null(strstr(r.text, "json"));
	assert_non_null(strstr(r.text, "import os\nimport sys\n\n\ndef a():\n    return 1\n"));
	gm_merge_result_release(&r);
	gm_file_scan_release(&f2);
}

static void names_two_edits_import_from_one_module_are_bound_once(void **state)
{
	(void)state;
	const char *js = "import { x } from \"m\";\n\nfunction f() {\n  return x;\n}\n\nfunction g() {\n  return x;\n}\n";
	const struct gm_lang *lang = gm_lang_by_name("javascript");
	struct gm_file_scan f3;
	struct gm_edit e[2] = { { 0 } };
	const struct gm_edit *ev[2] = { &e[0], &e[1] };
	struct gm_merge_result r;
	assert_int_equal(gm_scan_source(&f3, lang, js, strlen(js), NULL), 0);
	e[0].name = strdup("f");
	gm_edit_add_splice(&e[0], f3.units[0].start_byte, f3.units[0].end_byte,
	                   S("function f() {\n  return a(x);\n}"));
	gm_edit_add_import(&e[0], S("import { a } from \"m\";"), "import");
	e[1].name = strdup("g");
	gm_edit_add_splice(&e[1], f3.units[1].start_byte, f3.units[1].end_byte,
	                   S("function g() {\n  return b(a(x));\n}"));
	gm_edit_add_import(&e[1], S("import { a, b, x } from \"m\";"), "import");
	assert_int_equal(gm_merge(&r, lang, js, strlen(js), 0, ev, 2, NULL), 0);
	assert_string_equal(r.text, "import { x } from \"m\";\n"
	                            "import { a } from \"m\";\n"
	                            "import { b } from \"m\";\n\n"
	                            "function f() {\n  return a(x);\n}\n\n"
	                            "function g() {\n  return b(a(x));\n}\n");
	gm_merge_result_release(&r);
	gm_edit_release(&e[0]);
	gm_edit_release(&e[1]);
	gm_file_scan_release(&f3);
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
		cmocka_unit_test(helpers_and_imports_land_with_their_edit_and_an_import_comes_once),
		cmocka_unit_test(names_two_edits_import_from_one_module_are_bound_once),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
