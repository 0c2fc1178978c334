/*
 * Routing reasons the report shows, target selection by glob and by diff,
 * and the context check that keeps a task from being sent truncated.
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
#include "monitor/plan.h"
#include "monitor/price.h"

/*
 * A hand-made index: a.py has parse_args (cc 3, L1-8) and Cli.run (cc 14,
 * L10-40); b.py (monitor-local-only) has helper (cc 2, L1-5).  Cluster 0:
 * parse_args + helper (a cross-file call); cluster 1: Cli.run alone.
 */
static struct gm_unit a_units[2], b_units[1];
static struct gm_file files[2];
static struct gm_unit_info infos[3];
static struct gm_index idx;

static void set_unit(struct gm_unit *u, const char *name, const char *short_name, unsigned cc,
                     uint32_t l0, uint32_t l1)
{
	u->name = (char *)name;
	u->short_name = (char *)short_name;
	u->kind = "function";
	u->complexity = cc;
	u->start_line = l0;
	u->end_line = l1;
}

static int setup(void **state)
{
	(void)state;
	set_unit(&a_units[0], "parse_args", "parse_args", 3, 1, 8);
	set_unit(&a_units[1], "Cli.run", "run", 14, 10, 40);
	set_unit(&b_units[0], "helper", "helper", 2, 1, 5);
	files[0].path = (char *)"a.py";
	files[0].scan.units = a_units;
	files[0].scan.n = 2;
	files[0].first_unit = 0;
	files[1].path = (char *)"b.py";
	files[1].scan.units = b_units;
	files[1].scan.n = 1;
	files[1].first_unit = 2;
	files[1].local_only = true;
	infos[0] = (struct gm_unit_info){ .file = 0, .unit = 0, .cluster = 0 };
	infos[1] = (struct gm_unit_info){ .file = 0, .unit = 1, .cluster = 1, .complex = true };
	infos[2] = (struct gm_unit_info){ .file = 1, .unit = 0, .cluster = 0 };
	idx.files = files;
	idx.nfiles = 2;
	idx.units = infos;
	idx.nunits = 3;
	idx.nclusters = 2;
	idx.threshold = 10;
	return 0;
}

/* Route every unit of `cluster`, as the run routes a cluster's targets. */
static int route_cluster(struct gm_route *r, size_t cluster, const struct gm_route_opts *o)
{
	size_t units[3], n = 0;
	for (size_t id = 0; id < idx.nunits; id++)
		if (idx.units[id].cluster >= 0 && (size_t)idx.units[id].cluster == cluster)
			units[n++] = id;
	return gm_plan_route_units(r, &idx, units, n, o);
}

static void expect_route(size_t cluster, struct gm_route_opts o, enum gm_analysis_route want,
                         const char *reason)
{
	struct gm_route r;
	assert_int_equal(route_cluster(&r, cluster, &o), 0);
	assert_string_equal(gm_analysis_route_name(r.route), gm_analysis_route_name(want));
	assert_string_equal(r.reason, reason);
	gm_route_release(&r);
}

static void complex_cluster_goes_to_claude_with_a_key(void **state)
{
	(void)state;
	expect_route(1, (struct gm_route_opts){ .have_claude_key = true }, GM_ANALYSIS_CLAUDE,
	             "complexity 14 >= 10");
}

static void simple_cluster_needs_no_analysis(void **state)
{
	(void)state;
	expect_route(0, (struct gm_route_opts){ .have_claude_key = true }, GM_ANALYSIS_NONE,
	             "complexity 3 < 10");
}

static void without_claude_the_local_model_analyses_and_says_why(void **state)
{
	(void)state;
	expect_route(1, (struct gm_route_opts){ 0 }, GM_ANALYSIS_LOCAL,
	             "complexity 14 >= 10; no Claude key: analysis by the local model");
	expect_route(1, (struct gm_route_opts){ .have_claude_key = true, .local_only = true },
	             GM_ANALYSIS_LOCAL, "complexity 14 >= 10; --local-only: analysis by the local model");
	expect_route(1, (struct gm_route_opts){ .have_claude_key = true, .max_cost_spent = true },
	             GM_ANALYSIS_LOCAL, "complexity 14 >= 10; --max-cost spent: analysis by the local model");
}

static void plan_flag_analyses_every_cluster_and_local_only_paths_stay_local(void **state)
{
	(void)state;
	expect_route(0, (struct gm_route_opts){ .have_claude_key = true, .plan_all = true },
	             GM_ANALYSIS_LOCAL,
	             "--plan; monitor-local-only path 'b.py': analysis by the local model");
	files[1].local_only = false;
	expect_route(0, (struct gm_route_opts){ .have_claude_key = true, .plan_all = true },
	             GM_ANALYSIS_CLAUDE, "--plan");
	files[1].local_only = true;
}

