/*
 * bench_engine: N chat requests through the HTTP engine against one local
 * server at concurrency C; prints wall time, the ideal ceil(N/C) x latency
 * (latency given by the caller, who set it on the fake), their ratio and
 * the client's CPU time per request.
 *   usage: bench_engine URL N C LATENCY_S
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "monitor/backend.h"
#include "monitor/error.h"
#include "monitor/util.h"

static int failures;

static int done(void *ctx, void *tag, const struct gm_chat_result *res)
{
	(void)ctx;
	(void)tag;
	if (res->error) {
		if (failures++ < 3)
			fprintf(stderr, "bench_engine: %s\n", res->error_message);
	}
	return 0;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	struct gm_backend_config cfg = { 0 };
	struct gm_chat_request q = { 0 };
	struct gm_backend *b = NULL;
	struct gm_engine *e = NULL;
	const char *url;
	int n, c;
	double latency, wall, ideal, cpu0;
	uint64_t t0;

	if (argc != 5) {
		fprintf(stderr, "usage: bench_engine URL N C LATENCY_S\n");
		return 2;
	}
	url = argv[1];
	n = atoi(argv[2]);
	c = atoi(argv[3]);
	latency = atof(argv[4]);
	cfg.kind = GM_BACKEND_LOCAL;
	cfg.urls = &url;
	cfg.nurls = 1;
	cfg.concurrency = c;
	cfg.timeout_s = 600;
	cfg.stream = true;
	if (gm_backend_new(&b, &cfg) < 0 || gm_backend_prepare(b) < 0 || gm_engine_new(&e) < 0) {
		fprintf(stderr, "bench_engine: %s\n", gm_error_last());
		return 1;
	}
	q.system = "You rewrite functions.";
	q.user = "Rewrite:\n```python\ndef f(a):\n    return a + 1\n```\n";
	q.max_tokens = 256;
	for (int i = 0; i < n; i++)
		gm_engine_submit(e, b, &q, NULL);
	cpu0 = cpu_seconds();
	t0 = gm_now_ms();
	gm_engine_run(e, done, NULL);
	wall = (double)(gm_now_ms() - t0) / 1000.0;
	ideal = (double)((n + c - 1) / c) * latency;
	printf("{\"n\": %d, \"concurrency\": %d, \"latency_s\": %.3f, \"wall_s\": %.3f, \"ideal_s\": %.3f, "
	       "\"ratio\": %.3f, \"cpu_ms_per_request\": %.3f, \"failures\": %d}\n",
	       n, c, latency, wall, ideal, wall / ideal, (cpu_seconds() - cpu0) * 1000.0 / n, failures);
	gm_engine_free(e);
	gm_backend_free(b);
	return failures ? 1 : 0;
}
