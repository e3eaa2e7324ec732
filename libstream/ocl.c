/* ocl.c: the process-wide OpenCL runtime of ocl.h: device choice, embedded
 * kernel programs built once per (file, options), checked calls with named
 * errors, and the TOMOGAN_CL_TIMING profile. */
#define _GNU_SOURCE   /* sched_getaffinity */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CL/cl_ext.h>

#include "cli.h"
#include "kernels_embed.h"
#include "ocl.h"
#include "ocl_internal.h"

/* Options every program is built with; the caller's are appended. */
#define TG_CL_DEFAULT_OPTIONS "-cl-std=CL1.2"
/* A build still running after this long gets a note on a terminal. */
#define TG_CL_NOTE_DELAY_S 0.5

static _Thread_local char errmsg[1024];

int tg_cl_fail(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof errmsg, fmt, ap);
	va_end(ap);
	return status;
}

const char *tg_cl_error(void)
{
	return errmsg[0] ? errmsg : "no error";
}

const char *tg_cl_errname(cl_int err)
{
#define E(x) case x: return #x;
	switch (err) {
	E(CL_SUCCESS)
	E(CL_DEVICE_NOT_FOUND)
	E(CL_DEVICE_NOT_AVAILABLE)
	E(CL_COMPILER_NOT_AVAILABLE)
	E(CL_MEM_OBJECT_ALLOCATION_FAILURE)
	E(CL_OUT_OF_RESOURCES)
	E(CL_OUT_OF_HOST_MEMORY)
	E(CL_PROFILING_INFO_NOT_AVAILABLE)
	E(CL_MEM_COPY_OVERLAP)
	E(CL_IMAGE_FORMAT_MISMATCH)
	E(CL_IMAGE_FORMAT_NOT_SUPPORTED)
	E(CL_BUILD_PROGRAM_FAILURE)
	E(CL_MAP_FAILURE)
	E(CL_MISALIGNED_SUB_BUFFER_OFFSET)
	E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
	E(CL_COMPILE_PROGRAM_FAILURE)
	E(CL_LINKER_NOT_AVAILABLE)
	E(CL_LINK_PROGRAM_FAILURE)
	E(CL_DEVICE_PARTITION_FAILED)
	E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
	E(CL_INVALID_VALUE)
	E(CL_INVALID_DEVICE_TYPE)
	E(CL_INVALID_PLATFORM)
	E(CL_INVALID_DEVICE)
	E(CL_INVALID_CONTEXT)
	E(CL_INVALID_QUEUE_PROPERTIES)
	E(CL_INVALID_COMMAND_QUEUE)
	E(CL_INVALID_HOST_PTR)
	E(CL_INVALID_MEM_OBJECT)
	E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
	E(CL_INVALID_IMAGE_SIZE)
	E(CL_INVALID_SAMPLER)
	E(CL_INVALID_BINARY)
	E(CL_INVALID_BUILD_OPTIONS)
	E(CL_INVALID_PROGRAM)
	E(CL_INVALID_PROGRAM_EXECUTABLE)
	E(CL_INVALID_KERNEL_NAME)
	E(CL_INVALID_KERNEL_DEFINITION)
	E(CL_INVALID_KERNEL)
	E(CL_INVALID_ARG_INDEX)
	E(CL_INVALID_ARG_VALUE)
	E(CL_INVALID_ARG_SIZE)
	E(CL_INVALID_KERNEL_ARGS)
	E(CL_INVALID_WORK_DIMENSION)
	E(CL_INVALID_WORK_GROUP_SIZE)
	E(CL_INVALID_WORK_ITEM_SIZE)
	E(CL_INVALID_GLOBAL_OFFSET)
	E(CL_INVALID_EVENT_WAIT_LIST)
	E(CL_INVALID_EVENT)
	E(CL_INVALID_OPERATION)
	E(CL_INVALID_GL_OBJECT)
	E(CL_INVALID_BUFFER_SIZE)
	E(CL_INVALID_MIP_LEVEL)
	E(CL_INVALID_GLOBAL_WORK_SIZE)
	E(CL_INVALID_PROPERTY)
	E(CL_INVALID_IMAGE_DESCRIPTOR)
	E(CL_INVALID_COMPILER_OPTIONS)
	E(CL_INVALID_LINKER_OPTIONS)
	E(CL_INVALID_DEVICE_PARTITION_COUNT)
	E(CL_PLATFORM_NOT_FOUND_KHR)
	/* OpenCL 2.x and 3.0 codes, which a newer driver may return. */
	case -69: return "CL_INVALID_PIPE_SIZE";
	case -70: return "CL_INVALID_DEVICE_QUEUE";
	case -71: return "CL_INVALID_SPEC_ID";
	case -72: return "CL_MAX_SIZE_RESTRICTION_EXCEEDED";
	}
#undef E
	static _Thread_local char unknown[48];
	snprintf(unknown, sizeof unknown, "unknown OpenCL error %d", (int)err);
	return unknown;
}

