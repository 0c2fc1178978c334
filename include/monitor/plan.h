/*
 * plan.h: which units are targets and where each cluster's analysis goes.
 * Pure decisions over an index (index.h) and options; no git, no network.
 * The caller computes what needs git (the changed lines of a diff,
 * gm_repo_changed_lines) or a server (the context length) and passes it in.
 *
 * Routing (DESIGN.md "Routing"): a cluster is analysed first when one of
 * its units reaches the complexity threshold, or always with --plan;
 * otherwise its units go straight to local rewrites.  The analysis goes to
 * Claude unless there is no key, --local-only, a monitor-local-only path in
 * the cluster, or --max-cost is spent: then the local model does it.
 */
#ifndef MONITOR_PLAN_H
#define MONITOR_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/index.h"
#include "monitor/lang.h"
#include "monitor/repo.h"
#include "monitor/scan.h"

enum gm_analysis_route {
	GM_ANALYSIS_NONE,   /* simple: local rewrites with the goal alone */
	GM_ANALYSIS_CLAUDE,
	GM_ANALYSIS_LOCAL,
};

/* "no-analysis", "claude-analysis", "local-analysis". */
const char *gm_analysis_route_name(enum gm_analysis_route r);

struct gm_route_opts {
	bool have_claude_key;
	bool local_only;     /* --local-only */
	bool plan_all;       /* --plan */
	bool max_cost_spent; /* --max-cost reached */
};

struct gm_route {
	enum gm_analysis_route route;
	char *reason; /* one line for the report: "complexity 14 >= 10", ... */
};

/*
 * Route a set of units (global ids): the selected targets of one cluster
 * (gm_plan_group); linear in n.  GM_EINVALID for an empty set.  Release `out` with
 * gm_route_release().
 */
int gm_plan_route_units(struct gm_route *out, const struct gm_index *idx, const size_t *units,
                        size_t n, const struct gm_route_opts *opts);
void gm_route_release(struct gm_route *r);

/*
 * Targets grouped by cluster (index.h), the sets routing decides on: the
 * members of cluster k are units[start[k] .. start[k + 1]), in the order
 * of `targets`; targets outside every cluster are left out.  Release with
 * gm_plan_groups_release().
 */
struct gm_plan_groups {
	size_t *units;
	size_t *start; /* nclusters + 1 entries */
	size_t nclusters;
};

void gm_plan_group(struct gm_plan_groups *out, const struct gm_index *idx, const size_t *targets,
                   size_t n);
void gm_plan_groups_release(struct gm_plan_groups *g);

/*
 * -f/--function: does `u` match one of `globs` (fnmatch on the qualified
 * name or on the short name: `Foo.*`, `parse_*`)?  No globs: every unit.
 */
bool gm_plan_match_function(const struct gm_unit *u, const char *const *globs, size_t n);

/*
 * Which units a diff touches: the one rule of `refactor --since/--staged`
 * and the pre-commit hook.  Ranges are repo.h's (new side; a pure deletion
 * after line s is {s + 1, s}).
 *
 * - A range of changed or added lines touches every unit it overlaps.
 * - A pure deletion after line s touches a unit when s lies inside it,
 *   before its last line (start_line <= s < end_line).
 * - Lines removed right after the unit's last line (s == end_line): in a
 *   brace language the last line closes the unit, so what went came after
 *   it and the unit is not touched; in an indentation language
 *   (lang->indent_blocks: Python) nothing closes the unit, the removed
 *   lines may have been its tail (its last statements), so it is touched.
 * - Lines removed right above the first line (s == start_line - 1) never
 *   touch it: the unit's range already starts at its leading comment or
 *   decorator.
 * `lang` NULL: a brace language.
 */
bool gm_plan_unit_touched(const struct gm_unit *u, const struct gm_lang *lang,
                          const struct gm_line_range *ranges, size_t n);

/*
 * Global ids (index.h) of the units `changes` touches, in index order
 * (files by path, units in file order), compared by content: a touched
 * unit whose text is, byte for byte, a unit of the file's old text (the
 * rename source for a renamed file: repo.h) was only moved, up or down or
 * by the rename, and is left out.  `*out` is the caller's to free (NULL
 * when none).
 */
size_t gm_plan_select_touched(size_t **out, const struct gm_index *idx,
                              const struct gm_changed_lines *changes);

/*
 * The one estimate of a task before it is sent, by bytes of the request it
 * sends (a dry run builds the same requests, so --dry-run, --max-cost and
 * the context check agree): the prompt at 4 bytes a token; the answer of a
 * rewrite is the unit again, its size at 4 bytes a token plus 20%; the
 * answer of an analysis is a plan, about half the size of the code it
 * covers, at the same rate.
 */
enum gm_estimate_kind {
	GM_ESTIMATE_REWRITE,
	GM_ESTIMATE_ANALYSIS,
};

struct gm_token_estimate {
	size_t prompt, output, total;
};

void gm_plan_estimate(struct gm_token_estimate *out, enum gm_estimate_kind kind,
                      size_t prompt_bytes, size_t code_bytes);

/*
 * The most a request can cost on Claude model `model`, the bound --max-cost
 * is kept with: every byte of its text (`prompt_bytes`: system prompt, user
 * message and schema) counted as a token, since no token is shorter than a
 * byte, plus GM_PLAN_REQUEST_OVERHEAD_TOKENS for what the API adds (tool
 * use's own system prompt, the message framing), at the dearer of the
 * input and cache-write prices, and `max_tokens` of output.  Negative for a
 * model without a price (price.h): no bound can be given.
 */
#define GM_PLAN_REQUEST_OVERHEAD_TOKENS 1024
double gm_plan_worst_cost(size_t prompt_bytes, size_t max_tokens, const char *model);

/* Does the task fit a context of `context_len` tokens (0: unknown, fits)? */
bool gm_plan_fits_context(const struct gm_token_estimate *e, size_t context_len);

#endif
