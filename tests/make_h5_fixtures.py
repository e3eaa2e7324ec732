#!/usr/bin/python3
"""Makes the HDF5 fixtures of h5slice's tests (tests/fixtures/h5/).

Run from the repository root with Debian's python3 (h5py, numpy):

    /usr/bin/python3 tests/make_h5_fixtures.py [SHARED]

small.h5 is a DataExchange-like file with chunked, compressed and
differently typed datasets plus the awkward kinds h5slice must refuse;
flat.h5 holds the same white and dark fields under other names.  The
expected outputs are raw little-endian float32 (*.raw) or the stream type
(*.keep) in C order, frame after frame, as h5py reads them; flat/dark and
minus-log results are computed in float64 and cast to float32, with the
guards h5slice documents (denominator at least 1e-6, -ln(max(t, 1e-6))).

With SHARED (the folder holding data/tooth.h5) it also writes small
extracts of the real tooth.h5 results: selected frames and rows, and the
float64 sum of every output frame.
"""
import os
import sys

import h5py
import numpy as np

OUT = os.path.join("tests", "fixtures", "h5")
FLAT_EPS = 1e-6
LOG_EPS = 1e-6


def raw(name, a, dtype="<f4"):
    with np.errstate(over="ignore"):  # types_f64 holds 1e39 on purpose
        np.ascontiguousarray(a).astype(dtype).tofile(os.path.join(OUT, name))


def frames(a, axis):
    """Slices of a 3-D array along axis, as h5slice orders them."""
    return np.moveaxis(a, axis, 0)


def flat_dark(data, white, dark, axis):
    d = dark.astype(np.float64).mean(axis=0)
    den = white.astype(np.float64).mean(axis=0) - d
    den = np.where(den >= FLAT_EPS, den, FLAT_EPS)
    t = (data.astype(np.float64) - d) / den
    return frames(t, axis)


def minus_log(t):
    t = np.where(t > LOG_EPS, t, LOG_EPS)  # NaN too: NaN > eps is False
    return -np.log(t)


def vlen_str():
    return h5py.string_dtype("utf-8")


