/*
 * sse.h: a Server-Sent Events (text/event-stream) parser that accepts the
 * stream in arbitrary pieces, as they come off the socket (the decoders of
 * openai.c and anthropic.c are fed from the engine's write callback).
 *
 * Lines end with CRLF, LF or CR (a CRLF split across two feeds is one line
 * end).  `event:` names the event, `data:` lines are joined with "\n",
 * lines starting with ':' are comments, other fields are ignored; a blank
 * line dispatches the event (when it has data).  The callback gets the event
 * name ("message" when none was given) and the data, NUL-terminated, both
 * owned by the parser and valid during the call only; a non-zero return
 * stops the parse and is returned by gm_sse_feed().
 *
 * Every buffer is bounded by `max` bytes (a line or an event's data); past
 * it the parse fails with GM_ETOOBIG.
 */
#ifndef MONITOR_SSE_H
#define MONITOR_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/util.h"

typedef int (*gm_sse_fn)(void *ctx, const char *event, const char *data,
                         size_t len);

struct gm_sse {
	struct gm_buf line;  /* the current, unterminated line */
	struct gm_buf data;  /* data of the event being assembled */
	struct gm_buf event; /* its name */
	bool has_data;       /* a data: field was seen */
	bool after_cr;       /* the last byte was CR: skip a following LF */
	gm_sse_fn fn;
	void *ctx;
};

void gm_sse_init(struct gm_sse *p, size_t max, gm_sse_fn fn, void *ctx);
/* Feed the next piece of the stream. */
int gm_sse_feed(struct gm_sse *p, const char *buf, size_t n);
/*
 * End of stream: a last line without its line end, and an event without its
 * blank line, are dispatched (servers that close right after the last
 * `data:` line are common enough to be worth it).
 */
int gm_sse_finish(struct gm_sse *p);
void gm_sse_release(struct gm_sse *p);

#endif
