/*
 * wsl.h: finding the Windows host from inside WSL2 (PROTOCOLS.md C10), where
 * a server on Windows does not answer at localhost unless networking is
 * mirrored.  backend.c tries these addresses when a local URL is silent.
 *
 * `root` prefixes every path read ("" or NULL: $GM_PROC_ROOT when set, else
 * the real files), so tests can fake them.
 */
#ifndef MONITOR_WSL_H
#define MONITOR_WSL_H

#include <stdbool.h>
#include <stddef.h>

/* /proc/version or /proc/sys/kernel/osrelease mentions Microsoft or WSL. */
bool gm_wsl_detect(const char *root);

/*
 * Addresses where the Windows host may answer, best first: the default
 * gateway (/proc/net/route), then the nameserver of /etc/resolv.conf
 * (duplicates dropped).  Fills up to `max` entries; returns how many.
 */
size_t gm_wsl_hosts(char out[][64], size_t max, const char *root);

#endif
