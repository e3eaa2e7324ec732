/* train.c: the training loop shared by every GAN kind (gan.h), snapshots,
 * the loss log and checkpoints.
 *
 * Data order: at the start of each epoch the indices 0 .. n-1 are shuffled
 * (Fisher-Yates, index j drawn as word % (i + 1) from a copy of
 * m->data_rng); m->data_rng moves on only when the epoch is complete, so a
 * checkpoint written mid-epoch holds the generator state that gives the
 * same order again, and m->batch_pos says where to continue.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "gan/gan.h"
#include "io/image.h"
#include "nn/ckpt.h"

/* ---- checkpoints ---- */

static void put(ts_meta *mt, const char *key, const char *fmt, double v)
{
	ts_meta_setf(mt, key, fmt, v);
}

static void hp_to_meta(const gan_model *m, ts_meta *mt)
{
	const gan_hparams *h = &m->hp;
	ts_meta_setf(mt, "gan.size", "%d", m->size);
	put(mt, "gan.hp.lr_g", "%.17g", h->lr_g);
	put(mt, "gan.hp.lr_d", "%.17g", h->lr_d);
	put(mt, "gan.hp.beta1", "%.17g", h->beta1);
	put(mt, "gan.hp.beta2", "%.17g", h->beta2);
	put(mt, "gan.hp.alpha", "%.17g", h->alpha);
	put(mt, "gan.hp.weight_decay", "%.17g", h->weight_decay);
	ts_meta_setf(mt, "gan.hp.batch", "%d", h->batch);
	ts_meta_setf(mt, "gan.hp.latent", "%d", h->latent);
	ts_meta_setf(mt, "gan.hp.n_critic", "%d", h->n_critic);
	put(mt, "gan.hp.lambda_gp", "%.17g", h->lambda_gp);
	put(mt, "gan.hp.clip", "%.17g", h->clip);
	ts_meta_set(mt, "gan.hp.optimizer", nn_optim_kind_name(h->optimizer));
	ts_meta_setf(mt, "gan.hp.seed", "%llu", h->seed);
	ts_meta_setf(mt, "gan.epoch", "%lld", m->epoch);
	ts_meta_setf(mt, "gan.batch_pos", "%ld", m->batch_pos);
	ts_meta_setf(mt, "gan.g_steps", "%lld", m->g_steps);
	ts_meta_setf(mt, "gan.d_steps", "%lld", m->d_steps);
	put(mt, "gan.wall", "%.17g", m->wall);
	put(mt, "gan.last.d_loss", "%.9g", m->last.d_loss);
	put(mt, "gan.last.g_loss", "%.9g", m->last_g_loss);
	put(mt, "gan.last.gp", "%.9g", m->last.gp);
	put(mt, "gan.last.wdist", "%.9g", m->last.wdist);
}

static void fill_ckpt(gan_model *m, nn_ckpt *c, ts_meta *mt, int weights_only)
{
	memset(c, 0, sizeof *c);
	c->kind = m->kind->name;
	c->arena = &m->arena;
	if (!weights_only) {
		c->opt[0] = &m->opt_g;
		c->opt[1] = &m->opt_d;
		c->nopt = 2;
		c->rng[0] = &m->rng;
		c->rng_name[0] = "train";
		c->rng[1] = &m->data_rng;
		c->rng_name[1] = "data";
		c->nrng = 2;
	}
	c->meta = mt;
}

int gan_ckpt_save(gan_model *m, const char *path)
{
	ts_meta mt;
	ts_meta_init(&mt);
	hp_to_meta(m, &mt);
	nn_ckpt c;
	fill_ckpt(m, &c, &mt, 0);
	int st = nn_ckpt_save(m->ctx, path, &c);
	ts_meta_free(&mt);
	return st;
}

static int get_d(const ts_meta *mt, const char *key, double *v)
{
	const char *s = ts_meta_get(mt, key);
	if (!s)
		return -1;
	char *end;
	errno = 0;
	*v = strtod(s, &end);
	return end == s || *end ? -1 : 0;
}

static int get_ll(const ts_meta *mt, const char *key, long long lo, long long hi, long long *v)
{
	const char *s = ts_meta_get(mt, key);
	if (!s)
		return -1;
	char *end;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return end == s || *end || errno || *v < lo || *v > hi ? -1 : 0;
}

