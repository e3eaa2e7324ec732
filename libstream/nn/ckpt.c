/* ckpt.c: checkpoint files (ckpt.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/ckpt.h"

#define CKPT_FORMAT 1

int nn_ckpt_exit_status(int st)
{
	switch (st) {
	case NN_CKPT_OK: return 0;
	case NN_CKPT_ERR_OPEN: return 66;
	case NN_CKPT_ERR_IO: return 74;
	case NN_CKPT_ERR_FORMAT:
	case NN_CKPT_ERR_MISMATCH: return 65;
	default: return 70;
	}
}

static void shape_str(char *buf, size_t len, int rank, const uint64_t *dims)
{
	size_t k = 0;
	buf[0] = 0;
	for (int i = 0; i < rank && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, i ? "x%" PRIu64 : "%" PRIu64, dims[i]);
}

static void param_dims(const nn_param *p, uint64_t *dims)
{
	for (int i = 0; i < 4; i++)
		dims[i] = i < p->rank ? (uint64_t)p->dim[i] : 0;
}

/* ---- saving ---- */

typedef struct {
	int fd;
	const char *tmp;
} sink;

/* One segment: a header of the given shape and entries, one frame. */
static int put_segment(sink *s, ts_dtype t, int rank, const uint64_t *dims, const ts_meta *meta,
                       const void *frame)
{
	ts_header h;
	memset(&h, 0, sizeof h);
	ts_header_shape(&h, t, rank, dims);
	h.meta = *meta;   /* borrowed: not freed here */
	ts_write_opts opts = { 0 };
	ts_writer *w = NULL;
	ts_status st = ts_writer_open(&w, s->fd, s->tmp, &h, &opts);
	if (st == TS_OK)
		st = ts_write_frame(w, frame);
	if (st == TS_OK)
		st = ts_writer_finish(w);
	if (st != TS_OK) {
		nn_fail(NN_CKPT_ERR_IO, "%s", w ? ts_writer_error(w) : ts_strerror(st));
		ts_writer_free(w);
		return st == TS_ERR_IO || st == TS_ERR_PIPE ? NN_CKPT_ERR_IO : NN_CKPT_ERR_ARG;
	}
	ts_writer_free(w);
	return NN_CKPT_OK;
}

static int key_part_ok(const char *s)
{
	if (!*s || strlen(s) > 100)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '=')
			return 0;
	return 1;
}

/* The header entries of c (ours first, then the caller's). */
static int header_meta(const nn_ckpt *c, ts_meta *m, size_t ntensors)
{
	int bad = 0;
	bad |= ts_meta_setf(m, "ckpt.format", "%d", CKPT_FORMAT) != TS_OK;
	bad |= ts_meta_set(m, "ckpt.kind", c->kind) != TS_OK;
	bad |= ts_meta_setf(m, "ckpt.tensors", "%zu", ntensors) != TS_OK;
	for (int i = 0; i < c->nopt; i++) {
		const nn_optim *o = c->opt[i];
		char k[160];
#define SETF(suffix, ...) \
	(snprintf(k, sizeof k, "ckpt.opt.%s.%s", o->name, suffix), \
	 bad |= ts_meta_setf(m, k, __VA_ARGS__) != TS_OK)
		SETF("kind", "%s", nn_optim_kind_name(o->kind));
		SETF("step", "%lld", o->step);
		SETF("groups", "%d", o->ngroups);
		for (int g = 0; g < o->ngroups; g++) {
			char sfx[32];
			snprintf(sfx, sizeof sfx, "lr.%d", g);
			SETF(sfx, "%.17g", o->group[g].lr);
			snprintf(sfx, sizeof sfx, "wd.%d", g);
			SETF(sfx, "%.17g", o->group[g].weight_decay);
		}
		switch (o->kind) {
		case NN_OPT_SGD:
			SETF("momentum", "%.17g", o->momentum);
			break;
		case NN_OPT_ADAM:
			SETF("beta1", "%.17g", o->beta1);
			SETF("beta2", "%.17g", o->beta2);
			SETF("eps", "%.17g", o->eps);
			break;
		case NN_OPT_RMSPROP:
			SETF("alpha", "%.17g", o->alpha);
			SETF("eps", "%.17g", o->eps);
			break;
		}
#undef SETF
	}
	for (int i = 0; i < c->nrng; i++) {
		char k[160];
		snprintf(k, sizeof k, "ckpt.rng.%s.seed", c->rng_name[i]);
		bad |= ts_meta_setf(m, k, "%" PRIu64, c->rng[i]->seed) != TS_OK;
		snprintf(k, sizeof k, "ckpt.rng.%s.counter", c->rng_name[i]);
		bad |= ts_meta_setf(m, k, "%" PRIu64, c->rng[i]->counter) != TS_OK;
	}
	for (size_t i = 0; c->meta && i < c->meta->n; i++)
		if (strncmp(c->meta->kv[i].key, "ckpt.", 5) != 0)
			bad |= ts_meta_add(m, c->meta->kv[i].key, c->meta->kv[i].val) != TS_OK;
	return bad ? nn_fail(NN_CKPT_ERR_ARG, "checkpoint header: invalid or too many entries")
	           : NN_CKPT_OK;
}

