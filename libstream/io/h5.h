/* h5.h: reading numeric HDF5 datasets (DataExchange projections and the
 * like) one 2-D slice at a time, for h5slice and later HDF5 readers.
 *
 * A 3-D dataset (n0, n1, n2) is cut into slices along one axis: axis 0
 * gives n0 slices of n1 x n2, axis 1 gives n1 slices of n0 x n2, axis 2
 * gives n2 slices of n0 x n1 (every slice keeps the remaining axes in file
 * order).  A 2-D dataset (n1, n2) is read as a 3-D one of shape
 * (1, n1, n2).  Each read is one HDF5 hyperslab.  Where chunks serve
 * several slices and are compressed, or the slices take single elements
 * from them (axis 2), the dataset's chunk cache is sized to keep the chunks
 * one slice touches for the next slices; otherwise HDF5 reads only the
 * selected bytes.  Memory stays at a few slices whatever the file size.
 *
 * Every function returns a tg_h5_status; none of them prints or exits (the
 * HDF5 library's own error printing is switched off on first use).  The
 * message of the last error, naming the file and dataset, is kept in the
 * file handle (tg_h5_error). */
#ifndef TOMOGAN_IO_H5_H
#define TOMOGAN_IO_H5_H

#include <stddef.h>
#include <stdint.h>

#include "tstream.h"

#define TG_H5_MAX_RANK 32   /* HDF5's own limit (H5S_MAX_RANK) */

typedef enum {
	TG_H5_OK = 0,
	TG_H5_ERR_OPEN,     /* the file cannot be opened at all (missing, no permission) */
	TG_H5_ERR_FORMAT,   /* not an HDF5 file, or HDF5 cannot open it */
	TG_H5_ERR_NOTFOUND, /* no dataset of that name */
	TG_H5_ERR_TYPE,     /* not a numeric (integer or floating-point) dataset */
	TG_H5_ERR_SHAPE,    /* a rank or shape the caller cannot use */
	TG_H5_ERR_FILTER,   /* compressed with a filter this HDF5 library lacks */
	TG_H5_ERR_READ,     /* HDF5 failed while reading (corrupt or truncated data) */
	TG_H5_ERR_LIMIT,    /* a size beyond the configured limits */
	TG_H5_ERR_NOMEM,
	TG_H5_ERR_ARG       /* a caller passed something impossible */
} tg_h5_status;

/* The exit status (sysexits) a program should use for st: 66 for
 * TG_H5_ERR_OPEN, 70 for NOMEM and ARG, 65 for the others. */
int tg_h5_exit_status(tg_h5_status st);

typedef struct {
	char path[1024];          /* absolute path inside the file */
	int rank;                 /* 0 for a scalar, -1 for an empty (null) dataspace */
	uint64_t dims[TG_H5_MAX_RANK];
	int chunked;              /* 1 if the layout is chunked */
	uint64_t chunk[TG_H5_MAX_RANK];
	int numeric;              /* integer or floating point */
	int is_float, is_signed;
	size_t type_size;         /* bytes per element in the file */
	/* The stream type that holds the values exactly when it is not f32:
	 * TS_U8, TS_U16 or TS_I16 for those integer types, else TS_F32. */
	ts_dtype keep_type;
	char type[32];            /* "f32", "u16", "i32be", "string", "compound", ... */
	char filters[256];        /* "shuffle,deflate(4)", "" when none; a filter this
	                             library cannot decode is marked "(unavailable)" */
	int filter_missing;       /* 1 if some filter is unavailable */
	char missing[96];         /* the first unavailable filter, e.g. "lzf#32000" */
} tg_h5_info;

typedef struct tg_h5_file tg_h5_file;
typedef struct tg_h5_dset tg_h5_dset;

/* Opens path read-only.  On error *out is still set (for tg_h5_error)
 * unless the error is TG_H5_ERR_NOMEM; close it in every case. */
tg_h5_status tg_h5_open(tg_h5_file **out, const char *path);
/* The last error's message: "FILE: dataset /x: what failed: why". */
const char *tg_h5_error(const tg_h5_file *f);
const char *tg_h5_path(const tg_h5_file *f);
void tg_h5_close(tg_h5_file *f);

/* Calls fn for every dataset reachable through hard links from the root,
 * in name order, depth first; a non-zero return from fn stops the walk and
 * is passed back in *stopped (may be NULL). */
tg_h5_status tg_h5_list(tg_h5_file *f, int (*fn)(const tg_h5_info *, void *),
                        void *arg, int *stopped);

/* Opens a dataset by path ("/exchange/data"; a path without the leading
 * slash is taken from the root).  Any dataset opens, numeric or not; its
 * description is tg_h5_dset_info. */
tg_h5_status tg_h5_dset_open(tg_h5_file *f, const char *path, tg_h5_dset **out);
const tg_h5_info *tg_h5_dset_info(const tg_h5_dset *d);
void tg_h5_dset_close(tg_h5_dset *d);

