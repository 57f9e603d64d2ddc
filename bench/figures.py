"""Benchmark: re-encode screenshot-like images as the composer's "attach a figure" step does.

    .venv/bin/python bench/figures.py [--rounds 5]

Per case: a synthetic screenshot (coloured bars and text on a light background) in its format
goes through forum.figures.images.reencode; prints input and output size and the median time,
then the process's peak memory (the largest case dominates it).
"""

import argparse
import io
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw  # noqa: E402

from forum.figures.images import reencode  # noqa: E402

CASES = [
    ("PNG 1920x1080", 1920, 1080, "PNG", {}),
    ("PNG 1170x2532 (phone)", 1170, 2532, "PNG", {}),
    ("WebP 1920x1080 lossy", 1920, 1080, "WEBP", {"quality": 80}),
    ("JPEG 4032x3024 (12 MP photo)", 4032, 3024, "JPEG", {"quality": 92}),
    ("PNG 7680x5200 (39.9 MP, at the limit)", 7680, 5200, "PNG", {}),
]


def screenshot(width: int, height: int, fmt: str, **save) -> bytes:
    random.seed(1)
    image = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    for _ in range(width * height // 4000):
        x, y = random.randrange(width), random.randrange(height)
        draw.rectangle([x, y, x + random.randrange(5, 120), y + random.randrange(3, 14)],
                       fill=tuple(random.randrange(256) for _ in range(3)))
        draw.text((x, y + 16), "Rakuten login https://example.test/", fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for name, width, height, fmt, save in CASES:
        data = screenshot(width, height, fmt, **save)
        times = []
        for _ in range(args.rounds if width * height < 20_000_000 else max(1, args.rounds // 2)):
            start = time.perf_counter()
            result = reencode(data)
            times.append(time.perf_counter() - start)
        print(f"{name}: in {len(data) / 1e6:.2f} MB, out {len(result.data) / 1e6:.2f} MB, "
              f"median {statistics.median(times) * 1000:.0f} ms")
    print(f"peak memory of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
