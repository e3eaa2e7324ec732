/* tsbench: helper of bench_stream.sh, built by it against build/libtomogan.a.
 *
 *   tsbench write N [LEVEL]   N frames of f32 2048x2048 to stdout
 *   tsbench read [N]          reads a stream from stdin, checks every frame
 *                             (the reader verifies the checksums; frame i
 *                             must start with the value i) and the count
 *   tsbench ct DIR [RAWDIR]   zstd level 1 on the 16-bit PNG slices of DIR
 *                             as u16, f32 (HU) and f32 (0..1); RAWDIR gets
 *                             the raw bytes of each for the zstd program
 *
 * Figures go to stdout, one "key value" per line for the script. */
#define _GNU_SOURCE  /* memfd_create */
#include <dirent.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tstream.h"

#define SIDE 2048

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *msg, const char *detail)
{
	fprintf(stderr, "tsbench: %s%s%s\n", msg, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

static int cmd_write(long n, int level)
{
	ts_header h;
	memset(&h, 0, sizeof h);
	ts_meta_init(&h.meta);
	ts_header_shape(&h, TS_F32, 2, (uint64_t[]){ SIDE, SIDE });
	ts_meta_set(&h.meta, "source", "tsbench");
	float *f = malloc(sizeof(float) * SIDE * SIDE);
	if (!f)
		die("out of memory", NULL);
	/* smooth values plus a little pattern: compressible, but not trivially */
	for (size_t i = 0; i < (size_t)SIDE * SIDE; i++)
		f[i] = (float)((i % 4093) * 0.25 + (double)(i / SIDE) * 0.01);
	ts_writer *w;
	ts_write_opts o = { level };
	ts_status st = ts_writer_open(&w, 1, "-", &h, &o);
	for (long i = 0; i < n && !st; i++) {
		f[0] = (float)i;
		st = ts_write_frame(w, f);
	}
	if (!st)
		st = ts_writer_finish(w);
	if (st)
		die(ts_writer_error(w), NULL);
	ts_writer_free(w);
	ts_header_free(&h);
	free(f);
	return 0;
}

static int cmd_read(long want)
{
	ts_reader *r;
	ts_status st = ts_reader_open(&r, 0, "-", 0);
	if (st)
		die(ts_reader_error(r), NULL);
	size_t fb = (size_t)ts_frame_bytes(ts_reader_header(r));
	float *f = malloc(fb);
	long n = 0, bad = 0;
	while ((st = ts_read_frame(r, f)) == TS_OK) {
		if (f[0] != (float)n)
			bad++;
		n++;
	}
	if (st != TS_END)
		die(ts_reader_error(r), NULL);
	if (bad || (want >= 0 && n != want)) {
		fprintf(stderr, "tsbench: read %ld frames (%ld wrong), wanted %ld\n", n, bad, want);
		return 1;
	}
	printf("frames %ld\nbytes %llu\n", n, (unsigned long long)n * fb);
	ts_reader_close(r);
	free(f);
	return 0;
}

/* ---- CT slices ---- */

static uint16_t *read_png16(const char *path, unsigned *w, unsigned *h)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	uint16_t *volatile img = NULL;
	png_bytep *volatile rows = NULL;
	if (!info || setjmp(png_jmpbuf(png))) {
		png_destroy_read_struct(&png, &info, NULL);
		free(img);
		free(rows);
		fclose(fp);
		return NULL;
	}
	png_init_io(png, fp);
	png_read_info(png, info);
	if (png_get_bit_depth(png, info) != 16 || png_get_color_type(png, info) != PNG_COLOR_TYPE_GRAY)
		png_error(png, "not 16-bit gray");
	png_set_swap(png);  /* PNG is big-endian; the stream little-endian */
	*w = png_get_image_width(png, info);
	*h = png_get_image_height(png, info);
	img = malloc((size_t)*w * *h * 2);
	rows = malloc(sizeof(png_bytep) * *h);
	if (!img || !rows)
		png_error(png, "out of memory");
	for (unsigned y = 0; y < *h; y++)
		rows[y] = (png_bytep)(img + (size_t)y * *w);
	png_read_image(png, rows);
	png_destroy_read_struct(&png, &info, NULL);
	free(rows);
	fclose(fp);
	return img;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compresses n frames of h (consecutive in data) at level into a memfd:
 * best time of 3, and the stream's size. */
static double write_time(const ts_header *h, const void *data, size_t n, int level, size_t *stream_bytes, int fd)
{
	size_t fb = (size_t)ts_frame_bytes(h);
	double best = 1e30;
	for (int rep = 0; rep < 3; rep++) {
		if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET))
			die("memfd", NULL);
		ts_writer *w;
		ts_write_opts o = { level };
		double t0 = now();
		ts_status st = ts_writer_open(&w, fd, "memfd", h, &o);
		for (size_t i = 0; i < n && !st; i++)
			st = ts_write_frame(w, (const char *)data + i * fb);
		if (!st)
			st = ts_writer_finish(w);
		double t = now() - t0;
		if (st)
			die(ts_writer_error(w), NULL);
		ts_writer_free(w);
		if (t < best)
			best = t;
	}
	struct stat sb;
	fstat(fd, &sb);
	*stream_bytes = (size_t)sb.st_size;
	return best;
}

