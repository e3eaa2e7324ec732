/* seq.c: sequential models (seq.h): building, workspace and the four
 * passes, each a walk over the layers calling the ops of ops.h. */
#include <stdio.h>
#include <string.h>

#include "nn/seq.h"
#include "nn/internal.h"
#include "nn/optim.h"

static const char *kind_name(int kind)
{
	static const char *const names[] = { "linear", "conv2d", "upsample", "relu",
		                             "leaky_relu", "tanh", "sigmoid", "reshape",
		                             "batchnorm", "dropout", "conv_transpose2d" };
	return kind >= 0 && kind <= NN_LAYER_CONVT2D ? names[kind] : "?";
}

static size_t count3(const int *s)
{
	return (size_t)s[0] * s[1] * s[2];
}

/* ---- building ---- */

int nn_seq_init(nn_seq *m, nn_arena *a, const char *name, int C, int H, int W)
{
	memset(m, 0, sizeof *m);
	if (strlen(name) >= sizeof m->name)
		return nn_fail(TG_CL_FAIL, "model name %s is too long", name), -1;
	if (C < 1 || H < 1 || W < 1 || (double)C * H * W > (double)NN_MAX_ELEMS)
		return nn_fail(TG_CL_FAIL, "%s: bad input shape %d x %d x %d", name, C, H, W), -1;
	snprintf(m->name, sizeof m->name, "%s", name);
	m->arena = a;
	m->in[0] = C, m->in[1] = H, m->in[2] = W;
	return 0;
}

static const int *cur_shape(const nn_seq *m)
{
	return m->n ? m->l[m->n - 1].out : m->in;
}

/* A new layer of `kind` taking the current output shape; NULL on failure. */
static nn_layer *push(nn_seq *m, int kind)
{
	if (m->n == NN_SEQ_MAX_LAYERS) {
		nn_fail(TG_CL_FAIL, "%s: more than %d layers", m->name, NN_SEQ_MAX_LAYERS);
		return NULL;
	}
	nn_layer *l = &m->l[m->n];
	memset(l, 0, sizeof *l);
	l->kind = kind;
	memcpy(l->in, cur_shape(m), sizeof l->in);
	memcpy(l->out, l->in, sizeof l->out);
	l->w = l->b = -1;
	return l;
}

/* Declares parameter `what` of the layer being added; -1 on failure. */
static int add_param(nn_seq *m, const char *what, int rank, const int *dim)
{
	char name[64];
	if (!m->arena) {
		nn_fail(TG_CL_FAIL, "%s: model without an arena", m->name);
		return -1;
	}
	if ((size_t)snprintf(name, sizeof name, "%s.%d.%s", m->name, m->n, what) >= sizeof name) {
		nn_fail(TG_CL_FAIL, "%s: parameter name too long", m->name);
		return -1;
	}
	return nn_arena_add(m->arena, name, rank, dim);
}

/* Finishes a layer: checks the output size, counts, returns its index. */
static int commit(nn_seq *m, nn_layer *l)
{
	double n = (double)l->out[0] * l->out[1] * l->out[2];
	if (l->out[0] < 1 || l->out[1] < 1 || l->out[2] < 1 || n > (double)NN_MAX_ELEMS)
		return nn_fail(TG_CL_FAIL, "%s: layer %d (%s): bad output shape %d x %d x %d",
		               m->name, m->n, kind_name(l->kind), l->out[0], l->out[1], l->out[2]),
		       -1;
	l->in_n = count3(l->in);
	l->out_n = count3(l->out);
	return m->n++;
}

int nn_seq_linear(nn_seq *m, int out, int bias)
{
	nn_layer *l = push(m, NN_LAYER_LINEAR);
	if (!l)
		return -1;
	if (out < 1)
		return nn_fail(TG_CL_FAIL, "%s: linear with %d outputs", m->name, out), -1;
	size_t in = count3(l->in);
	if (in > (size_t)INT_MAX || (double)in * out > (double)NN_MAX_ELEMS)
		return nn_fail(TG_CL_FAIL, "%s: linear %zu -> %d is too large", m->name, in, out), -1;
	l->oc = out;
	l->out[0] = out, l->out[1] = 1, l->out[2] = 1;
	int wd[2] = { out, (int)in };
	if ((l->w = add_param(m, "weight", 2, wd)) < 0)
		return -1;
	if (bias && (l->b = add_param(m, "bias", 1, &out)) < 0)
		return -1;
	return commit(m, l);
}

