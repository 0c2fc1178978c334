/*
 * config.h: settings from git config (repository, then global/system, as
 * libgit2 layers them), then the environment, then flags.  Each value
 * remembers where it came from, for `doctor -v`.  Every setting we read is
 * a row of gm_config_keys[], which holds its one default; `doctor` checks
 * the configured values against that table (gm_config_check).
 *
 * Ownership: strings returned by gm_config_string, gm_config_origin,
 * gm_config_default and the values of gm_config_multi belong to the config
 * (or the static table) and stay valid until gm_config_set replaces that
 * key or gm_config_free; copy them to keep them longer.
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

/*
 * A setting we know: its default (as text; in parentheses when it is a
 * description, not a value: monitor.local.model), the environment variable
 * that overrides it (or NULL) and its type ("string", "count", "a|b|c").
 */
struct gm_config_key {
	const char *key, *def, *env, *type;
};

/* Every monitor.* key, ending with a NULL key. */
extern const struct gm_config_key gm_config_keys[];

/* The row of `key` (case-insensitive), or NULL when we do not know it. */
const struct gm_config_key *gm_config_key_find(const char *key);
/* The table's default of `key` (static), or NULL for a key not in the table. */
const char *gm_config_default(const char *key);

/*
 * `repo` may be NULL (global and system config only).  Environment
 * overrides (MONITOR_LOCAL_URL, ANTHROPIC_BASE_URL) are applied on top,
 * with origin "environment (NAME)"; flags come after, from the caller.
 */
int gm_config_load(struct gm_config **out, git_repository *repo);

/*
 * `git -c` as a git subcommand receives it (libgit2 reads neither):
 * GIT_CONFIG_COUNT's GIT_CONFIG_KEY_<n>/GIT_CONFIG_VALUE_<n>, then
 * GIT_CONFIG_PARAMETERS' words, each given to `fn` in that order (later
 * wins) with its origin; `value` NULL for a key given without '=' (a
 * boolean true).  GM_EFATAL, in git's words, for a bogus format; the pairs
 * before it were given.
 */
typedef void (*gm_config_param_fn)(void *ctx, const char *key, const char *value, const char *origin);
int gm_config_git_parameters(gm_config_param_fn fn, void *ctx);
void gm_config_free(struct gm_config *cfg);

/* The string value of `key` ("monitor.goal"), or `def` (returned as is; also for `cfg` NULL). */
const char *gm_config_string(struct gm_config *cfg, const char *key, const char *def);
/*
 * Integer with git's k/m/g suffixes; unset (or `cfg` NULL): the table's
 * default.  A malformed value is GM_EUSAGE naming the key; a key that is not a "count"
 * of gm_config_keys[] is GM_EINVALID (a bug of the caller).
 */
int gm_config_int(int64_t *out, struct gm_config *cfg, const char *key);
/*
 * A count that must be a positive whole number (every "count" of the
 * table): gm_config_int, and a value that is malformed, zero or negative
 * is GM_EUSAGE with "KEY = 'V' (from ORIGIN): not a positive whole
 * number", the words `doctor` shows.  A run stops on it before any model
 * is asked.
 */
int gm_config_positive(int64_t *out, struct gm_config *cfg, const char *key);
/* All values of a multi-valued key, in order; the caller frees the array (not the strings). */
size_t gm_config_multi(const char ***out, struct gm_config *cfg, const char *key);

/* Override a value (environment or flag), recording `origin`. */
void gm_config_set(struct gm_config *cfg, const char *key, const char *value, const char *origin);
/* Where the effective value of `key` came from ("default" when unset). */
const char *gm_config_origin(struct gm_config *cfg, const char *key);

/*
 * The check `git monitor doctor` shows for the settings: a value that would
 * stop a run (a count that is not a positive whole number) fails; a value
 * outside its choices ("warn|block|suggest") and a monitor.* key nothing
 * reads (a typo) warn.  `detail` is the first problem of the worst kind, or
 * "N monitor.* settings configured, all valid"; `hint` a fix, or NULL.
 */
enum gm_config_verdict {
	GM_CONFIG_VALID,
	GM_CONFIG_WARN,
	GM_CONFIG_FAIL,
};

/* One setting as `doctor -v` lists it. */
struct gm_config_setting {
	const char *key; /* the table's spelling (static), or the unknown key as configured (owned) */
	char *value;     /* the effective value(s), ", "-separated; the default when unset */
	char *origin;    /* gm_config_origin's, copied */
	bool known;      /* false: a monitor.* key git-monitor does not read */
};

struct gm_config_check {
	enum gm_config_verdict verdict;
	char *detail;
	char *hint;
	/* Every known key in table order, then the unknown monitor.* keys in
	 * the order git config lists them (each once). */
	struct gm_config_setting *settings;
	size_t nsettings, cap;
};

/*
 * Check `cfg`; `repo` (NULL: global and system config only) is read again
 * for the monitor.* keys nothing reads.  A bad setting is data in `out`,
 * never an error.  The check owns its strings: release it with
 * gm_config_check_release().
 */
void gm_config_check(struct gm_config_check *out, struct gm_config *cfg, git_repository *repo);
void gm_config_check_release(struct gm_config_check *c);

#endif
