/*
 * error.h: the error codes and the one error slot of the library.
 *
 * Every fallible function returns an int: 0 on success, a negative GM_E*
 * code on failure, after putting a one-line, lowercase message into the
 * calling thread's error slot with gm_error_set().  A caller that passes an
 * error up leaves the message alone; only the CLI prints it and picks the
 * exit code.
 */
#ifndef MONITOR_ERROR_H
#define MONITOR_ERROR_H

enum gm_error_code {
	GM_OK = 0,
	GM_ERROR = -1,        /* generic failure */
	GM_ENOTFOUND = -3,    /* object, path, revision or key not found */
	GM_EEXISTS = -4,      /* would overwrite something that exists */
	GM_EUSAGE = -5,       /* bad arguments (exit 129) */
	GM_ENOREPO = -6,      /* not a git repository (exit 128) */
	GM_EFATAL = -7,       /* corrupt object, bad revision (exit 128) */
	GM_EINTERRUPTED = -8, /* interrupted by a signal (exit 130) */
	GM_ETOOBIG = -9,      /* a size bound was exceeded */
	GM_EINVALID = -10,    /* malformed input (model answer, JSON, SSE) */
};

/* Set the calling thread's error message (printf-style, one line). */
void gm_error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The calling thread's last error message, never NULL ("" when none). */
const char *gm_error_last(void);

void gm_error_clear(void);

/*
 * Set the message from libgit2's last error, prefixed by `what` (e.g.
 * "cannot read 'HEAD'"), and return `code`.
 */
int gm_error_git(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * git style for a message taken from elsewhere (libgit2, libcurl, strerror):
 * lowercase its first letter, unless the first word is an acronym ("HTTP",
 * "SSL") and must stay as it is.
 */
void gm_error_lowercase_first(char *msg);

#endif
