#!/usr/bin/python3
"""Writes the PyTorch fixture of one full WGAN-GP generator iteration of
ganrun's wgan-gp model (tests/unit/test_ganrun.c) into
tests/fixtures/ganrun/.

Run with Debian's python3 and its torch (1.13):
    /usr/bin/python3 tests/make_ganrun_fixtures.py
The outputs are committed; `make check` never runs Python.

The model is ganrun's wgan-gp at size 16 (ganrun(1)) with latent 4:
  G  linear 4 -> 32*8*8, reshape (32, 8, 8), nearest upsample x2,
     conv3x3 32 -> 32, ReLU, conv3x3 32 -> 32, ReLU, conv3x3 32 -> 1, Tanh
  D  conv3x3 1 -> 64, LeakyReLU 0.2, conv3x3 stride 2 64 -> 64,
     LeakyReLU 0.2, flatten, linear 64*8*8 -> 1
Weights are not drawn: tensor t of the arena order (g.0.weight, g.0.bias,
g.3.weight, ..., d.5.bias), element j, holds
    (float)(a / sqrt(fan_in) * sin(0.7 j + 1.3 t + 0.5)),
a = 1 (the critic's gradient norms are then about 0.8, near the
penalty's target 1), fan_in the layer's inputs per output (linear: in,
conv: C*3*3).  Real batch b (0..4), image k (0..3), pixel p (0..255):
    (float)(0.9 sin(0.05 p (k + 1) + 0.9 b + 0.3 k)).
Noise and interpolation factors come from the engine's Philox4x32-10
generator (libstream/nn/rng.h) with seed 8 (ganrun's training generator
for --seed 7), reproduced here: per batch a normal draw of 4*4 values (z)
then a uniform draw of 4 (alpha).

The loop is PyTorch-GAN's wgan_gp.py with n_critic 5, Adam(2e-4, 0.5,
0.999) for both models, lambda_gp 10: for i = 0..4 a critic step on batch
i, and at i = 0 a generator step on the same z.

Outputs: index.txt ("tensor ROLE COUNT" lines in file order) and
data.f32 (little-endian float32).  Roles: d_loss, gp, wdist (5 each: one
per critic step), g_loss (1), and final.NAME for every parameter: its
elements 0, s, 2s, ... after the iteration, s = ceil(numel / 512).
"""
import math
import os

import numpy as np
import torch
import torch.autograd as autograd
import torch.nn as nn

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "ganrun")
B, LATENT, S, C0, BASE = 4, 4, 16, 32, 8
LAMBDA_GP, N_CRITIC = 10.0, 5
M32 = 0xFFFFFFFF


def philox(ctr, key):
    c = list(ctr)
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2511F53 * c[0]
        p1 = 0xCD9E8D57 * c[2]
        hi0, lo0 = p0 >> 32, p0 & M32
        hi1, lo1 = p1 >> 32, p1 & M32
        c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0]
        k0 = (k0 + 0x9E3779B9) & M32
        k1 = (k1 + 0xBB67AE85) & M32
    return c


class Rng:
    def __init__(self, seed):
        self.seed, self.counter = seed, 0

    def words(self, n):
        out = []
        for i in range(n):
            blk = (self.counter >> 2) + (i >> 2)
            out.append(philox([blk & M32, blk >> 32, 0, 0],
                              [self.seed & M32, self.seed >> 32])[i & 3])
        return out

    def advance(self, n):
        self.counter += (n + 3) & ~3

    def uniform(self, n):
        w = self.words(n)
        self.advance(n)
        return np.array([np.float32(x >> 8) * np.float32(2.0 ** -24) for x in w],
                        dtype=np.float32)

    def normal(self, n):
        m = n + (n & 1)
        w = self.words(m)
        out = []
        for i in range(0, n, 2):
            u1 = ((w[i] >> 8) + 1.0) * 2.0 ** -24
            u2 = (w[i + 1] >> 8) * 2.0 ** -24
            r = math.sqrt(-2.0 * math.log(u1))
            th = 6.283185307179586 * u2
            out += [np.float32(r * math.cos(th)), np.float32(r * math.sin(th))]
        self.advance(m)
        return np.array(out[:n], dtype=np.float32)


