#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void cli_print_help(const char *usage, const struct cli_opt *opts)
{
	printf("%s\n", usage);
	if (opts && opts->long_name)
		printf("\n");
	for (const struct cli_opt *o = opts; o && o->long_name; o++) {
		char left[64];
		if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->long_name,
			         o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->long_name, o->arg ? " " : "",
			         o->arg ? o->arg : "");
		printf("    %-28s %s\n", left, o->help);
	}
}

static int set_opt(const struct cli_opt *o, const char *value)
{
	switch (o->type) {
	case CLI_OPT_FLAG: *(bool *)o->target = true; break;
	case CLI_OPT_VALUE: *(const char **)o->target = value; break;
	case CLI_OPT_MULTI: list_push(o->target, value); break;
	case CLI_OPT_COUNT: (*(int *)o->target)++; break;
	}
	return 0;
}

static bool takes_value(const struct cli_opt *o)
{
	return o->type == CLI_OPT_VALUE || o->type == CLI_OPT_MULTI;
}

int cli_parse(int argc, char **argv, const struct cli_opt *opts, struct cli_list *rest,
              const char *usage, int *exit_code)
{
	bool only_args = false;

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
			cli_print_help(usage, opts);
			*exit_code = CLI_OK;
			return -1;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			for (const struct cli_opt *p = opts; p && p->long_name; p++)
				if (strlen(p->long_name) == len && strncmp(p->long_name, name, len) == 0)
					o = p;
			if (!o) {
				*exit_code = cli_fail(CLI_USAGE, "unknown option '--%.*s'", (int)len, name);
				return -1;
			}
			if (takes_value(o)) {
				if (eq)
					set_opt(o, eq + 1);
				else if (i + 1 < argc)
					set_opt(o, argv[++i]);
				else {
					*exit_code = cli_fail(CLI_USAGE, "option '--%s' needs a value", o->long_name);
					return -1;
				}
			} else if (eq) {
				*exit_code = cli_fail(CLI_USAGE, "option '--%s' takes no value", o->long_name);
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
				*exit_code = cli_fail(CLI_USAGE, "unknown option '-%c'", *s);
				return -1;
			}
			if (takes_value(o)) {
				if (s[1])
					set_opt(o, s + 1);
				else if (i + 1 < argc)
					set_opt(o, argv[++i]);
				else {
					*exit_code = cli_fail(CLI_USAGE, "option '-%c' needs a value", *s);
					return -1;
				}
				break;
			}
			set_opt(o, NULL);
		}
	}
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

static bool quote_path = true; /* core.quotePath */

void cli_quote_setup(git_repository *repo)
{
	git_config *cfg = NULL;
	int v;

	if (repo && git_repository_config_snapshot(&cfg, repo) == 0 &&
	    git_config_get_bool(&v, cfg, "core.quotePath") == 0)
		quote_path = v != 0;
	git_error_clear();
	git_config_free(cfg);
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
	fprintf(stderr, "git-monitor: %s\n", safe);
	free(safe);
	return cli_exit_code(gm_code);
}

int cli_fail(int exit_code, const char *fmt, ...)
{
	struct gm_buf b = GM_BUF_INIT;
	char *safe;
	va_list ap;

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
		cli_fail(CLI_USAGE, "bad value '%s' for %s: expected a number from %d to %d", value, name, min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}
