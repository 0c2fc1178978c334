/*
 * pager.c: page stdout the way git does (pager.c, git.c's
 * commit_pager_choice and check_pager_config, run-command.c's use_shell).
 *
 * Whether: `git monitor --no-pager` / `-P` / `git --no-pager monitor` (git
 * then sets GIT_PAGER=cat) / `--no-pager` after the command: no; `-p` /
 * `--paginate`: yes; else pager.monitor.<cmd> (a boolean, or the pager to
 * run), else the command's default.  A pager that git already started
 * (`git -p monitor`, pager.monitor) is used as it is (GIT_PAGER_IN_USE).
 *
 * Which: only when stdout is a terminal; GIT_PAGER, else the command's
 * pager.monitor.<cmd> string, else core.pager, else PAGER, else "less";
 * "" or "cat" means none.  It runs with LESS=FRX and LV=-c unless those
 * are set, COLUMNS set to the terminal's width, directly when its text has
 * no shell metacharacters, else through `sh -c`.  Our stdout (and stderr,
 * when that is the terminal) become its input; at exit we close them and
 * wait for it, so the shell prompt comes back after the pager.
 */
#include "term.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/util.h"
#include "monitor/banned.h"

static int use_pager = -1; /* -1: not said; 0: --no-pager; 1: --paginate */
static pid_t pager_pid = -1;
static bool redirected_stderr;

static int columns, columns_guessed = -1;

int cli_term_columns(void)
{
	const char *c;
	struct winsize ws;

	if (columns)
		return columns;
	columns = 80;
	columns_guessed = 1;
	if ((c = getenv("COLUMNS")) != NULL && atoi(c) > 0) {
		columns = atoi(c);
		columns_guessed = 0;
	} else if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col) {
		columns = ws.ws_col;
		columns_guessed = 0;
	}
	return columns;
}

int cli_term_columns_stderr(void)
{
	const char *c;
	struct winsize ws;

	if ((c = getenv("COLUMNS")) != NULL && atoi(c) > 0)
		return atoi(c);
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		return ws.ws_col;
	return 80;
}

void cli_pager_choice(int on)
{
	use_pager = on;
}

static int stdout_tty = -1, stderr_tty = -1;

void cli_term_init(void)
{
	if (stdout_tty < 0)
		stdout_tty = isatty(STDOUT_FILENO);
	if (stderr_tty < 0)
		stderr_tty = isatty(STDERR_FILENO);
}

bool cli_stdout_is_tty(void)
{
	cli_term_init();
	return stdout_tty == 1;
}

bool cli_stderr_is_tty(void)
{
	cli_term_init();
	return stderr_tty == 1;
}

bool cli_pager_in_use(void)
{
	const char *v = getenv("GIT_PAGER_IN_USE");
	return v && cli_config_parse_bool(v) == 1;
}

/* git's git_pager(): NULL for none. */
static const char *which_pager(const char *cmd_pager)
{
	const char *p;

	if (!cli_stdout_is_tty())
		return NULL;
	p = getenv("GIT_PAGER");
	if (!p)
		p = cmd_pager;
	if (!p)
		p = cli_config_get("core.pager");
	if (!p)
		p = getenv("PAGER");
	if (!p)
		p = "less";
	if (!*p || !strcmp(p, "cat"))
		return NULL;
	return p;
}

static void finish_pager(void)
{
	int status;

	if (pager_pid < 0)
		return;
	fflush(stdout);
	fflush(stderr);
	close(STDOUT_FILENO);
	if (redirected_stderr)
		close(STDERR_FILENO);
	while (waitpid(pager_pid, &status, 0) < 0 && errno == EINTR)
		;
	pager_pid = -1;
}

static void on_signal(int sig)
{
	/* The pager gets the terminal back before we go. */
	if (pager_pid >= 0) {
		int status;
		close(STDOUT_FILENO);
		if (redirected_stderr)
			close(STDERR_FILENO);
		while (waitpid(pager_pid, &status, 0) < 0 && errno == EINTR)
			;
		pager_pid = -1;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static bool has_shell_meta(const char *s)
{
	return s[strcspn(s, "|&;<>()$`\\\"' \t\n*?[#~=%")] != '\0';
}

void cli_pager_setup(const char *cmd, bool default_on)
{
	char key[128], cols[32];
	const char *v, *pager, *cmd_pager = NULL;
	int want = use_pager, fds[2];
	pid_t pid;

	if (want == 0 || cli_pager_in_use() || pager_pid >= 0)
		return;
	snprintf(key, sizeof(key), "pager.monitor.%s", cmd);
	if (want < 0 && (v = cli_config_get(key)) != NULL) {
		int b = cli_config_parse_bool(v);
		want = b < 0 ? 1 : b;
		if (b < 0)
			cmd_pager = v;
	}
	if (want < 0)
		want = default_on;
	if (!want || !(pager = which_pager(cmd_pager)))
		return;
	/* After the redirection the width cannot be asked of stdout: tell the pager's children. */
	snprintf(cols, sizeof(cols), "%d", cli_term_columns());
	if (!columns_guessed)
		setenv("COLUMNS", cols, 0);
	fflush(stdout);
	if (pipe(fds) < 0)
		return;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		dup2(fds[0], STDIN_FILENO);
		close(fds[0]);
		close(fds[1]);
		setenv("LESS", "FRX", 0);
		setenv("LV", "-c", 0);
		unsetenv("GIT_PAGER_IN_USE");
		if (has_shell_meta(pager))
			execl("/bin/sh", "sh", "-c", pager, pager, (char *)NULL);
		else
			execlp(pager, pager, (char *)NULL);
		fprintf(stderr, "git-monitor: unable to execute pager '%s': %s\n", pager, strerror(errno));
		_exit(127);
	}
	setenv("GIT_PAGER_IN_USE", "true", 1);
	close(fds[0]);
	dup2(fds[1], STDOUT_FILENO);
	if (cli_stderr_is_tty()) {
		dup2(fds[1], STDERR_FILENO);
		redirected_stderr = true;
	}
	close(fds[1]);
	pager_pid = pid;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGQUIT, on_signal);
	signal(SIGPIPE, on_signal);
	atexit(finish_pager);
}

void cli_pager_finish(void)
{
	finish_pager();
}