G = nn.Sequential(nn.Linear(LATENT, C0 * BASE * BASE), nn.Unflatten(1, (C0, BASE, BASE)),
                  nn.Upsample(scale_factor=2, mode="nearest"),
                  nn.Conv2d(C0, C0, 3, 1, 1), nn.ReLU(), nn.Conv2d(C0, C0, 3, 1, 1), nn.ReLU(),
                  nn.Conv2d(C0, 1, 3, 1, 1), nn.Tanh())
D = nn.Sequential(nn.Conv2d(1, 64, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 64, 3, 2, 1),
                  nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(64 * BASE * BASE, 1))

params = [("g." + k, v, 1.0) for k, v in G.named_parameters()] + \
         [("d." + k, v, 1.0) for k, v in D.named_parameters()]
with torch.no_grad():
    fan = None
    for t, (name, p, a) in enumerate(params):
        if name.endswith("weight"):
            fan = int(np.prod(p.shape[1:]))
        j = np.arange(p.numel(), dtype=np.float64)
        w = (a / math.sqrt(fan) * np.sin(0.7 * j + 1.3 * t + 0.5)).astype(np.float32)
        p.copy_(torch.from_numpy(w.reshape(p.shape)))

p_ = np.arange(S * S, dtype=np.float64)
real = [torch.from_numpy(np.stack([
    (0.9 * np.sin(0.05 * p_ * (k + 1) + 0.9 * b + 0.3 * k)).astype(np.float32).reshape(1, S, S)
    for k in range(B)])) for b in range(5)]

opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
rng = Rng(8)
d_loss, gps, wd, g_loss = [], [], [], []
for i in range(5):
    z = torch.from_numpy(rng.normal(B * LATENT).reshape(B, LATENT))
    alpha = torch.from_numpy(rng.uniform(B).reshape(B, 1, 1, 1))
    opt_d.zero_grad()
    fake = G(z)
    rv, fv = D(real[i]), D(fake.detach())
    x_hat = (alpha * real[i] + (1 - alpha) * fake.detach()).requires_grad_(True)
    d_hat = D(x_hat)
    g = autograd.grad(d_hat, x_hat, torch.ones_like(d_hat), create_graph=True,
                      retain_graph=True, only_inputs=True)[0].view(B, -1)
    gp = LAMBDA_GP * ((g.norm(2, dim=1) - 1) ** 2).mean()
    loss = -rv.mean() + fv.mean() + gp
    loss.backward()
    opt_d.step()
    d_loss.append(loss.item())
    gps.append(gp.item())
    wd.append((rv.mean() - fv.mean()).item())
    opt_g.zero_grad()
    if i % N_CRITIC == 0:
        gl = -D(G(z)).mean()
        gl.backward()
        opt_g.step()
        g_loss.append(gl.item())

os.makedirs(OUT, exist_ok=True)
index, blobs = [], []


def put(role, arr):
    arr = np.asarray(arr, dtype=np.float32).ravel()
    index.append("tensor %s %d" % (role, arr.size))
    blobs.append(arr)


put("d_loss", d_loss)
put("gp", gps)
put("wdist", wd)
put("g_loss", g_loss)
for name, p, _ in params:
    n = p.numel()
    s = (n + 511) // 512
    put("final." + name, p.detach().numpy().ravel()[::s])
with open(os.path.join(OUT, "index.txt"), "w") as f:
    f.write("\n".join(index) + "\n")
with open(os.path.join(OUT, "data.f32"), "wb") as f:
    for b in blobs:
        f.write(b.astype("<f4").tobytes())
print("d_loss", d_loss, "gp", gps, "g_loss", g_loss)
