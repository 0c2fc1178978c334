/*
 * review_interactive.c: `git monitor review -i`, the branch one function
 * at a time the way `git add -p` goes through hunks:
 *
 *   a.py:4 first
 *     local:qwen2.5-7b · 1 attempt · complexity 3 -> 2
 *   <coloured diff>
 *   (1/5) Keep this function [y,n,a,d,q,/,j,k,?]?
 *
 * Decisions are gm_review_walk's; the one commit at the end is
 * gm_review_walk_apply's (the same code as --drop and the review page).
 * Nothing is written before the end, so Ctrl-C (or a signal) leaves the
 * branch as it was.  With interactive.singleKey a key needs no Enter; the
 * terminal is put in non-canonical mode only while a key is read and is
 * restored on every way out, a signal included.
 */
#include "review_cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "term.h"
#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define MAX_LINE 1024

/* ---- git's colour slots (term.h reads them as git does) ------------------------ */

enum slot { S_META, S_FRAG, S_FUNC, S_OLD, S_NEW, S_CONTEXT, S_HEADER, S_PROMPT, S_HELP,
	    S_ERROR, S__COUNT };

static const struct {
	const char *key;  /* git config key */
	const char *alt;  /* its older name */
	const char *def;  /* git's default */
} slots[S__COUNT] = {
	[S_META] = { "color.diff.meta", NULL, "bold" },
	[S_FRAG] = { "color.diff.frag", NULL, "cyan" },
	[S_FUNC] = { "color.diff.func", NULL, "" },
	[S_OLD] = { "color.diff.old", NULL, "red" },
	[S_NEW] = { "color.diff.new", NULL, "green" },
	[S_CONTEXT] = { "color.diff.context", "color.diff.plain", "" },
	[S_HEADER] = { "color.interactive.header", NULL, "bold" },
	[S_PROMPT] = { "color.interactive.prompt", NULL, "bold blue" },
	[S_HELP] = { "color.interactive.help", NULL, "bold red" },
	[S_ERROR] = { "color.interactive.error", NULL, "bold red" },
};

/* ---- the terminal ---------------------------------------------------------------- */

static struct termios saved_tio;
static volatile sig_atomic_t tio_raw;  /* saved_tio must be put back */
static volatile sig_atomic_t got_signal;

static void restore_terminal(void)
{
	if (tio_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		tio_raw = 0;
	}
}

static void on_signal(int sig)
{
	restore_terminal(); /* tcsetattr is async-signal-safe */
	got_signal = sig;
}

/*
 * Ctrl-Z while a key is read: the shell gets its terminal back as it was,
 * and the key mode comes back with the process (a read in progress returns
 * EINTR and goes on).
 */
