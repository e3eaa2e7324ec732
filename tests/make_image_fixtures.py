#!/usr/bin/python3
"""Writes the image fixtures of imread and imwrite into tests/fixtures/img/.

Images are written by libraries independent of ours (Pillow, tifffile,
OpenCV, and a few lines of zlib for PNG kinds none of them writes), and the
expected pixel values are computed here: Pillow's own conversions where
Pillow defines the result (mode "L" luma, 1- and 2-bit grey, palettes),
numpy for the documented formulas (BT.601, 16-bit luma, crops, resizes,
the imwrite mapping).  Expected values are raw little-endian float32
(.f32), row-major, frame after frame, so a test can compare them with
`imwrite -p x%d.raw` output byte for byte, or number by number with a
tolerance.  A few numbers for the real CT slices (which are not committed)
go to ct-luad-png16.txt when the data is present.

Run from the repository root:  /usr/bin/python3 tests/make_image_fixtures.py
"""
import os
import struct
import sys
import zlib

import cv2
import numpy as np
import tifffile
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "img")
W, H = 17, 13            # a shape whose sides are not multiples of anything
rng = np.random.default_rng(20240611)


def path(name):
    return os.path.join(OUT, name)


def expect(name, *frames):
    """Expected values, float32 little-endian, frames concatenated."""
    data = np.concatenate([np.asarray(f, dtype=np.float64).astype("<f4").ravel() for f in frames])
    data.tofile(path(name))


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def write_png_gray_lowbit(name, values, bits):
    """A grey PNG of 1, 2 or 4 bits per pixel, written by hand (Pillow and
    OpenCV write only 1, 8 or 16)."""
    h, w = values.shape
    per_byte = 8 // bits
    raw = b""
    for row in values:
        packed = bytearray((w + per_byte - 1) // per_byte)
        for x, v in enumerate(row):
            packed[x // per_byte] |= int(v) << (8 - bits * (x % per_byte + 1))
        raw += b"\x00" + bytes(packed)
    ihdr = struct.pack(">IIBBBBB", w, h, bits, 0, 0, 0, 0)
    with open(path(name), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
                png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def write_png_interlaced(name, values):
    """An 8-bit grey Adam7-interlaced PNG, written by hand (Pillow and
    OpenCV do not interlace)."""
    h, w = values.shape
    raw = b""
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
                           (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
        sub = values[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\x00" + row.astype(np.uint8).tobytes() for row in sub)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 1)
    with open(path(name), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
                png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def luma16(rgb):
    """The 16-bit luma imread documents: Pillow's fixed-point weights."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return (19595 * r + 38470 * g + 7471 * b + 32768) >> 16


def bt601(rgb, scale=1.0):
    """Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 on the 0..255
    scale; 16-bit data: 257 times that of R/257, G/257, B/257."""
    r, g, b = (rgb[..., i].astype(np.float64) / scale for i in range(3))
    return scale * (16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255)


def nearest(img, ow, oh):
    """Pixel-centre nearest neighbour: x_in = floor((x + 0.5) * w / ow)."""
    h, w = img.shape
    xs = ((2 * np.arange(ow) + 1) * w) // (2 * ow)
    ys = ((2 * np.arange(oh) + 1) * h) // (2 * oh)
    return img[ys][:, xs]


def bilinear(img, ow, oh):
    """Half-pixel bilinear without antialiasing, edge samples clamped."""
    h, w = img.shape
    img = img.astype(np.float64)

    def axis(n_in, n_out):
        s = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
        s = np.clip(s, 0, n_in - 1)
        i0 = np.floor(s).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, s - i0

    x0, x1, fx = axis(w, ow)
    y0, y1, fy = axis(h, oh)
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bot = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy[:, None]) + bot * fy[:, None]


def to_pixels(x, lo, hi, bits):
    """imwrite's mapping: floor(clamp((x-lo)/(hi-lo), 0, 1) * max + 0.5)."""
    m = 255 if bits == 8 else 65535
    t = (np.asarray(x, np.float64) - lo) / (hi - lo)
    t = np.where(np.isnan(t), 0, np.clip(t, 0, 1))
    return np.floor(t * m + 0.5)


def pngs():
    g8 = rng.integers(0, 256, (H, W), dtype=np.uint8)
    g8[0, 0], g8[0, 1] = 0, 255
    Image.fromarray(g8, "L").save(path("g8.png"))
    expect("g8.f32", g8)
    write_png_interlaced("g8_interlaced.png", g8)
    assert (np.asarray(Image.open(path("g8_interlaced.png"))) == g8).all()

    g16 = rng.integers(0, 65536, (H, W), dtype=np.uint16)
    g16[0, 0], g16[0, 1] = 0, 65535
    Image.fromarray(g16, "I;16").save(path("g16.png"))
    back = np.asarray(Image.open(path("g16.png")))
    assert (back == g16).all()
    expect("g16.f32", g16)

    # a different shape, for the shape checks, --crop and --resize
    big = rng.integers(0, 65536, (15, 20), dtype=np.uint16)
    Image.fromarray(big, "I;16").save(path("g16_20x15.png"))
    expect("g16_crop9x7.f32", g16[3:10, 4:13])  # (13-7)//2, (17-9)//2
    expect("g16_20x15_crop17x13.f32", big[1:14, 1:18])
    near = nearest(big, W, H)
    pil = np.asarray(Image.open(path("g16_20x15.png")).resize((W, H), Image.NEAREST))
    assert (near == pil).all(), "nearest formula differs from Pillow NEAREST"
    expect("g16_20x15_nearest17x13.f32", near)
    bil = bilinear(big, W, H)
    cv = cv2.resize(big.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR)
    assert np.abs(cv - bil).max() <= 1e-4 * 65535, "bilinear formula differs from OpenCV"
    expect("g16_20x15_bilinear17x13.f32", bil)
    # enlarging too: 17x13 to 30x20
    up = bilinear(g8, 30, 20)
    cv = cv2.resize(g8.astype(np.float32), (30, 20), interpolation=cv2.INTER_LINEAR)
    assert np.abs(cv - up).max() <= 1e-3, "bilinear formula differs from OpenCV"
    expect("g8_bilinear30x20.f32", up)
    expect("g8_nearest30x20.f32", nearest(g8, 30, 20))

    # 1-bit (Pillow mode "1") and 2-bit grey: Pillow scales to 0..255
    g1 = rng.integers(0, 2, (H, W), dtype=np.uint8)
    Image.fromarray(g1 * 255, "L").convert("1").save(path("g1.png"))
    expect("g1.f32", np.asarray(Image.open(path("g1.png")).convert("L")))
    g2 = rng.integers(0, 4, (H, W), dtype=np.uint8)
    write_png_gray_lowbit("g2.png", g2, 2)
    pil = np.asarray(Image.open(path("g2.png")).convert("L"))
    assert (pil == g2 * 85).all()
    expect("g2.f32", pil)

    la = np.stack([g8, rng.integers(0, 256, (H, W), dtype=np.uint8)], -1)
    Image.fromarray(la, "LA").save(path("la.png"))
    expect("la.f32", np.asarray(Image.open(path("la.png")).convert("L")))

    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    rgb[0, 0], rgb[0, 1], rgb[0, 2] = (255, 255, 255), (0, 0, 0), (255, 0, 0)
    # rows 1 and 2: colours where the rounding rule shows, i.e. exact ties of
    # Pillow's fixed point, and colours where rounding 299/587/114 per mille
    # to nearest gives another answer than Pillow
    c = np.stack(np.meshgrid(np.arange(256), np.arange(256), np.arange(256), indexing="ij"), -1).reshape(-1, 3)
    fixed = 19595 * c[:, 0] + 38470 * c[:, 1] + 7471 * c[:, 2]
    ties = c[fixed % 65536 == 32768]
    permille = (299 * c[:, 0] + 587 * c[:, 1] + 114 * c[:, 2] + 500) // 1000
    other = c[permille != (fixed + 32768) >> 16]
    rgb[1] = ties[rng.choice(len(ties), W, replace=False)]
    rgb[2] = other[rng.choice(len(other), W, replace=False)]
    Image.fromarray(rgb, "RGB").save(path("rgb.png"))
    expect("rgb_luma.f32", np.asarray(Image.open(path("rgb.png")).convert("L")))
    assert (np.asarray(Image.open(path("rgb.png")).convert("L")) == luma16(rgb)).all()
    expect("rgb_bt601.f32", bt601(rgb))

    rgba = np.concatenate([rgb, rng.integers(0, 256, (H, W, 1), dtype=np.uint8)], -1)
    Image.fromarray(rgba, "RGBA").save(path("rgba.png"))
    expect("rgba_luma.f32", np.asarray(Image.open(path("rgba.png")).convert("L")))

    pal = Image.fromarray(rng.integers(0, 16, (H, W), dtype=np.uint8), "P")
    pal.putpalette(list(rng.integers(0, 256, 16 * 3, dtype=np.uint8)))
    pal.save(path("pal.png"))
    expect("pal_luma.f32", np.asarray(Image.open(path("pal.png")).convert("L")))
    pal.info["transparency"] = 3
    pal.save(path("pal_trns.png"), transparency=3)
    expect("pal_trns_luma.f32", np.asarray(Image.open(path("pal_trns.png")).convert("RGB").convert("L")))

    palg = Image.fromarray(rng.integers(0, 8, (H, W), dtype=np.uint8), "P")
    palg.putpalette([v for i in range(8) for v in (i * 36,) * 3])
    palg.save(path("pal_gray.png"))
    expect("pal_gray.f32", np.asarray(Image.open(path("pal_gray.png")).convert("L")))

    rgb16 = rng.integers(0, 65536, (H, W, 3), dtype=np.uint16)
    rgb16[0, 0], rgb16[0, 1] = (65535, 65535, 65535), (0, 0, 0)
    c = rng.integers(0, 65536, (3 << 20, 3), dtype=np.int64)   # row 1: exact ties
    ties = c[(19595 * c[:, 0] + 38470 * c[:, 1] + 7471 * c[:, 2]) % 65536 == 32768]
    rgb16[1] = ties[:W]
    assert cv2.imwrite(path("rgb16.png"), rgb16[..., ::-1])  # OpenCV wants BGR
    back = cv2.imread(path("rgb16.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert (back == rgb16).all()
    expect("rgb16_luma.f32", luma16(rgb16))
    expect("rgb16_bt601.f32", bt601(rgb16, 257.0))
    return g8, g16


def tiffs(g16):
    kinds = {
        "u8": rng.integers(0, 256, (H, W), dtype=np.uint8),
        "i8": rng.integers(-128, 128, (H, W), dtype=np.int8),
        "u16": rng.integers(0, 65536, (H, W), dtype=np.uint16),
        "i16": rng.integers(-32768, 32768, (H, W), dtype=np.int16),
        "u32": rng.integers(0, 2**32, (H, W), dtype=np.uint32),
        "i32": rng.integers(-2**31, 2**31, (H, W), dtype=np.int32),
        "f16": rng.normal(0, 100, (H, W)).astype(np.float16),
        "f32": rng.normal(0, 1000, (H, W)).astype(np.float32),
        "f64": rng.normal(0, 1e6, (H, W)),
    }
    kinds["i16"][0, :2] = (-32768, 32767)
    kinds["f64"][0, 0] = 1 / 3  # rounds to float32
    for k, a in kinds.items():
        tifffile.imwrite(path("t_%s.tif" % k), a, photometric="minisblack")
        expect("t_%s.f32" % k, a.astype(np.float32))

    u16 = kinds["u16"]
    tifffile.imwrite(path("t_u16_be_zlib.tif"), u16, byteorder=">", compression="zlib", predictor=True)
    tifffile.imwrite(path("t_u16_tiled.tif"), u16, tile=(16, 16))
    tifffile.imwrite(path("t_u16_strips.tif"), u16, rowsperstrip=4)
    Image.fromarray(kinds["u8"], "L").save(path("t_u8_lzw.tif"), compression="tiff_lzw")

    pages = [rng.integers(0, 65536, (H, W), dtype=np.uint16) for _ in range(3)]
    with tifffile.TiffWriter(path("t_multi.tif")) as tw:
        for p in pages:
            tw.write(p, photometric="minisblack", contiguous=False)
    expect("t_multi.f32", *pages)
    # a full page followed by its reduced version: one frame
    with tifffile.TiffWriter(path("t_reduced.tif")) as tw:
        tw.write(pages[0], photometric="minisblack")
        tw.write(pages[0][::2, ::2], photometric="minisblack", subfiletype=1)
    expect("t_reduced.f32", pages[0])
    with tifffile.TiffWriter(path("t_shapes.tif")) as tw:
        tw.write(pages[0], photometric="minisblack", contiguous=False)
        tw.write(pages[1][:, :9], photometric="minisblack", contiguous=False)

    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    tifffile.imwrite(path("t_rgb.tif"), rgb, photometric="rgb")
    tifffile.imwrite(path("t_rgb_planar.tif"), rgb.transpose(2, 0, 1), photometric="rgb",
                     planarconfig="separate")
    expect("t_rgb_luma.f32", np.asarray(Image.fromarray(rgb, "RGB").convert("L")))
    # a private tag libtiff does not know: it warns once
    tifffile.imwrite(path("t_u8_unknown_tag.tif"), kinds["u8"], extratags=[(65000, "s", 0, "hello", True)])
    tifffile.imwrite(path("t_u8_miniswhite.tif"), kinds["u8"], photometric="miniswhite")
    expect("t_u8_miniswhite.f32", 255 - kinds["u8"].astype(np.int64))

    # imwrite's mapping of float data, from t_f32.tif (read as f32, no range)
    f32 = kinds["f32"]
    expect("map_g16_8.f32", to_pixels(g16, 0, 65535, 8))
    expect("map_f32_m500_500_8.f32", to_pixels(f32, -500, 500, 8))
    expect("map_f32_minmax_16.f32", to_pixels(f32, f32.min(), f32.max(), 16))
    # a grid of the three pages of t_multi.tif: 2 columns, pad 1 of white
    cols, pad = 2, 1
    grid = np.full((2 * (H + pad) + pad, cols * (W + pad) + pad), 65535.0)
    for k, p in enumerate(pages):
        y, x = pad + (k // cols) * (H + pad), pad + (k % cols) * (W + pad)
        grid[y:y + H, x:x + W] = p
    expect("grid_multi_2x1.f32", grid)
    with open(path("grid_multi_2x1.txt"), "w") as f:
        f.write("%d %d\n" % (grid.shape[1], grid.shape[0]))


def bad_files(g16):
    with open(path("notimage.png"), "w") as f:
        f.write("this is text, not an image\n")
    open(path("empty.png"), "w").close()
    with open(path("g16.png"), "rb") as f:
        data = f.read()
    with open(path("trunc.png"), "wb") as f:
        f.write(data[:len(data) // 2])
    # a TIFF header pointing at an IFD beyond the end of the file
    with open(path("bad.tif"), "wb") as f:
        f.write(b"II*\x00" + struct.pack("<I", 1 << 20) + b"\x00" * 8)
    # a TIFF whose strip data is cut off
    with open(path("t_u16.tif"), "rb") as f:
        data = f.read()
    with open(path("trunc.tif"), "wb") as f:
        f.write(data[:200])


def real_data():
    """Numbers for tests on the real CT slices, when they are present."""
    shared = os.environ.get("SHARED") or os.path.join(os.path.dirname(OUT), "..", "..", "..", "shared")
    d = os.path.join(shared, "data", "ct-luad-png16")
    if not os.path.isdir(d):
        print("no %s: ct-luad-png16.txt not written" % d, file=sys.stderr)
        return
    names = sorted(n for n in os.listdir(d) if n.endswith(".png"))
    with open(path("ct-luad-png16.txt"), "w") as f:
        f.write("# index name sum p[256,256] p[100,400] p[300,100] p[400,256]  (p[y,x], Pillow)\n")
        f.write("count %d\n" % len(names))
        for i in (0, 37, len(names) - 1):
            a = np.asarray(Image.open(os.path.join(d, names[i]))).astype(np.int64)
            assert a.shape == (512, 512)
            f.write("%d %s %d %d %d %d %d\n" % (i, names[i], a.sum(), a[256, 256], a[100, 400], a[300, 100], a[400, 256]))


def main():
    os.makedirs(OUT, exist_ok=True)
    g8, g16 = pngs()
    tiffs(g16)
    bad_files(g16)
    real_data()
    total = sum(os.path.getsize(path(n)) for n in os.listdir(OUT))
    print("%d files, %d bytes in %s" % (len(os.listdir(OUT)), total, OUT))


if __name__ == "__main__":
    main()
