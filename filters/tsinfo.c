/* tsinfo: describes a tensor stream (header, metadata, frame count, value
 * statistics and percentiles) and verifies every frame on the way, so it is
 * also the stream checker (tsinfo(1)).  Output is text (or JSON) on stdout. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ocl.h"
#include "stats.h"

#define USAGE "tsinfo [-fhjq] [-m mib] [-p list] [file]\n       tsinfo --devices"
#define MAX_Q 64

struct opts {
	int per_frame, json, devices;
	size_t nq;
	double q[MAX_Q];
	uint64_t max_mem;   /* bytes for the values behind overall percentiles */
	const char *path;
};

static void parse_percentiles(const char *s, struct opts *o)
{
	char buf[1024];
	if (strlen(s) >= sizeof buf || !*s || s[strlen(s) - 1] == ',')
		tg_usage_error("bad value for -p: '%s' (a list like 1,50,99)", s);
	strcpy(buf, s);
	char *save = NULL;
	o->nq = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nq == MAX_Q)
			tg_usage_error("bad value for -p: at most %d percentiles", MAX_Q);
		o->q[o->nq++] = tg_opt_double("-p", tok, 0, 100);
	}
	if (strstr(s, ",,") || s[0] == ',')
		tg_usage_error("bad value for -p: '%s' (a list like 1,50,99)", s);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "frames", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "max-mem", required_argument, NULL, 'm' },
		{ "percentiles", required_argument, NULL, 'p' },
		{ "devices", no_argument, NULL, 'D' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;
	memset(o, 0, sizeof *o);
	o->max_mem = (uint64_t)1024 << 20;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":fhjm:p:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->per_frame = 1; break;
		case 'h': tg_help();
		case 'j': o->json = 1; break;
		case 'm': o->max_mem = (uint64_t)tg_opt_long("-m", optarg, 0, 1L << 30) << 20; break;
		case 'p': parse_percentiles(optarg, o); break;
		case 'D': o->devices = 1; break;
		case 'q': tg_set_quiet(1); break;
		case ':': tg_usage_error("option %s needs a value", argv[optind - 1]);
		default: tg_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		tg_usage_error("more than one input file");
	o->path = optind < argc ? argv[optind] : "-";
	if (o->devices && (argc != 2))
		tg_usage_error("--devices takes no other arguments");
}

/* ---- output ---- */

/* Numbers: %.12g in text (enough for 1e-11 relative), %.17g in JSON (the
 * exact double); NaN and infinities as "nan"/"inf" in text, null in JSON. */
static void put_num(double v, int json)
{
	if (json && !isfinite(v))
		fputs("null", stdout);
	else if (isnan(v))
		fputs("nan", stdout);
	else if (isinf(v))
		fputs(v > 0 ? "inf" : "-inf", stdout);
	else
		printf(json ? "%.17g" : "%.12g", v);
}

static void put_json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void put_header(const struct opts *o, const ts_header *h, const char *name)
{
	if (o->json) {
		fputs("{\"stream\": ", stdout);
		put_json_string(name);
		printf(", \"type\": \"%s\", \"shape\": [", ts_dtype_name(h->dtype));
		for (int i = 0; i < h->rank; i++)
			printf("%s%llu", i ? ", " : "", (unsigned long long)h->dims[i]);
		fputs("], \"metadata\": [", stdout);
		for (size_t i = 0; i < h->meta.n; i++) {
			fputs(i ? ", [" : "[", stdout);
			put_json_string(h->meta.kv[i].key);
			fputs(", ", stdout);
			put_json_string(h->meta.kv[i].val);
			putchar(']');
		}
		fputs("]", stdout);
		if (o->per_frame)
			fputs(",\n \"per_frame\": [", stdout);
		return;
	}
	printf("stream: %s\ntype: %s\nshape: ", name, ts_dtype_name(h->dtype));
	for (int i = 0; i < h->rank; i++)
		printf("%s%llu", i ? "x" : "", (unsigned long long)h->dims[i]);
	printf("\nmetadata: %zu\n", h->meta.n);
	for (size_t i = 0; i < h->meta.n; i++)
		printf("  %s = %s\n", h->meta.kv[i].key, h->meta.kv[i].val);
	if (o->per_frame) {
		fputs("frame min max mean std", stdout);
		for (size_t i = 0; i < o->nq; i++)
			printf(" p%g", o->q[i]);
		putchar('\n');
	}
}

