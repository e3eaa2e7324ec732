/* Numeric HDF5 datasets read one 2-D slice at a time; see h5.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "io/h5.h"

#define DEFAULT_CACHE_BYTES ((uint64_t)1 << 30)
#define MAX_CACHE_SLOTS 1000000u  /* HDF5 keeps a pointer per slot */
#define MAX_VECTOR ((uint64_t)1 << 24)

struct tg_h5_file {
	hid_t fid;
	char *path;
	char err[1024];
};

struct tg_h5_dset {
	tg_h5_file *f;
	hid_t did, space;
	tg_h5_info info;
	int axis;              /* -1 until tg_h5_slicer */
	uint64_t view[3];      /* the 3-D view of a 2-D or 3-D dataset */
	uint64_t rows, cols;
};

int tg_h5_exit_status(tg_h5_status st)
{
	switch (st) {
	case TG_H5_OK: return 0;
	case TG_H5_ERR_OPEN: return 66;
	case TG_H5_ERR_NOMEM:
	case TG_H5_ERR_ARG: return 70;
	default: return 65;
	}
}

/* The description of the innermost entry of HDF5's error stack, which
 * names the actual cause ("unable to open file", "inflate() failed"). */
static herr_t first_error(unsigned n, const H5E_error2_t *e, void *arg)
{
	char *buf = arg;
	if (n == 0 && e->desc)
		snprintf(buf, 200, "%s", e->desc);
	return 0;
}

static void hdf5_reason(char *buf)
{
	buf[0] = 0;
	H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, buf);
	if (!buf[0])
		snprintf(buf, 200, "HDF5 error");
}

static tg_h5_status ferr(tg_h5_file *f, tg_h5_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static tg_h5_status ferr(tg_h5_file *f, tg_h5_status st, const char *fmt, ...)
{
	char msg[800];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(f->err, sizeof f->err, "%s: %s", f->path ? f->path : "?", msg);
	return st;
}

static void h5_init(void)
{
	static int done;
	if (done)
		return;
	H5open();
	/* messages are ours: one line each, not HDF5's stack dump */
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	done = 1;
}

tg_h5_status tg_h5_open(tg_h5_file **out, const char *path)
{
	h5_init();
	tg_h5_file *f = calloc(1, sizeof *f);
	*out = f;
	if (!f)
		return TG_H5_ERR_NOMEM;
	f->fid = -1;
	f->path = strdup(path);
	if (!f->path)
		return ferr(f, TG_H5_ERR_NOMEM, "out of memory");
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return ferr(f, TG_H5_ERR_OPEN, "%s", strerror(errno));
	struct stat st;
	int isdir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
	close(fd);
	if (isdir)
		return ferr(f, TG_H5_ERR_OPEN, "is a directory");
	if (H5Fis_hdf5(path) <= 0)
		return ferr(f, TG_H5_ERR_FORMAT, "not an HDF5 file");
	f->fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (f->fid < 0) {
		char why[200];
		hdf5_reason(why);
		return ferr(f, TG_H5_ERR_FORMAT, "cannot open as HDF5: %s", why);
	}
	return TG_H5_OK;
}

const char *tg_h5_error(const tg_h5_file *f) { return f ? f->err : "out of memory"; }
const char *tg_h5_path(const tg_h5_file *f) { return f->path; }

void tg_h5_close(tg_h5_file *f)
{
	if (!f)
		return;
	if (f->fid >= 0)
		H5Fclose(f->fid);
	free(f->path);
	free(f);
}

/* ---- describing a dataset ---- */

static void describe_type(hid_t type, tg_h5_info *in)
{
	H5T_class_t cls = H5Tget_class(type);
	size_t size = H5Tget_size(type);
	in->type_size = size;
	in->keep_type = TS_F32;
	const char *be = size > 1 && H5Tget_order(type) == H5T_ORDER_BE ? "be" : "";
	switch (cls) {
	case H5T_INTEGER:
		in->numeric = 1;
		in->is_signed = H5Tget_sign(type) == H5T_SGN_2;
		snprintf(in->type, sizeof in->type, "%c%zu%s", in->is_signed ? 'i' : 'u', 8 * size, be);
		if (!in->is_signed && size == 1)
			in->keep_type = TS_U8;
		else if (!in->is_signed && size == 2)
			in->keep_type = TS_U16;
		else if (in->is_signed && size == 2)
			in->keep_type = TS_I16;
		break;
	case H5T_FLOAT:
		in->numeric = 1;
		in->is_float = 1;
		in->is_signed = 1;
		snprintf(in->type, sizeof in->type, "f%zu%s", 8 * size, be);
		break;
	case H5T_STRING:
		if (H5Tis_variable_str(type) > 0)
			snprintf(in->type, sizeof in->type, "string(vlen)");
		else
			snprintf(in->type, sizeof in->type, "string(%zu)", size);
		break;
	case H5T_COMPOUND: snprintf(in->type, sizeof in->type, "compound"); break;
	case H5T_ENUM: snprintf(in->type, sizeof in->type, "enum"); break;
	case H5T_ARRAY: snprintf(in->type, sizeof in->type, "array"); break;
	case H5T_VLEN: snprintf(in->type, sizeof in->type, "vlen"); break;
	case H5T_OPAQUE: snprintf(in->type, sizeof in->type, "opaque"); break;
	case H5T_REFERENCE: snprintf(in->type, sizeof in->type, "reference"); break;
	case H5T_BITFIELD: snprintf(in->type, sizeof in->type, "bitfield"); break;
	default: snprintf(in->type, sizeof in->type, "unknown"); break;
	}
}

static void append(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);
	if (n && n + 1 < len)
		buf[n++] = ',', buf[n] = 0;
	snprintf(buf + n, len - n, "%s", s);
}

