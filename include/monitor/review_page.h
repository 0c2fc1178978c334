/*
 * review_page.h: the review page of a generated branch, one self-contained
 * HTML document (`review --web` serves it, `review --html` writes it).
 *
 * Functions grouped by file, each with its metadata (route, model,
 * attempts, complexity before -> after, helpers and imports, rationale) and
 * a side-by-side view of its base and tip text: libgit2's diff of the two
 * (gm_review_diff), lines paired, word-level changes marked (libgit2's diff
 * again, over the words of a pair of lines), syntax highlighted with the
 * grammars' highlights.scm (highlight.h) over the parse of the whole file.
 * Then the tasks that changed nothing, with their reasons and kept answers,
 * and a summary (applied, dropped, cost, models).  Every asset (CSS,
 * script) is in the document; nothing is fetched from anywhere.  Every
 * piece of repository or model text is HTML-escaped; the JSON embedded in
 * the page has every '<' escaped, so no text can close its element.
 *
 * Nothing here writes to the repository or prints.
 */
#ifndef MONITOR_REVIEW_PAGE_H
#define MONITOR_REVIEW_PAGE_H

#include <stdbool.h>

#include <git2.h>

#include "monitor/review.h"
#include "monitor/util.h"

struct gm_review_page_opts {
	/*
	 * Served by `review --web`: keep/drop toggles and an Apply button that
	 * posts the functions to drop to "apply" (the page sends the token of
	 * its own URL in the X-Monitor-Token header).  Else a static page whose
	 * toggles build the `git monitor review --drop` command line.
	 */
	bool live;
	/* The nonce of the page's <script> and <style> (Content-Security-Policy); NULL: none. */
	const char *nonce;
};

/* The page of `r` into `out` (appended). */
int gm_review_page(struct gm_buf *out, git_repository *repo, const struct gm_review *r,
                   const struct gm_review_page_opts *o);

/* HTML-escape `len` bytes of `s` into `out` (text and attribute values alike). */
void gm_html_escape(struct gm_buf *out, const char *s, size_t len);

/* Embedded assets (cmake/EmbedAssets.cmake from assets/): the page's CSS and script. */
extern const char gm_asset_review_css[];
extern const char gm_asset_review_js[];

#endif
