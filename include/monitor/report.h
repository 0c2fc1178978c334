/*
 * report.h: the run record of `git monitor refactor`: what was asked of
 * which model for every task, what came of it, and the run's totals.  One
 * struct, its JSON writer (the note under refs/notes/monitor, and
 * `refactor --json`), its reader (review reads the note back through it)
 * and the schema below, which both follow.  Knows nothing of tasks in
 * flight or of the pipeline; the pipeline and task.c fill it.
 *
 * JSON, version 1:
 * {
 *   "version": 1, "run": "<id>", "dry_run": bool,
 *   "base": "<oid>", "commit": "<oid>" | null, "branch": "<name>" | null,
 *   "local_model": "<id>", "claude_model": "<id>" (when a key is set),
 *   "analysis_local": bool, "analysis_note": "<why>" (when analysis_local),
 *   "tasks": [ { "path", "name", "kind": "rewrite" | "analysis",
 *                "route": "local" | "claude", "route_reason", "model",
 *                "status": "applied" | "unchanged" | "rejected" | "failed" |
 *                          "skipped" | "dropped" | "pending",
 *                "reason", "rationale", "instructions", "attempts",
 *                "start_line", "end_line", "input_tokens", "output_tokens",
 *                "estimated_tokens", "cost_usd", "cached",
 *                "lines_added", "lines_removed", "helpers": ["<qualified name>"],
 *                "imports": ["<line>"], "complexity": { "before", "after",
 *                "after_sum" } (applied rewrites) } ],
 *   "totals": { "requests", "input_tokens", "output_tokens", "cost_usd",
 *               "elapsed_ms", "model_ms", "scan_ms", "commit_ms",
 *               "cache_read_tokens", "cache_write_tokens" (of input_tokens:
 *               Claude's prompt cache) },
 *   "servers": [ { "url" (password redacted), "kind", "model", "answers",
 *                  "failures", "requeued", "outages", "down_ms", "avg_ms",
 *                  "cause" (why it was last taken out) } ] (when models ran),
 *   "batch": { "id", "requests", "resumed": bool } (Claude's analyses as a
 *             Message Batch),
 *   "warnings": [ "<text>", ... ]
 * }
 * Optional fields are absent when they do not apply.  Tasks are written in
 * file order (path, start line, kind).
 *
 * The text is always valid UTF-8 (quote.h): "path", "name" and "branch"
 * are the repository's bytes when valid UTF-8 not starting with '"', else
 * git's C-quoted form ("caf\351.py": \ooo for each byte that is not
 * UTF-8), which the reader turns back into the bytes; the other strings
 * have invalid bytes replaced by U+FFFD.
 *
 * Ownership: a report owns every string in it; gm_run_report_free
 * releases it.
 */
#ifndef MONITOR_REPORT_H
#define MONITOR_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <git2.h>

#define GM_REPORT_VERSION 1

enum gm_task_status {
	GM_TASK_PENDING,
	GM_TASK_APPLIED,
	GM_TASK_UNCHANGED,
	GM_TASK_REJECTED, /* answers came back but none was acceptable */
	GM_TASK_FAILED,   /* the backend failed */
	GM_TASK_SKIPPED,  /* not sent: too large for the context, kept by plan, ... */
	GM_TASK_DROPPED,  /* accepted but dropped at merge or by --verify */
};

/* "pending", "applied", ... (static). */
const char *gm_task_status_name(enum gm_task_status s);
/* The status named `name`: 0, or GM_ENOTFOUND (no message) for another word. */
int gm_task_status_parse(enum gm_task_status *out, const char *name);

struct gm_run_task {
	char *path;
	char *name;       /* qualified name (+ "#n" for duplicates) */
	char *kind;       /* "rewrite" or "analysis" */
	char *route;      /* "local", "claude" */
	char *model;
	char *route_reason;
	enum gm_task_status status;
	char *reason;     /* why rejected/failed/skipped/dropped, or NULL */
	char *rationale;  /* from the plan, or NULL */
	char *instructions;
	unsigned attempts;
	unsigned start_line, end_line;
	int64_t input_tokens, output_tokens, est_tokens;
	double cost_usd;
	bool cached;      /* answered from the cache */
	int added, removed;
	char **helpers;   /* applied rewrites: the new functions it brought (qualified) */
	size_t nhelpers;
	char **imports;   /* and the import lines new to the file */
	size_t nimports;
	unsigned cc_before, cc_after, cc_after_sum; /* cyclomatic complexity: the function
	                                               before; max and sum with its helpers after */
};

/* What one server did during the run (backend.h's figures, kept). */
struct gm_run_server {
	char *url, *kind, *model; /* model may be NULL */
	uint64_t answers, failures, requeued, down_ms, avg_ms;
	unsigned outages;
	char *cause; /* why it was last taken out of service, or NULL */
};

struct gm_run_report {
	char *run_id;
	char *branch;     /* NULL when nothing was written */
	git_oid base, commit; /* base: zero when a note had none */
	bool has_commit;
	struct gm_run_task *tasks;
	size_t ntasks, cap_tasks;
	size_t requests;  /* model requests actually sent (cache hits excluded) */
	int64_t input_tokens, output_tokens;
	int64_t cache_read_tokens, cache_write_tokens; /* of input_tokens: Claude's prompt cache */
	double cost_usd;
	uint64_t elapsed_ms, model_ms;
	uint64_t scan_ms, commit_ms; /* reading + parsing; merging + writing objects and refs */
	bool analysis_local; /* analysis went to the local model instead of Claude */
	char *analysis_note; /* why, for the report */
	char *local_model, *claude_model;
	bool dry_run;
	bool ran;         /* models were asked (or the cache answered) */
	char **warnings;
	size_t nwarnings;
	struct gm_run_server *servers; /* in configuration order, local first */
	size_t nservers;
	char *batch_id;       /* the Message Batch Claude's analyses went in, or NULL */
	size_t batch_requests;
	bool batch_resumed;   /* it was a batch an earlier run had sent */
};

/* An empty report; gm_run_report_free releases it. */
struct gm_run_report *gm_run_report_new(void);
void gm_run_report_free(struct gm_run_report *r);

/*
 * Append a zeroed task; returns its index.  Pointers into r->tasks are
 * valid until the next append.
 */
size_t gm_run_report_add_task(struct gm_run_report *r);
/* Append a warning (printf-style; the report keeps the text). */
void gm_run_report_warn(struct gm_run_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Put the tasks in file order (path, start line, kind), as they are written. */
void gm_run_report_sort(struct gm_run_report *r);

/* The report as JSON (the schema above); the caller deletes the tree. */
cJSON *gm_run_report_json(const struct gm_run_report *r);

/*
 * Read a note (or `--json` output) back.  Optional fields may be absent;
 * a field of the wrong type, a task without path or name, an unknown
 * status or a version other than 1 make the text unreadable: GM_EINVALID
 * naming the field.  `*out` is the caller's (gm_run_report_free).
 */
int gm_run_report_parse(struct gm_run_report **out, const char *json);

/*
 * The note text `note` with the tasks named by (paths[i], names[i]) marked
 * status "dropped", reason "dropped in review" and their line counts
 * removed; every other byte's meaning kept (fields this version does not
 * know survive).  NULL when `note` is not JSON; else the caller frees it.
 */
char *gm_run_report_note_drop(const char *note, const char *const *paths,
                              const char *const *names, size_t n);

#endif
