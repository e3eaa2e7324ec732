/* nn_conv.cl: the non-GEMM parts of linear, conv2d and transposed conv2d
 * (libstream/nn/conv.c, linear.c): im2col / col2im, bias, and the direct
 * kernels for a convolution with one output channel.  Buffers come as
 * (pointer, offset in elements).
 *
 * Geometry (conv2d): x [B, C, H, W] -> y [B, OC, OH, OW], kernel KH x KW,
 * stride SH, SW, zero padding PH, PW.  Columns: col [C*KH*KW, columns], row
 * (c*KH + kh)*KW + kw holding x[g, c, oh*SH - PH + kh, ow*SW - PW + kw]
 * (0 outside the image) for the output pixel of the column.
 *
 * Work-item shape (as in every nn_*.cl): on a CPU device (PoCL) a work-item
 * pays for its own index arithmetic (integer divisions) and runs its loops
 * as written, so items get whole rows of contiguous work, and accumulate as
 * axpy (which vectorizes) rather than as dot products (which strict float
 * ordering keeps scalar).  Measured on PoCL: im2col went from 0.15 to 1.2-4
 * GB/s, the one-output-channel kernels 5x faster. */

#define RED_WG 64   /* work-group size of the reductions (nn/conv.c uses it) */

/* The output columns ow in [lo, hi) whose tap iw = ow*S + iw0 lies in
 * [0, W) (none when hi <= lo). */
static int2 valid_cols(int iw0, int S, int W, int OW)
{
	int lo = iw0 >= 0 ? 0 : (S - 1 - iw0) / S;
	int hi = W - 1 - iw0 < 0 ? 0 : (W - 1 - iw0) / S + 1;
	hi = min(hi, OW);
	return (int2)(min(lo, hi), hi);
}

/* Columns of a tile: images g < G (x points at the first) and output rows
 * [oh0, oh0 + NR); column g*NR*OW + (oh - oh0)*OW + ow.  A tile is either
 * whole images (oh0 = 0, NR = OH) or a band of rows of one image (G = 1).
 * One work-item per row of OW columns (per-item index arithmetic is what
 * costs on a CPU device): dimension 0 over the tile's G*NR output rows,
 * dimension 1 over C*KH*KW. */
__kernel void im2col(__global float *col, ulong co, __global const float *x, ulong xo,
                     int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW,
                     int OH, int OW, int G, int oh0, int NR)
{
	int r = get_global_id(0), k = get_global_id(1);
	if (r >= G * NR)
		return;
	int g = r / NR, oh = oh0 + r - g * NR;
	int KK = KH * KW, c = k / KK, rk = k - c * KK, kh = rk / KW, kw = rk - kh * KW;
	int ih = oh * SH - PH + kh, iw0 = kw - PW;
	__global float *out = col + co + (size_t)k * (size_t)(G * NR * OW) + (size_t)r * OW;
	int2 v = (int2)(0, 0);
	if (ih >= 0 && ih < H)
		v = valid_cols(iw0, SW, W, OW);
	__global const float *in = x + xo + ((size_t)(g * C + c) * H + (size_t)max(ih, 0)) * W;
	for (int ow = 0; ow < v.x; ow++)
		out[ow] = 0.0f;
	for (int ow = v.x; ow < v.y; ow++)
		out[ow] = in[ow * SW + iw0];
	for (int ow = v.y; ow < OW; ow++)
		out[ow] = 0.0f;
}

/* The adjoint of im2col for a tile: dx[g, c, ih, iw] = the sum of the
 * tile's column entries that im2col took from it, for input rows
 * [ih0, ih0 + NI); assigned, or added when acc (tiles of row bands).
 * One work-item per input row: dimension 0 over NI rows, 1 over G*C. */
__kernel void col2im(__global float *dx, ulong xo, __global const float *col, ulong co,
                     int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW,
                     int OH, int OW, int G, int oh0, int NR, int ih0, int NI, int acc)
{
	int i = get_global_id(0), gc = get_global_id(1);
	if (i >= NI)
		return;
	int ih = ih0 + i, g = gc / C, c = gc - g * C;
	size_t ld = (size_t)G * NR * OW;
	__global float *out = dx + xo + ((size_t)gc * H + ih) * W;
	if (!acc)
		for (int iw = 0; iw < W; iw++)
			out[iw] = 0.0f;
	for (int kh = 0; kh < KH; kh++) {
		int th = ih + PH - kh;
		if (th < 0 || th % SH)
			continue;
		int oh = th / SH - oh0;
		if (oh < 0 || oh >= NR)
			continue;
		for (int kw = 0; kw < KW; kw++) {
			int iw0 = kw - PW;
			int2 v = valid_cols(iw0, SW, W, OW);
			__global const float *src = col + co + (size_t)((c * KH + kh) * KW + kw) * ld +
			                            (size_t)(g * NR + oh) * OW;
			for (int ow = v.x; ow < v.y; ow++)
				out[ow * SW + iw0] += src[ow];
		}
	}
}

