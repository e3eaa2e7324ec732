#!/usr/bin/python3
"""Fixtures for tests/unit/test_inception.c: the FID Inception-v3 of
pytorch-fid, written here in plain PyTorch (torchvision is not installed),
run on deterministic weights and small gray images.

Run from the repository root with Debian's python3 (torch 1.13, numpy):

    /usr/bin/python3 tests/make_inception_fixtures.py [--layout TSV]

--layout names the table of tensor names and shapes of pytorch-fid's
pt_inception-2015-12-05-6726825d.pth (columns name, ..., shape, numel; "#"
starts a comment); when given, the model's state_dict must match it exactly.

Synthetic weights (the same rule as tg_inc_weights_synthetic in
libstream/fid/inception.c).  For a tensor called NAME with n elements:

    h    = FNV-1a 32-bit hash of the bytes of NAME
    k_i  = fmix32((i * 0x9E3779B9 + h) mod 2^32)    (murmur3's finaliser)
    u_i  = (k_i >> 8) * 2^-23 - 1                    (in [-1, 1), exact in float)
    value_i = float32(scale * u_i + offset), computed in double, where
      *.conv.weight         scale sqrt(6 / fan_in), offset 0  (fan_in = C*KH*KW)
      *.bn.weight           scale 0.25, offset 1
      *.bn.bias             scale 0.1,  offset 0
      *.bn.running_mean     scale 0.1,  offset 0
      *.bn.running_var      scale 0.5,  offset 1    (so in [0.5, 1.5))
      fc.weight             scale 1/sqrt(2048), offset 0
      fc.bias               scale 0.1,  offset 0
      *.num_batches_tracked 0

Files written to tests/fixtures/inception/ (float32 little-endian, raw):
    layout.tsv         name<TAB>shape ("32x3x3x3", "scalar") of every tensor,
                       in state_dict order
    weights_sample.txt name index value(%.9e) of a few synthetic values
    in_a.f32           3 gray images 37x41 in [0, 1]   [3, 37, 41]
    in_b.f32           1 gray image 64x64 in [0, 1]    [1, 64, 64]
    in_c.f32, in_d.f32 1 gray image 311x29, 1 of 23x350 (one axis shrunk
                       to 299, the other enlarged)
    X_D.f32            features [N, D] of in_X for D in 64, 192, 768, 2048
                       (pytorch-fid's output blocks 0..3, spatially averaged)
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join("tests", "fixtures", "inception")


# ---- the network (pytorch-fid's FID Inception v3, eval mode) ----

class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def avg3(x):
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class BlockA(nn.Module):  # FIDInceptionA
    def __init__(self, cin, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x):
        a = self.branch1x1(x)
        b = self.branch5x5_2(self.branch5x5_1(x))
        c = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        d = self.branch_pool(avg3(x))
        return torch.cat([a, b, c, d], 1)


class BlockB(nn.Module):  # InceptionB (Mixed_6a)
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        a = self.branch3x3(x)
        b = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        c = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([a, b, c], 1)


class BlockC(nn.Module):  # FIDInceptionC
    def __init__(self, cin, c7):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        a = self.branch1x1(x)
        b = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        c = x
        for i in range(1, 6):
            c = getattr(self, "branch7x7dbl_%d" % i)(c)
        d = self.branch_pool(avg3(x))
        return torch.cat([a, b, c, d], 1)


class BlockD(nn.Module):  # InceptionD (Mixed_7a)
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        a = self.branch3x3_2(self.branch3x3_1(x))
        b = x
        for i in range(1, 5):
            b = getattr(self, "branch7x7x3_%d" % i)(b)
        c = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([a, b, c], 1)


class BlockE(nn.Module):  # FIDInceptionE_1 (avg pool) / FIDInceptionE_2 (max pool)
    def __init__(self, cin, use_max):
        super().__init__()
        self.use_max = use_max
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        a = self.branch1x1(x)
        b = self.branch3x3_1(x)
        b = torch.cat([self.branch3x3_2a(b), self.branch3x3_2b(b)], 1)
        c = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        c = torch.cat([self.branch3x3dbl_3a(c), self.branch3x3dbl_3b(c)], 1)
        if self.use_max:
            p = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            p = avg3(x)
        d = self.branch_pool(p)
        return torch.cat([a, b, c, d], 1)


class FIDInception(nn.Module):
    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = BlockA(192, 32)
        self.Mixed_5c = BlockA(256, 64)
        self.Mixed_5d = BlockA(288, 64)
        self.Mixed_6a = BlockB(288)
        self.Mixed_6b = BlockC(768, 128)
        self.Mixed_6c = BlockC(768, 160)
        self.Mixed_6d = BlockC(768, 160)
        self.Mixed_6e = BlockC(768, 192)
        self.Mixed_7a = BlockD(768)
        self.Mixed_7b = BlockE(1280, False)
        self.Mixed_7c = BlockE(2048, True)
        self.fc = nn.Linear(2048, 1008)

    def forward(self, gray):
        """gray [N, 1, H, W] in [0, 1] -> features {64, 192, 768, 2048}."""
        x = gray.repeat(1, 3, 1, 1)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        out = {}
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        out[64] = x.mean((2, 3))
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        out[192] = x.mean((2, 3))
        for n in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e"):
            x = getattr(self, "Mixed_" + n)(x)
        out[768] = x.mean((2, 3))
        for n in ("7a", "7b", "7c"):
            x = getattr(self, "Mixed_" + n)(x)
        out[2048] = F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)
        return out


# ---- synthetic weights ----

M32 = 0xFFFFFFFF


def fnv1a(name):
    h = 2166136261
    for byte in name.encode():
        h = ((h ^ byte) * 16777619) & M32
    return h


def fmix32(k):
    k = k.astype(np.uint64)
    k ^= k >> np.uint64(16)
    k = (k * np.uint64(0x85EBCA6B)) & np.uint64(M32)
    k ^= k >> np.uint64(13)
    k = (k * np.uint64(0xC2B2AE35)) & np.uint64(M32)
    k ^= k >> np.uint64(16)
    return k


def synthetic(name, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    if name.endswith("num_batches_tracked"):
        return np.zeros(shape, np.int64)
    i = np.arange(n, dtype=np.uint64)
    k = fmix32((i * np.uint64(0x9E3779B9) + np.uint64(fnv1a(name))) & np.uint64(M32))
    u = (k >> np.uint64(8)).astype(np.float64) * 2.0 ** -23 - 1.0
    if name.endswith("conv.weight"):
        scale, offset = math.sqrt(6.0 / (shape[1] * shape[2] * shape[3])), 0.0
    elif name.endswith("bn.weight"):
        scale, offset = 0.25, 1.0
    elif name.endswith("bn.running_var"):
        scale, offset = 0.5, 1.0
    elif name == "fc.weight":
        scale, offset = 1.0 / math.sqrt(2048.0), 0.0
    else:  # bn.bias, bn.running_mean, fc.bias
        scale, offset = 0.1, 0.0
    return (scale * u + offset).astype(np.float32).reshape(shape)


def shape_text(shape):
    return "x".join(str(d) for d in shape) if len(shape) else "scalar"


def check_layout(sd, path):
    want = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            col = line.rstrip("\n").split("\t")
            want.append((col[0], col[4]))
    have = [(k, shape_text(tuple(v.shape))) for k, v in sd.items()]
    if sorted(want) != sorted(have):
        sys.exit("state_dict differs from %s: %s" % (path, set(want) ^ set(have)))
    print("state_dict matches %s (%d tensors)" % (path, len(have)))


def images():
    rng = np.random.RandomState(1205)
    yy, xx = np.mgrid[0:37, 0:41].astype(np.float64)
    a = np.stack([
        rng.uniform(0, 1, (37, 41)),
        0.5 + 0.5 * np.sin(xx / 3.0) * np.cos(yy / 5.0),
        np.clip(0.3 + 0.02 * xx + 0.1 * rng.standard_normal((37, 41)), 0, 1),
    ]).astype(np.float32)
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float64)
    disc = ((yy - 30) ** 2 + (xx - 35) ** 2 < 400).astype(np.float64)
    b = np.clip(0.2 + 0.6 * disc + 0.05 * rng.standard_normal((64, 64)), 0, 1)
    c = rng.uniform(0, 1, (1, 311, 29))
    d = np.clip(0.5 + 0.4 * np.sin(np.arange(350) / 7.0)[None, None] +
                0.1 * rng.standard_normal((1, 23, 350)), 0, 1)
    return a, b[None].astype(np.float32), c.astype(np.float32), d.astype(np.float32)


def main():
    layout = None
    if len(sys.argv) == 3 and sys.argv[1] == "--layout":
        layout = sys.argv[2]
    elif len(sys.argv) != 1:
        sys.exit("usage: make_inception_fixtures.py [--layout TSV]")
    torch.set_num_threads(2)
    model = FIDInception().eval()
    sd = model.state_dict()
    if layout:
        check_layout(sd, layout)
    new = {k: torch.from_numpy(synthetic(k, tuple(v.shape))) for k, v in sd.items()}
    model.load_state_dict(new)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "layout.tsv"), "w") as f:
        for k, v in sd.items():
            f.write("%s\t%s\n" % (k, shape_text(tuple(v.shape))))
    with open(os.path.join(OUT, "weights_sample.txt"), "w") as f:
        for k in ("Conv2d_1a_3x3.conv.weight", "Mixed_6b.branch7x7_2.conv.weight",
                  "Mixed_7c.branch_pool.bn.running_var", "Mixed_5b.branch1x1.bn.weight",
                  "Conv2d_4a_3x3.bn.bias", "fc.weight", "fc.bias"):
            v = new[k].numpy().ravel()
            for i in (0, 1, 2, 7, v.size - 1):
                f.write("%s %d %.9e\n" % (k, i, v[i]))
    sets = dict(zip("abcd", images()))
    with torch.no_grad():
        for tag, img in sets.items():
            img.astype("<f4").tofile(os.path.join(OUT, "in_%s.f32" % tag))
            out = model(torch.from_numpy(img)[:, None])
            for d, t in out.items():
                t.numpy().astype("<f4").tofile(os.path.join(OUT, "%s_%d.f32" % (tag, d)))
                v = t.numpy()
                print("%s %4d: mean %.4f std %.4f max %.4f zeros %.3f" %
                      (tag, d, v.mean(), v.std(), v.max(), (v == 0).mean()))


if __name__ == "__main__":
    main()
