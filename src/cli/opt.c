#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "term.h"

#include "monitor/error.h"
#include "monitor/quote.h"
#include "monitor/util.h"
#include "monitor/banned.h"

static void list_push(struct cli_list *l, const char *s)
{
	GM_GROW(l->items, l->cap, l->n + 1);
	l->items[l->n++] = s;
}

void cli_list_release(struct cli_list *l)
{
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

/* ---- the command running, its usage, and the options every command shares ---- */

static const char *cur_name;
static unsigned cur_features;
static const char *cur_usage;
static const struct cli_opt *cur_opts;

static bool common_no_pager, common_no_color;
static const char *common_color;
static const struct cli_opt common_pager_opts[] = {
	{ 0, "no-pager", CLI_OPT_FLAG, &common_no_pager, NULL, "do not pipe the output into a pager" },
	{ 0, NULL, 0, NULL, NULL, NULL },
};
static const struct cli_opt common_color_opts[] = {
	{ 0, "color", CLI_OPT_OPTIONAL, &common_color, "WHEN", "colour: always, never or auto (default auto)" },
	{ 0, "no-color", CLI_OPT_FLAG, &common_no_color, NULL, "no colours (--color=never)" },
	{ 0, NULL, 0, NULL, NULL, NULL },
};

void cli_set_command(const char *name, unsigned features)
{
	cur_name = name;
	cur_features = features;
}

const char *cli_command(void)
{
	return cur_name;
}

void cli_put_wrapped(FILE *out, const char *text, int col, int width)
{
	const char *p = text;
	int avail = width - col;

	while (*p) {
		size_t len = strlen(p), cut = len;
		if ((int)len > avail) {
			cut = (size_t)avail;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (!cut)
				cut = strcspn(p, " ");
		}
		fprintf(out, "%.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
		if (*p)
			fprintf(out, "%*s", col, "");
	}
	if (!*text)
		fputc('\n', out);
}

static void print_opts(FILE *out, const struct cli_opt *opts)
{
	for (const struct cli_opt *o = opts; o && o->long_name; o++) {
		char left[64];
		const char *arg = o->arg ? o->arg : "";
		if (o->type == CLI_OPT_OPTIONAL)
			snprintf(left, sizeof(left), "    --%s[=%s]", o->long_name, arg);
		else if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->long_name,
			         o->arg ? " " : "", arg);
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->long_name, o->arg ? " " : "", arg);
		fprintf(out, "    %-28s ", left);
		cli_put_wrapped(out, o->help, 33, 79);
	}
}

static bool in_table(const struct cli_opt *opts, const char *name)
{
	for (const struct cli_opt *o = opts; o && o->long_name; o++)
		if (!strcmp(o->long_name, name))
			return true;
	return false;
}

static void print_help_to(FILE *out, const char *usage, const struct cli_opt *opts)
{
	fprintf(out, "%s\n", usage);
	if ((opts && opts->long_name) || cur_features)
		fprintf(out, "\n");
	print_opts(out, opts);
	/* the shared ones a command's own table does not have */
	if (cur_features & CLI_FEAT_PAGER)
		for (const struct cli_opt *o = common_pager_opts; o->long_name; o++)
			if (!in_table(opts, o->long_name))
				print_opts(out, (const struct cli_opt[]){ *o, { 0, NULL, 0, NULL, NULL, NULL } });
	if (cur_features & CLI_FEAT_COLOR)
		for (const struct cli_opt *o = common_color_opts; o->long_name; o++)
			if (!in_table(opts, o->long_name))
				print_opts(out, (const struct cli_opt[]){ *o, { 0, NULL, 0, NULL, NULL, NULL } });
}

void cli_print_help(const char *usage, const struct cli_opt *opts)
{
	print_help_to(stdout, usage, opts);
}

int cli_usage_tail(void)
{
	if (cur_usage) {
		fputc('\n', stderr);
		print_help_to(stderr, cur_usage, cur_opts);
	}
	return CLI_USAGE;
}

int cli_usage_error(const char *fmt, ...)
{
	struct gm_buf b = GM_BUF_INIT;
	char *safe;
	va_list ap;

	va_start(ap, fmt);
	gm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	safe = cli_text(b.ptr ? b.ptr : ""); /* an argument's control characters stay off the terminal */
	fprintf(stderr, "git-monitor: %s\n", safe);
	free(safe);
	gm_buf_release(&b);
	if (cur_usage) {
		fputc('\n', stderr);
		print_help_to(stderr, cur_usage, cur_opts);
	}
	return CLI_USAGE;
}

