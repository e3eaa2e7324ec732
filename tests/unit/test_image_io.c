/* The image library (libstream/io/image.h): grey conversions, PNG and TIFF
 * round trips through the writers and readers, statuses of bad files, and
 * silence: libpng and libtiff must not print anything themselves. */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "io/image.h"

static char tmpdir[] = "/tmp/test_image_io.XXXXXX";

static const char *tmp_path(const char *name)
{
	static char buf[256];
	snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
	return buf;
}

static const char *fixture(const char *name)
{
	static char buf[512];
	const char *dir = getenv("FIXTURES");
	snprintf(buf, sizeof buf, "%s/img/%s", dir ? dir : "tests/fixtures", name);
	return buf;
}

static void test_gray(void)
{
	/* grey stays grey: the weights sum to 65536 */
	int ok = 1;
	for (int v = 0; v < 256; v++) {
		uint8_t px[3] = { (uint8_t)v, (uint8_t)v, (uint8_t)v }, out;
		tg_luma_u8(px, 3, 1, &out);
		ok &= out == v;
	}
	check(ok, "luma_u8_keeps_grey");
	ok = 1;
	for (uint32_t v = 0; v < 65536; v += 257) {
		uint16_t px[4] = { (uint16_t)v, (uint16_t)v, (uint16_t)v, 7 }, out;
		tg_luma_u16(px, 4, 1, &out);
		ok &= out == v;
	}
	check(ok, "luma_u16_keeps_grey");
	/* Pillow's convert("L") of pure red, green, blue and of an exact tie */
	uint8_t rgb[4 * 3] = { 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0 };
	uint8_t l[4];
	tg_luma_u8(rgb, 3, 4, l);
	check(l[0] == 76 && l[1] == 150 && l[2] == 29 && l[3] == 0,
	      "luma_u8_primaries (got %d %d %d %d, Pillow 76 150 29 0)", l[0], l[1], l[2], l[3]);
	/* BT.601 studio range: black 16, white 235; 16-bit white is 235 * 257 */
	uint8_t bw[6] = { 0, 0, 0, 255, 255, 255 };
	float y[2];
	tg_bt601_u8(bw, 3, 2, y);
	check(fabsf(y[0] - 16) < 1e-4f && fabsf(y[1] - 235) < 1e-4f, "bt601_u8_black_white (%g %g)", y[0], y[1]);
	uint16_t bw16[6] = { 0, 0, 0, 65535, 65535, 65535 };
	tg_bt601_u16(bw16, 3, 2, y);
	check(fabsf(y[0] - 16 * 257) < 1e-2f && fabsf(y[1] - 235 * 257) < 1e-2f,
	      "bt601_u16_black_white (%g %g)", y[0], y[1]);
}

/* Writes pix through the PNG writer and reads it back. */
static void test_png_round_trip(int bits, uint32_t w, uint32_t h)
{
	size_t n = (size_t)w * h, es = (size_t)bits / 8;
	uint8_t *pix = malloc(n * es), *back = malloc(n * es);
	for (size_t i = 0; i < n * es; i++)
		pix[i] = (uint8_t)(i * 7919u >> 3);
	const char *path = tmp_path("rt.png");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char err[256];
	tg_img_status st = tg_png_write_gray(fd, path, pix, w, h, bits, 1, err, sizeof err);
	close(fd);
	check(st == TG_IMG_OK, "png%d_write_%ux%u (%s)", bits, (unsigned)w, (unsigned)h, err);
	tg_img *f;
	st = tg_img_open(&f, path, NULL, NULL);
	const tg_img_info *p = tg_img_page(f);
	int ok = st == TG_IMG_OK && p->width == w && p->height == h && p->channels == 1 && p->bits == bits &&
	         p->sample == TG_IMG_UINT && !p->color && tg_img_page_bytes(p) == n * es;
	ok = ok && tg_img_read(f, back) == TG_IMG_OK && memcmp(pix, back, n * es) == 0;
	ok = ok && tg_img_next(f) == TG_IMG_END;
	check(ok, "png%d_round_trip_%ux%u (%s)", bits, (unsigned)w, (unsigned)h, tg_img_error(f));
	tg_img_close(f);
	free(pix);
	free(back);
}

static void test_tiff_round_trip(void)
{
	uint32_t w = 19, h = 11;
	size_t n = (size_t)w * h;
	float *v = malloc(n * 4), *back = malloc(n * 4);
	for (size_t i = 0; i < n; i++)
		v[i] = (float)sin((double)i) * 1e3f;
	v[0] = NAN;
	v[1] = INFINITY;
	v[2] = -0.0f;
	v[3] = 1e-40f;  /* subnormal */
	const char *path = tmp_path("rt.tif");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char err[256];
	tg_img_status st = tg_tiff_write_f32(fd, path, v, w, h, err, sizeof err);
	/* fd stays open and usable */
	check(st == TG_IMG_OK && fcntl(fd, F_GETFD) != -1, "tiff_write (%s)", err);
	close(fd);
	tg_img *f;
	st = tg_img_open(&f, path, NULL, NULL);
	const tg_img_info *p = tg_img_page(f);
	int ok = st == TG_IMG_OK && p->width == w && p->height == h && p->bits == 32 && p->sample == TG_IMG_FLOAT;
	ok = ok && tg_img_read(f, back) == TG_IMG_OK && memcmp(v, back, n * 4) == 0;
	check(ok, "tiff_f32_round_trip_bits (%s)", tg_img_error(f));
	tg_img_close(f);
	free(v);
	free(back);
}

