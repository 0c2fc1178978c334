/*
 * quote.h: repository bytes made safe for where they are shown, as git's
 * quote.c does for paths.  Paths, function names and code are bytes: not
 * always UTF-8 (a Latin-1 file name, a file in another encoding) and not
 * free of control characters.
 *
 * JSON (scan --json, refactor --json, the note) is always valid UTF-8:
 *
 *   - A *name* (a path, a function name, a branch) is written as its bytes
 *     when they are valid UTF-8 and do not start with '"'.  Otherwise it
 *     is written in git's C-quoted form (quote_c_style, the form
 *     `git ls-files` prints with core.quotePath): the bytes between double
 *     quotes, '"' and '\' as \" and \\, \a \b \t \n \v \f \r, \ooo (three
 *     octal digits) for any other byte below 0x20, for 0x7f and for every
 *     byte that is not part of valid UTF-8; valid UTF-8 is kept as is.
 *     Reversible: a name that starts with '"' is unquoted
 *     (gm_quote_name_decode), any other is the bytes.  JSON's own escapes
 *     come on top.
 *   - *Free text* (reasons, rationale, signatures, warnings) has each byte
 *     that is not part of valid UTF-8 replaced by U+FFFD: lossy, for
 *     reading only.
 *
 * A terminal gets git's quoting too: a path with control characters, '"'
 * or '\' (and with core.quotePath, git's default, any byte >= 0x80) is
 * printed C-quoted; other text (names, reasons, answers) is C-quoted when
 * it holds control characters or invalid UTF-8, so no escape sequence
 * from a repository or a model reaches the terminal.
 *
 * Every function returns a new string the caller frees.
 */
#ifndef MONITOR_QUOTE_H
#define MONITOR_QUOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "monitor/util.h"

/* Length of the valid UTF-8 sequence at `s` (1 to 4 bytes, RFC 3629), 0 when none starts there. */
size_t gm_utf8_seq(const char *s, size_t len);
/* Is all of s[0..len) valid UTF-8? */
bool gm_utf8_valid(const char *s, size_t len);

/* A name for JSON (the rule above); NULL gives NULL. */
char *gm_quote_name(const char *s);
/* A name read back from JSON: its bytes.  NULL when a quoted form is malformed. */
char *gm_quote_name_decode(const char *s);
/* Free text for JSON: invalid bytes as U+FFFD; NULL gives NULL. */
char *gm_quote_lossy(const char *s);
char *gm_quote_lossy_len(const char *s, size_t len);

/* git's quote_c_style of `s` into `b`: quoted only when needed; `high`: also bytes >= 0x80. */
void gm_quote_c(struct gm_buf *b, const char *s, bool high);
/* A path for a terminal; `quote_path` is core.quotePath (git's default: true). */
char *gm_quote_path(const char *s, bool quote_path);
/* A name for a terminal: C-quoted when it has control characters or invalid UTF-8. */
char *gm_quote_text(const char *s);
/*
 * A message or a reason for a terminal: each control character and each
 * byte that is not UTF-8 written as its C escape in place (\n, \033),
 * with no quotes around; the rest as is.
 */
char *gm_quote_escape(const char *s);

#endif
