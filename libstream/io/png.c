/* PNG reading and writing with libpng; see image.h.
 *
 * libpng reports errors by calling our handler, which records the message
 * and jumps back to the setjmp in the function that called into libpng.
 * Those functions keep nothing in local variables that changes after the
 * setjmp, so nothing is clobbered by the jump. */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image_internal.h"

struct png_state {
	FILE *fp;
	png_structp png;
	png_infop info;
	int done;         /* the image has been read (or reading failed) */
};

static int host_little_endian(void)
{
	const uint16_t one = 1;
	return *(const uint8_t *)&one == 1;
}

static void on_error(png_structp png, png_const_charp msg)
{
	tg_img *f = png_get_error_ptr(png);
	tg_img_fail(f, TG_IMG_ERR_CORRUPT, "%s", msg);
	png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
	tg_img *f = png_get_error_ptr(png);
	tg_img_warning(f, msg);
}

/* Reads the header and sets the transforms; libpng errors jump here. */
static tg_img_status read_header(tg_img *f, struct png_state *s)
{
	if (setjmp(png_jmpbuf(s->png)))
		return TG_IMG_ERR_CORRUPT;
	png_init_io(s->png, s->fp);
	png_read_info(s->png, s->info);
	int color_type = png_get_color_type(s->png, s->info);
	int depth = png_get_bit_depth(s->png, s->info);
	int gray_palette = 0;
	if (color_type == PNG_COLOR_TYPE_PALETTE) {
		png_colorp pal;
		int npal = 0;
		if (png_get_PLTE(s->png, s->info, &pal, &npal) == PNG_INFO_PLTE) {
			gray_palette = 1;
			for (int i = 0; i < npal; i++)
				if (pal[i].red != pal[i].green || pal[i].red != pal[i].blue)
					gray_palette = 0;
		}
		png_set_palette_to_rgb(s->png);
	}
	if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(s->png);
	if (depth == 16 && host_little_endian())
		png_set_swap(s->png);
	(void)png_set_interlace_handling(s->png);
	png_read_update_info(s->png, s->info);

	tg_img_info *p = &f->info;
	p->format = TG_IMG_PNG;
	p->width = png_get_image_width(s->png, s->info);
	p->height = png_get_image_height(s->png, s->info);
	p->channels = png_get_channels(s->png, s->info);
	p->bits = png_get_bit_depth(s->png, s->info);
	p->sample = TG_IMG_UINT;
	p->palette = color_type == PNG_COLOR_TYPE_PALETTE;
	p->color = p->channels >= 3 && !gray_palette;
	p->page = 0;
	if (p->bits != 8 && p->bits != 16)
		return tg_img_fail(f, TG_IMG_ERR_UNSUPPORTED, "%d-bit samples after expansion", p->bits);
	if (png_get_rowbytes(s->png, s->info) != (size_t)p->width * (size_t)p->channels * (size_t)(p->bits / 8))
		return tg_img_fail(f, TG_IMG_ERR_UNSUPPORTED, "unexpected row size");
	if (tg_img_page_bytes(p) == 0)
		return tg_img_fail(f, TG_IMG_ERR_LIMIT, "%ux%u image beyond the size limit",
		                   (unsigned)p->width, (unsigned)p->height);
	return TG_IMG_OK;
}

static tg_img_status png_open(tg_img *f)
{
	struct png_state *s = calloc(1, sizeof *s);
	if (!s)
		return tg_img_fail(f, TG_IMG_ERR_NOMEM, "out of memory");
	f->state = s;
	s->fp = fopen(f->path, "rb");
	if (!s->fp)
		return tg_img_fail(f, TG_IMG_ERR_OPEN, "%s", strerror(errno));
	s->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, f, on_error, on_warning);
	if (!s->png)
		return tg_img_fail(f, TG_IMG_ERR_NOMEM, "out of memory");
	s->info = png_create_info_struct(s->png);
	if (!s->info)
		return tg_img_fail(f, TG_IMG_ERR_NOMEM, "out of memory");
	tg_img_status st = read_header(f, s);
	if (st)
		s->done = 1;
	return st;
}

static tg_img_status read_rows(struct png_state *s, png_bytepp rows)
{
	if (setjmp(png_jmpbuf(s->png)))
		return TG_IMG_ERR_CORRUPT;
	png_read_image(s->png, rows);
	png_read_end(s->png, NULL);
	return TG_IMG_OK;
}