int nn_seq_conv2d(nn_seq *m, int oc, int kh, int kw, int sh, int sw, int ph, int pw, int bias)
{
	nn_layer *l = push(m, NN_LAYER_CONV2D);
	if (!l)
		return -1;
	nn_conv2d g;
	if (nn_conv2d_shape(&g, 1, l->in[0], l->in[1], l->in[2], oc, kh, kw, sh, sw, ph, pw))
		return -1;
	l->oc = oc, l->kh = kh, l->kw = kw, l->sh = sh, l->sw = sw, l->ph = ph, l->pw = pw;
	l->out[0] = oc, l->out[1] = g.OH, l->out[2] = g.OW;
	int wd[4] = { oc, l->in[0], kh, kw };
	if ((l->w = add_param(m, "weight", 4, wd)) < 0)
		return -1;
	if (bias && (l->b = add_param(m, "bias", 1, &oc)) < 0)
		return -1;
	return commit(m, l);
}

int nn_seq_upsample(nn_seq *m, int factor)
{
	nn_layer *l = push(m, NN_LAYER_UPSAMPLE);
	if (!l)
		return -1;
	if (factor < 1 || factor > 64)
		return nn_fail(TG_CL_FAIL, "%s: upsampling factor %d (1 to 64)", m->name, factor), -1;
	l->factor = factor;
	l->out[1] = l->in[1] * factor, l->out[2] = l->in[2] * factor;
	return commit(m, l);
}

static int act_layer(nn_seq *m, int kind, float slope)
{
	nn_layer *l = push(m, kind);
	if (!l)
		return -1;
	l->slope = slope;
	return commit(m, l);
}

int nn_seq_relu(nn_seq *m)
{
	return act_layer(m, NN_LAYER_RELU, 0.0f);
}

int nn_seq_leaky_relu(nn_seq *m, float slope)
{
	return act_layer(m, NN_LAYER_LEAKY_RELU, slope);
}

int nn_seq_tanh(nn_seq *m)
{
	return act_layer(m, NN_LAYER_TANH, 0.0f);
}

int nn_seq_sigmoid(nn_seq *m)
{
	return act_layer(m, NN_LAYER_SIGMOID, 0.0f);
}

int nn_seq_reshape(nn_seq *m, int C, int H, int W)
{
	nn_layer *l = push(m, NN_LAYER_RESHAPE);
	if (!l)
		return -1;
	if (C < 1 || H < 1 || W < 1 || (double)C * H * W != (double)count3(l->in))
		return nn_fail(TG_CL_FAIL, "%s: cannot reshape %d x %d x %d to %d x %d x %d", m->name,
		               l->in[0], l->in[1], l->in[2], C, H, W),
		       -1;
	l->out[0] = C, l->out[1] = H, l->out[2] = W;
	return commit(m, l);
}

int nn_seq_flatten(nn_seq *m)
{
	size_t n = count3(cur_shape(m));
	if (n > (size_t)INT_MAX)
		return nn_fail(TG_CL_FAIL, "%s: flatten of %zu elements", m->name, n), -1;
	return nn_seq_reshape(m, (int)n, 1, 1);
}

size_t nn_seq_in_numel(const nn_seq *m)
{
	return count3(m->in);
}

size_t nn_seq_out_numel(const nn_seq *m)
{
	return count3(cur_shape(m));
}

int nn_seq_piecewise_linear(const nn_seq *m, int *bad)
{
	for (int i = 0; i < m->n; i++)
		if (m->l[i].kind == NN_LAYER_TANH || m->l[i].kind == NN_LAYER_SIGMOID) {
			if (bad)
				*bad = i;
			return 0;
		}
	return 1;
}

/* ---- workspace ---- */

/* Elements per sample at boundary j (input of layer j; j == n: output). */
static size_t bcount(const nn_seq *m, int j)
{
	return j < m->n ? m->l[j].in_n : nn_seq_out_numel(m);
}

static int is_reshape(const nn_seq *m, int i)
{
	return m->l[i].kind == NN_LAYER_RESHAPE;
}

void nn_seq_ws_free(nn_seq_ws *ws)
{
	for (int j = 0; j <= NN_SEQ_MAX_LAYERS; j++) {
		nn_buf *own[3] = { &ws->own_act[j], &ws->own_dlt[j], &ws->own_tan[j] };
		for (int k = 0; k < 3; k++)
			if (own[k]->mem)
				clReleaseMemObject(own[k]->mem);
	}
	for (int j = 0; j < NN_SEQ_MAX_LAYERS; j++)
		if (ws->aux[j].mem)
			clReleaseMemObject(ws->aux[j].mem);
	memset(ws, 0, sizeof *ws);
}

