/* tscut: selects frames of a tensor stream by index ranges, head or tail,
 * and shuffles or splits them with a seeded generator (tscut(1)).
 *
 * Plain ranges and --head stream with one frame in memory and stop reading
 * once nothing further can be selected.  --tail keeps the last N frames;
 * --shuffle and --split keep every selected frame.  Kept frames live in
 * memory up to -m MiB and in an unlinked temporary file beyond that. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clip.h"
#include "stats.h"

#define USAGE "tscut [-h] [-m mib] [-o file] [-z level] [--head n | --tail n] [--shuffle] [--seed seed]\n" \
              "             [--split frac file2] [range ...] [file]"
#define IDX_MAX ((int64_t)1 << 62)

/* Python's slice start:stop:step; a single index is start:start+1 that
 * must exist.  stop == IDX_MAX: to the end. */
struct range {
	int64_t start, stop, step;
	int single;
};

struct opts {
	struct range *ranges;
	size_t nranges;
	int64_t head, tail;     /* -1: not given */
	int shuffle, zstd;
	uint64_t seed;
	double split;           /* -1: no split */
	const char *split_path;
	const char *output;
	uint64_t max_mem;
	const char *path;
};

/* One integer of a range; empty is "absent" (returns 1). */
static int parse_index(const char *s, size_t len, int64_t *out)
{
	char buf[32];
	long v;
	if (len == 0)
		return 1;
	if (len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	if (tg_parse_long(buf, -IDX_MAX, IDX_MAX, &v))
		return -1;
	*out = v;
	return 0;
}

/* "I", "A:B" or "A:B:S" with each part optional except I. */
static int parse_one(const char *s, size_t len, struct range *r)
{
	const char *c1 = memchr(s, ':', len);
	r->step = 1;
	r->single = 0;
	if (!c1) {
		r->single = 1;
		if (parse_index(s, len, &r->start))
			return -1;
		r->stop = r->start + 1;
		return 0;
	}
	const char *rest = c1 + 1, *end = s + len;
	const char *c2 = memchr(rest, ':', (size_t)(end - rest));
	int st = parse_index(s, (size_t)(c1 - s), &r->start);
	if (st < 0)
		return -1;
	if (st == 1)
		r->start = 0;
	st = parse_index(rest, (size_t)((c2 ? c2 : end) - rest), &r->stop);
	if (st < 0)
		return -1;
	if (st == 1)
		r->stop = IDX_MAX;
	if (c2) {
		st = parse_index(c2 + 1, (size_t)(end - c2 - 1), &r->step);
		if (st < 0 || memchr(c2 + 1, ':', (size_t)(end - c2 - 1)))
			return -1;
		if (st == 1)
			r->step = 1;
		if (r->step < 1)
			return -2;
	}
	return 0;
}

/* A comma list of ranges appended to o; 0 ok, -1 not a range list,
 * -2 a range with a step below 1. */
static int parse_ranges(const char *s, struct opts *o)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	struct range *r = realloc(o->ranges, (o->nranges + n) * sizeof *r);
	if (!r)
		tg_die(TG_EX_SOFTWARE, "out of memory");
	o->ranges = r;
	size_t k = o->nranges;
	for (const char *p = s;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		int st = len ? parse_one(p, len, &r[k]) : -1;
		if (st)
			return st;
		k++;
		if (!e)
			break;
		p = e + 1;
	}
	o->nranges = k;
	return 0;
}

/* A copy of argv without "--split FRAC FILE2" (getopt knows no option with
 * two values; the original stays whole for the history line); returns the
 * new argc. */
static int take_split(int argc, char **in, char **argv, struct opts *o)
{
	int j = 1;
	argv[0] = in[0];
	for (int i = 1; i < argc; i++) {
		if (strcmp(in[i], "--") == 0) {
			while (i < argc)
				argv[j++] = in[i++];
			break;
		}
		if (strcmp(in[i], "--split") == 0) {
			if (i + 2 >= argc)
				tg_usage_error("--split needs two values: a fraction and a file");
			if (o->split >= 0)
				tg_usage_error("--split given twice");
			o->split = tg_opt_double("--split", in[i + 1], 0, 1);
			o->split_path = in[i + 2];
			if (strcmp(o->split_path, "-") == 0)
				tg_usage_error("the second output of --split must be a file, not standard output");
			i += 2;
			continue;
		}
		argv[j++] = in[i];
	}
	argv[j] = NULL;
	return j;
}

