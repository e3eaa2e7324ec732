/* TIFF reading and writing with libtiff; see image.h.
 *
 * libtiff's messages go to per-file handlers (TIFFOpenOptions, libtiff
 * 4.5): errors become the file's message, warnings go to the caller's
 * callback, and nothing reaches libtiff's default handlers, which would
 * print several raw lines to stderr. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

#include "image_internal.h"

struct tiff_state {
	TIFF *tif;
	int invert;       /* MinIsWhite unsigned samples: v becomes max - v */
	int failed;       /* a libtiff error was reported since the last call */
};

/* A libtiff message as "module: text", leaving out a module that is just
 * the file name (libtiff often passes that). */
static void format_message(char *out, size_t len, const char *path, const char *module,
                           const char *fmt, va_list ap)
{
	char text[400];
	vsnprintf(text, sizeof text, fmt, ap);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (module && *module && strcmp(module, path) != 0 && strcmp(module, base) != 0)
		snprintf(out, len, "%s: %s", module, text);
	else
		snprintf(out, len, "%s", text);
}

static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	tg_img *f = user;
	char msg[512];
	format_message(msg, sizeof msg, f->path, module, fmt, ap);
	tg_img_fail(f, TG_IMG_ERR_CORRUPT, "%s", msg);
	if (f->state)
		((struct tiff_state *)f->state)->failed = 1;
	return 1;  /* handled: do not call the default handler */
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	tg_img *f = user;
	char msg[512];
	format_message(msg, sizeof msg, f->path, module, fmt, ap);
	tg_img_warning(f, msg);
	return 1;
}

/* Some libtiff code (codecs in particular) still reports through the
 * process-wide handlers, which print by default.  Those are replaced, once,
 * by handlers that pass the message to the file being worked on, if any,
 * and drop it otherwise.  The library is used from one thread. */
static tg_img *current;

static void on_global_error(const char *module, const char *fmt, va_list ap)
{
	if (current)
		on_error(NULL, current, module, fmt, ap);
}

static void on_global_warning(const char *module, const char *fmt, va_list ap)
{
	if (current)
		on_warning(NULL, current, module, fmt, ap);
}

static void quiet_globals(void)
{
	static int done;
	if (!done) {
		TIFFSetErrorHandler(on_global_error);
		TIFFSetWarningHandler(on_global_warning);
		done = 1;
	}
}

static TIFFOpenOptions *make_options(void *user, TIFFErrorHandlerExtR err, TIFFErrorHandlerExtR warn)
{
	TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
	if (!o)
		return NULL;
	TIFFOpenOptionsSetErrorHandlerExtR(o, err, user);
	TIFFOpenOptionsSetWarningHandlerExtR(o, warn, user);
	return o;
}

static int is_reduced(TIFF *tif)
{
	uint32_t subfile = 0;
	TIFFGetFieldDefaulted(tif, TIFFTAG_SUBFILETYPE, &subfile);
	return (subfile & FILETYPE_REDUCEDIMAGE) != 0;
}

