/*
 * term.h: what the front end needs of the terminal, decided as git
 * decides it: git config the way git reads it for a subcommand (config.c),
 * colour (color.c), the pager (pager.c), the width and tables that fit it
 * (pager.c, table.c) and advice hints (help.c).
 *
 * Strings returned are static or owned here unless a comment says the
 * caller frees them.
 */
#ifndef MONITOR_CLI_TERM_H
#define MONITOR_CLI_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* ---- git config (config.c) ----------------------------------------------------- */

/* Read the config now (main does, before a command can leave an error in the slot). */
void cli_config_load(void);
/* The effective value of `key` (git -c first, then the repository's, global, system), or NULL. */
const char *cli_config_get(const char *key);
/* git's boolean: 1 true, 0 false, -1 not a boolean; NULL (a key without '=') is true. */
int cli_config_parse_bool(const char *value);
/* `key` as a boolean; `def` when unset or not a boolean. */
bool cli_config_bool(const char *key, bool def);

/* ---- colour (color.c) ---------------------------------------------------------- */

enum { CLI_COLOR_NEVER = 0, CLI_COLOR_ALWAYS = 1, CLI_COLOR_AUTO = 2 };
#define CLI_COLOR_RESET "\033[m"

/* "never", "always", "auto" or a boolean (true: auto); -1 otherwise.  `from_config`: NULL is auto. */
int cli_colorbool(const char *value, bool from_config);
/* --color[=<when>] / --no-color (CLI_COLOR_*). */
void cli_color_set_flag(int when);
/*
 * Colour stdout?  --color, color.monitor, NO_COLOR, `key` (e.g.
 * "color.diff"; NULL: none), color.ui, auto: the first that says.
 */
bool cli_want_color(const char *key);
bool cli_want_color_stderr(const char *key);
/* A git colour value as an escape sequence ("" for none); -1 when malformed.  Caller frees. */
int cli_color_parse(char **out, const char *value);
/* Slot `key` ("color.diff.new"): its configured colour, else `def`; "" when `on` is false. */
const char *cli_color(bool on, const char *key, const char *def);
/* CLI_COLOR_RESET after a non-empty colour, else "". */
const char *cli_color_reset(const char *seq);
/* A task status ("applied" green, "rejected"/"failed" red, "skipped"/"dropped" yellow),
 * from color.monitor.<status>. */
const char *cli_status_color(bool on, const char *status);

/* ---- pager and width (pager.c) -------------------------------------------------- */

/* Note whether stdout and stderr are terminals (before a pager replaces them). */
void cli_term_init(void);
bool cli_stdout_is_tty(void);
bool cli_stderr_is_tty(void);

/* The top-level choice: 1 --paginate, 0 --no-pager, -1 none. */
void cli_pager_choice(int on);
/* Start the pager for command `cmd` if git would (see pager.c); no-op when one runs. */
void cli_pager_setup(const char *cmd, bool default_on);
/* Close our end and wait for the pager (also done at exit). */
void cli_pager_finish(void);
/* GIT_PAGER_IN_USE: git or we started a pager that reads stdout. */
bool cli_pager_in_use(void);
/* git's term_columns(): COLUMNS, else the width of stdout's terminal, else 80 (cached). */
int cli_term_columns(void);
/* The same for stderr's terminal (the progress line), not cached. */
int cli_term_columns_stderr(void);

/* ---- width and tables (table.c) ------------------------------------------------- */

/* Display columns of a UTF-8 string (colour escapes count none). */
int cli_width(const char *s);
/* `s` cut to `max` columns on character boundaries: in the middle / at the end, with "…".  Caller frees. */
char *cli_truncate_middle(const char *s, int max);
char *cli_truncate_end(const char *s, int max);
/* "dir/file:line[ name]" cut in the middle of its directories; what follows the path is kept
 * whole, and the file's name, when they fit. */
char *cli_truncate_path(const char *s, int max);

/*
 * A table whose columns are as wide as their widest cell, two spaces
 * apart; printed at a maximum width, the columns that may shrink (widest
 * first, down to their minimum) are cut, never wrapped; width 0: full
 * text.  Notes are lines printed under a row, cut at the end.  A column
 * with no text in any row is left out.
 */
struct cli_table;
#define CLI_COL_RIGHT 1u  /* right-aligned (numbers) */
#define CLI_COL_MIDDLE 2u /* may shrink, cut in the middle (names, paths) */
#define CLI_COL_END 4u    /* may shrink, cut at the end (reasons) */
#define CLI_COL_FIRST 8u  /* shrinks before the others (free text) */
#define CLI_COL_LAST 16u  /* shrinks after the others (what the row is about) */
#define CLI_COL_PATH 32u  /* may shrink, a path: cut in the middle, keeping the file's name if it can */
#define CLI_COL_TIGHT 64u /* one space before it, not two (columns of numbers) */

struct cli_table *cli_table_new(void);
void cli_table_free(struct cli_table *t);
void cli_table_col(struct cli_table *t, const char *header, unsigned flags, int min);
void cli_table_header_color(struct cli_table *t, const char *color);
void cli_table_row(struct cli_table *t);
/* The next cell of the current row; `color` (a slot's sequence) may be NULL or "". */
void cli_table_cell(struct cli_table *t, const char *color, const char *text);
void cli_table_cellf(struct cli_table *t, const char *color, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cli_table_note(struct cli_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t cli_table_rows(const struct cli_table *t);
void cli_table_print(struct cli_table *t, FILE *out, int maxwidth);
/* A model id as a narrow table shows it: without its publisher ("lmstudio-community/"); points into `id`. */
const char *cli_model_short(const char *id);

/* ---- advice (help.c) ------------------------------------------------------------- */

/*
 * git's advise_if_enabled: unless advice.<key> is false, each line of the
 * message goes to stderr as "hint: <line>" (yellow with colour on stderr),
 * with the line saying how to turn it off last.
 */
void cli_advise(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool cli_advice_enabled(const char *key);

#endif
