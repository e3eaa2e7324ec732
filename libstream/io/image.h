/* image.h: PNG and TIFF files as arrays of samples, for imread and imwrite.
 *
 * Reading: tg_img_open identifies a file by its signature (PNG, classic or
 * Big TIFF), tg_img_page describes the current page, tg_img_read decodes
 * it and tg_img_next moves to the next page (a PNG has one page, a TIFF one
 * per full-resolution directory; reduced-resolution directories such as
 * thumbnails are skipped).  Decoded samples are row-major, interleaved,
 * in host byte order, exactly as stored: PNG palettes are expanded to RGB
 * (RGBA with transparency), 1, 2 and 4-bit PNG grey to 8 bits by the PNG
 * rule (a 2-bit 3 becomes 255), and nothing else is converted.  No gamma
 * or colour-space transform is applied.
 *
 * libpng and libtiff never print: their warnings go to the callback given
 * to tg_img_open and their errors become the file's one-line message.
 *
 * Writing: tg_png_write_gray and tg_tiff_write_f32 encode one grey image
 * to a file descriptor (the caller makes the file and renames it into
 * place).
 *
 * Every function returns a tg_img_status; none of them exits.
 */
#ifndef TOMOGAN_IO_IMAGE_H
#define TOMOGAN_IO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	TG_IMG_OK = 0,
	TG_IMG_END,             /* no more pages: a normal end */
	TG_IMG_ERR_OPEN,        /* the file cannot be opened or read */
	TG_IMG_ERR_FORMAT,      /* neither PNG nor TIFF */
	TG_IMG_ERR_UNSUPPORTED, /* a PNG or TIFF variant this code does not read */
	TG_IMG_ERR_CORRUPT,     /* damaged or truncated file */
	TG_IMG_ERR_LIMIT,       /* dimensions beyond the stream limits */
	TG_IMG_ERR_IO,          /* writing failed */
	TG_IMG_ERR_NOMEM,
	TG_IMG_ERR_ARG          /* a caller passed something impossible */
} tg_img_status;

/* Exit status (sysexits) for st: 66 open, 74 I/O, 70 memory or
 * argument, 65 for the rest. */
int tg_img_exit_status(tg_img_status st);

typedef enum { TG_IMG_PNG = 1, TG_IMG_TIFF = 2 } tg_img_format;
typedef enum { TG_IMG_UINT = 1, TG_IMG_INT = 2, TG_IMG_FLOAT = 3 } tg_img_sample;

typedef struct {
	tg_img_format format;
	uint32_t width, height;
	int channels;           /* decoded samples per pixel, 1 to 4 */
	int bits;               /* bits per decoded sample: 8, 16, 32 or 64 */
	tg_img_sample sample;
	/* What the channels hold: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA; a
	 * palette whose entries are all grey decodes to RGB(A) with color 0. */
	int color;
	int palette;            /* the file stores palette indices */
	int page;               /* 0-based index among the pages read */
} tg_img_info;

typedef struct tg_img tg_img;
/* Receives one libpng or libtiff warning as a one-line message. */
typedef void (*tg_img_warn_fn)(void *user, const char *path, const char *msg);

/* Opens path and reads the first page's description.  On error *out is
 * still set (tg_img_error names the problem) unless the error is
 * TG_IMG_ERR_NOMEM; close it in every case. */
tg_img_status tg_img_open(tg_img **out, const char *path, tg_img_warn_fn warn, void *user);
const tg_img_info *tg_img_page(const tg_img *f);
/* Bytes tg_img_read writes for the current page; 0 beyond the limits. */
uint64_t tg_img_page_bytes(const tg_img_info *p);
/* Decodes the current page into buf (tg_img_page_bytes bytes). */
tg_img_status tg_img_read(tg_img *f, void *buf);
/* Moves to the next page: TG_IMG_OK, TG_IMG_END or an error. */
tg_img_status tg_img_next(tg_img *f);
/* One line naming the last problem (without the path). */
const char *tg_img_error(const tg_img *f);
void tg_img_close(tg_img *f);

/* ---- grey from colour ---- */

/* Pillow's "L" conversion, ITU-R 601-2 luma with the weights 299, 587 and
 * 114 per mille in 16-bit fixed point:
 *   L = (19595 R + 38470 G + 7471 B + 32768) >> 16
 * (the weights sum to 65536, so grey stays grey).  src holds `channels`
 * samples per pixel (3 or 4; alpha is ignored, as Pillow does).  The
 * 16-bit form applies the same weights to 16-bit samples. */
void tg_luma_u8(const uint8_t *src, int channels, size_t n, uint8_t *dst);
void tg_luma_u16(const uint16_t *src, int channels, size_t n, uint16_t *dst);
/* The BT.601 studio-range Y used by super-resolution papers:
 *   Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255,  R, G, B in 0..255,
 * computed in double.  For 16-bit samples the result is on the 16-bit
 * scale: 257 times the formula applied to R/257, G/257, B/257. */
void tg_bt601_u8(const uint8_t *src, int channels, size_t n, float *dst);
void tg_bt601_u16(const uint16_t *src, int channels, size_t n, float *dst);

/* ---- writing ---- */

/* Writes a grey PNG of width x height samples: uint8_t for bits 8,
 * host-order uint16_t for bits 16, zlib level 0 to 9 (-1: libpng's
 * default, 6).  name labels messages; the error text goes to err. */
tg_img_status tg_png_write_gray(int fd, const char *name, const void *pix,
                                uint32_t width, uint32_t height, int bits, int level,
                                char *err, size_t errlen);
/* Writes a one-page uncompressed 32-bit float grey TIFF.  fd stays open. */
tg_img_status tg_tiff_write_f32(int fd, const char *name, const float *pix,
                                uint32_t width, uint32_t height,
                                char *err, size_t errlen);

#endif
