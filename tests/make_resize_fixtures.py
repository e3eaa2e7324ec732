#!/usr/bin/python3
"""Makes the golden fixtures of resize(1): Pillow and OpenCV outputs on
float32 images, written to tests/fixtures/resize/ as raw little-endian
float32 files plus an index (cases.txt) that tests/unit/test_resize.c reads.

Run once, with Debian's python3-pil, python3-opencv and python3-numpy:

    /usr/bin/python3 tests/make_resize_fixtures.py [DATA_DIR]

DATA_DIR is the shared data folder holding ct-luad-png16/ (default:
$SHARED/data).  The outputs are committed; `make check` needs no Python.

Inputs:
  hash:SEED  a pseudo-random image in [0, 1) that the C test regenerates
             exactly (value = fmix32(index + SEED * 0x9E3779B9) >> 8, / 2^24,
             index running over the row-major image), so large inputs cost
             nothing to store;
  ct64.f32   a 64x64 crop of a real CT slice (ct-luad-png16), scaled to
             [0, 1] by its own minimum and maximum, stored;
  ct20x16.f32  a 20x16 piece of it (rows 20-35, columns 10-29), stored.

cases.txt, one case a line:  INPUT IN_W IN_H OUT_W OUT_H FILTER OUTPUT
"""
import os
import sys

import cv2
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "resize")


def fmix32(h):
    h = h.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def hash_image(seed, w, h):
    with np.errstate(over="ignore"):
        i = np.arange(w * h, dtype=np.uint32) + np.uint32((seed * 0x9E3779B9) & 0xFFFFFFFF)
        v = fmix32(i) >> np.uint32(8)
    return (v.astype(np.float32) / np.float32(16777216.0)).reshape(h, w)


def ct_crop(data_dir):
    path = os.path.join(data_dir, "ct-luad-png16", "ID_0000_AGE_0060_CONTRAST_1_CT.png")
    img = np.asarray(Image.open(path)).astype(np.float64)
    crop = img[224:288, 160:224]          # 64x64 through lung and soft tissue
    lo, hi = crop.min(), crop.max()
    return ((crop - lo) / (hi - lo)).astype(np.float32)


PIL_FILTERS = {
    "nearest": Image.NEAREST,
    "box": Image.BOX,
    "bilinear": Image.BILINEAR,
    "bicubic": Image.BICUBIC,
    "lanczos3": Image.LANCZOS,
}
CV_FILTERS = {
    "bilinear-opencv": cv2.INTER_LINEAR,
    "cubic-opencv": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
}
ALL = list(PIL_FILTERS) + list(CV_FILTERS)


def resize(img, w, h, filt):
    if filt in PIL_FILTERS:
        im = Image.fromarray(img, mode="F").resize((w, h), PIL_FILTERS[filt])
        return np.asarray(im, dtype=np.float32)
    return cv2.resize(img, (w, h), interpolation=CV_FILTERS[filt]).astype(np.float32)


# (input, in_w, in_h, [(out_w, out_h), ...], filters)
CASES = [
    # integer downscale x2, x4, x8, non-square
    ("hash:1", 64, 48, [(32, 24), (16, 12), (8, 6)], ALL),
    # non-integer downscale 37->16, 100->30 (and 60->18)
    ("hash:2", 37, 37, [(16, 16)], ALL),
    ("hash:3", 100, 60, [(30, 18)], ALL),
    # x32 (2048->64 in miniature) and x8 by one axis, x4 by the other
    ("hash:4", 256, 192, [(8, 6), (32, 48)], ALL),
    # upscale x2, x4, 16->37, non-square
    ("hash:5", 8, 6, [(16, 12), (32, 24)], ALL),
    ("hash:6", 16, 16, [(37, 37)], ALL),
    # one axis down, the other up (OpenCV's INTER_AREA then interpolates
    # both axes); one axis unchanged
    ("hash:7", 40, 20, [(13, 50), (40, 7)], ALL),
    # tiny inputs: fewer pixels than taps
    ("hash:8", 3, 2, [(7, 5), (1, 1)], ALL),
    # real CT: x8, x4, non-integer down; upscale x2.5 of a 20x16 piece
    ("ct64.f32", 64, 64, [(8, 8), (16, 16), (24, 24)], ALL),
    ("ct20x16.f32", 20, 16, [(50, 40)], ALL),
]


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("SHARED", ""), "data")
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    ct = ct_crop(data_dir)
    inputs = {"ct64.f32": ct, "ct20x16.f32": np.ascontiguousarray(ct[20:36, 10:30])}
    for name, img in inputs.items():
        img.astype("<f4").tofile(os.path.join(OUT, name))
    lines = []
    for src, iw, ih, sizes, filters in CASES:
        img = hash_image(int(src[5:]), iw, ih) if src.startswith("hash:") else inputs[src]
        assert img.shape == (ih, iw)
        tag = src.replace("hash:", "h").replace(".f32", "")
        for ow, oh in sizes:
            for filt in filters:
                out = resize(img, ow, oh, filt)
                assert out.shape == (oh, ow), (src, filt, out.shape)
                name = "%s_%dx%d_%dx%d_%s.f32" % (tag, iw, ih, ow, oh, filt)
                out.astype("<f4").tofile(os.path.join(OUT, name))
                lines.append("%s %d %d %d %d %s %s" % (src, iw, ih, ow, oh, filt, name))
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# made by tests/make_resize_fixtures.py (Pillow %s, OpenCV %s)\n"
                % (Image.__version__, cv2.__version__))
        f.write("# INPUT IN_W IN_H OUT_W OUT_H FILTER OUTPUT (raw little-endian float32, row-major)\n")
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("%d cases, %d bytes in %s" % (len(lines), total, OUT))


if __name__ == "__main__":
    main()