static void describe_filters(hid_t dcpl, tg_h5_info *in)
{
	int nf = H5Pget_nfilters(dcpl);
	for (int i = 0; i < nf; i++) {
		unsigned flags, cd[32], config;
		size_t ncd = 32;
		char name[64] = "", item[96];
		H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd,
		                                 sizeof name, name, &config);
		switch (id) {
		case H5Z_FILTER_DEFLATE:
			snprintf(item, sizeof item, "deflate(%u)", ncd ? cd[0] : 0);
			break;
		case H5Z_FILTER_SHUFFLE: snprintf(item, sizeof item, "shuffle"); break;
		case H5Z_FILTER_FLETCHER32: snprintf(item, sizeof item, "fletcher32"); break;
		case H5Z_FILTER_SZIP: snprintf(item, sizeof item, "szip"); break;
		case H5Z_FILTER_NBIT: snprintf(item, sizeof item, "nbit"); break;
		case H5Z_FILTER_SCALEOFFSET: snprintf(item, sizeof item, "scaleoffset"); break;
		default: {
			/* a registered filter's own name when it is printable */
			int ok = name[0] != 0;
			for (char *p = name; *p; p++)
				if (*p <= ' ' || *p > '~' || *p == ',' || *p == '(')
					ok = 0;
			snprintf(item, sizeof item, "%s#%d", ok ? name : "filter", (int)id);
		}
		}
		if (H5Zfilter_avail(id) <= 0) {
			if (!in->filter_missing)
				snprintf(in->missing, sizeof in->missing, "%s", item);
			in->filter_missing = 1;
			size_t n = strlen(item);
			snprintf(item + n, sizeof item - n, "(unavailable)");
		}
		append(in->filters, sizeof in->filters, item);
	}
}

static void describe(hid_t did, const char *path, tg_h5_info *in)
{
	memset(in, 0, sizeof *in);
	snprintf(in->path, sizeof in->path, "%s", path);
	hid_t space = H5Dget_space(did);
	H5S_class_t scls = space >= 0 ? H5Sget_simple_extent_type(space) : H5S_NO_CLASS;
	if (scls == H5S_SIMPLE) {
		hsize_t d[TG_H5_MAX_RANK];
		in->rank = H5Sget_simple_extent_dims(space, d, NULL);
		for (int i = 0; i < in->rank; i++)
			in->dims[i] = d[i];
	} else {
		in->rank = scls == H5S_SCALAR ? 0 : -1;
	}
	if (space >= 0)
		H5Sclose(space);
	hid_t type = H5Dget_type(did);
	if (type >= 0) {
		describe_type(type, in);
		H5Tclose(type);
	} else {
		snprintf(in->type, sizeof in->type, "unknown");
	}
	hid_t dcpl = H5Dget_create_plist(did);
	if (dcpl >= 0) {
		if (H5Pget_layout(dcpl) == H5D_CHUNKED && in->rank > 0) {
			hsize_t c[TG_H5_MAX_RANK];
			if (H5Pget_chunk(dcpl, in->rank, c) == in->rank) {
				in->chunked = 1;
				for (int i = 0; i < in->rank; i++)
					in->chunk[i] = c[i];
			}
		}
		describe_filters(dcpl, in);
		H5Pclose(dcpl);
	}
}

