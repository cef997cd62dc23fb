"""Benchmark: two workers fitting at once are faster than one (a script, not a test).

With numba pinned to one thread per worker (``ThreadPolicy(1, 1)``), the map is fitted by the
Dask threads scheduler with one worker, then with two: if any process-wide lock serialised the
fits, two workers would take as long as one. Prints the seconds of each (best of ``--repeat``)
and the speed-up.

    python benchmarks/bench_workers.py --workdir /tmp/cellmech-bench-workers
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from cellmech.fit import FitOptions
from cellmech.parallel import fit_force_map
from cellmech.runtime import ThreadPolicy
from cellmech.synthetic import SampleOptions, make_sample_data

ONE_THREAD = ThreadPolicy(kernel_threads=1, decoder_threads=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", type=Path, default=Path("/tmp/cellmech-bench-workers"))
    p.add_argument("--side", type=int, default=32)
    p.add_argument("--points", type=int, default=4000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    folder = args.workdir / f"workers_{args.side}_{args.points}"
    if not (folder / "sample.jpk-force-map").is_file():
        options = SampleOptions(
            seed=3,
            grid_shape=(args.side, args.side),
            approach_points=args.points,
            retract_points=100,
            fluo_z_planes=1,
        )
        make_sample_data(folder, options)
    path = folder / "sample.jpk-force-map"
    fit = FitOptions(geometry={"tip_radius_m": 2.5e-6})
    fit_force_map(path, fit_options=fit, scheduler="threads", workers=1, threads=ONE_THREAD)
    best = {}
    for _ in range(args.repeat):
        for workers in (1, 2):
            t0 = time.perf_counter()
            fit_force_map(path, fit_options=fit, scheduler="threads", workers=workers,
                          threads=ONE_THREAD, chunks=64)  # fmt: skip
            seconds = time.perf_counter() - t0
            best[workers] = min(best.get(workers, seconds), seconds)
    n = args.side**2
    for workers, seconds in best.items():
        rate = n / seconds
        print(f"{workers} worker(s), numba 1 thread each: {seconds:6.2f} s  {rate:7.0f} curves/s")
    print(f"speed-up of 2 workers over 1: {best[1] / best[2]:.2f}x (1.00 = serialised)")


if __name__ == "__main__":
    main()