static void parse_args(int argc, char **in, struct opts *o)
{
	enum { O_HEAD = 256, O_TAIL, O_SHUFFLE, O_SEED };
	static const struct option longopts[] = {
		{ "head", required_argument, NULL, O_HEAD },
		{ "tail", required_argument, NULL, O_TAIL },
		{ "shuffle", no_argument, NULL, O_SHUFFLE },
		{ "seed", required_argument, NULL, O_SEED },
		{ "max-mem", required_argument, NULL, 'm' },
		{ "zstd", required_argument, NULL, 'z' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;
	memset(o, 0, sizeof *o);
	o->head = o->tail = -1;
	o->split = -1;
	o->max_mem = (uint64_t)1024 << 20;
	o->output = "-";
	char **argv = tg_malloc(((size_t)argc + 1) * sizeof *argv);
	argc = take_split(argc, in, argv, o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hm:o:z:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': tg_help();
		case 'm': o->max_mem = (uint64_t)tg_opt_long("-m", optarg, 0, 1L << 30) << 20; break;
		case 'o': o->output = optarg; break;
		case 'z': o->zstd = (int)tg_opt_long("-z", optarg, 0, 19); break;
		case O_HEAD: o->head = tg_opt_long("--head", optarg, 0, IDX_MAX); break;
		case O_TAIL: o->tail = tg_opt_long("--tail", optarg, 0, IDX_MAX); break;
		case O_SHUFFLE: o->shuffle = 1; break;
		case O_SEED: o->seed = (uint64_t)tg_opt_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
		case ':': tg_usage_error("option %s needs a value", argv[optind - 1]);
		default: tg_usage_error("unknown option %s (a range starting with '-' goes after --)", argv[optind - 1]);
		}
	}
	if (o->split >= 0 && strcmp(o->output, "-") != 0 && strcmp(o->output, o->split_path) == 0)
		tg_usage_error("-o and the second output of --split are the same file");
	if (o->head >= 0 && o->tail >= 0)
		tg_usage_error("--head and --tail exclude each other");
	o->path = "-";
	for (int i = optind; i < argc; i++) {
		int st = parse_ranges(argv[i], o);
		if (st == -2)
			tg_usage_error("bad range '%s': the step must be 1 or more", argv[i]);
		if (st == 0)
			continue;
		if (i != argc - 1)
			tg_usage_error("bad range '%s' (like 7, 2:8, 0:100:10 or 0:10,20:30)", argv[i]);
		o->path = argv[i];
	}
	free(argv);
}

/* ---- selection ---- */

static int needs_count(const struct opts *o)
{
	for (size_t i = 0; i < o->nranges; i++)
		if (o->ranges[i].start < 0 || (o->ranges[i].stop < 0))
			return 1;
	return 0;
}

/* Negative indices count from the end of a stream of n frames. */
static void resolve(struct opts *o, uint64_t n)
{
	int64_t nn = (int64_t)n;
	for (size_t i = 0; i < o->nranges; i++) {
		struct range *r = &o->ranges[i];
		if (r->single) {
			if (r->start < 0) {
				if (r->start + nn < 0)
					tg_die(TG_EX_DATAERR, "frame %lld does not exist: the stream has %llu frames",
					       (long long)r->start, (unsigned long long)n);
				r->start += nn;
				r->stop = r->start + 1;
			}
			continue;
		}
		if (r->start < 0)
			r->start = r->start + nn < 0 ? 0 : r->start + nn;
		if (r->stop < 0)
			r->stop = r->stop + nn < 0 ? 0 : r->stop + nn;
	}
}

static int selected(const struct opts *o, int64_t i)
{
	if (o->nranges == 0)
		return 1;
	for (size_t k = 0; k < o->nranges; k++) {
		const struct range *r = &o->ranges[k];
		if (i >= r->start && i < r->stop && (i - r->start) % r->step == 0)
			return 1;
	}
	return 0;
}

/* Whether no frame from index i on can be selected. */
static int exhausted(const struct opts *o, int64_t i)
{
	if (o->nranges == 0)
		return 0;
	for (size_t k = 0; k < o->nranges; k++)
		if (o->ranges[k].stop > i)
			return 0;
	return 1;
}

/* ---- frames kept for --tail, --shuffle and --split: slot i in memory
 * while i < mem_slots, else in a temporary file ---- */

struct store {
	size_t fb;
	uint64_t mem_slots;
	unsigned char **mem;
	size_t nmem;
	int fd;
};

static void store_init(struct store *s, size_t fb, uint64_t max_mem)
{
	s->fb = fb;
	s->mem_slots = max_mem / fb;
	s->mem = NULL;
	s->nmem = 0;
	s->fd = -1;
}

static void store_file(struct store *s)
{
	char dir[4096];
	s->fd = tg_tmpfile(dir, sizeof dir);
	if (s->fd < 0)
		tg_die(TG_EX_IOERR, "cannot create a temporary file in %s: %s", dir, strerror(errno));
}

static off_t store_offset(const struct store *s, uint64_t slot)
{
	uint64_t off = (slot - s->mem_slots) * (uint64_t)s->fb;
	if (off / s->fb != slot - s->mem_slots || off > (uint64_t)INT64_MAX - s->fb)
		tg_die(TG_EX_SOFTWARE, "temporary file offset overflows");
	return (off_t)off;
}

static void store_put(struct store *s, uint64_t slot, const void *buf)
{
	if (slot < s->mem_slots) {
		if (slot >= s->nmem) {
			size_t n = s->nmem ? s->nmem : 16;
			while (n <= slot)
				n *= 2;
			unsigned char **m = realloc(s->mem, n * sizeof *m);
			if (!m)
				tg_die(TG_EX_SOFTWARE, "out of memory");
			memset(m + s->nmem, 0, (n - s->nmem) * sizeof *m);
			s->mem = m;
			s->nmem = n;
		}
		if (!s->mem[slot])
			s->mem[slot] = tg_malloc(s->fb);
		memcpy(s->mem[slot], buf, s->fb);
		return;
	}
	if (s->fd < 0)
		store_file(s);
	off_t off = store_offset(s, slot);
	for (size_t done = 0; done < s->fb;) {
		ssize_t k = pwrite(s->fd, (const char *)buf + done, s->fb - done, off + (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			tg_die(TG_EX_IOERR, "temporary file: write failed: %s", k < 0 ? strerror(errno) : "no space");
		done += (size_t)k;
	}
}

static void store_get(struct store *s, uint64_t slot, void *buf)
{
	if (slot < s->mem_slots) {
		memcpy(buf, s->mem[slot], s->fb);
		return;
	}
	off_t off = store_offset(s, slot);
	for (size_t done = 0; done < s->fb;) {
		ssize_t k = pread(s->fd, (char *)buf + done, s->fb - done, off + (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			tg_die(TG_EX_IOERR, "temporary file: read failed: %s", k < 0 ? strerror(errno) : "short file");
		done += (size_t)k;
	}
}

static void store_free(struct store *s)
{
	for (size_t i = 0; i < s->nmem; i++)
		free(s->mem[i]);
	free(s->mem);
	if (s->fd >= 0)
		close(s->fd);
}

static ts_writer *open_output(tg_out *out, const ts_header *h, int zstd)
{
	ts_header copy;
	if (ts_header_copy(&copy, h))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	tg_extrema_drop(&copy.meta);  /* one value a frame of the input, not of the cut */
	ts_writer *w = tg_writer_open(out, &copy, zstd);
	ts_header_free(&copy);
	return w;
}

/* Writes the m kept frames (sequence position s in slot slot_of(s)):
 * shuffled and/or split by one seeded permutation. */
static void write_kept(const struct opts *o, struct store *st, uint64_t m, uint64_t first_slot,
                       uint64_t ring, void *buf, ts_writer *w, ts_writer *w2)
{
	uint64_t *perm = NULL;
	unsigned char *in_first = NULL;
	uint64_t k = m;
	if (o->shuffle || o->split >= 0) {
		tg_rng rng;
		tg_rng_seed(&rng, o->seed);
		perm = tg_malloc((size_t)m * sizeof *perm);
		tg_rng_permutation(&rng, perm, (size_t)m);
	}
	if (o->split >= 0) {
		k = (uint64_t)floor(o->split * (double)m + 0.5);
		if (k > m)
			k = m;
		in_first = tg_calloc((size_t)m, 1);
		for (uint64_t t = 0; t < k; t++)
			in_first[perm[t]] = 1;
	}
	for (uint64_t t = 0; t < m; t++) {
		uint64_t s = o->shuffle ? perm[t] : t;
		int first = o->split < 0 || (o->shuffle ? t < k : in_first[s]);
		store_get(st, ring ? (first_slot + s) % ring : s, buf);
		tg_write_frame(first ? w : w2, buf);
	}
	free(perm);
	free(in_first);
}

/* Both outputs may be files being written beside their final names; the
 * library removes the most recent one at exit, this removes either. */
static tg_out out, out2;

static void discard_outputs(void)
{
	tg_out_discard(&out);
	tg_out_discard(&out2);
}

int main(int argc, char **argv)
{
	struct opts o;
	tg_init(argc, argv, "tscut", USAGE);
	parse_args(argc, argv, &o);

	atexit(discard_outputs);
	tg_out_open(&out, o.output);
	ts_reader *r = tg_reader_open(o.path, 0);
	size_t fb = (size_t)ts_frame_bytes(ts_reader_header(r));
	void *buf = tg_malloc(fb);
	if (needs_count(&o)) {
		if (!ts_reader_seekable(r))
			tg_usage_error("negative indices need a regular file as input (they count from its end)");
		uint64_t n = 0;
		while (tg_read_frame(r, buf))
			n++;
		ts_status st = ts_reader_rewind(r);
		if (st)
			tg_die(ts_exit_status(st), "%s", ts_reader_error(r));
		resolve(&o, n);
	}
	if (o.split >= 0)
		tg_out_open(&out2, o.split_path);
	const ts_header *h = ts_reader_header(r);
	ts_writer *w = open_output(&out, h, o.zstd);
	ts_writer *w2 = o.split >= 0 ? open_output(&out2, h, o.zstd) : NULL;

	int keep = o.tail >= 0 || o.shuffle || o.split >= 0;
	struct store st;
	store_init(&st, fb, o.max_mem);
	uint64_t taken = 0;
	int64_t i = 0;
	int eof = 0;
	for (;; i++) {
		if (exhausted(&o, i) || (o.head >= 0 && taken >= (uint64_t)o.head))
			break;
		if (!tg_read_frame(r, buf)) {
			eof = 1;
			break;
		}
		if (!selected(&o, i))
			continue;
		if (!keep)
			tg_write_frame_from(w, r, buf);
		else if (o.tail >= 0) {
			if (o.tail > 0)
				store_put(&st, taken % (uint64_t)o.tail, buf);
		} else
			store_put(&st, taken, buf);
		taken++;
	}
	if (eof)
		for (size_t k = 0; k < o.nranges; k++)
			if (o.ranges[k].single && o.ranges[k].start >= i)
				tg_die(TG_EX_DATAERR, "frame %lld does not exist: the stream has %lld frames",
				       (long long)o.ranges[k].start, (long long)i);
	if (keep) {
		uint64_t m = taken, first = 0, ring = 0;
		if (o.tail >= 0) {
			ring = (uint64_t)o.tail;
			m = taken < ring ? taken : ring;
			first = ring ? (taken - m) % ring : 0;
		}
		write_kept(&o, &st, m, first, ring, buf, w, w2);
	}
	tg_writer_close(w, &out);
	if (w2)
		tg_writer_close(w2, &out2);
	store_free(&st);
	free(buf);
	free(o.ranges);
	ts_reader_close(r);
	return 0;
}
