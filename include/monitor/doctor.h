/*
 * doctor.h: the checks of `git monitor doctor` as a library.  Each check is
 * a row of data (name, status, one-line detail, fix hint); src/cli/
 * cmd_doctor.c prints them.  Also the table of known monitor.* settings with
 * their defaults, resolved with their origin, for `doctor -v`.
 *
 * Nothing here writes to the repository; the network is only touched to ask
 * the configured servers (LM Studio's model lists, a one-token completion
 * when no model seems loaded, the Claude models list).  The Claude key is
 * never part of a detail or hint.
 *
 * Ownership: a report owns its strings; release it with
 * gm_doctor_report_release().
 */
#ifndef MONITOR_DOCTOR_H
#define MONITOR_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

enum gm_doctor_status {
	GM_DOCTOR_OK,
	GM_DOCTOR_WARN, /* works, but worth knowing (empty repository, ...) */
	GM_DOCTOR_FAIL,
	GM_DOCTOR_SKIP, /* not applicable (no Claude key: local-only mode) */
};

struct gm_doctor_check {
	const char *check;            /* "repository", "grammars", "config", "lmstudio" (a server:
	                                 also "llamacpp", "vllm", "ollama"), "model", "fleet",
	                                 "claude" */
	enum gm_doctor_status status;
	char *detail;                 /* one line, names the server and cause */
	char *hint;                   /* one line, or NULL */
};

struct gm_doctor_setting {
	const char *key;    /* "monitor.local.url", or "ANTHROPIC_API_KEY" */
	char *value;        /* effective value; secrets: "set" / "unset" only */
	char *origin;       /* "repository git config", "global git config",
	                       "environment (NAME)", "default" */
	bool secret;
	bool known;         /* false: a monitor.* key git-monitor does not use */
};

/* What one configured local server is and said, each figure with where it came from. */
struct gm_doctor_server {
	char *url;          /* as configured (settings removed) */
	bool answered;      /* it answered with a model list */
	char *kind;         /* "LM Studio", "llama.cpp", "vLLM", "Ollama" */
	char *kind_from;
	char *model, *model_from;       /* NULL: none known */
	long long context;              /* 0: unknown */
	char *context_from;
	size_t slots;
	char *slots_from;
	unsigned long long latency_ms;  /* its GET /models round trip */
	char *key_env;                  /* the variable its key comes from, or NULL (never the key) */
	bool key_missing;               /* ... which is not set */
};

struct gm_doctor_report {
	struct gm_doctor_check *checks;
	size_t nchecks, cap_checks;
	struct gm_doctor_setting *settings; /* filled by gm_doctor_run */
	size_t nsettings, cap_settings;
	struct gm_doctor_server *servers;   /* one per configured local URL */
	size_t nservers, cap_servers;
	bool local_ok; /* repository, grammars, LM Studio and model usable */
};

struct gm_doctor_options {
	const char *path;  /* where to look for the repository (NULL: cwd) */
	const char *root;  /* WSL2 files prefix (NULL: $GM_PROC_ROOT or /) */
	long timeout_s;    /* per request (0: 15) */
	/*
	 * Optional, for a report printed as it runs: on_begin before each
	 * check (`what`: the URL or thing it asks), on_check with each row once
	 * it is final (a server's only after every server was asked, as
	 * another that answered makes a dead one a warning).  Rows stay in
	 * the report too.
	 */
	void (*on_begin)(void *ctx, const char *check, const char *what);
	void (*on_check)(void *ctx, const struct gm_doctor_check *c);
	void *ctx;
};

/*
 * Run every check in order: repository readable, grammars compiled, the
 * monitor.* settings valid (values parse; unknown keys warned), LM Studio
 * reachable (per configured URL; WSL2 Windows host fallback), a model
 * loaded and its context length, the Claude key accepted.  Fails only on
 * internal errors; a failed check is data in the report.
 */
int gm_doctor_run(struct gm_doctor_report *out, const struct gm_doctor_options *opts);
void gm_doctor_report_release(struct gm_doctor_report *r);

const char *gm_doctor_status_name(enum gm_doctor_status s); /* "ok", "warn", ... */

#endif
