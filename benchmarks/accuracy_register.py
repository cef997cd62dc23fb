"""Registration accuracy over many synthetic seeds: TRE and error-estimate honesty.

For each seed, map size (32x32, 48x48) and reflection (off/on) a sample is generated
(metadata guess off by 4-8 µm, 2-5° and 1-3 % scale), fitted with the real engine
(``fit_map``) and registered with ``RegisterOptions(allow_reflection=reflect)`` on the truth
labels. Prints per configuration: median / 90th percentile / max TRE (RMS over the AFM grid,
in AFM pixels), the fraction of cases whose error estimate exceeds the true error, the median
estimate/true ratio and the fraction accepted.

The error estimate's one constant was calibrated on seeds 0:20; seeds 100:120 are the
held-out check (``cellmech.alignment.estimate``).

Usage: ``python benchmarks/accuracy_register.py [--seeds 0:20] [--sizes 32 48]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from cellmech.register import RegisterOptions, register
from cellmech.transforms import apply_affine
from tests.helpers import registration_case


def true_error_m(reg, truth_px: np.ndarray, shape, fluo_pixel_m: float) -> float:
    rr, cc = np.indices(shape)
    r1, c1 = apply_affine(reg.afm_px_to_fluorescence_px, rr, cc)
    r2, c2 = apply_affine(truth_px, rr, cc)
    return float(np.sqrt(np.mean((r1 - r2) ** 2 + (c1 - c2) ** 2)) * fluo_pixel_m)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0:20", help="start:stop")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 48])
    parser.add_argument("--verbose", action="store_true", help="one line per case")
    args = parser.parse_args()
    start, stop = (int(v) for v in args.seeds.split(":"))
    print(f"seeds {start}..{stop - 1}")
    pooled = []
    print(
        "map    reflect  n   TRE_px median   p90    max   est>true  est/true median"
        "  accepted  s/case"
    )
    for n in args.sizes:
        for reflect in (False, True):
            tre, ratio, acc, secs = [], [], [], []
            for seed in range(start, stop):
                s, fit, seg = registration_case(seed, n, reflect)
                t0 = time.perf_counter()
                reg = register(s.force_map, fit, seg, RegisterOptions(allow_reflection=reflect))
                secs.append(time.perf_counter() - t0)
                pitch = s.force_map.grid.pixel_size_m[0]
                true = true_error_m(
                    reg,
                    np.array(s.truth["transform"]["afm_px_to_fluo_px"]),
                    (n, n),
                    seg.pixel_size_m[0],
                )
                tre.append(true / pitch)
                ratio.append(reg.error_estimate_m / true)
                acc.append(reg.accepted)
                if args.verbose:
                    print(
                        f"  seed {seed} {n} {reflect}: TRE {true / pitch:.3f} px, estimate "
                        f"{reg.error_estimate_m / pitch:.3f} px, accepted {reg.accepted} "
                        f"{reg.reason}"
                    )
            tre, ratio = np.array(tre), np.array(ratio)
            pooled.extend(ratio)
            print(
                f"{n}x{n:<4} {reflect!s:7} {len(tre):3d}  {np.median(tre):10.3f} "
                f"{np.percentile(tre, 90):6.3f} "
                f"{tre.max():6.3f}   {np.mean(ratio > 1):7.2f}   {np.median(ratio):14.2f}  "
                f"{np.mean(acc):8.2f}  {np.median(secs):6.2f}",
                flush=True,
            )
    pooled = np.array(pooled)
    print(
        f"all {len(pooled)} cases: estimate > true {np.mean(pooled > 1):.3f}, estimate/true "
        f"median {np.median(pooled):.2f}, estimate > 4x true {np.mean(pooled > 4):.3f}"
    )


if __name__ == "__main__":
    main()
