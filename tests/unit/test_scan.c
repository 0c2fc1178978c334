/*
 * Properties of the scanner that the golden files cannot show: the time a
 * scan takes grows linearly with the number of units in a file.  Generated
 * sources (parser tables, bundles) hold hundreds of thousands of units;
 * every pass over them must be linear, so scanning 8x the units must cost
 * about 8x, not 64x.  Measured as a ratio of CPU times on the same machine
 * (best of a few runs), so the machine's speed does not matter; the bound
 * (16x) leaves room for noise and cache effects and is still well under
 * what a quadratic pass gives at these sizes (over 25x).  And a large
 * object literal keeps all of its methods.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "monitor/error.h"
#include "monitor/lang.h"
#include "monitor/scan.h"
#include "monitor/util.h"

/*
 * The shapes that were quadratic: many methods of one class (qualified
 * names sharing a long prefix, compared pairwise for ordinals), many
 * top-level functions with parameters (each parameter's parent looked up
 * from the root), many scopes (every scope visited for every unit).
 */
static char *python_source(size_t n, size_t *len)
{
	struct gm_buf b = GM_BUF_INIT;
	/* A long class name: every method's qualified name starts with it. */
	gm_buf_puts(&b, "class C");
	for (int i = 0; i < 40; i++)
		gm_buf_puts(&b, "_NamespaceLikePrefix");
	gm_buf_puts(&b, ":\n");
	for (size_t i = 0; i < n; i++)
		gm_buf_printf(&b, "    def method_%zu(self, a, b=1):\n        return a + b\n\n", i);
	for (size_t i = 0; i < n; i++)
		gm_buf_printf(&b, "def function_%zu(x, y, z):\n    if x:\n"
		              "        return helper_%zu(y)\n    return z\n\n", i, i % 7);
	for (size_t i = 0; i < n / 4; i++)
		gm_buf_printf(&b, "class Small%zu:\n    def run(self, k):\n        return k\n\n",
		              i);
	return gm_buf_detach(&b, len);
}

static double scan_cpu_seconds(const char *src, size_t len, size_t *units)
{
	double best = 1e9;
	for (int rep = 0; rep < 3; rep++) {
		struct gm_file_scan fs;
		clock_t t0 = clock();
		if (gm_scan_source(&fs, gm_lang_by_name("python"), src, len, NULL) < 0)
			fail_msg("%s", gm_error_last());
		double t = (double)(clock() - t0) / CLOCKS_PER_SEC;
		if (t < best)
			best = t;
		*units = fs.n;
		gm_file_scan_release(&fs);
	}
	return best;
}

static void scan_time_is_linear_in_the_units_of_a_file(void **state)
{
	const size_t n = 2000;
	size_t len1, len8, u1, u8;
	char *s1 = python_source(n, &len1), *s8 = python_source(8 * n, &len8);
	double t1, t8;
	(void)state;

	t1 = scan_cpu_seconds(s1, len1, &u1);
	t8 = scan_cpu_seconds(s8, len8, &u8);
	fprintf(stderr, "# %zu units: %.3f s, %zu units: %.3f s, ratio %.1f\n", u1, t1, u8, t8,
	        t8 / t1);
	assert_int_equal(u8, 8 * u1);
	if (t8 > 16 * t1)
		fail_msg("8x the units took %.1fx the time (%.3f s vs %.3f s): not linear",
		         t8 / t1, t8, t1);
	free(s1);
	free(s8);
}

/*
 * The matcher lists a node's children once for all the patterns tried at
 * a root, up to a bound, and lists again past it: an object of many more
 * methods than that keeps every one, in order, each with its own body.
 */
static void every_method_of_a_large_object_is_a_unit(void **state)
{
	const size_t n = 300;
	struct gm_buf b = GM_BUF_INIT;
	struct gm_file_scan fs;
	size_t len;
	char *src;
	(void)state;

	gm_buf_puts(&b, "const handlers = {\n");
	for (size_t i = 0; i < n; i++)
		gm_buf_printf(&b, i % 3 == 0   ? "  m%zu: (a) => a + 1,\n"
		                  : i % 3 == 1 ? "  m%zu: function (a) { return a; },\n"
		                               : "  m%zu(a) { return g(a); },\n",
		              i);
	gm_buf_puts(&b, "};\n");
	src = gm_buf_detach(&b, &len);
	if (gm_scan_source(&fs, gm_lang_by_name("javascript"), src, len, NULL) < 0)
		fail_msg("%s", gm_error_last());
	assert_int_equal(fs.n, n);
	for (size_t i = 0; i < n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "m%zu", i);
		assert_string_equal(fs.units[i].short_name, want);
		assert_int_equal(fs.units[i].start_line, i + 2);
		assert_int_equal(fs.units[i].ncalls, i % 3 == 2 ? 1 : 0);
	}
	gm_file_scan_release(&fs);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scan_time_is_linear_in_the_units_of_a_file),
		cmocka_unit_test(every_method_of_a_large_object_is_a_unit),
	};
	int rc;
	if (gm_lang_init() < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	gm_lang_shutdown();
	return rc;
}