/* Describes the current directory in f->info, or says why it cannot be read. */
static tg_img_status describe(tg_img *f, int page)
{
	struct tiff_state *s = f->state;
	TIFF *tif = s->tif;
	uint32_t w = 0, h = 0, depth = 1;
	uint16_t bps = 1, spp = 1, fmt = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG, photo;
	if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h))
		return tg_img_fail(f, TG_IMG_ERR_CORRUPT, "no image width or length");
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &fmt);
	TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
	TIFFGetFieldDefaulted(tif, TIFFTAG_IMAGEDEPTH, &depth);
	if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo))
		photo = PHOTOMETRIC_MINISBLACK;

	tg_img_info *p = &f->info;
	memset(p, 0, sizeof *p);
	p->format = TG_IMG_TIFF;
	p->width = w;
	p->height = h;
	p->channels = spp;
	p->bits = bps;
	p->page = page;
	s->invert = 0;
	if (depth != 1)
		return tg_img_fail(f, TG_IMG_ERR_UNSUPPORTED, "volume images (ImageDepth %u) not supported", (unsigned)depth);
	switch (fmt) {
	case SAMPLEFORMAT_UINT: case SAMPLEFORMAT_VOID: p->sample = TG_IMG_UINT; break;
	case SAMPLEFORMAT_INT: p->sample = TG_IMG_INT; break;
	case SAMPLEFORMAT_IEEEFP: p->sample = TG_IMG_FLOAT; break;
	default:
		return tg_img_fail(f, TG_IMG_ERR_UNSUPPORTED, "sample format %u not supported", (unsigned)fmt);
	}
	if (p->sample == TG_IMG_FLOAT ? (bps != 16 && bps != 32 && bps != 64) : (bps != 8 && bps != 16 && bps != 32))
		return tg_img_fail(f, TG_IMG_ERR_UNSUPPORTED, "%u-bit %s samples not supported", (unsigned)bps,
		                   p->sample == TG_IMG_FLOAT ? "float" : p->sample == TG_IMG_INT ? "signed" : "unsigned");
	switch (photo) {
	case PHOTOMETRIC_MINISBLACK:
	case PHOTOMETRIC_MINISWHITE:
		if (spp > 2)
			return tg_img_fail(f, TG_IMG_ERR_UNSUPPORTED, "grey image with %u samples per pixel", (unsigned)spp);
		if (photo == PHOTOMETRIC_MINISWHITE) {
			if (p->sample != TG_IMG_UINT)
				return tg_img_fail(f, TG_IMG_ERR_UNSUPPORTED, "MinIsWhite with signed or float samples");
			s->invert = 1;
		}
		p->color = 0;
		break;
	case PHOTOMETRIC_RGB:
		if (spp < 3 || spp > 4)
			return tg_img_fail(f, TG_IMG_ERR_UNSUPPORTED, "RGB image with %u samples per pixel", (unsigned)spp);
		if (p->sample != TG_IMG_UINT || (bps != 8 && bps != 16))
			return tg_img_fail(f, TG_IMG_ERR_UNSUPPORTED, "RGB image of %u-bit %s samples", (unsigned)bps,
			                   p->sample == TG_IMG_UINT ? "unsigned" : p->sample == TG_IMG_INT ? "signed" : "float");
		p->color = 1;
		break;
	case PHOTOMETRIC_PALETTE:
		return tg_img_fail(f, TG_IMG_ERR_UNSUPPORTED, "palette TIFF not supported");
	case PHOTOMETRIC_YCBCR:
		return tg_img_fail(f, TG_IMG_ERR_UNSUPPORTED, "YCbCr TIFF not supported");
	default:
		return tg_img_fail(f, TG_IMG_ERR_UNSUPPORTED, "photometric interpretation %u not supported", (unsigned)photo);
	}
	if (planar != PLANARCONFIG_CONTIG && planar != PLANARCONFIG_SEPARATE)
		return tg_img_fail(f, TG_IMG_ERR_CORRUPT, "bad planar configuration %u", (unsigned)planar);
	if (tg_img_page_bytes(p) == 0)
		return tg_img_fail(f, TG_IMG_ERR_LIMIT, "%ux%u image beyond the size limit", (unsigned)w, (unsigned)h);
	return TG_IMG_OK;
}

/* Moves to the next full-resolution directory at or after the current one. */
static tg_img_status settle(tg_img *f, int page)
{
	struct tiff_state *s = f->state;
	while (is_reduced(s->tif)) {
		if (!TIFFReadDirectory(s->tif))
			return s->failed ? TG_IMG_ERR_CORRUPT : TG_IMG_END;
	}
	return describe(f, page);
}

static tg_img_status tiff_open_here(tg_img *f)
{
	struct tiff_state *s = calloc(1, sizeof *s);
	if (!s)
		return tg_img_fail(f, TG_IMG_ERR_NOMEM, "out of memory");
	f->state = s;
	TIFFOpenOptions *o = make_options(f, on_error, on_warning);
	if (!o)
		return tg_img_fail(f, TG_IMG_ERR_NOMEM, "out of memory");
	errno = 0;
	s->tif = TIFFOpenExt(f->path, "r", o);
	TIFFOpenOptionsFree(o);
	if (!s->tif) {
		if (errno == ENOENT || errno == EACCES)
			return tg_img_fail(f, TG_IMG_ERR_OPEN, "%s", strerror(errno));
		return tg_img_fail(f, TG_IMG_ERR_CORRUPT, "cannot read the TIFF header");
	}
	tg_img_status st = settle(f, 0);
	if (st == TG_IMG_END)
		return tg_img_fail(f, TG_IMG_ERR_CORRUPT, "no full-resolution image in the file");
	return st;
}

/* Copies one decoded chunk (strip or tile) of cw x ch pixels, rows
 * `pitch` bytes apart, to (x0, y0) of the interleaved page; a chunk of a
 * separate plane holds channel `plane` only. */
static void place(const tg_img_info *p, uint8_t *page, const uint8_t *chunk, size_t pitch,
                  uint32_t x0, uint32_t y0, uint32_t cw, uint32_t ch, int separate, int plane)
{
	size_t es = (size_t)(p->bits / 8);
	size_t pixel = es * (size_t)p->channels;
	size_t page_row = (size_t)p->width * pixel;
	for (uint32_t y = 0; y < ch; y++) {
		uint8_t *dst = page + (size_t)(y0 + y) * page_row + (size_t)x0 * pixel;
		const uint8_t *src = chunk + (size_t)y * pitch;
		if (!separate) {
			memcpy(dst, src, (size_t)cw * pixel);
		} else {
			dst += (size_t)plane * es;
			for (uint32_t x = 0; x < cw; x++)
				memcpy(dst + (size_t)x * pixel, src + (size_t)x * es, es);
		}
	}
}

