#!/usr/bin/python3
"""Peer side of tests/bench/bench_srcnn.sh: the SRCNN network (9-1-5 or
9-5-5, "same" zero padding, float32, as SRCNN-PyTorch's model.py) in
PyTorch with torch.set_num_threads(2), inference on FRAMES frames of
SIDE x SIDE in memory (torch.no_grad).

    bench_srcnn.py ARCH FRAMES SIDE

The weights do not matter for the timing (PyTorch's default init).
Prints "frame MP/s batch MP/s": one frame per call, then all frames in one
call; each the best of 3 runs.
"""
import sys
import time

import torch


def main():
    arch, frames, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    mid = {"9-1-5": 1, "9-5-5": 5}[arch]
    torch.set_num_threads(2)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 64, 9, padding=4), torch.nn.ReLU(),
        torch.nn.Conv2d(64, 32, mid, padding=mid // 2), torch.nn.ReLU(),
        torch.nn.Conv2d(32, 1, 5, padding=2)).eval()
    x = torch.rand(frames, 1, side, side)
    mp = frames * side * side / 1e6

    def best(fn):
        t = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            t = min(t, time.perf_counter() - t0)
        return mp / t

    with torch.no_grad():
        net(x[:1])  # warm-up
        one = best(lambda: [net(x[i:i + 1]) for i in range(frames)])
        batch = best(lambda: net(x))
    print("%.3f %.3f" % (one, batch))


if __name__ == "__main__":
    main()
