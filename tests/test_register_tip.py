"""Registration of maps recorded with a large (10 µm) spherical tip, the `sample-data` default.

The tip widens the AFM height footprints (tip convolution); the registration matches each
cell with as much footprint as the fit's tip can add (:func:`cellmech.tipshape.lateral_reach`).
Seeds 71-73 were not used while developing it (seeds 0-19 and 42 were).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cellmech.register import RegisterOptions, register
from cellmech.transforms import apply_affine
from tests.helpers import registration_case

TIP_M = 10e-6
CASES = ((71, 32, False), (72, 48, True), (73, 32, True))


@pytest.fixture(scope="module")
def cases():
    return {key: registration_case(*key, tip_radius_m=TIP_M) for key in CASES}


def _true_error_px(reg, sample, seg) -> float:
    rr, cc = np.indices(sample.force_map.grid.shape)
    r1, c1 = apply_affine(reg.afm_px_to_fluorescence_px, rr, cc)
    r2, c2 = apply_affine(np.array(sample.truth["transform"]["afm_px_to_fluo_px"]), rr, cc)
    rms_m = float(np.sqrt(np.mean((r1 - r2) ** 2 + (c1 - c2) ** 2)) * seg.pixel_size_m[0])
    return rms_m / sample.force_map.grid.pixel_size_m[0]


@pytest.fixture(scope="module")
def registered(cases):
    """(seed, true TRE px, estimate px) per case, registered with the default options."""
    out = []
    for (seed, _, reflect), (s, fit, seg) in cases.items():
        reg = register(s.force_map, fit, seg, RegisterOptions(allow_reflection=reflect))
        assert reg.accepted, (seed, reg.reason)
        assert reg.parameters["reflected"] == reflect
        out.append(
            (
                seed,
                _true_error_px(reg, s, seg),
                reg.error_estimate_m / s.force_map.grid.pixel_size_m[0],
                reg.parameters["error_parts"]["footprint_widening_m"],
            )
        )
    return out


def test_large_tip_registration_meets_the_targets_with_an_honest_estimate(registered):
    """Issue #10 targets on a 10 µm tip: TRE median <= 0.5 AFM px and worst <= 1 px; the error
    estimate above the true error on every case."""
    tre = [true for _, true, _, _ in registered]
    assert np.median(tre) <= 0.5 and max(tre) <= 1.0, registered
    assert all(true < est for _, true, est, _ in registered), registered


def test_the_estimate_fits_the_tip_widening(registered):
    """The estimate's common-mode widening (:mod:`cellmech.alignment.estimate`) finds the
    footprints 1-4 µm wider than the cell masks (measured 1.4-2.9 µm on 80 held-out cases with
    this tip, 0.1-0.9 µm with a 2.5 µm one); fitted, it no longer counts as noise (the median
    estimate/true over 80 cases is in ``benchmarks/accuracy_register.py``: 2.1-2.2 on seeds
    1300-1319, 2.9-4.0 without the widening on seeds 600-639)."""
    assert all(1e-6 < widening < 4e-6 for *_, widening in registered), registered


def _scale_error(reg, sample) -> float:
    scale = reg.parameters["scale"]
    estimate = scale["estimate"] if scale["kept"] else 1.0
    return abs(estimate - sample.truth["transform"]["scale"])


def test_the_fit_tip_keeps_the_centroid_scale_near_the_truth(cases):
    """Matched with the reach of the fit's tip, the widened footprints are not clipped, so the
    centroid scale is nearer the true AFM/optical scale (pooled over the cases) than when the
    registration is not told the tip (a fit result without geometry)."""
    with_tip, without = [], []
    for (_, _, reflect), (s, fit, seg) in cases.items():
        opt = RegisterOptions(allow_reflection=reflect)
        reg = register(s.force_map, fit, seg, opt)
        assert reg.parameters["tip_geometry"] == {"tip_radius_m": TIP_M}
        with_tip.append(_scale_error(reg, s))
        params = {k: v for k, v in fit.parameters.items() if k != "geometry"}
        blind = register(s.force_map, dataclasses.replace(fit, parameters=params), seg, opt)
        without.append(_scale_error(blind, s))
    assert np.mean(with_tip) < np.mean(without), (with_tip, without)
