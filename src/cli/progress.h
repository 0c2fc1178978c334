/*
 * progress.h: the refactor's progress line (progress.c).  Start it once;
 * hand cli_progress_update to the pipeline as its gm_progress_fn with the
 * returned pointer as ctx; stop it before printing the report.  A NULL
 * progress (off) is fine everywhere, as git's display_progress(NULL, n).
 */
#ifndef MONITOR_CLI_PROGRESS_H
#define MONITOR_CLI_PROGRESS_H

#include "monitor/task.h"

struct cli_progress;

/*
 * `force`: 1 --progress (even when stderr is not a terminal), 0 off (-q,
 * --no-progress, --json), -1 on when stderr is a terminal.  NULL when off.
 */
struct cli_progress *cli_progress_start(const char *title, int force);
/* A gm_progress_fn; `ctx` is the cli_progress (or NULL). */
void cli_progress_update(void *ctx, const struct gm_progress *p);
/* Erase the line now, before something else goes to stderr (it comes back on the next tick). */
void cli_progress_clear(struct cli_progress *p);
/* Stop drawing, erase the line, free. */
void cli_progress_stop(struct cli_progress *p);
/* Async-signal-safe, for the SIGINT handler: erase the line and draw no more. */
void cli_progress_interrupted(void);

#endif
