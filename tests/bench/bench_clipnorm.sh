#!/bin/sh
# bench_clipnorm.sh: the statistics of clipnorm(1) per 2048x2048 float32
# frame next to NumPy on the same frames in the same run, and clipnorm's
# throughput on a stream next to cat.  Printed, not asserted.
#
#   sh tests/bench/bench_clipnorm.sh [FRAMES]     (default 8 distinct frames)
#
# The frames look like gridrec slices: a disc (TomoPy circ_mask ratio 0.95,
# exact zeros outside) of values around 2e-3 with smooth structure and
# noise, made with NumPy (seeded).
#
# 1. Statistics per frame, frames in memory, thread CPU time (so a busy
#    machine does not count against either side), median over frames and
#    5 runs:
#      clipnorm   min/max (default rule), the same inside the mask, and the
#                 exact P1 and P99 of all pixels (--pixels: two radix
#                 passes), through libstream/clip.c compiled against
#                 build/libtomogan.a (a small driver written below);
#      NumPy      frame.min() and frame.max(); numpy.percentile(frame,
#                 [1, 99]) (the same exact values, by partitioning);
#                 the same inside the mask (boolean indexing first).
#    Both sides check they found the same numbers.
# 2. Throughput: the frames repeated to 32 (512 MiB) as one stream file,
#    page cache warm, best of 3:
#      cat FILE > /dev/null
#      clipnorm --bounds LO,HI FILE > /dev/null   (one pass: the map only)
#      clipnorm FILE > /dev/null                  (default: two passes)
#      clipnorm --mask 0.95 --out u8 FILE > /dev/null
#      clipnorm --pixels FILE > /dev/null         (three passes)
#      cat FILE | clipnorm > /dev/null            (pipe: spooled to TMPDIR)
#    GB/s = input bytes per second of the command (start-up of OpenCL
#    included, about 0.2 s on PoCL), by wall time and by CPU time (user +
#    sys of every process: the figure that survives a shared machine).
#
# Environment: BIN (programs, default bin/), TMPDIR.  Needs /usr/bin/python3
# with numpy, and `make` first.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$top/bin}
PY=/usr/bin/python3
lib=$top/build/libtomogan.a
nframes=${1:-8}
[ -f "$lib" ] && [ -x "$BIN/clipnorm" ] || { echo "bench_clipnorm: build first (make)"; exit 1; }
"$PY" -c 'import numpy' 2>/dev/null || { echo "bench_clipnorm: needs $PY with numpy; skipped"; exit 0; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_clipnorm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# ---- frames ----
"$PY" - "$tmp/frames.f32" "$nframes" <<'EOF'
import sys
import numpy as np
path, n = sys.argv[1], int(sys.argv[2])
H = W = 2048
rng = np.random.default_rng(7)
y, x = np.ogrid[0.5 - H / 2:0.5 + H / 2, 0.5 - W / 2:0.5 + W / 2]
mask = x * x + y * y < 0.95 * 0.95 * (W / 2) ** 2
with open(path, "wb") as f:
    for k in range(n):
        img = np.full((H, W), 2e-3, np.float32)
        for _ in range(12):   # smooth blobs (grains, pores)
            cy, cx = rng.uniform(-700, 700, 2)
            r = rng.uniform(20, 200)
            img += np.float32(rng.normal(0, 8e-4)) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r)).astype(np.float32)
        img += rng.normal(0, 2e-4, (H, W)).astype(np.float32)
        img[~mask] = 0
        img.astype("<f4").tofile(f)
EOF

# ---- the C side: statistics per frame, and the stream file ----
cat >"$tmp/bench.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "clip.h"
#include "tstream.h"

