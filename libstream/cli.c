/* Command-line conventions shared by every program; see cli.h. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "cli.h"

static const char *prog = "tomogan";
static const char *usage_line = "";
static int g_argc;
static char **g_argv;
static int quiet;
static int progress_shown;
static tg_out *pending_out;  /* temporary output to remove at exit */

static void remove_pending(void)
{
	if (pending_out)
		tg_out_discard(pending_out);
}

/* OpenBLAS picks its kernels when it loads, from the CPU model.  Debian's
 * 0.3.21 does not know recent Xeons (model 167 among them) and falls back to
 * its SSE3 "Prescott" kernels, 4x slower than the AVX-512 ones the CPU can
 * run (35 against 138 GFLOP/s for sgemm 1024^3 here).  The choice cannot be
 * changed after loading, so when the program has OpenBLAS loaded, it
 * reports Prescott, nobody set OPENBLAS_CORETYPE and the CPU has AVX-512
 * (or AVX2), the program starts itself again with the right core type.
 * Nothing has been read or written yet, so this is invisible to the user. */
static void fix_openblas_kernels(char **argv)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (getenv("OPENBLAS_CORETYPE"))
		return;
	void *sym = dlsym(RTLD_DEFAULT, "openblas_get_corename");
	if (!sym)
		return;  /* this program does not use OpenBLAS */
	char *(*corename)(void);
	memcpy(&corename, &sym, sizeof corename);
	const char *core = corename();
	if (!core || strcmp(core, "Prescott") != 0)
		return;
	const char *want = NULL;
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
		want = "SkylakeX";
	else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		want = "Haswell";
	if (!want || setenv("OPENBLAS_CORETYPE", want, 1) != 0)
		return;
	execv("/proc/self/exe", argv);
	/* exec failed: carry on with the slow kernels */
#else
	(void)argv;
#endif
}

/* Denormal floats (magnitudes below 1.2e-38) take a slow microcode path in
 * x86 arithmetic: once training has pushed some gradients and activations
 * that small, OpenBLAS's sgemm ran 5x slower here (an SRCNN training step
 * went from 20 to 6 per second after a few minutes).  Programs therefore
 * flush them to zero (MXCSR FTZ and DAZ, as torch.set_flush_denormal(True)),
 * unless TOMOGAN_DENORMALS=keep.  The setting is per thread and threads
 * inherit it when they start: OpenBLAS started its threads when it loaded,
 * so its pool is shut down here and restarts from this thread on the next
 * threaded call (blas_thread_shutdown_, looked up at run time); OpenCL's
 * threads start later, from this thread. */
static void flush_denormals(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	const char *keep = getenv("TOMOGAN_DENORMALS");
	if (keep && strcmp(keep, "keep") == 0)
		return;
	_mm_setcsr(_mm_getcsr() | 0x8040);   /* FTZ (bit 15) and DAZ (bit 6) */
	void *sym = dlsym(RTLD_DEFAULT, "blas_thread_shutdown_");
	if (sym) {
		int (*shutdown)(void);
		memcpy(&shutdown, &sym, sizeof shutdown);
		shutdown();
	}
#endif
}

void tg_init(int argc, char **argv, const char *name, const char *usage)
{
	fix_openblas_kernels(argv);
	flush_denormals();
	prog = name;
	usage_line = usage;
	g_argc = argc;
	g_argv = argv;
	signal(SIGPIPE, SIG_IGN);
	atexit(remove_pending);
}

const char *tg_prog(void) { return prog; }
int tg_argc(void) { return g_argc; }
char **tg_argv(void) { return g_argv; }

noreturn void tg_help(void)
{
	printf("usage: %s\n", usage_line);
	exit(fflush(stdout) == 0 ? 0 : TG_EX_IOERR);
}

static void vmsg(const char *fmt, va_list ap)
{
	if (progress_shown)
		tg_progress_done();
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

noreturn void tg_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "usage: %s\n", usage_line);
	exit(TG_EX_USAGE);
}

noreturn void tg_die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(status);
}

void tg_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

noreturn void tg_die_stream(ts_status st, const char *msg)
{
	if (st == TS_ERR_PIPE)
		exit(0);
	tg_die(ts_exit_status(st), "%s", msg);
}

int tg_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int tg_parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int tg_parse_pair(const char *s, double *a, double *b)
{
	const char *comma = strchr(s, ',');
	if (!comma)
		return -1;
	char first[64];
	size_t n = (size_t)(comma - s);
	if (n == 0 || n >= sizeof first)
		return -1;
	memcpy(first, s, n);
	first[n] = 0;
	if (tg_parse_double(first, -HUGE_VAL, HUGE_VAL, a) ||
	    tg_parse_double(comma + 1, -HUGE_VAL, HUGE_VAL, b))
		return -1;
	return 0;
}

long tg_opt_long(const char *opt, const char *s, long lo, long hi)
{
	long v;
	if (tg_parse_long(s, lo, hi, &v))
		tg_usage_error("bad value for %s: '%s' (an integer from %ld to %ld)", opt, s, lo, hi);
	return v;
}

