#!/usr/bin/python3
"""Fixtures for tests/cli/test_fidstat.sh: small gray image sets as tensor
streams and the FID / KID that pytorch-fid's computation gives for them with
the deterministic test weights (fidstat --test-weights).

Run from the repository root with Debian's python3 (torch 1.13, numpy,
scipy):

    /usr/bin/python3 tests/make_fidstat_fixtures.py

The network and the weight rule are those of make_inception_fixtures.py
(imported), the stream writer that of make_clipnorm_fixtures.py.  The
pipeline is pytorch-fid's (fid_score.py): frames in [0, 1] (u8 / 255 here,
as ToTensor does), features in float64, mu = mean, sigma = numpy.cov
(rowvar=False), and calculate_frechet_distance's route: scipy.linalg.sqrtm
of sigma1 sigma2 (with its eps = 1e-6 fallback when the root is not
finite), real part, trace.  The distance by the symmetric eigen route (the
one fidstat uses) is written too, to show how far the two routes are apart
on each case.  KID: the unbiased MMD^2 with the kernel (x.y/d + 1)^3 over
all frames; with equal set sizes and subsets of all frames every subset
gives that value, so fidstat's KID must equal it whatever its draws.

Files in tests/fixtures/fidstat/:
    a.tns      6 frames u8 32x32, range 0 255
    b.tns      7 frames u8 32x32, range 0 255 (another pattern family)
    c.tns      70 frames u8 20x20, range 0 255
    d.tns      70 frames u8 20x20, range 0 255
    c_64.npz   numpy.savez(mu=, sigma=) of c's 64-d features
    norange.tns 3 frames f32 8x8 without a range
    rgb.tns    2 frames u8 3x8x8, range 0 255
    empty.tns  a stream of u8 8x8 frames with no frame
    expected.txt  "name value" lines:
        fid_ab_2048, fid_ab_64, fid_cd_64 (scipy route), eig_* (eigen route),
        kid_cd_64, n_a, n_b, n_c, n_d
"""
import os
import sys

import numpy as np
import scipy.linalg
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_inception_fixtures as inc  # noqa: E402
from make_clipnorm_fixtures import write_tns  # noqa: E402

OUT = os.path.join("tests", "fixtures", "fidstat")
RANGE = [("range", "0 255")]


def frechet_scipy(mu1, s1, mu2, s2, eps=1e-6):
    """pytorch-fid 0.3.0's calculate_frechet_distance."""
    diff = mu1 - mu2
    covmean, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        print("sqrtm not finite: eps fallback")
        off = np.eye(s1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((s1 + off).dot(s2 + off))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("Imaginary component %g" % np.max(np.abs(covmean.imag)))
        covmean = covmean.real
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def frechet_eig(mu1, s1, mu2, s2):
    lam, v = np.linalg.eigh(s1)
    b = v * np.sqrt(np.clip(lam, 0, None))
    m = np.linalg.eigvalsh(b.T @ s2 @ b)
    diff = mu1 - mu2
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(m, 0, None)).sum()


def kid_all(f1, f2):
    d = f1.shape[1]
    m = f1.shape[0]
    kxx = (f1 @ f1.T / d + 1) ** 3
    kyy = (f2 @ f2.T / d + 1) ** 3
    kxy = (f1 @ f2.T / d + 1) ** 3
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.sum() / m ** 2)


def image_sets():
    rng = np.random.RandomState(2015)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64)
    a = []
    for i in range(6):  # smooth waves with noise
        v = 0.5 + 0.4 * np.sin(xx / (2.0 + i) + i) * np.cos(yy / (3.0 + 0.5 * i))
        a.append(v + 0.05 * rng.standard_normal((32, 32)))
    b = []
    for i in range(7):  # bright discs on a dark ground
        cy, cx, r = rng.uniform(8, 24), rng.uniform(8, 24), rng.uniform(4, 10)
        v = 0.15 + 0.7 * (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r)
        b.append(v + 0.08 * rng.standard_normal((32, 32)))
    yy, xx = np.mgrid[0:20, 0:20].astype(np.float64)
    c, d = [], []
    for i in range(70):
        g = rng.uniform(-1, 1, 2)
        c.append(0.5 + 0.3 * (g[0] * xx + g[1] * yy) / 20 + 0.1 * rng.standard_normal((20, 20)))
        cy, cx, r = rng.uniform(5, 15), rng.uniform(5, 15), rng.uniform(3, 7)
        d.append(0.3 + 0.4 * (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r)
                 + 0.1 * rng.standard_normal((20, 20)))

    def u8(frames):
        return np.clip(np.rint(np.array(frames) * 255), 0, 255).astype(np.uint8)
    return u8(a), u8(b), u8(c), u8(d)


def main():
    torch.set_num_threads(2)
    model = inc.FIDInception().eval()
    sd = model.state_dict()
    model.load_state_dict({k: torch.from_numpy(inc.synthetic(k, tuple(v.shape)))
                           for k, v in sd.items()})
    os.makedirs(OUT, exist_ok=True)
    sets = dict(zip("abcd", image_sets()))
    feats = {}
    with torch.no_grad():
        for tag, img in sets.items():
            write_tns(os.path.join(OUT, "%s.tns" % tag), img, RANGE)
            x = torch.from_numpy(img.astype(np.float32) / 255)[:, None]
            out = {}
            for i in range(0, len(x), 50):  # pytorch-fid's batches of 50
                for k, v in model(x[i:i + 50]).items():
                    out.setdefault(k, []).append(v.numpy().astype(np.float64))
            feats[tag] = {k: np.concatenate(v) for k, v in out.items()}
    write_tns(os.path.join(OUT, "norange.tns"), np.linspace(0, 1, 192, dtype=np.float32)
              .reshape(3, 8, 8))
    write_tns(os.path.join(OUT, "rgb.tns"), np.zeros((2, 3, 8, 8), np.uint8), RANGE)
    write_tns(os.path.join(OUT, "empty.tns"), np.zeros((0, 8, 8), np.uint8), RANGE)

    def stats(f):
        return f.mean(0), np.cov(f, rowvar=False)
    lines = ["n_%s %d" % (t, len(sets[t])) for t in "abcd"]
    for name, t1, t2, dim in (("ab_2048", "a", "b", 2048), ("ab_64", "a", "b", 64),
                              ("cd_64", "c", "d", 64)):
        m1, s1 = stats(feats[t1][dim])
        m2, s2 = stats(feats[t2][dim])
        fs, fe = frechet_scipy(m1, s1, m2, s2), frechet_eig(m1, s1, m2, s2)
        print("%s: scipy %.12g eigen %.12g (relative %.2e)" % (name, fs, fe, abs(fs - fe) / fs))
        lines += ["fid_%s %.17g" % (name, fs), "eig_%s %.17g" % (name, fe)]
    m, s = stats(feats["c"][64])
    np.savez(os.path.join(OUT, "c_64.npz"), mu=m, sigma=s)
    k = kid_all(feats["c"][64], feats["d"][64])
    print("kid cd 64: %.12g" % k)
    lines.append("kid_cd_64 %.17g" % k)
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
