/*
 * git-monitor: refactor a repository function by function with language
 * models; results land on a new branch for review.  This is the command
 * table; each command lives in cmd_<verb>.c.
 *
 * Before the command, as git takes them before its own: -p/--paginate,
 * -P/--no-pager.  `git monitor help [-m] [<command>]`: a command's usage
 * (the same as `<command> -h`), or the manual; `--help` (what git turns
 * `git monitor --help` into is `git help monitor`, the man page) opens the
 * manual too.  A mistyped command gets git's "did you mean".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "cli.h"
#include "term.h"
#include "monitor/lang.h"
#include "monitor/banned.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	unsigned features; /* CLI_FEAT_*: the shared options it takes */
};

static const struct command commands[] = {
	{ "refactor", cmd_refactor, "Rewrite functions with models onto a new branch", CLI_FEAT_COLOR },
	{ "scan", cmd_scan, "List the functions of a commit with metrics and routes",
	  CLI_FEAT_PAGER | CLI_FEAT_COLOR },
	{ "review", cmd_review, "Show a generated branch function by function; drop some",
	  CLI_FEAT_PAGER | CLI_FEAT_COLOR },
	{ "list", cmd_list, "List past runs: branch, date, goal, counts, cost, merged",
	  CLI_FEAT_PAGER | CLI_FEAT_COLOR },
	{ "clean", cmd_clean, "Delete monitor/* branches, their notes and unused cached answers", 0 },
	{ "hook", cmd_hook, "Install, remove or run the pre-commit hook", 0 },
	{ "doctor", cmd_doctor, "Check the repository, grammars, LM Studio, model and Claude key",
	  CLI_FEAT_COLOR },
	{ "help", NULL, "Show a command's usage, or the manual with -m", 0 },
	{ NULL, NULL, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: git monitor [--version] [-h | --help]\n"
	        "                   [-p | --paginate | -P | --no-pager] <command> [<args>]\n"
	        "\n"
	        "Refactor a repository function by function with language models; the\n"
	        "result is a new branch for review. Your working tree, index, HEAD and\n"
	        "branches are never changed.\n"
	        "\n"
	        "commands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "    %-10s %s\n", c->name, c->summary);
	fprintf(out, "\n'git monitor <command> -h' describes a command; 'git monitor help -m'\n"
	             "opens the manual.\n");
}

static const struct command *find(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static const struct command *unknown(const char *name)
{
	const char *names[sizeof(commands) / sizeof(commands[0])];
	size_t n = 0;
	const char *instead;

	for (const struct command *c = commands; c->name; c++)
		names[n++] = c->name;
	instead = cli_unknown_command(name, names, n);
	return instead ? find(instead) : NULL;
}

static int run(const struct command *cmd, int argc, char **argv)
{
	int rc;

	cli_set_command(cmd->name, cmd->features);
	rc = cmd->fn(argc, argv);
	gm_lang_shutdown();
	return rc;
}

static void shutdown_libgit2(void)
{
	git_libgit2_shutdown();
}

/* git monitor help [-m | --man] [<command>] */
static int help(int argc, char **argv)
{
	bool man = false;
	const char *topic = NULL;
	const struct command *c;
	char *hargv[3];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-m") || !strcmp(argv[i], "--man"))
			man = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: git monitor help [-m | --man] [<command>]\n");
			return CLI_USAGE;
		} else if (argv[i][0] == '-')
			return cli_fail(CLI_USAGE, "unknown option '%s'; see 'git monitor help -h'", argv[i]);
		else if (topic)
			return cli_fail(CLI_USAGE, "expected one command; see 'git monitor help -h'");
		else
			topic = argv[i];
	}
	if (topic && !strcmp(topic, "monitor"))
		topic = NULL;
	if (topic && (!(c = find(topic)) || !c->fn)) {
		if (!(c = unknown(topic)) || !c->fn)
			return CLI_FAILED;
		topic = c->name;
	}
	if (man)
		return cli_show_man(topic);
	if (!topic) {
		usage(stdout);
		return CLI_OK;
	}
	/* the same text as '<command> -h'; asked for, so it is no usage error */
	hargv[0] = (char *)topic;
	hargv[1] = (char *)"-h";
	hargv[2] = NULL;
	c = find(topic);
	return run(c, 2, hargv) == CLI_USAGE ? CLI_OK : CLI_FAILED;
}

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	int i = 1;

	cli_term_init(); /* before a pager takes stdout */
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-p") || !strcmp(a, "--paginate"))
			cli_pager_choice(1);
		else if (!strcmp(a, "-P") || !strcmp(a, "--no-pager"))
			cli_pager_choice(0);
		else if (!strcmp(a, "-h")) {
			usage(stdout);
			return CLI_OK;
		} else if (!strcmp(a, "--help")) {
			/* what `git help monitor` does: the manual (its usage when man cannot run) */
			cli_show_man(NULL);
			usage(stdout);
			return CLI_OK;
		} else if (!strcmp(a, "--version")) {
			printf("git-monitor %s\n", GM_VERSION);
			return CLI_OK;
		} else {
			char *safe = cli_text(a);
			fprintf(stderr, "git-monitor: unknown option '%s'\n\n", safe);
			free(safe);
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	argc -= i;
	argv += i;
	/* registered first, so it runs after everything that holds libgit2 objects */
	git_libgit2_init();
	atexit(shutdown_libgit2);
	cli_config_load();
	if (!strcmp(argv[0], "version")) {
		printf("git-monitor %s\n", GM_VERSION);
		return CLI_OK;
	}
	if (!strcmp(argv[0], "help"))
		return help(argc, argv);
	if (!strcmp(argv[0], "__complete")) {
		static const struct command complete = { "__complete", cmd_complete, "", 0 };
		return run(&complete, argc, argv);
	}
	if (!(cmd = find(argv[0])) && !(cmd = unknown(argv[0])))
		return CLI_FAILED;
	if (!cmd->fn)
		return help(argc, argv);
	return run(cmd, argc, argv);
}
