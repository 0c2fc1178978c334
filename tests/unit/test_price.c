/*
 * The price table's lookup and the cost arithmetic.  The table itself (the
 * numbers of PROTOCOLS.md B10) lives in price.c only; restating it here
 * would test nothing but the copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "monitor/price.h"

static void test_cost_is_per_million_tokens_of_each_kind(void **state)
{
	const struct gm_price *p = gm_price_lookup(GM_CLAUDE_DEFAULT_MODEL);
	(void)state;
	/* the default model has a row: a run's cost is never silently 0 */
	assert_non_null(p);
	assert_float_equal(gm_price_cost(p->model, 1000000, 0, 0, 0), p->input, 1e-9);
	assert_float_equal(gm_price_cost(p->model, 1000, 500, 2000, 10000),
	                   (1000 * p->input + 500 * p->output + 2000 * p->cache_write +
	                    10000 * p->cache_read) / 1e6, 1e-12);
}

static void test_dated_id_matches_its_family(void **state)
{
	(void)state;
	assert_string_equal(gm_price_lookup("claude-haiku-4-5-20251001")->model,
	                    "claude-haiku-4-5");
	assert_string_equal(gm_price_lookup("claude-opus-5-5-20260922")->model,
	                    "claude-opus-5-5");
	/* the longest prefix wins: opus-5-5 is not opus-5 */
	assert_string_equal(gm_price_lookup("claude-opus-5-5")->model, "claude-opus-5-5");
	/* a prefix must end at a '-' */
	assert_null(gm_price_lookup("claude-sonnet-50"));
}

static void test_unknown_model_costs_nothing(void **state)
{
	(void)state;
	assert_null(gm_price_lookup("gpt-oss-20b"));
	assert_float_equal(gm_price_cost("gpt-oss-20b", 1000, 1000, 0, 0), 0.0, 0);
	assert_float_equal(gm_price_cost(NULL, 1000, 1000, 0, 0), 0.0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cost_is_per_million_tokens_of_each_kind),
		cmocka_unit_test(test_dated_id_matches_its_family),
		cmocka_unit_test(test_unknown_model_costs_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
