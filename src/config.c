#include "monitor/config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

const struct gm_config_key gm_config_keys[] = {
	{ "monitor.local.url", GM_DEFAULT_LOCAL_URL, "MONITOR_LOCAL_URL", "string" },
	{ "monitor.local.model", "(the first loaded LLM listed by the server)", NULL, "string" },
	{ "monitor.local.concurrency", "4", NULL, "count" },
	{ "monitor.local.timeout", "600", NULL, "count" },
	{ "monitor.local.kind", "auto", NULL, "auto|lmstudio|llamacpp|vllm|ollama" },
	{ "monitor.local.apiKey", "(none: the NAME of an environment variable with a bearer key)",
	  NULL, "string" },
	{ "monitor.claude.model", "claude-sonnet-5", NULL, "string" },
	{ "monitor.claude.url", GM_DEFAULT_CLAUDE_URL, "ANTHROPIC_BASE_URL", "string" },
	{ "monitor.claude.concurrency", "4", NULL, "count" },
	{ "monitor.claude.batch", "off", NULL, "off|on|auto" },
	{ "monitor.claude.batchAbove", "20", NULL, "count" },
	{ "monitor.route.complexity", "10", NULL, "count" },
	{ "monitor.goal", "improve readability and structure without changing behaviour", NULL, "string" },
	{ "monitor.branchPrefix", "monitor/", NULL, "string" },
	{ "monitor.hook.mode", "warn", NULL, "warn|block|suggest" },
	{ "monitor.hook.maxComplexity", "15", NULL, "count" },
	{ "monitor.scan.maxFileSize", "1m", NULL, "count" },
	{ "monitor.verify.timeout", "600", NULL, "count" },
	{ NULL, NULL, NULL, NULL },
};

struct item {
	char *key;
	char *value;
	char *origin;
};

struct gm_config {
	struct item *items; /* in load order; later wins for single values */
	size_t n, cap;
};

static const char *level_name(git_config_level_t l)
{
	switch (l) {
	case GIT_CONFIG_LEVEL_PROGRAMDATA:
	case GIT_CONFIG_LEVEL_SYSTEM: return "system git config";
	case GIT_CONFIG_LEVEL_XDG:
	case GIT_CONFIG_LEVEL_GLOBAL: return "global git config";
	case GIT_CONFIG_LEVEL_LOCAL: return "repository git config";
	case GIT_CONFIG_LEVEL_APP: return "application";
	default: return "git config";
	}
}

static void push(struct gm_config *cfg, const char *key, const char *value, const char *origin)
{
	GM_GROW(cfg->items, cfg->cap, cfg->n + 1);
	cfg->items[cfg->n].key = gm_xstrdup(key);
	cfg->items[cfg->n].value = gm_xstrdup(value ? value : "");
	cfg->items[cfg->n].origin = gm_xstrdup(origin);
	cfg->n++;
}

static int level_rank(git_config_level_t l)
{
	return (int)l; /* libgit2 orders levels lowest priority first */
}

struct pending {
	const git_config_entry *e;
	int rank;
	size_t seq;
};

static int cmp_pending(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* ---- git -c --------------------------------------------------------------------------- */

#define PARAMS_ORIGIN "command line (git -c)"

/*
 * One shell single-quoted word at `*pp` (which starts with a quote), as
 * git writes them (quote.c's sq_quote_buf, read back by sq_dequote_step):
 * the text between quotes, where a quote is written '\'' and '!' as
 * '\!'.  `*pp` ends just past it.  NULL when it does not close.
 */
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
		/* Out of the quotes: an escaped ' or ! and back in, or the end of the word. */
		if (p[1] == '\\' && (p[2] == '\'' || p[2] == '!') && p[3] == '\'') {
			gm_buf_put(&b, p + 2, 1);
			p += 3;
			continue;
		}
		*pp = p + 1;
		return gm_buf_detach(&b, NULL);
	}
}


/*
 * GIT_CONFIG_PARAMETERS, which `git -c k=v` (and --config-env) hand to a
 * subcommand; libgit2 1.5 does not read it.  git's format (config.c,
 * parse_config_env_list): words separated by spaces, each 'key'='value'
 * (git 2.31 and later; 'key'= alone: no value) or the older 'key=value'
 * split at its first '='.  Anything else is "bogus format", as git says.
 */