/* Reads the memfd back, comparing every frame: best time of 3. */
static double read_time(const void *data, size_t n, size_t fb, int fd)
{
	double best = 1e30;
	void *buf = malloc(fb);
	for (int rep = 0; rep < 3; rep++) {
		lseek(fd, 0, SEEK_SET);
		ts_reader *r;
		double t0 = now();
		ts_status st = ts_reader_open(&r, fd, "memfd", 0);
		size_t got = 0;
		while (!st && (st = ts_read_frame(r, buf)) == TS_OK) {
			if (got >= n || memcmp(buf, (const char *)data + got * fb, fb) != 0)
				die("a frame read back differs", NULL);
			got++;
		}
		double t = now() - t0;
		if (st != TS_END || got != n)
			die("reading back failed", ts_reader_error(r));
		ts_reader_close(r);
		if (t < best)
			best = t;
	}
	free(buf);
	return best;
}

static int cmd_ct(const char *dir, const char *rawdir)
{
	DIR *d = opendir(dir);
	if (!d)
		die("cannot open", dir);
	char **names = NULL;
	size_t nn = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 4 && strcmp(e->d_name + l - 4, ".png") == 0) {
			names = realloc(names, sizeof *names * (nn + 1));
			names[nn++] = strdup(e->d_name);
		}
	}
	closedir(d);
	qsort(names, nn, sizeof *names, by_name);
	unsigned w0 = 0, h0 = 0;
	size_t n = 0;
	uint16_t *u16 = NULL;
	for (size_t i = 0; i < nn; i++) {
		char path[4096];
		unsigned w, h;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		uint16_t *img = read_png16(path, &w, &h);
		if (img && (n == 0 || (w == w0 && h == h0))) {
			w0 = w;
			h0 = h;
			u16 = realloc(u16, (size_t)(n + 1) * w * h * 2);
			memcpy(u16 + n * w * h, img, (size_t)w * h * 2);
			n++;
		}
		free(img);
		free(names[i]);
	}
	free(names);
	if (n == 0)
		die("no 16-bit gray PNG slices in", dir);
	size_t px = (size_t)w0 * h0;
	float *hu = malloc(n * px * 4), *unit = malloc(n * px * 4);
	for (size_t i = 0; i < n * px; i++) {
		hu[i] = (float)u16[i] - 1024.0f;          /* pixel = HU + 1024 */
		unit[i] = (float)u16[i] / 65535.0f;
	}
	printf("slices %zu\nwidth %u\nheight %u\n", n, w0, h0);
	struct { const char *name; ts_dtype t; const void *data; } sets[3] = {
		{ "u16", TS_U16, u16 }, { "f32_hu", TS_F32, hu }, { "f32_unit", TS_F32, unit },
	};
	int fd = memfd_create("tsbench", 0);
	if (fd < 0)
		die("memfd_create failed", NULL);
	for (int s = 0; s < 3; s++) {
		ts_header h;
		memset(&h, 0, sizeof h);
		ts_meta_init(&h.meta);
		ts_header_shape(&h, sets[s].t, 2, (uint64_t[]){ h0, w0 });
		size_t fb = (size_t)ts_frame_bytes(&h), raw = n * fb, sz0, sz1;
		double t0 = write_time(&h, sets[s].data, n, 0, &sz0, fd);
		double r0 = read_time(sets[s].data, n, fb, fd);
		double t1 = write_time(&h, sets[s].data, n, 1, &sz1, fd);
		double r1 = read_time(sets[s].data, n, fb, fd);
		printf("%s.raw_bytes %zu\n", sets[s].name, raw);
		printf("%s.level0_write_MBps %.0f\n%s.level0_read_MBps %.0f\n", sets[s].name, raw / t0 / 1e6,
		       sets[s].name, raw / r0 / 1e6);
		printf("%s.level1_write_MBps %.0f\n%s.level1_read_MBps %.0f\n", sets[s].name, raw / t1 / 1e6,
		       sets[s].name, raw / r1 / 1e6);
		printf("%s.level1_stream_bytes %zu\n%s.level1_ratio %.3f\n", sets[s].name, sz1, sets[s].name,
		       (double)raw / (double)sz1);
		if (rawdir) {
			char path[4096];
			snprintf(path, sizeof path, "%s/%s.raw", rawdir, sets[s].name);
			FILE *fp = fopen(path, "wb");
			if (!fp || fwrite(sets[s].data, 1, raw, fp) != raw || fclose(fp))
				die("cannot write", path);
		}
		ts_header_free(&h);
	}
	close(fd);
	free(u16);
	free(hu);
	free(unit);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "write") == 0)
		return cmd_write(strtol(argv[2], NULL, 10), argc > 3 ? (int)strtol(argv[3], NULL, 10) : 0);
	if (argc >= 2 && strcmp(argv[1], "read") == 0)
		return cmd_read(argc > 2 ? strtol(argv[2], NULL, 10) : -1);
	if (argc >= 3 && strcmp(argv[1], "ct") == 0)
		return cmd_ct(argv[2], argc > 3 ? argv[3] : NULL);
	fprintf(stderr, "usage: tsbench write N [LEVEL] | read [N] | ct DIR [RAWDIR]\n");
	return 64;
}
