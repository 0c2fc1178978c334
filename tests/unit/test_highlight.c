/*
 * Highlighting with the grammar packages' own highlights.scm: every
 * language's query compiles (a pattern the runtime refuses is left out,
 * not the query), and code gets the classes a reader expects: keywords,
 * function names, strings, comments, types, in the context of its file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/highlight.h"
#include "monitor/lang.h"
#include "monitor/util.h"

/* The class of the first occurrence of `word` in `src` (whole range highlighted). */
static enum gm_hl class_at(const char *lang_name, const char *src, const char *word)
{
	const struct gm_lang *lang = gm_lang_by_name(lang_name);
	TSParser *p = ts_parser_new();
	TSTree *tree;
	size_t len = strlen(src);
	uint8_t *cls = gm_xmalloc(len + 1);
	const char *at = strstr(src, word);
	enum gm_hl c;

	assert_non_null(lang);
	assert_non_null(at);
	assert_true(ts_parser_set_language(p, lang->grammar()));
	tree = ts_parser_parse_string(p, NULL, src, (uint32_t)len);
	assert_int_equal(gm_highlight_range(cls, lang, tree, src, len, 0, (uint32_t)len), 0);
	c = (enum gm_hl)cls[at - src];
	/* the whole word has it */
	for (size_t i = 1; i < strlen(word); i++)
		assert_int_equal(cls[at - src + i], c);
	free(cls);
	ts_tree_delete(tree);
	ts_parser_delete(p);
	return c;
}

static void every_language_has_a_query_that_compiles(void **state)
{
	(void)state;
	for (const struct gm_lang *const *l = gm_lang_all(); *l; l++) {
		unsigned dropped = 99;
		assert_true(gm_highlight_ready(*l, &dropped));
		/* the packages' files fit the grammars they came with */
		if (dropped)
			print_message("%s: %u pattern(s) left out\n", (*l)->name, dropped);
		assert_true(dropped < 3);
	}
}

static void python_code_gets_the_classes_a_reader_expects(void **state)
{
	const char *src = "import os\n\n\nclass Box:\n    def size(self, n=3):\n"
	                  "        # count them\n        return len(\"abc\") + n  # done\n";
	(void)state;
	assert_int_equal(class_at("python", src, "def"), GM_HL_KEYWORD);
	assert_int_equal(class_at("python", src, "import"), GM_HL_KEYWORD);
	assert_int_equal(class_at("python", src, "size"), GM_HL_FUNCTION);
	assert_int_equal(class_at("python", src, "# count them"), GM_HL_COMMENT);
	assert_int_equal(class_at("python", src, "\"abc\""), GM_HL_STRING);
	assert_int_equal(class_at("python", src, "3"), GM_HL_NUMBER);
	assert_int_equal(class_at("python", src, "len"), GM_HL_FUNCTION);
	assert_int_equal(class_at("python", "x = None\n", "None"), GM_HL_BUILTIN);
	/* a constant by the #match? predicate; an ordinary name stays plain */
	assert_int_equal(class_at("python", "MAX_N = 1\nx = MAX_N\n", "MAX_N"), GM_HL_NUMBER);
	assert_int_equal(class_at("python", "max_n = 1\n", "max_n"), GM_HL_NONE);
}

static void the_other_languages_too(void **state)
{
	(void)state;
	/* the last matching pattern wins: a declared function is a function, not a variable */
	assert_int_equal(class_at("javascript", "function total(a) { return a; }\n", "total"),
	                 GM_HL_FUNCTION);
	assert_int_equal(class_at("javascript", "const s = `x${1}`; // c\n", "// c"), GM_HL_COMMENT);
	/* TypeScript builds on JavaScript's queries: both apply */
	assert_int_equal(class_at("typescript", "function f(a: number): Item { return a; }\n", "Item"),
	                 GM_HL_TYPE);
	assert_int_equal(class_at("typescript", "function f(a: number) { return a; }\n", "function"),
	                 GM_HL_KEYWORD);
	assert_int_equal(class_at("tsx", "const e = <div>hi</div>;\n", "div"), GM_HL_TAG);
	assert_int_equal(class_at("c", "static int twice(int a) { return a * 2; }\n", "return"),
	                 GM_HL_KEYWORD);
	assert_int_equal(class_at("c", "static int twice(int a) { return a * 2; }\n", "twice"),
	                 GM_HL_FUNCTION);
	/* C++ builds on C's */
	assert_int_equal(class_at("cpp", "namespace n { int f() { return 0; } }\n", "namespace"),
	                 GM_HL_KEYWORD);
	assert_int_equal(class_at("cpp", "int f() { return 0; }\n", "return"), GM_HL_KEYWORD);
	assert_int_equal(class_at("go", "package m\n\nfunc F() string { return \"x\" }\n", "\"x\""),
	                 GM_HL_STRING);
	assert_int_equal(class_at("rust", "fn f() -> u32 { let x = 1; x }\n", "let"), GM_HL_KEYWORD);
	assert_int_equal(class_at("java", "class A { int f() { return 1; } }\n", "class"),
	                 GM_HL_KEYWORD);
}

static void a_pattern_the_runtime_refuses_is_left_out_not_the_query(void **state)
{
	const char *q = "(identifier) @variable\n"
	                "; a node type this grammar does not have\n"
	                "(no_such_node) @keyword\n"
	                "((identifier) @constant (#match? @constant \"^[A-Z][A-Z\\\\d_]*$\"))\n"
	                "[\"def\" \"return\"] @keyword\n"
	                "((string) @string (#frobnicate! @string))\n"
	                "(comment) @comment\n";
	unsigned dropped = 0;
	TSQuery *query;
	(void)state;

	query = gm_highlight_query_new(gm_lang_by_name("python")->grammar(), q, strlen(q), &dropped);
	assert_non_null(query);
	assert_int_equal(dropped, 1);
	assert_int_equal(ts_query_pattern_count(query), 5);
	ts_query_delete(query);
	/* nothing compiles: NULL, no crash */
	query = gm_highlight_query_new(gm_lang_by_name("python")->grammar(), "((((", 4, &dropped);
	assert_null(query);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_language_has_a_query_that_compiles),
		cmocka_unit_test(python_code_gets_the_classes_a_reader_expects),
		cmocka_unit_test(the_other_languages_too),
		cmocka_unit_test(a_pattern_the_runtime_refuses_is_left_out_not_the_query),
	};
	int rc;
	gm_lang_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	gm_highlight_shutdown();
	return rc;
}