static int ws_buf(nn_ctx *ctx, nn_buf *b, size_t rows, size_t per, const char *what, int j)
{
	if (rows == 0)
		return TG_CL_OK;
	if ((double)rows * per > (double)NN_MAX_ELEMS)
		return nn_fail(TG_CL_FAIL, "workspace: %s %d of %zu rows is too large", what, j, rows);
	cl_mem mem = nn_alloc(ctx, rows * per, NULL);
	if (!mem)
		return TG_CL_FAIL;
	*b = nn_buf_of(mem, 0);
	return TG_CL_OK;
}

int nn_seq_ws_alloc(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, int max_rows, int max_tan_rows)
{
	memset(ws, 0, sizeof *ws);
	if (m->n < 1)
		return nn_fail(TG_CL_FAIL, "%s: model has no layers", m->name);
	if (max_rows < 1 || max_tan_rows < 0)
		return nn_fail(TG_CL_FAIL, "%s: workspace for %d rows (%d tangent rows)", m->name,
		               max_rows, max_tan_rows);
	ws->max_rows = max_rows;
	ws->max_tan_rows = max_tan_rows;
	ws->nb = m->n + 1;
	int L = m->n, st = TG_CL_OK;
	for (int j = 1; j <= L && st == TG_CL_OK; j++) {
		size_t per = bcount(m, j);
		if (!is_reshape(m, j - 1)) {
			st = ws_buf(ctx, &ws->own_act[j], (size_t)max_rows, per, "activation", j);
			if (st == TG_CL_OK)
				st = ws_buf(ctx, &ws->own_tan[j], (size_t)max_tan_rows, per, "tangent", j);
		}
		if (st == TG_CL_OK && j < L && !is_reshape(m, j))
			st = ws_buf(ctx, &ws->own_dlt[j], (size_t)max_rows, per, "delta", j);
	}
	for (int i = 0; i < L && st == TG_CL_OK; i++) {
		const nn_layer *l = &m->l[i];
		if (l->kind == NN_LAYER_BATCHNORM)
			st = ws_buf(ctx, &ws->aux[i], 1, 2 * (size_t)l->in[0], "statistics", i);
		else if (l->kind == NN_LAYER_DROPOUT)
			st = ws_buf(ctx, &ws->aux[i], (size_t)max_rows,
			            l->chan ? (size_t)l->in[0] : l->in_n, "mask", i);
	}
	if (st != TG_CL_OK)
		nn_seq_ws_free(ws);
	return st;
}

/* ---- one layer ---- */

static nn_buf param(const nn_seq *m, int idx)
{
	return idx >= 0 ? nn_arena_param(m->arena, idx) : NN_NONE;
}

static nn_buf grad(const nn_seq *m, int idx)
{
	return idx >= 0 ? nn_arena_grad(m->arena, idx) : NN_NONE;
}

static int conv_shape(const nn_layer *l, int rows, nn_conv2d *g)
{
	return nn_conv2d_shape(g, rows, l->in[0], l->in[1], l->in[2], l->oc, l->kh, l->kw, l->sh,
	                       l->sw, l->ph, l->pw)
	               ? TG_CL_FAIL
	               : TG_CL_OK;
}

static int convt_shape(const nn_layer *l, int rows, nn_convt2d *g)
{
	return nn_convt2d_shape(g, rows, l->in[0], l->in[1], l->in[2], l->oc, l->kh, l->kw, l->sh,
	                        l->sw, l->ph, l->pw, l->oph, l->opw)
	               ? TG_CL_FAIL
	               : TG_CL_OK;
}

/* y = layer(x) for `rows` samples; with_bias 0 drops the bias (tangents). */
static int layer_forward(nn_ctx *ctx, const nn_seq *m, const nn_layer *l, nn_buf y, nn_buf x,
                         int rows, int with_bias)
{
	size_t n = (size_t)rows * l->in_n;
	nn_buf b = with_bias ? param(m, l->b) : NN_NONE;
	nn_conv2d g;
	switch (l->kind) {
	case NN_LAYER_LINEAR:
		return nn_linear_forward(ctx, y, x, param(m, l->w), b, rows, (int)l->in_n, l->oc);
	case NN_LAYER_CONV2D:
		if (conv_shape(l, rows, &g))
			return TG_CL_FAIL;
		return nn_conv2d_forward(ctx, &g, y, x, param(m, l->w), b);
	case NN_LAYER_CONVT2D: {
		nn_convt2d gt;
		if (convt_shape(l, rows, &gt))
			return TG_CL_FAIL;
		return nn_convt2d_forward(ctx, &gt, y, x, param(m, l->w), b);
	}
	case NN_LAYER_UPSAMPLE:
		return nn_upsample_forward(ctx, y, x, rows, l->in[0], l->in[1], l->in[2], l->factor);
	case NN_LAYER_RELU: return nn_relu_forward(ctx, y, x, n);
	case NN_LAYER_LEAKY_RELU: return nn_leaky_relu_forward(ctx, y, x, n, l->slope);
	case NN_LAYER_TANH: return nn_tanh_forward(ctx, y, x, n);
	case NN_LAYER_SIGMOID: return nn_sigmoid_forward(ctx, y, x, n);
	default: return TG_CL_OK;  /* reshape: buffers alias */
	}
}

