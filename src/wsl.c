/* wsl.c: finding the Windows host from inside WSL2 (PROTOCOLS.md C10). */
#include "monitor/wsl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "monitor/util.h"
#include "monitor/banned.h"

static const char *root_of(const char *root)
{
	if (root && *root)
		return root;
	root = getenv("GM_PROC_ROOT");
	return root ? root : "";
}

static char *slurp(const char *root, const char *path)
{
	char *p = gm_xasprintf("%s%s", root_of(root), path), *data = NULL;
	if (gm_read_file(&data, NULL, p, 1u << 20) < 0)
		data = NULL;
	free(p);
	return data;
}

bool gm_wsl_detect(const char *root)
{
	static const char *const files[] = { "/proc/sys/kernel/osrelease", "/proc/version" };
	bool wsl = false;

	for (size_t i = 0; i < 2 && !wsl; i++) {
		char *s = slurp(root, files[i]);
		wsl = s && (strcasestr(s, "microsoft") || strstr(s, "WSL"));
		free(s);
	}
	return wsl;
}

static size_t add(char out[][64], size_t n, size_t max, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(out[i], addr))
			return n;
	if (n < max)
		snprintf(out[n++], 64, "%s", addr);
	return n;
}

size_t gm_wsl_hosts(char out[][64], size_t max, const char *root)
{
	char *route = slurp(root, "/proc/net/route"), *resolv = slurp(root, "/etc/resolv.conf");
	size_t n = 0;

	for (char *line = route; line && *line; ) {
		char *nl = strchr(line, '\n');
		char iface[64], dest[16], gw[16];
		if (nl)
			*nl = '\0';
		if (sscanf(line, "%63s %15s %15s", iface, dest, gw) == 3 &&
		    !strcmp(dest, "00000000") && strcmp(gw, "00000000")) {
			char *end;
			unsigned long v = strtoul(gw, &end, 16);
			if (*end == '\0') {
				char a[64];
				/* Little-endian hex, as the kernel prints it. */
				snprintf(a, sizeof(a), "%lu.%lu.%lu.%lu", v & 0xff,
				         (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff);
				n = add(out, n, max, a);
				break;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	for (char *line = resolv; line && *line; ) {
		char *nl = strchr(line, '\n');
		char key[32], addr[64];
		if (nl)
			*nl = '\0';
		if (sscanf(line, "%31s %63s", key, addr) == 2 && !strcmp(key, "nameserver") &&
		    strncmp(addr, "127.", 4) && strchr(addr, '.')) {
			n = add(out, n, max, addr);
			break;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(route);
	free(resolv);
	return n;
}
