/*
 * quote.c: names and text made safe for JSON and terminals (quote.h).
 * git's quote.c (quote_c_style) is the model for the quoted form; the code
 * is ours.
 */
#include "monitor/quote.h"

#include <stdlib.h>
#include <string.h>

#include "monitor/banned.h"

size_t gm_utf8_seq(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n;

	if (!len)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if (p[0] == 0xE0)
		lo = 0xA0;
	else if (p[0] == 0xED)
		hi = 0x9F;
	else if (p[0] == 0xF0)
		lo = 0x90;
	else if (p[0] == 0xF4)
		hi = 0x8F;
	if (len < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

bool gm_utf8_valid(const char *s, size_t len)
{
	for (size_t i = 0, n; i < len; i += n) {
		if (!(s[i] & 0x80)) {
			n = 1; /* ASCII, most of what is checked */
			continue;
		}
		if (!(n = gm_utf8_seq(s + i, len - i)))
			return false;
	}
	return true;
}

/* Does byte `c` need a C escape (high: also >= 0x80)? */
static bool c_special(unsigned char c, bool high)
{
	return c < 0x20 || c == 0x7f || c == '"' || c == '\\' || (high && c >= 0x80);
}

static void put_escape(struct gm_buf *b, unsigned char c)
{
	static const char named[] = "\a\b\t\n\v\f\r";
	static const char letters[] = "abtnvfr";
	const char *k = c ? strchr(named, c) : NULL;

	if (c == '"' || c == '\\')
		gm_buf_printf(b, "\\%c", c);
	else if (k)
		gm_buf_printf(b, "\\%c", letters[k - named]);
	else
		gm_buf_printf(b, "\\%03o", c);
}

/* The C-quoted form: `high` escapes every byte >= 0x80, else only those outside valid UTF-8. */
static void quote_into(struct gm_buf *b, const char *s, bool high)
{
	size_t len = strlen(s);

	gm_buf_puts(b, "\"");
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c >= 0x80 && !high ? gm_utf8_seq(s + i, len - i) : 1;
		if (c >= 0x80 && !high && n) {
			gm_buf_put(b, s + i, n);
			i += n;
			continue;
		}
		if (c_special(c, high) || c >= 0x80)
			put_escape(b, c);
		else
			gm_buf_put(b, &s[i], 1);
		i++;
	}
	gm_buf_puts(b, "\"");
}

char *gm_quote_name(const char *s)
{
	struct gm_buf b = GM_BUF_INIT;

	if (!s)
		return NULL;
	if (*s != '"' && gm_utf8_valid(s, strlen(s)))
		return gm_xstrdup(s);
	quote_into(&b, s, false);
	return gm_buf_detach(&b, NULL);
}

char *gm_quote_name_decode(const char *s)
{
	struct gm_buf b = GM_BUF_INIT;
	static const char letters[] = "abtnvfr", named[] = "\a\b\t\n\v\f\r";
	const char *p;

	if (!s)
		return NULL;
	if (*s != '"')
		return gm_xstrdup(s);
	for (p = s + 1; *p && *p != '"'; p++) {
		const char *k;
		if (*p != '\\') {
			gm_buf_put(&b, p, 1);
			continue;
		}
		p++;
		if (*p == '"' || *p == '\\') {
			gm_buf_put(&b, p, 1);
		} else if (*p && (k = strchr(letters, *p)) != NULL) {
			gm_buf_put(&b, &named[k - letters], 1);
		} else if (p[0] >= '0' && p[0] <= '3' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' &&
		           p[2] <= '7') {
			char c = (char)((p[0] - '0') * 64 + (p[1] - '0') * 8 + (p[2] - '0'));
			if (!c)
				goto bad; /* a NUL cannot be in a name */
			gm_buf_put(&b, &c, 1);
			p += 2;
		} else {
			goto bad;
		}
	}
	if (*p != '"' || p[1])
		goto bad;
	return gm_buf_detach(&b, NULL);
bad:
	gm_buf_release(&b);
	return NULL;
}

char *gm_quote_lossy_len(const char *s, size_t len)
{
	struct gm_buf b = GM_BUF_INIT;

	if (!s)
		return NULL;
	if (gm_utf8_valid(s, len))
		return gm_xstrndup(s, len);
	for (size_t i = 0, n; i < len; i += n) {
		if ((n = gm_utf8_seq(s + i, len - i))) {
			gm_buf_put(&b, s + i, n);
		} else {
			gm_buf_puts(&b, "\xEF\xBF\xBD"); /* U+FFFD */
			n = 1;
		}
	}
	return gm_buf_detach(&b, NULL);
}

char *gm_quote_lossy(const char *s)
{
	return s ? gm_quote_lossy_len(s, strlen(s)) : NULL;
}

void gm_quote_c(struct gm_buf *b, const char *s, bool high)
{
	bool need = false;

	for (const unsigned char *p = (const unsigned char *)s; *p && !need; p++)
		need = c_special(*p, high);
	if (!need && !high && !gm_utf8_valid(s, strlen(s)))
		need = true;
	if (!need)
		gm_buf_puts(b, s);
	else
		quote_into(b, s, high);
}

char *gm_quote_path(const char *s, bool quote_path)
{
	struct gm_buf b = GM_BUF_INIT;
	gm_quote_c(&b, s ? s : "", quote_path);
	return gm_buf_detach(&b, NULL);
}

char *gm_quote_text(const char *s)
{
	struct gm_buf b = GM_BUF_INIT;
	bool need = false;

	if (!s)
		s = "";
	for (const unsigned char *p = (const unsigned char *)s; *p && !need; p++)
		need = *p < 0x20 || *p == 0x7f;
	if (!need && gm_utf8_valid(s, strlen(s)))
		return gm_xstrdup(s);
	quote_into(&b, s, false);
	return gm_buf_detach(&b, NULL);
}

char *gm_quote_escape(const char *s)
{
	struct gm_buf b = GM_BUF_INIT;
	size_t len;

	if (!s)
		s = "";
	len = strlen(s);
	for (size_t i = 0, n; i < len; i += n) {
		unsigned char c = (unsigned char)s[i];
		n = gm_utf8_seq(s + i, len - i);
		if (n && c >= 0x20 && c != 0x7f) {
			gm_buf_put(&b, s + i, n);
		} else {
			put_escape(&b, c); /* a control character, or a byte that is not UTF-8 */
			n = 1;
		}
	}
	return gm_buf_detach(&b, NULL);
}
