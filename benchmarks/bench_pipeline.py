"""Benchmark: ``cellmech run`` stage by stage as the map and the image grow (a script, not a test).

For each case a synthetic correlative sample is written once into ``--workdir`` (a JPK force map
with 1000-point approaches and a two-channel fluorescence stack), then the whole pipeline runs
in a fresh subprocess, which prints the seconds of every stage (read, fit, segment, register,
measure, write) and its peak RSS. Cases (map, stack): 32x32 with 1024², 64x64 with 2048²,
128x128 with 2048². The target: on the 64x64 map, segment + register + measure + write take no
longer than the fit, and peak memory stays bounded as the map grows.

    python benchmarks/bench_pipeline.py --workdir /tmp/cellmech-bench-pipeline
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

#: (grid side, image side in pixels)
CASES = ((32, 1024), (64, 2048), (128, 2048))
MAP_SIZE_M = 90e-6
FOV_FACTOR = 1.5
TIP_RADIUS_M = 2.5e-6


def build(workdir: Path, side: int, image_px: int) -> Path:
    """Write (once) the sample of one case; returns its folder."""
    from cellmech.synthetic import SampleOptions, make_sample_data

    folder = workdir / f"pipeline_{side}x{side}_{image_px}"
    if not (folder / "sample.ome.tif").is_file():
        options = SampleOptions(
            seed=7,
            grid_shape=(side, side),
            map_size_m=MAP_SIZE_M,
            n_cells=5,
            approach_points=1000,
            retract_points=100,
            fluo_pixel_size_m=MAP_SIZE_M * FOV_FACTOR / image_px,
            fluo_fov_factor=FOV_FACTOR,
            fluo_z_planes=2,
            marker=False,
        )
        make_sample_data(folder, options)
    return folder


def measure(folder: Path) -> None:
    """Run the pipeline on one case in this process and print its timings as JSON."""
    from cellmech.pipeline import make_settings, run_sample, write_sample_run

    settings = make_settings(
        {"fit": {"geometry": {"tip_radius_m": TIP_RADIUS_M}}, "run": {"scheduler": "numpy"}}
    )
    t0 = time.perf_counter()
    result = run_sample(folder / "sample.jpk-force-map", folder / "sample.ome.tif", settings)
    t_run = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_sample_run(Path(tmp) / "out", result)
    timing = dict(result.timing_s)
    timing["write"] = time.perf_counter() - t_run
    timing["total"] = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"timing_s": timing, "peak_rss_mb": peak_mb, "cells": result.cells.n_cells,
                      "accepted": bool(result.registration.accepted)}))  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", type=Path, default=Path("/tmp/cellmech-bench-pipeline"))
    p.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure:
        measure(args.measure)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    header = f"{'case':<22}{'read':>7}{'fit':>7}{'segment':>9}{'register':>9}{'measure':>9}"
    print(header + f"{'write':>7}{'total':>8}{'after fit':>11}{'peak RSS':>10}")
    for side, image_px in CASES:
        folder = build(args.workdir, side, image_px)
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(folder)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        r = json.loads(out.strip().splitlines()[-1])
        t = r["timing_s"]
        after_fit = t["segment"] + t["register"] + t["measure"] + t["write"]
        print(
            f"{side}x{side} map, {image_px}² px".ljust(22)
            + "".join(
                f"{t[k]:>{w}.2f}"
                for k, w in (
                    ("read", 7),
                    ("fit", 7),
                    ("segment", 9),
                    ("register", 9),
                    ("measure", 9),
                    ("write", 7),
                    ("total", 8),
                )
            )
            + f"{after_fit:>11.2f}{r['peak_rss_mb']:>8.0f} MB"
            + ("" if r["accepted"] else "  (registration not accepted)")
        )


if __name__ == "__main__":
    main()