def small():
    rng = np.random.default_rng(20240611)
    shape = (6, 5, 7)
    dark = rng.integers(90, 110, size=(2, 5, 7)).astype(np.uint16)
    white = (2000 + 100 * rng.standard_normal((3, 5, 7))).astype(np.float32)
    data = (100 + 1900 * rng.random(shape)).astype(np.float32)
    # pixel (0,0): white equal to dark (zero denominator, clamped to 1e-6)
    white[:, 0, 0] = 100.0
    dark[:, 0, 0] = 100
    # pixel (4,6): white below dark (negative denominator, clamped too)
    white[:, 4, 6] = 50.0
    # data below dark: negative transmission, clamped by minus-log
    data[2, 1, 1] = 10.0
    data[3, 2, 5] = 0.0
    theta = np.linspace(0, 180, 6, endpoint=False) + 0.1

    with h5py.File(os.path.join(OUT, "small.h5"), "w") as f:
        f.attrs["implements"] = "exchange:measurement"  # variable-length string
        ex = f.create_group("exchange")
        d = ex.create_dataset("data", data=data, chunks=(2, 3, 4), compression="gzip",
                              compression_opts=4, shuffle=True)
        d.attrs["axes"] = "theta:y:x"
        ex.create_dataset("data_white", data=white)
        ex.create_dataset("data_dark", data=dark, chunks=(1, 5, 7))
        t = ex.create_dataset("theta", data=theta)
        t.attrs["units"] = "degrees"
        ex.create_dataset("title", data="small test volume", dtype=vlen_str())

        ty = f.create_group("types")
        u8 = rng.integers(0, 256, size=(3, 4, 5)).astype(np.uint8)
        u16 = rng.integers(0, 65536, size=(3, 4, 5)).astype(">u2")
        i16 = rng.integers(-32768, 32768, size=(3, 4, 5)).astype(np.int16)
        i32 = rng.integers(-2**31, 2**31, size=(3, 4, 5)).astype(">i4")
        i32.flat[:4] = [16777217, -16777219, 2**31 - 1, -2**31]  # not exact in f32
        u32 = rng.integers(0, 2**32, size=(3, 4, 5), dtype=np.uint64).astype(np.uint32)
        f64 = rng.standard_normal((3, 4, 5)) * 1e3
        f64.flat[:3] = [1e39, -1e-50, np.pi]  # overflow to inf, underflow to -0
        i8 = rng.integers(-128, 128, size=(3, 4, 5)).astype(np.int8)
        f16 = (rng.standard_normal((3, 4, 5)) * 100).astype(np.float16)
        f16.flat[:2] = [np.inf, 6e-8]  # infinity and a subnormal
        img2d = rng.standard_normal((4, 5)).astype(np.float32)
        ty.create_dataset("u8", data=u8)
        ty.create_dataset("u16be", data=u16)
        ty.create_dataset("i16", data=i16, chunks=(3, 1, 5), compression="gzip")
        ty.create_dataset("i32be", data=i32)
        ty.create_dataset("u32", data=u32)
        ty.create_dataset("f64", data=f64, chunks=(1, 4, 5), compression="gzip", shuffle=True)
        ty.create_dataset("i8", data=i8)
        ty.create_dataset("f16", data=f16)
        ty.create_dataset("img2d", data=img2d, chunks=(2, 2))

        bad = f.create_group("bad")
        bad.create_dataset("string", data=["a", "bc", "def"], dtype=vlen_str())
        bad.create_dataset("fixed", data=np.array([[b"ab", b"cd"], [b"ef", b"gh"]], dtype="S2"))
        bad.create_dataset("compound", data=np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
        bad.create_dataset("vector", data=np.arange(5, dtype=np.float32))
        bad.create_dataset("rank4", data=np.zeros((2, 2, 2, 2), dtype=np.float32))
        bad.create_dataset("scalar", data=np.float32(1.5))
        bad.create_dataset("lzf", data=np.ones((3, 4, 5), np.float32), compression="lzf")
        bad.create_dataset("bool", data=np.zeros((3, 4, 5), dtype=bool))
        bad.create_dataset("empty", data=np.zeros((0, 4, 5), dtype=np.float32))
        mis = f.create_group("mismatch")
        mis.create_dataset("white", data=np.ones((2, 5, 6), np.float32))

    with h5py.File(os.path.join(OUT, "flat.h5"), "w") as f:
        f.create_dataset("white", data=white)
        f.create_dataset("dark", data=dark.mean(axis=0))  # a 2-D dark used as is

    # a compressed dataset whose second chunk is garbage: read errors
    path = os.path.join(OUT, "corrupt.h5")
    with h5py.File(path, "w") as f:
        d = f.create_dataset("data", data=np.arange(24, dtype=np.float32).reshape(2, 3, 4),
                             chunks=(1, 3, 4), compression="gzip")
        info = d.id.get_chunk_info(1)
        offset, size = info.byte_offset, info.size
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\xff" * size)

    for axis in range(3):
        raw("data_a%d.raw" % axis, frames(data, axis))
        t = flat_dark(data, white, dark, axis)
        raw("fd_a%d.raw" % axis, t)
        raw("fdml_a%d.raw" % axis, minus_log(t))
    raw("ml_a0.raw", minus_log(data.astype(np.float64)))
    for name, a in (("u8", u8), ("u16be", u16), ("i16", i16), ("i32be", i32),
                    ("u32", u32), ("f64", f64), ("i8", i8), ("f16", f16)):
        raw("types_%s.raw" % name, a.astype(np.float64).astype(np.float32)
            if name != "f64" else a)
    raw("types_u8.keep", u8, "u1")
    raw("types_u16be.keep", u16, "<u2")
    raw("types_i16.keep", i16, "<i2")
    img3 = img2d[np.newaxis]
    for axis in range(3):
        raw("img2d_a%d.raw" % axis, frames(img3, axis))

    # theta strings for some --range values, as h5slice formats them
    with open(os.path.join(OUT, "theta.txt"), "w") as f:
        for spec, sel in (("", slice(None)), ("1::2", slice(1, None, 2)),
                          ("::-2", slice(None, None, -2)), ("-2:", slice(-2, None)),
                          ("3", slice(3, 4))):
            f.write("%s\t%s\n" % (spec, " ".join("%.9g" % v for v in theta[sel])))


def tooth(shared):
    path = os.path.join(shared, "data", "tooth.h5")
    with h5py.File(path, "r") as f:
        data = f["exchange/data"][...]
        white = f["exchange/data_white"][...]
        dark = f["exchange/data_dark"][...]
        theta = f["exchange/theta"][...]
    modes = {}
    for axis in (0, 1):
        modes["a%d" % axis] = frames(data, axis).astype(np.float32)
        t = flat_dark(data, white, dark, axis)
        modes["a%d_fd" % axis] = t.astype(np.float32)
        modes["a%d_fdml" % axis] = minus_log(t).astype(np.float32)
    # whole frames 0, 90, 180 along axis 0; rows 0, 90, 180 of both sinograms
    for m in ("a0", "a0_fdml"):
        raw("tooth_%s.raw" % m, modes[m][[0, 90, 180]])
    for m in ("a1", "a1_fdml"):
        raw("tooth_%s.raw" % m, modes[m][:, [0, 90, 180], :])
    with open(os.path.join(OUT, "tooth_sums.txt"), "w") as f:
        f.write("# mode frame sum: float64 sum of each float32 output frame of tooth.h5\n")
        for m in sorted(modes):
            for i, fr in enumerate(modes[m]):
                f.write("%s %d %.17g\n" % (m, i, fr.astype(np.float64).sum()))
    with open(os.path.join(OUT, "tooth_theta.txt"), "w") as f:
        f.write(" ".join("%.9g" % v for v in theta) + "\n")


def ext(a):
    """Per-frame extrema as h5slice --extrema writes them."""
    out = []
    for f in a:
        ok = ~np.isnan(f)
        out.append(("nan", "nan") if not ok.any() else
                   ("%.9g" % f[ok].min(), "%.9g" % f[ok].max()))
    return " ".join(m for m, _ in out), " ".join(x for _, x in out)


def mapped():
    """raw.h5: the same 4x5x7 float32 volume (NaN in frame 1, frame 3 all
    NaN) in layouts h5slice --extrema maps (contiguous, chunks of one
    slice) and in layouts it reads (compressed, big-endian, chunks not all
    written); raw_ub.h5: contiguous after a 512-byte user block;
    raw_extrema.txt: NAME, ARGS ("-": none), extrema.min, extrema.max,
    tab-separated."""
    rng = np.random.default_rng(20261207)
    vol = rng.uniform(-2.0, 5.0, (4, 5, 7)).astype(np.float32)
    vol[1, 2, 3] = np.nan
    vol[3] = np.nan
    with h5py.File(os.path.join(OUT, "raw.h5"), "w") as f:
        f.create_dataset("contig", data=vol)
        f.create_dataset("chunked", data=vol, chunks=(1, 5, 7))
        f.create_dataset("deflate", data=vol, chunks=(1, 5, 7), compression="gzip")
        f.create_dataset("big", data=vol.astype(">f4"))
        part = f.create_dataset("partial", shape=vol.shape, dtype="<f4", chunks=(1, 5, 7))
        part[0] = vol[0]
        part[2] = vol[2]
        f.create_dataset("img", data=vol[0])
    with h5py.File(os.path.join(OUT, "raw_ub.h5"), "w", userblock_size=512) as f:
        f.create_dataset("contig", data=vol)
    partial = np.zeros_like(vol)
    partial[0], partial[2] = vol[0], vol[2]
    rows = [("contig", "-", vol), ("chunked", "-", vol), ("deflate", "-", vol), ("big", "-", vol),
            ("partial", "-", partial), ("img", "-", vol[:1]),
            ("contig", "--range 3:0:-1", vol[3:0:-1]), ("contig", "--axis 1", frames(vol, 1)),
            ("chunked", "--range 1::2", vol[1::2])]
    with open(os.path.join(OUT, "raw_extrema.txt"), "w") as fh:
        for name, args, a in rows:
            fh.write("\t".join((name, args) + ext(a)) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    small()
    mapped()
    if len(sys.argv) > 1:
        tooth(sys.argv[1])


if __name__ == "__main__":
    main()
