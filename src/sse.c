/* sse.c: the incremental Server-Sent Events parser of sse.h. */
#include "monitor/sse.h"

#include <string.h>

#include "monitor/error.h"
#include "monitor/banned.h"

void gm_sse_init(struct gm_sse *p, size_t max, gm_sse_fn fn, void *ctx)
{
	gm_buf_init(&p->line, max);
	gm_buf_init(&p->data, max);
	gm_buf_init(&p->event, 256);
	p->has_data = false;
	p->after_cr = false;
	p->fn = fn;
	p->ctx = ctx;
}

void gm_sse_release(struct gm_sse *p)
{
	gm_buf_release(&p->line);
	gm_buf_release(&p->data);
	gm_buf_release(&p->event);
}

static int dispatch(struct gm_sse *p)
{
	int rc = 0;
	if (p->has_data) {
		const char *name = p->event.len ? p->event.ptr : "message";
		const char *data = p->data.ptr ? p->data.ptr : "";
		rc = p->fn(p->ctx, name, data, p->data.len);
	}
	gm_buf_clear(&p->data);
	gm_buf_clear(&p->event);
	p->has_data = false;
	return rc;
}

static int process_line(struct gm_sse *p, const char *line, size_t len)
{
	const char *colon, *value;
	size_t flen, vlen;
	int rc;

	if (len == 0)
		return dispatch(p);
	if (line[0] == ':')
		return 0;
	colon = memchr(line, ':', len);
	flen = colon ? (size_t)(colon - line) : len;
	value = colon ? colon + 1 : line + len;
	vlen = len - (size_t)(value - line);
	if (vlen && value[0] == ' ') {
		value++;
		vlen--;
	}
	if (flen == 4 && !memcmp(line, "data", 4)) {
		if (p->has_data && (rc = gm_buf_put(&p->data, "\n", 1)) < 0)
			goto toobig;
		if ((rc = gm_buf_put(&p->data, value, vlen)) < 0)
			goto toobig;
		p->has_data = true;
	} else if (flen == 5 && !memcmp(line, "event", 5)) {
		gm_buf_clear(&p->event);
		if (gm_buf_put(&p->event, value, vlen) < 0) {
			gm_error_set("event stream: event name too long");
			return GM_ETOOBIG;
		}
	}
	/* id:, retry: and unknown fields mean nothing to us. */
	return 0;
toobig:
	gm_error_set("event stream: event larger than %zu bytes", p->data.max);
	return rc;
}

int gm_sse_feed(struct gm_sse *p, const char *buf, size_t n)
{
	size_t i = 0;
	int rc;

	while (i < n) {
		size_t start = i;
		if (p->after_cr) {
			p->after_cr = false;
			if (buf[i] == '\n') {
				i++;
				continue;
			}
		}
		while (i < n && buf[i] != '\n' && buf[i] != '\r')
			i++;
		if (i == n) {
			if (gm_buf_put(&p->line, buf + start, i - start) < 0) {
				gm_error_set("event stream: line longer than %zu bytes",
				             p->line.max);
				return GM_ETOOBIG;
			}
			break;
		}
		p->after_cr = buf[i] == '\r';
		if (p->line.len) {
			if (gm_buf_put(&p->line, buf + start, i - start) < 0) {
				gm_error_set("event stream: line longer than %zu bytes",
				             p->line.max);
				return GM_ETOOBIG;
			}
			rc = process_line(p, p->line.ptr, p->line.len);
			gm_buf_clear(&p->line);
		} else {
			rc = process_line(p, buf + start, i - start);
		}
		if (rc)
			return rc;
		i++;
	}
	return 0;
}

int gm_sse_finish(struct gm_sse *p)
{
	int rc;
	if (p->line.len) {
		rc = process_line(p, p->line.ptr, p->line.len);
		gm_buf_clear(&p->line);
		if (rc)
			return rc;
	}
	return dispatch(p);
}