static int set_opt(const struct cli_opt *o, const char *value)
{
	switch (o->type) {
	case CLI_OPT_FLAG: *(bool *)o->target = true; break;
	case CLI_OPT_VALUE: *(const char **)o->target = value; break;
	case CLI_OPT_OPTIONAL: *(const char **)o->target = value ? value : ""; break;
	case CLI_OPT_MULTI: list_push(o->target, value); break;
	case CLI_OPT_COUNT: (*(int *)o->target)++; break;
	}
	return 0;
}

static bool takes_value(const struct cli_opt *o)
{
	return o->type == CLI_OPT_VALUE || o->type == CLI_OPT_MULTI;
}

/* The tables a long option is looked up in, the command's own first. */
static size_t tables(const struct cli_opt *tabs[3], const struct cli_opt *opts)
{
	size_t n = 0;
	tabs[n++] = opts;
	if (cur_features & CLI_FEAT_PAGER)
		tabs[n++] = common_pager_opts;
	if (cur_features & CLI_FEAT_COLOR)
		tabs[n++] = common_color_opts;
	return n;
}

/*
 * Find long option `name` (`len` bytes): exactly, as --no-<flag> (*negated),
 * or as the unique abbreviation of one (as git's parse-options allows).
 * NULL with *ambiguous set when two options start so.
 */
static const struct cli_opt *find_long(const struct cli_opt *opts, const char *name, size_t len,
                                       bool *negated, const struct cli_opt **ambiguous,
                                       const struct cli_opt **first)
{
	const struct cli_opt *tabs[3], *abbrev = NULL;
	size_t nt = tables(tabs, opts);
	bool abbrev_neg = false;

	*negated = false;
	*ambiguous = NULL;
	*first = NULL;
	for (size_t t = 0; t < nt; t++)
		for (const struct cli_opt *p = tabs[t]; p && p->long_name; p++)
			if (strlen(p->long_name) == len && !strncmp(p->long_name, name, len))
				return p;
	if (len > 3 && !strncmp(name, "no-", 3))
		for (size_t t = 0; t < nt; t++)
			for (const struct cli_opt *p = tabs[t]; p && p->long_name; p++)
				if (p->type == CLI_OPT_FLAG && strlen(p->long_name) == len - 3 &&
				    !strncmp(p->long_name, name + 3, len - 3)) {
					*negated = true;
					return p;
				}
	for (size_t t = 0; t < nt; t++)
		for (const struct cli_opt *p = tabs[t]; p && p->long_name; p++) {
			bool neg = false;
			if (strncmp(p->long_name, name, len) != 0) {
				if (!(p->type == CLI_OPT_FLAG && len > 3 && !strncmp(name, "no-", 3) &&
				      !strncmp(p->long_name, name + 3, len - 3)))
					continue;
				neg = true;
			}
			if (abbrev && abbrev != p) {
				*ambiguous = p;
				*first = abbrev;
				return NULL;
			}
			abbrev = p;
			abbrev_neg = neg;
		}
	*negated = abbrev_neg;
	return abbrev;
}

/* "did you mean" for an unknown long option, as git does for commands. */
static void suggest_long(const struct cli_opt *opts, const char *name, size_t len)
{
	const struct cli_opt *tabs[3];
	size_t nt = tables(tabs, opts), n = 0, cap = 0, nbest;
	const char **cands = NULL, **best = NULL;
	char *word = gm_xstrndup(name, len);

	for (size_t t = 0; t < nt; t++)
		for (const struct cli_opt *p = tabs[t]; p && p->long_name; p++) {
			GM_GROW(cands, cap, n + 1);
			cands[n++] = p->long_name;
		}
	nbest = cli_similar(&best, word, cands, n);
	if (nbest == 1)
		fprintf(stderr, "hint: did you mean '--%s'?\n", best[0]);
	else if (nbest > 1) {
		fprintf(stderr, "hint: did you mean one of these?\n");
		for (size_t i = 0; i < nbest; i++)
			fprintf(stderr, "hint:     --%s\n", best[i]);
	}
	free(best);
	free(cands);
	free(word);
}

static void apply_common(void)
{
	if (common_no_pager)
		cli_pager_choice(0);
	if (common_no_color)
		cli_color_set_flag(CLI_COLOR_NEVER);
}

