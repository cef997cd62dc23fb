"""Time the napari reader on an AFM map: open (headers) and the height-at-setpoint image.

Usage: ``python benchmarks/bench_napari_open.py [MAP ...]`` (default: a 64x64 synthetic map
with 1000-point approach and retract and a measured height, written to a temporary folder).
Prints the best of three wall-clock times per step in seconds.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from napari_cellmech._afm import approach_end_height
from napari_cellmech._reader import get_reader

from cellmech.io import read_force_map
from cellmech.synthetic import SampleOptions, make_sample_data


def best_of(n, func):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(paths: list[str]) -> None:
    if not paths:
        tmp = Path(tempfile.mkdtemp())
        options = SampleOptions(
            seed=3,
            grid_shape=(64, 64),
            approach_points=1000,
            retract_points=1000,
            measured_height=True,
        )
        paths = [str(make_sample_data(tmp, options)["force_map"])]
    print(f"{'file':<40} {'curves':>7} {'open_s':>7} {'height_s':>8} {'reader_s':>8}")
    for path in paths:
        fm = read_force_map(path)
        t_open = best_of(3, lambda p=path: read_force_map(p))
        t_height = best_of(3, lambda f=fm: approach_end_height(f))
        t_reader = best_of(3, lambda p=path: get_reader(p)(p))
        print(
            f"{Path(path).name[-40:]:<40} {fm.n_curves:>7} {t_open:7.2f} {t_height:8.2f} "
            f"{t_reader:8.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