/* Progress fields of a header into m (where present). */
static void progress_from_meta(gan_model *m, const ts_meta *mt)
{
	long long v;
	double d;
	if (get_ll(mt, "gan.epoch", 0, LLONG_MAX, &v) == 0)
		m->epoch = v;
	if (get_ll(mt, "gan.batch_pos", 0, LONG_MAX, &v) == 0)
		m->batch_pos = (long)v;
	if (get_ll(mt, "gan.g_steps", 0, LLONG_MAX, &v) == 0)
		m->g_steps = v;
	if (get_ll(mt, "gan.d_steps", 0, LLONG_MAX, &v) == 0)
		m->d_steps = v;
	if (get_d(mt, "gan.wall", &d) == 0)
		m->wall = d;
	if (get_d(mt, "gan.last.d_loss", &d) == 0)
		m->last.d_loss = d;
	if (get_d(mt, "gan.last.g_loss", &d) == 0)
		m->last_g_loss = m->last.g_loss = d;
	if (get_d(mt, "gan.last.gp", &d) == 0)
		m->last.gp = d;
	if (get_d(mt, "gan.last.wdist", &d) == 0)
		m->last.wdist = d;
}

int gan_ckpt_peek(const char *path, const gan_model_kind **k, int *size, gan_hparams *hp,
                  ts_meta *meta, char *why, size_t whylen)
{
	ts_reader *r = NULL;
	ts_status ts = ts_reader_open_path(&r, path, TS_R_SEGMENTS);
	if (ts != TS_OK) {
		int st = ts == TS_ERR_IO && errno ? NN_CKPT_ERR_OPEN : NN_CKPT_ERR_FORMAT;
		if (!r || (ts == TS_ERR_IO && access(path, R_OK) != 0)) {
			snprintf(why, whylen, "%s", strerror(errno ? errno : EIO));
			st = NN_CKPT_ERR_OPEN;
		} else {
			snprintf(why, whylen, "not a checkpoint: %s", ts_reader_error(r));
		}
		if (r)
			ts_reader_close(r);
		return st;
	}
	const ts_meta *mt = &ts_reader_header(r)->meta;
	int st = NN_CKPT_ERR_FORMAT;
	const char *kind = ts_meta_get(mt, "ckpt.kind");
	const char *opt = ts_meta_get(mt, "gan.hp.optimizer");
	long long v[5];
	double d[8];
	memset(hp, 0, sizeof *hp);
	if (!kind || !ts_meta_get(mt, "ckpt.format")) {
		snprintf(why, whylen, "not a checkpoint (no ckpt.kind in its header)");
		goto out;
	}
	if (!(*k = gan_model_kind_find(kind))) {
		snprintf(why, whylen, "checkpoint of model '%s', which ganrun does not know", kind);
		st = NN_CKPT_ERR_MISMATCH;
		goto out;
	}
	if (get_ll(mt, "gan.size", 1, 1 << 16, &v[0]) || get_ll(mt, "gan.hp.batch", 1, 1 << 20, &v[1]) ||
	    get_ll(mt, "gan.hp.latent", 1, 1 << 20, &v[2]) ||
	    get_ll(mt, "gan.hp.n_critic", 0, 1 << 20, &v[3]) ||
	    get_ll(mt, "gan.hp.seed", 0, LLONG_MAX, &v[4]) || get_d(mt, "gan.hp.lr_g", &d[0]) ||
	    get_d(mt, "gan.hp.lr_d", &d[1]) || get_d(mt, "gan.hp.beta1", &d[2]) ||
	    get_d(mt, "gan.hp.beta2", &d[3]) || get_d(mt, "gan.hp.alpha", &d[4]) ||
	    get_d(mt, "gan.hp.weight_decay", &d[5]) || get_d(mt, "gan.hp.lambda_gp", &d[6]) ||
	    get_d(mt, "gan.hp.clip", &d[7]) || !opt) {
		snprintf(why, whylen, "checkpoint header lacks the gan.* entries or has bad values");
		goto out;
	}
	*size = (int)v[0];
	hp->batch = (int)v[1];
	hp->latent = (int)v[2];
	hp->n_critic = (int)v[3];
	hp->seed = (unsigned long long)v[4];
	hp->lr_g = d[0];
	hp->lr_d = d[1];
	hp->beta1 = d[2];
	hp->beta2 = d[3];
	hp->alpha = d[4];
	hp->weight_decay = d[5];
	hp->lambda_gp = d[6];
	hp->clip = d[7];
	hp->optimizer = strcmp(opt, "adam") == 0      ? NN_OPT_ADAM
	                : strcmp(opt, "rmsprop") == 0 ? NN_OPT_RMSPROP
	                : strcmp(opt, "sgd") == 0     ? NN_OPT_SGD
	                                              : 0;
	if (!hp->optimizer) {
		snprintf(why, whylen, "checkpoint names an unknown optimizer '%s'", opt);
		goto out;
	}
	if (meta && ts_meta_copy(meta, mt) != TS_OK) {
		snprintf(why, whylen, "out of memory");
		st = NN_CKPT_ERR_ARG;
		goto out;
	}
	st = NN_CKPT_OK;
out:
	ts_reader_close(r);
	return st;
}

