/* ocl_internal.h: what ocl.c shares with gemm.c; not for programs. */
#ifndef TOMOGAN_OCL_INTERNAL_H
#define TOMOGAN_OCL_INTERNAL_H

#include "ocl.h"

/* Leaves "message" in tg_cl_error() and returns status. */
int tg_cl_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* TOMOGAN_CL_TIMING in effect (read once, by tg_cl_init). */
int tg_cl_timing_enabled(void);
/* Adds one call of `name` taking `seconds` to the timing table. */
void tg_cl_timing_add(const char *name, double seconds);

/* Around an operation that may compile for seconds: when progress lines are
 * enabled (stderr a terminal, not quiet) and the operation is still running
 * half a second after tg_cl_note_begin, "prog: note" is printed then.  Cheap
 * otherwise; calls do not nest. */
void tg_cl_note_begin(const char *note);
void tg_cl_note_end(void);

/* Forgets CLBlast's compiled kernels (the context they belong to is going). */
void tg_gemm_reset(void);

#endif
