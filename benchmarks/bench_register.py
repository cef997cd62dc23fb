"""Seconds per stage: segment + register a 48x48 force map onto a >= 1024x1024 image.

The sample is generated with a fluorescence pixel of 0.13 µm so the 1.5x field of a 90 µm
map is >= 1024 px wide. The segment stage uses ``cellmech.segment.segment`` when it is
importable, else an Otsu threshold of the cell channel's max projection + connected-component
labels (printed). The fit (the real engine) is timed too but is not part of the target.

Usage: ``python benchmarks/bench_register.py [--seed 0] [--reflect]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cellmech.containers import Segmentation
from cellmech.fit import FitOptions
from cellmech.mapfit import fit_map
from cellmech.register import RegisterOptions, register
from cellmech.synthetic import SampleOptions, generate_sample


def _segment(stack):
    try:
        from cellmech.segment import segment
    except ImportError:
        segment = None
    if segment is not None:
        return segment(stack), "cellmech.segment.segment"
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    plane = np.asarray(stack.data[0]).max(axis=0).astype(np.float32)
    plane = ndimage.gaussian_filter(plane, 2.0)
    labels, _ = ndimage.label(plane > threshold_otsu(plane))
    seg = Segmentation(
        labels, np.zeros_like(labels), stack.pixel_size_m, stack.stage_position_m, method="otsu"
    )
    return seg, "Otsu threshold + label (cellmech.segment not importable)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reflect", action="store_true")
    args = parser.parse_args()
    t = time.perf_counter()
    s = generate_sample(
        SampleOptions(
            seed=args.seed,
            grid_shape=(48, 48),
            approach_points=300,
            retract_points=20,
            fluo_pixel_size_m=0.13e-6,
            fluo_z_planes=3,
            marker=False,
            measured_height=False,
            reflect=args.reflect,
        )
    )
    print(f"generate: {time.perf_counter() - t:6.2f} s  image {s.stack.shape[-2:]}")
    fit_options = FitOptions(geometry={"tip_radius_m": 2.5e-6}, weight_cp_m=0)
    fit_map(s.force_map, fit_options=fit_options)  # numba compilation out of the timing
    t = time.perf_counter()
    fit = fit_map(s.force_map, fit_options=fit_options)
    print(f"fit 48x48: {time.perf_counter() - t:6.2f} s")
    for call in ("first call, incl. lazy imports", "warm"):
        t = time.perf_counter()
        seg, how = _segment(s.stack)
        t_seg = time.perf_counter() - t
        print(f"segment ({call}):  {t_seg:6.2f} s  ({how}; {len(seg.cell_ids)} cells)")
        for method in ("rigid", "refined"):
            t = time.perf_counter()
            reg = register(
                s.force_map, fit, seg, RegisterOptions(method=method, allow_reflection=args.reflect)
            )
            t_reg = time.perf_counter() - t
            print(
                f"register ({method}, {call}): {t_reg:6.2f} s  accepted={reg.accepted} "
                f"error_estimate={reg.error_estimate_m * 1e6:.2f} µm  kept={reg.method}"
            )
            print(f"segment + register ({method}, {call}): {t_seg + t_reg:6.2f} s")


if __name__ == "__main__":
    main()
