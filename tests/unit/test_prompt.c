/*
 * Prompts carry what the model needs (goal, plan, context, the function at
 * column 0, the reason of a rejection on retry), and analysis answers are
 * read into plans with malformed ones refused and unknown names ignored.
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
#include "monitor/extract.h"
#include "monitor/lang.h"
#include "monitor/prompt.h"
#include "monitor/scan.h"

static const char PY[] =
	"import os\n"
	"from pkg import util\n"
	"\n"
	"os.environ[\"X\"] = \"1\"\n"
	"FLAGS = os.O_RDONLY  # uses os, is no import\n"
	"\n"
	"\n"
	"class Shape(Base):\n"
	"    \"\"\"A shape.\"\"\"\n"
	"\n"
	"    # Area.\n"
	"    def area(self, w, h):\n"
	"        import json\n"
	"        return util.mul(w, h)\n"
	"\n"
	"\n"
	"def top():\n"
	"    return os.getcwd()\n";

static struct gm_file_scan fs;

static const struct gm_unit *unit(const char *name)
{
	for (size_t i = 0; i < fs.n; i++)
		if (strcmp(fs.units[i].name, name) == 0)
			return &fs.units[i];
	fail_msg("no unit %s", name);
	return NULL;
}

static void method_code_is_given_as_it_stands_in_the_file(void **state)
{
	(void)state;
	size_t len;
	char *code = gm_prompt_unit_code(PY, strlen(PY), unit("Shape.area"), &len);
	assert_string_equal(code, "    # Area.\n    def area(self, w, h):\n        import json\n"
	                          "        return util.mul(w, h)");
	assert_int_equal(len, strlen(code));
	free(code);
}

static void scope_header_is_the_enclosing_class_line(void **state)
{
	(void)state;
	const struct gm_lang *py = gm_lang_by_name("python");
	char *h = gm_prompt_scope_header(PY, strlen(PY), unit("Shape.area"), py);
	assert_string_equal(h, "class Shape(Base):");
	free(h);
	assert_null(gm_prompt_scope_header(PY, strlen(PY), unit("top"), py));
}

static void import_lines_are_the_files_imports_only(void **state)
{
	(void)state;
	char **lines;
	size_t n = gm_prompt_import_lines(&lines, gm_lang_by_name("python"), PY, strlen(PY), 10);
	/* Not the use of os at top level, not the import inside the method. */
	assert_int_equal(n, 2);
	assert_string_equal(lines[0], "import os");
	assert_string_equal(lines[1], "from pkg import util");
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

static void rewrite_prompt_has_goal_plan_context_and_function(void **state)
{
	(void)state;
	const char *imports[] = { "import os", "from pkg import util" };
	const char *callees[] = { "def mul(a, b)" };
	struct gm_rewrite_prompt p = {
		.goal = "use f-strings",
		.instructions = "inline the multiplication",
		.new_name = "surface",
		.path = "geo/shape.py",
		.lang = gm_lang_by_name("python"),
		.scope_header = "class Shape(Base):",
		.imports = imports,
		.nimports = 2,
		.callees = callees,
		.ncallees = 1,
		.code = "def area(self, w, h):\n    return util.mul(w, h)",
		.code_len = 47,
	};
	char *s = gm_prompt_rewrite_user(&p);
	assert_non_null(strstr(s, "Goal: use f-strings\n"));
	assert_non_null(strstr(s, "Instructions for this function: inline the multiplication\n"));
	assert_non_null(strstr(s, "Rename the function to `surface`."));
	assert_non_null(strstr(s, "File: geo/shape.py (python)\n"));
	assert_non_null(strstr(s, "```python\nimport os\nfrom pkg import util\n```\n"));
	assert_non_null(strstr(s, "`class Shape(Base):`"));
	assert_non_null(strstr(s, "- `def mul(a, b)`\n"));
	assert_non_null(strstr(s, "```python\ndef area(self, w, h):\n    return util.mul(w, h)\n```\n"));
	assert_null(strstr(s, "rejected"));
	free(s);

	/* A retry says why; without a plan there are no instructions. */
	p.instructions = NULL;
	p.new_name = NULL;
	p.previous_error = "answer contains two functions ('a' and 'b')";
	s = gm_prompt_rewrite_user(&p);
	assert_null(strstr(s, "Instructions"));
	assert_null(strstr(s, "Rename"));
	assert_non_null(strstr(s, "Your previous answer was rejected: answer contains two functions "
	                          "('a' and 'b'); answer again.\n"));
	free(s);
}

