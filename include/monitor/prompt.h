/*
 * prompt.h: the words sent to the models, written here and versioned.
 * GM_PROMPT_VERSION is part of every cache key: change it whenever a prompt
 * text or the shape of a prompt changes, so cached answers to old prompts
 * are not reused.
 *
 * Two conversations:
 *   rewrite   one function to the local model (or Claude on escalation):
 *             the answer is one fenced block: the whole function, possibly
 *             with new helpers before it and new imports at the top;
 *   analysis  a cluster of functions to Claude (or the local model): the
 *             answer is JSON matching gm_prompt_plan_schema, parsed by
 *             gm_prompt_analysis_parse().
 * Pure functions over text; all returned strings are the caller's to free.
 */
#ifndef MONITOR_PROMPT_H
#define MONITOR_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "monitor/lang.h"
#include "monitor/scan.h"

#define GM_PROMPT_VERSION "gm-prompt-2"

/* System prompt of a rewrite (the rules). */
const char *gm_prompt_rewrite_system(void);

struct gm_rewrite_prompt {
	const char *goal;
	const char *instructions;  /* the plan's for this unit, or NULL */
	const char *new_name;      /* the plan's, or NULL */
	const char *new_signature; /* the plan's, or NULL */
	const char *path;
	const struct gm_lang *lang;
	const char *scope_header;  /* first line of the enclosing class/namespace, or NULL */
	const char *const *imports; /* the file's import lines */
	size_t nimports;
	const char *const *callees; /* signatures of the functions it calls */
	size_t ncallees;
	const char *code;          /* the function as in the file (gm_prompt_unit_code) */
	size_t code_len;
	const char *previous_error; /* on retry: why the last answer was rejected */
};

/* User prompt of a rewrite. */
char *gm_prompt_rewrite_user(const struct gm_rewrite_prompt *p);

/*
 * The unit's text as it stands in the file: from the start of the line of
 * its leading comments (or of the unit) to its end, indentation kept (so the
 * lines of a multi-line string are shown as they are).
 */
char *gm_prompt_unit_code(const char *src, size_t len, const struct gm_unit *u, size_t *out_len);

/*
 * First line of the innermost class/namespace around `u` (found in the text:
 * the nearest line above, indented less than the unit, naming the scope in
 * the unit's qualified name), without trailing blanks; NULL when none.
 */
char *gm_prompt_scope_header(const char *src, size_t len, const struct gm_unit *u,
                             const struct gm_lang *lang);

/*
 * The file's import statements (top level, or in a preprocessor
 * conditional: an include guard), whole, in file order, at most `max`.
 * `*out` is an array of `n` strings, free each and the array.
 */
size_t gm_prompt_import_lines(char ***out, const struct gm_lang *lang, const char *src, size_t len,
                              size_t max);

/* ---- analysis (plan) ---- */

/* JSON Schema of the analysis answer. */
extern const char gm_prompt_plan_schema[];

const char *gm_prompt_plan_system(void);

struct gm_plan_prompt_unit {
	const char *path;
	const char *name; /* qualified */
	const struct gm_lang *lang;
	const char *code; /* at column 0 */
	size_t code_len;
};

/* User prompt of an analysis: the goal, the units, their callers' and callees' signatures. */
char *gm_prompt_plan_user(const char *goal, const struct gm_plan_prompt_unit *units, size_t n,
                          const char *const *signatures, size_t nsignatures);

struct gm_plan_unit {
	char *path, *name; /* as in the prompt (the known unit's) */
	bool rewrite;      /* action "rewrite"; false: "keep" */
	char *instructions; /* never NULL ("" when none) */
	char *new_signature, *new_name; /* NULL when not given */
};

struct gm_plan_site {
	char *path, *name, *instructions; /* a call site to follow; never NULL */
};

struct gm_analysis {
	struct gm_plan_unit *units;
	size_t nunits;
	struct gm_plan_site *sites;
	size_t nsites;
	char *rationale; /* never NULL */
	char **warnings; /* e.g. units the prompt did not name (ignored) */
	size_t nwarnings;
};

/*
 * Read an analysis answer (from gm_extract_json).  Units not among `known`
 * are ignored with a warning; a malformed answer fails with GM_EINVALID
 * naming the field.  Release with gm_prompt_analysis_release().
 */
int gm_prompt_analysis_parse(struct gm_analysis *out, const cJSON *json,
                             const struct gm_plan_prompt_unit *known, size_t nknown);
void gm_prompt_analysis_release(struct gm_analysis *a);

#endif