static void on_stop(int sig)
{
	int saved = errno;
	bool was_raw = tio_raw;
	struct termios raw;
	struct sigaction dfl;

	if (was_raw && tcgetattr(STDIN_FILENO, &raw) < 0)
		was_raw = false;
	restore_terminal();
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	/* The signal is blocked while its handler runs: let it through, or it loops. */
	{
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	raise(sig); /* stops here until SIGCONT */
	{
		struct sigaction again;
		memset(&again, 0, sizeof(again));
		again.sa_handler = on_stop;
		sigemptyset(&again.sa_mask);
		sigaction(sig, &again, NULL);
	}
	if (was_raw && tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		tio_raw = 1;
	errno = saved;
}

static const int caught[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
#define NCAUGHT (sizeof(caught) / sizeof(caught[0]))

static void catch_signals(struct sigaction old[NCAUGHT])
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a read in progress returns EINTR */
	for (size_t i = 0; i < NCAUGHT; i++) {
		sa.sa_handler = caught[i] == SIGTSTP ? on_stop : on_signal;
		sigaction(caught[i], &sa, &old[i]);
	}
}

static void release_signals(const struct sigaction old[NCAUGHT])
{
	for (size_t i = 0; i < NCAUGHT; i++)
		sigaction(caught[i], &old[i], NULL);
}

/*
 * One key without Enter (git's read_key_without_echo): 0 at EOF, -1 on a
 * signal.  TCSANOW, not TCSAFLUSH: a key typed ahead, while the function
 * was being shown, is the answer and must not be thrown away.
 */
static int read_key(void)
{
	struct termios t;
	unsigned char c;
	ssize_t n;

	if (tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		t = saved_tio;
		t.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		tio_raw = 1;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
			tio_raw = 0;
	}
	do
		n = got_signal ? -1 : read(STDIN_FILENO, &c, 1);
	while (n < 0 && errno == EINTR && !got_signal);
	restore_terminal();
	if (n < 0)
		return -1;
	if (n == 0 || c == 4) /* EOF, Ctrl-D */
		return 0;
	return c;
}

/* One line (without its newline) into `out`: 1, 0 at EOF, -1 on a signal. */
static int read_line(char out[MAX_LINE])
{
	size_t len = 0;
	for (;;) {
		char c;
		ssize_t n = got_signal ? -1 : read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR && !got_signal)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			out[len] = '\0';
			return len ? 1 : 0;
		}
		if (c == '\n')
			break;
		if (len + 1 < MAX_LINE)
			out[len++] = c;
	}
	while (len && out[len - 1] == '\r')
		len--;
	out[len] = '\0';
	return 1;
}

/* ---- showing a function ------------------------------------------------------------- */

struct ui {
	git_repository *repo;
	struct gm_review *r;
	struct gm_review_walk w;
	bool single_key;
	bool color;
	const char *c[S__COUNT]; /* the slots' sequences, "" without colour (term.h owns them) */
};

static void put_colored(const struct ui *u, enum slot s, const char *text, size_t len)
{
	bool on = u->color && u->c[s][0];
	if (on)
		fputs(u->c[s], stdout);
	fwrite(text, 1, len, stdout);
	if (on)
		fputs(CLI_COLOR_RESET, stdout);
}

