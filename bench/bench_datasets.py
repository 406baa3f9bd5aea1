"""An uploaded zip of 10,000 small images: seconds from its bytes to ready to train.

Goal (issue 15): a 20 MB zip of 10,000 small images is ready to train in under 10 s: read from
the upload's bytes, checked (declared sizes, names, each image's header), decoded and resized to
the design's input (``builder.datasets.load_upload``), then split with the seed and standardized
(``builder.datasets.Split``), and its first batch resized to the design's input.

The images are noise (so PNG cannot compress them much), in 10 class folders; their side is
chosen so the zip is about 20 MB. Run ``python bench/bench_datasets.py`` (about a minute:
writing the zip takes longer than reading it). ``--images`` and ``--side`` change the set;
``--shape`` the design's input (default the article's LeNet, 3×32×32, so images are read in
colour and resized).


Measured (2-core shared machine, Pillow 13, torch CPU, load average 3.5-4.7 from other jobs):
10,000 PNG images of 43×43 in a 20.8 MB zip, read at the article's 3×32×32: loaded in
1.8-4.4 s, ready to train (split, standardized, first batch) in 2.1-4.8 s over 5 runs.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from builder.datasets import Split, load_upload


def make_zip(images: int, side: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNG is compressed
        for k in range(images):
            pixels = rng.integers(0, 256, (side, side), dtype=np.uint8)
            png = io.BytesIO()
            Image.fromarray(pixels).save(png, format="PNG", compress_level=1)
            archive.writestr(f"set/class_{k % 10}/{k:05}.png", png.getvalue())
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--side", type=int, default=43)
    parser.add_argument("--shape", type=int, nargs="+", default=[3, 32, 32])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    began = time.perf_counter()
    data = make_zip(args.images, args.side)
    print(
        f"zip: {args.images:,} PNG images of {args.side}×{args.side} grey noise, "
        f"{len(data) / 1e6:.1f} MB (written in {time.perf_counter() - began:.1f} s)"
    )
    for run in range(args.repeat):
        start = time.perf_counter()
        dataset = load_upload("images.zip", data, args.shape)
        loaded = time.perf_counter()
        split = Split(dataset, args.shape, seed=0, test_fraction=0.25)
        x, _ = split.batch(split.train_idx[:16])
        ready = time.perf_counter()
        print(
            f"run {run + 1}: loaded {dataset.describe()} in {loaded - start:.2f} s; split, "
            f"standardized, first batch {tuple(x.shape)}: ready in {ready - start:.2f} s "
            f"(goal < 10 s)"
        )


if __name__ == "__main__":
    main()
