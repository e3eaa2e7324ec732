#!/usr/bin/python3
"""Expected output of the data-preparation recipe of seed 000 (section 5.1)
on real CT slices, computed independently with NumPy and Pillow:

  imread ct-luad-png16/*.png | tscut 10:20 | clipnorm | resize 64 | imwrite

Slices 10..19 (in file-name order) of ../shared/data/ct-luad-png16
(TCGA-LUAD via TCIA, CC BY 3.0, doi:10.7937/K9/TCIA.2016.JGNIHEP5).
Clipping bounds: the 1st percentile of the per-slice minima and the 99th
percentile of the per-slice maxima (NumPy's default 'linear' percentile),
then (x - lo) / (hi - lo) clipped to [0, 1]; downscaling 512 -> 64 with
Pillow's antialiased bicubic on mode 'F'; 8-bit pixels floor(255 v + 0.5).

Writes tests/fixtures/pipeline/ct64.f32 (10 x 64 x 64 float32, little
endian), ct64_u8.raw (the 8-bit pixels) and bounds.txt.
usage: make_pipeline_fixtures.py [SHARED_DIR]
"""
import os
import sys

import numpy as np
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', '..', 'shared')
src = os.path.join(shared, 'data', 'ct-luad-png16')
names = sorted(f for f in os.listdir(src) if f.endswith('.png'))[10:20]
vol = np.stack([np.asarray(Image.open(os.path.join(src, n)), dtype=np.float64) for n in names])
lo = np.percentile(vol.min(axis=(1, 2)), 1)
hi = np.percentile(vol.max(axis=(1, 2)), 99)
norm = np.clip((vol - lo) / (hi - lo), 0, 1).astype(np.float32)
out = np.stack([np.asarray(Image.fromarray(f, mode='F').resize((64, 64), Image.BICUBIC),
                           dtype=np.float32) for f in norm])
dst = os.path.join(here, 'fixtures', 'pipeline')
os.makedirs(dst, exist_ok=True)
out.astype('<f4').tofile(os.path.join(dst, 'ct64.f32'))
u8 = np.floor(np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
u8.tofile(os.path.join(dst, 'ct64_u8.raw'))
with open(os.path.join(dst, 'bounds.txt'), 'w') as f:
    f.write('%.17g %.17g\n' % (lo, hi))
