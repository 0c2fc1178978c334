/*
 * config.h: settings from git config (repository, then global/system, as
 * libgit2 layers them), then the environment, then flags.  Each value
 * remembers where it came from, for `doctor -v`.
 */
#ifndef MONITOR_CONFIG_H
#define MONITOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <git2.h>

struct gm_config;

#define GM_DEFAULT_LOCAL_URL "http://localhost:1234/v1"
#define GM_DEFAULT_CLAUDE_URL "https://api.anthropic.com"

/* A setting we know: its default (as text), the environment variable that
 * overrides it (or NULL) and its type ("string", "count", "a|b|c"). */
struct gm_config_key {
	const char *key, *def, *env, *type;
};

/* Every monitor.* key, ending with a NULL key. */
extern const struct gm_config_key gm_config_keys[];

/*
 * `repo` may be NULL (global and system config only).  Environment
 * overrides (MONITOR_LOCAL_URL, ANTHROPIC_BASE_URL) are applied on top,
 * with origin "environment (NAME)"; flags come after, from the caller.
 */
int gm_config_load(struct gm_config **out, git_repository *repo);
void gm_config_free(struct gm_config *cfg);

/* The string value of `key` ("monitor.goal"), or `def`. */
const char *gm_config_string(struct gm_config *cfg, const char *key, const char *def);
/* Integer with git's k/m/g suffixes; a malformed value is an error naming the key. */
int gm_config_int(int64_t *out, struct gm_config *cfg, const char *key, int64_t def);
int gm_config_bool(bool *out, struct gm_config *cfg, const char *key, bool def);
/* All values of a multi-valued key, in order; the caller frees the array (not the strings). */
size_t gm_config_multi(const char ***out, struct gm_config *cfg, const char *key);

/* Override a value (environment or flag), recording `origin`. */
void gm_config_set(struct gm_config *cfg, const char *key, const char *value, const char *origin);
/* Where the effective value of `key` came from ("default" when unset). */
const char *gm_config_origin(struct gm_config *cfg, const char *key);

#endif
