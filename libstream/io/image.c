/* Image files: format detection, messages, grey conversion; see image.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"
#include "tstream.h"

/* Warnings passed on per file; libtiff can repeat one for every tag. */
#define MAX_WARNINGS 5

int tg_img_exit_status(tg_img_status st)
{
	switch (st) {
	case TG_IMG_OK: case TG_IMG_END: return 0;
	case TG_IMG_ERR_OPEN: return 66;
	case TG_IMG_ERR_IO: return 74;
	case TG_IMG_ERR_NOMEM: case TG_IMG_ERR_ARG: return 70;
	default: return 65;
	}
}

void tg_img_one_line(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '.'))
		s[--n] = 0;
}

tg_img_status tg_img_fail(tg_img *f, tg_img_status st, const char *fmt, ...)
{
	if (f->err[0] == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(f->err, sizeof f->err, fmt, ap);
		va_end(ap);
		tg_img_one_line(f->err);
	}
	return st;
}

void tg_img_clear_error(tg_img *f)
{
	f->err[0] = 0;
}

void tg_img_warning(tg_img *f, const char *msg)
{
	if (!f->warn || f->warnings > MAX_WARNINGS)
		return;
	f->warnings++;
	if (f->warnings > MAX_WARNINGS) {
		f->warn(f->user, f->path, "further warnings not shown");
		return;
	}
	char line[512];
	snprintf(line, sizeof line, "%s", msg);
	tg_img_one_line(line);
	f->warn(f->user, f->path, line);
}

tg_img_status tg_img_open(tg_img **out, const char *path, tg_img_warn_fn warn, void *user)
{
	*out = NULL;
	tg_img *f = calloc(1, sizeof *f);
	if (!f)
		return TG_IMG_ERR_NOMEM;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return TG_IMG_ERR_NOMEM;
	}
	f->warn = warn;
	f->user = user;
	*out = f;

	FILE *fp = fopen(path, "rb");
	if (!fp)
		return tg_img_fail(f, TG_IMG_ERR_OPEN, "%s", strerror(errno));
	unsigned char sig[8];
	size_t got = fread(sig, 1, sizeof sig, fp);
	int read_err = ferror(fp) ? errno : 0;
	fclose(fp);
	if (read_err)
		return tg_img_fail(f, TG_IMG_ERR_OPEN, "%s", strerror(read_err));

	static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
	if (got == 8 && memcmp(sig, png_sig, 8) == 0)
		f->be = &tg_img_png_backend;
	else if (got >= 4 && ((sig[0] == 'I' && sig[1] == 'I' && (sig[2] == 42 || sig[2] == 43) && sig[3] == 0) ||
	                      (sig[0] == 'M' && sig[1] == 'M' && sig[2] == 0 && (sig[3] == 42 || sig[3] == 43))))
		f->be = &tg_img_tiff_backend;
	else if (got == 0)
		return tg_img_fail(f, TG_IMG_ERR_FORMAT, "empty file, not an image");
	else
		return tg_img_fail(f, TG_IMG_ERR_FORMAT, "not a PNG or TIFF file");
	return f->be->open(f);
}

const tg_img_info *tg_img_page(const tg_img *f)
{
	return &f->info;
}

uint64_t tg_img_page_bytes(const tg_img_info *p)
{
	if (p->width == 0 || p->height == 0 || p->width > TS_MAX_DIM || p->height > TS_MAX_DIM ||
	    p->channels < 1 || p->channels > 4 || (p->bits != 8 && p->bits != 16 && p->bits != 32 && p->bits != 64))
		return 0;
	/* both dims <= 2^24, channels * bytes <= 32: no overflow in 64 bits */
	uint64_t n = (uint64_t)p->width * p->height * (uint64_t)p->channels * (uint64_t)(p->bits / 8);
	/* the decoded page may hold up to four channels of what becomes one
	 * frame, so allow four frames' worth */
	if (n > 4 * ts_max_frame_bytes())
		return 0;
	return n;
}

tg_img_status tg_img_read(tg_img *f, void *buf)
{
	if (!f->be)
		return TG_IMG_ERR_ARG;
	tg_img_clear_error(f);
	return f->be->read(f, buf);
}

tg_img_status tg_img_next(tg_img *f)
{
	if (!f->be)
		return TG_IMG_ERR_ARG;
	tg_img_clear_error(f);
	return f->be->next(f);
}

const char *tg_img_error(const tg_img *f)
{
	return f ? f->err : "out of memory";
}

void tg_img_close(tg_img *f)
{
	if (!f)
		return;
	if (f->be && f->state)
		f->be->close(f);
	free(f->path);
	free(f);
}

/* ---- grey from colour ---- */

void tg_luma_u8(const uint8_t *src, int channels, size_t n, uint8_t *dst)
{
	for (size_t i = 0; i < n; i++, src += channels)
		dst[i] = (uint8_t)((19595u * src[0] + 38470u * src[1] + 7471u * src[2] + 32768u) >> 16);
}

void tg_luma_u16(const uint16_t *src, int channels, size_t n, uint16_t *dst)
{
	for (size_t i = 0; i < n; i++, src += channels) {
		uint64_t s = 19595u * (uint64_t)src[0] + 38470u * (uint64_t)src[1] +
		             7471u * (uint64_t)src[2] + 32768u;
		dst[i] = (uint16_t)(s >> 16);
	}
}

void tg_bt601_u8(const uint8_t *src, int channels, size_t n, float *dst)
{
	for (size_t i = 0; i < n; i++, src += channels)
		dst[i] = (float)(16.0 + (65.481 * src[0] + 128.553 * src[1] + 24.966 * src[2]) / 255.0);
}

void tg_bt601_u16(const uint16_t *src, int channels, size_t n, float *dst)
{
	/* 257 * (16 + (65.481 R/257 + ...) / 255) */
	for (size_t i = 0; i < n; i++, src += channels)
		dst[i] = (float)(16.0 * 257.0 + (65.481 * src[0] + 128.553 * src[1] + 24.966 * src[2]) / 255.0);
}
