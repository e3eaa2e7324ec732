#!/usr/bin/python3
"""Peer side of tests/bench/bench_ganrun.sh: ganrun's wgan-gp model
(ganrun(1), the WGAN-GP of seed 000 section 5.2) and PyTorch-GAN's
wgan_gp.py loop in PyTorch with torch.set_num_threads(2).

    bench_ganrun.py SIZE BATCH ITERS LAYOUT

LAYOUT: nchw (contiguous) or cl (torch.channels_last for the models and
the batches).  One generator iteration = n_critic 5 batches, each a critic
step (Adam, gradient penalty by double backprop, lambda 10) and, on the
first, a generator step on the same z.  Runs one iteration to warm up,
then ITERS; prints the mean seconds per generator iteration.
BENCH_TORCH_DEVICE (default cpu) names the torch device, e.g. cuda, for
the comparison on a machine with a GPU (ganrun's OpenCL device then
being that GPU).
"""
import os
import sys
import time

import torch
import torch.autograd as autograd
import torch.nn as nn


def models(size, latent):
    base = 8 if size == 16 else 16
    c0 = 2 * size
    k = 0
    s = base
    while s < size:
        s *= 2
        k += 1
    g = [nn.Linear(latent, c0 * base * base), nn.Unflatten(1, (c0, base, base))]
    c = c0
    for j in range(k):
        co = c if j == 0 else c // 2
        g += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, co, 3, 1, 1), nn.ReLU(),
              nn.Conv2d(co, co, 3, 1, 1), nn.ReLU()]
        c = co
    g += [nn.Conv2d(c, 1, 3, 1, 1), nn.Tanh()]
    d = []
    ci = 1
    for j in range(k):
        co = 64 << j
        d += [nn.Conv2d(ci, co, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(co, co, 3, 2, 1),
              nn.LeakyReLU(0.2)]
        ci = co
    d += [nn.Flatten(), nn.Linear(ci * base * base, 1)]
    return nn.Sequential(*g), nn.Sequential(*d)


def main():
    size, batch, iters, layout = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    torch.set_num_threads(2)
    torch.manual_seed(0)
    dev = torch.device(os.environ.get("BENCH_TORCH_DEVICE", "cpu"))
    latent = 200 if size > 64 else 100
    G, D = models(size, latent)
    fmt = torch.channels_last if layout == "cl" else torch.contiguous_format
    G = G.to(dev, memory_format=fmt)
    D = D.to(dev, memory_format=fmt)
    og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = (torch.rand(5, batch, 1, size, size) * 2 - 1).to(dev)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def iteration():
        for i in range(5):
            imgs = real[i].contiguous(memory_format=fmt)
            z = torch.randn(batch, latent, device=dev)
            od.zero_grad()
            fake = G(z)
            rv, fv = D(imgs), D(fake.detach())
            a = torch.rand(batch, 1, 1, 1, device=dev)
            x_hat = (a * imgs + (1 - a) * fake.detach()).requires_grad_(True)
            dh = D(x_hat)
            g = autograd.grad(dh, x_hat, torch.ones_like(dh), create_graph=True,
                              retain_graph=True, only_inputs=True)[0].reshape(batch, -1)
            gp = 10 * ((g.norm(2, dim=1) - 1) ** 2).mean()
            loss = -rv.mean() + fv.mean() + gp
            loss.backward()
            od.step()
            og.zero_grad()
            if i == 0:
                gl = -D(G(z)).mean()
                gl.backward()
                og.step()

    iteration()
    sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        iteration()
    sync()
    print("%.3f" % ((time.perf_counter() - t0) / iters))


if __name__ == "__main__":
    main()