/* ---- note on stderr while a slow compile runs ----
 * One helper thread, started on first use and only when progress lines are
 * enabled, so runs with stderr redirected (tests, pipelines into log files)
 * stay silent and pay nothing. */

static pthread_mutex_t note_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t note_cond = PTHREAD_COND_INITIALIZER;
static int note_started, note_armed;
static unsigned long note_gen;
static char note_text[320];
static struct timespec note_deadline;

static void *note_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&note_lock);
	for (;;) {
		while (!note_armed)
			pthread_cond_wait(&note_cond, &note_lock);
		unsigned long gen = note_gen;
		int rc = 0;
		while (note_armed && note_gen == gen && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&note_cond, &note_lock, &note_deadline);
		if (note_armed && note_gen == gen) {
			tg_progress_done();
			fprintf(stderr, "%s: %s\n", tg_prog(), note_text);
			note_armed = 0;
		}
	}
	return NULL;
}

void tg_cl_note_begin(const char *note)
{
	if (!tg_progress_enabled())
		return;
	pthread_mutex_lock(&note_lock);
	if (!note_started) {
		pthread_t t;
		if (pthread_create(&t, NULL, note_main, NULL) == 0) {
			pthread_detach(t);
			note_started = 1;
		}
	}
	if (note_started) {
		snprintf(note_text, sizeof note_text, "%s", note);
		clock_gettime(CLOCK_REALTIME, &note_deadline);
		long ns = note_deadline.tv_nsec + (long)(TG_CL_NOTE_DELAY_S * 1e9);
		note_deadline.tv_sec += ns / 1000000000L;
		note_deadline.tv_nsec = ns % 1000000000L;
		note_armed = 1;
		note_gen++;
		pthread_cond_signal(&note_cond);
	}
	pthread_mutex_unlock(&note_lock);
}

void tg_cl_note_end(void)
{
	pthread_mutex_lock(&note_lock);
	if (note_armed) {
		note_armed = 0;
		pthread_cond_signal(&note_cond);
	}
	pthread_mutex_unlock(&note_lock);
}

/* ---- TOMOGAN_CL_TIMING ---- */

struct timing_row {
	char name[64];
	unsigned long count;
	double seconds;
};

static pthread_mutex_t timing_lock = PTHREAD_MUTEX_INITIALIZER;
static int timing_on;
static struct timing_row *timing_rows;
static size_t timing_n, timing_cap;
static char timing_device[256];

int tg_cl_timing_enabled(void)
{
	return timing_on;
}

void tg_cl_timing_add(const char *name, double seconds)
{
	pthread_mutex_lock(&timing_lock);
	size_t i;
	for (i = 0; i < timing_n; i++)
		if (strcmp(timing_rows[i].name, name) == 0)
			break;
	if (i == timing_n) {
		if (timing_n == timing_cap) {
			size_t cap = timing_cap ? 2 * timing_cap : 32;
			struct timing_row *r = realloc(timing_rows, cap * sizeof *r);
			if (!r) {
				pthread_mutex_unlock(&timing_lock);
				return;
			}
			timing_rows = r;
			timing_cap = cap;
		}
		snprintf(timing_rows[i].name, sizeof timing_rows[i].name, "%s", name);
		timing_rows[i].count = 0;
		timing_rows[i].seconds = 0;
		timing_n++;
	}
	timing_rows[i].count++;
	timing_rows[i].seconds += seconds;
	pthread_mutex_unlock(&timing_lock);
}

static int timing_cmp(const void *a, const void *b)
{
	double x = ((const struct timing_row *)a)->seconds;
	double y = ((const struct timing_row *)b)->seconds;
	return (x < y) - (x > y);
}

/* The atexit table: kernels by total time, largest first. */
static void timing_report(void)
{
	pthread_mutex_lock(&timing_lock);
	qsort(timing_rows, timing_n, sizeof *timing_rows, timing_cmp);
	double total = 0;
	unsigned long calls = 0;
	for (size_t i = 0; i < timing_n; i++) {
		total += timing_rows[i].seconds;
		calls += timing_rows[i].count;
	}
	fprintf(stderr, "%s: OpenCL kernel times on %s (TOMOGAN_CL_TIMING)\n",
	        tg_prog(), timing_device);
	fprintf(stderr, "%-32s %10s %12s %12s %7s\n", "kernel", "calls", "total ms", "mean us", "share");
	for (size_t i = 0; i < timing_n; i++) {
		const struct timing_row *r = &timing_rows[i];
		fprintf(stderr, "%-32s %10lu %12.3f %12.2f %6.1f%%\n", r->name, r->count,
		        1e3 * r->seconds, 1e6 * r->seconds / (double)r->count,
		        total > 0 ? 100 * r->seconds / total : 0.0);
	}
	fprintf(stderr, "%-32s %10lu %12.3f\n", "total", calls, 1e3 * total);
	pthread_mutex_unlock(&timing_lock);
}