/* For slicing: checks that the dataset is numeric, 2-D or 3-D, readable
 * (no missing filter) and axis in 0..2, and gives the slice count and the
 * slice shape rows x cols.  Also sizes the chunk cache for slices along
 * axis (see the top of this file; the dataset is closed and opened again,
 * as HDF5 takes the cache size only when opening); cache_cap bytes is the
 * most the cache may hold (0: the default, 1 GiB, or TOMOGAN_H5_CACHE_MB).  *thrash is
 * set to 1 (may be NULL) when the chunks one slice touches do not fit the
 * cap: then no cache is kept (it would never be hit) and every slice reads
 * again the chunks it touches. */
tg_h5_status tg_h5_slicer(tg_h5_dset *d, int axis, uint64_t cache_cap,
                          uint64_t *count, uint64_t *rows, uint64_t *cols,
                          int *thrash);
/* The chunk cache in effect for the dataset, in bytes, as HDF5 reports it. */
uint64_t tg_h5_cache_bytes(const tg_h5_dset *d);
/* Reads slice index along the axis given to tg_h5_slicer into buf
 * (rows x cols elements, row-major) converted to type t (TS_U8, TS_U16,
 * TS_I16 or TS_F32; HDF5 converts, so integers beyond the target's range
 * clamp and f64 rounds to nearest). */
tg_h5_status tg_h5_read_slice(tg_h5_dset *d, uint64_t index, ts_dtype t, void *buf);
/* The same, as float64 (exact for every integer up to 2^53 and for f32). */
tg_h5_status tg_h5_read_slice_f64(tg_h5_dset *d, uint64_t index, double *buf);

/* Where slice index (along tg_h5_slicer's axis) lies in the file, for a
 * reader that maps the file itself: 1 with *offset, bytes from the start
 * of the file, when the values are 32-bit floats in this machine's byte
 * order, unfiltered, stored in the file itself, and the slice is one run
 * of rows*cols values (axis 0 of contiguous storage, or a chunk holding
 * exactly the slice); 0 otherwise (read it with tg_h5_read_slice). */
int tg_h5_slice_raw(tg_h5_dset *d, uint64_t index, uint64_t *offset);

/* Reads a whole 1-D numeric dataset of n elements as float64 (n must match
 * its length; at most 2^24 elements). */
tg_h5_status tg_h5_read_vector(tg_h5_dset *d, uint64_t n, double *buf);

/* A string attribute of the dataset (fixed or variable length, scalar or
 * one element) as a newly allocated NUL-terminated string; TG_H5_ERR_NOTFOUND
 * when there is no such attribute, TG_H5_ERR_TYPE when it is not a string. */
tg_h5_status tg_h5_attr_string(tg_h5_dset *d, const char *name, char **out);

/* ---- flat and dark field correction ----
 *
 * For projections p (angle, row, col), white (flat) fields w and dark
 * fields d, each a stack (k, row, col) averaged over its first axis (or a
 * single (row, col) image used as is), the corrected value is
 *     t = (p - mean(d)) / max(mean(w) - mean(d), TG_H5_FLAT_EPS)
 * computed in float64: the same guard as TomoPy's normalize(), which keeps
 * a dead pixel (flat no brighter than dark) finite instead of dividing by
 * zero or flipping its sign.  With minus_log the result is
 *     -ln(max(t, TG_H5_LOG_EPS))
 * where NaN is also replaced by TG_H5_LOG_EPS, so every output is finite
 * and at most -ln(1e-6) = 13.8155...  */
#define TG_H5_FLAT_EPS 1e-6
#define TG_H5_LOG_EPS 1e-6

typedef struct {
	uint64_t rows, cols;   /* of the projection images */
	double *dark;          /* rows x cols: mean(d) */
	double *denom;         /* rows x cols: max(mean(w) - mean(d), eps) */
	uint64_t clamped;      /* pixels whose denominator was raised to eps */
} tg_h5_flatfield;

/* Averages white and dark (either may come from another file) for
 * projections of rows x cols.  A 3-D field must be (k, rows, cols) with
 * k >= 1, a 2-D one (rows, cols); errors are reported through f (the file
 * of the projections).  white or dark may be NULL for no flat (1) or no
 * dark (0) correction. */
tg_h5_status tg_h5_flatfield_load(tg_h5_flatfield *ff, tg_h5_file *f,
                                  tg_h5_dset *white, tg_h5_dset *dark,
                                  uint64_t rows, uint64_t cols);
void tg_h5_flatfield_free(tg_h5_flatfield *ff);
/* Corrects one slice: in is the raw slice (float64, slice_rows x
 * slice_cols) taken at index along axis (of the 3-D view of the
 * projections), out the float32 result.  ff NULL: no correction, only
 * the minus log when minus_log is set. */
void tg_h5_flatfield_apply(const tg_h5_flatfield *ff, int axis, uint64_t index,
                           uint64_t slice_rows, uint64_t slice_cols,
                           const double *in, float *out, int minus_log);
/* -ln(max(v, TG_H5_LOG_EPS)), NaN taken as TG_H5_LOG_EPS. */
double tg_h5_minus_log(double v);

#endif
