#!/usr/bin/python3
"""Makes the golden fixtures of clipnorm(1) with NumPy, written to
tests/fixtures/clipnorm/: small input volumes as tensor streams (*.tns, see
tstream(5); this script carries its own writer and XXH64), the expected
outputs as raw little-endian files, and two indexes that
tests/unit/test_clipnorm.c reads.

Run once, with Debian's python3-numpy:

    /usr/bin/python3 tests/make_clipnorm_fixtures.py

The outputs are committed; `make check` needs no Python.

Expected values:
  bounds   numpy.percentile (default method 'linear') in float64 over the
           float64 copies of the per-frame minima / maxima (numpy.nanmin,
           nanmax; frames with no value but NaN left out), or over all
           non-NaN pixels (--pixels), or inside TomoPy's circ_mask geometry
           (--mask, tomopy.misc.corr._get_mask restated below);
  f32      numpy.clip((x - lo) / (hi - lo), 0, 1) in float64, NaN -> 0, then
           2y - 1 for --out 11; compared with a tolerance (1e-6 absolute);
  u8, u16  the documented single-precision rule, compared exactly:
           y = clip((float32(x) - float32(lo)) * float32(1 / (hi - lo)), 0, 1)
           then floor(y * 255 + 0.5) (or 65535), every step in float32.

cases.txt, one case a line (arguments last, any number):
  NAME INPUT OUT_TYPE LO HI EXPECTED ARGS...
masks.txt, one mask a line:
  H W RATIO INSIDE BITMAP   (BITMAP: raw u8 0/1 H x W, or '-' for none)
"""
import os
import warnings
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "clipnorm")

# ---- XXH64 (the checksum of tstream(5)) ----
M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (11400714785074694791, 14029467366897019727, 1609587929392839161,
                      9650029242287828579, 2870177450012600261)


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, lane):
    acc = (acc + lane * P2) & M64
    return (_rotl(acc, 31) * P1) & M64


def _merge(h, v):
    h ^= _round(0, v)
    return (h * P1 + P4) & M64


def xxh64(data, seed=0):
    n, p = len(data), 0
    u64 = lambda i: struct.unpack_from("<Q", data, i)[0]
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed & M64, (seed - P1) & M64]
        while p + 32 <= n:
            v = [_round(v[j], u64(p + 8 * j)) for j in range(4)]
            p += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M64
        for j in range(4):
            h = _merge(h, v[j])
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while p + 8 <= n:
        h ^= _round(0, u64(p))
        h = (_rotl(h, 27) * P1 + P4) & M64
        p += 8
    if p + 4 <= n:
        h ^= (struct.unpack_from("<I", data, p)[0] * P1) & M64
        h = (_rotl(h, 23) * P2 + P3) & M64
        p += 4
    while p < n:
        h ^= (data[p] * P5) & M64
        h = (_rotl(h, 11) * P1) & M64
        p += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    h ^= h >> 32
    return h


assert xxh64(b"") == 0xEF46DB3751D8E999
assert xxh64(b"abcdefghijk") == 0x814E257441CF78E0

# ---- tensor stream writer (uncompressed frames) ----
DTYPES = {np.dtype("uint8"): 1, np.dtype("uint16"): 2, np.dtype("int16"): 3,
          np.dtype("float32"): 4, np.dtype("float16"): 5}


def write_tns(path, frames, meta=()):
    """frames: array of shape (N, ...frame shape), or a (0, ...) array."""
    frames = np.ascontiguousarray(frames)
    dtype = frames.dtype.newbyteorder("<")
    shape = frames.shape[1:]
    assert 1 <= len(shape) <= 4
    dims = list(shape) + [0] * (4 - len(shape))
    mb = b""
    for k, v in meta:
        kb, vb = k.encode(), v.encode()
        mb += struct.pack("<II", len(kb), len(vb)) + kb + vb
    head = (b"\x89TNS\r\n\x1a\n" + struct.pack("<HBBI", 1, DTYPES[frames.dtype], len(shape), 0)
            + struct.pack("<4Q", *dims) + struct.pack("<II", len(mb), 0))
    out = head + struct.pack("<Q", xxh64(head)) + mb + struct.pack("<Q", xxh64(mb))
    for f in frames:
        payload = f.astype(dtype).tobytes()
        rec = b"FRAM" + bytes(4) + struct.pack("<QQ", len(payload), xxh64(payload))
        out += rec + struct.pack("<Q", xxh64(rec)) + payload
    end = b"ENDS" + bytes(4) + struct.pack("<Q", len(frames))
    out += end + struct.pack("<Q", xxh64(end))
    with open(path, "wb") as fh:
        fh.write(out)


# ---- the rule ----
def circ_mask(h, w, ratio):
    """tomopy.misc.corr._get_mask(dx=h, dy=w, ratio), restated."""
    rad1, rad2 = h / 2.0, w / 2.0
    r2 = rad1 * rad1 if h < w else rad2 * rad2
    y, x = np.ogrid[0.5 - rad1:0.5 + rad1, 0.5 - rad2:0.5 + rad2]
    return x * x + y * y < ratio * ratio * r2


