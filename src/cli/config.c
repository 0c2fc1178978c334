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

/* One '...' word as git's sq_quote_buf writes it ('\'' and '\!' inside); NULL: malformed. */
static char *sq_word(const char **pp)
{
	struct gm_buf b = GM_BUF_INIT;
	const char *p = *pp;

	if (*p != '\'')
		return NULL;
	for (p++;; p++) {
		if (!*p) {
			gm_buf_release(&b);
			return NULL;
		}
		if (*p != '\'') {
			gm_buf_put(&b, p, 1);
			continue;
		}
		if (p[1] == '\\' && (p[2] == '\'' || p[2] == '!') && p[3] == '\'') {
			gm_buf_put(&b, p + 2, 1);
			p += 3;
			continue;
		}
		*pp = p + 1;
		if (!b.ptr)
			gm_buf_puts(&b, "");
		return gm_buf_detach(&b, NULL);
	}
}

/* GIT_CONFIG_PARAMETERS: 'key'='value' words, or the older 'key=value'; bogus ones end it. */
static void load_parameters(const char *p)
{
	while (*p) {
		char *key, *value = NULL, *eq;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || !(key = sq_word(&p)))
			return;
		if (*p == '=') {
			p++;
			if (*p == '\'' && !(value = sq_word(&p))) {
				free(key);
				return;
			}
			if (!value)
				value = gm_xstrdup("");
		} else if ((eq = strchr(key, '=')) != NULL) {
			*eq = '\0';
			value = gm_xstrdup(eq + 1);
		}
		add_param(key, value);
		free(key);
		free(value);
	}
}

static void load_count(const char *count)
{
	char name[64];
	long n = strtol(count, NULL, 10);

	for (long i = 0; i < n && i < 10000; i++) {
		const char *k, *v;
		snprintf(name, sizeof(name), "GIT_CONFIG_KEY_%ld", i);
		k = getenv(name);
		snprintf(name, sizeof(name), "GIT_CONFIG_VALUE_%ld", i);
		v = getenv(name);
		if (k && v)
			add_param(k, v);
	}
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
	const char *v;

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
	/* git -c: GIT_CONFIG_COUNT's come first, GIT_CONFIG_PARAMETERS' after (they win). */
	if ((v = getenv("GIT_CONFIG_COUNT")) != NULL)
		load_count(v);
	if ((v = getenv("GIT_CONFIG_PARAMETERS")) != NULL)
		load_parameters(v);
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
