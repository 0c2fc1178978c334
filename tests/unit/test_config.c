/*
 * Settings: defaults come from the one table, and the check doctor shows
 * (bad counts fail, bad choices warn, the first problem of the worst kind
 * is the one reported).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <git2.h>

#include "monitor/config.h"
#include "monitor/error.h"

static struct gm_config *load(void)
{
	struct gm_config *cfg = NULL;
	assert_int_equal(gm_config_load(&cfg, NULL), 0);
	return cfg;
}

static void counts_default_to_the_table(void **state)
{
	struct gm_config *cfg = load();
	int64_t n;
	(void)state;
	assert_int_equal(gm_config_int(&n, cfg, "monitor.scan.maxFileSize"), 0);
	assert_int_equal(n, 1024 * 1024);
	assert_int_equal(gm_config_int(&n, cfg, "monitor.route.complexity"), 0);
	assert_int_equal(n, 10);
	assert_int_equal(gm_config_int(&n, cfg, "monitor.hook.maxComplexity"), 0);
	assert_int_equal(n, 15);
	assert_int_equal(gm_config_int(&n, NULL, "monitor.local.timeout"), 0);
	assert_int_equal(n, 600);
	gm_config_set(cfg, "monitor.route.complexity", "2k", "test");
	assert_int_equal(gm_config_int(&n, cfg, "monitor.route.complexity"), 0);
	assert_int_equal(n, 2048);
	gm_config_set(cfg, "monitor.route.complexity", "ten", "test");
	assert_int_equal(gm_config_int(&n, cfg, "monitor.route.complexity"), GM_EUSAGE);
	assert_string_equal(gm_error_last(), "bad numeric value 'ten' for 'monitor.route.complexity'");
	/* Not a count of the table: the caller's mistake, not the user's. */
	assert_int_equal(gm_config_int(&n, cfg, "monitor.goal"), GM_EINVALID);
	assert_int_equal(gm_config_int(&n, cfg, "monitor.nothing"), GM_EINVALID);
	assert_string_equal(gm_config_default("monitor.hook.mode"), "warn");
	assert_null(gm_config_default("monitor.nothing"));
	gm_config_free(cfg);
}

static void check_warns_on_choices_and_fails_on_counts(void **state)
{
	struct gm_config *cfg = load();
	struct gm_config_check c;
	(void)state;

	gm_config_check(&c, cfg, NULL);
	assert_int_equal(c.verdict, GM_CONFIG_VALID);
	assert_string_equal(c.detail, "0 monitor.* settings configured, all valid");
	assert_null(c.hint);
	assert_string_equal(c.settings[0].key, "monitor.local.url");
	assert_string_equal(c.settings[0].origin, "default");
	gm_config_check_release(&c);

	gm_config_set(cfg, "monitor.hook.mode", "loud", "test");
	gm_config_check(&c, cfg, NULL);
	assert_int_equal(c.verdict, GM_CONFIG_WARN);
	assert_string_equal(c.detail, "monitor.hook.mode = 'loud' (from test): not one of "
	                              "warn|block|suggest; warn is used");
	assert_string_equal(c.hint, "git config monitor.hook.mode warn");
	gm_config_check_release(&c);

	/* A value that stops a run wins over the warning. */
	gm_config_set(cfg, "monitor.local.concurrency", "0", "test");
	gm_config_check(&c, cfg, NULL);
	assert_int_equal(c.verdict, GM_CONFIG_FAIL);
	assert_string_equal(c.detail, "monitor.local.concurrency = '0' (from test): not a positive "
	                              "whole number");
	assert_string_equal(c.hint, "git config monitor.local.concurrency 4");
	gm_config_check_release(&c);
	gm_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_default_to_the_table),
		cmocka_unit_test(check_warns_on_choices_and_fails_on_counts),
	};
	char home[] = "/tmp/gm-test-config-XXXXXX";
	int rc;

	/* No user or system config may leak into the test. */
	if (!mkdtemp(home))
		return 1;
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	unsetenv("MONITOR_LOCAL_URL");
	unsetenv("ANTHROPIC_BASE_URL");
	git_libgit2_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	git_libgit2_shutdown();
	rmdir(home);
	return rc;
}
