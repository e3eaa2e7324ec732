/* h5slice: 2-D slices of an HDF5 dataset (DataExchange projections,
 * sinograms, volumes) as a tensor stream, optionally flat/dark corrected
 * and minus-logged.  See h5slice(1). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "clip.h"
#include "io/h5.h"

#define USAGE "h5slice [-hq] [--axis N] [--range START:STOP:STEP] [--type f32|keep] " \
	"[--flat-dark] [--white DATASET] [--dark DATASET] [--minus-log] [--extrema] [--list] " \
	"[-o FILE] FILE.h5[:DATASET]"

#define DEFAULT_DATASET "/exchange/data"
#define DEFAULT_WHITE "/exchange/data_white"
#define DEFAULT_DARK "/exchange/data_dark"
#define DEFAULT_THETA "/exchange/theta"

/* A Python slice: start:stop:step, each part optional, or one index. */
typedef struct {
	int single;
	int has_start, has_stop;
	long long start, stop, step;
} slice_spec;

typedef struct {
	int axis;
	const char *range;
	slice_spec slice;
	int keep;
	int flat_dark, minus_log, extrema, list, quiet;
	const char *white, *dark, *out, *input;
} options;

/* "a" or "a:b" or "a:b:c" with optional parts; -1 on bad syntax. */
static int parse_slice(const char *s, slice_spec *sl)
{
	memset(sl, 0, sizeof *sl);
	sl->step = 1;
	const long long lim = (long long)1 << 62;
	char part[3][64];
	int n = 0;
	for (const char *p = s;; n++) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		if (n == 3 || len >= sizeof part[0])
			return -1;
		memcpy(part[n], p, len);
		part[n][len] = 0;
		if (!colon) {
			n++;
			break;
		}
		p = colon + 1;
	}
	long long v[3];
	for (int i = 0; i < n; i++) {
		if (!part[i][0])
			continue;
		if (part[i][0] != '-' && (part[i][0] < '0' || part[i][0] > '9'))
			return -1;
		char *end;
		errno = 0;
		v[i] = strtoll(part[i], &end, 10);
		if (*end || errno || v[i] < -lim || v[i] > lim)
			return -1;
	}
	if (n == 1) {
		if (!part[0][0])
			return -1;
		sl->single = 1;
		sl->start = v[0];
		return 0;
	}
	if ((sl->has_start = part[0][0] != 0))
		sl->start = v[0];
	if ((sl->has_stop = part[1][0] != 0))
		sl->stop = v[1];
	if (n == 3 && part[2][0]) {
		if (v[2] == 0)
			return -1;
		sl->step = v[2];
	}
	return 0;
}

/* Python's slice.indices(len): first index, step and count.  -1 when a
 * single index lies outside the axis. */
static int resolve_slice(const slice_spec *sl, long long len,
                         long long *first, long long *step, long long *count)
{
	if (sl->single) {
		long long i = sl->start < 0 ? sl->start + len : sl->start;
		if (i < 0 || i >= len)
			return -1;
		*first = i, *step = 1, *count = 1;
		return 0;
	}
	long long st = sl->step;
	long long lower = st > 0 ? 0 : -1, upper = st > 0 ? len : len - 1;
	long long a, b;
	if (!sl->has_start) {
		a = st < 0 ? upper : lower;
	} else {
		a = sl->start < 0 ? sl->start + len : sl->start;
		a = a < lower ? lower : a > upper ? upper : a;
	}
	if (!sl->has_stop) {
		b = st < 0 ? lower : upper;
	} else {
		b = sl->stop < 0 ? sl->stop + len : sl->stop;
		b = b < lower ? lower : b > upper ? upper : b;
	}
	if (st > 0)
		*count = b > a ? (b - a - 1) / st + 1 : 0;
	else
		*count = a > b ? (a - b - 1) / -st + 1 : 0;
	*first = a;
	*step = st;
	return 0;
}

