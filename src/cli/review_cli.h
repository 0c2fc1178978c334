/*
 * review_cli.h: the parts of `git monitor review` beyond the table
 * (cmd_review.c parses the options and dispatches here): the tasks that
 * changed nothing and their answers (review_list.c), going through the
 * functions in a terminal (review_interactive.c), and the review page,
 * served or written to a file (review_web.c).  Each returns an exit code
 * (cli.h) and prints its own errors.
 */
#ifndef MONITOR_CLI_REVIEW_H
#define MONITOR_CLI_REVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <git2.h>

#include "monitor/review.h"

/*
 * Repository and model text as printed on a terminal, through cli.h's
 * quoting (monitor/quote.h, git's rules): review_tq a function name (or a
 * path:name), review_tqp a path or a branch, review_tqt free text (a
 * reason, a model, a rationale).  The result lives in one of a few
 * rotating slots, valid until the eighth next call: enough for one printf.
 */
const char *review_tq(const char *s);
const char *review_tqp(const char *s);
const char *review_tqt(const char *s);

/*
 * After the table: the rejected, failed and skipped tasks with their
 * reasons, statuses coloured when `color`, cut to the terminal's width
 * unless `full` (-v).
 */
void review_print_unapplied(const struct gm_review *r, bool color, bool full);
/* The same in `--json`: "not_applied": [...]. */
void review_json_unapplied(cJSON *root, const struct gm_review *r);
/* `--show path:Name`: the kept answer of that task on stdout, its status on stderr. */
int review_show(const struct gm_review *r, const char *spec);

struct review_interactive_opts {
	const char *const *pathspecs;
	size_t npathspecs;
	const char *const *globs; /* -f */
	size_t nglobs;
	bool color;               /* colour the diffs (cmd_review decides) */
};

/*
 * `review -i` needs a terminal on stdin and stdout: CLI_OK when there is
 * one, else the one-line error (naming --drop) and its exit code.
 */
int review_interactive_check_tty(void);
/* `review -i`: one function at a time, then one drop commit (or none). */
int review_interactive(git_repository *repo, struct gm_review *r,
                       const struct review_interactive_opts *o);

struct review_web_opts {
	bool open_browser;          /* --no-open clears it; GIT_MONITOR_NO_BROWSER too */
	unsigned idle_timeout;      /* seconds without a request before the server stops; 0: never */
	const char *html_file;      /* --html FILE: write the static page instead of serving */
};

/* `review --web` (serve until Ctrl-C or idle) or `review --html FILE`. */
int review_web(git_repository *repo, struct gm_review **r, const char *branch,
               const struct review_web_opts *o);

#endif
