/* npz.h: NumPy .npy arrays inside .npz (ZIP) files, as pytorch-fid stores
 * FID statistics: keys "mu" (shape (d,)) and "sigma" (shape (d, d)),
 * float64.
 *
 * Reading.  The ZIP's central directory is the authority (sizes, offsets,
 * method); each member's local header is checked against it and skipped.
 * Members may be stored (numpy.savez) or deflate-compressed
 * (numpy.savez_compressed, which pytorch-fid's --save-stats uses); deflate
 * is decoded by a small inflater here (RFC 1951), zlib not being among the
 * build's libraries.  The CRC-32 of every member read is verified.
 * Refused cleanly: ZIP64 archives (numpy writes a ZIP64 extra field into
 * each local header, which is skipped, but sizes or offsets that need
 * ZIP64 are not followed), multi-disk archives, encrypted members, other
 * compression methods.  .npy versions 1.0, 2.0 and 3.0 are read; dtypes
 * '<f8' and '<f4' (converted to float64), C order, or Fortran order for
 * 1-D and 2-D arrays (transposed into C order); the header dict is parsed
 * strictly (keys descr, fortran_order, shape; Python literal syntax).
 * Every size and offset is checked against the bytes present before use;
 * arrays are limited to TG_NPZ_MAX_BYTES.
 *
 * Writing produces what numpy.savez (NumPy 1.24, Python 3.11's zipfile)
 * writes for the same float64 arrays, byte for byte: stored members named
 * KEY.npy in the given order, DOS time 0 / date 1980-01-01, a ZIP64 extra
 * field of 20 bytes in each local header, external attributes 0600, and
 * .npy 1.0 headers padded with spaces to 64-byte alignment after NumPy's
 * 21-digit room for the first axis.
 *
 * Functions return a ts_status: TS_ERR_IO (cannot open or read; errno is
 * kept), TS_ERR_CORRUPT (malformed ZIP or .npy), TS_ERR_VERSION (a valid
 * but unsupported feature: ZIP64, a compression method, a dtype, a .npy
 * version), TS_ERR_DIMS (a shape other than asked), TS_ERR_LIMIT,
 * TS_ERR_NOMEM, TS_ERR_ARG; and when err is not NULL a one-line reason
 * (without the file name) in err. */
#ifndef TOMOGAN_FID_NPZ_H
#define TOMOGAN_FID_NPZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tstream.h"

#define TG_NPY_MAX_DIMS 8
#define TG_NPZ_MAX_BYTES ((uint64_t)1 << 32)   /* per array, after decoding */
#define TG_NPZ_ERR_LEN 256

typedef struct {
	int ndim;
	uint64_t shape[TG_NPY_MAX_DIMS];
	uint64_t count;        /* product of shape (1 for 0-d) */
	double *data;          /* count values, C order, malloc'd */
} tg_npy_array;

void tg_npy_free(tg_npy_array *a);

/* Parses a whole .npy file held in memory. */
ts_status tg_npy_parse(const unsigned char *buf, size_t len, tg_npy_array *out, char *err);

/* The array KEY (member KEY.npy) of an .npz held in memory.
 * TS_ERR_DIMS with "no member" when absent. */
ts_status tg_npz_get(const unsigned char *buf, size_t len, const char *key,
                     tg_npy_array *out, char *err);

/* Reads a whole file (TS_ERR_IO when it cannot be opened or read). */
ts_status tg_npz_slurp(const char *path, unsigned char **buf, size_t *len, char *err);

/* mu (d,) and sigma (d, d) from an .npz file, as pytorch-fid loads them;
 * *mu and *sigma are malloc'd. */
ts_status tg_npz_read_stats(const char *path, size_t *d, double **mu, double **sigma, char *err);

/* Writes members keys[i] -> float64 arrays (ndims[i] dimensions of
 * shapes[i], data[i] in C order) as numpy.savez does. */
ts_status tg_npz_write(FILE *f, size_t n, const char *const *keys, const int *ndims,
                       const uint64_t *const *shapes, const double *const *data, char *err);

/* numpy.savez(f, mu=mu, sigma=sigma) for d-long mu and d x d sigma. */
ts_status tg_npz_write_stats(FILE *f, const double *mu, const double *sigma, size_t d, char *err);

/* CRC-32 (ISO-HDLC, as ZIP and zlib use) of n bytes, continuing from crc
 * (0 to start). */
uint32_t tg_crc32(uint32_t crc, const void *buf, size_t n);

/* Decodes a raw deflate stream (RFC 1951) of exactly out_len bytes. */
ts_status tg_inflate(const unsigned char *in, size_t in_len, unsigned char *out, size_t out_len,
                     char *err);

#endif