/* ---- devices ---- */

struct devinfo {
	cl_platform_id platform;
	cl_device_id device;
	unsigned p, d;          /* indices as listed */
	cl_device_type type;
	char name[256];
	char platform_name[256];
};

/* PoCL's CPU device runs a kernel's work-groups on one worker thread per
 * CPU, which sleep between commands.  Left to the scheduler, two workers
 * that wake for the next kernel often land on the same CPU and stay
 * there for the whole kernel: SRCNN 9-1-5 on 256x256 frames took 4.6-5.6
 * ms per frame for its first conv in about half the frames, 2.4-3.1 ms in
 * the others, on 2 CPUs (srcnn apply, TOMOGAN_CL_TIMING=1, per launch).
 * PoCL's POCL_AFFINITY=1 pins worker i to CPU i, which also fails where
 * CPU i is not the process's: so it is set only where the user left it
 * unset and the process may run on CPUs 0..n-1 (tomogan(7)). */
static void pin_pocl_workers(void)
{
#ifdef __linux__
	if (getenv("POCL_AFFINITY"))
		return;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	CPU_ZERO(&set);
	if (n < 1 || n > CPU_SETSIZE || sched_getaffinity(0, sizeof set, &set) != 0)
		return;
	for (long i = 0; i < n; i++)
		if (!CPU_ISSET((int)i, &set))
			return;
	setenv("POCL_AFFINITY", "1", 0);
#endif
}

static const char *no_platform_msg =
	"no OpenCL platform found: install an OpenCL driver (pocl-opencl-icd on machines without a GPU)";

/* All devices of all platforms; TG_CL_NO_PLATFORM when there is none. */
static int enumerate(struct devinfo **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	pin_pocl_workers();   /* before the first OpenCL call starts PoCL's threads */
	cl_uint np = 0;
	cl_int err = clGetPlatformIDs(0, NULL, &np);
	if (err == CL_PLATFORM_NOT_FOUND_KHR || (err == CL_SUCCESS && np == 0))
		return tg_cl_fail(TG_CL_NO_PLATFORM, "%s", no_platform_msg);
	if (err != CL_SUCCESS)
		return tg_cl_fail(TG_CL_NO_PLATFORM, "%s (clGetPlatformIDs: %s)", no_platform_msg,
		                  tg_cl_errname(err));
	cl_platform_id *plats = calloc(np, sizeof *plats);
	if (!plats)
		return tg_cl_fail(TG_CL_FAIL, "out of memory listing OpenCL platforms");
	err = clGetPlatformIDs(np, plats, NULL);
	if (err != CL_SUCCESS) {
		free(plats);
		return tg_cl_fail(TG_CL_NO_PLATFORM, "%s (clGetPlatformIDs: %s)", no_platform_msg,
		                  tg_cl_errname(err));
	}
	struct devinfo *list = NULL;
	size_t count = 0;
	int status = TG_CL_OK;
	for (cl_uint p = 0; p < np && status == TG_CL_OK; p++) {
		cl_uint nd = 0;
		err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
		if (err == CL_DEVICE_NOT_FOUND || nd == 0)
			continue;
		if (err != CL_SUCCESS) {
			status = tg_cl_fail(TG_CL_FAIL, "listing the devices of OpenCL platform %u: %s",
			                    p, tg_cl_errname(err));
			break;
		}
		cl_device_id *devs = calloc(nd, sizeof *devs);
		struct devinfo *grown = realloc(list, (count + nd) * sizeof *list);
		if (!devs || !grown) {
			free(devs);
			if (grown)
				list = grown;
			status = tg_cl_fail(TG_CL_FAIL, "out of memory listing OpenCL devices");
			break;
		}
		list = grown;
		err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL);
		if (err != CL_SUCCESS) {
			free(devs);
			status = tg_cl_fail(TG_CL_FAIL, "listing the devices of OpenCL platform %u: %s",
			                    p, tg_cl_errname(err));
			break;
		}
		char pname[256] = "";
		clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname - 1, pname, NULL);
		for (cl_uint d = 0; d < nd; d++) {
			struct devinfo *di = &list[count++];
			memset(di, 0, sizeof *di);
			di->platform = plats[p];
			di->device = devs[d];
			di->p = p;
			di->d = d;
			snprintf(di->platform_name, sizeof di->platform_name, "%s", pname);
			err = clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof di->type, &di->type, NULL);
			if (err == CL_SUCCESS)
				err = clGetDeviceInfo(devs[d], CL_DEVICE_NAME, sizeof di->name - 1,
				                      di->name, NULL);
			if (err != CL_SUCCESS) {
				status = tg_cl_fail(TG_CL_FAIL, "querying OpenCL device %u:%u: %s", p, d,
				                    tg_cl_errname(err));
				break;
			}
		}
		free(devs);
	}
	free(plats);
	if (status == TG_CL_OK && count == 0)
		status = tg_cl_fail(TG_CL_NO_PLATFORM,
		                    "no OpenCL device found: install an OpenCL driver "
		                    "(pocl-opencl-icd on machines without a GPU)");
	if (status != TG_CL_OK) {
		free(list);
		return status;
	}
	*out = list;
	*n = count;
	return TG_CL_OK;
}