int cli_parse(int argc, char **argv, const struct cli_opt *opts, struct cli_list *rest,
              const char *usage, int *exit_code)
{
	bool only_args = false;

	cur_usage = usage;
	cur_opts = opts;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct cli_opt *o = NULL;

		if (only_args || a[0] != '-' || a[1] == '\0') {
			list_push(rest, a);
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = true;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			/* git's parse-options: usage on stdout, exit 129 */
			cli_print_help(usage, opts);
			*exit_code = CLI_USAGE;
			return -1;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct cli_opt *amb, *amb_first;
			bool negated;
			o = find_long(opts, name, len, &negated, &amb, &amb_first);
			if (amb) {
				*exit_code = cli_usage_error("ambiguous option '--%.*s' (could be --%s or --%s)",
				                             (int)len, name, amb_first->long_name, amb->long_name);
				return -1;
			}
			if (!o) {
				char *w = gm_xstrndup(name, len), *safe = cli_text(w);
				fprintf(stderr, "git-monitor: unknown option '--%s'\n", safe);
				free(safe);
				free(w);
				suggest_long(opts, name, len);
				*exit_code = cli_usage_tail();
				return -1;
			}
			if (negated) {
				if (eq) {
					*exit_code = cli_usage_error("option '--no-%s' takes no value", o->long_name);
					return -1;
				}
				*(bool *)o->target = false;
				continue;
			}
			if (o->type == CLI_OPT_OPTIONAL) {
				set_opt(o, eq ? eq + 1 : NULL);
			} else if (takes_value(o)) {
				if (eq)
					set_opt(o, eq + 1);
				else if (i + 1 < argc)
					set_opt(o, argv[++i]);
				else {
					*exit_code = cli_usage_error("option '--%s' needs a value", o->long_name);
					return -1;
				}
			} else if (eq) {
				*exit_code = cli_usage_error("option '--%s' takes no value", o->long_name);
				return -1;
			} else {
				set_opt(o, NULL);
			}
			continue;
		}
		/* Short options, possibly bundled: -qv, -j4, -j 4 */
		for (const char *s = a + 1; *s; s++) {
			o = NULL;
			for (const struct cli_opt *p = opts; p && p->long_name; p++)
				if (p->short_name == *s)
					o = p;
			if (!o) {
				*exit_code = cli_usage_error("unknown option '-%c'", *s);
				return -1;
			}
			if (takes_value(o)) {
				if (s[1])
					set_opt(o, s + 1);
				else if (i + 1 < argc)
					set_opt(o, argv[++i]);
				else {
					*exit_code = cli_usage_error("option '-%c' needs a value", *s);
					return -1;
				}
				break;
			}
			set_opt(o, NULL);
		}
	}
	if (common_color) {
		int when = *common_color ? cli_colorbool(common_color, false) : CLI_COLOR_ALWAYS;
		if (when < 0) {
			*exit_code = cli_usage_error("bad value '%s' for --color: expected always, never or auto",
			                             common_color);
			return -1;
		}
		cli_color_set_flag(when);
	}
	apply_common();
	return 0;
}

int cli_exit_code(int gm_code)
{
	switch (gm_code) {
	case GM_OK: return CLI_OK;
	case GM_EUSAGE: return CLI_USAGE;
	case GM_ENOREPO:
	case GM_EFATAL: return CLI_FATAL;
	case GM_EINTERRUPTED: return CLI_INTERRUPTED;
	default: return CLI_FAILED;
	}
}

void (*cli_before_stderr)(void);

void cli_hint(const char *fmt, ...)
{
	bool on = cli_want_color_stderr("color.advice");
	const char *c = cli_color(on, "color.advice.hint", "yellow");
	va_list ap;

	if (cli_before_stderr)
		cli_before_stderr();
	fprintf(stderr, "%shint: ", c);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", cli_color_reset(c));
}

static bool quote_path = true; /* core.quotePath */

void cli_quote_setup(git_repository *repo)
{
	(void)repo; /* git's config as git reads it for us, git -c included (config.c) */
	quote_path = cli_config_bool("core.quotePath", true);
}

char *cli_path(const char *path)
{
	return gm_quote_path(path, quote_path);
}

char *cli_name(const char *name)
{
	return gm_quote_text(name);
}

char *cli_text(const char *text)
{
	return gm_quote_escape(text);
}

int cli_error(int gm_code)
{
	const char *msg = gm_error_last();
	char *safe = cli_text(*msg ? msg : "unknown error");
	if (cli_before_stderr)
		cli_before_stderr();
	fprintf(stderr, "git-monitor: %s\n", safe);
	/* A server that did not answer: the command that finds out why. */
	if (strstr(safe, "cannot reach"))
		cli_hint("run 'git monitor doctor' to check the servers and the configuration");
	free(safe);
	return cli_exit_code(gm_code);
}

int cli_fail(int exit_code, const char *fmt, ...)
{
	struct gm_buf b = GM_BUF_INIT;
	char *safe;
	va_list ap;
	if (cli_before_stderr)
		cli_before_stderr();
	va_start(ap, fmt);
	gm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	safe = cli_text(b.ptr ? b.ptr : "");
	fprintf(stderr, "git-monitor: %s\n", safe);
	free(safe);
	gm_buf_release(&b);
	return exit_code;
}

int cli_parse_int(int *out, const char *name, const char *value, int min, int max)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < min || v > max) {
		cli_usage_error("bad value '%s' for %s: expected a number from %d to %d", value, name, min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}