static int check_save_args(const nn_ckpt *c)
{
	if (!c->kind || !*c->kind || strchr(c->kind, '\n'))
		return nn_fail(NN_CKPT_ERR_ARG, "checkpoint: no model kind");
	if (!c->arena || !c->arena->params)
		return nn_fail(NN_CKPT_ERR_ARG, "checkpoint: the arena is not allocated");
	if (c->nopt < 0 || c->nopt > NN_CKPT_MAX_OPT || c->nrng < 0 || c->nrng > NN_CKPT_MAX_RNG)
		return nn_fail(NN_CKPT_ERR_ARG, "checkpoint: bad number of optimizers or generators");
	for (int i = 0; i < c->nopt; i++) {
		if (c->opt[i]->arena != c->arena)
			return nn_fail(NN_CKPT_ERR_ARG, "checkpoint: optimizer '%s' is over another arena",
			               c->opt[i]->name);
		if (!key_part_ok(c->opt[i]->name))
			return nn_fail(NN_CKPT_ERR_ARG, "checkpoint: bad optimizer name '%s'",
			               c->opt[i]->name);
		for (int j = 0; j < i; j++)
			if (strcmp(c->opt[i]->name, c->opt[j]->name) == 0)
				return nn_fail(NN_CKPT_ERR_ARG, "checkpoint: two optimizers named '%s'",
				               c->opt[i]->name);
	}
	for (int i = 0; i < c->nrng; i++) {
		if (!c->rng[i] || !c->rng_name[i] || !key_part_ok(c->rng_name[i]))
			return nn_fail(NN_CKPT_ERR_ARG, "checkpoint: bad generator %d", i);
		for (int j = 0; j < i; j++)
			if (strcmp(c->rng_name[i], c->rng_name[j]) == 0)
				return nn_fail(NN_CKPT_ERR_ARG, "checkpoint: two generators named '%s'",
				               c->rng_name[i]);
	}
	return NN_CKPT_OK;
}

/* Writes every segment into s; host holds the arena (params) and then
 * every optimizer's state buffers, each a->total floats. */
