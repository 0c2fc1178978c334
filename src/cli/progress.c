/*
 * progress.c: the refactor's progress line on stderr, drawn as git's
 * progress.c draws one: a carriage return and the line over the last,
 * the rest of the old line erased, redrawn on a timer (ten times a
 * second) so the elapsed time and the ETA move while every answer is
 * still pending, cut to the terminal's width so it never wraps, and
 * erased before anything else is written to stderr and at the end.
 *
 * The run reports its figures through gm_progress_fn on its own thread;
 * a drawing thread owns the terminal line.  On Ctrl-C the signal handler
 * erases the line itself (write(2) is async-signal-safe), so the "^C" the
 * terminal echoed goes with it and the one message after lands on a clean
 * line.
 */
#include "progress.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "term.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define MAX_SERVERS 8
#define RATE_SAMPLES 32 /* of the streamed bytes, for a rate over the last few seconds */

struct sample {
	uint64_t t, bytes;
};

struct server {
	char name[64];
	size_t running;
	bool up;
};

struct cli_progress {
	pthread_t thread;
	pthread_mutex_t lock;
	bool thread_running, stop;
	bool tty;
	const char *title;
	uint64_t t0, t_models; /* start; when the first model figures came */
	bool have;             /* figures arrived */
	/* the last figures */
	char phase[256];
	size_t done, total, running_local, running_claude, queued_local, queued_claude;
	struct server servers[MAX_SERVERS];
	size_t nservers;
	bool have_claude;
	double cost, tokens_per_s;
	struct sample samples[RATE_SAMPLES];
	size_t nsamples;
	/* what is on the line */
	size_t drawn_len; /* 0: nothing shown */
	char *last;       /* off a terminal: the last line written, and when */
	uint64_t last_ms;
};

static struct cli_progress *active;
static volatile sig_atomic_t interrupted, line_shown;

static void server_name(char *out, size_t size, const char *url)
{
	const char *p = url ? strstr(url, "://") : NULL, *end;
	p = p ? p + 3 : url ? url : "?";
	end = strchr(p, '/');
	snprintf(out, size, "%.*s", (int)(end ? (size_t)(end - p) : strlen(p)), p);
}

