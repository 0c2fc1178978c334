/*
 * scan_cache.h: the scan cache, scan.h's results kept across runs so that
 * a warm scan parses nothing.  An entry lives in the cache namespace
 * "scan" (cache.h) under a key made of the query digest, the language and
 * the blob id, so a changed grammar, query or blob never meets an old one.
 * An entry is
 *
 *	<key>\n<checksum of the rest: 16 hex>\n<encoding>
 *
 * and the encoding a magic line, then counts, numbers (LEB128) and
 * length-prefixed strings, in struct order (a warm scan spent most of its
 * time parsing JSON before).
 *
 * Nothing read back is trusted: an entry that does not decode, whose key
 * or checksum differ, or whose units do not fit the blob's text
 * (gm_file_scan_check: offsets, lines, order, ordinals) is a miss, and the
 * caller parses the blob again.  Deleting the cache is always safe.
 */
#ifndef MONITOR_SCAN_CACHE_H
#define MONITOR_SCAN_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include <git2.h>

#include "monitor/lang.h"
#include "monitor/scan.h"
#include "monitor/util.h"

struct gm_cache;

/* The key (40 hex digits and a NUL) of the scan of `blob` as `lang`. */
void gm_scan_cache_key(char out[41], const struct gm_lang *lang, const git_oid *blob);

/*
 * The cached scan of the blob whose text is `src` (`len` bytes), under
 * `key`: true and `out` filled on a hit that passes every check, false and
 * `out` empty on a miss (absent, unreadable or damaged).  No error is left
 * set.  `cache` NULL: always a miss.
 */
bool gm_scan_cache_load(struct gm_file_scan *out, struct gm_cache *cache, const char *key,
                        const char *src, size_t len);
/* Store `fs` under `key`; a cache that cannot be written only costs speed. */
void gm_scan_cache_store(struct gm_cache *cache, const char *key, const struct gm_file_scan *fs);

/* Append the whole entry (head and encoding) of `fs` under `key` to `out`. */
void gm_scan_cache_entry(struct gm_buf *out, const char *key, const struct gm_file_scan *fs);
/*
 * Read an entry back and check it against `src`: 0, or GM_EINVALID with
 * `out` left empty and the reason in the error slot.
 */
int gm_scan_cache_read_entry(struct gm_file_scan *out, const char *key, const char *entry,
                             size_t entry_len, const char *src, size_t len);

/* The encoding alone (no head, no check against a source). */
void gm_scan_cache_encode(struct gm_buf *out, const struct gm_file_scan *fs);
/* Every length and field is checked; GM_EINVALID and `out` empty on anything else. */
int gm_scan_cache_decode(struct gm_file_scan *out, const char *data, size_t len);

#endif
