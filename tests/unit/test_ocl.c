#define _GNU_SOURCE   /* sched_setaffinity */
/* test_ocl: the OpenCL runtime of ocl.h on the default device (PoCL on a
 * machine without a GPU): device choice, the kernels of common.cl against
 * plain C, buffers, error names, build failures with their log, include
 * expansion, TOMOGAN_CL_TIMING, the exit status of tg_clx_init and the
 * pinning of PoCL's worker threads (POCL_AFFINITY).
 * Some checks run this program again as a child (argv[1] "--child ...")
 * so that a fresh process sees a changed environment. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "ocl.h"

/* ---- helpers ---- */

/* Runs `f` with stderr going to a temporary file; returns what it wrote
 * (malloc'd) and stores f's result in *result. */
static char *capture_stderr(int (*f)(void *), void *arg, int *result)
{
	fflush(stderr);
	FILE *tmp = tmpfile();
	int saved = dup(2);
	if (!tmp || saved < 0)
		return NULL;
	dup2(fileno(tmp), 2);
	*result = f(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	long n = ftell(tmp);
	if (n < 0)
		n = 0;
	char *text = calloc(1, (size_t)n + 1);
	rewind(tmp);
	if (text && fread(text, 1, (size_t)n, tmp) != (size_t)n)
		text[0] = 0;
	fclose(tmp);
	return text;
}

static const char *self_path = "/proc/self/exe";

/* Runs this program with argv[1..] = args and the environment changes
 * (NAME=VALUE sets, NAME alone unsets); returns its exit status (-1 if it
 * did not exit) and its stderr in *err (malloc'd). */
static int run_child(const char *const *args, const char *const *env, char **err)
{
	char path[] = "/tmp/test_ocl_stderr_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	pid_t pid = fork();
	if (pid == 0) {
		for (const char *const *e = env; *e; e++) {
			const char *eq = strchr(*e, '=');
			if (eq) {
				char name[64];
				snprintf(name, sizeof name, "%.*s", (int)(eq - *e), *e);
				setenv(name, eq + 1, 1);
			} else {
				unsetenv(*e);
			}
		}
		dup2(fd, 2);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		char *argv[8];
		int n = 0;
		argv[n++] = (char *)"test_ocl";
		for (const char *const *a = args; *a && n < 7; a++)
			argv[n++] = (char *)*a;
		argv[n] = NULL;
		execv(self_path, argv);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	off_t size = lseek(fd, 0, SEEK_END);
	*err = calloc(1, (size_t)(size > 0 ? size : 0) + 1);
	if (*err && size > 0 && pread(fd, *err, (size_t)size, 0) != size)
		(*err)[0] = 0;
	close(fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static float frand(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return (float)(*s >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* ---- child modes ---- */

/* tg_clx_init in a fresh process: exits 69 when there is no device. */
static int child_clx_init(int argc, char **argv)
{
	tg_init(argc, argv, "test_ocl", "test_ocl");
	tg_cl *cl = tg_clx_init();
	return cl ? 0 : 1;
}

/* Runs the fill kernel a few times under TOMOGAN_CL_TIMING; the table
 * comes out at exit. */
static int child_timing(void)
{
	tg_cl *cl;
	if (tg_cl_init(&cl) != TG_CL_OK)
		return 2;
	cl_kernel k = tg_cl_kernel(cl, "common.cl", "fill", NULL);
	cl_mem buf = tg_cl_alloc(cl, 1024 * sizeof(float), NULL);
	if (!k || !buf)
		return 3;
	cl_ulong off = 0, n = 1024;
	float v = 1;
	size_t global = 1024;
	for (int i = 0; i < 3; i++)
		if (tg_cl_args(k, sizeof buf, &buf, sizeof off, &off, sizeof n, &n, sizeof v, &v, 0) ||
		    tg_cl_run(cl, k, 1, &global, NULL))
			return 4;
	/* and one GEMM, timed by backend: 16 x 16 x 16 from the filled buffer */
	if (tg_gemm(cl, 0, 0, 16, 16, 16, 1, buf, 0, 16, buf, 256, 16, 0, buf, 512, 16))
		return 5;
	clReleaseMemObject(buf);
	return 0;
}

/* Threads of this process allowed on exactly one CPU, and a mask of
 * those CPUs (below 64). */
static int pinned_threads(uint64_t *cpus)
{
	*cpus = 0;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], line[256];
		snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof line, f)) {
			unsigned c;
			char rest[8];
			if (strncmp(line, "Cpus_allowed_list:", 18) == 0 &&
			    sscanf(line + 18, " %u%7s", &c, rest) == 1) {
				n++;
				if (c < 64)
					*cpus |= (uint64_t)1 << c;
			}
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Starts the runtime (argv "last": on the last CPU only) and runs a
 * kernel, then prints "POCL_AFFINITY=<value or unset> pinned=N cpus=MASK
 * pocl=0|1" to stderr. */
static int child_affinity(int last)
{
	if (last) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET((int)sysconf(_SC_NPROCESSORS_ONLN) - 1, &set);
		if (sched_setaffinity(0, sizeof set, &set) != 0)
			return 6;
	}
	tg_cl *cl;
	if (tg_cl_init(&cl) != TG_CL_OK)
		return 2;
	cl_kernel k = tg_cl_kernel(cl, "common.cl", "fill", NULL);
	cl_mem buf = tg_cl_alloc(cl, 4096 * sizeof(float), NULL);
	if (!k || !buf)
		return 3;
	cl_ulong off = 0, n = 4096;
	float v = 1;
	size_t global = 4096;
	if (tg_cl_args(k, sizeof buf, &buf, sizeof off, &off, sizeof n, &n, sizeof v, &v, 0) ||
	    tg_cl_run(cl, k, 1, &global, NULL) || tg_cl_finish(cl))
		return 4;
	char pname[256] = "";
	clGetPlatformInfo(cl->platform, CL_PLATFORM_NAME, sizeof pname, pname, NULL);
	uint64_t cpus;
	int pinned = pinned_threads(&cpus);
	const char *a = getenv("POCL_AFFINITY");
	fprintf(stderr, "POCL_AFFINITY=%s pinned=%d cpus=%llx pocl=%d\n", a ? a : "unset", pinned,
	        (unsigned long long)cpus, strstr(pname, "Portable Computing Language") != NULL);
	clReleaseMemObject(buf);
	return 0;
}

/* ---- tests ---- */

static void test_errnames(void)
{
	int ok = strcmp(tg_cl_errname(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES") == 0 &&
	         strcmp(tg_cl_errname(CL_SUCCESS), "CL_SUCCESS") == 0 &&
	         strcmp(tg_cl_errname(CL_INVALID_DEVICE_PARTITION_COUNT),
	                "CL_INVALID_DEVICE_PARTITION_COUNT") == 0 &&
	         strcmp(tg_cl_errname(-1001), "CL_PLATFORM_NOT_FOUND_KHR") == 0;
	check(ok, "errname: known codes by name");
	/* Every standard OpenCL 1.2 code: 0 to -19 and -30 to -68. */
	int missing = 0;
	for (int e = 0; e >= -68; e--) {
		if (e < -19 && e > -30)
			continue;
		if (strncmp(tg_cl_errname(e), "CL_", 3) != 0)
			missing++;
	}
	check(missing == 0, "errname: all CL 1.2 codes named (%d missing)", missing);
	check(strstr(tg_cl_errname(12345), "12345") != NULL, "errname: unknown code shows its value (%s)",
	      tg_cl_errname(12345));
}

static tg_cl *test_init(void)
{
	tg_cl *cl = NULL, *again = NULL;
	int st = tg_cl_init(&cl);
	if (!check(st == TG_CL_OK && cl, "init: %s", st ? tg_cl_error() : "device found"))
		return NULL;
	check(tg_cl_init(&again) == TG_CL_OK && again == cl, "init: second call returns the same runtime");
	check(cl->name[0] && cl->ctx && cl->queue && cl->max_wg > 0 && cl->max_alloc > 0 &&
	      cl->global_mem >= cl->max_alloc, "init: device %s (cpu %d, max wg %zu, %.1f GiB)",
	      cl->name, cl->is_cpu, cl->max_wg, (double)cl->global_mem / (1 << 30));

	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	st = tg_cl_list_devices(mem);
	fclose(mem);
	/* The selected device's line: "* P:D  type ... name (platform)". */
	const char *star = text ? strstr(text, "* ") : NULL;
	int marked = star && (star == text || star[-1] == '\n') && strstr(star, cl->name) &&
	             strstr(text, "CU") && strstr(text, "GiB");
	check(st == TG_CL_OK && marked, "list devices: selected one marked with '*'");
	free(text);
	return cl;
}

static void test_buffers(tg_cl *cl)
{
	enum { N = 1000 };
	float host[N], back[N];
	uint32_t seed = 1;
	for (int i = 0; i < N; i++)
		host[i] = frand(&seed);
	cl_mem buf = tg_cl_alloc(cl, sizeof host, host);
	int ok = buf && tg_cl_read(cl, buf, 0, sizeof back, back) == TG_CL_OK &&
	         memcmp(host, back, sizeof host) == 0;
	check(ok, "buffer: initial contents read back unchanged");
	float part[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	ok = buf && tg_cl_write(cl, buf, 100 * sizeof(float), sizeof part, part) == TG_CL_OK &&
	     tg_cl_read(cl, buf, 0, sizeof back, back) == TG_CL_OK &&
	     memcmp(back + 100, part, sizeof part) == 0 && memcmp(back, host, 100 * sizeof(float)) == 0 &&
	     memcmp(back + 110, host + 110, (N - 110) * sizeof(float)) == 0;
	check(ok, "buffer: write at an offset changes only those bytes");
	int st = buf ? tg_cl_read(cl, buf, sizeof host - 4, 8, back) : TG_CL_OK;
	check(st == TG_CL_FAIL && strstr(tg_cl_error(), "CL_INVALID_VALUE"),
	      "buffer: read past the end fails with a named error (%s)", tg_cl_error());
	if (buf)
		clReleaseMemObject(buf);
	cl_mem empty = tg_cl_alloc(cl, 0, NULL);
	check(empty != NULL, "buffer: zero bytes gives a buffer");
	if (empty)
		clReleaseMemObject(empty);
	cl_mem huge = tg_cl_alloc(cl, (size_t)cl->max_alloc + 1, NULL);
	check(!huge && strstr(tg_cl_error(), "allocating"), "buffer: over the device limit refused (%s)",
	      tg_cl_error());
}

/* fill, copy, scale, axpby and scale_matrix against plain C. */
static void test_common_kernels(tg_cl *cl)
{
	enum { N = 1001, ROWS = 7, COLS = 9, LD = 12 };
	static float x[N], y[N], ref[N], out[N];
	uint32_t seed = 7;
	for (int i = 0; i < N; i++) {
		x[i] = frand(&seed);
		y[i] = frand(&seed);
	}
	cl_mem bx = tg_cl_alloc(cl, sizeof x, x), by = tg_cl_alloc(cl, sizeof y, y);
	cl_kernel fill = tg_cl_kernel(cl, "common.cl", "fill", NULL);
	cl_kernel copy = tg_cl_kernel(cl, "common.cl", "copy", NULL);
	cl_kernel scale = tg_cl_kernel(cl, "common.cl", "scale", NULL);
	cl_kernel axpby = tg_cl_kernel(cl, "common.cl", "axpby", NULL);
	cl_kernel smat = tg_cl_kernel(cl, "common.cl", "scale_matrix", NULL);
	if (!check(bx && by && fill && copy && scale && axpby && smat, "kernels: common.cl built%s%s",
	           bx && by && fill && copy && scale && axpby && smat ? "" : ": ",
	           bx && by && fill && copy && scale && axpby && smat ? "" : tg_cl_error()))
		return;
	check(tg_cl_kernel(cl, "common.cl", "fill", "") == fill,
	      "kernels: same file, kernel and options give the cached kernel");
	cl_kernel fill_opt = tg_cl_kernel(cl, "common.cl", "fill", "-DUNUSED_OPTION=1");
	check(fill_opt && fill_opt != fill, "kernels: other options give another program");

	/* fill 500 values from offset 300 with 2.5 */
	cl_ulong off = 300, n = 500;
	float v = 2.5f;
	size_t global = 512;  /* rounded up: the kernel checks its range */
	int st = tg_cl_args(fill, sizeof(cl_mem), &by, sizeof off, &off, sizeof n, &n, sizeof v, &v, 0);
	st = st ? st : tg_cl_run(cl, fill, 1, &global, NULL);
	st = st ? st : tg_cl_read(cl, by, 0, sizeof out, out);
	memcpy(ref, y, sizeof y);
	for (int i = 300; i < 800; i++)
		ref[i] = 2.5f;
	check(st == TG_CL_OK && memcmp(out, ref, sizeof ref) == 0, "kernel fill: exact, range only");

	/* copy x[10..410) to y[500..900) */
	cl_ulong soff = 10, doff = 500, cn = 400;
	global = 400;
	st = tg_cl_args(copy, sizeof(cl_mem), &bx, sizeof soff, &soff, sizeof(cl_mem), &by,
	                sizeof doff, &doff, sizeof cn, &cn, 0);
	st = st ? st : tg_cl_run(cl, copy, 1, &global, NULL);
	st = st ? st : tg_cl_read(cl, by, 0, sizeof out, out);
	memcpy(ref + 500, x + 10, 400 * sizeof(float));
	check(st == TG_CL_OK && memcmp(out, ref, sizeof ref) == 0, "kernel copy: exact");

	/* scale x[0..N) by -1.5: a product of floats, exact in both */
	cl_ulong z = 0, all = N;
	float a = -1.5f;
	global = N;
	st = tg_cl_args(scale, sizeof(cl_mem), &bx, sizeof z, &z, sizeof all, &all, sizeof a, &a, 0);
	st = st ? st : tg_cl_run(cl, scale, 1, &global, NULL);
	st = st ? st : tg_cl_read(cl, bx, 0, sizeof out, out);
	float xs[N];
	for (int i = 0; i < N; i++)
		xs[i] = -1.5f * x[i];
	check(st == TG_CL_OK && check_max_abs(out, xs, N) == 0, "kernel scale: exact");

	/* y = 0.25 x + 3 y; tolerance 1e-6 relative (the device may fuse the
	 * multiply-add, which rounds once instead of twice) */
	float aa = 0.25f, bb = 3.0f;
	st = tg_cl_args(axpby, sizeof all, &all, sizeof aa, &aa, sizeof(cl_mem), &bx, sizeof z, &z,
	                sizeof bb, &bb, sizeof(cl_mem), &by, sizeof z, &z, 0);
	st = st ? st : tg_cl_run(cl, axpby, 1, &global, NULL);
	st = st ? st : tg_cl_read(cl, by, 0, sizeof out, out);
	for (int i = 0; i < N; i++)
		ref[i] = (float)(0.25 * (double)xs[i] + 3.0 * (double)ref[i]);
	double err = check_max_rel(out, ref, N, 1e-3);
	check(st == TG_CL_OK && err <= 1e-6, "kernel axpby: max rel err %.2g <= 1e-6", err);

	/* b = 0 never reads y: NaN there must not survive */
	float nan = NAN, zero = 0;
	cl_ulong eight = 8;
	global = 8;
	st = tg_cl_args(fill, sizeof(cl_mem), &by, sizeof z, &z, sizeof eight, &eight, sizeof nan, &nan, 0);
	st = st ? st : tg_cl_run(cl, fill, 1, &global, NULL);
	st = st ? st : tg_cl_args(axpby, sizeof eight, &eight, sizeof aa, &aa, sizeof(cl_mem), &bx,
	                          sizeof z, &z, sizeof zero, &zero, sizeof(cl_mem), &by, sizeof z, &z, 0);
	st = st ? st : tg_cl_run(cl, axpby, 1, &global, NULL);
	st = st ? st : tg_cl_read(cl, by, 0, 8 * sizeof(float), out);
	int finite = 1;
	for (int i = 0; i < 8; i++)
		finite &= out[i] == 0.25f * xs[i];
	check(st == TG_CL_OK && finite, "kernel axpby: b = 0 ignores NaN in y");

	/* scale_matrix on a 7 x 9 window with ld 12 from offset 5: the gaps
	 * between rows stay as they were */
	cl_ulong moff = 5, ld = LD, rows = ROWS, cols = COLS;
	float ms = 0.5f;
	size_t g2[2] = { COLS, ROWS };
	st = tg_cl_write(cl, bx, 0, sizeof x, x);
	st = st ? st : tg_cl_args(smat, sizeof(cl_mem), &bx, sizeof moff, &moff, sizeof ld, &ld,
	                          sizeof rows, &rows, sizeof cols, &cols, sizeof ms, &ms, 0);
	st = st ? st : tg_cl_run(cl, smat, 2, g2, NULL);
	st = st ? st : tg_cl_read(cl, bx, 0, sizeof out, out);
	memcpy(ref, x, sizeof x);
	for (int r = 0; r < ROWS; r++)
		for (int c = 0; c < COLS; c++)
			ref[5 + r * LD + c] *= 0.5f;
	check(st == TG_CL_OK && memcmp(out, ref, sizeof ref) == 0, "kernel scale_matrix: exact, gaps kept");

	/* launches that cannot work say why and name the kernel */
	size_t zero_range = 0;
	check(tg_cl_run(cl, fill, 1, &zero_range, NULL) == TG_CL_OK, "run: empty range does nothing");
	size_t g = 64, l = cl->max_wg * 2;
	st = tg_cl_run(cl, fill, 1, &g, &l);
	check(st == TG_CL_FAIL && strstr(tg_cl_error(), "running kernel fill over 64, local") &&
	      strstr(tg_cl_error(), "CL_INVALID"), "run: bad work-group size named (%s)", tg_cl_error());
	check(tg_cl_args(fill, sizeof(float), &v, 0) == TG_CL_FAIL &&
	      strstr(tg_cl_error(), "argument 0") && strstr(tg_cl_error(), "CL_INVALID_ARG"),
	      "args: wrong size named (%s)", tg_cl_error());
	check(!tg_cl_kernel(cl, "common.cl", "no_such_kernel", NULL) &&
	      strstr(tg_cl_error(), "no kernel no_such_kernel in common.cl"),
	      "kernel: unknown name (%s)", tg_cl_error());
	check(!tg_cl_kernel(cl, "no_such_file.cl", "fill", NULL) &&
	      strstr(tg_cl_error(), "no_such_file.cl"), "kernel: unknown file (%s)", tg_cl_error());
	clReleaseMemObject(bx);
	clReleaseMemObject(by);
}

struct build_job {
	tg_cl *cl;
	const char *name, *source;
	cl_program prog;
};

static int build_job_run(void *arg)
{
	struct build_job *j = arg;
	return tg_cl_program_from_source(j->cl, j->name, j->source, NULL, &j->prog);
}

static void test_build(tg_cl *cl)
{
	/* A syntax error on line 3, after an included file: the log must name
	 * line 3 of broken.cl (the #line directives of include expansion). */
	struct build_job j = { cl, "broken.cl",
		"#include \"common.cl\"\n"
		"\n"
		"__kernel void broken(__global float *x) { x[0] = undefined_thing_42; }\n", NULL };
	int st = 0;
	char *log = capture_stderr(build_job_run, &j, &st);
	check(st == TG_CL_BUILD && !j.prog, "build: broken program gives TG_CL_BUILD (%s)", tg_cl_error());
	check(log && strstr(log, "undefined_thing_42") && strstr(log, "build log of broken.cl"),
	      "build: log printed on stderr");
	check(log && strstr(log, "broken.cl:3:"), "build: log names the line of the broken file");
	check(strstr(tg_cl_error(), "broken.cl") && strstr(tg_cl_error(), "CL_BUILD_PROGRAM_FAILURE"),
	      "build: message names file and error");
	free(log);

	/* The same include, compiling: the included kernels are in it. */
	struct build_job ok = { cl, "with_include.cl",
		"#include \"common.cl\"\n"
		"__kernel void twice(__global float *x) { x[get_global_id(0)] *= 2.0f; }\n", NULL };
	log = capture_stderr(build_job_run, &ok, &st);
	cl_int err = CL_INVALID_PROGRAM;
	cl_kernel k = NULL;
	if (ok.prog) {
		k = clCreateKernel(ok.prog, "fill", &err);
		if (k)
			clReleaseKernel(k);
		clReleaseProgram(ok.prog);
	}
	check(st == TG_CL_OK && err == CL_SUCCESS, "build: #include of an embedded file expands");
	check(log && log[0] == 0, "build: a successful build writes nothing on stderr (%s)", log ? log : "");
	free(log);
}

static void test_device_choice(const char *name)
{
	tg_cl *cl;
	setenv("TOMOGAN_DEVICE", "no-such-device-xyz", 1);
	tg_cl_reset_for_tests();
	int st = tg_cl_init(&cl);
	check(st == TG_CL_NO_PLATFORM && !cl && strstr(tg_cl_error(), "TOMOGAN_DEVICE=\"no-such-device-xyz\""),
	      "device: unknown name gives TG_CL_NO_PLATFORM (%s)", tg_cl_error());
	st = tg_cl_init(&cl);
	check(st == TG_CL_NO_PLATFORM && strstr(tg_cl_error(), "no-such-device-xyz"),
	      "device: the failure is remembered");

	setenv("TOMOGAN_DEVICE", "99:0", 1);
	tg_cl_reset_for_tests();
	check(tg_cl_init(&cl) == TG_CL_NO_PLATFORM, "device: 99:0 does not exist");

	setenv("TOMOGAN_DEVICE", "0:0", 1);
	tg_cl_reset_for_tests();
	st = tg_cl_init(&cl);
	check(st == TG_CL_OK, "device: 0:0 selected (%s)", st ? tg_cl_error() : cl->name);

	/* part of the name in other case */
	char part[6] = { 0 };
	for (int i = 0; i < 5 && name[i]; i++)
		part[i] = (char)(islower((unsigned char)name[i]) ? toupper((unsigned char)name[i])
		                                                   : tolower((unsigned char)name[i]));
	setenv("TOMOGAN_DEVICE", part, 1);
	tg_cl_reset_for_tests();
	st = tg_cl_init(&cl);
	check(st == TG_CL_OK && strcmp(cl->name, name) == 0, "device: by name \"%s\"", part);

	/* "cpu" and "gpu": a device of that kind, or none */
	setenv("TOMOGAN_DEVICE", "CPU", 1);
	tg_cl_reset_for_tests();
	st = tg_cl_init(&cl);
	check((st == TG_CL_OK && cl->is_cpu) || st == TG_CL_NO_PLATFORM, "device: cpu");
	setenv("TOMOGAN_DEVICE", "gpu", 1);
	tg_cl_reset_for_tests();
	st = tg_cl_init(&cl);
	check((st == TG_CL_OK && !cl->is_cpu) || st == TG_CL_NO_PLATFORM, "device: gpu (%s)",
	      st ? "none" : cl->name);
	unsetenv("TOMOGAN_DEVICE");
	tg_cl_reset_for_tests();
	check(tg_cl_init(&cl) == TG_CL_OK, "device: default again after reset");
}

static void test_children(void)
{
	char *err = NULL;
	const char *clx[] = { "--child", "clx", NULL };
	const char *bogus[] = { "TOMOGAN_DEVICE=no-such-device-xyz", NULL };
	int rc = run_child(clx, bogus, &err);
	check(rc == 69 && err && strstr(err, "test_ocl: no OpenCL device matches") == err &&
	      strchr(err, '\n') == err + strlen(err) - 1,
	      "clx_init: unknown device exits 69 with one line (%d: %.*s)", rc,
	      err ? (int)strcspn(err, "\n") : 0, err ? err : "");
	free(err);

	/* No platform at all: an empty vendors directory for the ICD loader. */
	char dir[] = "/tmp/test_ocl_vendors_XXXXXX";
	if (mkdtemp(dir)) {
		char env1[64];
		snprintf(env1, sizeof env1, "OCL_ICD_VENDORS=%s", dir);
		const char *none[] = { env1, "OCL_ICD_FILENAMES", "TOMOGAN_DEVICE", NULL };
		rc = run_child(clx, none, &err);
		check(rc == 69 && err && strcmp(err, "test_ocl: no OpenCL platform found: install an OpenCL "
		                                 "driver (pocl-opencl-icd on machines without a GPU)\n") == 0,
		      "clx_init: no platform exits 69 with the install hint (%d: %.*s)", rc,
		      err ? (int)strcspn(err, "\n") : 0, err ? err : "");
		free(err);
		rmdir(dir);
	}

	const char *timing[] = { "--child", "timing", NULL };
	const char *on[] = { "TOMOGAN_CL_TIMING=1", "TOMOGAN_DEVICE", NULL };
	rc = run_child(timing, on, &err);
	/* the row of fill: "fill   3   total ms ..." */
	const char *row = err ? strstr(err, "\nfill ") : NULL;
	unsigned long calls = 0;
	if (row)
		sscanf(row + 6, "%lu", &calls);
	check(rc == 0 && err && strstr(err, "kernel") && strstr(err, "calls") && calls == 3,
	      "timing: table at exit counts 3 calls of fill (%d)", rc);
	check(err && strstr(err, "\nsgemm ("), "timing: GEMM has its row");
	free(err);
	const char *off[] = { "TOMOGAN_CL_TIMING", "TOMOGAN_DEVICE", NULL };
	rc = run_child(timing, off, &err);
	check(rc == 0 && err && err[0] == 0, "timing: silent when unset");
	free(err);
}

/* PoCL's workers are pinned one per CPU (ocl.c's pin_pocl_workers) when
 * POCL_AFFINITY is unset and the process may use every CPU; a value the
 * user set stays, and a process kept to fewer CPUs is not pinned. */
static void test_affinity(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char *err = NULL, a[32] = "";
	int pinned = -1, pocl = 0;
	unsigned long long cpus = 0;
	const char *args[] = { "--child", "affinity", NULL };
	const char *unset[] = { "POCL_AFFINITY", "TOMOGAN_DEVICE", NULL };
	int rc = run_child(args, unset, &err);
	int got = err ? sscanf(err, "POCL_AFFINITY=%31s pinned=%d cpus=%llx pocl=%d", a, &pinned,
	                       &cpus, &pocl) : 0;
	int all = ncpu >= 1 && ncpu < 64;
	cpu_set_t mine;
	CPU_ZERO(&mine);
	if (sched_getaffinity(0, sizeof mine, &mine) != 0 || CPU_COUNT(&mine) != ncpu)
		all = 0;
	if (!all) {
		printf("SKIP affinity: this process may not use every CPU\n");
		free(err);
		return;
	}
	check(rc == 0 && got == 4 && strcmp(a, "1") == 0,
	      "affinity: POCL_AFFINITY=1 when unset and all %ld CPUs are allowed (%d: %.*s)", ncpu,
	      rc, err ? (int)strcspn(err, "\n") : 0, err ? err : "");
	if (pocl && ncpu >= 2)
		check(pinned >= ncpu && cpus == (ncpu == 64 ? ~0ull : (1ull << ncpu) - 1),
		      "affinity: PoCL's workers pinned, one to each of the %ld CPUs (%d threads, "
		      "mask %llx)", ncpu, pinned, cpus);
	free(err);

	const char *zero[] = { "POCL_AFFINITY=0", "TOMOGAN_DEVICE", NULL };
	rc = run_child(args, zero, &err);
	got = err ? sscanf(err, "POCL_AFFINITY=%31s pinned=%d cpus=%llx pocl=%d", a, &pinned, &cpus,
	                   &pocl) : 0;
	check(rc == 0 && got == 4 && strcmp(a, "0") == 0 && pinned == 0,
	      "affinity: the user's POCL_AFFINITY=0 stays and no thread is pinned (%d, %d pinned)",
	      rc, pinned);
	free(err);

	if (ncpu >= 2) {
		const char *last[] = { "--child", "affinity", "last", NULL };
		rc = run_child(last, unset, &err);
		got = err ? sscanf(err, "POCL_AFFINITY=%31s pinned=%d cpus=%llx pocl=%d", a, &pinned,
		                   &cpus, &pocl) : 0;
		/* every thread then has the one CPU: pinned counts them all */
		check(rc == 0 && got == 4 && strcmp(a, "unset") == 0 &&
		      cpus == 1ull << (ncpu - 1),
		      "affinity: a process kept to CPU %ld runs, POCL_AFFINITY left unset (%d: %.*s)",
		      ncpu - 1, rc, err ? (int)strcspn(err, "\n") : 0, err ? err : "");
		free(err);
	}
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--child") == 0) {
		if (strcmp(argv[2], "clx") == 0)
			return child_clx_init(argc, argv);
		if (strcmp(argv[2], "timing") == 0)
			return child_timing();
		if (strcmp(argv[2], "affinity") == 0)
			return child_affinity(argc >= 4 && strcmp(argv[3], "last") == 0);
		return 64;
	}
	unsetenv("TOMOGAN_DEVICE");
	unsetenv("TOMOGAN_CL_TIMING");
	test_errnames();
	tg_cl *cl = test_init();
	if (!cl)
		return check_finish();
	char name[256];
	snprintf(name, sizeof name, "%s", cl->name);
	test_buffers(cl);
	test_common_kernels(cl);
	test_build(cl);
	test_device_choice(name);
	test_children();
	test_affinity();
	return check_finish();
}
