/* image_internal.h: what the PNG and TIFF back ends of image.h share;
 * not for programs. */
#ifndef TOMOGAN_IO_IMAGE_INTERNAL_H
#define TOMOGAN_IO_IMAGE_INTERNAL_H

#include "image.h"

/* An open image file and its format back end. */
struct tg_img_backend;
struct tg_img {
	char *path;
	tg_img_info info;
	tg_img_warn_fn warn;
	void *user;
	char err[512];
	int warnings;                 /* warnings passed on so far */
	const struct tg_img_backend *be;
	void *state;
};
struct tg_img_backend {
	tg_img_status (*open)(tg_img *f);
	tg_img_status (*read)(tg_img *f, void *buf);
	tg_img_status (*next)(tg_img *f);
	void (*close)(tg_img *f);
};
extern const struct tg_img_backend tg_img_png_backend, tg_img_tiff_backend;
/* Back ends report through these: a formatted message into f->err (the
 * first since the last call of tg_img_clear_error wins), and warnings to
 * the callback with newlines flattened. */
tg_img_status tg_img_fail(tg_img *f, tg_img_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tg_img_clear_error(tg_img *f);
void tg_img_warning(tg_img *f, const char *msg);
/* Flattens a library message to one line: newlines and tabs become
 * spaces, trailing spaces and dots go. */
void tg_img_one_line(char *s);

#endif
