/* tsgen: writes a synthetic tensor stream with known contents, for tests
 * and benchmarks (tsgen(1)).  Output depends only on the arguments. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stats.h"

#define USAGE "tsgen [-h] -n frames -s shape [-o file] [-p pattern] [-t type] [-z level] [--seed seed]"

enum pattern { P_RAMP, P_NOISE, P_CONST };

struct opts {
	long frames;
	ts_header h;
	enum pattern pattern;
	double value;       /* P_CONST */
	uint64_t seed;
	int zstd;
	const char *output;
};

/* "AxBxC": 1 to 4 dimensions, outermost first. */
static void parse_shape(const char *s, ts_header *h, ts_dtype t)
{
	uint64_t dims[TS_MAX_RANK];
	int rank = 0;
	char buf[128];
	if (strlen(s) >= sizeof buf)
		tg_usage_error("bad shape '%s'", s);
	strcpy(buf, s);
	char *save = NULL;
	for (char *tok = strtok_r(buf, "x", &save); tok; tok = strtok_r(NULL, "x", &save)) {
		long d;
		if (rank == TS_MAX_RANK || tg_parse_long(tok, 1, (long)TS_MAX_DIM, &d))
			tg_usage_error("bad shape '%s' (1 to 4 dimensions from 1 to %llu, like 512x512)",
			               s, (unsigned long long)TS_MAX_DIM);
		dims[rank++] = (uint64_t)d;
	}
	if (rank == 0 || s[0] == 'x' || s[strlen(s) - 1] == 'x' || strstr(s, "xx"))
		tg_usage_error("bad shape '%s' (1 to 4 dimensions, like 512x512)", s);
	ts_header_shape(h, t, rank, dims);
	if (ts_header_check(h) != TS_OK)
		tg_usage_error("shape %s of %s is over the frame size limit of %llu MiB",
		               s, ts_dtype_name(t), (unsigned long long)(ts_max_frame_bytes() >> 20));
}

/* const=V must be representable: an integer in range for integer types. */
static double parse_const(const char *s, ts_dtype t)
{
	double lo = -3.4028234663852886e38, hi = 3.4028234663852886e38;
	switch (t) {
	case TS_U8: lo = 0; hi = 255; break;
	case TS_U16: lo = 0; hi = 65535; break;
	case TS_I16: lo = -32768; hi = 32767; break;
	case TS_F16: lo = -65504; hi = 65504; break;
	case TS_F32: break;
	}
	double v = tg_opt_double("--pattern const", s, lo, hi);
	if (t != TS_F32 && t != TS_F16 && v != floor(v))
		tg_usage_error("bad value for --pattern const: '%s' (an integer for %s)", s, ts_dtype_name(t));
	return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "frames", required_argument, NULL, 'n' },
		{ "shape", required_argument, NULL, 's' },
		{ "type", required_argument, NULL, 't' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 'S' },
		{ "zstd", required_argument, NULL, 'z' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *shape = NULL, *pattern = "ramp";
	ts_dtype t = TS_F32;
	int c;
	memset(o, 0, sizeof *o);
	o->frames = -1;
	o->output = "-";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hn:o:s:t:p:z:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': tg_help();
		case 'n': o->frames = tg_opt_long("-n", optarg, 0, 1L << 40); break;
		case 'o': o->output = optarg; break;
		case 's': shape = optarg; break;
		case 't':
			if (ts_dtype_parse(optarg, &t))
				tg_usage_error("bad value for -t: '%s' (u8, u16, i16, f16 or f32)", optarg);
			break;
		case 'p': pattern = optarg; break;
		case 'S': o->seed = (uint64_t)tg_opt_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
		case 'z': o->zstd = (int)tg_opt_long("-z", optarg, 0, 19); break;
		case ':': tg_usage_error("option %s needs a value", argv[optind - 1]);
		default: tg_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		tg_usage_error("unexpected argument '%s'", argv[optind]);
	if (o->frames < 0)
		tg_usage_error("-n is required");
	if (!shape)
		tg_usage_error("-s is required");
	parse_shape(shape, &o->h, t);
	if (strcmp(pattern, "ramp") == 0)
		o->pattern = P_RAMP;
	else if (strcmp(pattern, "noise") == 0)
		o->pattern = P_NOISE;
	else if (strncmp(pattern, "const=", 6) == 0) {
		o->pattern = P_CONST;
		o->value = parse_const(pattern + 6, t);
	} else
		tg_usage_error("bad value for -p: '%s' (ramp, noise or const=V)", pattern);
}

