"""Registration accuracy over many synthetic seeds: TRE and error-estimate honesty.

For each tip radius (``--tip-radius``, spherical tip; default 2.5 µm), seed, map size (32x32,
48x48) and reflection (off/on) a sample is generated (metadata guess off by 4-8 µm, 2-5° and
1-3 % scale), fitted with the real engine (``fit_map``, the generating tip) and registered
with ``RegisterOptions(allow_reflection=reflect)`` on the truth labels. Prints per
configuration: median / 90th percentile / max TRE (RMS over the AFM grid, in AFM pixels), the
fraction of cases whose error estimate exceeds the true error, the median estimate/true ratio
and the fraction accepted.

The error estimate's terms were chosen on seeds 0:40; seeds 200:240 and 300:320 are the
held-out checks (table in ``cellmech.alignment.estimate``).

``--segmented`` registers on cellmech's own segmentation of the sample's stack (the user's
path: its outlines differ from the truth labels) instead of the truth labels.

``--cache DIR`` keeps the fitted cases (the slow part) so that reruns only register;
``--dump FILE`` writes one JSON line per case (truth, result and the estimate's parts).

Usage: ``python benchmarks/accuracy_register.py [--seeds 0:20] [--sizes 32 48]
[--tip-radius 2.5e-6 10e-6] [--segmented] [--cache DIR] [--dump FILE]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from cellmech.register import RegisterOptions, register
from cellmech.segment import SegmentOptions, segment
from cellmech.synthetic import generate_sample
from cellmech.transforms import apply_affine
from tests.helpers import registration_case, registration_sample_options


def true_error_m(reg, truth_px: np.ndarray, shape, fluo_pixel_m: float) -> float:
    rr, cc = np.indices(shape)
    r1, c1 = apply_affine(reg.afm_px_to_fluorescence_px, rr, cc)
    r2, c2 = apply_affine(truth_px, rr, cc)
    return float(np.sqrt(np.mean((r1 - r2) ** 2 + (c1 - c2) ** 2)) * fluo_pixel_m)


def _no_curves(*args, **kwargs):
    raise RuntimeError("a cached force map holds no curves")


def load_case(seed: int, n: int, reflect: bool, tip_m: float, cache: Path | None):
    """``(force_map, fit, segmentation, truth)``, fitted or read from ``cache``."""
    name = f"case_{seed}_{n}_{int(reflect)}_tip{tip_m * 1e6:g}um.pkl"
    path = cache / name if cache else None
    if path is not None and path.is_file():
        return pickle.loads(path.read_bytes())
    s, fit, seg = registration_case(seed, n, reflect, tip_m)
    case = (dataclasses.replace(s.force_map, loader=_no_curves), fit, seg, s.truth)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(case))
    return case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0:20", help="start:stop")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 48])
    parser.add_argument("--tip-radius", type=float, nargs="+", default=[2.5e-6], help="m")
    parser.add_argument("--segmented", action="store_true", help="cellmech's segmentation")
    parser.add_argument("--verbose", action="store_true", help="one line per case")
    parser.add_argument("--cache", type=Path, help="directory of fitted cases (reused)")
    parser.add_argument("--dump", type=Path, help="JSON lines, one per case")
    args = parser.parse_args()
    dump = args.dump.open("w") if args.dump else None
    start, stop = (int(v) for v in args.seeds.split(":"))
    print(f"seeds {start}..{stop - 1}")
    pooled = []
    print(
        "tip_um map    reflect  n   TRE_px median   p90    max   est>true  est/true median"
        "  accepted  s/case"
    )
    configs = [(t, n, r) for t in args.tip_radius for n in args.sizes for r in (False, True)]
    for tip_m, n, reflect in configs:
        tre, ratio, acc, secs = [], [], [], []
        for seed in range(start, stop):
            force_map, fit, seg, truth = load_case(seed, n, reflect, tip_m, args.cache)
            if args.segmented:
                options = registration_sample_options(seed, n, reflect, tip_m)
                seg = segment(generate_sample(options).stack, SegmentOptions())
            t0 = time.perf_counter()
            reg = register(force_map, fit, seg, RegisterOptions(allow_reflection=reflect))
            secs.append(time.perf_counter() - t0)
            pitch = force_map.grid.pixel_size_m[0]
            truth_px = np.array(truth["transform"]["afm_px_to_fluo_px"])
            true = true_error_m(reg, truth_px, (n, n), seg.pixel_size_m[0])
            if dump:
                row = dict(seed=seed, n=n, reflect=reflect, tip_m=tip_m, pitch_m=pitch)
                row.update(true_m=true)
                row.update(estimate_m=reg.error_estimate_m, accepted=reg.accepted)
                row.update(fluo_pixel_m=seg.pixel_size_m[0], truth_px=truth_px.tolist())
                row.update(px=reg.afm_px_to_fluorescence_px.tolist())
                row.update(truth_scale=truth["transform"]["scale"])
                row.update({k: reg.parameters.get(k) for k in ("error_parts", "reflected")})
                row["scale"] = reg.parameters.get("scale")
                print(json.dumps(row, default=float), file=dump, flush=True)
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
            f"{tip_m * 1e6:6.1f} {n}x{n:<4} {reflect!s:7} {len(tre):3d}  {np.median(tre):10.3f} "
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
