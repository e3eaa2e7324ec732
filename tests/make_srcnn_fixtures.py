#!/usr/bin/python3
"""Writes the fixtures of the SRCNN tests into tests/fixtures/srcnn/.

Run with Debian's python3 and its torch (1.13):
    /usr/bin/python3 tests/make_srcnn_fixtures.py
The outputs are committed; `make check` never runs Python.

1. PyTorch cases for tests/unit/test_srcnn.c: the SRCNN network (9-1-5 and
   9-5-5, "same" zero padding, as SRCNN-PyTorch's model.py) on a small batch
   with random weights, its output, the MSE loss against a random target and
   the gradients of that loss with respect to every parameter.  Each case is
   one file NAME.f32 of little-endian float32 tensors one after another;
   index.txt lists, per case,
       case NAME mid=M B=.. H=.. W=..
       tensor NAME ROLE COUNT [DIMS...]
   Roles: x, t (input, target [B,1,H,W]), w1 b1 w2 b2 w3 b3 (parameters),
   y (output), loss (one value), gw1 .. gb3 (gradients of the loss).
   To keep the files small, the 9-5-5 case has no w2 (it is the formula in
   formula_w2) and its gw2 holds every 8th element of the gradient.

2. Images for the learning test (tests/cli/test_srcnn.sh): synthetic
   "phantoms" (discs, rectangles and stripes of random grey levels with
   sharp edges on a smooth background), 8-bit, as tensor streams:
   train.tns (12 frames of 64x64), val.tns (2 frames, for checkpoint
   selection) and heldout.tns (3 frames, for the final measure), drawn from
   independent seeds.
"""
import importlib.util
import os

import numpy as np
import torch

torch.manual_seed(2026)
torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "srcnn")

# the stream writer of the clipnorm fixtures (same format, tstream(5))
_spec = importlib.util.spec_from_file_location("clipfix", os.path.join(HERE, "make_clipnorm_fixtures.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
write_tns = _mod.write_tns


def net(mid):
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 64, 9, padding=4), torch.nn.ReLU(),
        torch.nn.Conv2d(64, 32, mid, padding=mid // 2), torch.nn.ReLU(),
        torch.nn.Conv2d(32, 1, 5, padding=2))


def formula_w2(n):
    """The 9-5-5 map weight (51,200 values, too many to store): element i is
    ((i * 7919 + 13) mod 2001 - 1000) * 2.5e-5 computed in double and
    rounded to float32, which the C test computes bit for bit."""
    i = np.arange(n, dtype=np.int64)
    return (((i * 7919 + 13) % 2001 - 1000) * 2.5e-5).astype(np.float32).astype(np.float64)


def torch_case(index, name, mid, B, H, W):
    m = net(mid).double()
    with torch.no_grad():
        for p in m.parameters():  # default init, biases moved off zero
            if p.dim() == 1:
                p.uniform_(-0.1, 0.1)
    x = torch.rand(B, 1, H, W, dtype=torch.float64)
    t = torch.rand(B, 1, H, W, dtype=torch.float64)
    # parameters and inputs are rounded to float32 first; the reference is
    # computed in float64 from those float32 values
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(p.float().double())
        if mid == 5:  # the large map weight is not stored: see formula_w2
            m[2].weight.copy_(torch.from_numpy(formula_w2(m[2].weight.numel())).reshape(
                m[2].weight.shape))
    x = x.float().double()
    t = t.float().double()
    y = m(x)
    loss = torch.nn.functional.mse_loss(y, t)
    loss.backward()
    convs = [m[0], m[2], m[4]]
    tensors = [("x", x), ("t", t)]
    for k, c in enumerate(convs):
        if not (mid == 5 and k == 1):
            tensors.append(("w%d" % (k + 1), c.weight.detach()))
        tensors.append(("b%d" % (k + 1), c.bias.detach()))
    tensors += [("y", y.detach()), ("loss", loss.detach().reshape(1))]
    for k, c in enumerate(convs):
        g = c.weight.grad
        if mid == 5 and k == 1:  # every 8th element of the map gradient
            g = g.reshape(-1)[::8]
        tensors += [("gw%d" % (k + 1), g), ("gb%d" % (k + 1), c.bias.grad)]
    index.append("case %s mid=%d B=%d H=%d W=%d" % (name, mid, B, H, W))
    with open(os.path.join(OUT, name + ".f32"), "wb") as f:
        for role, v in tensors:
            a = v.numpy().astype("<f4")
            f.write(a.tobytes())
            index.append("tensor %s %s %d %s" % (name, role, a.size, " ".join(map(str, a.shape))))


def phantom(rng, n):
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    img = 0.3 + 0.2 * np.sin(xx / rng.uniform(6, 14) + rng.uniform(0, 6)) * \
        np.cos(yy / rng.uniform(6, 14))
    for _ in range(rng.integers(6, 12)):
        kind = rng.integers(0, 3)
        v = rng.uniform(0.0, 1.0)
        if kind == 0:
            cx, cy, r = rng.uniform(0, n), rng.uniform(0, n), rng.uniform(3, n / 4)
            img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = v
        elif kind == 1:
            x0, y0 = rng.integers(0, n - 4, 2)
            w, h = rng.integers(3, n // 2, 2)
            img[y0:y0 + h, x0:x0 + w] = v
        else:
            period = rng.uniform(3, 8)
            ang = rng.uniform(0, np.pi)
            cx, cy, r = rng.uniform(0, n), rng.uniform(0, n), rng.uniform(6, n / 3)
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
            s = (np.cos(ang) * xx + np.sin(ang) * yy) / period
            img[inside] = np.where((s[inside] % 1.0) < 0.5, v, 1 - v)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    index = []
    torch_case(index, "srcnn915", 1, 2, 13, 11)
    torch_case(index, "srcnn955", 5, 2, 12, 15)
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write("\n".join(index) + "\n")
    train = np.stack([phantom(np.random.default_rng(100 + i), 64) for i in range(12)])
    held = np.stack([phantom(np.random.default_rng(900 + i), 64) for i in range(3)])
    write_tns(os.path.join(OUT, "train.tns"), train)
    write_tns(os.path.join(OUT, "heldout.tns"), held)
    val = np.stack([phantom(np.random.default_rng(500 + i), 64) for i in range(2)])
    write_tns(os.path.join(OUT, "val.tns"), val)


if __name__ == "__main__":
    main()