/* Backward of one layer over `rows` samples: dx (may be NN_NONE) from dy;
 * the activations differentiate at xa (input) / ya (output); weight
 * gradient dw from input xw (the activation, or the tangent), bias
 * gradient db; either may be NN_NONE. */
static int layer_backward(nn_ctx *ctx, const nn_seq *m, const nn_layer *l, nn_buf dx, nn_buf dy,
                          nn_buf xa, nn_buf ya, nn_buf xw, nn_buf dw, nn_buf db, int rows)
{
	size_t n = (size_t)rows * l->in_n;
	nn_conv2d g;
	switch (l->kind) {
	case NN_LAYER_LINEAR:
		if (!nn_has(dx) && !nn_has(dw) && !nn_has(db))
			return TG_CL_OK;
		return nn_linear_backward(ctx, dx, dw, db, dy, xw, param(m, l->w), rows,
		                          (int)l->in_n, l->oc);
	case NN_LAYER_CONV2D:
		if (!nn_has(dx) && !nn_has(dw) && !nn_has(db))
			return TG_CL_OK;
		if (conv_shape(l, rows, &g))
			return TG_CL_FAIL;
		return nn_conv2d_backward(ctx, &g, dx, dw, db, dy, xw, param(m, l->w));
	case NN_LAYER_CONVT2D: {
		nn_convt2d gt;
		if (!nn_has(dx) && !nn_has(dw) && !nn_has(db))
			return TG_CL_OK;
		if (convt_shape(l, rows, &gt))
			return TG_CL_FAIL;
		return nn_convt2d_backward(ctx, &gt, dx, dw, db, dy, xw, param(m, l->w));
	}
	case NN_LAYER_UPSAMPLE:
		return nn_upsample_backward(ctx, dx, dy, rows, l->in[0], l->in[1], l->in[2],
		                            l->factor);
	case NN_LAYER_RELU: return nn_relu_backward(ctx, dx, dy, xa, n);
	case NN_LAYER_LEAKY_RELU: return nn_leaky_relu_backward(ctx, dx, dy, xa, n, l->slope);
	case NN_LAYER_TANH: return nn_tanh_backward(ctx, dx, dy, ya, n);
	case NN_LAYER_SIGMOID: return nn_sigmoid_backward(ctx, dx, dy, ya, n);
	default:
		/* reshape: the deltas alias, except into the caller's dx */
		if (nn_has(dx) && (dx.mem != dy.mem || dx.off != dy.off))
			return nn_copy_channels(ctx, dx, 1, 0, dy, 1, 0, 1, rows, (int)l->in_n);
		return TG_CL_OK;
	}
}

static int has_params(const nn_layer *l)
{
	return l->kind == NN_LAYER_LINEAR || l->kind == NN_LAYER_CONV2D ||
	       l->kind == NN_LAYER_CONVT2D || l->kind == NN_LAYER_BATCHNORM;
}

/* Batchnorm and dropout: layers with state in the workspace. */
static int is_ext(const nn_layer *l)
{
	return l->kind == NN_LAYER_BATCHNORM || l->kind == NN_LAYER_DROPOUT;
}

static int ext_forward(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, int i, nn_buf y, nn_buf x,
                       int rows);
static int ext_backward(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, int i, nn_buf dx,
                        nn_buf dy, nn_buf x, nn_buf dw, nn_buf db, int rows);
static int refuse_tangent(const nn_seq *m, const char *pass);

/* Activation at boundary j from row r. */
static nn_buf act_at(const nn_seq *m, const nn_seq_ws *ws, int j, int r)
{
	return nn_at(ws->act[j], (size_t)r * bcount(m, j));
}

/* Names a failure with the model and layer (keeps the op's message). */
static int layer_fail(const nn_seq *m, int i, const char *pass, int st)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s", nn_error());
	return nn_fail(st, "%s: layer %d (%s) %s: %s", m->name, i, kind_name(m->l[i].kind), pass,
	               msg);
}

/* ---- passes ---- */

/* Layer i is a conv2d whose output goes straight into a ReLU, or a
 * LeakyReLU of non-negative slope: the forward computes both in one pass
 * (nn_conv2d_forward_act) and keeps only the activation's output, which
 * serves as the activation's input too (ws->act[i + 1] aliases
 * ws->act[i + 2]).  Everything that reads that input wants only its sign,
 * the ReLU/LeakyReLU backward and the tangent passes (the slopes), and for
 * these activations y > 0 exactly when x > 0. */