static void unknown_cluster_is_an_error(void **state)
{
	(void)state;
	struct gm_route r;
	struct gm_route_opts o = { 0 };
	assert_int_equal(route_cluster(&r, 7, &o), GM_EINVALID);
	assert_null(r.reason);
}

static void function_globs_match_qualified_or_short_names(void **state)
{
	(void)state;
	struct gm_unit foo_bar = { .name = (char *)"Foo.bar", .short_name = (char *)"bar" };
	struct gm_unit foobar = { .name = (char *)"Foobar.x", .short_name = (char *)"x" };
	struct gm_unit parse = { .name = (char *)"Cli.parse_opts", .short_name = (char *)"parse_opts" };
	const char *foo[] = { "Foo.*" }, *par[] = { "parse_*" }, *two[] = { "nothing", "bar" };

	assert_true(gm_plan_match_function(&foo_bar, foo, 1));
	assert_false(gm_plan_match_function(&foobar, foo, 1));
	assert_true(gm_plan_match_function(&parse, par, 1));
	assert_false(gm_plan_match_function(&foo_bar, par, 1));
	assert_true(gm_plan_match_function(&foo_bar, two, 2));
	assert_true(gm_plan_match_function(&foobar, NULL, 0));
}

/* A diff that changed one file. */
static struct gm_file_lines one_file_lines;
static struct gm_changed_lines one_changes;

static const struct gm_changed_lines *one_file(const char *path, struct gm_line_range *r, size_t n)
{
	one_file_lines = (struct gm_file_lines){ .path = (char *)path, .ranges = r, .n = n };
	one_changes = (struct gm_changed_lines){ .files = &one_file_lines, .n = 1 };
	return &one_changes;
}

static void diff_ranges_select_the_units_they_touch(void **state)
{
	(void)state;
	const struct gm_unit *run = &a_units[1]; /* L10-40 */
	const struct gm_line_range before = { 5, 9 }, edge = { 9, 10 }, last = { 40, 45 },
	                           after = { 41, 50 }, del_in = { 15, 14 }, del_before = { 10, 9 },
	                           del_after = { 41, 40 };
	assert_false(gm_plan_unit_touched(run, NULL, &before, 1));
	assert_true(gm_plan_unit_touched(run, NULL, &edge, 1));
	assert_true(gm_plan_unit_touched(run, NULL, &last, 1));
	assert_false(gm_plan_unit_touched(run, NULL, &after, 1));
	assert_true(gm_plan_unit_touched(run, NULL, &del_in, 1));
	assert_false(gm_plan_unit_touched(run, NULL, &del_before, 1));
	assert_false(gm_plan_unit_touched(run, NULL, &del_after, 1));

	struct gm_line_range r[] = { { 3, 3 }, { 50, 52 } };
	size_t *ids;
	size_t n = gm_plan_select_touched(&ids, &idx, one_file("a.py", r, 2));
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 0);
	free(ids);
	struct gm_line_range all = { 1, 100 };
	n = gm_plan_select_touched(&ids, &idx, one_file("a.py", &all, 1));
	assert_int_equal(n, 2);
	assert_int_equal(ids[1], 1);
	free(ids);
	assert_int_equal(gm_plan_select_touched(&ids, &idx, one_file("c.py", &all, 1)), 0);
	assert_null(ids);
}

/*
 * Lines removed right below a function: outside it when a closing line
 * ends it (C), possibly its tail when indentation does (Python).  Inside,
 * both are touched; right above, neither.
 */
static void deletion_below_a_function_depends_on_the_block_style(void **state)
{
	(void)state;
	const struct gm_lang *c = gm_lang_by_name("c"), *python = gm_lang_by_name("python");
	struct gm_unit f = { .name = (char *)"f", .short_name = (char *)"f", .start_line = 3,
	                     .end_line = 6 };
	const struct gm_line_range below = { 7, 6 }, inside = { 5, 4 }, above = { 3, 2 },
	                           at_top = { 1, 0 }, further = { 8, 7 }, changed_below = { 7, 7 };

	assert_non_null(c);
	assert_non_null(python);
	assert_false(c->indent_blocks);
	assert_true(python->indent_blocks);
	assert_false(gm_plan_unit_touched(&f, c, &below, 1));
	assert_true(gm_plan_unit_touched(&f, python, &below, 1));
	for (int i = 0; i < 2; i++) {
		const struct gm_lang *l = i ? python : c;
		assert_true(gm_plan_unit_touched(&f, l, &inside, 1));
		assert_false(gm_plan_unit_touched(&f, l, &above, 1));
		assert_false(gm_plan_unit_touched(&f, l, &at_top, 1));
		assert_false(gm_plan_unit_touched(&f, l, &further, 1));
		assert_false(gm_plan_unit_touched(&f, l, &changed_below, 1));
	}

	/* Selection follows the file's language. */
	files[0].lang = python;
	struct gm_line_range below_parse_args = { 9, 8 }; /* parse_args is L1-8 */
	size_t *ids;
	assert_int_equal(gm_plan_select_touched(&ids, &idx, one_file("a.py", &below_parse_args, 1)), 1);
	assert_int_equal(ids[0], 0);
	free(ids);
	files[0].lang = c;
	assert_int_equal(gm_plan_select_touched(&ids, &idx, one_file("a.py", &below_parse_args, 1)), 0);
	files[0].lang = NULL;
}

