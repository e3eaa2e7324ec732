#!/usr/bin/python3
"""Cut the T91 images into square tiles of their BT.601 luma for
bench_srcnn_quality.sh.

    srcnn_t91_tiles.py T91_DIR SIDE TRAIN.tif TEST.tif

Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 (R, G, B in 0..255), the
luma of super-resolution papers, kept as float and divided by 255 so that
the tiles are float32 in [0, 1].  Every image gives its non-overlapping
SIDE x SIDE tiles from the top left corner.  Of the 91 files in name
order, every tenth (the 10th, 20th, ..., 90th) goes to TEST, the other 82
to TRAIN; both are multi-page float32
TIFF files that imread(1) reads as one stream.
"""
import os
import sys

import numpy as np
from PIL import Image


def main():
    src, side, train_out, test_out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    names = sorted(f for f in os.listdir(src) if f.endswith('.png'))
    train, test = [], []
    for i, name in enumerate(names):
        rgb = np.asarray(Image.open(os.path.join(src, name)).convert('RGB'), dtype=np.float64)
        y = (16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0) / 255.0
        dest = test if i % 10 == 9 else train
        for r in range(0, y.shape[0] - side + 1, side):
            for c in range(0, y.shape[1] - side + 1, side):
                dest.append(Image.fromarray(y[r:r + side, c:c + side].astype(np.float32), mode='F'))
    for pages, out in ((train, train_out), (test, test_out)):
        pages[0].save(out, save_all=True, append_images=pages[1:])
    print(f'{len(train)} training tiles, {len(test)} test tiles of {side}x{side}', file=sys.stderr)


if __name__ == '__main__':
    main()