static int fused_act(const nn_ctx *ctx, const nn_seq *m, int i, int *act, float *slope)
{
	if (!ctx->fuse_act || i + 1 >= m->n || m->l[i].kind != NN_LAYER_CONV2D)
		return 0;
	const nn_layer *a = &m->l[i + 1];
	if (a->kind == NN_LAYER_RELU) {
		*act = NN_ACT_RELU;
		*slope = 0.0f;
		return 1;
	}
	if (a->kind == NN_LAYER_LEAKY_RELU && a->slope >= 0.0f) {
		*act = NN_ACT_LEAKY;
		*slope = a->slope;
		return 1;
	}
	return 0;
}

int nn_seq_forward(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, nn_buf x, int B)
{
	if (B < 1 || B > ws->max_rows)
		return nn_fail(TG_CL_FAIL, "%s: forward of %d rows (workspace holds %d)", m->name, B,
		               ws->max_rows);
	if (ws->nb != m->n + 1)
		return nn_fail(TG_CL_FAIL, "%s: workspace made for another model", m->name);
	ws->B = 0;
	ws->have_dlt = 0;
	ws->tn = 0;
	ws->act[0] = x;
	ws->fwd_train = !m->eval;
	for (int i = 0; i < m->n; i++) {
		int act;
		float slope;
		if (fused_act(ctx, m, i, &act, &slope)) {
			const nn_layer *l = &m->l[i];
			nn_conv2d g;
			ws->act[i + 1] = ws->act[i + 2] = ws->own_act[i + 2];
			int st = conv_shape(l, B, &g);
			if (st == TG_CL_OK)
				st = nn_conv2d_forward_act(ctx, &g, ws->act[i + 2], ws->act[i],
				                           param(m, l->w), param(m, l->b), act, slope);
			if (st != TG_CL_OK)
				return layer_fail(m, i, "forward", st);
			i++;
			continue;
		}
		ws->act[i + 1] = is_reshape(m, i) ? ws->act[i] : ws->own_act[i + 1];
		int st = is_ext(&m->l[i])
		                 ? ext_forward(ctx, m, ws, i, ws->act[i + 1], ws->act[i], B)
		                 : layer_forward(ctx, m, &m->l[i], ws->act[i + 1], ws->act[i], B, 1);
		if (st != TG_CL_OK)
			return layer_fail(m, i, "forward", st);
	}
	ws->B = B;
	return TG_CL_OK;
}

nn_buf nn_seq_output(const nn_seq_ws *ws)
{
	return ws->nb ? ws->act[ws->nb - 1] : NN_NONE;
}

int nn_seq_backward(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, nn_buf dx, nn_buf dy, int flags)
{
	int L = m->n, B = ws->B;
	if (B < 1)
		return nn_fail(TG_CL_FAIL, "%s: backward without a forward", m->name);
	int pg = !(flags & NN_SEQ_NO_PARAM_GRAD);
	ws->dlt[L] = dy;
	for (int i = L - 1; i >= 0; i--) {
		const nn_layer *l = &m->l[i];
		if (i == 0)
			ws->dlt[0] = dx;
		else
			ws->dlt[i] = is_reshape(m, i) ? ws->dlt[i + 1] : ws->own_dlt[i];
		nn_buf dw = pg ? grad(m, l->w) : NN_NONE, db = pg ? grad(m, l->b) : NN_NONE;
		int st = is_ext(l) ? ext_backward(ctx, m, ws, i, ws->dlt[i], ws->dlt[i + 1],
		                                  ws->act[i], dw, db, B)
		                   : layer_backward(ctx, m, l, ws->dlt[i], ws->dlt[i + 1], ws->act[i],
		                                    ws->act[i + 1], ws->act[i], dw, db, B);
		if (st != TG_CL_OK)
			return layer_fail(m, i, "backward", st);
	}
	ws->have_dlt = 1;
	return TG_CL_OK;
}

