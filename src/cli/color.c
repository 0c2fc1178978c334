/*
 * color.c: whether to colour, and with what, the way git decides it
 * (color.c: git_config_colorbool, want_color_fd, color_parse_mem).
 *
 * Whether: --color[=<when>] / --no-color, else color.monitor, else
 * NO_COLOR (set and not empty: never), else the command's git key
 * (color.diff for diffs), else color.ui, else auto.  auto: stdout is a
 * terminal (or a pager we or git started reads it, unless color.pager is
 * false) and TERM is set and not "dumb".
 *
 * With what: a slot (color.diff.new, color.monitor.applied, ...) holds a
 * git colour value ("green", "red bold", "#ff0000 ul", "214"); unset or
 * malformed, the slot's default.
 */
#include "term.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "monitor/util.h"
#include "monitor/banned.h"

static int color_flag = -1; /* from the command line; -1: not given */
int cli_colorbool(const char *value, bool from_config)
{
	int b;

	if (!value)
		return from_config ? CLI_COLOR_AUTO : -1;
	if (!strcasecmp(value, "never"))
		return CLI_COLOR_NEVER;
	if (!strcasecmp(value, "always"))
		return CLI_COLOR_ALWAYS;
	if (!strcasecmp(value, "auto"))
		return CLI_COLOR_AUTO;
	b = cli_config_parse_bool(value);
	if (b < 0)
		return -1;
	/* any other truth value means auto, as in git */
	return b ? CLI_COLOR_AUTO : CLI_COLOR_NEVER;
}

void cli_color_set_flag(int when)
{
	color_flag = when;
}

static bool terminal_dumb(void)
{
	const char *t = getenv("TERM");
	return !t || !strcmp(t, "dumb");
}

static bool auto_color(int fd)
{
	if (fd == STDOUT_FILENO)
		return (cli_stdout_is_tty() || (cli_pager_in_use() && cli_config_bool("color.pager", true))) &&
		       !terminal_dumb();
	return cli_stderr_is_tty() && !terminal_dumb();
}

static int config_colorbool(const char *key)
{
	const char *v = key ? cli_config_get(key) : NULL;
	return v ? cli_colorbool(v, true) : -1;
}

static bool decide(int fd, const char *key, const char *fallback)
{
	int v = color_flag;
	const char *no = getenv("NO_COLOR");

	if (v < 0)
		v = config_colorbool("color.monitor");
	if (v < 0 && no && *no)
		v = CLI_COLOR_NEVER;
	if (v < 0)
		v = config_colorbool(key);
	if (v < 0)
		v = config_colorbool(fallback);
	if (v < 0)
		v = CLI_COLOR_AUTO;
	if (v == CLI_COLOR_AUTO)
		return auto_color(fd);
	return v == CLI_COLOR_ALWAYS;
}

bool cli_want_color(const char *key)
{
	return decide(STDOUT_FILENO, key, "color.ui");
}

bool cli_want_color_stderr(const char *key)
{
	return decide(STDERR_FILENO, key, "color.ui");
}

/* ---- colour values (git's color_parse_mem) --------------------------------- */

struct color {
	enum { C_UNSPECIFIED, C_NORMAL, C_ANSI, C_256, C_RGB } type;
	int value;
	int r, g, b;
};