/* ---- listing ---- */

struct walk {
	tg_h5_file *f;
	int (*fn)(const tg_h5_info *, void *);
	void *arg;
	int stopped;
	tg_h5_info info;
};

static herr_t visit(hid_t group, const char *name, const H5L_info_t *li, void *arg)
{
	struct walk *w = arg;
	if (li->type != H5L_TYPE_HARD)
		return 0;
	hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
	if (obj < 0)
		return 0;
	int ret = 0;
	if (H5Iget_type(obj) == H5I_DATASET) {
		char path[1024];
		snprintf(path, sizeof path, "/%s", name);
		describe(obj, path, &w->info);
		ret = w->fn(&w->info, w->arg);
		if (ret)
			w->stopped = ret;
	}
	H5Oclose(obj);
	return ret ? 1 : 0;
}

tg_h5_status tg_h5_list(tg_h5_file *f, int (*fn)(const tg_h5_info *, void *),
                        void *arg, int *stopped)
{
	struct walk *w = calloc(1, sizeof *w);
	if (!w)
		return ferr(f, TG_H5_ERR_NOMEM, "out of memory");
	w->f = f, w->fn = fn, w->arg = arg;
	herr_t r = H5Lvisit(f->fid, H5_INDEX_NAME, H5_ITER_INC, visit, w);
	if (stopped)
		*stopped = w->stopped;
	free(w);
	if (r < 0) {
		char why[200];
		hdf5_reason(why);
		return ferr(f, TG_H5_ERR_FORMAT, "cannot walk the file: %s", why);
	}
	return TG_H5_OK;
}

/* ---- datasets ---- */

static tg_h5_status derr(tg_h5_dset *d, tg_h5_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static tg_h5_status derr(tg_h5_dset *d, tg_h5_status st, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ferr(d->f, st, "dataset %s: %s", d->info.path, msg);
}

static void shape_str(const tg_h5_info *in, char *buf, size_t len)
{
	if (in->rank <= 0) {
		snprintf(buf, len, in->rank == 0 ? "scalar" : "empty");
		return;
	}
	buf[0] = 0;
	for (int i = 0; i < in->rank; i++) {
		size_t n = strlen(buf);
		snprintf(buf + n, len - n, i ? "x%llu" : "%llu", (unsigned long long)in->dims[i]);
	}
}

tg_h5_status tg_h5_dset_open(tg_h5_file *f, const char *path, tg_h5_dset **out)
{
	*out = NULL;
	char full[1024];
	if (snprintf(full, sizeof full, "%s%s", path[0] == '/' ? "" : "/", path) >= (int)sizeof full)
		return ferr(f, TG_H5_ERR_NOTFOUND, "dataset path too long");
	/* every component must exist (H5Lexists fails on a missing parent) */
	for (char *p = full + 1;; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			htri_t ex = full[1] ? H5Lexists(f->fid, full, H5P_DEFAULT) : 1;
			if (ex > 0 && c) {
				/* the parent must be a group to look inside it */
				H5O_type_t t = H5O_TYPE_UNKNOWN;
				hid_t o = H5Oopen(f->fid, full, H5P_DEFAULT);
				if (o >= 0) {
					if (H5Iget_type(o) != H5I_GROUP)
						t = H5O_TYPE_DATASET;
					else
						t = H5O_TYPE_GROUP;
					H5Oclose(o);
				}
				if (t != H5O_TYPE_GROUP)
					ex = 0;
			}
			*p = c;
			if (ex <= 0)
				return ferr(f, TG_H5_ERR_NOTFOUND, "no dataset %s", full);
			if (!c)
				break;
		}
	}
	hid_t obj = H5Oopen(f->fid, full, H5P_DEFAULT);
	if (obj < 0) {
		char why[200];
		hdf5_reason(why);
		return ferr(f, TG_H5_ERR_NOTFOUND, "cannot open %s: %s", full, why);
	}
	H5I_type_t it = H5Iget_type(obj);
	H5Oclose(obj);
	if (it != H5I_DATASET)
		return ferr(f, TG_H5_ERR_NOTFOUND, "%s is a %s, not a dataset", full,
		            it == H5I_GROUP ? "group" : "named datatype");
	tg_h5_dset *d = calloc(1, sizeof *d);
	if (!d)
		return ferr(f, TG_H5_ERR_NOMEM, "out of memory");
	d->f = f;
	d->axis = -1;
	d->space = -1;
	d->did = H5Dopen2(f->fid, full, H5P_DEFAULT);
	if (d->did < 0) {
		char why[200];
		hdf5_reason(why);
		free(d);
		return ferr(f, TG_H5_ERR_FORMAT, "cannot open dataset %s: %s", full, why);
	}
	describe(d->did, full, &d->info);
	*out = d;
	return TG_H5_OK;
}

