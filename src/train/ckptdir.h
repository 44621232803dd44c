/* ckptdir.h — a run's checkpoint directories, written so that a crash, kill -9
 * or full disk at any moment leaves the previous checkpoint intact:
 *
 *   RUN/checkpoints/step-00000500/   config.json, model.safetensors, vocab.txt,
 *                                    trainer_state.safetensors
 *   RUN/checkpoints/latest           "step-00000500\n"
 *
 * A checkpoint is written into step-N.tmp/, then renamed to step-N/ (directory
 * fsynced), and only then does `latest` (itself written atomically) point at it.
 * Resume reads `latest`; a leftover .tmp directory is ignored and removed. */
#ifndef BERTC_CKPTDIR_H
#define BERTC_CKPTDIR_H

#include <stddef.h>

/* Creates RUN/checkpoints/ if needed and a fresh RUN/checkpoints/step-N.tmp/;
 * its path goes to tmp (size n). */
int ckptdir_begin(const char *run, int step, char *tmp, size_t n);
/* Renames step-N.tmp to step-N, points `latest` at it, and removes all but the
 * newest `keep` step directories. */
int ckptdir_commit(const char *run, int step, int keep);
/* Removes a step-N.tmp left by a failed write (best effort). */
void ckptdir_abort(const char *run, int step);
/* Path of the checkpoint `latest` names: 1 found, 0 none, -1 error (latest names a
 * missing directory, etc.). */
int ckptdir_latest(const char *run, char *dir, size_t n);

/* Removes a checkpoint directory (plain files only) and its files; 0 when it is gone
 * or was never there. */
int ckptdir_remove(const char *path);

#endif
