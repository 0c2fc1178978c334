/*
 * util.h: allocation wrappers that abort on failure, and a growable byte
 * buffer with a mandatory maximum size.
 *
 * struct gm_buf invariants: `ptr` is NULL or NUL-terminated at `len`;
 * `len < cap` whenever `ptr` is set; appending past `max` (0 = unbounded,
 * only for data we produce ourselves) fails with GM_ETOOBIG and leaves the
 * buffer as it was.
 */
#ifndef MONITOR_UTIL_H
#define MONITOR_UTIL_H

#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

void *gm_xmalloc(size_t n);
void *gm_xcalloc(size_t nmemb, size_t size);
void *gm_xrealloc(void *p, size_t n);
char *gm_xstrdup(const char *s);
char *gm_xstrndup(const char *s, size_t n);
/* Allocating printf; aborts on failure. */
char *gm_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow an array `p` of `*cap` elements of `size` bytes to hold `need`. */
void *gm_grow(void *p, size_t *cap, size_t need, size_t size);
#define GM_GROW(arr, cap, need) ((arr) = gm_grow((arr), &(cap), (need), sizeof(*(arr))))

struct gm_buf {
	char *ptr;
	size_t len;
	size_t cap;
	size_t max; /* 0: unbounded */
};

#define GM_BUF_INIT { NULL, 0, 0, 0 }

void gm_buf_init(struct gm_buf *b, size_t max);
/* gm_buf_put's way when the bytes do not fit: grows the buffer, keeps `max`. */
int gm_buf_put_grow(struct gm_buf *b, const void *data, size_t n);
/* Append n bytes; inline while they fit (for writers of many short pieces). */
static inline int gm_buf_put(struct gm_buf *b, const void *data, size_t n)
{
	if (!n || !b->ptr || b->max || n >= b->cap - b->len)
		return gm_buf_put_grow(b, data, n);
	memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}
int gm_buf_puts(struct gm_buf *b, const char *s);
int gm_buf_printf(struct gm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int gm_buf_vprintf(struct gm_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void gm_buf_clear(struct gm_buf *b);
/* Take ownership of the contents (never NULL: "" for an empty buffer). */
char *gm_buf_detach(struct gm_buf *b, size_t *len_out);
void gm_buf_release(struct gm_buf *b);

/*
 * `n` bytes of `s` with every run of white space folded to one space and
 * none at either end: what "the same code" compares.  Allocated.
 */
char *gm_fold_space(const char *s, size_t n, size_t *len_out);

/* Read a whole file; fails with GM_ETOOBIG past `max` bytes. */
int gm_read_file(char **out, size_t *len_out, const char *path, size_t max);
/* Write a file atomically (temp file in the same directory, then rename). */
int gm_write_file_atomic(const char *path, const void *data, size_t len);
/* mkdir -p */
int gm_mkdirs(const char *path);

/* Monotonic clock in milliseconds. */
uint64_t gm_now_ms(void);

/* Number of online CPUs (at least 1). */
int gm_ncpu(void);

#endif
