/*
 * cli.h: shared pieces of the command-line front end: the command table,
 * option parsing, exit codes and error printing.  Only cli/ prints.
 */
#ifndef MONITOR_CLI_H
#define MONITOR_CLI_H

#include <stdbool.h>
#include <stddef.h>

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
 * Parse argv[1..] against `opts`; non-option arguments go to `rest`
 * (everything after "--" too).  `-h`/`--help` prints `usage` and the
 * option table to stdout and returns -1 with *exit_code = 0; an unknown
 * option prints a one-line error and returns -1 with *exit_code = 129.
 */
int cli_parse(int argc, char **argv, const struct cli_opt *opts, struct cli_list *rest,
              const char *usage, int *exit_code);
void cli_list_release(struct cli_list *l);
void cli_print_help(const char *usage, const struct cli_opt *opts);

/* Print "git-monitor: <last error>" and map a GM_E* code to an exit code. */
int cli_error(int gm_code);
/* Print "git-monitor: <fmt>" and return `exit_code`. */
int cli_fail(int exit_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_exit_code(int gm_code);

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

#endif