static int contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++) {
		size_t i = 0;
		while (i < n && hay[i] &&
		       tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return n == 0;
}

static int equal_nocase(const char *a, const char *b)
{
	while (*a && tolower((unsigned char)*a) == tolower((unsigned char)*b))
		a++, b++;
	return *a == 0 && *b == 0;
}

/* "P:D" with decimal indices; 1 if spec has that form. */
static int parse_index(const char *spec, unsigned *p, unsigned *d)
{
	const char *s = spec;
	unsigned long v[2];
	for (int k = 0; k < 2; k++) {
		if (!isdigit((unsigned char)*s))
			return 0;
		char *end;
		errno = 0;
		v[k] = strtoul(s, &end, 10);
		if (errno || v[k] > 65535)
			return 0;
		s = end;
		if (k == 0 && *s++ != ':')
			return 0;
	}
	if (*s)
		return 0;
	*p = (unsigned)v[0];
	*d = (unsigned)v[1];
	return 1;
}

/* The device TOMOGAN_DEVICE (spec) selects, as the header describes, or -1. */
static long select_device(const struct devinfo *list, size_t n, const char *spec)
{
	if (!spec || !*spec) {
		for (size_t i = 0; i < n; i++)
			if (list[i].type & CL_DEVICE_TYPE_GPU)
				return (long)i;
		for (size_t i = 0; i < n; i++)
			if (list[i].type & CL_DEVICE_TYPE_CPU)
				return (long)i;
		return n ? 0 : -1;  /* neither: an accelerator is better than nothing */
	}
	if (equal_nocase(spec, "gpu") || equal_nocase(spec, "cpu")) {
		cl_device_type want = equal_nocase(spec, "gpu") ? CL_DEVICE_TYPE_GPU : CL_DEVICE_TYPE_CPU;
		for (size_t i = 0; i < n; i++)
			if (list[i].type & want)
				return (long)i;
		return -1;
	}
	unsigned p, d;
	if (parse_index(spec, &p, &d)) {
		for (size_t i = 0; i < n; i++)
			if (list[i].p == p && list[i].d == d)
				return (long)i;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (contains_nocase(list[i].name, spec))
			return (long)i;
	return -1;
}

static const char *type_name(cl_device_type t)
{
	if (t & CL_DEVICE_TYPE_GPU)
		return "gpu";
	if (t & CL_DEVICE_TYPE_CPU)
		return "cpu";
	if (t & CL_DEVICE_TYPE_ACCELERATOR)
		return "accel";
	return "other";
}

int tg_cl_list_devices(FILE *out)
{
	struct devinfo *list;
	size_t n;
	int st = enumerate(&list, &n);
	if (st != TG_CL_OK)
		return st;
	const char *spec = getenv("TOMOGAN_DEVICE");
	long sel = select_device(list, n, spec);
	for (size_t i = 0; i < n; i++) {
		cl_uint cu = 0;
		cl_ulong mem = 0;
		clGetDeviceInfo(list[i].device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
		clGetDeviceInfo(list[i].device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
		fprintf(out, "%c %u:%u  %-5s %4u CU %7.1f GiB  %s (%s)\n", (long)i == sel ? '*' : ' ',
		        list[i].p, list[i].d, type_name(list[i].type), (unsigned)cu,
		        (double)mem / (1024.0 * 1024.0 * 1024.0), list[i].name, list[i].platform_name);
	}
	if (sel < 0)
		fprintf(out, "  (TOMOGAN_DEVICE=\"%s\" matches none of these)\n", spec ? spec : "");
	free(list);
	return TG_CL_OK;
}

/* ---- the runtime ---- */

struct kernel_entry {
	char *name;
	cl_kernel kernel;
	struct kernel_entry *next;
};

struct program_entry {
	char *file, *options;
	cl_program program;
	struct kernel_entry *kernels;
	struct program_entry *next;
};

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static tg_cl *rt;                 /* the runtime, once made */
static int rt_status = -1;        /* -1: not tried; else tg_cl_init's result */
static char rt_msg[sizeof errmsg];
static struct program_entry *programs;

static int init_device(tg_cl *cl, const struct devinfo *di)
{
	cl_int err;
	cl->platform = di->platform;
	cl->device = di->device;
	snprintf(cl->name, sizeof cl->name, "%s", di->name);
	cl->is_cpu = (di->type & CL_DEVICE_TYPE_CPU) != 0;
	err = clGetDeviceInfo(di->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof cl->max_wg,
	                      &cl->max_wg, NULL);
	if (err == CL_SUCCESS)
		err = clGetDeviceInfo(di->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof cl->max_alloc,
		                      &cl->max_alloc, NULL);
	if (err == CL_SUCCESS)
		err = clGetDeviceInfo(di->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof cl->global_mem,
		                      &cl->global_mem, NULL);
	if (err == CL_SUCCESS)
		err = clGetDeviceInfo(di->device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT,
		                      sizeof cl->vec_width, &cl->vec_width, NULL);
	if (err != CL_SUCCESS)
		return tg_cl_fail(TG_CL_FAIL, "querying OpenCL device %s: %s", cl->name,
		                  tg_cl_errname(err));
	cl_context_properties props[] = {
		CL_CONTEXT_PLATFORM, (cl_context_properties)di->platform, 0
	};
	cl->ctx = clCreateContext(props, 1, &di->device, NULL, NULL, &err);
	if (!cl->ctx || err != CL_SUCCESS)
		return tg_cl_fail(TG_CL_FAIL, "creating an OpenCL context on %s: %s", cl->name,
		                  tg_cl_errname(err));
	cl->queue = clCreateCommandQueue(cl->ctx, di->device,
	                                 timing_on ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
	if (!cl->queue || err != CL_SUCCESS) {
		clReleaseContext(cl->ctx);
		cl->ctx = NULL;
		return tg_cl_fail(TG_CL_FAIL, "creating an OpenCL command queue on %s: %s", cl->name,
		                  tg_cl_errname(err));
	}
	return TG_CL_OK;
}

static int init_locked(void)
{
	const char *t = getenv("TOMOGAN_CL_TIMING");
	timing_on = t && *t && strcmp(t, "0") != 0;

	struct devinfo *list;
	size_t n;
	int st = enumerate(&list, &n);
	if (st != TG_CL_OK)
		return st;
	const char *spec = getenv("TOMOGAN_DEVICE");
	long sel = select_device(list, n, spec);
	if (sel < 0) {
		free(list);
		return tg_cl_fail(TG_CL_NO_PLATFORM,
		                  "no OpenCL device matches TOMOGAN_DEVICE=\"%s\" "
		                  "(tsinfo --devices lists them)", spec);
	}
	tg_cl *cl = calloc(1, sizeof *cl);
	if (!cl) {
		free(list);
		return tg_cl_fail(TG_CL_FAIL, "out of memory");
	}
	st = init_device(cl, &list[sel]);
	free(list);
	if (st != TG_CL_OK) {
		free(cl);
		return st;
	}
	rt = cl;
	if (timing_on) {
		static int registered;
		snprintf(timing_device, sizeof timing_device, "%s", cl->name);
		if (!registered && atexit(timing_report) == 0)
			registered = 1;
	}
	return TG_CL_OK;
}

int tg_cl_init(tg_cl **out)
{
	pthread_mutex_lock(&rt_lock);
	if (rt_status < 0) {
		rt_status = init_locked();
		snprintf(rt_msg, sizeof rt_msg, "%s", rt_status ? errmsg : "");
	} else if (rt_status != TG_CL_OK) {
		snprintf(errmsg, sizeof errmsg, "%s", rt_msg);
	}
	*out = rt;
	int st = rt_status;
	pthread_mutex_unlock(&rt_lock);
	return st;
}

void tg_cl_reset_for_tests(void)
{
	pthread_mutex_lock(&rt_lock);
	tg_gemm_reset();
	while (programs) {
		struct program_entry *p = programs;
		programs = p->next;
		while (p->kernels) {
			struct kernel_entry *k = p->kernels;
			p->kernels = k->next;
			clReleaseKernel(k->kernel);
			free(k->name);
			free(k);
		}
		clReleaseProgram(p->program);
		free(p->file);
		free(p->options);
		free(p);
	}
	if (rt) {
		clFinish(rt->queue);
		clReleaseCommandQueue(rt->queue);
		clReleaseContext(rt->ctx);
		free(rt);
		rt = NULL;
	}
	rt_status = -1;
	pthread_mutex_unlock(&rt_lock);
}

/* ---- programs ---- */

struct strbuf {
	char *p;
	size_t n, cap;
	int failed;
};

static void sb_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct strbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static const char *embedded_source(const char *file)
{
	for (const struct tg_kernel_source *s = tg_kernel_sources; s->name; s++)
		if (strcmp(s->name, file) == 0)
			return s->source;
	return NULL;
}

/* Copies src into b with each line `#include "NAME"` whose NAME is an
 * embedded file (a kernels/ header shared with the host) replaced by that
 * file's text, and #line directives so that build logs still name the right
 * file and line. */
static void expand_includes(struct strbuf *b, const char *file, const char *src, int depth)
{
	unsigned line = 1;
	const char *s = src;
	while (*s) {
		const char *eol = strchr(s, '\n');
		size_t len = eol ? (size_t)(eol - s) + 1 : strlen(s);
		const char *q = s;
		while (*q == ' ' || *q == '\t')
			q++;
		const char *inc = NULL;
		size_t inc_len = 0;
		if (*q == '#') {
			q++;
			while (*q == ' ' || *q == '\t')
				q++;
			if (strncmp(q, "include", 7) == 0) {
				q += 7;
				while (*q == ' ' || *q == '\t')
					q++;
				if (*q == '"') {
					const char *end = strchr(q + 1, '"');
					if (end && (!eol || end < eol)) {
						inc = q + 1;
						inc_len = (size_t)(end - inc);
					}
				}
			}
		}
		const char *text = NULL;
		char name[256];
		if (inc && inc_len < sizeof name && depth < 8) {
			memcpy(name, inc, inc_len);
			name[inc_len] = 0;
			text = embedded_source(name);
		}
		if (text) {
			sb_printf(b, "#line 1 \"%s\"\n", name);
			expand_includes(b, name, text, depth + 1);
			sb_printf(b, "\n#line %u \"%s\"\n", line + 1, file);
		} else {
			sb_add(b, s, len);
		}
		s += len;
		line++;
	}
}

int tg_cl_program_from_source(tg_cl *cl, const char *name, const char *source,
                              const char *options, cl_program *out)
{
	*out = NULL;
	if (!cl)
		return tg_cl_fail(TG_CL_FAIL, "compiling %s: the OpenCL runtime is not initialised", name);
	struct strbuf src = { 0 }, opts = { 0 };
	expand_includes(&src, name, source, 0);
	sb_printf(&opts, "%s", TG_CL_DEFAULT_OPTIONS);
	/* Denormals flushed to zero in the kernels too (tomogan(7)
	 * TOMOGAN_DENORMALS; cli.c sets it for the host threads): PoCL sets
	 * its worker threads' FTZ and DAZ from this option at every launch,
	 * whatever the thread that made them had. */
	const char *keep = getenv("TOMOGAN_DENORMALS");
	if (!keep || strcmp(keep, "keep") != 0)
		sb_printf(&opts, " -cl-denorms-are-zero");
	if (options && *options) {
		sb_add(&opts, " ", 1);
		sb_add(&opts, options, strlen(options));
	}
	if (src.failed || opts.failed || !src.p) {
		free(src.p);
		free(opts.p);
		return tg_cl_fail(TG_CL_FAIL, "compiling %s: out of memory", name);
	}
	cl_int err;
	const char *text = src.p;
	cl_program prog = clCreateProgramWithSource(cl->ctx, 1, &text, NULL, &err);
	free(src.p);
	if (!prog || err != CL_SUCCESS) {
		free(opts.p);
		return tg_cl_fail(TG_CL_FAIL, "compiling %s: clCreateProgramWithSource: %s", name,
		                  tg_cl_errname(err));
	}
	char note[320];
	snprintf(note, sizeof note,
	         "compiling OpenCL kernels %s (first use on this device can take seconds)", name);
	tg_cl_note_begin(note);
	err = clBuildProgram(prog, 1, &cl->device, opts.p, NULL, NULL);
	tg_cl_note_end();
	if (err == CL_SUCCESS) {
		free(opts.p);
		*out = prog;
		return TG_CL_OK;
	}
	size_t log_size = 0;
	char *log = NULL;
	if (clGetProgramBuildInfo(prog, cl->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_size)
	        == CL_SUCCESS && log_size > 0 && (log = malloc(log_size + 1)) != NULL) {
		if (clGetProgramBuildInfo(prog, cl->device, CL_PROGRAM_BUILD_LOG, log_size, log, NULL)
		        != CL_SUCCESS)
			log[0] = 0;
		log[log_size] = 0;
	}
	int status = err == CL_BUILD_PROGRAM_FAILURE || err == CL_INVALID_BUILD_OPTIONS ||
	             err == CL_COMPILE_PROGRAM_FAILURE ? TG_CL_BUILD : TG_CL_FAIL;
	tg_progress_done();
	fprintf(stderr, "%s: OpenCL build log of %s (options \"%s\") on %s:\n%s%s", tg_prog(), name,
	        opts.p, cl->name, log && *log ? log : "(empty)\n",
	        log && *log && log[strlen(log) - 1] != '\n' ? "\n" : "");
	free(log);
	clReleaseProgram(prog);
	tg_cl_fail(status, "compiling OpenCL kernels %s: %s (build log above)", name,
	           tg_cl_errname(err));
	free(opts.p);
	return status;
}

static struct program_entry *program_locked(tg_cl *cl, const char *file, const char *options)
{
	for (struct program_entry *p = programs; p; p = p->next)
		if (strcmp(p->file, file) == 0 && strcmp(p->options, options) == 0)
			return p;
	const char *source = embedded_source(file);
	if (!source) {
		tg_cl_fail(TG_CL_FAIL, "no kernel file %s among the embedded kernels", file);
		return NULL;
	}
	struct program_entry *p = calloc(1, sizeof *p);
	if (p) {
		p->file = strdup(file);
		p->options = strdup(options);
	}
	if (!p || !p->file || !p->options) {
		if (p) {
			free(p->file);
			free(p->options);
		}
		free(p);
		tg_cl_fail(TG_CL_FAIL, "out of memory");
		return NULL;
	}
	if (tg_cl_program_from_source(cl, file, source, options, &p->program) != TG_CL_OK) {
		free(p->file);
		free(p->options);
		free(p);
		return NULL;
	}
	p->next = programs;
	programs = p;
	return p;
}

cl_kernel tg_cl_kernel(tg_cl *cl, const char *file, const char *kernel, const char *options)
{
	if (!cl || !file || !kernel) {
		tg_cl_fail(TG_CL_FAIL, "tg_cl_kernel: missing runtime, file or kernel name");
		return NULL;
	}
	if (!options)
		options = "";
	pthread_mutex_lock(&rt_lock);
	cl_kernel k = NULL;
	struct program_entry *p = program_locked(cl, file, options);
	if (p) {
		for (struct kernel_entry *e = p->kernels; e; e = e->next)
			if (strcmp(e->name, kernel) == 0) {
				k = e->kernel;
				break;
			}
	}
	if (p && !k) {
		cl_int err;
		k = clCreateKernel(p->program, kernel, &err);
		if (!k || err != CL_SUCCESS) {
			k = NULL;
			if (err == CL_INVALID_KERNEL_NAME)
				tg_cl_fail(TG_CL_FAIL, "no kernel %s in %s", kernel, file);
			else
				tg_cl_fail(TG_CL_FAIL, "creating kernel %s of %s: %s", kernel, file,
				           tg_cl_errname(err));
		} else {
			struct kernel_entry *e = calloc(1, sizeof *e);
			char *name = strdup(kernel);
			if (!e || !name) {
				free(e);
				free(name);
				clReleaseKernel(k);
				k = NULL;
				tg_cl_fail(TG_CL_FAIL, "out of memory");
			} else {
				e->name = name;
				e->kernel = k;
				e->next = p->kernels;
				p->kernels = e;
			}
		}
	}
	pthread_mutex_unlock(&rt_lock);
	return k;
}

/* ---- launching ---- */

static const char *kernel_name(cl_kernel k, char *buf, size_t size)
{
	if (clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, size - 1, buf, NULL) != CL_SUCCESS)
		snprintf(buf, size, "(unnamed)");
	buf[size - 1] = 0;
	return buf;
}

int tg_cl_run(tg_cl *cl, cl_kernel k, cl_uint dims, const size_t *global, const size_t *local)
{
	if (!cl || !k || !global || dims < 1 || dims > 3)
		return tg_cl_fail(TG_CL_FAIL, "tg_cl_run: missing runtime, kernel or range, "
		                  "or %u dimensions", (unsigned)dims);
	for (cl_uint d = 0; d < dims; d++)
		if (global[d] == 0)
			return TG_CL_OK;  /* an empty range has nothing to do */
	cl_event ev = NULL;
	cl_int err = clEnqueueNDRangeKernel(cl->queue, k, dims, NULL, global, local, 0, NULL,
	                                    timing_on ? &ev : NULL);
	char name[128];
	if (err != CL_SUCCESS) {
		char range[160];
		int n = 0;
		for (cl_uint d = 0; d < dims; d++)
			n += snprintf(range + n, sizeof range - (size_t)n, "%s%zu", d ? "x" : "", global[d]);
		if (local) {
			n += snprintf(range + n, sizeof range - (size_t)n, ", local ");
			for (cl_uint d = 0; d < dims; d++)
				n += snprintf(range + n, sizeof range - (size_t)n, "%s%zu", d ? "x" : "",
				              local[d]);
		}
		return tg_cl_fail(TG_CL_FAIL, "running kernel %s over %s: %s",
		                  kernel_name(k, name, sizeof name), range, tg_cl_errname(err));
	}
	if (timing_on) {
		cl_ulong t0 = 0, t1 = 0;
		err = clWaitForEvents(1, &ev);
		if (err == CL_SUCCESS)
			err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
		if (err == CL_SUCCESS)
			err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
		clReleaseEvent(ev);
		if (err != CL_SUCCESS)
			return tg_cl_fail(TG_CL_FAIL, "timing kernel %s: %s",
			                  kernel_name(k, name, sizeof name), tg_cl_errname(err));
		tg_cl_timing_add(kernel_name(k, name, sizeof name), t1 > t0 ? 1e-9 * (double)(t1 - t0) : 0);
	}
	return TG_CL_OK;
}

int tg_cl_args(cl_kernel k, ...)
{
	va_list ap;
	va_start(ap, k);
	int status = TG_CL_OK;
	for (cl_uint i = 0;; i++) {
		/* The terminator is often a plain int 0, which occupies a full
		 * argument slot on the ABIs we run on, with undefined upper bits:
		 * no real argument has a size whose low 32 bits are all zero. */
		size_t size = va_arg(ap, size_t);
		if ((size & 0xffffffffu) == 0)
			break;
		const void *value = va_arg(ap, const void *);
		cl_int err = clSetKernelArg(k, i, size, value);
		if (err != CL_SUCCESS) {
			char name[128];
			status = tg_cl_fail(TG_CL_FAIL, "setting argument %u (%zu bytes) of kernel %s: %s",
			                    (unsigned)i, size, kernel_name(k, name, sizeof name),
			                    tg_cl_errname(err));
			break;
		}
	}
	va_end(ap);
	return status;
}

/* ---- buffers ---- */

cl_mem tg_cl_alloc(tg_cl *cl, size_t bytes, const void *host)
{
	if (!cl) {
		tg_cl_fail(TG_CL_FAIL, "allocating a buffer: the OpenCL runtime is not initialised");
		return NULL;
	}
	if (bytes > cl->max_alloc) {
		tg_cl_fail(TG_CL_FAIL, "allocating %zu bytes: more than %s allows in one buffer (%llu)",
		           bytes, cl->name, (unsigned long long)cl->max_alloc);
		return NULL;
	}
	cl_int err;
	cl_mem_flags flags = CL_MEM_READ_WRITE;
	if (bytes == 0) {
		bytes = 16;  /* OpenCL has no empty buffers; an empty tensor still gets one */
		host = NULL;
	}
	if (host)
		flags |= CL_MEM_COPY_HOST_PTR;
	cl_mem m = clCreateBuffer(cl->ctx, flags, bytes, (void *)host, &err);
	if (!m || err != CL_SUCCESS) {
		tg_cl_fail(TG_CL_FAIL, "allocating %zu bytes on %s: %s", bytes, cl->name,
		           tg_cl_errname(err));
		return NULL;
	}
	return m;
}

int tg_cl_write(tg_cl *cl, cl_mem buf, size_t offset, size_t bytes, const void *src)
{
	if (bytes == 0)
		return TG_CL_OK;
	cl_int err = clEnqueueWriteBuffer(cl->queue, buf, CL_TRUE, offset, bytes, src, 0, NULL, NULL);
	if (err != CL_SUCCESS)
		return tg_cl_fail(TG_CL_FAIL, "writing %zu bytes at offset %zu to the device: %s", bytes,
		                  offset, tg_cl_errname(err));
	return TG_CL_OK;
}

int tg_cl_read(tg_cl *cl, cl_mem buf, size_t offset, size_t bytes, void *dst)
{
	if (bytes == 0)
		return TG_CL_OK;
	cl_int err = clEnqueueReadBuffer(cl->queue, buf, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
	if (err != CL_SUCCESS)
		return tg_cl_fail(TG_CL_FAIL, "reading %zu bytes at offset %zu from the device: %s",
		                  bytes, offset, tg_cl_errname(err));
	return TG_CL_OK;
}

int tg_cl_finish(tg_cl *cl)
{
	cl_int err = clFinish(cl->queue);
	if (err != CL_SUCCESS)
		return tg_cl_fail(TG_CL_FAIL, "waiting for the OpenCL queue: %s", tg_cl_errname(err));
	return TG_CL_OK;
}

/* ---- for programs ---- */

tg_cl *tg_clx_init(void)
{
	tg_cl *cl;
	if (tg_cl_init(&cl) != TG_CL_OK)
		tg_die(TG_EX_UNAVAILABLE, "%s", tg_cl_error());
	return cl;
}

cl_kernel tg_clx_kernel(tg_cl *cl, const char *file, const char *kernel, const char *options)
{
	cl_kernel k = tg_cl_kernel(cl, file, kernel, options);
	if (!k)
		tg_die(TG_EX_SOFTWARE, "%s", tg_cl_error());
	return k;
}

void tg_clx_check(int status)
{
	if (status != TG_CL_OK)
		tg_die(TG_EX_SOFTWARE, "%s", tg_cl_error());
}