int gan_ckpt_open(nn_ctx *ctx, const char *path, int weights_only, gan_model *m)
{
	const gan_model_kind *k;
	int size;
	gan_hparams hp;
	char why[256];
	ts_meta mt;
	ts_meta_init(&mt);
	memset(m, 0, sizeof *m);
	int st = gan_ckpt_peek(path, &k, &size, &hp, &mt, why, sizeof why);
	if (st != NN_CKPT_OK) {
		nn_fail(TG_CL_FAIL, "%s", why);
		ts_meta_free(&mt);
		return st;
	}
	gan_hparams dflt;
	memset(&dflt, 0, sizeof dflt);
	if (k->defaults(size, &dflt, why, sizeof why)) {
		nn_fail(TG_CL_FAIL, "checkpoint: %s", why);
		ts_meta_free(&mt);
		return NN_CKPT_ERR_FORMAT;
	}
	if (gan_model_create(ctx, k, size, &hp, m) != TG_CL_OK) {
		ts_meta_free(&mt);
		return NN_CKPT_ERR_DEVICE;
	}
	nn_ckpt c;
	fill_ckpt(m, &c, NULL, weights_only);
	st = nn_ckpt_load(ctx, path, &c);
	if (st == NN_CKPT_OK)
		progress_from_meta(m, &mt);
	else
		gan_model_free(m);
	ts_meta_free(&mt);
	return st;
}

/* ---- snapshots ---- */

#define GRID 8   /* GRID x GRID images per snapshot */
#define GAP 2    /* pixels between them */

/* Fills out[count, 1, size, size] (host) with G's images in [0, 1] for
 * z[count, latent] (host), in batches of hp.batch. */
static int generate_host(gan_model *m, const float *z, int count, float *out)
{
	size_t npix = (size_t)m->size * m->size;
	for (int i = 0; i < count; i += m->hp.batch) {
		int B = count - i < m->hp.batch ? count - i : m->hp.batch;
		nn_buf y;
		int st = nn_write(m->ctx, m->z, z + (size_t)i * m->hp.latent, (size_t)B * m->hp.latent);
		if (st == TG_CL_OK)
			st = gan_generate(m, m->z, B, &y);
		if (st == TG_CL_OK)
			st = nn_read(m->ctx, out + (size_t)i * npix, y, (size_t)B * npix);
		if (st != TG_CL_OK)
			return st;
	}
	for (size_t j = 0; j < (size_t)count * npix; j++) {
		float v = (out[j] + 1.0f) * 0.5f;
		out[j] = v < 0 ? 0 : v > 1 ? 1 : v;
	}
	return TG_CL_OK;
}

static int write_grid(const char *dir, long long epoch, const float *img, int size,
                      char *err, size_t errlen)
{
	int W = GRID * size + (GRID - 1) * GAP;
	uint8_t *pix = calloc((size_t)W * W, 1);
	if (!pix) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int g = 0; g < GRID * GRID; g++) {
		int oy = (g / GRID) * (size + GAP), ox = (g % GRID) * (size + GAP);
		const float *s = img + (size_t)g * size * size;
		for (int y = 0; y < size; y++)
			for (int x = 0; x < size; x++)
				pix[(size_t)(oy + y) * W + ox + x] =
					(uint8_t)lrintf(s[(size_t)y * size + x] * 255.0f);
	}
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/epoch-%06lld.png", dir, epoch);
	snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
		free(pix);
		return -1;
	}
	fchmod(fd, 0644);
	tg_img_status st = tg_png_write_gray(fd, path, pix, (uint32_t)W, (uint32_t)W, 8, 6, err,
	                                     errlen);
	free(pix);
	if (close(fd) != 0 && st == TG_IMG_OK) {
		snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
		st = TG_IMG_ERR_IO;
	}
	if (st == TG_IMG_OK && rename(tmp, path) != 0) {
		snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
		st = TG_IMG_ERR_IO;
	}
	if (st != TG_IMG_OK)
		unlink(tmp);
	return st == TG_IMG_OK ? 0 : -1;
}