/* CPU time of this thread: the machine may be shared */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmpd);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
	size_t H = 2048, W = 2048, n = H * W, nf = (size_t)atol(argv[2]);
	int reps = 5;
	float *x = malloc(n * nf * sizeof *x);
	FILE *f = fopen(argv[1], "rb");
	if (!f || fread(x, sizeof *x, n * nf, f) != n * nf)
		return 1;
	fclose(f);
	tg_clip_mask m;
	tg_clip_mask_init(&m, H, W, 0.95);
	double *t[4];
	for (int k = 0; k < 4; k++)
		t[k] = malloc(nf * reps * sizeof(double));
	double q[2] = { 1, 99 };
	for (int r = 0; r < reps; r++)
		for (size_t i = 0; i < nf; i++) {
			const float *v = x + i * n;
			float a, b;
			double p[2], p2[2];
			double t0 = now();
			tg_clip_minmax(v, n, &a, &b);
			double t1 = now();
			tg_clip_minmax_masked(v, n, &m, &a, &b);
			double t2 = now();
			tg_rsel s;
			tg_rsel_init(&s, 2, q);
			tg_rsel_count(&s, v, n);
			tg_rsel_plan(&s);
			tg_rsel_refine(&s, v, n);
			tg_rsel_result(&s, p);
			tg_rsel_free(&s);
			double t3 = now();
			tg_rsel_init(&s, 2, q);
			tg_rsel_count_masked(&s, v, n, &m);
			tg_rsel_plan(&s);
			tg_rsel_refine_masked(&s, v, n, &m);
			tg_rsel_result(&s, p2);
			tg_rsel_free(&s);
			double t4 = now();
			t[0][r * nf + i] = t1 - t0;
			t[1][r * nf + i] = t2 - t1;
			t[2][r * nf + i] = t3 - t2;
			t[3][r * nf + i] = t4 - t3;
			if (r == 0)   /* values for NumPy to check */
				printf("values %zu %.9g %.9g %.17g %.17g %.17g %.17g\n", i, a, b, p[0], p[1], p2[0], p2[1]);
		}
	printf("c_minmax %.3f\nc_minmax_mask %.3f\nc_pct %.3f\nc_pct_mask %.3f\n",
	       1e3 * median(t[0], nf * reps), 1e3 * median(t[1], nf * reps),
	       1e3 * median(t[2], nf * reps), 1e3 * median(t[3], nf * reps));
	/* the stream file */
	ts_header h = { 0 };
	uint64_t dims[2] = { H, W };
	ts_header_shape(&h, TS_F32, 2, dims);
	ts_meta_init(&h.meta);
	ts_writer *w;
	FILE *o = fopen(argv[3], "wb");
	ts_write_opts wo = { 0 };
	if (!o || ts_writer_open(&w, fileno(o), argv[3], &h, &wo))
		return 1;
	for (size_t k = 0; k < 32; k++)
		if (ts_write_frame(w, x + (k % nf) * n))
			return 1;
	if (ts_writer_finish(w))
		return 1;
	ts_writer_free(w);
	fclose(o);
	return 0;
}
EOF
pkgs="OpenCL clblast libpng libtiff-4 hdf5 libzstd openblas lapacke"
${CC:-cc} -std=c11 -O2 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -I"$top/libstream" \
	-DCL_TARGET_OPENCL_VERSION=120 -DCL_USE_DEPRECATED_OPENCL_1_2_APIS \
	$(pkg-config --cflags $pkgs) -o "$tmp/bench" "$tmp/bench.c" "$lib" \
	$(pkg-config --libs $pkgs) -lm -lpthread
"$tmp/bench" "$tmp/frames.f32" "$nframes" "$tmp/stream.tns" >"$tmp/c.txt"

# ---- the NumPy side, same frames, and the comparison ----
"$PY" - "$tmp/frames.f32" "$nframes" "$tmp/c.txt" <<'EOF'
import sys, time
import numpy as np
path, n, cfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
H = W = 2048
vol = np.fromfile(path, "<f4").reshape(n, H, W)
y, x = np.ogrid[0.5 - H / 2:0.5 + H / 2, 0.5 - W / 2:0.5 + W / 2]
mask = x * x + y * y < 0.95 * 0.95 * (W / 2) ** 2
c = {}
vals = {}
for line in open(cfile):
    k, *v = line.split()
    if k == "values":
        vals[int(v[0])] = [float(s) for s in v[1:]]
    else:
        c[k] = float(v[0])