static int load_parameters(gm_config_param_fn fn, void *ctx, const char *env)
{
	const char *p = env;

	while (*p) {
		char *key, *value = NULL, *eq;
		if (!(key = sq_word(&p)))
			goto bogus;
		if (!*p || isspace((unsigned char)*p)) {
			/* old style: 'key=value' */
			if ((eq = strchr(key, '=')) != NULL) {
				*eq = '\0';
				value = gm_xstrdup(eq + 1);
			}
		} else if (*p == '=') {
			p++;
			if (*p == '\'') {
				if (!(value = sq_word(&p)) || (*p && !isspace((unsigned char)*p))) {
					free(value);
					free(key);
					goto bogus;
				}
			} else if (*p && !isspace((unsigned char)*p)) {
				free(key);
				goto bogus;
			}
		} else {
			free(key);
			goto bogus;
		}
		if (!*key) {
			free(key);
			free(value);
			gm_error_set("empty config key in GIT_CONFIG_PARAMETERS");
			return GM_EFATAL;
		}
		fn(ctx, key, value, PARAMS_ORIGIN);
		free(key);
		free(value);
		while (isspace((unsigned char)*p))
			p++;
	}
	return 0;
bogus:
	gm_error_set("bogus format in GIT_CONFIG_PARAMETERS");
	return GM_EFATAL;
}

/* GIT_CONFIG_COUNT with GIT_CONFIG_KEY_<n> / GIT_CONFIG_VALUE_<n> (git 2.31), before the -c ones. */
static int load_count(gm_config_param_fn fn, void *ctx, const char *count)
{
	char *end, name[64], *origin;
	unsigned long n = strtoul(count, &end, 10);

	if (*end || end == count) {
		gm_error_set("bogus count in GIT_CONFIG_COUNT");
		return GM_EFATAL;
	}
	for (unsigned long i = 0; i < n && i < 100000; i++) {
		const char *k, *v;
		snprintf(name, sizeof(name), "GIT_CONFIG_KEY_%lu", i);
		if (!(k = getenv(name))) {
			gm_error_set("missing config key %s", name);
			return GM_EFATAL;
		}
		snprintf(name, sizeof(name), "GIT_CONFIG_VALUE_%lu", i);
		if (!(v = getenv(name))) {
			gm_error_set("missing config value %s", name);
			return GM_EFATAL;
		}
		origin = gm_xasprintf("environment (GIT_CONFIG_KEY_%lu)", i);
		fn(ctx, k, v, origin);
		free(origin);
	}
	return 0;
}

int gm_config_git_parameters(gm_config_param_fn fn, void *ctx)
{
	const char *v;
	int rc = 0;

	/* GIT_CONFIG_COUNT's first, GIT_CONFIG_PARAMETERS' after (they win), as git reads them. */
	if ((v = getenv("GIT_CONFIG_COUNT")) != NULL && (rc = load_count(fn, ctx, v)) < 0)
		return rc;
	if ((v = getenv("GIT_CONFIG_PARAMETERS")) != NULL)
		rc = load_parameters(fn, ctx, v);
	return rc;
}

static void push_param(void *ctx, const char *key, const char *value, const char *origin)
{
	/* Only our keys; a key given without a value is a boolean true, as git has it. */
	if (strncasecmp(key, "monitor.", 8) == 0)
		push(ctx, key, value ? value : "true", origin);
}