/* ---- the loop ---- */

static void shuffle(nn_rng r, long n, long *perm)
{
	for (long i = 0; i < n; i++)
		perm[i] = i;
	if (n < 2)
		return;
	uint32_t *w = malloc((size_t)(n - 1) * sizeof *w);
	if (!w)
		tg_die(TG_EX_SOFTWARE, "out of memory");
	nn_rng_words(&r, w, (size_t)(n - 1));
	for (long i = n - 1, k = 0; i > 0; i--, k++) {
		long j = (long)(w[k] % (uint32_t)(i + 1));
		long t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	free(w);
}

/* The data generator after an epoch's shuffle. */
static nn_rng after_shuffle(nn_rng r, long n)
{
	if (n >= 2)
		r.counter = nn_rng_advance(r.counter, (uint64_t)(n - 1));
	return r;
}

static void fmt_time(char *buf, size_t len, double s)
{
	if (s < 0)
		s = 0;
	long t = (long)(s + 0.5);
	snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

static int fail_nn(const gan_train_opts *o, const char *what)
{
	tg_progress_done();
	fprintf(stderr, "%s: %s: %s\n", o->prog, what, nn_error());
	return TG_EX_SOFTWARE;
}

static int save(gan_model *m, const gan_train_opts *o)
{
	int st = gan_ckpt_save(m, o->ckpt_path);
	if (st != NN_CKPT_OK) {
		tg_progress_done();
		fprintf(stderr, "%s: %s: %s\n", o->prog, o->ckpt_path, nn_error());
		return nn_ckpt_exit_status(st);
	}
	return 0;
}

int gan_train(gan_model *m, const gan_data *d, const gan_train_opts *o)
{
	const size_t npix = (size_t)d->size * d->size;
	const int Bmax = m->hp.batch;
	long nbatch = (d->n + Bmax - 1) / Bmax;
	long *perm = tg_malloc((size_t)d->n * sizeof *perm);
	float *snap_z = NULL, *snap_img = NULL;
	FILE *log = NULL;
	int rc = 0;
	cl_mem batch = nn_alloc(m->ctx, (size_t)Bmax * npix, NULL);
	if (!batch) {
		free(perm);
		return fail_nn(o, "batch buffer");
	}
	if (o->snapshot_every > 0) {
		nn_rng zr;
		nn_rng_init(&zr, m->hp.seed + 3);
		size_t nz = (size_t)GRID * GRID * m->hp.latent;
		snap_z = tg_malloc(nz * sizeof *snap_z);
		snap_img = tg_malloc((size_t)GRID * GRID * npix * sizeof *snap_img);
		if (m->kind->noise == GAN_NOISE_UNIFORM)
			nn_rng_uniform(&zr, snap_z, nz, -1.0f, 1.0f);
		else
			nn_rng_normal(&zr, snap_z, nz, 0.0f, 1.0f);
		if (mkdir(o->snapshot_dir, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "%s: %s: %s\n", o->prog, o->snapshot_dir, strerror(errno));
			rc = TG_EX_IOERR;
			goto out;
		}
	}
	if (o->log_path) {
		log = fopen(o->log_path, "a");
		if (!log) {
			fprintf(stderr, "%s: %s: %s\n", o->prog, o->log_path, strerror(errno));
			rc = TG_EX_IOERR;
			goto out;
		}
		if (fseek(log, 0, SEEK_END) == 0 && ftell(log) == 0)
			fprintf(log, "epoch,g_step,seconds,d_loss,g_loss,gp,wdist\n");
	}
	double t0 = tg_now(), wall0 = m->wall, tlast = t0;
	long long imgs = 0;
	int stopped = 0;
	const char *why = "epoch limit";
	while (m->epoch < o->epochs && !stopped) {
		shuffle(m->data_rng, d->n, perm);
		for (long b = m->batch_pos; b < nbatch; b++) {
			long first = b * Bmax;
			int B = (int)(d->n - first < Bmax ? d->n - first : Bmax);
			for (int j = 0; j < B; j++) {
				cl_int e = clEnqueueCopyBuffer(
					m->ctx->cl->queue, d->x.mem, batch,
					(d->x.off + (size_t)perm[first + j] * npix) * sizeof(float),
					(size_t)j * npix * sizeof(float), npix * sizeof(float), 0, NULL, NULL);
				if (e != CL_SUCCESS) {
					nn_fail_cl(TG_CL_FAIL, "batch copy");
					rc = fail_nn(o, "training");
					goto out;
				}
			}
			gan_losses L;
			if (m->kind->train_step(m, nn_buf_of(batch, 0), B, b, &L) != TG_CL_OK) {
				rc = fail_nn(o, "training step");
				goto out;
			}
			m->batch_pos = b + 1;
			m->d_steps += L.d_step;
			m->g_steps += L.g_step;
			m->last = L;
			if (L.g_step)
				m->last_g_loss = L.g_loss;
			imgs += B;
			m->wall = wall0 + (tg_now() - t0);
			if (log && L.g_step)
				fprintf(log, "%lld,%lld,%.3f,%.9g,%.9g,%.9g,%.9g\n", m->epoch + 1, m->g_steps,
				        m->wall, L.d_loss, L.g_loss, L.gp, L.wdist);
			double now = tg_now();
			if (tg_progress_enabled() && now - tlast >= 0.5) {
				char left[96] = "";
				if (o->time_budget > 0) {
					char t[64];
					fmt_time(t, sizeof t, o->time_budget - (now - t0));
					snprintf(left, sizeof left, ", %s left", t);
				}
				tg_progress("epoch %lld/%lld batch %ld/%ld, %.1f img/s, D %.4g G %.4g W %.4g%s",
				            m->epoch + 1, o->epochs, b + 1, nbatch, imgs / (now - t0),
				            m->last.d_loss, m->last_g_loss, m->last.wdist, left);
				tlast = now;
			}
			if (o->stop && *o->stop) {
				stopped = 1;
				why = "stopped by a signal";
				break;
			}
		}
		if (m->batch_pos < nbatch)
			break;   /* interrupted inside the epoch: saved below, resumed there */
		m->epoch++;
		m->batch_pos = 0;
		m->data_rng = after_shuffle(m->data_rng, d->n);
		if (log)
			fflush(log);
		if (o->snapshot_every > 0 && m->epoch % o->snapshot_every == 0) {
			char err[512];
			nn_rng keep = m->rng;
			if (generate_host(m, snap_z, GRID * GRID, snap_img) != TG_CL_OK) {
				rc = fail_nn(o, "snapshot");
				goto out;
			}
			m->rng = keep;
			if (write_grid(o->snapshot_dir, m->epoch, snap_img, d->size, err, sizeof err)) {
				tg_progress_done();
				fprintf(stderr, "%s: snapshot: %s\n", o->prog, err);
				rc = TG_EX_IOERR;
				goto out;
			}
		}
		int last = m->epoch >= o->epochs;
		if (o->time_budget > 0 && tg_now() - t0 >= o->time_budget) {
			stopped = 1;
			why = "time budget spent";
		}
		if (o->stop && *o->stop) {
			stopped = 1;
			why = "stopped by a signal";
		}
		if (!last && !stopped && o->checkpoint_every > 0 &&
		    m->epoch % o->checkpoint_every == 0 && (rc = save(m, o)))
			goto out;
	}
	m->wall = wall0 + (tg_now() - t0);
	if ((rc = save(m, o)))
		goto out;
	tg_progress_done();
	if (!o->quiet || stopped)   /* a stop is always reported */
		fprintf(stderr,
		        "%s: %s after epoch %lld%s (%lld generator steps, %.1f s): D %.5g, G %.5g, "
		        "W %.5g; checkpoint %s\n",
		        o->prog, why, m->epoch, m->batch_pos ? " and part of the next" : "", m->g_steps,
		        m->wall, m->last.d_loss, m->last_g_loss, m->last.wdist, o->ckpt_path);
out:
	tg_progress_done();
	if (log && fclose(log) != 0 && rc == 0) {
		fprintf(stderr, "%s: %s: write failed: %s\n", o->prog, o->log_path, strerror(errno));
		rc = TG_EX_IOERR;
	}
	clReleaseMemObject(batch);
	free(perm);
	free(snap_z);
	free(snap_img);
	return rc;
}