t = {"minmax": [], "minmax_mask": [], "pct": [], "pct_mask": []}
ok = True
for r in range(5):
    for i in range(n):
        f = vol[i]
        t0 = time.thread_time(); a, b = f.min(), f.max()
        t1 = time.thread_time(); fm = f[mask]; am, bm = fm.min(), fm.max()
        t2 = time.thread_time(); p = np.percentile(f, [1, 99])
        t3 = time.thread_time(); pm = np.percentile(f[mask], [1, 99])
        t4 = time.thread_time()
        for k, d in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            t[k].append(d)
        if r == 0:
            cv = vals[i]
            exact = np.percentile(f.astype(np.float64), [1, 99])
            exactm = np.percentile(fm.astype(np.float64), [1, 99])
            same = (np.float32(cv[0]) == am and np.float32(cv[1]) == bm and
                    np.allclose(cv[2:4], exact, rtol=0, atol=0) and np.allclose(cv[4:6], exactm, rtol=0, atol=0))
            if not same:
                ok = False
                print(f"frame {i}: clipnorm {cv} numpy {am} {bm} {exact} {exactm}")
print(f"{n} frames of 2048x2048 float32, CPU ms per frame (thread CPU time, median of {5 * n}):")
print(f"{'statistic':44s} {'clipnorm ms':>12s} {'NumPy ms':>10s} {'speed-up':>9s}")
rows = [("min and max (default rule)", "minmax"), ("min and max inside mask 0.95", "minmax_mask"),
        ("P1, P99 of all pixels (--pixels), exact", "pct"), ("P1, P99 inside mask 0.95, exact", "pct_mask")]
for label, k in rows:
    cm, nm = c["c_" + k], 1e3 * float(np.median(t[k]))
    print(f"{label:44s} {cm:12.2f} {nm:10.2f} {nm / cm:8.1f}x")
npct = 1e3 * float(np.median(t["pct"]))
print(f"{'default-rule statistics vs numpy.percentile':44s} {c['c_minmax']:12.2f} {npct:10.2f} {npct / c['c_minmax']:8.1f}x")
print("values: clipnorm equals NumPy (float64 percentiles, exactly)" if ok else "values: MISMATCH")
EOF

# ---- throughput ----
f=$tmp/stream.tns
bytes=$(wc -c <"$f")
best() {   # wall and CPU (user + sys, all processes) seconds of the fastest of 3 runs
	b=""
	for _ in 1 2 3; do
		/usr/bin/time -f "%e %U %S" -o "$tmp/time" sh -c "$1" >/dev/null 2>"$tmp/err" ||
			{ echo "failed: $1: $(cat "$tmp/err")" >&2; exit 1; }
		b=$(echo "$(cat "$tmp/time") $b" | awk '{ c = $2 + $3; if ($4 == "" || $1 < $4) print $1, c; else print $4, $5 }')
	done
	echo "$b"
}
cat "$f" >/dev/null
lohi=$("$BIN/clipnorm" -q --stats-out "$tmp/b.txt" "$f" >/dev/null && sed -n 's/^lo=//p; s/^hi=//p' "$tmp/b.txt" | paste -sd, -)
echo
echo "throughput: $(awk -v b="$bytes" 'BEGIN { printf "%.0f MiB", b / 1048576 }') stream of 32 frames, best of 3 by wall time; GB/s of input"
echo "  (LOHI: the default rule's bounds; CPU: user + sys of every process of the command)"
printf "  %-52s %8s %8s %8s %8s\n" command "wall s" "GB/s" "CPU s" "GB/CPU-s"
for c in "cat '$f'" \
	"'$BIN/clipnorm' -q --bounds $lohi '$f'" \
	"'$BIN/clipnorm' -q '$f'" \
	"'$BIN/clipnorm' -q --mask 0.95 --out u8 '$f'" \
	"'$BIN/clipnorm' -q --pixels '$f'" \
	"cat '$f' | TMPDIR='$tmp' '$BIN/clipnorm' -q"; do
	set -- $(best "$c > /dev/null")
	label=$(echo "$c" | sed "s|'$BIN/||g; s|'$f'|FILE|g; s|'$tmp'|\$TMPDIR|g; s|$lohi|LOHI|; s|'||g")
	awk -v s="$1" -v c="$2" -v b="$bytes" -v l="$label" \
		'BEGIN { printf "  %-52s %8.3f %8.2f %8.3f %8.2f\n", l, s, b / s / 1e9, c, (c > 0 ? b / c / 1e9 : 0) }'
done
