/*
 * libFuzzer target for the scan cache codec (src/scan_cache.c), whose
 * input is a file anyone can edit.  Input: a 2-byte little-endian length
 * L, L bytes of source (the blob), then an encoded scan (or a whole entry).
 * Oracles: decoding never reads out of bounds; a scan that passes
 * gm_file_scan_check can be used on its blob (each unit's code taken for a
 * prompt, its lines counted) without reading out of bounds, and encodes
 * and decodes back to itself, still passing the check.
 *
 * Seeds (corpus/scan_cache/): fixtures of fixtures/sources, each followed
 * by the encoding `git monitor scan` cached for it; python_basics_entry
 * holds a whole entry under this target's key, with its checksum.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/prompt.h"
#include "monitor/scan.h"
#include "monitor/scan_cache.h"
#include "monitor/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char KEY[] = "0123456789abcdef0123456789abcdef01234567";

static char *encoding_of(const struct gm_file_scan *fs, size_t *len)
{
	struct gm_buf b = GM_BUF_INIT;
	gm_scan_cache_encode(&b, fs);
	return gm_buf_detach(&b, len);
}

static void use(const struct gm_file_scan *fs, const char *src, size_t len)
{
	for (size_t i = 0; i < fs->n; i++) {
		const struct gm_unit *u = &fs->units[i];
		size_t n, nl = 0;
		char *code = gm_prompt_unit_code(src, len, u, &n);
		for (uint32_t b = u->start_byte; b < u->end_byte; b++)
			nl += src[b] == '\n';
		if (u->end_line - u->start_line > nl)
			abort(); /* more lines than the text has */
		free(code);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = size >= 2 ? (size_t)data[0] | (size_t)data[1] << 8 : 0;
	const char *src, *enc;
	size_t enc_len, n1, n2;
	struct gm_file_scan fs, again;
	char *src_copy, *e1, *e2;

	if (size < 2)
		return 0;
	if (len > size - 2)
		len = size - 2;
	/* Own copies, so that ASan sees the blob's and the encoding's ends. */
	src_copy = gm_xstrndup((const char *)data + 2, len);
	src = src_copy;
	enc_len = size - 2 - len;
	enc = gm_xstrndup((const char *)data + 2 + len, enc_len);

	if (gm_scan_cache_decode(&fs, enc, enc_len) == 0) {
		if (gm_file_scan_check(&fs, src, len)) {
			use(&fs, src, len);
			e1 = encoding_of(&fs, &n1);
			/* What was accepted must survive a round trip. */
			if (gm_scan_cache_decode(&again, e1, n1) != 0 ||
			    !gm_file_scan_check(&again, src, len))
				abort();
			e2 = encoding_of(&again, &n2);
			if (n1 != n2 || memcmp(e1, e2, n1) != 0)
				abort();
			free(e1);
			free(e2);
			gm_file_scan_release(&again);
		}
		gm_file_scan_release(&fs);
	} else if (fs.n || fs.units || fs.imports) {
		abort(); /* a failed decode leaves `out` empty */
	}
	/* The same bytes as a whole entry: the head is checked before anything else. */
	if (gm_scan_cache_read_entry(&fs, KEY, enc, enc_len, src, len) == 0) {
		use(&fs, src, len);
		gm_file_scan_release(&fs);
	}
	free(src_copy);
	free((char *)enc);
	return 0;
}