/* ramp: frame i, element j (row-major) holds i*1000 + j; integer types
 * wrap modulo 2^bits, f16 modulo 2048 (its exact integers), f32 rounds
 * to nearest above 2^24. */
static void fill_ramp(const ts_header *h, uint64_t frame, size_t n, void *buf)
{
	uint64_t base = frame * 1000;
	switch (h->dtype) {
	case TS_F32: { float *p = buf; for (size_t j = 0; j < n; j++) p[j] = (float)(double)(base + j); break; }
	case TS_F16: { uint16_t *p = buf; for (size_t j = 0; j < n; j++) p[j] = ts_f32_to_f16((float)((base + j) % 2048)); break; }
	case TS_U8: { uint8_t *p = buf; for (size_t j = 0; j < n; j++) p[j] = (uint8_t)(base + j); break; }
	case TS_U16: { uint16_t *p = buf; for (size_t j = 0; j < n; j++) p[j] = (uint16_t)(base + j); break; }
	case TS_I16: { int16_t *p = buf; for (size_t j = 0; j < n; j++) p[j] = (int16_t)(uint16_t)(base + j); break; }
	}
}

/* noise: one xoshiro256** draw per element, in stream order; floats take
 * the top 24 (f32) or 11 (f16) bits as a fraction in [0, 1), integers the
 * top 8 or 16 bits. */
static void fill_noise(const ts_header *h, tg_rng *rng, size_t n, void *buf)
{
	switch (h->dtype) {
	case TS_F32: { float *p = buf; for (size_t j = 0; j < n; j++) p[j] = (float)(tg_rng_next(rng) >> 40) * 0x1p-24f; break; }
	case TS_F16: { uint16_t *p = buf; for (size_t j = 0; j < n; j++) p[j] = ts_f32_to_f16((float)(tg_rng_next(rng) >> 53) * 0x1p-11f); break; }
	case TS_U8: { uint8_t *p = buf; for (size_t j = 0; j < n; j++) p[j] = (uint8_t)(tg_rng_next(rng) >> 56); break; }
	case TS_U16: { uint16_t *p = buf; for (size_t j = 0; j < n; j++) p[j] = (uint16_t)(tg_rng_next(rng) >> 48); break; }
	case TS_I16: { int16_t *p = buf; for (size_t j = 0; j < n; j++) p[j] = (int16_t)(uint16_t)(tg_rng_next(rng) >> 48); break; }
	}
}

static void fill_const(const ts_header *h, double v, size_t n, void *buf)
{
	float f = (float)v;
	size_t es = ts_dtype_size(h->dtype);
	ts_convert_from_f32(h->dtype, &f, buf, 1);
	for (size_t j = 1; j < n; j++)
		memcpy((char *)buf + j * es, buf, es);
}

int main(int argc, char **argv)
{
	struct opts o;
	tg_init(argc, argv, "tsgen", USAGE);
	parse_args(argc, argv, &o);

	tg_out out;
	tg_out_open(&out, o.output);
	ts_meta_init(&o.h.meta);
	const char *pname = o.pattern == P_RAMP ? "ramp" : o.pattern == P_NOISE ? "noise" : "const";
	if (ts_meta_set(&o.h.meta, "tsgen.pattern", pname) ||
	    (o.pattern == P_NOISE && ts_meta_setf(&o.h.meta, "tsgen.seed", "%llu", (unsigned long long)o.seed)) ||
	    (o.pattern == P_CONST && ts_meta_setf(&o.h.meta, "tsgen.value", "%.17g", o.value)))
		tg_die(TG_EX_SOFTWARE, "out of memory");
	ts_writer *w = tg_writer_open(&out, &o.h, o.zstd);

	size_t n = (size_t)ts_frame_elems(&o.h);
	void *buf = tg_malloc((size_t)ts_frame_bytes(&o.h));
	tg_rng rng;
	tg_rng_seed(&rng, o.seed);
	if (o.pattern == P_CONST)
		fill_const(&o.h, o.value, n, buf);
	for (long i = 0; i < o.frames; i++) {
		if (o.pattern == P_RAMP)
			fill_ramp(&o.h, (uint64_t)i, n, buf);
		else if (o.pattern == P_NOISE)
			fill_noise(&o.h, &rng, n, buf);
		tg_write_frame(w, buf);
	}
	tg_writer_close(w, &out);
	free(buf);
	ts_header_free(&o.h);
	return 0;
}