static tg_img_status read_strips(tg_img *f, uint8_t *page, uint8_t *chunk, int separate, int planes)
{
	struct tiff_state *s = f->state;
	const tg_img_info *p = &f->info;
	uint32_t rps = 0;
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_ROWSPERSTRIP, &rps);
	if (rps == 0 || rps > p->height)
		rps = p->height;
	size_t pitch = (size_t)p->width * (size_t)(p->bits / 8) * (size_t)(separate ? 1 : p->channels);
	for (int plane = 0; plane < planes; plane++) {
		for (uint32_t y = 0; y < p->height; y += rps) {
			uint32_t rows = p->height - y < rps ? p->height - y : rps;
			uint32_t strip = TIFFComputeStrip(s->tif, y, (uint16_t)plane);
			tmsize_t n = TIFFReadEncodedStrip(s->tif, strip, chunk, (tmsize_t)-1);
			if (n < 0)
				return tg_img_fail(f, TG_IMG_ERR_CORRUPT, "strip %u cannot be decoded", (unsigned)strip);
			if ((uint64_t)n < (uint64_t)rows * pitch)
				return tg_img_fail(f, TG_IMG_ERR_CORRUPT, "strip %u is short", (unsigned)strip);
			place(p, page, chunk, pitch, 0, y, p->width, rows, separate, plane);
		}
	}
	return TG_IMG_OK;
}

static tg_img_status read_tiles(tg_img *f, uint8_t *page, uint8_t *chunk, int separate, int planes)
{
	struct tiff_state *s = f->state;
	const tg_img_info *p = &f->info;
	uint32_t tw = 0, th = 0;
	if (!TIFFGetField(s->tif, TIFFTAG_TILEWIDTH, &tw) || !TIFFGetField(s->tif, TIFFTAG_TILELENGTH, &th) ||
	    tw == 0 || th == 0)
		return tg_img_fail(f, TG_IMG_ERR_CORRUPT, "tiled image without tile size");
	size_t pitch = (size_t)tw * (size_t)(p->bits / 8) * (size_t)(separate ? 1 : p->channels);
	for (int plane = 0; plane < planes; plane++) {
		for (uint32_t y = 0; y < p->height; y += th) {
			for (uint32_t x = 0; x < p->width; x += tw) {
				uint32_t tile = TIFFComputeTile(s->tif, x, y, 0, (uint16_t)plane);
				tmsize_t n = TIFFReadEncodedTile(s->tif, tile, chunk, (tmsize_t)-1);
				if (n < 0)
					return tg_img_fail(f, TG_IMG_ERR_CORRUPT, "tile %u cannot be decoded", (unsigned)tile);
				if ((uint64_t)n < (uint64_t)th * pitch)
					return tg_img_fail(f, TG_IMG_ERR_CORRUPT, "tile %u is short", (unsigned)tile);
				uint32_t cw = p->width - x < tw ? p->width - x : tw;
				uint32_t ch = p->height - y < th ? p->height - y : th;
				place(p, page, chunk, pitch, x, y, cw, ch, separate, plane);
			}
		}
	}
	return TG_IMG_OK;
}

static tg_img_status tiff_read_here(tg_img *f, void *buf)
{
	struct tiff_state *s = f->state;
	const tg_img_info *p = &f->info;
	s->failed = 0;
	uint16_t planar = PLANARCONFIG_CONTIG;
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_PLANARCONFIG, &planar);
	int separate = planar == PLANARCONFIG_SEPARATE && p->channels > 1;
	int planes = separate ? p->channels : 1;
	int tiled = TIFFIsTiled(s->tif);
	tmsize_t chunk_size = tiled ? TIFFTileSize(s->tif) : TIFFStripSize(s->tif);
	/* a strip or tile holds at most the whole page */
	if (chunk_size <= 0 || (uint64_t)chunk_size > tg_img_page_bytes(p) * 4 + (1u << 20))
		return tg_img_fail(f, TG_IMG_ERR_CORRUPT, "bad %s size", tiled ? "tile" : "strip");
	uint8_t *chunk = malloc((size_t)chunk_size);
	if (!chunk)
		return tg_img_fail(f, TG_IMG_ERR_NOMEM, "out of memory");
	tg_img_status st = tiled ? read_tiles(f, buf, chunk, separate, planes)
	                         : read_strips(f, buf, chunk, separate, planes);
	free(chunk);
	if (st == TG_IMG_OK && s->invert) {
		size_t n = (size_t)p->width * p->height * (size_t)p->channels;
		if (p->bits == 8) {
			uint8_t *v = buf;
			for (size_t i = 0; i < n; i++) v[i] = (uint8_t)(UINT8_MAX - v[i]);
		} else if (p->bits == 16) {
			uint16_t *v = buf;
			for (size_t i = 0; i < n; i++) v[i] = (uint16_t)(UINT16_MAX - v[i]);
		} else {
			uint32_t *v = buf;
			for (size_t i = 0; i < n; i++) v[i] = UINT32_MAX - v[i];
		}
	}
	return st;
}

