/*
 * help.c: help and mistakes, as git handles them.
 *
 * - "Did you mean": git's help_unknown_cmd, over the candidates that
 *   similar.c finds close;
 *   help.autocorrect: unset/false/"show": show them; "never": not even
 *   that; true/"immediate"/negative/1: run the one candidate at once;
 *   N > 1: after N deciseconds; "prompt": ask (on a terminal only).
 * - advice: advice.<key> false silences a hint; unset, the hint says how.
 * - `git monitor help [-m] [<command>]`, and the man page found next to
 *   the binary (the build tree's share/man, or the installed prefix's).
 */
#include "cli.h"
#include "term.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "monitor/util.h"
#include "monitor/banned.h"

/* ---- unknown commands ------------------------------------------------------------ */

#define AUTOCORRECT_SHOW (-4)
#define AUTOCORRECT_PROMPT (-3)
#define AUTOCORRECT_NEVER (-2)
#define AUTOCORRECT_IMMEDIATELY (-1)

static int autocorrect_setting(void)
{
	const char *v = cli_config_get("help.autocorrect");
	char *end;
	long n;

	if (!v)
		return AUTOCORRECT_SHOW;
	switch (cli_config_parse_bool(v)) {
	case 1: return AUTOCORRECT_IMMEDIATELY;
	case 0: return AUTOCORRECT_SHOW;
	default: break;
	}
	if (!strcmp(v, "prompt"))
		return AUTOCORRECT_PROMPT;
	if (!strcmp(v, "never"))
		return AUTOCORRECT_NEVER;
	if (!strcmp(v, "immediate"))
		return AUTOCORRECT_IMMEDIATELY;
	if (!strcmp(v, "show"))
		return AUTOCORRECT_SHOW;
	n = strtol(v, &end, 10);
	if (*end || end == v)
		return AUTOCORRECT_SHOW;
	if (n < 0 || n == 1)
		return AUTOCORRECT_IMMEDIATELY;
	return n > 600 ? 600 : (int)n;
}

static void not_a_command(const char *cmd)
{
	char *safe = cli_text(cmd);
	fprintf(stderr, "git-monitor: '%s' is not a git-monitor command; see 'git monitor -h'\n", safe);
	free(safe);
}

const char *cli_unknown_command(const char *cmd, const char *const *names, size_t n)
{
	int ac = autocorrect_setting();
	const char **best = NULL;
	size_t nbest;

	if (ac == AUTOCORRECT_PROMPT && (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)))
		ac = AUTOCORRECT_NEVER;
	if (ac == AUTOCORRECT_NEVER) {
		not_a_command(cmd);
		return NULL;
	}
	nbest = cli_similar(&best, cmd, names, n);
	if (ac != AUTOCORRECT_SHOW && nbest == 1) {
		const char *assumed = best[0];
		free(best);
		char *safe = cli_text(cmd);
		fprintf(stderr, "WARNING: You called a git-monitor command named '%s', which does not exist.\n",
		        safe);
		free(safe);
		if (ac == AUTOCORRECT_IMMEDIATELY) {
			fprintf(stderr, "Continuing under the assumption that you meant '%s'.\n", assumed);
		} else if (ac == AUTOCORRECT_PROMPT) {
			char answer[16] = "";
			fprintf(stderr, "Run '%s' instead [y/N]? ", assumed);
			fflush(stderr);
			if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y'))
				return NULL;
		} else {
			struct timespec ts = { ac / 10, (long)(ac % 10) * 100000000L };
			fprintf(stderr, "Continuing in %0.1f seconds, assuming that you meant '%s'.\n",
			        (double)ac / 10.0, assumed);
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		return assumed;
	}
	not_a_command(cmd);
	if (nbest) {
		fprintf(stderr, "\nThe most similar command%s\n", nbest == 1 ? " is" : "s are");
		for (size_t i = 0; i < nbest; i++)
			fprintf(stderr, "\t%s\n", best[i]);
	}
	free(best);
	return NULL;
}

/* ---- advice ------------------------------------------------------------------------- */

bool cli_advice_enabled(const char *key)
{
	char k[128];
	snprintf(k, sizeof(k), "advice.%s", key);
	return cli_config_bool(k, true);
}

void cli_advise(const char *key, const char *fmt, ...)
{
	struct gm_buf b = GM_BUF_INIT;
	char k[128];
	const char *color, *reset, *p;
	bool on;
	va_list ap;

	snprintf(k, sizeof(k), "advice.%s", key);
	if (!cli_config_bool(k, true))
		return;
	va_start(ap, fmt);
	gm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (!cli_config_get(k))
		gm_buf_printf(&b, "\nDisable this message with \"git config %s false\"", k);
	on = cli_want_color_stderr("color.advice");
	color = cli_color(on, "color.advice.hint", "yellow");
	reset = cli_color_reset(color);
	for (p = b.ptr; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		fprintf(stderr, "%shint:%s%.*s%s\n", color, len ? " " : "", (int)len, p, reset);
		p += len + (nl ? 1 : 0);
	}
	gm_buf_release(&b);
}

/* ---- the manual ----------------------------------------------------------------------- */

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

char *cli_man_page(void)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	static const char *const rel[] = { "/share/man/man1/git-monitor.1", "/../share/man/man1/git-monitor.1",
		                           "/man/man1/git-monitor.1" };

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	if (!(slash = strrchr(self, '/')))
		return NULL;
	*slash = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char *p = gm_xasprintf("%s%s", self, rel[i]);
		if (is_file(p))
			return p;
		free(p);
	}
	return NULL;
}

int cli_show_man(const char *cmd)
{
	char *page = cli_man_page();
	char *pattern = NULL;

	fflush(stdout);
	fflush(stderr);
	/* With less showing it (man's default), open the page at the command's section. */
	if (cmd && !getenv("MANPAGER") && (!getenv("PAGER") || !strcmp(getenv("PAGER"), "less"))) {
		pattern = gm_xasprintf("less -is -p '^   git monitor %s$'", cmd);
		setenv("MANPAGER", pattern, 1);
	}
	if (page)
		execlp("man", "man", "-l", page, (char *)NULL);
	else
		execlp("man", "man", "git-monitor", (char *)NULL);
	fprintf(stderr, "git-monitor: cannot run man: %s\n", strerror(errno));
	free(page);
	free(pattern);
	return CLI_FAILED;
}
