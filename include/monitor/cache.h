/*
 * cache.h: a content-addressed store under <common git dir>/monitor/cache,
 * in namespaces ("scan", "model", ...), keyed by a hex digest the caller
 * computes from everything the value depends on.  Entries are written
 * atomically (temp file + rename), so concurrent runs are safe; a reader
 * must validate what it gets back, since the cache is not trusted.
 * Deleting the directory is always safe.
 */
#ifndef MONITOR_CACHE_H
#define MONITOR_CACHE_H

#include <stddef.h>

#include <git2.h>

struct gm_cache;

/* Open the cache of `repo` (created on first write). */
int gm_cache_open(struct gm_cache **out, git_repository *repo);
void gm_cache_free(struct gm_cache *c);

/* GM_ENOTFOUND when absent; `*out` is NUL-terminated, the caller frees it. */
int gm_cache_get(char **out, size_t *len, struct gm_cache *c, const char *ns,
                 const char *key, size_t max);
int gm_cache_put(struct gm_cache *c, const char *ns, const char *key,
                 const void *data, size_t len);

/* Hex SHA-1 of `data` (via libgit2's hasher): `out` holds 41 bytes. */
void gm_cache_digest(char out[41], const void *data, size_t len);

#endif
