/*
 * git-monitor: refactor a repository function by function with language
 * models; results land on a new branch for review.  This is the command
 * table; each command lives in cmd_<verb>.c.
 */
#include <stdio.h>
#include <string.h>

#include <git2.h>

#include "cli.h"
#include "monitor/lang.h"
#include "monitor/banned.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "refactor", cmd_refactor, "Rewrite functions with models onto a new branch" },
	{ "scan", cmd_scan, "List the functions of a commit with metrics and routes" },
	{ "hook", cmd_hook, "Install, remove or run the pre-commit hook" },
	{ "review", cmd_review, "Show a generated branch function by function; drop some" },
	{ "doctor", cmd_doctor, "Check the repository, grammars, LM Studio, model and Claude key" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: git monitor [--version] [-h] <command> [<args>]\n"
	        "\n"
	        "Refactor a repository function by function with language models; the\n"
	        "result is a new branch for review. Your working tree, index, HEAD and\n"
	        "branches are never changed.\n"
	        "\n"
	        "commands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "    %-10s %s\n", c->name, c->summary);
	fprintf(out, "\n'git monitor <command> -h' describes a command.\n");
}

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("git-monitor %s\n", GM_VERSION);
		return CLI_OK;
	}
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(c->name, argv[1]) == 0)
			cmd = c;
	if (!cmd) {
		if (argv[1][0] == '-')
			return cli_fail(CLI_USAGE, "unknown option '%s'; see 'git monitor -h'", argv[1]);
		return cli_fail(CLI_USAGE, "'%s' is not a git-monitor command; see 'git monitor -h'", argv[1]);
	}
	git_libgit2_init();
	rc = cmd->fn(argc - 1, argv + 1);
	gm_lang_shutdown();
	git_libgit2_shutdown();
	return rc;
}