static void task_that_does_not_fit_the_context_is_detected(void **state)
{
	(void)state;
	struct gm_token_estimate e;
	gm_plan_estimate(&e, GM_ESTIMATE_REWRITE, 1000, 400);
	assert_int_equal(e.prompt, 250);
	assert_int_equal(e.output, 120);
	assert_int_equal(e.total, 370);
	assert_true(gm_plan_fits_context(&e, 370));
	assert_false(gm_plan_fits_context(&e, 369));
	assert_true(gm_plan_fits_context(&e, 0));
	gm_plan_estimate(&e, GM_ESTIMATE_REWRITE, 1, 1);
	assert_int_equal(e.prompt, 1);
	assert_int_equal(e.output, 1);
}

static void one_estimate_gives_tokens_and_claude_cost(void **state)
{
	(void)state;
	struct gm_token_estimate e;
	/* An analysis answers with a plan about half the code's size. */
	gm_plan_estimate(&e, GM_ESTIMATE_ANALYSIS, 1000, 800);
	assert_int_equal(e.prompt, 250);
	assert_int_equal(e.output, 120);
	/* claude-sonnet-5: $2 per million in, $10 out (the backend prices it so). */
	assert_true(gm_price_cost("claude-sonnet-5", (int64_t)e.prompt, (int64_t)e.output, 0, 0) > 0.0016999 &&
	            gm_price_cost("claude-sonnet-5", (int64_t)e.prompt, (int64_t)e.output, 0, 0) < 0.0017001);
}

static void worst_case_counts_a_token_per_byte_and_every_output_token(void **state)
{
	/* sonnet: input $2/M, cache write $2.50/M (the dearer), output $10/M */
	double w = gm_plan_worst_cost(1000, 100, "claude-sonnet-5");
	double want = ((1000.0 + GM_PLAN_REQUEST_OVERHEAD_TOKENS) * 2.5 + 100.0 * 10.0) / 1e6;
	struct gm_token_estimate e;
	(void)state;
	assert_true(w > want - 1e-12 && w < want + 1e-12);
	/* Always above the estimate of the same request, answer at its limit. */
	gm_plan_estimate(&e, GM_ESTIMATE_ANALYSIS, 1000, 800);
	e.output = 100;
	assert_true(w > gm_price_cost("claude-sonnet-5", (int64_t)e.prompt, (int64_t)e.output, 0, 0));
	/* No price, no bound. */
	assert_true(gm_plan_worst_cost(1000, 100, "claude-unknown-9") < 0);
	assert_true(gm_plan_worst_cost(1000, 100, NULL) < 0);
}

static void targets_group_by_cluster_in_their_order(void **state)
{
	(void)state;
	const size_t targets[] = { 2, 1, 0 };
	struct gm_plan_groups g;
	gm_plan_group(&g, &idx, targets, 3);
	assert_int_equal(g.nclusters, 2);
	/* cluster 0: helper (2) then parse_args (0), as given; cluster 1: Cli.run. */
	assert_int_equal(g.start[1] - g.start[0], 2);
	assert_int_equal(g.units[g.start[0]], 2);
	assert_int_equal(g.units[g.start[0] + 1], 0);
	assert_int_equal(g.start[2] - g.start[1], 1);
	assert_int_equal(g.units[g.start[1]], 1);
	gm_plan_groups_release(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(complex_cluster_goes_to_claude_with_a_key),
		cmocka_unit_test(simple_cluster_needs_no_analysis),
		cmocka_unit_test(without_claude_the_local_model_analyses_and_says_why),
		cmocka_unit_test(plan_flag_analyses_every_cluster_and_local_only_paths_stay_local),
		cmocka_unit_test(unknown_cluster_is_an_error),
		cmocka_unit_test(function_globs_match_qualified_or_short_names),
		cmocka_unit_test(diff_ranges_select_the_units_they_touch),
		cmocka_unit_test(deletion_below_a_function_depends_on_the_block_style),
		cmocka_unit_test(task_that_does_not_fit_the_context_is_detected),
		cmocka_unit_test(one_estimate_gives_tokens_and_claude_cost),
		cmocka_unit_test(targets_group_by_cluster_in_their_order),
		cmocka_unit_test(worst_case_counts_a_token_per_byte_and_every_output_token),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
