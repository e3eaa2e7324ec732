/* cli.h: command-line conventions shared by every tomogan program
 * (STYLE.md): "prog: message" on stderr, the exit-status table, -h, "-" for
 * standard input and output, refusal to write a stream to a terminal, and a
 * quiet exit when the reader of our output goes away. */
#ifndef TOMOGAN_CLI_H
#define TOMOGAN_CLI_H

#include <pthread.h>
#include <signal.h>
#include <stdnoreturn.h>

#include "tstream.h"

/* Exit statuses (sysexits), documented in every man page. */
enum {
	TG_EX_OK = 0,
	TG_EX_USAGE = 64,      /* bad invocation */
	TG_EX_DATAERR = 65,    /* bad input data */
	TG_EX_NOINPUT = 66,    /* cannot open input */
	TG_EX_UNAVAILABLE = 69,/* no usable OpenCL device */
	TG_EX_SOFTWARE = 70,   /* internal error */
	TG_EX_IOERR = 74       /* I/O error */
};

/* Records the program name and its usage line ("usage: prog ..." without
 * the "usage: "), and ignores SIGPIPE so that a closed output is seen as
 * EPIPE and ends the program quietly with status 0. */
void tg_init(int argc, char **argv, const char *name, const char *usage);
const char *tg_prog(void);
int tg_argc(void);
char **tg_argv(void);

/* -h: the usage line on stdout, exit 0. */
noreturn void tg_help(void);
/* "prog: message" and the usage line on stderr, exit 64. */
noreturn void tg_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: message" on stderr, exit status. */
noreturn void tg_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ends the program for a stream error: quietly with 0 for a closed pipe,
 * else "prog: msg" with ts_exit_status(st). */
noreturn void tg_die_stream(ts_status st, const char *msg);

/* Strict number parsing with range checks; 0 ok, -1 bad. */
int tg_parse_long(const char *s, long lo, long hi, long *out);
int tg_parse_double(const char *s, double lo, double hi, double *out);
/* "a,b" into two doubles; 0 ok. */
int tg_parse_pair(const char *s, double *a, double *b);
/* Option value helpers that exit 64 with "prog: bad value for OPT: ...". */
long tg_opt_long(const char *opt, const char *s, long lo, long hi);
double tg_opt_double(const char *opt, const char *s, double lo, double hi);

/* Opens an input path ("-" is stdin) for reading; exits 66 on failure. */
int tg_open_in(const char *path);
/* Stream output: "-" is stdout, which must not be a terminal (exit 64).
 * A path is written to a temporary file beside it and renamed into place by
 * tg_out_commit, so a failed run leaves no partial file. */
typedef struct {
	int fd;
	int durable;   /* set before commit to fsync first (checkpoints) */
	char *path, *tmp;
} tg_out;
void tg_out_open(tg_out *o, const char *path);
/* Renames the temporary file into place; exits 74 on failure. */
void tg_out_commit(tg_out *o);
/* Removes the temporary file (error paths; also registered at exit). */
void tg_out_discard(tg_out *o);

/* Opens the input stream (exits 66/65 with a one-line message on failure). */
ts_reader *tg_reader_open(const char *path, int flags);
/* Opens the output stream with h; h's metadata gets this command line
 * appended to its history.  zstd_level 0 stores frames uncompressed. */
ts_writer *tg_writer_open(tg_out *o, ts_header *h, int zstd_level);
/* Writes a frame or ends the program with the writer's message. */
void tg_write_frame(ts_writer *w, const void *buf);
/* The same for a frame just read from r and passed on unchanged
 * (ts_write_frame_from: no second checksum pass). */
void tg_write_frame_from(ts_writer *w, const ts_reader *r, const void *buf);
/* Reads a frame: 1 got one, 0 at the end; exits on error. */
int tg_read_frame(ts_reader *r, void *buf);
/* Writes the end record, frees the writer and commits the output. */
void tg_writer_close(ts_writer *w, tg_out *o);

/* Progress line on stderr when it is a terminal and not quiet. */
void tg_set_quiet(int quiet);
int tg_progress_enabled(void);
void tg_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tg_progress_done(void);

/* SIGINT and SIGTERM set the returned flag (to the signal's number) so that
 * a long run can finish its step, save and exit 0; a second signal ends the
 * program at once. */
volatile sig_atomic_t *tg_catch_stop(void);

/* A nameless temporary file in $TMPDIR (else /tmp), gone when its
 * descriptor is closed, whatever way the program ends.  The folder used is
 * copied into dir (for messages).  Returns the descriptor, or -1 with errno. */
int tg_tmpfile(char *dir, size_t dirlen);

/* pthread_create for a worker thread that starts with every signal
 * blocked, so that signals (tg_catch_stop's above all) reach the
 * program's own thread; 0 or pthread_create's error. */
int tg_thread_create(pthread_t *t, void *(*fn)(void *), void *arg);

/* Monotonic seconds. */
double tg_now(void);
/* Allocation that exits 70 with a message on failure. */
void *tg_malloc(size_t n);
void *tg_calloc(size_t n, size_t size);

#endif