/* wf [C, OC, KH, KW] = w [OC, C, KH, KW] rotated by 180 degrees in the
 * kernel plane: the weights of the convolution that maps dy to dx for a
 * stride-1 conv2d.  One work-item per element of w. */
__kernel void flip_weights(__global float *wf, ulong fo, __global const float *w, ulong wo,
                           int OC, int C, int KH, int KW)
{
	int i = get_global_id(0);
	int KK = KH * KW;
	if (i >= OC * C * KK)
		return;
	int oc = i / (C * KK), r = i - oc * C * KK, c = r / KK, k = r - c * KK;
	int kh = k / KW, kw = k - kh * KW;
	wf[fo + ((size_t)(c * OC + oc) * KH + (KH - 1 - kh)) * KW + (KW - 1 - kw)] = w[wo + i];
}

/* y [B, OC, S] += b [OC] broadcast; one work-item per row of S. */
__kernel void bias_add(__global float *y, ulong yo, __global const float *b, ulong bo, int OC,
                       int S, int rows)
{
	int row = get_global_id(0);
	if (row >= rows)
		return;
	float v = b[bo + row % OC];
	__global float *p = y + yo + (size_t)row * S;
	for (int i = 0; i < S; i++)
		p[i] += v;
}

/* db [OC] += sum over B and S of dy [B, OC, S]; work-group oc. */
__kernel __attribute__((reqd_work_group_size(RED_WG, 1, 1)))
void bias_grad(__global float *db, ulong dbo, __global const float *dy, ulong dyo, int B, int OC,
               int S)
{
	__local float part[RED_WG];
	int oc = get_group_id(0), l = get_local_id(0);
	float sum = 0.0f;
	for (int b = 0; b < B; b++) {
		__global const float *p = dy + dyo + (size_t)(b * OC + oc) * S;
		for (int i = l; i < S; i += RED_WG)
			sum += p[i];
	}
	part[l] = sum;
	barrier(CLK_LOCAL_MEM_FENCE);
	for (int h = RED_WG / 2; h > 0; h >>= 1) {
		if (l < h)
			part[l] += part[l + h];
		barrier(CLK_LOCAL_MEM_FENCE);
	}
	if (l == 0)
		db[dbo + oc] += part[0];
}

/* ---- one output channel: a GEMV against the implicit columns ---- */

/* y [B, 1, OH, OW] = w [1, C, KH, KW] * x (+ b[0] if has_b).  One
 * work-item per output row, accumulating tap by tap into the row:
 * dimension 0 over OH, 1 over B. */
__kernel void conv_oc1_forward(__global float *y, ulong yo, __global const float *x, ulong xo,
                               __global const float *w, ulong wo, __global const float *b,
                               ulong bo, int has_b, int C, int H, int W, int KH, int KW,
                               int SH, int SW, int PH, int PW, int OH, int OW)
{
	int oh = get_global_id(0), n = get_global_id(1);
	if (oh >= OH)
		return;
	__global float *out = y + yo + ((size_t)n * OH + oh) * OW;
	float bias = has_b ? b[bo] : 0.0f;
	for (int ow = 0; ow < OW; ow++)
		out[ow] = bias;
	for (int c = 0; c < C; c++)
		for (int kh = 0; kh < KH; kh++) {
			int ih = oh * SH - PH + kh;
			if (ih < 0 || ih >= H)
				continue;
			__global const float *in = x + xo + ((size_t)(n * C + c) * H + ih) * W;
			for (int kw = 0; kw < KW; kw++) {
				int iw0 = kw - PW;
				int2 v = valid_cols(iw0, SW, W, OW);
				float wv = w[wo + (c * KH + kh) * KW + kw];
				for (int ow = v.x; ow < v.y; ow++)
					out[ow] += wv * in[ow * SW + iw0];
			}
		}
}

/* dx [B, C, H, W] = the adjoint of conv_oc1_forward applied to dy
 * [B, 1, OH, OW] (assigned).  One work-item per input row: dimension 0
 * over H, 1 over B*C. */