struct piece_stats {
	ts_dtype dtype;
	tg_stats s;
};

static void stats_piece(void *ctx, const void *piece, size_t offset, size_t len)
{
	struct piece_stats *p = ctx;
	(void)offset;
	tg_stats_add(&p->s, p->dtype, piece, len / ts_dtype_size(p->dtype));
}

static void put_frame(const struct opts *o, uint64_t i, const tg_stats *s, const double *pct)
{
	double v[4] = { s->min, s->max, s->mean, tg_stats_std(s) };
	static const char *names[4] = { "min", "max", "mean", "std" };
	if (o->json) {
		printf("%s\n  {\"frame\": %llu", i ? "," : "", (unsigned long long)i);
		for (int k = 0; k < 4; k++) {
			printf(", \"%s\": ", names[k]);
			put_num(v[k], 1);
		}
		printf(", \"nan\": %llu", (unsigned long long)s->nans);
		if (o->nq) {
			fputs(", \"percentiles\": {", stdout);
			for (size_t k = 0; k < o->nq; k++) {
				printf("%s\"%g\": ", k ? ", " : "", o->q[k]);
				put_num(pct[k], 1);
			}
			putchar('}');
		}
		putchar('}');
		return;
	}
	printf("%llu", (unsigned long long)i);
	for (int k = 0; k < 4; k++) {
		putchar(' ');
		put_num(v[k], 0);
	}
	for (size_t k = 0; k < o->nq; k++) {
		putchar(' ');
		put_num(pct[k], 0);
	}
	putchar('\n');
}

/* pct NULL: percentiles were asked for but not computed (note says why). */
static void put_summary(const struct opts *o, const ts_header *h, uint64_t frames,
                        const tg_stats *s, const double *pct, const char *note)
{
	double v[4] = { s->min, s->max, s->mean, tg_stats_std(s) };
	static const char *names[4] = { "min", "max", "mean", "std" };
	int floats = h->dtype == TS_F32 || h->dtype == TS_F16;
	if (o->json) {
		if (o->per_frame)
			fputs(frames ? "\n ]" : "]", stdout);
		printf(",\n \"frames\": %llu, \"values\": %llu, \"nan\": %llu",
		       (unsigned long long)frames, (unsigned long long)s->n, (unsigned long long)s->nans);
		for (int k = 0; k < 4; k++) {
			printf(", \"%s\": ", names[k]);
			put_num(v[k], 1);
		}
		if (o->nq) {
			fputs(", \"percentiles\": ", stdout);
			if (pct) {
				putchar('{');
				for (size_t k = 0; k < o->nq; k++) {
					printf("%s\"%g\": ", k ? ", " : "", o->q[k]);
					put_num(pct[k], 1);
				}
				putchar('}');
			} else {
				fputs("null, \"percentiles_note\": ", stdout);
				put_json_string(note);
			}
		}
		fputs("}\n", stdout);
		return;
	}
	printf("frames: %llu\nvalues: %llu\n", (unsigned long long)frames, (unsigned long long)s->n);
	if (floats)
		printf("nan: %llu\n", (unsigned long long)s->nans);
	if (s->n == 0)
		return;
	for (int k = 0; k < 4; k++) {
		printf("%s: ", names[k]);
		put_num(v[k], 0);
		putchar('\n');
	}
	if (o->nq && !pct)
		printf("percentiles: not computed: %s\n", note);
	for (size_t k = 0; pct && k < o->nq; k++) {
		printf("p%g: ", o->q[k]);
		put_num(pct[k], 0);
		putchar('\n');
	}
}

/* ---- overall percentiles: a histogram for 8/16-bit integers, else every
 * non-NaN value kept as float up to the memory cap ---- */

struct pool {
	int use_hist, over;
	tg_hist hist;
	float *v;
	size_t n, cap;
	uint64_t limit;     /* values */
};

