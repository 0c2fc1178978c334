#include "monitor/scan_cache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/cache.h"
#include "monitor/error.h"
#include "monitor/banned.h"

/* An entry is at most this large; a larger file is damaged or not ours. */
#define ENTRY_MAX (64u * 1024 * 1024)
/* "<key>\n<16 hex>\n" */
#define ENTRY_HEAD (40 + 1 + 16 + 1)

static const char scan_magic[8] = { 'g', 'm', 's', 'c', 'a', 'n', '2', '\n' };

void gm_scan_cache_key(char out[41], const struct gm_lang *lang, const git_oid *blob)
{
	char oid[GIT_OID_HEXSZ + 1];
	char *s;
	git_oid_tostr(oid, sizeof(oid), blob);
	s = gm_xasprintf("scan2\n%s\n%s\n%s", gm_query_digest, lang->name, oid);
	gm_cache_digest(out, s, strlen(s));
	free(s);
}

/* FNV-1a, 64 bits: catches a damaged entry that still decodes. */
static uint64_t checksum(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* ---- encoding ------------------------------------------------------------ */

static void put_num(struct gm_buf *b, uint64_t v)
{
	unsigned char t[10];
	size_t n = 0;
	do {
		t[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	gm_buf_put(b, t, n);
}

static void put_str(struct gm_buf *b, const char *s)
{
	size_t n = strlen(s);
	put_num(b, n);
	gm_buf_put(b, s, n);
}

void gm_scan_cache_encode(struct gm_buf *out, const struct gm_file_scan *fs)
{
	gm_buf_put(out, scan_magic, sizeof(scan_magic));
	put_num(out, fs->errors);
	put_num(out, fs->n);
	put_num(out, fs->nimports);
	for (size_t i = 0; i < fs->n; i++) {
		const struct gm_unit *u = &fs->units[i];
		unsigned k = 0;
		while (k < 2 && strcmp(u->kind, gm_unit_kinds[k]) != 0)
			k++;
		put_str(out, u->name);
		put_str(out, u->short_name);
		put_num(out, k);
		put_num(out, u->start_byte);
		put_num(out, u->end_byte);
		put_num(out, u->start_line);
		put_num(out, u->end_line);
		put_num(out, u->start_col);
		put_num(out, u->lead_byte);
		put_num(out, u->lead_line);
		put_str(out, u->signature);
		put_num(out, u->complexity);
		put_num(out, u->nesting);
		put_num(out, u->params);
		put_num(out, u->ordinal);
		put_num(out, u->ncalls);
		for (size_t j = 0; j < u->ncalls; j++)
			put_str(out, u->calls[j]);
	}
	for (size_t i = 0; i < fs->nimports; i++)
		put_str(out, fs->imports[i]);
}

/* ---- decoding ------------------------------------------------------------ */

struct reader {
	const unsigned char *p, *end;
	bool bad;
};

static uint32_t get_num(struct reader *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; !r->bad; shift += 7) {
		unsigned char c;
		if (r->p == r->end || shift > 28) {
			r->bad = true;
			break;
		}
		c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
	}
	if (v > UINT32_MAX)
		r->bad = true;
	return r->bad ? 0 : (uint32_t)v;
}

/* A count of items each taking at least one byte: no larger than what is left. */
static size_t get_count(struct reader *r)
{
	uint32_t n = get_num(r);
	if (n > (size_t)(r->end - r->p))
		r->bad = true;
	return r->bad ? 0 : n;
}

static char *get_text(struct reader *r)
{
	uint32_t n = get_num(r);
	char *s;
	if (r->bad || n > (size_t)(r->end - r->p) || memchr(r->p, '\0', n)) {
		r->bad = true;
		return NULL;
	}
	s = gm_xstrndup((const char *)r->p, n);
	r->p += n;
	return s;
}

int gm_scan_cache_decode(struct gm_file_scan *out, const char *data, size_t len)
{
	struct reader r = { (const unsigned char *)data, (const unsigned char *)data + len, false };
	size_t n, nimports;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(scan_magic) || memcmp(data, scan_magic, sizeof(scan_magic)) != 0)
		goto bad;
	r.p += sizeof(scan_magic);
	out->errors = get_num(&r);
	n = get_count(&r);
	nimports = get_count(&r);
	if (r.bad)
		goto bad;
	/* n only once the units exist: the release below walks them. */
	out->units = gm_xcalloc(n ? n : 1, sizeof(*out->units));
	out->n = n;
	for (size_t i = 0; i < out->n && !r.bad; i++) {
		struct gm_unit *u = &out->units[i];
		uint32_t k;
		u->name = get_text(&r);
		u->short_name = get_text(&r);
		k = get_num(&r);
		u->kind = k < 3 ? gm_unit_kinds[k] : NULL;
		u->start_byte = get_num(&r);
		u->end_byte = get_num(&r);
		u->start_line = get_num(&r);
		u->end_line = get_num(&r);
		u->start_col = get_num(&r);
		u->lead_byte = get_num(&r);
		u->lead_line = get_num(&r);
		u->signature = get_text(&r);
		u->complexity = get_num(&r);
		u->nesting = get_num(&r);
		u->params = get_num(&r);
		u->ordinal = get_num(&r);
		u->ncalls = get_count(&r);
		if (r.bad || !u->kind || u->end_byte < u->start_byte || u->end_line < u->start_line) {
			u->ncalls = 0;
			goto bad;
		}
		u->lines = u->end_line - u->start_line + 1;
		u->calls = gm_xcalloc(u->ncalls + 1, sizeof(char *));
		for (size_t j = 0; j < u->ncalls; j++)
			if (!(u->calls[j] = get_text(&r))) {
				u->ncalls = j;
				goto bad;
			}
	}
	out->imports = gm_xcalloc(nimports + 1, sizeof(char *));
	for (; out->nimports < nimports; out->nimports++)
		if (!(out->imports[out->nimports] = get_text(&r)))
			goto bad;
	if (r.bad || r.p != r.end)
		goto bad;
	gm_file_scan_pack(out);
	return 0;
bad:
	gm_file_scan_release(out);
	gm_error_set("malformed scan cache entry");
	return GM_EINVALID;
}

/* ---- entries --------------------------------------------------------------- */

void gm_scan_cache_entry(struct gm_buf *out, const char *key, const struct gm_file_scan *fs)
{
	size_t head = out->len;
	char sum[17];

	gm_buf_put(out, key, 40);
	gm_buf_put(out, "\n0000000000000000\n", 18);
	gm_scan_cache_encode(out, fs);
	snprintf(sum, sizeof(sum), "%016llx",
	         (unsigned long long)checksum(out->ptr + head + ENTRY_HEAD,
	                                      out->len - head - ENTRY_HEAD));
	memcpy(out->ptr + head + 41, sum, 16);
}

int gm_scan_cache_read_entry(struct gm_file_scan *out, const char *key, const char *entry,
                             size_t entry_len, const char *src, size_t len)
{
	char sum[17];
	int rc;

	memset(out, 0, sizeof(*out));
	/* The key is in the entry so that an entry copied over another is not taken for it. */
	if (entry_len < ENTRY_HEAD || memcmp(entry, key, 40) != 0 || entry[40] != '\n' ||
	    entry[ENTRY_HEAD - 1] != '\n') {
		gm_error_set("malformed scan cache entry");
		return GM_EINVALID;
	}
	snprintf(sum, sizeof(sum), "%016llx",
	         (unsigned long long)checksum(entry + ENTRY_HEAD, entry_len - ENTRY_HEAD));
	if (memcmp(sum, entry + 41, 16) != 0) {
		gm_error_set("scan cache entry fails its checksum");
		return GM_EINVALID;
	}
	if ((rc = gm_scan_cache_decode(out, entry + ENTRY_HEAD, entry_len - ENTRY_HEAD)) < 0)
		return rc;
	/* A valid checksum proves the bytes, not that they describe this blob. */
	if (!gm_file_scan_check(out, src, len)) {
		gm_file_scan_release(out);
		gm_error_set("scan cache entry does not fit its blob");
		return GM_EINVALID;
	}
	return 0;
}

bool gm_scan_cache_load(struct gm_file_scan *out, struct gm_cache *cache, const char *key,
                        const char *src, size_t len)
{
	char *data = NULL;
	size_t dlen;
	bool ok;

	memset(out, 0, sizeof(*out));
	if (!cache || gm_cache_get(&data, &dlen, cache, "scan", key, ENTRY_MAX) < 0) {
		gm_error_clear();
		return false;
	}
	ok = gm_scan_cache_read_entry(out, key, data, dlen, src, len) == 0;
	gm_error_clear();
	free(data);
	return ok;
}

void gm_scan_cache_store(struct gm_cache *cache, const char *key, const struct gm_file_scan *fs)
{
	struct gm_buf b = GM_BUF_INIT;

	if (!cache)
		return;
	gm_scan_cache_entry(&b, key, fs);
	if (gm_cache_put(cache, "scan", key, b.ptr, b.len) < 0)
		gm_error_clear();
	gm_buf_release(&b);
}
