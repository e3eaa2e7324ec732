#!/usr/bin/python3
"""PyTorch peer of tomogan's Inception benchmark (bench_inception.sh):
images/s of the 2048-d FID features of gray side x side frames at batch
`batch`, with the network of tests/make_inception_fixtures.py (pytorch-fid's
FID Inception-v3, written in plain PyTorch: the same layers as torchvision's
Inception3 with pytorch-fid's patched blocks) on its synthetic weights,
in NCHW and in channels_last memory format.

usage: bench_inception.py [batch [images [side [threads]]]]
"""
import importlib.util
import os
import sys
import time

import numpy as np
import torch


def load_model():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "make_inception_fixtures.py")
    spec = importlib.util.spec_from_file_location("make_inception_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.FIDInception().eval()
    sd = {k: torch.from_numpy(mod.synthetic(k, tuple(v.shape)))
          for k, v in model.state_dict().items()}
    model.load_state_dict(sd)
    return model


def run(model, frames, batch, fmt):
    with torch.no_grad():
        x = torch.from_numpy(frames[:batch])[:, None].contiguous(memory_format=fmt)
        model(x)  # warm-up
        t = time.perf_counter()
        for i in range(0, len(frames), batch):
            x = torch.from_numpy(frames[i:i + batch])[:, None].contiguous(memory_format=fmt)
            f = model(x)[2048]
            assert f.shape[1] == 2048
        return time.perf_counter() - t


def main():
    a = [int(v) for v in sys.argv[1:]]
    batch, n, side, threads = (a + [50, 100, 256, 2][len(a):])[:4]
    torch.set_num_threads(threads)
    model = load_model()
    frames = np.random.RandomState(5).uniform(0, 1, (n, side, side)).astype(np.float32)
    for name, fmt in (("NCHW", torch.contiguous_format), ("channels_last", torch.channels_last)):
        m = model.to(memory_format=fmt)
        t = run(m, frames, batch, fmt)
        print("pytorch %s inception (torch %s, %d threads): %d frames %dx%d, batch %d: "
              "%.2f s, %.2f images/s" % (name, torch.__version__, threads, n, side, side,
                                          batch, t, n / t))


if __name__ == "__main__":
    main()