static void say(const struct ui *u, enum slot s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(const struct ui *u, enum slot s, const char *fmt, ...)
{
	va_list ap;
	char *text;
	struct gm_buf b = GM_BUF_INIT;
	va_start(ap, fmt);
	gm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	text = gm_buf_detach(&b, NULL);
	put_colored(u, s, text, strlen(text));
	free(text);
}

static int diff_line(void *ctx, char origin, const char *text, size_t len)
{
	const struct ui *u = ctx;
	switch (origin) {
	case 'F':
		put_colored(u, S_META, text, len);
		break;
	case 'H': {
		/* "@@ -a,b +c,d @@ name": the frag, then the function in its own colour */
		const char *end = len > 2 ? strstr(text + 2, "@@") : NULL;
		size_t fl = end ? (size_t)(end + 2 - text) : len;
		put_colored(u, S_FRAG, text, fl);
		if (fl + 1 < len) {
			putchar(' ');
			put_colored(u, S_FUNC, text + fl + 1, len - fl - 1);
		}
		break;
	}
	default: {
		char o = origin;
		enum slot s = origin == '+' ? S_NEW : origin == '-' ? S_OLD : S_CONTEXT;
		bool on = u->color && u->c[s][0];
		if (on)
			fputs(u->c[s], stdout);
		putchar(o);
		fwrite(text, 1, len, stdout);
		if (on)
			fputs(CLI_COLOR_RESET, stdout);
	}
	}
	putchar('\n');
	return 0;
}

static void show_fn(const struct ui *u)
{
	const struct gm_review *r = u->r;
	size_t idx = u->w.fns[u->w.cur];
	const struct gm_review_fn *fn = &r->fns[idx];
	enum gm_review_decision d = u->w.decision[u->w.cur];

	say(u, S_HEADER, "%s:%u %s", review_tqp(fn->path), fn->tip_start_line, review_tq(fn->name));
	if (d != GM_REVIEW_UNDECIDED)
		printf(" [%s]", d == GM_REVIEW_KEEP ? "kept" : "dropped");
	printf("\n  %s:%s · %u attempt%s", review_tqt(fn->route), review_tqt(fn->model), fn->attempts,
	       fn->attempts == 1 ? "" : "s");
	if (fn->cc_before)
		printf(" · complexity %u -> %u", fn->cc_before, fn->cc_after);
	printf(" · +%d -%d", fn->added, fn->removed);
	if (fn->changed_after)
		printf(" · changed after the run");
	putchar('\n');
	if (fn->nhelpers) {
		printf("  helpers:");
		for (size_t k = 0; k < fn->nhelpers; k++)
			printf("%s %s", k ? "," : "", review_tq(fn->helpers[k]));
		printf(" (dropped with it)\n");
	}
	for (size_t k = 0; k < fn->nimports; k++)
		printf("  import: %s\n", review_tqt(fn->imports[k]));
	if (fn->rationale && *fn->rationale)
		printf("  rationale: %s\n", review_tqt(fn->rationale));
	if (gm_review_diff(fn, 3, diff_line, (void *)u) < 0)
		fprintf(stderr, "warning: %s\n", gm_error_last());
	/* Its helpers go with it: show them with it. */
	for (size_t j = 0; j < r->n; j++)
		if (r->fns[j].helper_of == (long)idx && r->fns[j].changed &&
		    gm_review_diff(&r->fns[j], 3, diff_line, (void *)u) < 0)
			fprintf(stderr, "warning: %s\n", gm_error_last());
}

static const char help_text[] =
	"y - keep this function\n"
	"n - drop this function (restore its base text, with its helpers and imports)\n"
	"a - keep this function and every undecided one after it in the file\n"
	"d - drop this function and every undecided one after it in the file\n"
	"q - quit; the decisions so far are applied, the undecided functions kept\n"
	"/ - search for a function whose name matches a regular expression\n"
	"j - leave this function undecided, see the next undecided function\n"
	"k - leave this function undecided, see the previous undecided function\n"
	"? - print help\n"
	"Ctrl-C quits without writing anything.\n";

enum outcome { O_DONE, O_QUIT, O_SIGNAL };

/* The next command: a key, or the first character of a line; '/' may carry its regex. */
static int prompt(const struct ui *u, char regex[MAX_LINE])
{
	char line[MAX_LINE];
	int rc;

	regex[0] = '\0';
	say(u, S_PROMPT, "(%zu/%zu) Keep this function [y,n,a,d,q,/,j,k,?]? ", u->w.cur + 1, u->w.n);
	fflush(stdout);
	if (u->single_key) {
		int k = read_key();
		if (k > 0 && k != '\n')
			printf("%c\n", k >= 0x20 && k < 0x7f ? k : '?');
		else if (k == 0)
			putchar('\n');
		return k;
	}
	rc = read_line(line);
	if (rc <= 0) {
		if (rc == 0)
			putchar('\n');
		return rc;
	}
	if (line[0] == '/' && line[1])
		snprintf(regex, MAX_LINE, "%s", line + 1);
	return line[0] ? (unsigned char)line[0] : '\n';
}

static enum outcome run(struct ui *u)
{
	bool shown = false;

	for (;;) {
		char regex[MAX_LINE];
		int k;

		if (!shown)
			show_fn(u);
		shown = true;
		k = prompt(u, regex);
		if (k < 0 || got_signal)
			return O_SIGNAL;
		switch (k) {
		case 0:   /* EOF: as git add -p, like q */
		case 'q':
			return O_QUIT;
		case 'y':
		case 'n':
		case 'a':
		case 'd':
			gm_review_walk_decide(&u->w, k == 'y' || k == 'a' ? GM_REVIEW_KEEP : GM_REVIEW_DROP,
			                      k == 'a' || k == 'd');
			if (!gm_review_walk_step(&u->w, 1, true, true) &&
			    u->w.decision[u->w.cur] != GM_REVIEW_UNDECIDED)
				return O_DONE;
			shown = false;
			break;
		case 'j':
		case 'k':
			if (gm_review_walk_step(&u->w, k == 'j' ? 1 : -1, true, false))
				shown = false;
			else
				say(u, S_ERROR, "No %s undecided function\n", k == 'j' ? "next" : "previous");
			break;
		case '/': {
			int rc;
			if (!regex[0]) {
				char line[MAX_LINE];
				say(u, S_PROMPT, "search for regex? ");
				fflush(stdout);
				rc = read_line(line);
				if (rc < 0 || got_signal)
					return O_SIGNAL;
				if (rc == 0 || !line[0])
					break;
				snprintf(regex, MAX_LINE, "%s", line);
			}
			rc = gm_review_walk_search(&u->w, regex);
			if (rc < 0)
				say(u, S_ERROR, "%s\n", review_tqt(gm_error_last()));
			else
				shown = false;
			break;
		}
		case '\n':
		case '\r':
			break;
		case '?':
		default:
			say(u, S_HELP, "%s", help_text);
			break;
		}
	}
}

/* interactive.singleKey and the colour slots, as git reads them (git -c included). */
static void load_config(struct ui *u)
{
	u->single_key = cli_config_bool("interactive.singleKey", false);
	for (int s = 0; s < S__COUNT; s++) {
		const char *key = slots[s].key;
		if (slots[s].alt && !cli_config_get(key) && cli_config_get(slots[s].alt))
			key = slots[s].alt;
		u->c[s] = cli_color(u->color, key, slots[s].def);
	}
}

int review_interactive_check_tty(void)
{
	if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
		return CLI_OK;
	return cli_fail(CLI_USAGE, "review -i needs a terminal; without one, drop functions with "
	                           "'git monitor review --drop <path>:<function>'");
}

int review_interactive(git_repository *repo, struct gm_review *r,
                       const struct review_interactive_opts *o)
{
	struct ui u;
	struct sigaction old[NCAUGHT];
	enum outcome out;
	size_t dropped;
	git_oid tip;
	bool wrote;
	int rc, exit_code = CLI_OK;

	memset(&u, 0, sizeof(u));
	u.repo = repo;
	u.r = r;
	u.color = o->color;
	if ((rc = gm_review_walk_init(&u.w, r, o->pathspecs, o->npathspecs, o->globs, o->nglobs)) < 0)
		return cli_error(rc);
	if (!u.w.n) {
		fprintf(stderr, "no function of '%s' to review%s\n", review_tqp(r->branch),
		        o->npathspecs || o->nglobs ? " matches" : "");
		gm_review_walk_release(&u.w);
		return CLI_OK;
	}
	load_config(&u);
	got_signal = 0;
	catch_signals(old);
	out = run(&u);
	restore_terminal();
	release_signals(old);
	fflush(stdout);

	if (out == O_SIGNAL) {
		fprintf(stderr, "\ninterrupted; nothing written to '%s'\n", review_tqp(r->branch));
		exit_code = CLI_INTERRUPTED;
		goto cleanup;
	}
	dropped = gm_review_walk_count(&u.w, GM_REVIEW_DROP);
	if (!dropped) {
		fprintf(stderr, "nothing dropped; '%s' is unchanged\n", review_tqp(r->branch));
		goto cleanup;
	}
	if ((rc = gm_review_walk_apply(&tip, &wrote, repo, &u.w)) < 0) {
		exit_code = cli_error(rc);
		goto cleanup;
	}
	{
		char hex[GIT_OID_HEXSZ + 1];
		fprintf(stderr, "dropped %zu function%s from '%s' (now %s); undo with 'git monitor review "
		        "--undo-drop'\n", dropped, dropped == 1 ? "" : "s", review_tqp(r->branch),
		        git_oid_tostr(hex, 13, &tip));
	}
cleanup:
	gm_review_walk_release(&u.w);
	return exit_code;
}