static void fmt_time(struct gm_buf *b, uint64_t ms)
{
	uint64_t s = ms / 1000;
	if (s >= 3600)
		gm_buf_printf(b, "%llu:%02llu:%02llu", (unsigned long long)(s / 3600),
		              (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
	else
		gm_buf_printf(b, "%llu:%02llu", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
}

/* Output tokens a second over the last few seconds of streaming (about 4 bytes a token). */
static double live_rate(const struct cli_progress *p, uint64_t now)
{
	const struct sample *first = NULL, *last;
	if (p->nsamples < 2)
		return 0;
	last = &p->samples[(p->nsamples - 1) % RATE_SAMPLES];
	for (size_t i = p->nsamples > RATE_SAMPLES ? p->nsamples - RATE_SAMPLES : 0; i < p->nsamples; i++) {
		const struct sample *s = &p->samples[i % RATE_SAMPLES];
		if (now - s->t <= 3000) {
			first = s;
			break;
		}
	}
	if (!first || first == last || last->t <= first->t)
		return 0;
	return (double)(last->bytes - first->bytes) / 4.0 / ((double)(now - first->t) / 1000.0);
}

/*
 * The line, from the last figures (lock held), as short as a terminal's
 * width needs: `brief` 0 all of it; 1 the servers summed ("local 4+3
 * running"); 2 also without the words a reader can do without ("0:29,
 * ETA 1:02, 4+3 running", whole tokens a second), so a long run still fits
 * 80 columns with its rate.
 */
static char *compose(struct cli_progress *p, uint64_t now, int brief)
{
	struct gm_buf b = GM_BUF_INIT;
	double rate;

	gm_buf_printf(&b, "%s: ", p->title);
	if (p->phase[0]) {
		gm_buf_printf(&b, "%s, ", p->phase);
		fmt_time(&b, now - p->t0);
		return gm_buf_detach(&b, NULL);
	}
	if (p->total)
		gm_buf_printf(&b, "%3u%% (%zu/%zu), ", (unsigned)(p->done * 100 / p->total), p->done, p->total);
	fmt_time(&b, now - p->t0);
	if (brief < 2)
		gm_buf_puts(&b, " elapsed");
	if (p->done && p->total > p->done && now > p->t_models) {
		double per = (double)(now - p->t_models) / (double)p->done;
		gm_buf_puts(&b, ", ETA ");
		fmt_time(&b, (uint64_t)(per * (double)(p->total - p->done)));
	}
	if (brief && p->nservers > 1) {
		gm_buf_puts(&b, brief < 2 ? ", local " : ", ");
		for (size_t i = 0; i < p->nservers; i++) {
			if (p->servers[i].up || p->servers[i].running)
				gm_buf_printf(&b, "%s%zu", i ? "+" : "", p->servers[i].running);
			else
				gm_buf_printf(&b, "%sdown", i ? "+" : "");
		}
		gm_buf_puts(&b, " running");
	} else {
		for (size_t i = 0; i < p->nservers; i++) {
			gm_buf_printf(&b, "%s%s: ", i ? ", " : ", local ", p->servers[i].name);
			if (p->servers[i].up || p->servers[i].running)
				gm_buf_printf(&b, "%zu running", p->servers[i].running);
			else
				gm_buf_puts(&b, "down");
		}
	}
	if (!p->nservers)
		gm_buf_printf(&b, ", local: %zu running", p->running_local);
	if (p->queued_local)
		gm_buf_printf(&b, ", %zu queued", p->queued_local);
	if (p->have_claude) {
		gm_buf_printf(&b, ", claude: %zu running", p->running_claude);
		if (p->queued_claude)
			gm_buf_printf(&b, ", %zu queued", p->queued_claude);
	}
	rate = live_rate(p, now);
	if (rate <= 0 && p->nsamples && p->samples[(p->nsamples - 1) % RATE_SAMPLES].bytes == 0)
		rate = p->tokens_per_s; /* nothing streamed: what completed answers say */
	if ((rate > 0 || p->nsamples) && brief >= 2 && rate >= 10)
		gm_buf_printf(&b, ", %.0f tok/s", rate);
	else if (rate > 0 || p->nsamples)
		gm_buf_printf(&b, ", %.1f tok/s", rate);
	if (p->have_claude)
		gm_buf_printf(&b, ", $%.4f", p->cost);
	return gm_buf_detach(&b, NULL);
}

static void write_all(const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(STDERR_FILENO, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static bool dumb(void)
{
	const char *t = getenv("TERM");
	return !t || !strcmp(t, "dumb");
}

/* Erase the line (lock held, or from the owner when no thread runs). */
static void erase(struct cli_progress *p)
{
	if (!p->drawn_len)
		return;
	if (p->tty && !dumb()) {
		write_all("\r\033[K", 4);
	} else {
		char *blank = gm_xcalloc(p->drawn_len + 3, 1);
		blank[0] = '\r';
		memset(blank + 1, ' ', p->drawn_len);
		blank[p->drawn_len + 1] = '\r';
		write_all(blank, p->drawn_len + 2);
		free(blank);
	}
	p->drawn_len = 0;
	line_shown = 0;
}

static void draw(struct cli_progress *p)
{
	uint64_t now = gm_now_ms();
	char *line, *cut;
	struct gm_buf out = GM_BUF_INIT;
	int width = cli_term_columns_stderr();

	if (interrupted || !p->have)
		return;
	line = compose(p, now, 0);
	for (int brief = 1; brief <= 2 && cli_width(line) > width - 3; brief++) {
		free(line);
		line = compose(p, now, brief);
	}
	/* Off a terminal (--progress into a file): only a line that says something new, once a second. */
	if (!p->tty && ((p->last && !strcmp(p->last, line)) || now - p->last_ms < 1000)) {
		free(line);
		return;
	}
	free(p->last);
	p->last = gm_xstrdup(line);
	p->last_ms = now;
	/* room for the "^C" the terminal echoes: it must not wrap onto a line we cannot erase */
	cut = cli_truncate_end(line, width > 3 ? width - 3 : 1);
	gm_buf_puts(&out, "\r");
	gm_buf_puts(&out, cut);
	if (p->tty && !dumb()) {
		gm_buf_puts(&out, "\033[K");
	} else {
		size_t w = (size_t)cli_width(cut);
		while (w++ < p->drawn_len)
			gm_buf_puts(&out, " ");
	}
	line_shown = 1;
	write_all(out.ptr, out.len);
	p->drawn_len = (size_t)cli_width(cut);
	/* Ctrl-C came while this was written: the handler's erase may have gone first. */
	if (interrupted)
		write_all("\r\033[K", 4);
	gm_buf_release(&out);
	free(cut);
	free(line);
}

static void *run(void *arg)
{
	struct cli_progress *p = arg;
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		draw(p);
		pthread_mutex_unlock(&p->lock);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void clear_hook(void)
{
	cli_progress_clear(active);
}

struct cli_progress *cli_progress_start(const char *title, int force)
{
	struct cli_progress *p;
	sigset_t all, old;

	if (force == 0 || (force < 0 && !cli_stderr_is_tty()))
		return NULL;
	p = gm_xcalloc(1, sizeof(*p));
	p->title = title;
	p->tty = cli_stderr_is_tty();
	p->t0 = gm_now_ms();
	pthread_mutex_init(&p->lock, NULL);
	interrupted = 0;
	/* Signals go to the run's thread, never to the one that draws. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	p->thread_running = pthread_create(&p->thread, NULL, run, p) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	active = p;
	cli_before_stderr = clear_hook;
	return p;
}

void cli_progress_update(void *ctx, const struct gm_progress *g)
{
	struct cli_progress *p = ctx;
	uint64_t now = gm_now_ms();

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	snprintf(p->phase, sizeof(p->phase), "%s", g->phase ? g->phase : "");
	if (!g->phase && !p->t_models)
		p->t_models = now;
	p->have = true;
	if (!g->phase) {
		p->done = g->done;
		p->total = g->total;
		p->running_local = g->running_local;
		p->running_claude = g->running_claude;
		p->queued_local = g->queued_local;
		p->queued_claude = g->queued_claude;
		p->nservers = g->nservers < MAX_SERVERS ? g->nservers : MAX_SERVERS;
		for (size_t i = 0; i < p->nservers; i++) {
			server_name(p->servers[i].name, sizeof(p->servers[i].name), g->servers[i].url);
			p->servers[i].running = g->servers[i].running;
			p->servers[i].up = g->servers[i].up;
		}
		p->tokens_per_s = g->tokens_per_s;
		if (!p->nsamples || now - p->samples[(p->nsamples - 1) % RATE_SAMPLES].t >= 100) {
			p->samples[p->nsamples % RATE_SAMPLES] = (struct sample){ now, g->streamed_bytes };
			p->nsamples++;
		}
	}
	p->have_claude = g->have_claude;
	p->cost = g->cost_usd;
	pthread_mutex_unlock(&p->lock);
}

void cli_progress_clear(struct cli_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	erase(p);
	pthread_mutex_unlock(&p->lock);
}

void cli_progress_stop(struct cli_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_mutex_unlock(&p->lock);
	if (p->thread_running)
		pthread_join(p->thread, NULL);
	if (!p->tty && p->drawn_len && !interrupted) {
		/* forced onto a file or a pipe: the last state stays, as git leaves it */
		write_all("\n", 1);
		p->drawn_len = 0;
	}
	erase(p);
	if (active == p) {
		active = NULL;
		cli_before_stderr = NULL;
	}
	pthread_mutex_destroy(&p->lock);
	free(p->last);
	free(p);
}

void cli_progress_interrupted(void)
{
	interrupted = 1;
	if (line_shown) {
		/* async-signal-safe: the line and the echoed ^C go */
		static const char clear[] = "\r\033[K";
		ssize_t n = write(STDERR_FILENO, clear, sizeof(clear) - 1);
		(void)n;
	}
}
