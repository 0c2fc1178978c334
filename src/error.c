#include "monitor/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <git2.h>

#include "monitor/banned.h"

static _Thread_local char error_slot[1024];

static void set_v(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static void set_v(const char *fmt, va_list ap)
{
	vsnprintf(error_slot, sizeof(error_slot), fmt, ap);
	/* One line, always: a message must never break the output format. */
	for (char *p = error_slot; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

void gm_error_set(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_v(fmt, ap);
	va_end(ap);
}

const char *gm_error_last(void)
{
	return error_slot;
}

void gm_error_clear(void)
{
	error_slot[0] = '\0';
}

void gm_error_lowercase_first(char *msg)
{
	if (msg[0] >= 'A' && msg[0] <= 'Z' && !(msg[1] >= 'A' && msg[1] <= 'Z'))
		msg[0] = (char)(msg[0] - 'A' + 'a');
}

int gm_error_git(int code, const char *fmt, ...)
{
	char what[512];
	const git_error *e = git_error_last();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (e && e->message && *e->message) {
		char msg[512];
		size_t n;
		snprintf(msg, sizeof(msg), "%s", e->message);
		/* libgit2 messages sometimes end in a full stop or newline. */
		n = strlen(msg);
		while (n && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
			msg[--n] = '\0';
		gm_error_lowercase_first(msg);
		gm_error_set("%s: %s", what, msg);
	} else {
		gm_error_set("%s", what);
	}
	return code;
}
