/*
 * bench_fleet: N chat requests through the engine against a fleet of local
 * servers of different speeds (the fakes, each with a fixed latency the
 * caller set); prints the wall time, the ideal schedule for those rates
 * (the least T with sum_i slots_i * floor(T / latency_i) >= N: every slot
 * busy from the start, no request split), their ratio, and per server the
 * answers, failures, requeued requests, outages and time out of service.
 *   usage: bench_fleet N URL LATENCY_S SLOTS [URL LATENCY_S SLOTS]...
 * A URL may carry entry settings ("kind=vllm http://…").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "monitor/backend.h"
#include "monitor/error.h"
#include "monitor/util.h"

#define MAX_SERVERS 16

static int failures;

static int done(void *ctx, void *tag, const struct gm_chat_result *res)
{
	(void)ctx;
	(void)tag;
	if (res->error && failures++ < 3)
		fprintf(stderr, "bench_fleet: %s\n", res->error_message);
	return 0;
}

static double ideal(int n, const double *lat, const int *slots, size_t k)
{
	double best = INFINITY;

	/* The makespan ends when some server finishes an answer: try each such time. */
	for (size_t i = 0; i < k; i++) {
		for (int m = 1; m <= n; m++) {
			double t = m * lat[i];
			long long got = 0;
			if (t >= best)
				break;
			for (size_t j = 0; j < k; j++)
				got += (long long)slots[j] * (long long)floor(t / lat[j] + 1e-9);
			if (got >= n) {
				best = t;
				break;
			}
		}
	}
	return best;
}

int main(int argc, char **argv)
{
	struct gm_backend_config cfg = { 0 };
	struct gm_chat_request q = { 0 };
	struct gm_backend *b = NULL;
	struct gm_engine *e = NULL;
	const char *urls[MAX_SERVERS];
	char *entries[MAX_SERVERS];
	double lat[MAX_SERVERS], wall, best;
	int slots[MAX_SERVERS], n;
	size_t k = 0;
	uint64_t t0;

	if (argc < 5 || (argc - 2) % 3) {
		fprintf(stderr, "usage: bench_fleet N URL LATENCY_S SLOTS [URL LATENCY_S SLOTS]...\n");
		return 2;
	}
	n = atoi(argv[1]);
	for (int i = 2; i + 2 < argc && k < MAX_SERVERS; i += 3, k++) {
		lat[k] = atof(argv[i + 1]);
		slots[k] = atoi(argv[i + 2]);
		entries[k] = gm_xasprintf("slots=%d %s", slots[k], argv[i]);
		urls[k] = entries[k];
	}
	cfg.kind = GM_BACKEND_LOCAL;
	cfg.urls = urls;
	cfg.nurls = k;
	cfg.timeout_s = 600;
	cfg.stream = true;
	if (gm_backend_new(&b, &cfg) < 0 || gm_backend_prepare(b) < 0 || gm_engine_new(&e) < 0) {
		fprintf(stderr, "bench_fleet: %s\n", gm_error_last());
		return 1;
	}
	q.system = "You rewrite functions.";
	q.user = "def f(x):\n    return x\n";
	q.max_tokens = 256;
	t0 = gm_now_ms();
	for (int i = 0; i < n; i++)
		if (gm_engine_submit(e, b, &q, NULL) < 0) {
			fprintf(stderr, "bench_fleet: %s\n", gm_error_last());
			return 1;
		}
	if (gm_engine_run(e, done, NULL) < 0) {
		fprintf(stderr, "bench_fleet: %s\n", gm_error_last());
		return 1;
	}
	wall = (double)(gm_now_ms() - t0) / 1000.0;
	best = ideal(n, lat, slots, k);
	printf("requests %d  servers %zu  failures %d\n", n, k, failures);
	printf("wall %.2f s  ideal %.2f s  ratio %.3f\n", wall, best, wall / best);
	for (size_t i = 0; i < k; i++) {
		struct gm_backend_server_stats st;
		gm_backend_server_stats(&st, b, i);
		printf("  %-10s %-40s latency %.2f s slots %d: answers %llu, failures %llu, requeued %llu, "
		       "outages %u, out of service %.1f s\n", st.kind, st.url, lat[i], slots[i],
		       (unsigned long long)st.answers, (unsigned long long)st.failures,
		       (unsigned long long)st.requeued, st.outages, (double)st.down_ms / 1000.0);
	}
	gm_engine_free(e);
	gm_backend_free(b);
	for (size_t i = 0; i < k; i++)
		free(entries[i]);
	return failures ? 1 : 0;
}
