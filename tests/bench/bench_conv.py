#!/usr/bin/python3
"""Peer side of tests/bench/bench_conv.sh: the same conv2d layers in
PyTorch (torch.nn.functional.conv2d with 2 threads), forward and
backward (weight and bias gradients, the data gradient where bench_conv
takes it), in GFLOP/s counted as bench_conv counts them (2 B OC OH OW C
KH KW per pass, twice for a backward with the data gradient).  Each
figure is the better of NCHW and channels_last, each the median of
at least 3 runs within about SECONDS (default 1).

    bench_conv.py [SECONDS [LAYER]]     LAYER: a substring of the names
"""
import sys
import time

import torch
import torch.nn.functional as F

LAYERS = [
    # name, B, C, H, W, OC, K, S, P, dx
    ("G conv 3x3 128->128, 64 x 32^2", 64, 128, 32, 32, 128, 3, 1, 1, 1),
    ("G conv 3x3 128->64, 64 x 64^2", 64, 128, 64, 64, 64, 3, 1, 1, 1),
    ("G conv 3x3 64->64, 64 x 64^2", 64, 64, 64, 64, 64, 3, 1, 1, 1),
    ("G conv 3x3 64->1, 64 x 64^2", 64, 64, 64, 64, 1, 3, 1, 1, 1),
    ("D conv 3x3 1->64, 64 x 64^2 (no dx)", 64, 1, 64, 64, 64, 3, 1, 1, 0),
    ("D conv 3x3 s2 1->64, 64 x 64^2 (no dx)", 64, 1, 64, 64, 64, 3, 2, 1, 0),
    ("D conv 3x3 s2 64->64, 64 x 64^2", 64, 64, 64, 64, 64, 3, 2, 1, 1),
    ("D conv 3x3 64->128, 64 x 32^2", 64, 64, 32, 32, 128, 3, 1, 1, 1),
    ("D conv 3x3 s2 64->128, 64 x 32^2", 64, 64, 32, 32, 128, 3, 2, 1, 1),
    ("D conv 3x3 s2 128->128, 64 x 32^2", 64, 128, 32, 32, 128, 3, 2, 1, 1),
    ("SRCNN conv 9x9 1->64, 128 x 33^2 (no dx)", 128, 1, 33, 33, 64, 9, 1, 4, 0),
    ("SRCNN conv 1x1 64->32, 128 x 33^2", 128, 64, 33, 33, 32, 1, 1, 0, 1),
    ("SRCNN conv 5x5 32->1, 128 x 33^2", 128, 32, 33, 33, 1, 5, 1, 2, 1),
    ("SRCNN conv 1x1 64->32, 4 x 256^2", 4, 64, 256, 256, 32, 1, 1, 0, 1),
    ("SRCNN conv 5x5 32->1, 4 x 256^2", 4, 32, 256, 256, 1, 5, 1, 2, 1),
]


def median_time(fn, budget):
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < budget and len(times) < 50):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def layer(spec, budget, fmt):
    name, B, C, H, W, OC, K, S, P, want_dx = spec
    x = torch.randn(B, C, H, W).contiguous(memory_format=fmt).requires_grad_(bool(want_dx))
    w = torch.randn(OC, C, K, K).contiguous(memory_format=fmt).requires_grad_(True)
    b = torch.randn(OC).requires_grad_(True)

    def fwd():
        with torch.no_grad():
            F.conv2d(x, w, b, S, P)

    # the backward alone, on one recorded graph (timing forward+backward
    # and subtracting the forward came out negative for the thin layers,
    # whose forward with autograd took another path than without)
    yg = F.conv2d(x, w, b, S, P)
    dy = torch.randn_like(yg)
    wrt = [x, w, b] if want_dx else [w, b]

    def bwd():
        torch.autograd.grad(yg, wrt, dy, retain_graph=True)

    tf = median_time(fwd, budget)
    tb = median_time(bwd, budget)
    OH, OW = yg.shape[2], yg.shape[3]
    return 2.0 * B * OC * OH * OW * C * K * K, tf, tb, want_dx


def main():
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    only = sys.argv[2] if len(sys.argv) > 2 else None
    torch.set_num_threads(2)
    torch.manual_seed(0)
    print("PyTorch %s, %d threads, better of NCHW and channels_last" %
          (torch.__version__, torch.get_num_threads()))
    print("%-44s %-18s | %-18s | fwd+bwd" % ("conv2d layer (batch x size)", "forward",
                                             "backward"))
    for spec in LAYERS:
        if only and only not in spec[0]:
            continue
        best = None
        for fmt in (torch.contiguous_format, torch.channels_last):
            f, tf, tb, want_dx = layer(spec, budget, fmt)
            if best is None or tf + tb < best[1] + best[2]:
                best = (f, tf, tb, want_dx)
        f, tf, tb, want_dx = best
        fb = f * (2 if want_dx else 1)
        print("%-44s %8.1f ms %6.1f | %8.1f ms %6.1f | %6.1f GFLOP/s" %
              (spec[0], 1e3 * tf, f / tf * 1e-9, 1e3 * tb, fb / tb * 1e-9,
               (f + fb) / (tf + tb) * 1e-9))


if __name__ == "__main__":
    main()