static int write_all(const nn_ckpt *c, sink *s, float *const *host, size_t ntensors)
{
	const nn_arena *a = c->arena;
	ts_meta m;
	ts_meta_init(&m);
	int st = header_meta(c, &m, ntensors);
	if (st == NN_CKPT_OK) {
		const uint64_t one = 1;
		const unsigned char zero = 0;
		st = put_segment(s, TS_U8, 1, &one, &m, &zero);
	}
	ts_meta_free(&m);
	int h = 0;
	for (int k = -1; st == NN_CKPT_OK && k < c->nopt; k++) {
		int ns = k < 0 ? 1 : c->opt[k]->nstate;
		for (int j = 0; st == NN_CKPT_OK && j < ns; j++, h++)
			for (int i = 0; st == NN_CKPT_OK && i < a->n; i++) {
				char name[200];
				if (k < 0) {
					snprintf(name, sizeof name, "%s", a->p[i].name);
				} else {
					if (c->opt[k]->group_of[i] == NN_OPT_NONE)
						continue;
					snprintf(name, sizeof name, "%s/%s", nn_optim_state_name(c->opt[k], j),
					         a->p[i].name);
				}
				uint64_t dims[4];
				param_dims(&a->p[i], dims);
				ts_meta_init(&m);
				if (ts_meta_set(&m, "name", name) != TS_OK)
					st = nn_fail(NN_CKPT_ERR_ARG, "checkpoint: bad tensor name '%s'", name);
				else
					st = put_segment(s, TS_F32, a->p[i].rank, dims, &m, host[h] + a->p[i].off);
				ts_meta_free(&m);
			}
	}
	return st;
}

static void fsync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	int fd = open(dir, O_RDONLY);
	if (fd >= 0) {
		/* Some file systems refuse fsync on a directory; the rename is
		 * done either way. */
		(void)fsync(fd);
		close(fd);
	}
}

