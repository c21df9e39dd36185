/*
 * commands.h — the subcommands of build/botwatch.
 *
 * Each takes the subcommand's own argv (argv[0] is the subcommand name) and
 * returns a process exit status: 0 success, 1 failure, 2 usage error.
 * They live in cmd/, above the libraries (ingest/, features/, classifier/,
 * store/) and the stages (stage/) and pipeline (pipeline/) they drive.
 */
#ifndef BW_COMMANDS_H
#define BW_COMMANDS_H

#include <stdatomic.h>

#define BW_VERSION "0.1.0"

int cmd_config(int argc, char **argv);   /* cmd/cmd_config.c */
int cmd_broker(int argc, char **argv);   /* cmd/cmd_broker.c */
int cmd_ingest(int argc, char **argv);   /* cmd/cmd_ingest.c */
int cmd_rules(int argc, char **argv);    /* cmd/cmd_rules.c */
int cmd_decode(int argc, char **argv);   /* cmd/cmd_decode.c */
int cmd_serve(int argc, char **argv);    /* cmd/cmd_serve.c */
int cmd_features(int argc, char **argv); /* cmd/cmd_features.c */
int cmd_replay(int argc, char **argv);   /* cmd/cmd_replay.c */
int cmd_simulate(int argc, char **argv); /* cmd/cmd_simulate.c */
int cmd_train(int argc, char **argv);    /* cmd/cmd_train.c */
int cmd_eval(int argc, char **argv);     /* cmd/cmd_eval.c */
int cmd_score(int argc, char **argv);    /* cmd/cmd_score.c */
int cmd_run(int argc, char **argv);      /* cmd/cmd_run.c */
int cmd_models(int argc, char **argv);   /* cmd/cmd_audit.c */
int cmd_history(int argc, char **argv);  /* cmd/cmd_audit.c */
int cmd_rescore(int argc, char **argv);  /* cmd/cmd_audit.c */
int cmd_whatif(int argc, char **argv);   /* cmd/cmd_whatif.c */
int cmd_report(int argc, char **argv);   /* cmd/cmd_report.c */
int cmd_demo(int argc, char **argv);     /* cmd/cmd_demo.c */

/* `simulate --serve` (cmd/sim_stream.c): serve the dump at `dump` as a live
 * stream until *stop; 0, or BW_EIO with errstr set (cannot listen). */
struct sim_stream_opts {
	const char *listen;    /* HOST:PORT (port 0: any free port) */
	double rate;           /* posts a second per connection (0: as fast as it reads) */
	const char *port_file; /* the bound port is written here, or NULL */
	atomic_int *stop;      /* borrowed: set by a signal handler */
};
int sim_stream_serve(const char *dump, const struct sim_stream_opts *o, char *errstr,
		     size_t errlen);

#endif