static bool word_is(const char *w, size_t len, const char *match)
{
	return strlen(match) == len && !strncasecmp(w, match, len);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool parse_color(struct color *out, const char *w, size_t len)
{
	static const char *const names[] = { "black", "red",     "green", "yellow",
		                             "blue",  "magenta", "cyan",  "white" };
	int offset = 30;
	char num[16], *end;
	long v;

	if (word_is(w, len, "normal")) {
		out->type = C_NORMAL;
		return true;
	}
	if ((len == 7 || len == 4) && w[0] == '#') {
		int step = len == 7 ? 2 : 1, c[3];
		bool ok = true;
		for (int i = 0; i < 3; i++) {
			int hi = hexval((unsigned char)w[1 + i * step]);
			int lo = hexval((unsigned char)w[1 + i * step + step - 1]);
			ok &= hi >= 0 && lo >= 0;
			c[i] = hi * 16 + lo;
		}
		if (ok) {
			out->type = C_RGB;
			out->r = c[0];
			out->g = c[1];
			out->b = c[2];
			return true;
		}
	}
	if (word_is(w, len, "default")) {
		out->type = C_ANSI;
		out->value = 39;
		return true;
	}
	if (len > 6 && !strncasecmp(w, "bright", 6)) {
		offset = 90;
		w += 6;
		len -= 6;
	}
	for (int i = 0; i < 8; i++)
		if (word_is(w, len, names[i])) {
			out->type = C_ANSI;
			out->value = offset + i;
			return true;
		}
	if (offset != 30 || len == 0 || len >= sizeof(num))
		return false;
	memcpy(num, w, len);
	num[len] = '\0';
	v = strtol(num, &end, 10);
	if (*end || v < -1 || v > 255)
		return false;
	if (v < 0)
		out->type = C_NORMAL;
	else if (v < 8)
		*out = (struct color){ C_ANSI, 30 + (int)v, 0, 0, 0 };
	else if (v < 16)
		*out = (struct color){ C_ANSI, 90 + (int)v - 8, 0, 0, 0 };
	else
		*out = (struct color){ C_256, (int)v, 0, 0, 0 };
	return true;
}

static int parse_attr(const char *w, size_t len)
{
	static const struct {
		const char *name;
		int val, neg;
	} attrs[] = { { "bold", 1, 22 },  { "dim", 2, 22 },     { "italic", 3, 23 }, { "ul", 4, 24 },
		      { "blink", 5, 25 }, { "reverse", 7, 27 }, { "strike", 9, 29 } };
	bool neg = false;

	if (len > 2 && !strncmp(w, "no", 2)) {
		w += 2;
		len -= 2;
		if (len && *w == '-') {
			w++;
			len--;
		}
		neg = true;
	}
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (strlen(attrs[i].name) == len && !memcmp(attrs[i].name, w, len))
			return neg ? attrs[i].neg : attrs[i].val;
	return -1;
}

static void put_color(struct gm_buf *b, const struct color *c, int bg)
{
	switch (c->type) {
	case C_ANSI: gm_buf_printf(b, "%d", c->value + bg); break;
	case C_256: gm_buf_printf(b, "%d;5;%d", 38 + bg, c->value); break;
	case C_RGB: gm_buf_printf(b, "%d;2;%d;%d;%d", 38 + bg, c->r, c->g, c->b); break;
	default: break;
	}
}

int cli_color_parse(char **out, const char *value)
{
	struct color fg = { 0 }, bg = { 0 };
	unsigned long attr = 0;
	bool reset = false, sep = false;
	const char *p = value;
	struct gm_buf b = GM_BUF_INIT;

	*out = NULL;
	while (*p) {
		const char *w;
		size_t len;
		struct color c = { 0 };
		int a;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		w = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		len = (size_t)(p - w);
		if (word_is(w, len, "reset")) {
			reset = true;
		} else if (parse_color(&c, w, len)) {
			if (fg.type == C_UNSPECIFIED)
				fg = c;
			else if (bg.type == C_UNSPECIFIED)
				bg = c;
			else
				return -1;
		} else if ((a = parse_attr(w, len)) >= 0) {
			attr |= 1ul << a;
		} else {
			return -1;
		}
	}
	if (!reset && !attr && fg.type <= C_NORMAL && bg.type <= C_NORMAL) {
		*out = gm_xstrdup("");
		return 0;
	}
	gm_buf_puts(&b, "\033[");
	sep = reset;
	for (int i = 0; attr; i++) {
		if (!(attr & (1ul << i)))
			continue;
		attr &= ~(1ul << i);
		gm_buf_printf(&b, "%s%d", sep ? ";" : "", i);
		sep = true;
	}
	if (fg.type > C_NORMAL) {
		if (sep)
			gm_buf_puts(&b, ";");
		put_color(&b, &fg, 0);
		sep = true;
	}
	if (bg.type > C_NORMAL) {
		if (sep)
			gm_buf_puts(&b, ";");
		put_color(&b, &bg, 10);
	}
	gm_buf_puts(&b, "m");
	*out = gm_buf_detach(&b, NULL);
	return 0;
}

/* ---- slots --------------------------------------------------------------------- */

struct slot {
	char *key, *seq;
};
static struct slot *slots;
static size_t nslots, cslots;

static void free_slots(void)
{
	for (size_t i = 0; i < nslots; i++) {
		free(slots[i].key);
		free(slots[i].seq);
	}
	free(slots);
}

const char *cli_color(bool on, const char *key, const char *def)
{
	const char *v;
	char *seq = NULL;

	if (!on)
		return "";
	for (size_t i = 0; i < nslots; i++)
		if (!strcmp(slots[i].key, key))
			return slots[i].seq;
	v = cli_config_get(key);
	if (!v || cli_color_parse(&seq, v) < 0) {
		free(seq);
		if (cli_color_parse(&seq, def) < 0)
			seq = gm_xstrdup("");
	}
	if (!nslots)
		atexit(free_slots);
	GM_GROW(slots, cslots, nslots + 1);
	slots[nslots].key = gm_xstrdup(key);
	slots[nslots].seq = seq;
	return slots[nslots++].seq;
}

const char *cli_color_reset(const char *seq)
{
	return seq && *seq ? CLI_COLOR_RESET : "";
}

const char *cli_status_color(bool on, const char *status)
{
	static const struct {
		const char *status, *def;
	} defaults[] = {
		{ "applied", "green" },  { "rejected", "red" }, { "failed", "red" },
		{ "skipped", "yellow" }, { "dropped", "yellow" }, { "changed", "green" },
		{ "pending", "normal" }, { "unchanged", "normal" }, { "planned", "normal" },
	};
	char key[64];

	if (!on)
		return "";
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (!strcmp(defaults[i].status, status)) {
			snprintf(key, sizeof(key), "color.monitor.%s", status);
			return cli_color(on, key, defaults[i].def);
		}
	return "";
}
