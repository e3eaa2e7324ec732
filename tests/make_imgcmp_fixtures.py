#!/usr/bin/python3
"""Makes the golden fixtures of imgcmp(1) and libstream/metrics.c: PSNR and
SSIM from scikit-image on pairs of float32 images, written to
tests/fixtures/imgcmp/ as raw little-endian float32 files plus an index
(cases.txt) that tests/unit/test_metrics.c reads.

Run once, with Debian's python3-skimage (0.19), python3-opencv and numpy:

    /usr/bin/python3 tests/make_imgcmp_fixtures.py [DATA_DIR]

DATA_DIR is the shared data folder holding ct-luad-png16/ (default:
$SHARED/data).  The outputs are committed; `make check` needs no Python.

The references are

    peak_signal_noise_ratio(a, b, data_range=R)
    structural_similarity(a, b, data_range=R, gaussian_weights=True,
                          sigma=1.5, use_sample_covariance=False
                          [, channel_axis=0 for several planes])

on the float32 values widened to float64 (scikit-image would otherwise
compute in float32), after cropping CROP pixels from every border.

cases.txt, one case a line:
    NAME A_FILE B_FILE PLANES H W CROP RANGE_LO RANGE_HI PSNR SSIM
with PSNR "inf" for identical images and SSIM "error" where scikit-image
refuses (a plane smaller than the 11x11 window after the crop).
"""
import os
import sys

import cv2
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "imgcmp")


def save(name, x):
    x = np.ascontiguousarray(x, dtype="<f4")
    x.tofile(os.path.join(OUT, name))
    return name


def reference(a, b, crop, lo, hi):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if crop:
        a = a[..., crop:-crop, crop:-crop]
        b = b[..., crop:-crop, crop:-crop]
    r = hi - lo
    if np.array_equal(a, b):
        psnr = "inf"
    else:
        psnr = repr(float(peak_signal_noise_ratio(a, b, data_range=r)))
    try:
        kw = dict(data_range=r, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
        if a.ndim == 3:
            kw["channel_axis"] = 0
        ssim = repr(float(structural_similarity(a, b, **kw)))
    except ValueError:
        ssim = "error"
    return psnr, ssim


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("SHARED", ""), "data")
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261121)
    cases = []

    def add(name, a, b, crops, ranges):
        a = a.astype(np.float32)
        b = b.astype(np.float32)
        fa = save(name + "_a.f32", a)
        fb = save(name + "_b.f32", b)
        planes = a.shape[0] if a.ndim == 3 else 1
        h, w = a.shape[-2:]
        for crop in crops:
            for lo, hi in ranges:
                psnr, ssim = reference(a, b, crop, lo, hi)
                cases.append("%s_c%d_r%g %s %s %d %d %d %d %r %r %s %s" % (
                    name, crop, hi - lo, fa, fb, planes, h, w, crop, float(lo), float(hi), psnr, ssim))

    # uniform noise against a noisier copy, non-square
    a = rng.random((24, 32))
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1)
    add("rand24x32", a, b, [0, 2, 3], [(0, 1)])
    # independent noise: SSIM near 0
    add("indep20x17", rng.random((20, 17)), rng.random((20, 17)), [0], [(0, 1), (-1, 1)])
    # smooth images (blurred noise) and a slightly blurred, shifted copy
    s = cv2.GaussianBlur(rng.random((40, 36)).astype(np.float32), (0, 0), 3)
    s = (s - s.min()) / (s.max() - s.min())
    t = cv2.GaussianBlur(s, (0, 0), 0.8) * 0.97 + 0.01
    add("smooth40x36", s, t, [0, 4], [(0, 1), (0, 255)])
    # offset data far from zero (values in [1000, 1100], range 0..4095)
    o = 1000 + 100 * rng.random((16, 16))
    add("offset16", o, o + rng.normal(0, 2, o.shape), [0], [(0, 4095)])
    # window-sized and smaller planes
    add("tiny11", rng.random((11, 11)), rng.random((11, 11)), [0], [(0, 1)])
    add("tiny12x15", rng.random((12, 15)), rng.random((12, 15)), [0, 1], [(0, 1)])
    add("tiny7", rng.random((7, 7)), rng.random((7, 7)), [0], [(0, 1)])
    # identical images: PSNR inf, SSIM 1
    i = rng.random((13, 14))
    add("same13x14", i, i, [0], [(0, 1)])
    # three planes (SSIM the mean over planes, PSNR over all values)
    c = rng.random((3, 16, 20))
    add("planes3x16x20", c, np.clip(c + rng.normal(0, 0.05, c.shape), 0, 1), [0, 2], [(0, 1)])

    # a real CT slice: a 48x48 crop against its bicubic 2x down-up copy
    png = os.path.join(data, "ct-luad-png16", "ID_0000_AGE_0060_CONTRAST_1_CT.png")
    ct = cv2.imread(png, cv2.IMREAD_UNCHANGED)
    if ct is None:
        sys.exit("cannot read %s (give the shared data folder as the argument)" % png)
    ct = ct[232:280, 160:208].astype(np.float32)
    small = cv2.resize(ct, (24, 24), interpolation=cv2.INTER_CUBIC)
    up = cv2.resize(small, (48, 48), interpolation=cv2.INTER_CUBIC)
    add("ct48", ct, up, [0, 2], [(0, 65535), (0, 4095)])

    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# made by tests/make_imgcmp_fixtures.py: NAME A_FILE B_FILE PLANES H W CROP "
                "RANGE_LO RANGE_HI PSNR SSIM\n")
        for line in cases:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