int nn_ckpt_save(nn_ctx *ctx, const char *path, const nn_ckpt *c)
{
	int st = check_save_args(c);
	if (st != NN_CKPT_OK)
		return st;
	const nn_arena *a = c->arena;
	/* the tensors in host memory: params, then each optimizer's state */
	int nbuf = 1;
	size_t ntensors = (size_t)a->n;
	for (int k = 0; k < c->nopt; k++) {
		nbuf += c->opt[k]->nstate;
		size_t members = 0;
		for (int i = 0; i < a->n; i++)
			members += c->opt[k]->group_of[i] != NN_OPT_NONE;
		ntensors += members * (size_t)c->opt[k]->nstate;
	}
	float **host = calloc((size_t)nbuf, sizeof *host);
	if (!host)
		return nn_fail(NN_CKPT_ERR_ARG, "checkpoint: out of memory");
	int h = 0;
	for (int k = -1; st == NN_CKPT_OK && k < c->nopt; k++) {
		int ns = k < 0 ? 1 : c->opt[k]->nstate;
		for (int j = 0; st == NN_CKPT_OK && j < ns; j++, h++) {
			host[h] = malloc((a->total ? a->total : 1) * sizeof(float));
			cl_mem m = k < 0 ? a->params : c->opt[k]->state[j];
			if (!host[h])
				st = nn_fail(NN_CKPT_ERR_ARG, "checkpoint: out of memory");
			else if (nn_read(ctx, host[h], nn_buf_of(m, 0), a->total) != TG_CL_OK)
				st = nn_fail(NN_CKPT_ERR_DEVICE, "checkpoint: %s", nn_error());
		}
	}

	char *tmp = NULL;
	int fd = -1;
	if (st == NN_CKPT_OK) {
		size_t len = strlen(path) + 16;
		tmp = malloc(len);
		if (!tmp) {
			st = nn_fail(NN_CKPT_ERR_ARG, "checkpoint: out of memory");
		} else {
			snprintf(tmp, len, "%s.tmp.XXXXXX", path);
			fd = mkstemp(tmp);
			if (fd < 0) {
				st = nn_fail(NN_CKPT_ERR_OPEN, "cannot create %s: %s", tmp, strerror(errno));
				free(tmp);
				tmp = NULL;
			}
		}
	}
	if (st == NN_CKPT_OK) {
		sink s = { fd, tmp };
		st = write_all(c, &s, host, ntensors);
	}
	if (st == NN_CKPT_OK) {
		/* mkstemp makes the file 0600; a checkpoint gets the usual mode */
		mode_t mask = umask(0);
		umask(mask);
		if (fchmod(fd, 0666 & ~mask) != 0 || fsync(fd) != 0)
			st = nn_fail(NN_CKPT_ERR_IO, "%s: %s", tmp, strerror(errno));
	}
	if (fd >= 0 && close(fd) != 0 && st == NN_CKPT_OK)
		st = nn_fail(NN_CKPT_ERR_IO, "%s: close: %s", tmp, strerror(errno));
	if (st == NN_CKPT_OK && rename(tmp, path) != 0)
		st = nn_fail(NN_CKPT_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
	if (st == NN_CKPT_OK)
		fsync_dir(path);
	else if (tmp)
		unlink(tmp);
	free(tmp);
	for (int i = 0; i < nbuf; i++)
		free(host[i]);
	free(host);
	return st;
}

/* ---- loading ---- */

typedef struct {
	const nn_ckpt *c;
	ts_reader *r;
	const char *path;
	float *params;          /* staged arena */
	char *have;             /* per staged tensor: seen (params, then state) */
	float **state[NN_CKPT_MAX_OPT];
	long long step[NN_CKPT_MAX_OPT];
	nn_rng rng[NN_CKPT_MAX_RNG];
	ts_meta meta;
} loader;

static int reader_fail(loader *L, ts_status st)
{
	if (st == TS_ERR_IO)
		return nn_fail(NN_CKPT_ERR_IO, "%s", ts_reader_error(L->r));
	if (st == TS_ERR_NOMEM)
		return nn_fail(NN_CKPT_ERR_ARG, "%s: out of memory", L->path);
	return nn_fail(NN_CKPT_ERR_FORMAT, "%s", ts_reader_error(L->r));
}

/* Reads the one frame of the current segment into buf and its end record. */
static int read_one(loader *L, void *buf, const char *what)
{
	ts_status st = ts_read_frame(L->r, buf);
	if (st == TS_OK)
		st = ts_read_frame(L->r, buf);
	else if (st == TS_SEGMENT_END || st == TS_END)
		return nn_fail(NN_CKPT_ERR_FORMAT, "%s: %s has no frame", L->path, what);
	else
		return reader_fail(L, st);
	if (st == TS_SEGMENT_END)
		return NN_CKPT_OK;
	if (st == TS_OK)
		return nn_fail(NN_CKPT_ERR_FORMAT, "%s: %s has more than one frame", L->path, what);
	return reader_fail(L, st);
}

static int parse_u64(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int opt_key(loader *L, const nn_optim *o, const char *suffix, const char **val)
{
	char k[160];
	snprintf(k, sizeof k, "ckpt.opt.%s.%s", o->name, suffix);
	*val = ts_meta_get(&L->meta, k);
	return *val ? 0 : -1;
}

/* Kind, optimizers and generators of the header segment. */
static int check_header(loader *L)
{
	const nn_ckpt *c = L->c;
	const ts_header *h = ts_reader_header(L->r);
	const char *fmt = ts_meta_get(&h->meta, "ckpt.format");
	const char *kind = ts_meta_get(&h->meta, "ckpt.kind");
	if (!fmt || !kind)
		return nn_fail(NN_CKPT_ERR_FORMAT, "%s: not a checkpoint (no ckpt.format and ckpt.kind "
		               "in its first segment)", L->path);
	if (strcmp(fmt, "1") != 0)
		return nn_fail(NN_CKPT_ERR_FORMAT, "%s: checkpoint format %s (this program reads 1)",
		               L->path, fmt);
	if (ts_meta_copy(&L->meta, &h->meta) != TS_OK)
		return nn_fail(NN_CKPT_ERR_ARG, "%s: out of memory", L->path);
	unsigned char b[8];
	if (h->dtype != TS_U8 || ts_frame_bytes(h) != 1)
		return nn_fail(NN_CKPT_ERR_FORMAT, "%s: the header segment is not one u8 value",
		               L->path);
	int st = read_one(L, b, "the header segment");
	if (st != NN_CKPT_OK)
		return st;
	if (strcmp(kind, c->kind) != 0)
		return nn_fail(NN_CKPT_ERR_MISMATCH, "checkpoint is of model '%s', not '%s'", kind,
		               c->kind);
	for (int i = 0; i < c->nopt; i++) {
		const nn_optim *o = c->opt[i];
		const char *v;
		uint64_t step;
		if (opt_key(L, o, "kind", &v) < 0)
			return nn_fail(NN_CKPT_ERR_MISMATCH, "checkpoint has no optimizer '%s'", o->name);
		if (strcmp(v, nn_optim_kind_name(o->kind)) != 0)
			return nn_fail(NN_CKPT_ERR_MISMATCH, "checkpoint optimizer '%s' is %s, not %s",
			               o->name, v, nn_optim_kind_name(o->kind));
		if (opt_key(L, o, "step", &v) < 0 || parse_u64(v, &step) < 0 || step > (uint64_t)LLONG_MAX)
			return nn_fail(NN_CKPT_ERR_FORMAT, "%s: optimizer '%s': bad or missing step counter",
			               L->path, o->name);
		L->step[i] = (long long)step;
	}
	for (int i = 0; i < c->nrng; i++) {
		char k[160];
		uint64_t seed, counter;
		snprintf(k, sizeof k, "ckpt.rng.%s.seed", c->rng_name[i]);
		const char *s = ts_meta_get(&L->meta, k);
		snprintf(k, sizeof k, "ckpt.rng.%s.counter", c->rng_name[i]);
		const char *n = ts_meta_get(&L->meta, k);
		if (!s && !n)
			return nn_fail(NN_CKPT_ERR_MISMATCH, "checkpoint has no random generator '%s'",
			               c->rng_name[i]);
		if (parse_u64(s, &seed) < 0 || parse_u64(n, &counter) < 0 || counter % 4)
			return nn_fail(NN_CKPT_ERR_FORMAT, "%s: random generator '%s': bad seed or counter",
			               L->path, c->rng_name[i]);
		L->rng[i].seed = seed;
		L->rng[i].counter = counter;
	}
	return NN_CKPT_OK;
}

/* Where tensor `name` goes: *dst (NULL: skipped), the parameter *pi and
 * the slot in L->have. */
static int locate(loader *L, const char *name, float **dst, int *pi, size_t *slot)
{
	const nn_ckpt *c = L->c;
	const nn_arena *a = c->arena;
	const char *slash = strchr(name, '/');
	*dst = NULL;
	if (!slash) {
		int i = nn_arena_find(a, name);
		if (i < 0)
			return nn_fail(NN_CKPT_ERR_MISMATCH, "checkpoint tensor '%s' is not a parameter of "
			               "the model", name);
		*pi = i;
		*slot = (size_t)i;
		*dst = L->params + a->p[i].off;
		return NN_CKPT_OK;
	}
	if (c->nopt == 0)
		return NN_CKPT_OK;   /* weights only */
	int i = nn_arena_find(a, slash + 1);
	size_t base = (size_t)a->n;
	for (int k = 0; i >= 0 && k < c->nopt; k++) {
		const nn_optim *o = c->opt[k];
		for (int j = 0; j < o->nstate; j++) {
			const char *sn = nn_optim_state_name(o, j);
			if (o->group_of[i] != NN_OPT_NONE && strlen(sn) == (size_t)(slash - name) &&
			    strncmp(sn, name, (size_t)(slash - name)) == 0) {
				*pi = i;
				*slot = base + (size_t)j * (size_t)a->n + (size_t)i;
				*dst = L->state[k][j] + a->p[i].off;
				return NN_CKPT_OK;
			}
		}
		base += (size_t)o->nstate * (size_t)a->n;
	}
	return nn_fail(NN_CKPT_ERR_MISMATCH, "checkpoint tensor '%s' is no optimizer state of the "
	               "model", name);
}

static int read_tensors(loader *L, size_t *count)
{
	const nn_arena *a = L->c->arena;
	float *skip = NULL;
	size_t skip_n = 0;
	int st = NN_CKPT_OK;
	*count = 0;
	for (;;) {
		ts_status ts = ts_reader_next_segment(L->r);
		if (ts == TS_END)
			break;
		if (ts != TS_OK) {
			st = reader_fail(L, ts);
			break;
		}
		const ts_header *h = ts_reader_header(L->r);
		const char *name = ts_meta_get(&h->meta, "name");
		char what[300];
		if (!name || h->dtype != TS_F32) {
			st = nn_fail(NN_CKPT_ERR_FORMAT, "%s: segment %zu is not a named f32 tensor", L->path,
			             *count + 1);
			break;
		}
		float *dst;
		int pi = -1;
		size_t slot = 0;
		st = locate(L, name, &dst, &pi, &slot);
		if (st != NN_CKPT_OK)
			break;
		snprintf(what, sizeof what, "tensor '%s'", name);
		if (!dst) {   /* skipped: read it into scratch */
			uint64_t n = ts_frame_elems(h);
			if (n > skip_n) {
				float *p = realloc(skip, (size_t)n * sizeof(float));
				if (!p) {
					st = nn_fail(NN_CKPT_ERR_ARG, "%s: out of memory", L->path);
					break;
				}
				skip = p;
				skip_n = (size_t)n;
			}
			st = read_one(L, skip, what);
		} else {
			const nn_param *p = &a->p[pi];
			uint64_t want[4];
			param_dims(p, want);
			int same = h->rank == p->rank;
			for (int d = 0; same && d < p->rank; d++)
				same = h->dims[d] == want[d];
			if (!same) {
				char got_s[100], want_s[100];
				shape_str(got_s, sizeof got_s, h->rank, h->dims);
				shape_str(want_s, sizeof want_s, p->rank, want);
				st = nn_fail(NN_CKPT_ERR_MISMATCH, "checkpoint tensor '%s' has shape %s, the "
				             "model expects %s", name, got_s, want_s);
				break;
			}
			if (L->have[slot]) {
				st = nn_fail(NN_CKPT_ERR_FORMAT, "%s: tensor '%s' appears twice", L->path, name);
				break;
			}
			L->have[slot] = 1;
			st = read_one(L, dst, what);
		}
		if (st != NN_CKPT_OK)
			break;
		(*count)++;
	}
	free(skip);
	return st;
}

/* Every parameter and every state tensor present. */
static int check_complete(loader *L)
{
	const nn_ckpt *c = L->c;
	const nn_arena *a = c->arena;
	for (int i = 0; i < a->n; i++)
		if (!L->have[i])
			return nn_fail(NN_CKPT_ERR_MISMATCH, "checkpoint has no tensor '%s'", a->p[i].name);
	size_t base = (size_t)a->n;
	for (int k = 0; k < c->nopt; k++) {
		const nn_optim *o = c->opt[k];
		for (int j = 0; j < o->nstate; j++)
			for (int i = 0; i < a->n; i++)
				if (o->group_of[i] != NN_OPT_NONE && !L->have[base + (size_t)j * a->n + i])
					return nn_fail(NN_CKPT_ERR_MISMATCH, "checkpoint has no tensor '%s/%s'",
					               nn_optim_state_name(o, j), a->p[i].name);
		base += (size_t)o->nstate * (size_t)a->n;
	}
	return NN_CKPT_OK;
}

static int commit(nn_ctx *ctx, loader *L)
{
	nn_ckpt *c = (nn_ckpt *)L->c;
	const nn_arena *a = c->arena;
	if (nn_write(ctx, nn_buf_of(a->params, 0), L->params, a->total) != TG_CL_OK)
		return nn_fail(NN_CKPT_ERR_DEVICE, "checkpoint: %s", nn_error());
	for (int k = 0; k < c->nopt; k++) {
		nn_optim *o = c->opt[k];
		for (int j = 0; j < o->nstate; j++)
			if (nn_write(ctx, nn_buf_of(o->state[j], 0), L->state[k][j], a->total) != TG_CL_OK)
				return nn_fail(NN_CKPT_ERR_DEVICE, "checkpoint: %s", nn_error());
		o->step = L->step[k];
	}
	for (int i = 0; i < c->nrng; i++)
		*c->rng[i] = L->rng[i];
	if (c->meta) {
		ts_meta_free(c->meta);
		*c->meta = L->meta;
		ts_meta_init(&L->meta);
	}
	return NN_CKPT_OK;
}

int nn_ckpt_load(nn_ctx *ctx, const char *path, nn_ckpt *c)
{
	if (!c->kind || !c->arena || !c->arena->params || c->nopt < 0 ||
	    c->nopt > NN_CKPT_MAX_OPT || c->nrng < 0 || c->nrng > NN_CKPT_MAX_RNG)
		return nn_fail(NN_CKPT_ERR_ARG, "checkpoint: no model kind or arena");
	for (int k = 0; k < c->nopt; k++)
		if (c->opt[k]->arena != c->arena)
			return nn_fail(NN_CKPT_ERR_ARG, "checkpoint: optimizer '%s' is over another arena",
			               c->opt[k]->name);
	const nn_arena *a = c->arena;
	loader L;
	memset(&L, 0, sizeof L);
	L.c = c;
	L.path = path;
	ts_meta_init(&L.meta);
	size_t nslots = (size_t)a->n, total = a->total ? a->total : 1;
	int st = NN_CKPT_OK;
	for (int k = 0; k < c->nopt; k++)
		nslots += (size_t)c->opt[k]->nstate * (size_t)a->n;
	L.params = calloc(total, sizeof(float));
	L.have = calloc(nslots ? nslots : 1, 1);
	if (!L.params || !L.have)
		st = nn_fail(NN_CKPT_ERR_ARG, "checkpoint: out of memory");
	for (int k = 0; st == NN_CKPT_OK && k < c->nopt; k++) {
		L.state[k] = calloc(NN_OPT_MAX_STATE, sizeof(float *));
		if (!L.state[k]) {
			st = nn_fail(NN_CKPT_ERR_ARG, "checkpoint: out of memory");
			break;
		}
		for (int j = 0; j < c->opt[k]->nstate; j++)
			if (!(L.state[k][j] = calloc(total, sizeof(float))))
				st = nn_fail(NN_CKPT_ERR_ARG, "checkpoint: out of memory");
	}

	int fd = -1;
	if (st == NN_CKPT_OK) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			st = nn_fail(NN_CKPT_ERR_OPEN, "cannot open %s: %s", path, strerror(errno));
	}
	if (st == NN_CKPT_OK) {
		ts_status ts = ts_reader_open(&L.r, fd, path, TS_R_SEGMENTS);
		if (ts != TS_OK)
			st = L.r ? reader_fail(&L, ts) : nn_fail(NN_CKPT_ERR_ARG, "%s: out of memory", path);
	}
	if (st == NN_CKPT_OK)
		st = check_header(&L);
	size_t count = 0;
	if (st == NN_CKPT_OK)
		st = read_tensors(&L, &count);
	if (st == NN_CKPT_OK) {
		uint64_t announced;
		if (parse_u64(ts_meta_get(&L.meta, "ckpt.tensors"), &announced) < 0 ||
		    announced != count)
			st = nn_fail(NN_CKPT_ERR_FORMAT, "%s: truncated checkpoint: %zu tensors, its header "
			             "announces %s", path, count,
			             ts_meta_get(&L.meta, "ckpt.tensors") ? ts_meta_get(&L.meta, "ckpt.tensors")
			                                                  : "none");
	}
	if (st == NN_CKPT_OK)
		st = check_complete(&L);
	if (st == NN_CKPT_OK)
		st = commit(ctx, &L);

	if (L.r)
		ts_reader_close(L.r);
	if (fd >= 0)
		close(fd);
	for (int k = 0; k < c->nopt; k++) {
		if (!L.state[k])
			continue;
		for (int j = 0; j < NN_OPT_MAX_STATE; j++)
			free(L.state[k][j]);
		free(L.state[k]);
	}
	free(L.params);
	free(L.have);
	ts_meta_free(&L.meta);
	return st;
}
