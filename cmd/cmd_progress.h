/*
 * cmd_progress.h — a progress line on a terminal for commands that read
 * archives (replay, train, eval): bytes of the input read, rate and ETA.
 *
 * Only when stderr is a terminal (and BOTWATCH_PROGRESS is not "0"): a
 * thread redraws one line ("\r...") every half second and clears it at the
 * end, so logs and pipes never see it. The position is read from the kernel
 * (/proc/self/fdinfo of the descriptors open on the input files), so the
 * readers need no hook; stdin and unreadable inputs count as unknown size.
 */
#ifndef CMD_PROGRESS_H
#define CMD_PROGRESS_H

#include <stddef.h>

struct cmd_progress;

/* Start the progress line of command `cmd` over `files` (borrowed until
 * cmd_progress_stop). NULL when stderr is not a terminal or on any failure:
 * progress is never worth failing a command for. */
struct cmd_progress *cmd_progress_start(const char *cmd, char *const *files, size_t n);

/* Set a phase text shown after the byte figures (e.g. "cross-validation
 * C=1 fold 2/5"); copied. Thread-safe; p may be NULL. */
void cmd_progress_phase(struct cmd_progress *p, const char *phase);

/* Stop the thread, clear the line and free p (NULL is fine). */
void cmd_progress_stop(struct cmd_progress *p);

#endif