int nn_seq_param_grad(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, int r0, int n,
                      int from_tangent)
{
	if (!ws->have_dlt)
		return nn_fail(TG_CL_FAIL, "%s: parameter gradient without a backward", m->name);
	if (r0 < 0 || n < 1 || r0 + n > ws->B)
		return nn_fail(TG_CL_FAIL, "%s: rows %d..%d of a batch of %d", m->name, r0, r0 + n,
		               ws->B);
	if (from_tangent && (ws->tn != n || ws->tr0 != r0))
		return nn_fail(TG_CL_FAIL, "%s: no tangents of rows %d..%d", m->name, r0, r0 + n);
	if (nn_seq_has(m, NN_LAYER_BATCHNORM) && (from_tangent || r0 != 0 || n != ws->B))
		return nn_fail(TG_CL_FAIL,
		               "%s: batchnorm couples the rows of a batch: parameter gradients "
		               "only of the whole batch and not from tangents",
		               m->name);
	for (int i = 0; i < m->n; i++) {
		const nn_layer *l = &m->l[i];
		if (!has_params(l))
			continue;
		if (l->kind == NN_LAYER_BATCHNORM) {
			int st = ext_backward(ctx, m, ws, i, NN_NONE, ws->dlt[i + 1], ws->act[i],
			                      grad(m, l->w), grad(m, l->b), n);
			if (st != TG_CL_OK)
				return layer_fail(m, i, "parameter gradient", st);
			continue;
		}
		nn_buf dy = nn_at(ws->dlt[i + 1], (size_t)r0 * l->out_n);
		nn_buf xw = from_tangent ? ws->tan[i] : act_at(m, ws, i, r0);
		nn_buf db = from_tangent ? NN_NONE : grad(m, l->b);
		int st = layer_backward(ctx, m, l, NN_NONE, dy, NN_NONE, NN_NONE, xw, grad(m, l->w),
		                        db, n);
		if (st != TG_CL_OK)
			return layer_fail(m, i, "parameter gradient", st);
	}
	return TG_CL_OK;
}

int nn_seq_tangent_forward(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, nn_buf tx, int r0, int n)
{
	if (refuse_tangent(m, "tangent forward"))
		return TG_CL_FAIL;
	if (ws->B < 1)
		return nn_fail(TG_CL_FAIL, "%s: tangent without a forward", m->name);
	if (r0 < 0 || n < 1 || r0 + n > ws->B || n > ws->max_tan_rows)
		return nn_fail(TG_CL_FAIL,
		               "%s: tangent of rows %d..%d (batch %d, workspace holds %d tangents)",
		               m->name, r0, r0 + n, ws->B, ws->max_tan_rows);
	ws->tn = 0;
	ws->tan[0] = tx;
	for (int i = 0; i < m->n; i++) {
		const nn_layer *l = &m->l[i];
		nn_buf ty = ws->tan[i + 1] = is_reshape(m, i) ? ws->tan[i] : ws->own_tan[i + 1];
		nn_buf t = ws->tan[i];
		int st;
		switch (l->kind) {
		case NN_LAYER_LINEAR:
		case NN_LAYER_CONV2D:
		case NN_LAYER_UPSAMPLE:
		case NN_LAYER_RESHAPE:
			st = layer_forward(ctx, m, l, ty, t, n, 0);
			break;
		default:
			/* multiplication by the derivative: the activation's backward */
			st = layer_backward(ctx, m, l, ty, t, act_at(m, ws, i, r0),
			                    act_at(m, ws, i + 1, r0), NN_NONE, NN_NONE, NN_NONE, n);
		}
		if (st != TG_CL_OK)
			return layer_fail(m, i, "tangent forward", st);
	}
	ws->tr0 = r0;
	ws->tn = n;
	return TG_CL_OK;
}

nn_buf nn_seq_tangent_output(const nn_seq_ws *ws)
{
	return ws->nb && ws->tn ? ws->tan[ws->nb - 1] : NN_NONE;
}

int nn_seq_tangent_backward(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, nn_buf dty)
{
	int bad;
	if (refuse_tangent(m, "tangent backward"))
		return TG_CL_FAIL;
	if (!nn_seq_piecewise_linear(m, &bad))
		return nn_fail(TG_CL_FAIL,
		               "%s: tangent backward through layer %d (%s): only piecewise-linear "
		               "activations (ReLU, LeakyReLU) have a zero second derivative",
		               m->name, bad, kind_name(m->l[bad].kind));
	int L = m->n, r0 = ws->tr0, n = ws->tn;
	if (n < 1)
		return nn_fail(TG_CL_FAIL, "%s: tangent backward without a tangent forward", m->name);
	/* d[i] of the linearised network, rows r0.. of the workspace deltas;
	 * the top one is the caller's. */
	nn_buf d[NN_SEQ_MAX_LAYERS + 1];
	d[L] = dty;
	for (int i = L - 1; i >= 0; i--) {
		const nn_layer *l = &m->l[i];
		if (i == 0)
			d[0] = NN_NONE;
		else
			d[i] = is_reshape(m, i) ? d[i + 1]
			                        : nn_at(ws->own_dlt[i], (size_t)r0 * l->in_n);
		int st = layer_backward(ctx, m, l, d[i], d[i + 1], act_at(m, ws, i, r0),
		                        act_at(m, ws, i + 1, r0), ws->tan[i], grad(m, l->w), NN_NONE,
		                        n);
		if (st != TG_CL_OK)
			return layer_fail(m, i, "tangent backward", st);
	}
	ws->have_dlt = 0;  /* the deltas of rows r0.. now belong to this pass */
	return TG_CL_OK;
}

