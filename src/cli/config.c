/*
 * config.c: git config as git itself would read it for the front end's
 * own keys (color.*, core.pager, pager.monitor.*, advice.*,
 * help.autocorrect): the repository's config when the command runs in
 * one, else global and system, and `git -c` on top, which reaches a git
 * subcommand only as GIT_CONFIG_PARAMETERS / GIT_CONFIG_COUNT (libgit2
 * reads neither).  Read once, on first use.
 */
#include "term.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <git2.h>

#include "monitor/config.h"
#include "monitor/error.h"
#include "monitor/repo.h"
#include "monitor/util.h"
#include "monitor/banned.h"

struct param {
	char *key, *value; /* value NULL: given without '=' (a boolean true) */
};

static bool loaded;
static void load(void);
static git_config *snap;
static struct param *params;
static size_t nparams, cparams;
static char **kept; /* strings handed out, freed at exit */
static size_t nkept, ckept;

/* git's canonical form: section and variable lower case, the subsection as is. */
static char *canonical(const char *key)
{
	char *k = gm_xstrdup(key);
	char *first = strchr(k, '.'), *last = strrchr(k, '.');
	for (char *p = k; *p && (!first || p < first); p++)
		*p = (char)tolower((unsigned char)*p);
	for (char *p = last ? last : k; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

static void add_param(const char *key, const char *value)
{
	GM_GROW(params, cparams, nparams + 1);
	params[nparams].key = canonical(key);
	params[nparams].value = value ? gm_xstrdup(value) : NULL;
	nparams++;
}

static void take_param(void *ctx, const char *key, const char *value, const char *origin)
{
	(void)ctx;
	(void)origin;
	add_param(key, value);
}

static void free_all(void)
{
	git_config_free(snap);
	for (size_t i = 0; i < nparams; i++) {
		free(params[i].key);
		free(params[i].value);
	}
	free(params);
	for (size_t i = 0; i < nkept; i++)
		free(kept[i]);
	free(kept);
}

void cli_config_load(void)
{
	if (!loaded)
		load();
}

static void load(void)
{
	git_repository *repo = NULL;
	git_config *gc = NULL;

	loaded = true;
	if (gm_repo_open(&repo, NULL) == 0 && git_repository_config(&gc, repo) == 0)
		;
	else if (git_config_open_default(&gc) < 0)
		gc = NULL;
	if (gc && git_config_snapshot(&snap, gc) < 0)
		snap = NULL;
	git_config_free(gc);
	git_repository_free(repo);
	git_error_clear();
	gm_error_clear();
	/* git -c, read as the library reads it; a bogus one is the library's error to report. */
	gm_config_git_parameters(take_param, NULL);
	gm_error_clear();
	atexit(free_all);
}

const char *cli_config_get(const char *key)
{
	git_config_entry *e = NULL;
	char *k;
	const char *found = NULL;

	if (!loaded)
		load();
	k = canonical(key);
	for (size_t i = nparams; i-- > 0;)
		if (!strcmp(params[i].key, k)) {
			found = params[i].value ? params[i].value : "true";
			break;
		}
	free(k);
	if (found)
		return found;
	if (snap && git_config_get_entry(&e, snap, key) == 0 && e) {
		GM_GROW(kept, ckept, nkept + 1);
		kept[nkept++] = gm_xstrdup(e->value ? e->value : "true");
		git_config_entry_free(e);
		return kept[nkept - 1];
	}
	git_error_clear();
	return NULL;
}

int cli_config_parse_bool(const char *v)
{
	if (!v)
		return 1; /* a key without '=' */
	if (!*v || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
	    !strcmp(v, "0"))
		return 0;
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		return 1;
	return -1;
}

bool cli_config_bool(const char *key, bool def)
{
	const char *v = cli_config_get(key);
	int b = v ? cli_config_parse_bool(v) : -1;
	return b < 0 ? def : b == 1;
}
