#!/usr/bin/python3
"""Peer side of tests/bench/bench_resize.sh: the same resizes with OpenCV
(cv2.setNumThreads(2)) and Pillow (mode 'F', one thread) on the 2048x2048
float32 frames of an uncompressed tensor stream.

    bench_resize.py STREAM FRAMES

The frames are found from the end of the file (tstream(5): each frame is
a 32-byte record and its payload, and an end record of 24 bytes closes
the stream), so no stream reader is needed.  Timings, each the best of
REPS runs over all frames:
  mem   frames already in memory (the library's own speed);
  file  each frame read from STREAM into a preallocated array first (what
        resize(1) does per frame, minus the checksum).
Pillow is slow: it gets at most 8 frames and only the mem timing.
Prints one line per operation: "name mem_img_s file_img_s".
"""
import os
import sys
import time

import cv2
import numpy as np
from PIL import Image

N = 2048
REPS = 3
FRAME_RECORD, END_RECORD = 32, 24


def best_rate(fn, frames):
    best = float("inf")
    for _ in range(REPS):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return frames / best


def main():
    path, frames = sys.argv[1], int(sys.argv[2])
    cv2.setNumThreads(2)
    payload = N * N * 4
    first = os.path.getsize(path) - END_RECORD - frames * (FRAME_RECORD + payload)
    offsets = [first + i * (FRAME_RECORD + payload) + FRAME_RECORD for i in range(frames)]
    mem = np.empty((frames, N, N), dtype=np.float32)
    with open(path, "rb", buffering=0) as f:
        for i, off in enumerate(offsets):
            f.seek(off)
            f.readinto(memoryview(mem[i]).cast("B"))
    buf = np.empty((N, N), dtype=np.float32)

    def cv_runs(size, interp):
        def mem_run():
            for i in range(frames):
                cv2.resize(mem[i], (size, size), interpolation=interp)

        def file_run():
            with open(path, "rb", buffering=0) as f:
                for off in offsets:
                    f.seek(off)
                    f.readinto(memoryview(buf).cast("B"))
                    cv2.resize(buf, (size, size), interpolation=interp)
        return mem_run, file_run

    for size in (256, 64):
        for label, interp in (("INTER_AREA", cv2.INTER_AREA), ("INTER_CUBIC", cv2.INTER_CUBIC)):
            mem_run, file_run = cv_runs(size, interp)
            print("cv2-%s-%d %.1f %.1f" % (label, size, best_rate(mem_run, frames),
                                           best_rate(file_run, frames)), flush=True)
    n = min(frames, 8)
    for size in (256, 64):
        def pil_run():
            for i in range(n):
                Image.fromarray(mem[i], mode="F").resize((size, size), Image.BICUBIC)
        print("PIL-BICUBIC-%d %.1f -" % (size, best_rate(pil_run, n)), flush=True)


if __name__ == "__main__":
    main()