static void pool_add(struct pool *p, const ts_header *h, const void *frame, size_t n)
{
	if (p->use_hist) {
		tg_hist_add(&p->hist, frame, n);
		return;
	}
	if (p->over)
		return;
	if (p->n + n > p->limit) {
		p->over = 1;
		free(p->v);
		p->v = NULL;
		return;
	}
	if (p->n + n > p->cap) {
		size_t cap = p->cap ? p->cap : n;
		while (cap < p->n + n)
			cap *= 2;
		if (cap > p->limit)
			cap = (size_t)p->limit;
		float *v = realloc(p->v, cap * sizeof *v);
		if (!v) {
			p->over = 1;
			free(p->v);
			p->v = NULL;
			return;
		}
		p->v = v;
		p->cap = cap;
	}
	ts_convert_to_f32(h->dtype, frame, p->v + p->n, n);
	p->n += tg_drop_nan(p->v + p->n, n);
}

/* Ends quietly when the reader of our output went away (SIGPIPE is
 * ignored, so writes fail with EPIPE), with 74 on other write errors. */
static void check_stdout(void)
{
	if (!ferror(stdout) && fflush(stdout) == 0)
		return;
	if (errno == EPIPE)
		exit(0);
	tg_die(TG_EX_IOERR, "standard output: write failed: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct opts o;
	tg_init(argc, argv, "tsinfo", USAGE);
	parse_args(argc, argv, &o);
	if (o.devices) {
		if (tg_cl_list_devices(stdout) != TG_CL_OK)
			tg_die(TG_EX_UNAVAILABLE, "%s", tg_cl_error());
		check_stdout();
		return 0;
	}

	ts_reader *r = tg_reader_open(o.path, 0);
	const ts_header *h = ts_reader_header(r);
	size_t n = (size_t)ts_frame_elems(h);
	void *frame = tg_malloc((size_t)ts_frame_bytes(h));
	float *scratch = o.per_frame && o.nq ? tg_malloc(n * sizeof *scratch) : NULL;
	double fpct[MAX_Q], pct[MAX_Q];
	struct pool pool = { 0 };
	if (o.nq) {
		int hr = tg_hist_init(&pool.hist, h->dtype);
		if (hr == -2)
			tg_die(TG_EX_SOFTWARE, "out of memory");
		pool.use_hist = hr == 0;
		pool.limit = o.max_mem / sizeof(float);
	}

	put_header(&o, h, strcmp(o.path, "-") == 0 ? "stdin" : o.path);
	if (ferror(stdout))
		check_stdout();
	tg_stats all;
	tg_stats_init(&all);
	int progress = tg_progress_enabled();
	uint64_t i = 0;
	/* statistics of each piece as it arrives, while it is in cache */
	struct piece_stats ps = { h->dtype, { 0 } };
	ts_reader_on_piece(r, stats_piece, &ps);
	for (;; i++) {
		tg_stats_init(&ps.s);
		if (!tg_read_frame(r, frame))
			break;
		if (o.per_frame) {
			tg_stats fs = ps.s;
			if (o.nq) {
				ts_convert_to_f32(h->dtype, frame, scratch, n);
				size_t m = tg_drop_nan(scratch, n);
				tg_percentiles_f32(scratch, m, o.q, o.nq, fpct);
			}
			put_frame(&o, i, &fs, fpct);
			if (ferror(stdout))  /* errno is still the failed write's */
				check_stdout();
			tg_stats_merge(&all, &fs);
		} else {
			tg_stats_merge(&all, &ps.s);
		}
		if (o.nq)
			pool_add(&pool, h, frame, n);
		if (progress)
			tg_progress("frame %llu", (unsigned long long)i + 1);
	}
	tg_progress_done();

	char note[160] = "";
	const double *overall = NULL;
	if (o.nq) {
		if (pool.use_hist) {
			tg_hist_percentiles(&pool.hist, o.q, o.nq, pct);
			overall = pct;
		} else if (!pool.over) {
			tg_percentiles_f32(pool.v, pool.n, o.q, o.nq, pct);
			overall = pct;
		} else {
			snprintf(note, sizeof note,
			         "the values take more than the memory limit of %llu MiB (-m)",
			         (unsigned long long)(o.max_mem >> 20));
			tg_warn("percentiles over all frames not computed: %s", note);
		}
	}
	put_summary(&o, h, i, &all, overall, note);
	check_stdout();
	if (pool.use_hist)
		tg_hist_free(&pool.hist);
	free(pool.v);
	free(scratch);
	free(frame);
	ts_reader_close(r);
	return 0;
}