__kernel void conv_oc1_backward_data(__global float *dx, ulong dxo, __global const float *dy,
                                     ulong dyo, __global const float *w, ulong wo, int C, int H,
                                     int W, int KH, int KW, int SH, int SW, int PH, int PW,
                                     int OH, int OW)
{
	int ih = get_global_id(0), row = get_global_id(1);
	if (ih >= H)
		return;
	int n = row / C, c = row - n * C;
	__global float *out = dx + dxo + ((size_t)row * H + ih) * W;
	__global const float *g = dy + dyo + (size_t)n * OH * OW;
	for (int iw = 0; iw < W; iw++)
		out[iw] = 0.0f;
	for (int kh = 0; kh < KH; kh++) {
		int th = ih + PH - kh;
		if (th < 0 || th % SH)
			continue;
		int oh = th / SH;
		if (oh >= OH)
			continue;
		for (int kw = 0; kw < KW; kw++) {
			int iw0 = kw - PW;
			int2 v = valid_cols(iw0, SW, W, OW);
			float wv = w[wo + (c * KH + kh) * KW + kw];
			__global const float *src = g + oh * OW;
			for (int ow = v.x; ow < v.y; ow++)
				out[ow * SW + iw0] += wv * src[ow];
		}
	}
}

/* dw [1, C, KH, KW] += sum over B, OH, OW of dy * x at the tap.  One
 * work-item per weight k = (c, kh, kw); it accumulates per output column
 * into its row of acc [C*KH*KW, OW] (scratch) and adds the row up at the
 * end, so the inner loop is an axpy, which vectorizes, rather than a dot
 * product, which strict floating point keeps scalar. */
__kernel void conv_oc1_backward_weight(__global float *dw, ulong dwo, __global const float *dy,
                                       ulong dyo, __global const float *x, ulong xo,
                                       __global float *acc, ulong ao, int B, int C, int H, int W,
                                       int KH, int KW, int SH, int SW, int PH, int PW, int OH,
                                       int OW)
{
	int k = get_global_id(0);
	int KK = KH * KW;
	if (k >= C * KK)
		return;
	int c = k / KK, r = k - c * KK, kh = r / KW, kw = r - kh * KW;
	int iw0 = kw - PW;
	int2 v = valid_cols(iw0, SW, W, OW);
	__global float *a = acc + ao + (size_t)k * OW;
	for (int ow = 0; ow < OW; ow++)
		a[ow] = 0.0f;
	for (int b = 0; b < B; b++)
		for (int oh = 0; oh < OH; oh++) {
			int ih = oh * SH - PH + kh;
			if (ih < 0 || ih >= H)
				continue;
			__global const float *g = dy + dyo + ((size_t)b * OH + oh) * OW;
			__global const float *in = x + xo + ((size_t)(b * C + c) * H + ih) * W;
			for (int ow = v.x; ow < v.y; ow++)
				a[ow] += g[ow] * in[ow * SW + iw0];
		}
	float sum = 0.0f;
	for (int ow = 0; ow < OW; ow++)
		sum += a[ow];
	dw[dwo + k] += sum;
}

/* ---- shifted GEMMs (conv2d without columns, nn/conv.c) ----
 * The input of G images is copied into zero-padded, channel-major phase
 * planes xq [SH*SW, C, G, Hq, Wq]: row i', column j' of phase (rh, rw)
 * holds input row SH*(i' + qh0) + rh, column SW*(j' + qw0) + rw (qh0,
 * qw0 <= 0), so that every tap of the convolution is one GEMM over a
 * strided view of one phase. */

/* dst [SH*SW, C, G, Hd, Wd] = the phase planes of src [G, C, H, W], zeros
 * outside src.  With SH = SW = 1 and qh0 = -top, qw0 = -left this is src
 * placed at (top, left) in larger planes.  One work-item per destination
 * row: dimension 0 over Hd rows, 1 over the SH*SW*C*G planes. */