int gm_config_load(struct gm_config **out, git_repository *repo)
{
	struct gm_config *cfg = gm_xcalloc(1, sizeof(*cfg));
	git_config *gc = NULL, *snap = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	struct pending *pend = NULL;
	size_t npend = 0, cpend = 0;
	int rc = 0;

	*out = cfg;
	if (repo ? git_repository_config(&gc, repo) < 0 : git_config_open_default(&gc) < 0) {
		/* No readable config at all is not an error: defaults apply. */
		git_error_clear();
		goto layers;
	}
	if (git_config_snapshot(&snap, gc) < 0) {
		rc = gm_error_git(GM_ERROR, "cannot read git config");
		goto cleanup;
	}
	/* Not a glob iterator: libgit2 1.5 leaks a regex match per non-matching key. */
	if (git_config_iterator_new(&it, snap) < 0) {
		rc = gm_error_git(GM_ERROR, "cannot read git config");
		goto cleanup;
	}
	/* Iteration is per backend; sort by level so repository config wins. */
	while (git_config_next(&e, it) == 0) {
		if (strncmp(e->name, "monitor.", 8) != 0)
			continue;
		GM_GROW(pend, cpend, npend + 1);
		pend[npend].e = e;
		pend[npend].rank = level_rank(e->level);
		pend[npend].seq = npend;
		npend++;
		push(cfg, e->name, e->value, level_name(e->level));
	}
	/* Rebuild in priority order (stable within a level). */
	if (npend)
		qsort(pend, npend, sizeof(*pend), cmp_pending);
	{
		struct item *sorted = gm_xcalloc(npend ? npend : 1, sizeof(*sorted));
		for (size_t i = 0; i < npend; i++)
			sorted[i] = cfg->items[pend[i].seq];
		free(cfg->items);
		cfg->items = sorted;
		cfg->cap = npend ? npend : 1;
	}
layers:
	/* git -c: the highest level of git config, as in git. */
	if ((rc = gm_config_git_parameters(push_param, cfg)) < 0)
		goto cleanup;
	/* The environment layer, above git config and below flags. */
	for (const struct gm_config_key *k = gm_config_keys; rc == 0 && k->key; k++) {
		const char *v = k->env ? getenv(k->env) : NULL;
		if (v && *v) {
			char *origin = gm_xasprintf("environment (%s)", k->env);
			gm_config_set(cfg, k->key, v, origin);
			free(origin);
		}
	}
cleanup:
	free(pend);
	git_config_iterator_free(it);
	git_config_free(snap);
	git_config_free(gc);
	return rc;
}

void gm_config_free(struct gm_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->items[i].key);
		free(cfg->items[i].value);
		free(cfg->items[i].origin);
	}
	free(cfg->items);
	free(cfg);
}

/* git config keys: section and last part case-insensitive, subsection not;
 * our keys have no subsections, so compare case-insensitively. */
static const struct item *find_last(const struct gm_config *cfg, const char *key)
{
	for (size_t i = cfg->n; i-- > 0;)
		if (strcasecmp(cfg->items[i].key, key) == 0)
			return &cfg->items[i];
	return NULL;
}

const char *gm_config_string(struct gm_config *cfg, const char *key, const char *def)
{
	const struct item *it = cfg ? find_last(cfg, key) : NULL;
	return it ? it->value : def;
}

const struct gm_config_key *gm_config_key_find(const char *key)
{
	for (const struct gm_config_key *k = gm_config_keys; k->key; k++)
		if (!strcasecmp(k->key, key))
			return k;
	return NULL;
}

const char *gm_config_default(const char *key)
{
	const struct gm_config_key *k = gm_config_key_find(key);
	return k ? k->def : NULL;
}

/* A count with git's k/m/g suffixes. */
static int parse_count(int64_t *out, const char *v)
{
	char *end;
	long long n;
	int64_t mul = 1;

	n = strtoll(v, &end, 10);
	if (end == v)
		return -1;
	switch (*end) {
	case 'k': case 'K': mul = 1024; end++; break;
	case 'm': case 'M': mul = 1024 * 1024; end++; break;
	case 'g': case 'G': mul = 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end)
		return -1;
	*out = (int64_t)n * mul;
	return 0;
}

int gm_config_int(int64_t *out, struct gm_config *cfg, const char *key)
{
	const struct gm_config_key *k = gm_config_key_find(key);
	const char *v = gm_config_string(cfg, key, NULL);

	*out = 0;
	if (!k || strcmp(k->type, "count") != 0 || parse_count(out, k->def) < 0) {
		gm_error_set("'%s' is not a numeric setting", key);
		return GM_EINVALID;
	}
	if (!v)
		return 0;
	if (parse_count(out, v) < 0) {
		gm_error_set("bad numeric value '%s' for '%s'", v, key);
		return GM_EUSAGE;
	}
	return 0;
}

