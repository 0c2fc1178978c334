/*
 * cli.h: shared pieces of the command-line front end: the command table,
 * option parsing, exit codes and error printing.  Only cli/ prints.
 */
#ifndef MONITOR_CLI_H
#define MONITOR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <git2.h>

enum cli_exit {
	CLI_OK = 0,
	CLI_FAILED = 1,
	CLI_FATAL = 128,
	CLI_USAGE = 129,
	CLI_INTERRUPTED = 130,
};

enum cli_opt_type {
	CLI_OPT_FLAG,   /* bool *target */
	CLI_OPT_VALUE,  /* const char **target */
	CLI_OPT_MULTI,  /* struct cli_list *target */
	CLI_OPT_COUNT,  /* int *target, incremented */
	CLI_OPT_OPTIONAL, /* const char **target: the value after '=', or "" without one */
};

struct cli_list {
	const char **items;
	size_t n, cap;
};

struct cli_opt {
	char short_name;       /* 0: none */
	const char *long_name; /* NULL ends the table */
	enum cli_opt_type type;
	void *target;
	const char *arg;  /* name of the value in help, e.g. "REV" */
	const char *help;
};

/*
 * Parse argv[1..] against `opts`, as git's parse-options does: long
 * options may be abbreviated when that is unambiguous, a flag --x may be
 * given as --no-x, and the command's shared options (main's table: the
 * pager's --no-pager, colour's --color[=<when>] / --no-color) are known
 * too.  Non-option arguments go to `rest` (everything after "--" too).
 * `-h`/`--help` prints `usage` and the option table to stdout; an
 * unknown, ambiguous or malformed option prints the error, a "did you
 * mean" hint when one is close, and the usage to stderr; both return -1
 * with *exit_code = 129.
 */
int cli_parse(int argc, char **argv, const struct cli_opt *opts, struct cli_list *rest,
              const char *usage, int *exit_code);
void cli_list_release(struct cli_list *l);
void cli_print_help(const char *usage, const struct cli_opt *opts);
/* "git-monitor: <fmt>", then the running command's usage, on stderr; returns 129. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * `text` from column `col` on (the caller wrote what comes before), broken
 * at spaces before column `width`, later lines indented to `col`; a word
 * longer than a line stays whole.
 */
void cli_put_wrapped(FILE *out, const char *text, int col, int width);
/* Only the usage part of that. */
int cli_usage_tail(void);

/* Shared options a command takes (main's table). */
#define CLI_FEAT_PAGER 1u /* --no-pager */
#define CLI_FEAT_COLOR 2u /* --color[=<when>], --no-color */
/* The command running ("scan"), set by main before it runs. */
void cli_set_command(const char *name, unsigned features);
const char *cli_command(void);

/*
 * git's "did you mean": the candidates most like `word` (a prefix counts as
 * a perfect match; ties together), none when nothing is close.  `*out`
 * (the caller frees the array, not the strings) points into `cands`.
 */
size_t cli_similar(const char ***out, const char *word, const char *const *cands, size_t n);
int cli_levenshtein(const char *s1, const char *s2, int w, int s, int a, int d);
/*
 * An unknown command: the message and the similar commands, or, as
 * help.autocorrect says, the command to run instead (NULL: none).
 */
const char *cli_unknown_command(const char *cmd, const char *const *names, size_t n);
/* The man page next to this binary (build tree or install prefix), or NULL; caller frees. */
char *cli_man_page(void);
/* Open the manual (at `cmd`'s section when less shows it); returns only on failure. */
int cli_show_man(const char *cmd);

/* Print "git-monitor: <last error>" and map a GM_E* code to an exit code. */
int cli_error(int gm_code);
/* Print "git-monitor: <fmt>" and return `exit_code`. */
int cli_fail(int exit_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_exit_code(int gm_code);
/* A "hint: " line on stderr (yellow with colour, as git's advice). */
void cli_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Called before an error or hint goes to stderr: the progress line clears itself. */
extern void (*cli_before_stderr)(void);

/*
 * Repository bytes on a terminal (monitor/quote.h): cli_path quotes a path
 * as git does with core.quotePath (read by cli_quote_setup, git's default
 * true before), cli_name a function name, cli_text a reason, a warning or
 * an answer (control characters escaped in place).  Each returns a string
 * the caller frees.  Errors (cli_error, cli_fail) are escaped the same way.
 */
void cli_quote_setup(git_repository *repo);
char *cli_path(const char *path);
char *cli_name(const char *name);
char *cli_text(const char *text);

/* Parse a positive integer option value; prints the error on failure. */
int cli_parse_int(int *out, const char *name, const char *value, int min, int max);

int cmd_scan(int argc, char **argv);
int cmd_refactor(int argc, char **argv);
int cmd_hook(int argc, char **argv);
int cmd_review(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_clean(int argc, char **argv);
int cmd_complete(int argc, char **argv); /* hidden: what the shell completions ask */

#endif