/* ---- batchnorm, dropout, transposed conv (additions) ---- */

static int bn_layer(nn_seq *m, float eps, float momentum, int affine, int one_d)
{
	nn_layer *l = push(m, NN_LAYER_BATCHNORM);
	if (!l)
		return -1;
	l->rm = l->rv = -1;
	if (one_d && (l->in[1] != 1 || l->in[2] != 1))
		return nn_fail(TG_CL_FAIL, "%s: batchnorm1d on %d x %d x %d (features expected: "
		               "after a linear layer or a flatten)",
		               m->name, l->in[0], l->in[1], l->in[2]),
		       -1;
	if (!(eps > 0.0f) || !(momentum >= 0.0f && momentum <= 1.0f))
		return nn_fail(TG_CL_FAIL, "%s: batchnorm with eps %g, momentum %g", m->name, eps,
		               momentum),
		       -1;
	l->eps = eps;
	l->momentum = momentum;
	int c = l->in[0];
	if (affine && ((l->w = add_param(m, "weight", 1, &c)) < 0 ||
	               (l->b = add_param(m, "bias", 1, &c)) < 0))
		return -1;
	if ((l->rm = add_param(m, "running_mean", 1, &c)) < 0 ||
	    (l->rv = add_param(m, "running_var", 1, &c)) < 0)
		return -1;
	return commit(m, l);
}

int nn_seq_batchnorm1d(nn_seq *m, float eps, float momentum, int affine)
{
	return bn_layer(m, eps, momentum, affine, 1);
}

int nn_seq_batchnorm2d(nn_seq *m, float eps, float momentum, int affine)
{
	return bn_layer(m, eps, momentum, affine, 0);
}

static int drop_layer(nn_seq *m, float p, int chan)
{
	nn_layer *l = push(m, NN_LAYER_DROPOUT);
	if (!l)
		return -1;
	if (!(p >= 0.0f && p < 1.0f))
		return nn_fail(TG_CL_FAIL, "%s: dropout probability %g (0 <= p < 1)", m->name, p), -1;
	l->p = p;
	l->chan = chan;
	return commit(m, l);
}

int nn_seq_dropout(nn_seq *m, float p)
{
	return drop_layer(m, p, 0);
}

int nn_seq_dropout2d(nn_seq *m, float p)
{
	return drop_layer(m, p, 1);
}

int nn_seq_conv_transpose2d(nn_seq *m, int oc, int kh, int kw, int sh, int sw, int ph, int pw,
                            int oph, int opw, int bias)
{
	nn_layer *l = push(m, NN_LAYER_CONVT2D);
	if (!l)
		return -1;
	nn_convt2d g;
	if (nn_convt2d_shape(&g, 1, l->in[0], l->in[1], l->in[2], oc, kh, kw, sh, sw, ph, pw, oph,
	                     opw))
		return -1;
	l->oc = oc, l->kh = kh, l->kw = kw, l->sh = sh, l->sw = sw, l->ph = ph, l->pw = pw;
	l->oph = oph, l->opw = opw;
	l->out[0] = oc, l->out[1] = g.OH, l->out[2] = g.OW;
	int wd[4] = { l->in[0], oc, kh, kw };
	if ((l->w = add_param(m, "weight", 4, wd)) < 0)
		return -1;
	if (bias && (l->b = add_param(m, "bias", 1, &oc)) < 0)
		return -1;
	return commit(m, l);
}

void nn_seq_set_mode(nn_seq *m, int mode)
{
	m->eval = mode == NN_SEQ_EVAL;
}

void nn_seq_set_rng(nn_seq *m, nn_rng *r)
{
	m->rng = r;
}

int nn_seq_has(const nn_seq *m, int kind)
{
	for (int i = 0; i < m->n; i++)
		if (m->l[i].kind == kind)
			return 1;
	return 0;
}

int nn_seq_reset_batchnorm(nn_ctx *ctx, const nn_seq *m)
{
	for (int i = 0; i < m->n; i++) {
		const nn_layer *l = &m->l[i];
		if (l->kind != NN_LAYER_BATCHNORM)
			continue;
		size_t c = (size_t)l->in[0];
		int st = TG_CL_OK;
		if (l->w >= 0)
			st = nn_fill(ctx, param(m, l->w), c, 1.0f);
		if (st == TG_CL_OK && l->b >= 0)
			st = nn_fill(ctx, param(m, l->b), c, 0.0f);
		if (st == TG_CL_OK)
			st = nn_fill(ctx, param(m, l->rm), c, 0.0f);
		if (st == TG_CL_OK)
			st = nn_fill(ctx, param(m, l->rv), c, 1.0f);
		if (st != TG_CL_OK)
			return layer_fail(m, i, "reset", st);
	}
	return TG_CL_OK;
}