static void code_with_backticks_gets_a_longer_fence(void **state)
{
	(void)state;
	const char *code = "def doc():\n    return \"```x```\"";
	struct gm_rewrite_prompt p = { .goal = "g", .path = "d.py", .lang = gm_lang_by_name("python"),
	                               .code = code, .code_len = strlen(code) };
	char *s = gm_prompt_rewrite_user(&p);
	assert_non_null(strstr(s, "````python\ndef doc():\n    return \"```x```\"\n````\n"));
	/* And the answer extractor reads such a block back whole. */
	struct gm_code_block *b = NULL;
	const char *from = strstr(s, "The function:");
	assert_true(gm_extract_blocks(&b, from, strlen(from)) >= 1);
	assert_int_equal((size_t)(b[0].end - b[0].start), strlen(code) + 1);
	assert_memory_equal(b[0].start, code, strlen(code));
	free(b);
	free(s);
}

static void system_prompt_states_the_rules(void **state)
{
	(void)state;
	const char *s = gm_prompt_rewrite_system();
	assert_non_null(strstr(s, "one fenced code block"));
	assert_non_null(strstr(s, "helper functions"));
	assert_non_null(strstr(s, "Imports"));
	assert_non_null(strstr(s, "name and signature"));
	assert_non_null(strstr(s, "behaviour"));
	assert_non_null(strstr(s, "comments"));
	assert_non_null(strstr(s, "placeholders"));
	assert_true(strlen(GM_PROMPT_VERSION) > 0);
}

static void plan_schema_is_valid_json_with_the_contract_fields(void **state)
{
	(void)state;
	cJSON *s = cJSON_Parse(gm_prompt_plan_schema);
	assert_non_null(s);
	cJSON *unit_props = cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
			cJSON_GetObjectItem(s, "properties"), "units"), "items"), "properties"), "action");
	assert_non_null(unit_props);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(unit_props, "enum")), 2);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "properties"), "call_sites"));
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "properties"), "rationale"));
	cJSON_Delete(s);
}

static const struct gm_plan_prompt_unit known[] = {
	{ "geo/shape.py", "Shape.area", NULL, "def area(self, w, h): ...", 25 },
	{ "geo/util.py", "mul", NULL, "def mul(a, b): ...", 18 },
};

static void plan_prompt_lists_units_signatures_and_schema(void **state)
{
	(void)state;
	const char *sigs[] = { "def caller(x)" };
	struct gm_plan_prompt_unit u[2];
	memcpy(u, known, sizeof(u));
	u[0].lang = u[1].lang = gm_lang_by_name("python");
	char *s = gm_prompt_plan_user("rename mul to multiply", u, 2, sigs, 1);
	assert_non_null(strstr(s, "Goal: rename mul to multiply\n"));
	assert_non_null(strstr(s, "geo/shape.py: Shape.area\n```python\ndef area(self, w, h): ...\n```"));
	assert_non_null(strstr(s, "geo/util.py: mul\n"));
	assert_non_null(strstr(s, "- `def caller(x)`\n"));
	assert_non_null(strstr(s, gm_prompt_plan_schema));
	free(s);
}

