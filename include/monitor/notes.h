/*
 * notes.h: the run's JSON as a git note on the result commit, under
 * refs/notes/monitor (GM_NOTES_REF).  That notes ref is ours: writing
 * replaces an earlier note on the same commit (a re-run, or review --drop
 * updating it).  Nothing else is touched.
 *
 * Runs at once compose: each change is a notes commit on the tip it read
 * and a compare-and-swap of the ref, redone on top when another run moved
 * the tip, and a locked ref is waited for (commit.h's gm_lock_wait), so
 * no writer loses its note or another's.  `interrupted` (may be NULL)
 * stops a wait: GM_EINTERRUPTED, nothing written.
 */
#ifndef MONITOR_NOTES_H
#define MONITOR_NOTES_H

#include <signal.h>

#include <git2.h>

#define GM_NOTES_REF "refs/notes/monitor"

/* Attach `text` to `commit`, replacing any note already there. */
int gm_notes_write(git_repository *repo, const git_oid *commit, const char *text,
                   const volatile sig_atomic_t *interrupted);

/*
 * The note on `commit`: `*out` is a copy the caller frees.  GM_ENOTFOUND
 * (message set) when there is none, e.g. notes not fetched.
 */
int gm_notes_read(char **out, git_repository *repo, const git_oid *commit);

/*
 * Replace the note on `commit` with `text` (review --drop); the same as
 * gm_notes_write, named for the caller's intent.
 */
int gm_notes_update(git_repository *repo, const git_oid *commit, const char *text,
                    const volatile sig_atomic_t *interrupted);

/*
 * Remove the note on `commit` (a run that wrote the note but not its
 * branch takes it back, also after an interrupt: this waits, it is not
 * interruptible); GM_ENOTFOUND when there is none.
 */
int gm_notes_remove(git_repository *repo, const git_oid *commit);

#endif