static tg_img_status tiff_next_here(tg_img *f)
{
	struct tiff_state *s = f->state;
	s->failed = 0;
	if (!TIFFReadDirectory(s->tif))
		return s->failed ? TG_IMG_ERR_CORRUPT : TG_IMG_END;
	return settle(f, f->info.page + 1);
}

/* The back end's entry points: libtiff's global messages go to f. */
static tg_img_status tiff_open(tg_img *f)
{
	quiet_globals();
	current = f;
	tg_img_status st = tiff_open_here(f);
	current = NULL;
	return st;
}

static tg_img_status tiff_read(tg_img *f, void *buf)
{
	current = f;
	tg_img_status st = tiff_read_here(f, buf);
	current = NULL;
	return st;
}

static tg_img_status tiff_next(tg_img *f)
{
	current = f;
	tg_img_status st = tiff_next_here(f);
	current = NULL;
	return st;
}

static void tiff_close(tg_img *f)
{
	struct tiff_state *s = f->state;
	if (s->tif)
		TIFFClose(s->tif);
	free(s);
	f->state = NULL;
}

const struct tg_img_backend tg_img_tiff_backend = { tiff_open, tiff_read, tiff_next, tiff_close };

/* ---- writing ---- */

struct tiff_wctx {
	char *err;
	size_t errlen;
	const char *name;
};

static int on_write_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	struct tiff_wctx *c = user;
	if (c->err[0] == 0)
		format_message(c->err, c->errlen, c->name, module, fmt, ap);
	return 1;
}

static int on_write_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	(void)tif; (void)user; (void)module; (void)fmt; (void)ap;
	return 1;
}

tg_img_status tg_tiff_write_f32(int fd, const char *name, const float *pix,
                                uint32_t width, uint32_t height,
                                char *err, size_t errlen)
{
	err[0] = 0;
	if (width == 0 || height == 0) {
		snprintf(err, errlen, "%s: cannot write a %ux%u TIFF", name, (unsigned)width, (unsigned)height);
		return TG_IMG_ERR_ARG;
	}
	char why[400] = "";
	struct tiff_wctx c = { why, sizeof why, name };
	quiet_globals();
	TIFFOpenOptions *o = make_options(&c, on_write_error, on_write_warning);
	float *row = malloc((size_t)width * sizeof *row);
	int dupfd = dup(fd);  /* TIFFClose closes its descriptor; the caller keeps fd */
	TIFF *tif = NULL;
	if (o && row && dupfd >= 0)
		tif = TIFFFdOpenExt(dupfd, name, "w", o);
	TIFFOpenOptionsFree(o);
	tg_img_status st = TG_IMG_OK;
	if (!tif) {
		if (dupfd >= 0)
			close(dupfd);
		st = (o && row && dupfd >= 0) ? TG_IMG_ERR_IO : TG_IMG_ERR_NOMEM;
		if (!why[0])
			snprintf(why, sizeof why, "%s", st == TG_IMG_ERR_IO ? "cannot start the TIFF" : "out of memory");
		goto out;
	}
	if (!TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, width) ||
	    !TIFFSetField(tif, TIFFTAG_IMAGELENGTH, height) ||
	    !TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 32) ||
	    !TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1) ||
	    !TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP) ||
	    !TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK) ||
	    !TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) ||
	    !TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE) ||
	    !TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(tif, 0))) {
		st = TG_IMG_ERR_IO;
		goto close;
	}
	for (uint32_t y = 0; y < height; y++) {
		/* libtiff may transform the row in place, and pix is const */
		memcpy(row, pix + (size_t)y * width, (size_t)width * sizeof *row);
		if (TIFFWriteScanline(tif, row, y, 0) < 0) {
			st = TG_IMG_ERR_IO;
			goto close;
		}
	}
	if (!TIFFFlush(tif))
		st = TG_IMG_ERR_IO;
close:
	TIFFClose(tif);
	if (st && !why[0])
		snprintf(why, sizeof why, "write failed");
out:
	free(row);
	if (st)
		snprintf(err, errlen, "%s: %s", name, why);
	return st;
}
