/*
 * bench_lang: what each language costs a process before its first unit:
 * readying the language (gm_lang_load: whatever it compiles or builds),
 * then the first scan of a one-function source against a second scan of
 * the same source (the difference is what the first use still pays).
 * Each language is timed from nothing (gm_lang_shutdown in between), best
 * of `rounds`.
 *   usage: bench_lang [rounds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/error.h"
#include "monitor/lang.h"
#include "monitor/scan.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *sample(const char *lang)
{
	if (!strcmp(lang, "python"))
		return "def f(x):\n    return g(x)\n";
	if (!strcmp(lang, "go"))
		return "package p\nfunc f(x int) int { return g(x) }\n";
	if (!strcmp(lang, "rust"))
		return "fn f(x: i32) -> i32 { g(x) }\n";
	if (!strcmp(lang, "java"))
		return "class A { int f(int x) { return g(x); } }\n";
	if (!strcmp(lang, "c") || !strcmp(lang, "cpp"))
		return "int f(int x) { return g(x); }\n";
	return "function f(x) { return g(x); }\n";
}

static int scan_once(const struct gm_lang *l, double *ms)
{
	struct gm_file_scan fs;
	const char *src = sample(l->name);
	double t = now_ms();
	int rc = gm_scan_source(&fs, l, src, strlen(src), NULL);
	*ms = now_ms() - t;
	if (rc == 0 && fs.n != 1) {
		fprintf(stderr, "bench_lang: %s: %zu units in the sample\n", l->name, fs.n);
		rc = -1;
	}
	gm_file_scan_release(&fs);
	return rc;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	double total = 0;

	if (gm_lang_init() < 0)
		return 1;
	printf("%-12s %10s %12s %12s\n", "language", "load ms", "1st scan ms", "2nd scan ms");
	for (const struct gm_lang *const *l = gm_lang_all(); *l; l++) {
		double best_load = 1e9, best_first = 1e9, best_second = 1e9;
		for (int r = 0; r < rounds; r++) {
			double t, first, second;
			gm_lang_shutdown();
			t = now_ms();
			if (gm_lang_load(*l) < 0) {
				fprintf(stderr, "bench_lang: %s\n", gm_error_last());
				return 1;
			}
			t = now_ms() - t;
			gm_lang_shutdown();
			if (scan_once(*l, &first) < 0 || scan_once(*l, &second) < 0) {
				fprintf(stderr, "bench_lang: %s: %s\n", (*l)->name, gm_error_last());
				return 1;
			}
			if (t < best_load)
				best_load = t;
			if (first < best_first)
				best_first = first;
			if (second < best_second)
				best_second = second;
		}
		total += best_load;
		printf("%-12s %10.2f %12.2f %12.2f\n", (*l)->name, best_load, best_first, best_second);
	}
	printf("%-12s %10.2f\n", "all", total);
	gm_lang_shutdown();
	return 0;
}