const tg_h5_info *tg_h5_dset_info(const tg_h5_dset *d) { return &d->info; }

void tg_h5_dset_close(tg_h5_dset *d)
{
	if (!d)
		return;
	if (d->space >= 0)
		H5Sclose(d->space);
	if (d->did >= 0)
		H5Dclose(d->did);
	free(d);
}

static tg_h5_status check_readable(tg_h5_dset *d)
{
	const tg_h5_info *in = &d->info;
	if (!in->numeric)
		return derr(d, TG_H5_ERR_TYPE, "type %s is not numeric (integer or floating point)", in->type);
	if (in->filter_missing)
		return derr(d, TG_H5_ERR_FILTER, "compressed with filter %s, which this HDF5 library "
		            "cannot decode (a plugin on HDF5_PLUGIN_PATH may provide it)", in->missing);
	return TG_H5_OK;
}

static uint64_t next_prime(uint64_t n)
{
	if (n <= 2)
		return 2;
	for (n |= 1;; n += 2) {
		int prime = 1;
		for (uint64_t k = 3; k * k <= n; k += 2)
			if (n % k == 0) {
				prime = 0;
				break;
			}
		if (prime)
			return n;
	}
}

static uint64_t default_cache_cap(void)
{
	const char *e = getenv("TOMOGAN_H5_CACHE_MB");
	if (e && *e) {
		char *end;
		errno = 0;
		unsigned long long mb = strtoull(e, &end, 10);
		if (!*end && !errno && mb > 0 && mb < ((uint64_t)1 << 40))
			return (uint64_t)mb << 20;
	}
	return DEFAULT_CACHE_BYTES;
}

/* Sizes the chunk cache for slices along axis.  The cache pays only when a
 * chunk serves several slices (chunk extent > 1 along the axis) and
 * reading it whole is cheaper than reading its part again for each slice:
 * always for a compressed chunk (decompressed once, not once per slice),
 * and for an uncompressed one when the slice takes single elements from it
 * (axis 2, the fastest-varying).  Otherwise no cache is kept, and HDF5 reads
 * just the selected runs of an uncompressed chunk, or decompresses a
 * compressed one once for the one slice that uses it.  HDF5's default cache
 * (1 MiB) would instead load whole chunks only to evict them unused. */