static tg_img_status png_read(tg_img *f, void *buf)
{
	struct png_state *s = f->state;
	if (s->done)
		return tg_img_fail(f, TG_IMG_ERR_ARG, "image already read");
	s->done = 1;
	size_t h = f->info.height;
	size_t rowbytes = (size_t)f->info.width * (size_t)f->info.channels * (size_t)(f->info.bits / 8);
	png_bytepp rows = malloc(h * sizeof *rows);
	if (!rows)
		return tg_img_fail(f, TG_IMG_ERR_NOMEM, "out of memory");
	for (size_t y = 0; y < h; y++)
		rows[y] = (png_bytep)buf + y * rowbytes;
	tg_img_status st = read_rows(s, rows);
	free(rows);
	if (st == TG_IMG_OK && ferror(s->fp))
		st = tg_img_fail(f, TG_IMG_ERR_CORRUPT, "read error");
	return st;
}

static tg_img_status png_next(tg_img *f)
{
	(void)f;
	return TG_IMG_END;
}

static void png_close(tg_img *f)
{
	struct png_state *s = f->state;
	if (s->png)
		png_destroy_read_struct(&s->png, s->info ? &s->info : NULL, NULL);
	if (s->fp)
		fclose(s->fp);
	free(s);
	f->state = NULL;
}

const struct tg_img_backend tg_img_png_backend = { png_open, png_read, png_next, png_close };

/* ---- writing ---- */

struct png_wctx {
	int fd;
	int werrno;       /* errno of a failed write, 0 if none */
	char *err;
	size_t errlen;
};

static void on_write_error(png_structp png, png_const_charp msg)
{
	struct png_wctx *c = png_get_error_ptr(png);
	if (c->err[0] == 0)
		snprintf(c->err, c->errlen, "%s", msg);
	png_longjmp(png, 1);
}

static void on_write_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;  /* nothing we write can draw a warning worth showing */
}

static void write_bytes(png_structp png, png_bytep data, size_t len)
{
	struct png_wctx *c = png_get_io_ptr(png);
	while (len > 0) {
		ssize_t n = write(c->fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->werrno = n < 0 ? errno : EIO;
			snprintf(c->err, c->errlen, "write failed: %s", strerror(c->werrno));
			png_error(png, "write failed");
		}
		data += n;
		len -= (size_t)n;
	}
}

static void flush_bytes(png_structp png)
{
	(void)png;
}

static tg_img_status write_rows(png_structp png, png_infop info, const void *pix,
                                uint32_t width, uint32_t height, int bits, int level)
{
	if (setjmp(png_jmpbuf(png)))
		return TG_IMG_ERR_IO;
	png_set_write_fn(png, png_get_error_ptr(png), write_bytes, flush_bytes);
	if (level >= 0)
		png_set_compression_level(png, level);
	png_set_IHDR(png, info, width, height, bits, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	if (bits == 16 && host_little_endian())
		png_set_swap(png);
	size_t rowbytes = (size_t)width * (size_t)(bits / 8);
	for (uint32_t y = 0; y < height; y++)
		png_write_row(png, (png_const_bytep)pix + (size_t)y * rowbytes);
	png_write_end(png, info);
	return TG_IMG_OK;
}

tg_img_status tg_png_write_gray(int fd, const char *name, const void *pix,
                                uint32_t width, uint32_t height, int bits, int level,
                                char *err, size_t errlen)
{
	err[0] = 0;
	if (level > 9)
		level = 9;
	if ((bits != 8 && bits != 16) || width == 0 || height == 0 || width > PNG_UINT_31_MAX ||
	    height > PNG_UINT_31_MAX) {
		snprintf(err, errlen, "%s: cannot write a %ux%u %d-bit PNG", name,
		         (unsigned)width, (unsigned)height, bits);
		return TG_IMG_ERR_ARG;
	}
	struct png_wctx c = { fd, 0, err, errlen };
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_write_error, on_write_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		snprintf(err, errlen, "%s: out of memory", name);
		return TG_IMG_ERR_NOMEM;
	}
	tg_img_status st = write_rows(png, info, pix, width, height, bits, level);
	png_destroy_write_struct(&png, &info);
	if (st) {
		char why[256];
		snprintf(why, sizeof why, "%s", err[0] ? err : "libpng failed");
		snprintf(err, errlen, "%s: %s", name, why);
	}
	return st;
}