static void parse_options(int argc, char **argv, options *o)
{
	enum { O_AXIS = 256, O_RANGE, O_TYPE, O_FLAT, O_WHITE, O_DARK, O_LOG, O_EXTREMA, O_LIST };
	static const struct option longopts[] = {
		{ "axis", required_argument, NULL, O_AXIS },
		{ "range", required_argument, NULL, O_RANGE },
		{ "type", required_argument, NULL, O_TYPE },
		{ "flat-dark", no_argument, NULL, O_FLAT },
		{ "white", required_argument, NULL, O_WHITE },
		{ "dark", required_argument, NULL, O_DARK },
		{ "minus-log", no_argument, NULL, O_LOG },
		{ "extrema", no_argument, NULL, O_EXTREMA },
		{ "list", no_argument, NULL, O_LIST },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	memset(o, 0, sizeof *o);
	o->out = "-";
	int c, processing = 0;
	opterr = 0;  /* one message of ours instead of getopt's */
	while ((c = getopt_long(argc, argv, ":hqo:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': tg_help();
		case 'q': o->quiet = 1; break;
		case 'o': o->out = optarg; processing = 1; break;
		case O_AXIS: o->axis = (int)tg_opt_long("--axis", optarg, 0, 2); processing = 1; break;
		case O_RANGE:
			if (parse_slice(optarg, &o->slice))
				tg_usage_error("bad value for --range: '%s' (START:STOP:STEP, "
				               "each an optional integer, STEP not 0, or one INDEX)", optarg);
			o->range = optarg;
			processing = 1;
			break;
		case O_TYPE:
			if (strcmp(optarg, "f32") == 0)
				o->keep = 0;
			else if (strcmp(optarg, "keep") == 0)
				o->keep = 1;
			else
				tg_usage_error("bad value for --type: '%s' (f32 or keep)", optarg);
			processing = 1;
			break;
		case O_FLAT: o->flat_dark = 1; processing = 1; break;
		case O_WHITE: o->white = optarg; processing = 1; break;
		case O_DARK: o->dark = optarg; processing = 1; break;
		case O_LOG: o->minus_log = 1; processing = 1; break;
		case O_EXTREMA: o->extrema = 1; processing = 1; break;
		case O_LIST: o->list = 1; break;
		case ':': tg_usage_error("%s needs a value", argv[optind - 1]);
		default:
			if (optopt >= 256)  /* a long option given a value it does not take */
				tg_usage_error("%s takes no value", argv[optind - 1]);
			if (optopt)
				tg_usage_error("unknown option -%c", optopt);
			tg_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		tg_usage_error(optind == argc ? "no input file" : "one input file only");
	o->input = argv[optind];
	if (strcmp(o->input, "-") == 0)
		tg_usage_error("HDF5 cannot read standard input (it needs a file it can seek in)");
	if (o->list && processing)
		tg_usage_error("--list takes no other options but -q");
	if ((o->white || o->dark) && !o->flat_dark)
		tg_usage_error("--white and --dark go with --flat-dark");
	if (o->keep && (o->flat_dark || o->minus_log))
		tg_usage_error("--type keep cannot go with --flat-dark or --minus-log (their results are f32)");
}

/* FILE[:DATASET]: the whole argument when it names an existing file, else
 * the shortest prefix before a colon that does (so a file name may hold a
 * colon), else the part before the first colon (for the error message). */
static void split_spec(const char *arg, const char *def, char **file, char **dset)
{
	struct stat st;
	size_t n = strlen(arg), cut = n;
	if (stat(arg, &st) != 0) {
		size_t first = n;
		for (size_t i = 0; i < n; i++) {
			if (arg[i] != ':')
				continue;
			if (first == n)
				first = i;
			char *prefix = strndup(arg, i);
			if (!prefix)
				tg_die(TG_EX_SOFTWARE, "out of memory");
			int found = stat(prefix, &st) == 0;
			free(prefix);
			if (found) {
				cut = i;
				break;
			}
		}
		if (cut == n)
			cut = first;
	}
	*file = strndup(arg, cut);
	*dset = strdup(cut < n && arg[cut + 1] ? arg + cut + 1 : def);
	if (!*file || !*dset)
		tg_die(TG_EX_SOFTWARE, "out of memory");
}

static tg_h5_file *open_file(const char *path)
{
	tg_h5_file *f;
	tg_h5_status st = tg_h5_open(&f, path);
	if (st)
		tg_die(tg_h5_exit_status(st), "%s", tg_h5_error(f));
	return f;
}

static tg_h5_dset *open_dset(tg_h5_file *f, const char *path)
{
	tg_h5_dset *d;
	tg_h5_status st = tg_h5_dset_open(f, path, &d);
	if (st)
		tg_die(tg_h5_exit_status(st), "%s", tg_h5_error(f));
	return d;
}

static int list_one(const tg_h5_info *in, void *arg)
{
	(void)arg;
	char shape[400] = "", chunk[400] = "-";
	if (in->rank <= 0)
		snprintf(shape, sizeof shape, in->rank == 0 ? "scalar" : "empty");
	for (int i = 0; i < in->rank; i++) {
		size_t n = strlen(shape);
		snprintf(shape + n, sizeof shape - n, i ? "x%" PRIu64 : "%" PRIu64, in->dims[i]);
	}
	for (int i = 0; in->chunked && i < in->rank; i++) {
		size_t n = i ? strlen(chunk) : 0;
		snprintf(chunk + n, sizeof chunk - n, i ? "x%" PRIu64 : "%" PRIu64, in->chunk[i]);
	}
	printf("%s\t%s\t%s\t%s\t%s\n", in->path, shape, in->type, chunk,
	       in->filters[0] ? in->filters : "-");
	return ferror(stdout) ? 1 : 0;
}

static void list(const options *o)
{
	char *file, *dset;
	split_spec(o->input, "", &file, &dset);
	tg_h5_file *f = open_file(file);
	if (dset[0]) {
		tg_h5_dset *d = open_dset(f, dset);
		list_one(tg_h5_dset_info(d), NULL);
		tg_h5_dset_close(d);
	} else {
		tg_h5_status st = tg_h5_list(f, list_one, NULL, NULL);
		if (st)
			tg_die(tg_h5_exit_status(st), "%s", tg_h5_error(f));
	}
	tg_h5_close(f);
	free(file);
	free(dset);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			exit(0);
		tg_die(TG_EX_IOERR, "standard output: %s", strerror(errno));
	}
	exit(0);
}

/* A metadata value must be UTF-8 without control characters. */
static void meta_set_clean(ts_meta *m, const char *key, const char *val)
{
	char *v = strdup(val);
	if (!v)
		tg_die(TG_EX_SOFTWARE, "out of memory");
	int utf8 = ts_utf8_valid(v, strlen(v));
	for (char *p = v; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 127 || (!utf8 && (unsigned char)*p >= 0x80))
			*p = '?';
	if (ts_meta_set(m, key, v))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	free(v);
}

/* "theta": the angles of the selected projections, when the dataset is
 * the DataExchange projections read along axis 0 and theta fits them. */
static void add_theta(ts_meta *m, tg_h5_file *f, uint64_t nproj,
                      long long first, long long step, long long count)
{
	tg_h5_dset *d;
	if (tg_h5_dset_open(f, DEFAULT_THETA, &d))
		return;
	const tg_h5_info *in = tg_h5_dset_info(d);
	double *theta = NULL;
	if (in->rank != 1 || in->dims[0] != nproj || !in->numeric) {
		tg_warn("%s: %s does not hold one angle per projection (%" PRIu64 "); no theta recorded",
		        tg_h5_path(f), DEFAULT_THETA, nproj);
		goto out;
	}
	theta = tg_malloc(nproj * sizeof *theta);
	if (tg_h5_read_vector(d, nproj, theta)) {
		tg_warn("%s; no theta recorded", tg_h5_error(f));
		goto out;
	}
	char *val = tg_malloc((size_t)count * 24 + 1), *p = val;
	*p = 0;
	for (long long i = 0; i < count; i++)
		p += sprintf(p, i ? " %.9g" : "%.9g", theta[first + i * step]);
	if (ts_meta_set(m, "theta", val))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	free(val);
	char *units;
	if (tg_h5_attr_string(d, "units", &units) == TG_H5_OK) {
		meta_set_clean(m, "theta.units", units);
		free(units);
	}
out:
	free(theta);
	tg_h5_dset_close(d);
}

/* --white/--dark: FILE:DATASET in another file, else a dataset of f. */
static tg_h5_dset *open_field(tg_h5_file *f, const char *spec, const char *def,
                              tg_h5_file **other, ts_meta *m, const char *key)
{
	*other = NULL;
	if (spec && strchr(spec, ':')) {
		char *file, *dset;
		split_spec(spec, def, &file, &dset);
		*other = open_file(file);
		tg_h5_dset *d = open_dset(*other, dset);
		meta_set_clean(m, key, spec);
		free(file);
		free(dset);
		return d;
	}
	meta_set_clean(m, key, spec ? spec : def);
	return open_dset(f, spec ? spec : def);
}

/* The dataset being sliced and the slices chosen. */
typedef struct {
	char *file, *path;
	tg_h5_file *f;
	tg_h5_dset *d;
	const tg_h5_info *in;
	uint64_t n, rows, cols;           /* slices along the axis, slice shape */
	long long first, step, count;     /* the slices written */
} source;

static void open_source(const options *o, source *s)
{
	split_spec(o->input, DEFAULT_DATASET, &s->file, &s->path);
	s->f = open_file(s->file);
	s->d = open_dset(s->f, s->path);
	s->in = tg_h5_dset_info(s->d);
	int thrash;
	tg_h5_status st = tg_h5_slicer(s->d, o->axis, 0, &s->n, &s->rows, &s->cols, &thrash);
	if (st)
		tg_die(tg_h5_exit_status(st), "%s", tg_h5_error(s->f));
	if (thrash)
		tg_warn("%s: dataset %s: the chunks one slice along axis %d touches exceed the "
		        "chunk cache (TOMOGAN_H5_CACHE_MB): each slice reads them again",
		        s->file, s->in->path, o->axis);
	if (s->rows == 0 || s->cols == 0)
		tg_die(TG_EX_DATAERR, "%s: dataset %s: slices along axis %d would be empty (%" PRIu64
		       "x%" PRIu64 ")", s->file, s->in->path, o->axis, s->rows, s->cols);
	s->first = 0, s->step = 1, s->count = (long long)s->n;
	if (o->range && resolve_slice(&o->slice, (long long)s->n, &s->first, &s->step, &s->count))
		tg_die(TG_EX_DATAERR, "%s: dataset %s: --range %s: index outside axis %d of length %" PRIu64,
		       s->file, s->in->path, o->range, o->axis, s->n);
}

static void close_source(source *s)
{
	tg_h5_dset_close(s->d);
	tg_h5_close(s->f);
	free(s->file);
	free(s->path);
}

/* Stream header: slice shape and type, provenance metadata. */
static void make_header(const options *o, const source *s, ts_dtype type, ts_header *h)
{
	memset(h, 0, sizeof *h);
	ts_meta_init(&h->meta);
	uint64_t dims[2] = { s->rows, s->cols };
	ts_header_shape(h, type, 2, dims);
	if (ts_header_check(h))
		tg_die(TG_EX_DATAERR, "%s: dataset %s: slices of %" PRIu64 "x%" PRIu64 " %s are beyond "
		       "the stream's limits (TOMOGAN_MAX_FRAME_MB)", s->file, s->in->path, s->rows,
		       s->cols, ts_dtype_name(type));
	meta_set_clean(&h->meta, "source", s->file);
	meta_set_clean(&h->meta, "dataset", s->in->path);
	if (ts_meta_setf(&h->meta, "axis", "%d", o->axis) ||
	    ts_meta_setf(&h->meta, "index.start", "%lld", s->first) ||
	    ts_meta_setf(&h->meta, "index.step", "%lld", s->step) ||
	    ts_meta_setf(&h->meta, "index.count", "%lld", s->count))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	if (strcmp(s->in->path, DEFAULT_DATASET) == 0 && o->axis == 0 && s->count > 0)
		add_theta(&h->meta, s->f, s->n, s->first, s->step, s->count);
	if (o->flat_dark && !o->minus_log &&
	    (ts_meta_set_range(&h->meta, 0, 1) || ts_meta_set(&h->meta, "range.meaning", "transmission")))
		tg_die(TG_EX_SOFTWARE, "out of memory");
}

/* Averages the white and dark fields for the projections of s. */
static void load_fields(const options *o, const source *s, ts_meta *m, tg_h5_flatfield *ff)
{
	tg_h5_file *wfile, *dfile;
	tg_h5_dset *white = open_field(s->f, o->white, DEFAULT_WHITE, &wfile, m, "white");
	tg_h5_dset *dark = open_field(s->f, o->dark, DEFAULT_DARK, &dfile, m, "dark");
	/* the projection image is the slice of axis 0 */
	const tg_h5_info *in = s->in;
	uint64_t prow = in->rank == 3 ? in->dims[1] : in->dims[0];
	uint64_t pcol = in->rank == 3 ? in->dims[2] : in->dims[1];
	tg_h5_status st = tg_h5_flatfield_load(ff, s->f, white, dark, prow, pcol);
	if (st)
		tg_die(tg_h5_exit_status(st), "%s", tg_h5_error(s->f));
	tg_h5_dset_close(white);
	tg_h5_dset_close(dark);
	tg_h5_close(wfile);
	tg_h5_close(dfile);
}

/* Slice i of s as the frame h5slice writes (type, flat/dark, -log) into
 * frame; raw: room for a slice of doubles where those need it. */
static void read_frame(const options *o, const source *s, const tg_h5_flatfield *ff,
                       ts_dtype type, long long i, double *raw, void *frame)
{
	uint64_t index = (uint64_t)(s->first + i * s->step);
	tg_h5_status st;
	if (raw) {
		st = tg_h5_read_slice_f64(s->d, index, raw);
		if (!st)
			tg_h5_flatfield_apply(o->flat_dark ? ff : NULL, o->axis, index, s->rows,
			                      s->cols, raw, frame, o->minus_log);
	} else {
		st = tg_h5_read_slice(s->d, index, type, frame);
	}
	if (st)
		tg_die(tg_h5_exit_status(st), "%s", tg_h5_error(s->f));
}

/* --extrema by mapping the file: the slices' values where they lie in the
 * page cache, no copy; two threads, frames taken in turn. */
struct extrema_map {
	const char *base;        /* the mapped file */
	const uint64_t *offset;  /* of each slice */
	size_t n;                /* values a slice */
	long long count;
	float *mn, *mx;
	int part, parts;
};

static void *extrema_map_run(void *arg)
{
	struct extrema_map *m = arg;
	for (long long i = m->part; i < m->count; i += m->parts) {
		const float *v = (const float *)(m->base + m->offset[i]);
		if (!tg_clip_minmax(v, m->n, &m->mn[i], &m->mx[i]))
			m->mn[i] = m->mx[i] = NAN;
	}
	return NULL;
}

/* The mapped first pass where every slice lies in the file as native
 * floats (tg_h5_slice_raw): 1 when done, 0 to read the slices instead.
 * Slice 0 read both ways must agree, or the map is not trusted. */
static int extrema_mapped(const options *o, const source *s, ts_dtype type, float *mn,
                          float *mx)
{
	if (type != TS_F32 || o->flat_dark || o->minus_log)
		return 0;
	size_t px = (size_t)(s->rows * s->cols), bytes = px * sizeof(float);
	uint64_t *off = tg_malloc((size_t)s->count * sizeof *off);
	int ok = 1;
	for (long long i = 0; ok && i < s->count; i++)
		ok = tg_h5_slice_raw(s->d, (uint64_t)(s->first + i * s->step), &off[i]);
	int fd = ok ? open(s->file, O_RDONLY) : -1;
	struct stat st;
	ok = fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0;
	for (long long i = 0; ok && i < s->count; i++)   /* inside the file, floats aligned */
		ok = off[i] % sizeof(float) == 0 && off[i] <= (uint64_t)st.st_size &&
		     (uint64_t)st.st_size - off[i] >= bytes;
	char *base = ok ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
	if (fd >= 0)
		close(fd);
	ok = base != MAP_FAILED;
	if (ok) {
		float *first = tg_malloc(bytes);
		read_frame(o, s, NULL, type, 0, NULL, first);
		ok = memcmp(first, base + off[0], bytes) == 0;
		free(first);
	}
	if (ok) {
		(void)madvise(base, (size_t)st.st_size, MADV_SEQUENTIAL);
		struct extrema_map m[2];
		pthread_t th;
		for (int t = 0; t < 2; t++)
			m[t] = (struct extrema_map){ base, off, px, s->count, mn, mx, t, 2 };
		int two = tg_thread_create(&th, extrema_map_run, &m[1]) == 0;
		if (!two)
			m[0].parts = 1;
		extrema_map_run(&m[0]);
		if (two)
			pthread_join(th, NULL);
	}
	if (base != MAP_FAILED)
		munmap(base, (size_t)st.st_size);
	free(off);
	return ok;
}

/* --extrema: a first pass over the slices for every frame's minimum and
 * maximum as float (NaN left out), into the header: from the mapped file
 * where the slices lie there as they are written, else read one by one
 * like the frames themselves. */
static void add_extrema(const options *o, const source *s, const tg_h5_flatfield *ff,
                        ts_dtype type, double *raw, ts_header *h)
{
	if (s->count == 0)
		return;
	size_t px = (size_t)(s->rows * s->cols);
	float *mn = tg_malloc((size_t)s->count * sizeof *mn);
	float *mx = tg_malloc((size_t)s->count * sizeof *mx);
	if (!extrema_mapped(o, s, type, mn, mx)) {
		void *frame = tg_malloc(px * ts_dtype_size(type));
		for (long long i = 0; i < s->count; i++) {
			read_frame(o, s, ff, type, i, raw, frame);
			if (!tg_clip_minmax_typed(type, frame, px, &mn[i], &mx[i]))
				mn[i] = mx[i] = NAN;
			tg_progress("extrema: slice %lld of %lld", i + 1, s->count);
		}
		tg_progress_done();
		free(frame);
	}
	if (tg_extrema_set(&h->meta, mn, mx, (size_t)s->count))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	free(mn);
	free(mx);
}

int main(int argc, char **argv)
{
	options o;
	tg_init(argc, argv, "h5slice", USAGE);
	parse_options(argc, argv, &o);
	tg_set_quiet(o.quiet);
	if (o.list)
		list(&o);

	tg_out out;
	tg_out_open(&out, o.out);
	source s;
	open_source(&o, &s);
	ts_dtype type = o.keep ? s.in->keep_type : TS_F32;
	ts_header h;
	make_header(&o, &s, type, &h);
	tg_h5_flatfield ff;
	if (o.flat_dark)
		load_fields(&o, &s, &h.meta, &ff);
	size_t px = (size_t)(s.rows * s.cols);
	double *raw = o.flat_dark || o.minus_log ? tg_malloc(px * sizeof *raw) : NULL;
	if (o.extrema)
		add_extrema(&o, &s, &ff, type, raw, &h);

	ts_writer *w = tg_writer_open(&out, &h, 0);
	for (long long i = 0; i < s.count; i++) {
		/* the writer's room: into a pipe it goes on without a copy */
		void *frame = ts_writer_payload(w);
		if (!frame)
			tg_die(TG_EX_SOFTWARE, "out of memory");
		read_frame(&o, &s, &ff, type, i, raw, frame);
		tg_write_frame(w, frame);
		tg_progress("slice %lld of %lld", i + 1, s.count);
	}
	tg_progress_done();
	tg_writer_close(w, &out);

	if (o.flat_dark)
		tg_h5_flatfield_free(&ff);
	free(raw);
	ts_header_free(&h);
	close_source(&s);
	return 0;
}
