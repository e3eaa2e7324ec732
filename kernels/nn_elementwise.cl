/* nn_elementwise.cl: fill, axpy and the activations of the engine
 * (libstream/nn/act.c).  Every buffer comes as (pointer, offset in
 * elements); one work-item per element; n bounds the range. */

__kernel void fill(__global float *x, ulong xo, int n, float value)
{
	int i = get_global_id(0);
	if (i < n)
		x[xo + i] = value;
}

__kernel void axpy(__global float *y, ulong yo, __global const float *x, ulong xo, int n, float a)
{
	int i = get_global_id(0);
	if (i < n)
		y[yo + i] += a * x[xo + i];
}

__kernel void relu_forward(__global float *y, ulong yo, __global const float *x, ulong xo, int n)
{
	int i = get_global_id(0);
	if (i < n) {
		float v = x[xo + i];
		/* v > 0 ? v : 0 keeps NaN as NaN, as torch.relu does. */
		y[yo + i] = v > 0.0f || isnan(v) ? v : 0.0f;
	}
}

__kernel void relu_backward(__global float *dx, ulong dxo, __global const float *dy, ulong dyo,
                            __global const float *x, ulong xo, int n)
{
	int i = get_global_id(0);
	if (i < n)
		dx[dxo + i] = x[xo + i] > 0.0f ? dy[dyo + i] : 0.0f;
}

__kernel void leaky_relu_forward(__global float *y, ulong yo, __global const float *x, ulong xo,
                                 int n, float slope)
{
	int i = get_global_id(0);
	if (i < n) {
		float v = x[xo + i];
		y[yo + i] = v > 0.0f ? v : v * slope;
	}
}

__kernel void leaky_relu_backward(__global float *dx, ulong dxo, __global const float *dy,
                                  ulong dyo, __global const float *x, ulong xo, int n,
                                  float slope)
{
	int i = get_global_id(0);
	if (i < n) {
		float g = dy[dyo + i];
		dx[dxo + i] = x[xo + i] > 0.0f ? g : g * slope;
	}
}

__kernel void tanh_forward(__global float *y, ulong yo, __global const float *x, ulong xo, int n)
{
	int i = get_global_id(0);
	if (i < n)
		y[yo + i] = tanh(x[xo + i]);
}

__kernel void tanh_backward(__global float *dx, ulong dxo, __global const float *dy, ulong dyo,
                            __global const float *y, ulong yo, int n)
{
	int i = get_global_id(0);
	if (i < n) {
		float v = y[yo + i];
		dx[dxo + i] = dy[dyo + i] * (1.0f - v * v);
	}
}

__kernel void sigmoid_forward(__global float *y, ulong yo, __global const float *x, ulong xo,
                              int n)
{
	int i = get_global_id(0);
	if (i < n) {
		/* exp of a non-positive argument only: no overflow either way. */
		float v = x[xo + i];
		float e = exp(-fabs(v));
		y[yo + i] = v >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
	}
}

__kernel void sigmoid_backward(__global float *dx, ulong dxo, __global const float *dy, ulong dyo,
                               __global const float *y, ulong yo, int n)
{
	int i = get_global_id(0);
	if (i < n) {
		float v = y[yo + i];
		dx[dxo + i] = dy[dyo + i] * v * (1.0f - v);
	}
}

/* Dropout: m [n] holds uniforms in [0, 1) and becomes the mask: 0 where
 * u < p, scale = 1/(1-p) elsewhere. */
__kernel void dropout_mask(__global float *m, ulong mo, int n, float p, float scale)
{
	int i = get_global_id(0);
	if (i < n)
		m[mo + i] = m[mo + i] < p ? 0.0f : scale;
}

/* y [rows, S] = x * m[row] (one mask value per row of S: S = 1 for
 * element-wise dropout, H*W for Dropout2d).  Dimension 0 over S, 1 over
 * rows.  The same kernel gives dx = dy * m. */
__kernel void dropout_apply(__global float *y, ulong yo, __global const float *x, ulong xo,
                            __global const float *m, ulong mo, int S)
{
	int i = get_global_id(0), row = get_global_id(1);
	if (i < S) {
		size_t j = (size_t)row * S + i;
		y[yo + j] = x[xo + j] * m[mo + row];
	}
}