def bounds(vol, lower=1.0, upper=99.0, pixels=False, mask=None):
    v = vol.astype(np.float64)
    if mask is not None:
        m = circ_mask(v.shape[-2], v.shape[-1], mask)
        sel = [f[..., m] for f in v]
    else:
        sel = [f.ravel() for f in v]
    sel = [s[~np.isnan(s)] for s in sel]
    if pixels:
        allv = np.concatenate(sel)
        return np.percentile(allv, lower), np.percentile(allv, upper)
    mins = np.array([s.min() for s in sel if s.size])
    maxs = np.array([s.max() for s in sel if s.size])
    return np.percentile(mins, lower), np.percentile(maxs, upper)


def expected(vol, lo, hi, out):
    if out in ("f32", "11"):
        y = np.clip((vol.astype(np.float64) - lo) / (hi - lo), 0, 1)
        y[np.isnan(y)] = 0
        if out == "11":
            y = 2 * y - 1
        return y.astype(np.float32)
    lo32, s32 = np.float32(lo), np.float32(1.0 / (hi - lo))
    with np.errstate(invalid="ignore"):
        y = (vol.astype(np.float32) - lo32) * s32
        y = np.minimum(np.maximum(y, np.float32(0)), np.float32(1))   # NaN stays NaN here
    y[np.isnan(y)] = 0
    scale = np.float32(255 if out == "u8" else 65535)
    q = np.floor(y * scale + np.float32(0.5))
    # how often the float32 rule and exact arithmetic round differently
    exact = np.clip((vol.astype(np.float64) - lo) / (hi - lo), 0, 1)
    exact[np.isnan(exact)] = 0
    diff = int(np.count_nonzero(np.floor(exact * float(scale) + 0.5) != q))
    if diff:
        print(f"  note: {diff} values round differently in float64")
    return q.astype(np.uint8 if out == "u8" else np.uint16)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20260521)

    # vol: 12 frames of 9x11, a drifting level, zero corners outside the
    # ratio-0.9 circle (as circ_mask leaves them), and outliers, two of them
    # in the corners so that --mask 0.9 changes both bounds.
    n, h, w = 12, 9, 11
    vol = rng.normal(100.0, 10.0, (n, h, w)) + 4.0 * np.arange(n)[:, None, None]
    vol[:, ~circ_mask(h, w, 0.9)] = 0.0
    vol[2, 4, 5] = 1500.0
    vol[7, 8, 10] = 900.0
    vol[5, 0, 0] = -400.0
    vol[9, 1, 6] = -35.5
    vol = vol.astype(np.float32)
    write_tns(os.path.join(OUT, "vol.tns"), vol, [("source", "make_clipnorm_fixtures.py")])
    write_tns(os.path.join(OUT, "vol16.tns"), vol.astype(np.float16))
    vol16 = vol.astype(np.float16).astype(np.float32)

    # nan: NaN pixels and one frame of nothing but NaN
    nan = rng.uniform(-1.0, 3.0, (6, 5, 7)).astype(np.float32)
    nan[1, 2, 3] = np.nan
    nan[3] = np.nan
    nan[4, ::2, ::3] = np.nan
    write_tns(os.path.join(OUT, "nan.tns"), nan)

    # hu: CT numbers as i16
    hu = rng.integers(-1024, 2000, (4, 9, 11)).astype(np.int16)
    write_tns(os.path.join(OUT, "hu.tns"), hu)

    # u16vol: 16-bit detector counts
    u16v = rng.integers(0, 65536, (5, 9, 11)).astype(np.uint16)
    write_tns(os.path.join(OUT, "u16.tns"), u16v)

    # a stream of no frames
    write_tns(os.path.join(OUT, "empty.tns"), np.zeros((0, 9, 11), np.float32))

    cases = [
        # name, input, data, out, args, bounds kwargs (None: fixed lo, hi)
        ("default", "vol.tns", vol, "f32", [], {}),
        ("pixels", "vol.tns", vol, "f32", ["--pixels"], {"pixels": True}),
        ("mask", "vol.tns", vol, "f32", ["--mask", "0.9"], {"mask": 0.9}),
        ("pixels_mask", "vol.tns", vol, "f32", ["--pixels", "--mask", "0.9"],
         {"pixels": True, "mask": 0.9}),
        ("lower_upper", "vol.tns", vol, "f32", ["--lower", "5", "--upper", "90"],
         {"lower": 5.0, "upper": 90.0}),
        ("pixels_5_95", "vol.tns", vol, "f32", ["--pixels", "--lower", "5", "--upper", "95"],
         {"pixels": True, "lower": 5.0, "upper": 95.0}),
        ("u8", "vol.tns", vol, "u8", ["--out", "u8"], {}),
        ("u16", "vol.tns", vol, "u16", ["--out", "u16"], {}),
        ("out11", "vol.tns", vol, "11", ["--out", "11"], {}),
        ("mask_u8", "vol.tns", vol, "u8", ["--mask", "0.9", "--out", "u8"], {"mask": 0.9}),
        ("bounds", "vol.tns", vol, "f32", ["--bounds", "90,160"], (90.0, 160.0)),
        ("window", "hu.tns", hu, "f32", ["--window", "40,400"], (-160.0, 240.0)),
        ("window_u8", "hu.tns", hu, "u8", ["--window", "40,400", "--out", "u8"], (-160.0, 240.0)),
        ("nan_default", "nan.tns", nan, "f32", [], {}),
        ("nan_pixels", "nan.tns", nan, "f32", ["--pixels"], {"pixels": True}),
        ("u16_pixels_mask", "u16.tns", u16v, "u16", ["--pixels", "--mask", "0.8", "--out", "u16"],
         {"pixels": True, "mask": 0.8}),
        ("u16_default_u8", "u16.tns", u16v, "u8", ["--out", "u8"], {}),
        ("f16_pixels", "vol16.tns", vol16, "f32", ["--pixels"], {"pixels": True}),
        ("f16_default", "vol16.tns", vol16, "f32", [], {}),
    ]
    lines = []
    for name, inp, data, out, args, how in cases:
        lo, hi = how if isinstance(how, tuple) else bounds(data, **how)
        y = expected(data, lo, hi, out)
        fname = f"{name}.{ {'f32': 'f32', '11': 'f32', 'u8': 'u8', 'u16': 'u16'}[out] }"
        y.tofile(os.path.join(OUT, fname))
        otype = "f32" if out in ("f32", "11") else out
        lines.append(" ".join([name, inp, otype, f"{lo:.17g}", f"{hi:.17g}", fname] + args))
        print(f"{name}: lo={lo:.9g} hi={hi:.9g}")
    with open(os.path.join(OUT, "cases.txt"), "w") as fh:
        fh.write("# NAME INPUT OUT_TYPE LO HI EXPECTED ARGS... (make_clipnorm_fixtures.py)\n")
        fh.write("\n".join(lines) + "\n")

    masks = []
    for mh, mw, ratio, keep in [(9, 11, 0.9, True), (48, 64, 0.95, True), (64, 48, 0.5, True),
                                (7, 7, 1.0, True), (1, 5, 1.0, True), (2048, 2048, 0.95, False),
                                (1792, 2048, 0.95, False), (101, 33, 1.2, True)]:
        m = circ_mask(mh, mw, ratio)
        fname = "-"
        if keep:
            fname = f"mask_{mh}x{mw}_{ratio}.u8"
            m.astype(np.uint8).tofile(os.path.join(OUT, fname))
        masks.append(f"{mh} {mw} {ratio!r} {int(m.sum())} {fname}")
    with open(os.path.join(OUT, "masks.txt"), "w") as fh:
        fh.write("# H W RATIO INSIDE BITMAP (make_clipnorm_fixtures.py)\n")
        fh.write("\n".join(masks) + "\n")

    # Streams whose headers carry per-frame extrema (h5slice --extrema):
    # right ones, one frame's maximum off, a list a value short, one a
    # value long, and a value that is not a number.  Otherwise they hold
    # vol.tns and nan.tns, with the same other keys.
    def ext(a):
        return " ".join("nan" if np.isnan(v) else f"{v:.9g}" for v in a)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # the all-NaN frame
        vmin, vmax = np.nanmin(vol, axis=(1, 2)), np.nanmax(vol, axis=(1, 2))
        nmin, nmax = np.nanmin(nan, axis=(1, 2)), np.nanmax(nan, axis=(1, 2))
    src = ("source", "make_clipnorm_fixtures.py")
    write_tns(os.path.join(OUT, "extrema.tns"), vol,
              [src, ("extrema.min", ext(vmin)), ("extrema.max", ext(vmax))])
    write_tns(os.path.join(OUT, "extrema_nan.tns"), nan,
              [("extrema.min", ext(nmin)), ("extrema.max", ext(nmax))])
    stale = vmax.copy()
    stale[7] = np.float32(stale[7] * 2)
    write_tns(os.path.join(OUT, "extrema_stale.tns"), vol,
              [src, ("extrema.min", ext(vmin)), ("extrema.max", ext(stale))])
    write_tns(os.path.join(OUT, "extrema_short.tns"), vol,
              [src, ("extrema.min", ext(vmin[:-1])), ("extrema.max", ext(vmax[:-1]))])
    write_tns(os.path.join(OUT, "extrema_long.tns"), vol,
              [src, ("extrema.min", ext(vmin) + " 0"), ("extrema.max", ext(vmax) + " 1")])
    write_tns(os.path.join(OUT, "extrema_bad.tns"), vol,
              [src, ("extrema.min", ext(vmin).replace(" ", " x ", 1)), ("extrema.max", ext(vmax))])


if __name__ == "__main__":
    main()