static tg_h5_status set_cache(tg_h5_dset *d, int axis, uint64_t cap, int *thrash)
{
	const tg_h5_info *in = &d->info;
	*thrash = 0;
	if (!in->chunked)
		return TG_H5_OK;
	uint64_t c[3];
	if (in->rank == 3)
		c[0] = in->chunk[0], c[1] = in->chunk[1], c[2] = in->chunk[2];
	else
		c[0] = 1, c[1] = in->chunk[0], c[2] = in->chunk[1];
	double nchunks = 1, chunk_bytes = (double)in->type_size;
	for (int k = 0; k < 3; k++) {
		chunk_bytes *= (double)c[k];
		if (k != axis)
			nchunks *= ceil((double)d->view[k] / (double)c[k]);
	}
	double need = nchunks * chunk_bytes, nbytes = 0;
	if (!cap)
		cap = default_cache_cap();
	if (c[axis] > 1 && (in->filters[0] || axis == 2)) {
		nbytes = need;
		if (need > (double)cap) {
			/* slices cycle through more chunks than fit: every chunk
			 * would leave the cache before its next use */
			*thrash = 1;
			nbytes = 0;
		}
	}
	double fit = floor(nbytes / chunk_bytes);
	if (fit < 1)
		fit = 1;  /* HDF5 wants at least one slot */
	if (fit > nchunks)
		fit = nchunks;
	uint64_t slots = next_prime(fit * 100 > MAX_CACHE_SLOTS ? MAX_CACHE_SLOTS : (uint64_t)(fit * 100));
	hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
	if (dapl < 0)
		return derr(d, TG_H5_ERR_NOMEM, "cannot create an access property list");
	/* w0 = 1: a chunk read in full (all its slices done) goes first */
	H5Pset_chunk_cache(dapl, (size_t)slots, (size_t)nbytes, 1.0);
	/* HDF5 keeps one cache per open dataset, made by its first open: close
	 * ours before opening it again with the new cache */
	if (d->space >= 0)
		H5Sclose(d->space);
	d->space = -1;
	H5Dclose(d->did);
	d->did = H5Dopen2(d->f->fid, in->path, dapl);
	char why[200];
	if (d->did < 0)
		hdf5_reason(why);
	H5Pclose(dapl);
	if (d->did < 0)
		return derr(d, TG_H5_ERR_FORMAT, "cannot reopen: %s", why);
	return TG_H5_OK;
}

tg_h5_status tg_h5_slicer(tg_h5_dset *d, int axis, uint64_t cache_cap,
                          uint64_t *count, uint64_t *rows, uint64_t *cols,
                          int *thrash)
{
	const tg_h5_info *in = &d->info;
	int dummy;
	if (!thrash)
		thrash = &dummy;
	*thrash = 0;
	tg_h5_status st = check_readable(d);
	if (st)
		return st;
	if (in->rank != 2 && in->rank != 3) {
		char shape[200];
		shape_str(in, shape, sizeof shape);
		if (in->rank > 0)
			return derr(d, TG_H5_ERR_SHAPE, "is %d-D (%s); slices come from 2-D and 3-D datasets",
			            in->rank, shape);
		return derr(d, TG_H5_ERR_SHAPE, "is %s; slices come from 2-D and 3-D datasets", shape);
	}
	if (axis < 0 || axis > 2)
		return derr(d, TG_H5_ERR_ARG, "no axis %d", axis);
	if (in->rank == 3)
		d->view[0] = in->dims[0], d->view[1] = in->dims[1], d->view[2] = in->dims[2];
	else
		d->view[0] = 1, d->view[1] = in->dims[0], d->view[2] = in->dims[1];
	d->axis = axis;
	d->rows = d->view[axis == 0 ? 1 : 0];
	d->cols = d->view[axis == 2 ? 1 : 2];
	st = set_cache(d, axis, cache_cap, thrash);
	if (st)
		return st;
	if (d->space < 0) {
		d->space = H5Dget_space(d->did);
		if (d->space < 0)
			return derr(d, TG_H5_ERR_FORMAT, "cannot get the dataspace");
	}
	*count = d->view[axis];
	*rows = d->rows;
	*cols = d->cols;
	return TG_H5_OK;
}

uint64_t tg_h5_cache_bytes(const tg_h5_dset *d)
{
	size_t slots = 0, nbytes = 0;
	double w0;
	hid_t dapl = H5Dget_access_plist(d->did);
	if (dapl < 0)
		return 0;
	if (H5Pget_chunk_cache(dapl, &slots, &nbytes, &w0) < 0)
		nbytes = 0;
	H5Pclose(dapl);
	return nbytes;
}

