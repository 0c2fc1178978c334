/*
 * cache.h: a content-addressed store under <common git dir>/monitor/cache,
 * in namespaces ("scan", "model", ...), keyed by a hex digest the caller
 * computes from everything the value depends on.  Entries are written
 * atomically (temp file + rename), so concurrent runs are safe; a reader
 * must validate what it gets back, since the cache is not trusted: an
 * entry that is not a regular file (a FIFO, a device, a directory) is a
 * miss and is never opened for blocking reads.  Deleting the directory is
 * always safe.
 *
 * On top of the store, the model answers (namespace "model"): the key of
 * a request is everything that shaped its answer, so a re-run with nothing
 * changed is answered from here and sends no request.
 */
#ifndef MONITOR_CACHE_H
#define MONITOR_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include <git2.h>

#include "monitor/backend.h"

struct gm_cache;

/* Open the cache of `repo` (created on first write). */
int gm_cache_open(struct gm_cache **out, git_repository *repo);
void gm_cache_free(struct gm_cache *c);

/*
 * GM_ENOTFOUND when absent, not a regular file, unreadable or over `max`
 * bytes; `*out` is NUL-terminated, the caller frees it.
 */
int gm_cache_get(char **out, size_t *len, struct gm_cache *c, const char *ns,
                 const char *key, size_t max);
int gm_cache_put(struct gm_cache *c, const char *ns, const char *key,
                 const void *data, size_t len);

/* Hex SHA-1 of `data` (via libgit2's hasher): `out` holds 41 bytes. */
void gm_cache_digest(char out[41], const void *data, size_t len);

/* ---- model answers ---------------------------------------------------------- */

/*
 * The key of request `q` (caller frees): `prompt_version` (prompt.h's
 * GM_PROMPT_VERSION), the route ("local", "claude"), the model, the schema,
 * the token limit, both prompts, and `attempt` (1 for the first): a retry
 * with the same prompt must ask the model again, yet a re-run replays the
 * same keys.
 */
char *gm_cache_answer_key(const char *prompt_version, const char *route, const char *model,
                          const struct gm_chat_request *q, unsigned attempt);

/*
 * The key an answer to the request of `key` is kept under when another
 * model than the one asked gave it (a fleet whose servers serve different
 * models): never the key a lookup for the asked model computes.  Allocated.
 */
char *gm_cache_answer_key_for_model(const char *key, const char *model);

/* A cached answer; every string is owned by it. */
struct gm_cache_answer {
	char *content, *finish_reason, *model;
};

/*
 * The answer stored under `key`: true with `out` filled (release it with
 * gm_cache_answer_release), false when absent or not trusted (not the JSON
 * gm_cache_answer_put writes).  A NULL cache is always a miss.
 */
bool gm_cache_answer_get(struct gm_cache_answer *out, struct gm_cache *c, const char *key);
/*
 * Store `res` (a completed request) under `key`; a result without content
 * is not stored.  A cache that cannot be written only costs a request
 * later, so failures are ignored (and the error slot left clear).
 */
void gm_cache_answer_put(struct gm_cache *c, const char *key, const struct gm_chat_result *res);
void gm_cache_answer_release(struct gm_cache_answer *a);

#endif
