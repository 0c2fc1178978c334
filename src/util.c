#include "monitor/util.h"

#include <ctype.h>
#include <stdbool.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "monitor/error.h"
#include "monitor/banned.h"

static void die_oom(size_t n)
{
	fprintf(stderr, "git-monitor: out of memory allocating %zu bytes\n", n);
	abort();
}

void *gm_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die_oom(n);
	return p;
}

void *gm_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		die_oom(nmemb * size);
	return p;
}

void *gm_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die_oom(n);
	return q;
}

char *gm_xstrdup(const char *s)
{
	return gm_xstrndup(s, strlen(s));
}

char *gm_xstrndup(const char *s, size_t n)
{
	char *p = gm_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *gm_xasprintf(const char *fmt, ...)
{
	struct gm_buf b = GM_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	gm_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return gm_buf_detach(&b, NULL);
}

void *gm_grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n;
	if (need <= *cap)
		return p;
	n = *cap ? *cap : 8;
	while (n < need) {
		if (n > SIZE_MAX / 2 / size)
			die_oom(SIZE_MAX);
		n *= 2;
	}
	p = gm_xrealloc(p, n * size);
	*cap = n;
	return p;
}

void gm_buf_init(struct gm_buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

static int buf_reserve(struct gm_buf *b, size_t extra)
{
	size_t need;
	if (extra > SIZE_MAX - b->len - 1)
		die_oom(SIZE_MAX);
	need = b->len + extra + 1;
	if (b->max && b->len + extra > b->max) {
		gm_error_set("data exceeds the limit of %zu bytes", b->max);
		return GM_ETOOBIG;
	}
	if (need > b->cap) {
		size_t n = b->cap ? b->cap : 64;
		while (n < need)
			n *= 2;
		b->ptr = gm_xrealloc(b->ptr, n);
		b->cap = n;
	}
	return 0;
}

int gm_buf_put_grow(struct gm_buf *b, const void *data, size_t n)
{
	int rc = buf_reserve(b, n);
	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

int gm_buf_puts(struct gm_buf *b, const char *s)
{
	return gm_buf_put(b, s, strlen(s));
}

int gm_buf_vprintf(struct gm_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0) {
		gm_error_set("cannot format output");
		return GM_ERROR;
	}
	if ((rc = buf_reserve(b, (size_t)n)) < 0)
		return rc;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int gm_buf_printf(struct gm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;
	va_start(ap, fmt);
	rc = gm_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void gm_buf_clear(struct gm_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

char *gm_buf_detach(struct gm_buf *b, size_t *len_out)
{
	char *p = b->ptr ? b->ptr : gm_xstrdup("");
	if (len_out)
		*len_out = b->len;
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void gm_buf_release(struct gm_buf *b)
{
	if (!b)
		return;
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

char *gm_fold_space(const char *s, size_t n, size_t *len_out)
{
	struct gm_buf b = GM_BUF_INIT;
	bool sp = false;

	for (size_t i = 0; i < n; i++) {
		if (isspace((unsigned char)s[i])) {
			sp = b.len > 0;
			continue;
		}
		if (sp)
			gm_buf_puts(&b, " ");
		sp = false;
		gm_buf_put(&b, s + i, 1);
	}
	return gm_buf_detach(&b, len_out);
}

int gm_read_file(char **out, size_t *len_out, const char *path, size_t max)
{
	struct gm_buf b;
	char chunk[65536];
	FILE *f;
	size_t n;
	int rc = 0;

	*out = NULL;
	gm_buf_init(&b, max);
	if (!(f = fopen(path, "rb"))) {
		gm_error_set("cannot open '%s': %s", path, strerror(errno));
		return errno == ENOENT ? GM_ENOTFOUND : GM_ERROR;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if ((rc = gm_buf_put(&b, chunk, n)) < 0) {
			gm_error_set("'%s' is larger than %zu bytes", path, max);
			goto cleanup;
		}
	}
	if (ferror(f)) {
		gm_error_set("cannot read '%s': %s", path, strerror(errno));
		rc = GM_ERROR;
		goto cleanup;
	}
	*out = gm_buf_detach(&b, len_out);
cleanup:
	fclose(f);
	gm_buf_release(&b);
	return rc;
}

int gm_mkdirs(const char *path)
{
	char *p = gm_xstrdup(path);
	int rc = 0;
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0777) < 0 && errno != EEXIST) {
				gm_error_set("cannot create directory '%s': %s", p, strerror(errno));
				rc = GM_ERROR;
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return rc;
}

int gm_write_file_atomic(const char *path, const void *data, size_t len)
{
	static _Atomic unsigned counter;
	char *tmp = gm_xasprintf("%s.tmp.%ld.%u", path, (long)getpid(), counter++);
	const char *p = data;
	int fd, rc = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		gm_error_set("cannot create '%s': %s", tmp, strerror(errno));
		free(tmp);
		return GM_ERROR;
	}
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			gm_error_set("cannot write '%s': %s", tmp, strerror(errno));
			rc = GM_ERROR;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 && rc == 0) {
		gm_error_set("cannot write '%s': %s", tmp, strerror(errno));
		rc = GM_ERROR;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		gm_error_set("cannot rename '%s': %s", tmp, strerror(errno));
		rc = GM_ERROR;
	}
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

uint64_t gm_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int gm_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}