static tg_h5_status read_slice(tg_h5_dset *d, uint64_t index, hid_t memtype, void *buf)
{
	if (d->axis < 0 || index >= d->view[d->axis])
		return derr(d, TG_H5_ERR_ARG, "slice %llu out of range", (unsigned long long)index);
	hsize_t start[3] = { 0, 0, 0 }, count[3];
	for (int k = 0; k < 3; k++)
		count[k] = d->view[k];
	start[d->axis] = index;
	count[d->axis] = 1;
	int off = d->info.rank == 2 ? 1 : 0;  /* a 2-D dataset drops the unit axis 0 */
	if (H5Sselect_hyperslab(d->space, H5S_SELECT_SET, start + off, NULL, count + off, NULL) < 0)
		return derr(d, TG_H5_ERR_ARG, "cannot select slice %llu", (unsigned long long)index);
	/* the memory space has the selection's own shape: HDF5 then moves whole
	 * chunks at once instead of mapping element runs between two shapes */
	hid_t mem = H5Screate_simple(d->info.rank, count + off, NULL);
	if (mem < 0)
		return derr(d, TG_H5_ERR_NOMEM, "cannot create a memory dataspace");
	herr_t r = H5Dread(d->did, memtype, mem, d->space, H5P_DEFAULT, buf);
	char why[200];
	if (r < 0)
		hdf5_reason(why);  /* before the next call clears HDF5's error stack */
	H5Sclose(mem);
	if (r < 0) {
		return derr(d, TG_H5_ERR_READ, "cannot read slice %llu along axis %d: %s",
		            (unsigned long long)index, d->axis, why);
	}
	return TG_H5_OK;
}

tg_h5_status tg_h5_read_slice(tg_h5_dset *d, uint64_t index, ts_dtype t, void *buf)
{
	hid_t mt;
	switch (t) {
	case TS_U8: mt = H5T_NATIVE_UINT8; break;
	case TS_U16: mt = H5T_NATIVE_UINT16; break;
	case TS_I16: mt = H5T_NATIVE_INT16; break;
	case TS_F32: mt = H5T_NATIVE_FLOAT; break;
	default: return derr(d, TG_H5_ERR_ARG, "cannot read as %s", ts_dtype_name(t));
	}
	return read_slice(d, index, mt, buf);
}

tg_h5_status tg_h5_read_slice_f64(tg_h5_dset *d, uint64_t index, double *buf)
{
	return read_slice(d, index, H5T_NATIVE_DOUBLE, buf);
}

int tg_h5_slice_raw(tg_h5_dset *d, uint64_t index, uint64_t *offset)
{
	if (d->axis != 0 || index >= d->view[0])
		return 0;
	int ok = 0;
	hid_t ft = H5Dget_type(d->did), dcpl = H5Dget_create_plist(d->did);
	if (ft < 0 || dcpl < 0 || H5Tequal(ft, H5T_NATIVE_FLOAT) <= 0 ||
	    H5Pget_nfilters(dcpl) != 0 || H5Pget_external_count(dcpl) != 0)
		goto out;
	uint64_t bytes = d->rows * d->cols * sizeof(float);
	H5D_layout_t lay = H5Pget_layout(dcpl);
	int rank = d->info.rank, off = rank == 2 ? 1 : 0;
	if (lay == H5D_CONTIGUOUS) {
		haddr_t a = H5Dget_offset(d->did);
		if (a != HADDR_UNDEF) {
			*offset = (uint64_t)a + index * bytes;
			ok = 1;
		}
	} else if (lay == H5D_CHUNKED && (rank == 2 || rank == 3)) {
		hsize_t cd[3], coord[3] = { index, 0, 0 };
		const uint64_t want[3] = { 1, d->rows, d->cols };
		ok = H5Pget_chunk(dcpl, rank, cd) == rank;
		for (int k = 0; ok && k < rank; k++)
			ok = cd[k] == want[k + off];
		unsigned mask = 0;
		haddr_t a = HADDR_UNDEF;
		hsize_t size = 0;
		ok = ok && H5Dget_chunk_info_by_coord(d->did, coord + off, &mask, &a, &size) >= 0 &&
		     a != HADDR_UNDEF && mask == 0 && size == bytes;
		if (ok)
			*offset = (uint64_t)a;
	}
out:
	if (ft >= 0)
		H5Tclose(ft);
	if (dcpl >= 0)
		H5Pclose(dcpl);
	H5Eclear2(H5E_DEFAULT);
	return ok;
}

