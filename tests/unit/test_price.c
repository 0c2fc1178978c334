/* The price table: the cost a user sees per request and per run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "monitor/backend.h"
#include "monitor/price.h"

static void test_sonnet_5_cost(void **state)
{
	(void)state;
	/* 1M input at $2, 1M output at $10, 1M cache writes $2.50, reads $0.20 */
	assert_float_equal(gm_price_cost("claude-sonnet-5", 1000000, 0, 0, 0), 2.0, 1e-9);
	assert_float_equal(gm_price_cost("claude-sonnet-5", 1000, 500, 2000, 10000),
	                   (1000 * 2.0 + 500 * 10.0 + 2000 * 2.5 + 10000 * 0.2) / 1e6, 1e-12);
}

static void test_opus_5_5_cheap_cache_reads(void **state)
{
	(void)state;
	assert_float_equal(gm_price_cost("claude-opus-5-5", 0, 0, 0, 1000000), 0.20, 1e-9);
	assert_float_equal(gm_price_cost("claude-opus-5", 0, 1000000, 0, 0), 25.0, 1e-9);
}

static void test_dated_id_matches_its_family(void **state)
{
	(void)state;
	assert_string_equal(gm_price_lookup("claude-haiku-4-5-20251001")->model,
	                    "claude-haiku-4-5");
	assert_string_equal(gm_price_lookup("claude-opus-5-5-20260922")->model,
	                    "claude-opus-5-5");
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

static void test_default_model_and_forced_tool_flags(void **state)
{
	(void)state;
	assert_non_null(gm_price_lookup(GM_CLAUDE_DEFAULT_MODEL));
	assert_true(gm_price_lookup("claude-sonnet-5")->forced_tool);
	assert_false(gm_price_lookup("claude-opus-5-5")->forced_tool);
	assert_false(gm_price_lookup("claude-fable-5-1")->forced_tool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sonnet_5_cost),
		cmocka_unit_test(test_opus_5_5_cheap_cache_reads),
		cmocka_unit_test(test_dated_id_matches_its_family),
		cmocka_unit_test(test_unknown_model_costs_nothing),
		cmocka_unit_test(test_default_model_and_forced_tool_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
