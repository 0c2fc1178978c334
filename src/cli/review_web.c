/* review_web.c: placeholder until the page lands. */
#include "review_cli.h"

#include "cli.h"

int review_web(git_repository *repo, struct gm_review **r, const char *branch,
               const struct review_web_opts *o)
{
	(void)repo;
	(void)r;
	(void)branch;
	(void)o;
	return cli_fail(CLI_USAGE, "--web is not built yet");
}