int gm_config_positive(int64_t *out, struct gm_config *cfg, const char *key)
{
	const char *v = gm_config_string(cfg, key, NULL);
	int rc = gm_config_int(out, cfg, key);

	if (rc == GM_EINVALID)
		return rc;
	if (rc < 0 || *out <= 0) {
		gm_error_set("%s = '%s' (from %s): not a positive whole number", key, v ? v : "",
		             gm_config_origin(cfg, key));
		return GM_EUSAGE;
	}
	return 0;
}

size_t gm_config_multi(const char ***out, struct gm_config *cfg, const char *key)
{
	size_t n = 0;
	const char **v = gm_xcalloc(cfg->n + 1, sizeof(*v));
	for (size_t i = 0; i < cfg->n; i++)
		if (strcasecmp(cfg->items[i].key, key) == 0)
			v[n++] = cfg->items[i].value;
	*out = v;
	return n;
}

void gm_config_set(struct gm_config *cfg, const char *key, const char *value, const char *origin)
{
	/* An override replaces every configured value, multi-valued keys too. */
	for (size_t i = 0; i < cfg->n;) {
		if (strcasecmp(cfg->items[i].key, key) == 0) {
			free(cfg->items[i].key);
			free(cfg->items[i].value);
			free(cfg->items[i].origin);
			memmove(&cfg->items[i], &cfg->items[i + 1], (cfg->n - i - 1) * sizeof(*cfg->items));
			cfg->n--;
		} else {
			i++;
		}
	}
	push(cfg, key, value, origin);
}

const char *gm_config_origin(struct gm_config *cfg, const char *key)
{
	const struct item *it = cfg ? find_last(cfg, key) : NULL;
	return it ? it->origin : "default";
}

/* ---- the doctor's check ---------------------------------------------------- */

static void add_setting(struct gm_config_check *c, const char *key, char *value, char *origin,
                        bool known)
{
	struct gm_config_setting *s;

	GM_GROW(c->settings, c->cap, c->nsettings + 1);
	s = &c->settings[c->nsettings++];
	s->key = key;
	s->value = value;
	s->origin = origin;
	s->known = known;
}

/* Every known key with its effective value, then the monitor.* keys nobody reads. */
static void collect_settings(struct gm_config_check *c, struct gm_config *cfg, git_repository *repo)
{
	git_config *gc = NULL, *snap = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;

	for (const struct gm_config_key *k = gm_config_keys; k->key; k++) {
		const char **vals = NULL;
		size_t n = gm_config_multi(&vals, cfg, k->key);
		struct gm_buf v = GM_BUF_INIT;
		for (size_t i = 0; i < n; i++)
			gm_buf_printf(&v, "%s%s", i ? ", " : "", vals[i]);
		free(vals);
		if (!n)
			gm_buf_puts(&v, k->def);
		if (n && !strcmp(k->key, "monitor.local.apiKey") &&
		    strspn(v.ptr, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != v.len) {
			/* Not a variable name: maybe a key pasted where its name belongs. */
			gm_buf_clear(&v);
			gm_buf_puts(&v, "(hidden: not the name of an environment variable)");
		}
		add_setting(c, k->key, gm_buf_detach(&v, NULL), gm_xstrdup(gm_config_origin(cfg, k->key)),
		            true);
	}
	/* monitor.* keys nobody reads: typos worth seeing. */
	if (repo ? git_repository_config(&gc, repo) < 0 : git_config_open_default(&gc) < 0)
		gc = NULL;
	/* No glob iterator: libgit2 1.5 leaks pcre2 match data on every miss. */
	if (gc && git_config_snapshot(&snap, gc) == 0 && git_config_iterator_new(&it, snap) == 0) {
		while (git_config_next(&e, it) == 0) {
			bool seen = false;
			if (strncasecmp(e->name, "monitor.", 8) || gm_config_key_find(e->name))
				continue;
			for (size_t i = 0; i < c->nsettings; i++)
				seen |= !c->settings[i].known && !strcasecmp(c->settings[i].key, e->name);
			if (!seen) {
				/* The key string must outlive the snapshot. */
				char *name = gm_xstrdup(e->name);
				add_setting(c, name, gm_xstrdup(e->value ? e->value : ""),
				            gm_xstrdup(gm_config_origin(cfg, name)), false);
			}
		}
	}
	git_error_clear();
	git_config_iterator_free(it);
	git_config_free(snap);
	git_config_free(gc);
	/* ... and those given with git -c, which git config files do not hold. */
	for (size_t i = 0; i < cfg->n; i++) {
		const struct item *e2 = &cfg->items[i];
		bool seen = false;
		if (strncasecmp(e2->key, "monitor.", 8) || gm_config_key_find(e2->key))
			continue;
		for (size_t k = 0; k < c->nsettings; k++)
			seen |= !c->settings[k].known && !strcasecmp(c->settings[k].key, e2->key);
		if (!seen)
			add_setting(c, gm_xstrdup(e2->key), gm_xstrdup(e2->value),
			            gm_xstrdup(gm_config_origin(cfg, e2->key)), false);
	}
}

/* A choice list "a|b|c" holds `v`. */
static bool one_of(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *c = choices; *c;) {
		size_t len = strcspn(c, "|");
		if (len == n && !strncmp(c, v, n))
			return true;
		c += len + (c[len] == '|');
	}
	return false;
}