tg_h5_status tg_h5_read_vector(tg_h5_dset *d, uint64_t n, double *buf)
{
	tg_h5_status st = check_readable(d);
	if (st)
		return st;
	if (d->info.rank != 1 || d->info.dims[0] != n || n > MAX_VECTOR)
		return derr(d, TG_H5_ERR_SHAPE, "is not a vector of %llu values", (unsigned long long)n);
	if (H5Dread(d->did, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
		char why[200];
		hdf5_reason(why);
		return derr(d, TG_H5_ERR_READ, "cannot read: %s", why);
	}
	return TG_H5_OK;
}

tg_h5_status tg_h5_attr_string(tg_h5_dset *d, const char *name, char **out)
{
	*out = NULL;
	if (H5Aexists(d->did, name) <= 0)
		return derr(d, TG_H5_ERR_NOTFOUND, "no attribute %s", name);
	hid_t aid = H5Aopen(d->did, name, H5P_DEFAULT);
	if (aid < 0)
		return derr(d, TG_H5_ERR_FORMAT, "cannot open attribute %s", name);
	tg_h5_status st = TG_H5_OK;
	hid_t ft = H5Aget_type(aid), sp = H5Aget_space(aid), mt = -1;
	if (ft < 0 || sp < 0 || H5Tget_class(ft) != H5T_STRING) {
		st = derr(d, TG_H5_ERR_TYPE, "attribute %s is not a string", name);
		goto done;
	}
	if (H5Sget_simple_extent_npoints(sp) != 1) {
		st = derr(d, TG_H5_ERR_SHAPE, "attribute %s is not a single string", name);
		goto done;
	}
	mt = H5Tcopy(H5T_C_S1);
	H5Tset_cset(mt, H5Tget_cset(ft));
	if (H5Tis_variable_str(ft) > 0) {
		char *s = NULL;
		H5Tset_size(mt, H5T_VARIABLE);
		if (H5Aread(aid, mt, &s) < 0) {
			st = derr(d, TG_H5_ERR_READ, "cannot read attribute %s", name);
			goto done;
		}
		*out = strdup(s ? s : "");
		H5free_memory(s);
	} else {
		size_t size = H5Tget_size(ft);
		char *s = calloc(1, size + 1);
		if (!s) {
			st = derr(d, TG_H5_ERR_NOMEM, "out of memory");
			goto done;
		}
		H5Tset_size(mt, size + 1);
		H5Tset_strpad(mt, H5T_STR_NULLTERM);
		if (H5Aread(aid, mt, s) < 0) {
			free(s);
			st = derr(d, TG_H5_ERR_READ, "cannot read attribute %s", name);
			goto done;
		}
		*out = s;
	}
	if (!*out)
		st = derr(d, TG_H5_ERR_NOMEM, "out of memory");
done:
	if (mt >= 0)
		H5Tclose(mt);
	if (sp >= 0)
		H5Sclose(sp);
	if (ft >= 0)
		H5Tclose(ft);
	H5Aclose(aid);
	return st;
}

/* ---- flat and dark fields ---- */

double tg_h5_minus_log(double v)
{
	if (!(v > TG_H5_LOG_EPS))  /* NaN too */
		v = TG_H5_LOG_EPS;
	return -log(v);
}

/* Copies an error raised in another file's handle into f's. */
static tg_h5_status pass_error(tg_h5_file *f, tg_h5_dset *d, tg_h5_status st)
{
	if (d->f != f)
		snprintf(f->err, sizeof f->err, "%s", d->f->err);
	return st;
}

/* Mean of a (k, rows, cols) stack over its first axis, or a copy of a
 * (rows, cols) image, into acc (float64). */
static tg_h5_status field_mean(tg_h5_file *f, tg_h5_dset *d, const char *what,
                               uint64_t rows, uint64_t cols, double *acc, double *tmp)
{
	const tg_h5_info *in = &d->info;
	uint64_t n, r, c;
	int ok = (in->rank == 3 && in->dims[0] >= 1 && in->dims[1] == rows && in->dims[2] == cols) ||
	         (in->rank == 2 && in->dims[0] == rows && in->dims[1] == cols);
	if (in->numeric && !in->filter_missing && !ok) {
		char shape[200];
		shape_str(in, shape, sizeof shape);
		derr(d, TG_H5_ERR_SHAPE, "%s field has shape %s; projections of %llux%llu need (k,%llu,%llu) or (%llu,%llu)",
		     what, shape, (unsigned long long)rows, (unsigned long long)cols,
		     (unsigned long long)rows, (unsigned long long)cols,
		     (unsigned long long)rows, (unsigned long long)cols);
		return pass_error(f, d, TG_H5_ERR_SHAPE);
	}
	tg_h5_status st = tg_h5_slicer(d, 0, 0, &n, &r, &c, NULL);
	if (st)
		return pass_error(f, d, st);
	size_t px = (size_t)(rows * cols);
	memset(acc, 0, px * sizeof *acc);
	for (uint64_t k = 0; k < n; k++) {
		st = tg_h5_read_slice_f64(d, k, tmp);
		if (st)
			return pass_error(f, d, st);
		for (size_t i = 0; i < px; i++)
			acc[i] += tmp[i];
	}
	for (size_t i = 0; i < px; i++)
		acc[i] /= (double)n;
	return TG_H5_OK;
}

tg_h5_status tg_h5_flatfield_load(tg_h5_flatfield *ff, tg_h5_file *f,
                                  tg_h5_dset *white, tg_h5_dset *dark,
                                  uint64_t rows, uint64_t cols)
{
	memset(ff, 0, sizeof *ff);
	if (!rows || !cols || rows > SIZE_MAX / sizeof(double) / cols)
		return ferr(f, TG_H5_ERR_LIMIT, "projections of %llux%llu are too large",
		            (unsigned long long)rows, (unsigned long long)cols);
	size_t px = (size_t)(rows * cols);
	ff->rows = rows;
	ff->cols = cols;
	ff->dark = calloc(px, sizeof(double));
	ff->denom = calloc(px, sizeof(double));
	double *tmp = calloc(px, sizeof(double));
	tg_h5_status st = TG_H5_OK;
	if (!ff->dark || !ff->denom || !tmp) {
		st = ferr(f, TG_H5_ERR_NOMEM, "out of memory for flat and dark fields");
		goto out;
	}
	if (dark && (st = field_mean(f, dark, "dark", rows, cols, ff->dark, tmp)))
		goto out;
	if (white) {
		if ((st = field_mean(f, white, "white", rows, cols, ff->denom, tmp)))
			goto out;
	} else {
		for (size_t i = 0; i < px; i++)
			ff->denom[i] = 1;
	}
	for (size_t i = 0; i < px; i++) {
		double den = ff->denom[i] - ff->dark[i];
		if (!(den >= TG_H5_FLAT_EPS)) {
			den = TG_H5_FLAT_EPS;
			ff->clamped++;
		}
		ff->denom[i] = den;
	}
out:
	free(tmp);
	if (st)
		tg_h5_flatfield_free(ff);
	return st;
}

void tg_h5_flatfield_free(tg_h5_flatfield *ff)
{
	free(ff->dark);
	free(ff->denom);
	ff->dark = ff->denom = NULL;
}

void tg_h5_flatfield_apply(const tg_h5_flatfield *ff, int axis, uint64_t index,
                           uint64_t slice_rows, uint64_t slice_cols,
                           const double *in, float *out, int minus_log)
{
	for (uint64_t r = 0; r < slice_rows; r++) {
		const double *src = in + r * slice_cols;
		float *dst = out + r * slice_cols;
		if (!ff) {
			for (uint64_t c = 0; c < slice_cols; c++)
				dst[c] = (float)(minus_log ? tg_h5_minus_log(src[c]) : src[c]);
			continue;
		}
		/* the fields' pixels under this row of the slice: a row of the
		 * projection for axes 0 and 1, a column (stride cols) for axis 2 */
		uint64_t at = axis == 0 ? r * ff->cols : axis == 1 ? index * ff->cols : index;
		const double *dk = ff->dark + at, *dn = ff->denom + at;
		if (axis == 2) {
			for (uint64_t c = 0; c < slice_cols; c++) {
				double v = (src[c] - dk[c * ff->cols]) / dn[c * ff->cols];
				dst[c] = (float)(minus_log ? tg_h5_minus_log(v) : v);
			}
		} else if (minus_log) {
			for (uint64_t c = 0; c < slice_cols; c++)
				dst[c] = (float)tg_h5_minus_log((src[c] - dk[c]) / dn[c]);
		} else {
			for (uint64_t c = 0; c < slice_cols; c++)
				dst[c] = (float)((src[c] - dk[c]) / dn[c]);
		}
	}
}