static void analysis_answer_becomes_a_plan(void **state)
{
	(void)state;
	const char *answer =
		"```json\n{\"units\":["
		"{\"path\":\"geo/util.py\",\"name\":\"mul\",\"action\":\"rewrite\","
		"\"instructions\":\"rename to multiply\",\"new_name\":\"multiply\","
		"\"new_signature\":\"def multiply(a, b)\"},"
		"{\"path\":\"shape.py\",\"name\":\"Shape.area\",\"action\":\"keep\",\"instructions\":\"\"},"
		"{\"path\":\"x.py\",\"name\":\"ghost\",\"action\":\"rewrite\",\"instructions\":\"?\"}],"
		"\"call_sites\":[{\"path\":\"geo/shape.py\",\"name\":\"Shape.area\","
		"\"instructions\":\"call multiply\"}],\"rationale\":\"one name\"}\n```";
	cJSON *j;
	struct gm_analysis a;
	assert_int_equal(gm_extract_json(&j, answer, strlen(answer)), 0);
	assert_int_equal(gm_prompt_analysis_parse(&a, j, known, 2), 0);
	cJSON_Delete(j);

	assert_int_equal(a.nunits, 2);
	assert_string_equal(a.units[0].name, "mul");
	assert_true(a.units[0].rewrite);
	assert_string_equal(a.units[0].new_name, "multiply");
	assert_string_equal(a.units[0].new_signature, "def multiply(a, b)");
	/* A mangled path with an unambiguous name is the known unit's. */
	assert_string_equal(a.units[1].path, "geo/shape.py");
	assert_false(a.units[1].rewrite);
	assert_null(a.units[1].new_name);
	assert_int_equal(a.nwarnings, 1);
	assert_string_equal(a.warnings[0], "plan names unknown function 'ghost' (ignored)");
	assert_int_equal(a.nsites, 1);
	assert_string_equal(a.sites[0].instructions, "call multiply");
	assert_string_equal(a.rationale, "one name");
	gm_prompt_analysis_release(&a);
}

static void malformed_analysis_is_refused_naming_the_field(void **state)
{
	(void)state;
	static const struct { const char *json, *msg; } cases[] = {
		{ "{\"rationale\":\"x\"}", "plan has no 'units' array" },
		{ "{\"units\":[{\"name\":\"mul\",\"action\":\"delete\"}]}",
		  "plan: units[0].action must be 'rewrite' or 'keep', not 'delete'" },
		{ "{\"units\":[{\"name\":\"mul\",\"action\":\"keep\"},{\"action\":\"keep\"}]}",
		  "plan: units[1] lacks a string 'name'" },
		{ "{\"units\":[],\"call_sites\":[{\"path\":\"a.py\"}]}",
		  "plan: call_sites[0] lacks a string 'name'" },
		{ "{\"units\":[],\"call_sites\":{}}", "plan: 'call_sites' is not an array" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *j = cJSON_Parse(cases[i].json);
		struct gm_analysis a;
		assert_non_null(j);
		assert_int_equal(gm_prompt_analysis_parse(&a, j, known, 2), GM_EINVALID);
		assert_string_equal(gm_error_last(), cases[i].msg);
		assert_int_equal(a.nunits, 0);
		cJSON_Delete(j);
	}
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
		cmocka_unit_test(method_code_is_given_as_it_stands_in_the_file),
		cmocka_unit_test(scope_header_is_the_enclosing_class_line),
		cmocka_unit_test(import_lines_are_the_files_imports_only),
		cmocka_unit_test(rewrite_prompt_has_goal_plan_context_and_function),
		cmocka_unit_test(code_with_backticks_gets_a_longer_fence),
		cmocka_unit_test(system_prompt_states_the_rules),
		cmocka_unit_test(plan_schema_is_valid_json_with_the_contract_fields),
		cmocka_unit_test(plan_prompt_lists_units_signatures_and_schema),
		cmocka_unit_test(analysis_answer_becomes_a_plan),
		cmocka_unit_test(malformed_analysis_is_refused_naming_the_field),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
