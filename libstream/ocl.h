/* ocl.h: the OpenCL runtime every program runs its numeric work through.
 *
 * One device per process, chosen by TOMOGAN_DEVICE (see tomogan(7)):
 *   unset or ""   first GPU of any platform, else the first CPU device
 *   "gpu", "cpu"  first device of that kind
 *   "P:D"         platform P, device D (indices as `tsinfo --devices` lists)
 *   other text    first device whose name contains it (case-insensitive)
 * Kernels come from the .cl files of kernels/, embedded at build time; a
 * program is built on first use (a note on stderr says so, since PoCL's
 * first compile takes seconds) and kept for the life of the process.
 *   The note, "prog: compiling OpenCL kernels FILE (first use on this device
 * can take seconds)", appears only when stderr is a terminal (and not quiet,
 * tg_set_quiet) and only once the build has run for half a second, so cached
 * builds, tests and logs stay silent; CLBlast's first GEMM gets the same.
 *   Every program is built with "-cl-std=CL1.2" followed by the caller's
 * options; a line `#include "NAME"` naming an embedded kernels/ file is
 * replaced by its text, so a header of constants can be shared by host and
 * kernels (once the build embeds kernels/ headers too).
 *   Kernel objects belong to the runtime and are shared by every caller
 * asking for the same (file, kernel, options): set the arguments right
 * before each tg_cl_run, never release them, and use them from one thread
 * at a time.
 *   TOMOGAN_CL_TIMING=1 profiles every kernel launched through tg_cl_run
 * (each launch then waits for its kernel) and every tg_gemm (wall time, by
 * backend) and prints a table of per-kernel counts and times to stderr at
 * exit.
 *
 * Library functions return TG_CL_OK or an error code and leave a one-line
 * message in tg_cl_error(); the tg_clx_* wrappers are for programs and exit
 * with the documented status (69 no device, 70 internal error).
 */
#ifndef TOMOGAN_OCL_H
#define TOMOGAN_OCL_H

#include <stdio.h>
#include <stddef.h>

#include <CL/cl.h>

enum {
	TG_CL_OK = 0,
	TG_CL_NO_PLATFORM = 1,   /* no OpenCL platform or no matching device: exit 69 */
	TG_CL_BUILD = 2,         /* a kernel program failed to compile (log printed) */
	TG_CL_FAIL = 3           /* any other OpenCL error (named in the message) */
};

typedef struct tg_cl {
	cl_platform_id platform;
	cl_device_id device;
	cl_context ctx;
	cl_command_queue queue;
	int is_cpu;              /* CL_DEVICE_TYPE_CPU: host-mapped buffers cost nothing */
	char name[256];          /* device name */
	size_t max_wg;           /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
	cl_ulong max_alloc;      /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
	cl_ulong global_mem;     /* CL_DEVICE_GLOBAL_MEM_SIZE */
	cl_uint vec_width;       /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT (PoCL on a
	                            CPU: 16 with AVX-512, 8 with AVX2) */
} tg_cl;

/* The name of an OpenCL error code ("CL_OUT_OF_RESOURCES"). */
const char *tg_cl_errname(cl_int err);
/* Message of the last failure of this module. */
const char *tg_cl_error(void);

/* Initialises the process-wide runtime once (later calls return the same
 * one).  On failure *out is NULL. */
int tg_cl_init(tg_cl **out);
/* Lists platforms and devices, one line each, marking the one that
 * TOMOGAN_DEVICE selects; returns TG_CL_NO_PLATFORM if there is none. */
int tg_cl_list_devices(FILE *out);

/* Kernel `kernel` from embedded source file `file` ("resize.cl"); built on
 * first use with `options` appended to the default build options (the same
 * file with different options is a different program).  NULL on failure. */
cl_kernel tg_cl_kernel(tg_cl *cl, const char *file, const char *kernel, const char *options);

/* Enqueues k over a 1-3 dimensional range (local may be NULL) and, when
 * TOMOGAN_CL_TIMING is set, records its time under its name. */
int tg_cl_run(tg_cl *cl, cl_kernel k, cl_uint dims, const size_t *global, const size_t *local);
/* Sets kernel arguments: pairs of (size, pointer), terminated by 0. */
int tg_cl_args(cl_kernel k, ...);

