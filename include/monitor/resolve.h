/*
 * resolve.h: cross-file call resolution over a scanned repository view
 * (index.h): which files a file imports, the call edges between units,
 * fan-in, fan-out and clusters.  Its callers run it on what gm_index_build
 * scanned (the pre-commit hook, which needs complexity alone, does not); it
 * reads only paths, languages and scans, never git.
 *
 * Call resolution, by the called name (the identifier, not the receiver):
 *   1. a unit of that name in the same file (not a cross-file edge);
 *   2. else units of that name in files the caller's file imports: a file
 *      counts as imported when its stem or its directory name equals one of
 *      the last two components of an import, a trailing source extension
 *      (any of lang.h's) not counting as one (`#include "foo.h"` -> foo.c,
 *      `from pkg.mod import f` -> pkg/mod.py, `import "x/y"` -> the .go
 *      files of y);
 *   3. else the one unit of that name in the whole repository, if unique;
 *   4. else unresolved (no edge).
 * Fan-out counts distinct units in other files a unit calls; fan-in counts
 * distinct units in other files that call it.  A cluster is a connected set
 * of *target* units joined by cross-file edges, numbered in the order of
 * their first unit.
 *
 * Costs: sorting the unit names and file stems, then bisection; a common
 * name (`__init__`) is looked up among the imported files' stretches of
 * it, not over all its units.
 */
#ifndef MONITOR_RESOLVE_H
#define MONITOR_RESOLVE_H

struct gm_index;

/*
 * Fill idx->files[].imported, idx->edges (sorted by caller then callee, one
 * per pair), idx->units[].fan_in/fan_out/cluster and idx->nclusters, from
 * the files' paths, languages and scans and idx->units.
 */
void gm_resolve_index(struct gm_index *idx);

#endif