/* Keep the first problem of the worst kind seen so far. */
static void note(struct gm_config_check *c, enum gm_config_verdict v, char *detail, char *hint)
{
	if (c->detail && (c->verdict == GM_CONFIG_FAIL || v != GM_CONFIG_FAIL)) {
		free(detail);
		free(hint);
		return;
	}
	free(c->detail);
	free(c->hint);
	c->verdict = v;
	c->detail = detail;
	c->hint = hint;
}

void gm_config_check(struct gm_config_check *out, struct gm_config *cfg, git_repository *repo)
{
	struct gm_buf unknown = GM_BUF_INIT;
	size_t nknown = 0, nunknown = 0;

	memset(out, 0, sizeof(*out));
	collect_settings(out, cfg, repo);
	for (const struct gm_config_key *k = gm_config_keys; k->key; k++) {
		const char *v = gm_config_string(cfg, k->key, NULL);
		int64_t n;
		if (!v)
			continue;
		nknown++;
		if (!strcmp(k->type, "count")) {
			/* The run's own rule (gm_config_positive), and its words. */
			if (gm_config_positive(&n, cfg, k->key) < 0)
				note(out, GM_CONFIG_FAIL, gm_xstrdup(gm_error_last()),
				     gm_xasprintf("git config %s %s", k->key, k->def));
		} else if (strcmp(k->type, "string") && !one_of(k->type, v)) {
			note(out, GM_CONFIG_WARN,
			     gm_xasprintf("%s = '%s' (from %s): not one of %s; %s is used", k->key, v,
			                  gm_config_origin(cfg, k->key), k->type, k->def),
			     gm_xasprintf("git config %s %s", k->key, k->def));
		}
	}
	gm_error_clear();
	for (size_t i = 0; i < out->nsettings; i++)
		if (!out->settings[i].known)
			gm_buf_printf(&unknown, "%s%s", nunknown++ ? ", " : "", out->settings[i].key);
	if (nunknown)
		note(out, GM_CONFIG_WARN,
		     gm_xasprintf("unknown setting%s %s (not used by git-monitor)",
		                  nunknown == 1 ? "" : "s", unknown.ptr),
		     gm_xstrdup("a typo? 'git monitor doctor -v' lists the known keys"));
	if (!out->detail)
		out->detail = gm_xasprintf("%zu monitor.* setting%s configured, all valid", nknown,
		                           nknown == 1 ? "" : "s");
	gm_buf_release(&unknown);
}

void gm_config_check_release(struct gm_config_check *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nsettings; i++) {
		if (!c->settings[i].known)
			free((char *)c->settings[i].key);
		free(c->settings[i].value);
		free(c->settings[i].origin);
	}
	free(c->settings);
	free(c->detail);
	free(c->hint);
	memset(c, 0, sizeof(*c));
}