/* Buffers: size in bytes; host may be NULL.  NULL on failure. */
cl_mem tg_cl_alloc(tg_cl *cl, size_t bytes, const void *host);
int tg_cl_write(tg_cl *cl, cl_mem buf, size_t offset, size_t bytes, const void *src);
int tg_cl_read(tg_cl *cl, cl_mem buf, size_t offset, size_t bytes, void *dst);
int tg_cl_finish(tg_cl *cl);

/* ---- GEMM, the one entry point ----
 * Row-major C[M x N] = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T,
 * with offsets and leading dimensions in elements (as cblas_sgemm with
 * CblasRowMajor).  Backend: OpenBLAS on mapped buffers when the device is a
 * CPU (PoCL maps without copying, and OpenBLAS runs 5-20x faster there than
 * CLBlast), CLBlast otherwise; TOMOGAN_GEMM=clblast|openblas forces one. */
typedef enum { TG_GEMM_AUTO = 0, TG_GEMM_CLBLAST, TG_GEMM_OPENBLAS } tg_gemm_backend;
void tg_gemm_set_backend(tg_gemm_backend b);  /* overrides the environment */
tg_gemm_backend tg_gemm_get_backend(tg_cl *cl); /* the one in effect */
int tg_gemm(tg_cl *cl, int trans_a, int trans_b, size_t M, size_t N, size_t K,
            float alpha, cl_mem A, size_t off_a, size_t lda,
            cl_mem B, size_t off_b, size_t ldb,
            float beta, cl_mem C, size_t off_c, size_t ldc);
/* A sequence of count GEMMs of one shape on the same buffers A, B and C,
 * the i-th with offsets off_a[i], off_b[i], off_c[i] and beta[i], in
 * chunks of `chunk` consecutive GEMMs (count a multiple of it).  Within a
 * chunk they run in order (a later one sees what an earlier one wrote, so
 * they may accumulate into one C); chunks must write disjoint parts of C
 * and may run at the same time.  The OpenBLAS path maps each buffer once
 * for the whole sequence instead of once per GEMM and runs several chunks
 * on its threads at once; the spans of C and of A or B must not overlap. */
int tg_gemm_seq(tg_cl *cl, int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                cl_mem A, size_t lda, cl_mem B, size_t ldb, cl_mem C, size_t ldc, size_t count,
                size_t chunk, const size_t *off_a, const size_t *off_b, const size_t *off_c,
                const float *beta);

/* ---- for programs: exit with a one-line message on failure ---- */
tg_cl *tg_clx_init(void);                       /* exit 69 if no device */
cl_kernel tg_clx_kernel(tg_cl *cl, const char *file, const char *kernel, const char *options);
void tg_clx_check(int status);                  /* exit 70 unless TG_CL_OK */

/* ---- notes on the functions above, and additions ----
 * tg_clx_init exits 69 on any failure to set up the device (none found, none
 * matching, context or queue refused), since the device is then unusable.
 * tg_cl_run with a zero in the global range does nothing.  tg_cl_args takes
 * pairs (size_t size, const void *value), e.g. sizeof(cl_mem), &buf,
 * sizeof(float), &x, then 0; a (size, NULL) pair declares __local memory.
 * tg_cl_alloc with bytes 0 gives a small buffer (OpenCL has no empty ones).
 * tg_gemm: C must not overlap A or B; M or N of 0 does nothing; K = 0 or
 * alpha = 0 scales C by beta; beta = 0 never reads C (NaN there does not
 * survive), on both backends.  The OpenBLAS path runs M = 1 or N = 1 as
 * sgemv, which OpenBLAS does faster than sgemm (1.2-3x here). */

/* Builds `source` (named `name` in messages and the build log) with the
 * default options plus `options`, uncached; the caller releases *out.
 * TG_CL_BUILD, with the log printed on stderr, when it does not compile. */
int tg_cl_program_from_source(tg_cl *cl, const char *name, const char *source,
                              const char *options, cl_program *out);
/* For tests only: releases the runtime and every cached program and kernel
 * so that the next tg_cl_init chooses a device again (TOMOGAN_DEVICE may
 * have changed).  Pointers from before are invalid afterwards. */
void tg_cl_reset_for_tests(void);

#endif