int nn_seq_is_stat(const nn_seq *m, int idx)
{
	for (int i = 0; i < m->n; i++)
		if (m->l[i].kind == NN_LAYER_BATCHNORM && (m->l[i].rm == idx || m->l[i].rv == idx))
			return 1;
	return 0;
}

int nn_seq_exclude_stats(struct nn_optim *o, const nn_seq *m)
{
	int n = 0;
	for (int i = 0; i < m->n; i++) {
		const nn_layer *l = &m->l[i];
		if (l->kind != NN_LAYER_BATCHNORM)
			continue;
		int idx[2] = { l->rm, l->rv };
		for (int k = 0; k < 2; k++) {
			if (nn_optim_assign(o, m->arena->p[idx[k]].name, NN_OPT_NONE) < 0)
				return -1;
			n++;
		}
	}
	return n;
}

static int refuse_tangent(const nn_seq *m, const char *pass)
{
	for (int i = 0; i < m->n; i++) {
		int k = m->l[i].kind;
		if (k == NN_LAYER_BATCHNORM || k == NN_LAYER_DROPOUT || k == NN_LAYER_CONVT2D) {
			nn_fail(TG_CL_FAIL,
			        "%s: %s through layer %d (%s): the tangent passes support linear, "
			        "conv2d, upsample, reshape and activation layers only",
			        m->name, pass, i, kind_name(k));
			return -1;
		}
	}
	return 0;
}

/* Copy of rows x per floats (identity layers). */
static int copy_rows(nn_ctx *ctx, nn_buf dst, nn_buf src, int rows, size_t per)
{
	if (dst.mem == src.mem && dst.off == src.off)
		return TG_CL_OK;
	return nn_copy_channels(ctx, dst, 1, 0, src, 1, 0, 1, rows, (int)per);
}

static void drop_geometry(const nn_layer *l, int rows, int *R, int *S)
{
	if (l->chan) {
		*R = rows * l->in[0];
		*S = l->in[1] * l->in[2];
	} else {
		*R = (int)((size_t)rows * l->in_n);
		*S = 1;
	}
}

static int ext_forward(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, int i, nn_buf y, nn_buf x,
                       int rows)
{
	const nn_layer *l = &m->l[i];
	if (l->kind == NN_LAYER_BATCHNORM)
		return nn_batchnorm_forward(ctx, y, ws->aux[i], x, param(m, l->w), param(m, l->b),
		                            param(m, l->rm), param(m, l->rv), rows, l->in[0],
		                            l->in[1] * l->in[2], l->eps, l->momentum, !m->eval);
	/* dropout */
	ws->aux_on[i] = !m->eval && !m->dropout_off && l->p > 0.0f;
	if (!ws->aux_on[i])
		return copy_rows(ctx, y, x, rows, l->in_n);
	if (!m->rng)
		return nn_fail(TG_CL_FAIL, "dropout in training mode without a generator "
		                           "(nn_seq_set_rng)");
	if ((double)rows * l->in_n > (double)NN_MAX_ELEMS)
		return nn_fail(TG_CL_FAIL, "dropout of %d rows is too large", rows);
	int R, S;
	drop_geometry(l, rows, &R, &S);
	return nn_dropout_forward(ctx, m->rng, y, ws->aux[i], x, R, S, l->p);
}

static int ext_backward(nn_ctx *ctx, const nn_seq *m, nn_seq_ws *ws, int i, nn_buf dx,
                        nn_buf dy, nn_buf x, nn_buf dw, nn_buf db, int rows)
{
	const nn_layer *l = &m->l[i];
	if (l->kind == NN_LAYER_BATCHNORM) {
		if (!nn_has(dx) && !nn_has(dw) && !nn_has(db))
			return TG_CL_OK;
		return nn_batchnorm_backward(ctx, dx, dw, db, dy, x, ws->aux[i], param(m, l->w),
		                             rows, l->in[0], l->in[1] * l->in[2], ws->fwd_train);
	}
	if (!nn_has(dx))
		return TG_CL_OK;
	if (!ws->aux_on[i])
		return copy_rows(ctx, dx, dy, rows, l->in_n);
	int R, S;
	drop_geometry(l, rows, &R, &S);
	return nn_dropout_backward(ctx, dx, dy, ws->aux[i], R, S);
}