double tg_opt_double(const char *opt, const char *s, double lo, double hi)
{
	double v;
	if (tg_parse_double(s, lo, hi, &v))
		tg_usage_error("bad value for %s: '%s' (a number from %g to %g)", opt, s, lo, hi);
	return v;
}

int tg_open_in(const char *path)
{
	if (strcmp(path, "-") == 0)
		return 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		tg_die(TG_EX_NOINPUT, "%s: %s", path, strerror(errno));
	return fd;
}

void tg_out_open(tg_out *o, const char *path)
{
	o->path = o->tmp = NULL;
	o->durable = 0;
	if (strcmp(path, "-") == 0) {
		if (isatty(1))
			tg_usage_error("refusing to write a binary stream to a terminal (redirect or pipe standard output)");
		o->fd = 1;
		return;
	}
	size_t n = strlen(path) + 32;
	o->path = tg_malloc(n);
	o->tmp = tg_malloc(n);
	snprintf(o->path, n, "%s", path);
	snprintf(o->tmp, n, "%s.tmp%ld", path, (long)getpid());
	o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (o->fd < 0)
		tg_die(TG_EX_IOERR, "%s: cannot create: %s", path, strerror(errno));
	pending_out = o;
}

void tg_out_commit(tg_out *o)
{
	if (!o->tmp)
		return;
	/* rename makes the file appear whole or not at all for readers; fsync
	 * (durable outputs) also makes it survive a power cut */
	if ((o->durable && fsync(o->fd) != 0) || close(o->fd) != 0)
		tg_die(TG_EX_IOERR, "%s: write failed: %s", o->path, strerror(errno));
	if (rename(o->tmp, o->path) != 0)
		tg_die(TG_EX_IOERR, "%s: cannot rename into place: %s", o->path, strerror(errno));
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
	o->fd = -1;
	if (pending_out == o)
		pending_out = NULL;
}

void tg_out_discard(tg_out *o)
{
	if (!o->tmp)
		return;
	close(o->fd);
	unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
	if (pending_out == o)
		pending_out = NULL;
}

ts_reader *tg_reader_open(const char *path, int flags)
{
	ts_reader *r;
	ts_status st = ts_reader_open_path(&r, path, flags);
	if (st) {
		int code = ts_exit_status(st);
		/* a path that cannot be opened is "cannot open input" */
		if (st == TS_ERR_IO && strcmp(path, "-") != 0 && access(path, R_OK) != 0)
			code = TG_EX_NOINPUT;
		tg_die(code, "%s", ts_reader_error(r));
	}
	return r;
}

ts_writer *tg_writer_open(tg_out *o, ts_header *h, int zstd_level)
{
	if (ts_meta_add_history(&h->meta, g_argc, g_argv))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	ts_write_opts opts = { zstd_level };
	ts_writer *w;
	ts_status st = ts_writer_open(&w, o->fd, o->path ? o->path : "-", h, &opts);
	if (st)
		tg_die_stream(st, ts_writer_error(w));
	return w;
}

void tg_write_frame(ts_writer *w, const void *buf)
{
	ts_status st = ts_write_frame(w, buf);
	if (st)
		tg_die_stream(st, ts_writer_error(w));
}

void tg_write_frame_from(ts_writer *w, const ts_reader *r, const void *buf)
{
	ts_status st = ts_write_frame_from(w, r, buf);
	if (st)
		tg_die_stream(st, ts_writer_error(w));
}

int tg_read_frame(ts_reader *r, void *buf)
{
	ts_status st = ts_read_frame(r, buf);
	if (st == TS_OK)
		return 1;
	if (st == TS_END)
		return 0;
	tg_die(ts_exit_status(st), "%s", ts_reader_error(r));
}

void tg_writer_close(ts_writer *w, tg_out *o)
{
	ts_status st = ts_writer_finish(w);
	if (st)
		tg_die_stream(st, ts_writer_error(w));
	ts_writer_free(w);
	tg_out_commit(o);
}

void tg_set_quiet(int q) { quiet = q; }

int tg_progress_enabled(void)
{
	return !quiet && isatty(2);
}

void tg_progress(const char *fmt, ...)
{
	if (!tg_progress_enabled())
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "\r%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputs("\033[K", stderr);
	va_end(ap);
	progress_shown = 1;
}

void tg_progress_done(void)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = 0;
	}
}

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

volatile sig_atomic_t *tg_catch_stop(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESETHAND;   /* a second signal ends the program at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return &stop_signal;
}

int tg_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e;
}

int tg_tmpfile(char *dir, size_t dirlen)
{
	const char *d = getenv("TMPDIR");
	if (!d || !*d)
		d = "/tmp";
	snprintf(dir, dirlen, "%s", d);
	char path[4200];
	if ((size_t)snprintf(path, sizeof path, "%s/tomogan.XXXXXX", d) >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (unlink(path) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

double tg_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void *tg_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		tg_die(TG_EX_SOFTWARE, "out of memory (%zu bytes)", n);
	return p;
}

void *tg_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		tg_die(TG_EX_SOFTWARE, "out of memory (%zu x %zu bytes)", n, size);
	return p;
}
