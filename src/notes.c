/*
 * notes.c: the run's JSON as a note under refs/notes/monitor (notes.h).
 *
 * Several runs may write notes at once.  libgit2's git_note_create moves
 * the ref with the commit it writes and fails when another writer holds
 * the lock or moved the tip first, losing the note.  So a note is written
 * as git does it, in two steps that compose: a notes commit on top of the
 * tip we read (git_note_commit_create), then a compare-and-swap of the ref
 * from that tip to it (git_reference_create_matching).  A moved tip means
 * another run's note landed: read it again and redo the commit on top; a
 * lock is waited for (commit.h's gm_lock_wait).
 */
#include "monitor/notes.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "monitor/commit.h"
#include "monitor/error.h"
#include "monitor/util.h"
#include "monitor/banned.h"

#define MAX_MOVED_TIPS 10000 /* each one is another writer's success: progress */

/* The tip of the notes ref, or none yet (*out NULL). */
static int read_tip(git_commit **out, git_repository *repo)
{
	git_reference *ref = NULL;
	int err;

	*out = NULL;
	err = git_reference_lookup(&ref, repo, GM_NOTES_REF);
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	if (err == 0)
		err = git_reference_peel((git_object **)out, ref, GIT_OBJECT_COMMIT);
	git_reference_free(ref);
	if (err < 0)
		return gm_error_git(GM_ERROR, "cannot read %s", GM_NOTES_REF);
	return 0;
}

/*
 * Add (`text`) or remove (`text` NULL) the note on `target`, retried until
 * the ref moves from the tip the change was made on.
 */
static int change_note(git_repository *repo, const git_oid *target, const char *text,
                       const volatile sig_atomic_t *interrupted)
{
	git_signature *author = NULL, *committer = NULL;
	struct gm_lock_wait w;
	char hex[GIT_OID_HEXSZ + 1], *reflog;
	int rc, err;

	git_oid_tostr(hex, sizeof(hex), target);
	if ((rc = gm_commit_signatures(&author, &committer, repo)) < 0)
		return rc;
	reflog = gm_xasprintf("git-monitor: %s the note on %s", text ? "write" : "remove", hex);
	gm_lock_wait_init(&w, repo, interrupted);
	for (unsigned moved = 0;;) {
		git_commit *tip = NULL;
		git_reference *ref = NULL;
		git_oid notes, blob, zero;

		memset(&zero, 0, sizeof(zero));
		if ((rc = read_tip(&tip, repo)) < 0)
			break;
		if (text) /* allow_note_overwrite: a re-run or an update replaces it */
			err = git_note_commit_create(&notes, &blob, repo, tip, author, committer, target,
			                             text, 1);
		else if (tip)
			err = git_note_commit_remove(&notes, repo, tip, author, committer, target);
		else
			err = GIT_ENOTFOUND;
		if (err == GIT_ENOTFOUND && !text) {
			git_commit_free(tip);
			git_error_clear();
			gm_error_set("no note under %s on %s", GM_NOTES_REF, hex);
			rc = GM_ENOTFOUND;
			break;
		}
		if (err < 0) {
			git_commit_free(tip);
			rc = gm_error_git(GM_ERROR, "cannot %s the note on %s", text ? "write" : "remove", hex);
			break;
		}
		/*
		 * Move the ref from exactly the tip we built on, or create it when
		 * there was none: a zero current id, which libgit2 checks under the
		 * ref's lock (its force = 0 is checked before it, so two creators
		 * could both pass it).
		 */
		err = git_reference_create_matching(&ref, repo, GM_NOTES_REF, &notes, tip ? 1 : 0,
		                                    tip ? git_commit_id(tip) : &zero, reflog);
		git_reference_free(ref);
		git_commit_free(tip);
		if (err == 0) {
			rc = 0;
			break;
		}
		if (err == GIT_EMODIFIED || err == GIT_EEXISTS) {
			/* Another run's note landed first: ours goes on top of it. */
			git_error_clear();
			if (++moved < MAX_MOVED_TIPS)
				continue;
		} else if (err == GIT_ELOCKED) {
			if ((rc = gm_lock_wait_next(&w, GM_NOTES_REF)) == 0)
				continue;
			if (rc == GM_ERROR) {
				char why[512];
				snprintf(why, sizeof(why), "%s", gm_error_last());
				gm_error_set("cannot %s the note on %s: %s", text ? "write" : "remove", hex, why);
			}
			break;
		}
		rc = gm_error_git(GM_ERROR, "cannot %s the note on %s", text ? "write" : "remove", hex);
		break;
	}
	free(reflog);
	git_signature_free(author);
	git_signature_free(committer);
	return rc;
}

int gm_notes_write(git_repository *repo, const git_oid *commit, const char *text,
                   const volatile sig_atomic_t *interrupted)
{
	return change_note(repo, commit, text ? text : "", interrupted);
}

int gm_notes_update(git_repository *repo, const git_oid *commit, const char *text,
                    const volatile sig_atomic_t *interrupted)
{
	return gm_notes_write(repo, commit, text, interrupted);
}

int gm_notes_read(char **out, git_repository *repo, const git_oid *commit)
{
	git_note *note = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int err;

	*out = NULL;
	git_oid_tostr(hex, sizeof(hex), commit);
	err = git_note_read(&note, repo, GM_NOTES_REF, commit);
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		gm_error_set("no note under %s on %s", GM_NOTES_REF, hex);
		return GM_ENOTFOUND;
	}
	if (err < 0)
		return gm_error_git(GM_ERROR, "cannot read the note on %s", hex);
	*out = gm_xstrdup(git_note_message(note));
	git_note_free(note);
	return 0;
}

int gm_notes_remove(git_repository *repo, const git_oid *commit)
{
	return change_note(repo, commit, NULL, NULL);
}