__kernel void embed_phases(__global float *dst, ulong dso, __global const float *src, ulong sro,
                           int G, int C, int H, int W, int Hd, int Wd, int SH, int SW, int qh0,
                           int qw0)
{
	int r = get_global_id(0), pl = get_global_id(1);
	if (r >= Hd)
		return;
	int g = pl % G, c = (pl / G) % C, ph = pl / (G * C), rh = ph / SW, rw = ph - rh * SW;
	__global float *out = dst + dso + ((size_t)pl * Hd + r) * (size_t)Wd;
	int sr = SH * (r + qh0) + rh;
	if (sr < 0 || sr >= H) {
		for (int i = 0; i < Wd; i++)
			out[i] = 0.0f;
		return;
	}
	__global const float *in = src + sro + ((size_t)(g * C + c) * H + sr) * (size_t)W;
	/* columns j with 0 <= SW*(j + qw0) + rw < W */
	int lo = min(Wd, (SW - 1 - SW * qw0 - rw) / SW);
	int hi = W - 1 - rw < 0 ? lo : clamp((W - 1 - rw) / SW - qw0 + 1, lo, Wd);
	for (int i = 0; i < lo; i++)
		out[i] = 0.0f;
	if (SW == 1) {
		__global const float *p = in + qw0 + rw;
		for (int i = lo; i < hi; i++)
			out[i] = p[i];
	} else {
		for (int i = lo; i < hi; i++)
			out[i] = in[SW * (i + qw0) + rw];
	}
	for (int i = hi; i < Wd; i++)
		out[i] = 0.0f;
}

/* dx [G, C, H, W] = the values of the phase planes xq [SH*SW, C, G, Hq, Wq]
 * at the positions embed_phases takes each input pixel from (0 for pixels
 * past the planes, which no output reads).  One work-item per row of dx:
 * dimension 0 over H, 1 over G*C. */
__kernel void gather_phases(__global float *dx, ulong dxo, __global const float *xq, ulong xqo,
                            int G, int C, int H, int W, int Hq, int Wq, int SH, int SW, int qh0,
                            int qw0)
{
	int ih = get_global_id(0), gc = get_global_id(1);
	if (ih >= H)
		return;
	int g = gc / C, c = gc - g * C;
	int rh = ih % SH, i = ih / SH - qh0;
	__global float *out = dx + dxo + ((size_t)gc * H + ih) * (size_t)W;
	if (i >= Hq) {
		for (int iw = 0; iw < W; iw++)
			out[iw] = 0.0f;
		return;
	}
	for (int rw = 0; rw < SW; rw++) {
		__global const float *in =
			xq + xqo + ((((size_t)(rh * SW + rw) * C + c) * G + g) * Hq + i) * (size_t)Wq;
		for (int iw = rw, j = -qw0; iw < W; iw += SW, j++)
			out[iw] = j < Wq ? in[j] : 0.0f;
	}
}

/* dst [G, OC, OH, OW] = the first OW columns of the output grid rows, plus
 * b [OC] when has_bias: row oh of channel oc of image i starts at
 * src[i*si + oc*so + oh*Wq].  One work-item per row of dst: dimension 0
 * over OH, 1 over G*OC. */
__kernel void extract_rows(__global float *dst, ulong dso, __global const float *src, ulong sro,
                           __global const float *b, ulong bo, int has_bias, int OC, int OH,
                           int OW, int Wq, ulong si, ulong so)
{
	int r = get_global_id(0), p = get_global_id(1);
	if (r >= OH)
		return;
	int i = p / OC, oc = p - i * OC;
	__global const float *in = src + sro + i * si + oc * so + (size_t)r * Wq;
	__global float *out = dst + dso + ((size_t)p * OH + r) * (size_t)OW;
	float v = has_bias ? b[bo + oc] : 0.0f;
	for (int j = 0; j < OW; j++)
		out[j] = in[j] + v;
}

/* wt [KK, OC, C] = w [OC, C, KK] regrouped by tap; with flip, the weights
 * of the conv that maps dy to dx: wt [KK, C, OC], tap k holding tap
 * KK-1-k of w.  One work-item per element of w. */
__kernel void taps_major(__global float *wt, ulong wto, __global const float *w, ulong wo,
                         int OC, int C, int KK, int flip)
{
	int i = get_global_id(0);
	if (i >= OC * C * KK)
		return;
	int oc = i / (C * KK), r = i - oc * C * KK, c = r / KK, k = r - c * KK;
	size_t j = flip ? ((size_t)(KK - 1 - k) * C + c) * OC + oc : ((size_t)k * OC + oc) * C + c;
	wt[wto + j] = w[wo + i];
}

/* dw [OC, C, KK] += dwt [KK, OC, C].  One work-item per element of dw. */
__kernel void taps_accumulate(__global float *dw, ulong dwo, __global const float *dwt,
                              ulong dto, int OC, int C, int KK)
{
	int i = get_global_id(0);
	if (i >= OC * C * KK)
		return;
	int oc = i / (C * KK), r = i - oc * C * KK, c = r / KK, k = r - c * KK;
	dw[dwo + i] += dwt[dto + ((size_t)k * OC + oc) * C + c];
}