static void on_warning(void *user, const char *path, const char *msg)
{
	(void)path;
	int *count = user;
	if (strchr(msg, '\n') == NULL)
		(*count)++;
}

/* Opens and reads every page; the status of the first failure. */
static tg_img_status read_all(const char *path, char *msg, size_t len)
{
	tg_img *f;
	tg_img_status st = tg_img_open(&f, path, NULL, NULL);
	void *buf = NULL;
	while (st == TG_IMG_OK) {
		buf = realloc(buf, (size_t)tg_img_page_bytes(tg_img_page(f)));
		st = tg_img_read(f, buf);
		if (st == TG_IMG_OK)
			st = tg_img_next(f);
	}
	snprintf(msg, len, "%s", tg_img_error(f));
	tg_img_close(f);
	free(buf);
	return st == TG_IMG_END ? TG_IMG_OK : st;
}

static void test_bad_files(void)
{
	/* everything libpng and libtiff might print goes to a file instead */
	char errpath[256];
	snprintf(errpath, sizeof errpath, "%s", tmp_path("stderr"));
	int saved = dup(2);
	int efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fflush(stderr);
	dup2(efd, 2);

	char msg[600];
	tg_img_status st_missing = read_all(tmp_path("nope.png"), msg, sizeof msg);
	tg_img_status st_text = read_all(fixture("notimage.png"), msg, sizeof msg);
	tg_img_status st_trunc_png = read_all(fixture("trunc.png"), msg, sizeof msg);
	int trunc_png_msg = msg[0] != 0 && strchr(msg, '\n') == NULL;
	tg_img_status st_bad_tif = read_all(fixture("bad.tif"), msg, sizeof msg);
	int bad_tif_msg = msg[0] != 0 && strchr(msg, '\n') == NULL;
	tg_img_status st_trunc_tif = read_all(fixture("trunc.tif"), msg, sizeof msg);
	tg_img_status st_good = read_all(fixture("t_multi.tif"), msg, sizeof msg);
	int warnings = 0;
	tg_img *f;
	tg_img_status st_warn = tg_img_open(&f, fixture("t_u8_unknown_tag.tif"), on_warning, &warnings);
	tg_img_close(f);

	/* a write that fails: /dev/full has no room */
	int full = open("/dev/full", O_WRONLY);
	uint8_t px[4] = { 1, 2, 3, 4 };
	char err[256] = "";
	tg_img_status st_full = full >= 0 ? tg_png_write_gray(full, "full.png", px, 2, 2, 8, 1, err, sizeof err)
	                                  : TG_IMG_ERR_IO;
	if (full >= 0)
		close(full);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(efd);
	struct stat sb;
	if (stat(errpath, &sb) != 0)
		sb.st_size = -1;

	check(st_missing == TG_IMG_ERR_OPEN && tg_img_exit_status(st_missing) == 66, "missing_file_is_open_error");
	check(st_text == TG_IMG_ERR_FORMAT && tg_img_exit_status(st_text) == 65, "text_is_format_error");
	check(st_trunc_png == TG_IMG_ERR_CORRUPT && trunc_png_msg, "truncated_png_is_corrupt");
	check(st_bad_tif == TG_IMG_ERR_CORRUPT && bad_tif_msg, "bad_tiff_is_corrupt");
	check(st_trunc_tif == TG_IMG_ERR_CORRUPT, "truncated_tiff_is_corrupt");
	check(st_good == TG_IMG_OK, "multipage_tiff_reads (%s)", msg);
	check(st_warn == TG_IMG_OK && warnings == 1, "tiff_warning_to_callback (%d)", warnings);
	check(st_full == TG_IMG_ERR_IO && strstr(err, "full.png: write failed") != NULL, "png_write_error (%s)", err);
	check(sb.st_size == 0, "libraries_print_nothing (%lld bytes on stderr)", (long long)sb.st_size);
	unlink(errpath);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		check(0, "mkdtemp");
		return check_finish();
	}
	test_gray();
	test_png_round_trip(8, 1, 1);
	test_png_round_trip(8, 17, 13);
	test_png_round_trip(16, 17, 13);
	test_png_round_trip(16, 300, 2);
	test_tiff_round_trip();
	test_bad_files();
	unlink(tmp_path("rt.png"));
	unlink(tmp_path("rt.tif"));
	rmdir(tmpdir);
	return check_finish();
}
