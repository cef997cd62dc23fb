"""Registration of maps recorded with a large (10 µm) spherical tip, the `sample-data` default.

The tip widens the AFM height footprints (tip convolution); the registration can replace the
heights by the tip reconstruction of the fit's geometry (``RegisterOptions.tip_correction``,
off by default). Seeds 71-73 were not used while developing it (seeds 0-19 and 42 were).
"""

from __future__ import annotations

import numpy as np
import pytest

from cellmech.alignment.steps import RegistrationContext
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


def test_large_tip_registration_meets_the_targets_with_an_honest_estimate(cases):
    """Issue #10 targets on a 10 µm tip: TRE median <= 0.5 AFM px, worst <= 1 px; the error
    estimate above the true error and at most 3x it (or a quarter pixel when the true error
    is tiny) on every case."""
    tre = []
    for (seed, _, reflect), (s, fit, seg) in cases.items():
        reg = register(s.force_map, fit, seg, RegisterOptions(allow_reflection=reflect))
        pitch = s.force_map.grid.pixel_size_m[0]
        true_px = _true_error_px(reg, s, seg)
        est_px = reg.error_estimate_m / pitch
        assert reg.accepted, (seed, reg.reason)
        assert reg.parameters["reflected"] == reflect
        assert true_px < est_px <= max(3 * true_px, 0.25), (seed, true_px, est_px)
        tre.append(true_px)
    assert np.median(tre) <= 0.5 and max(tre) <= 1.0, tre


def test_tip_correction_shrinks_the_footprint_towards_the_cell_mask(cases):
    """The corrected footprint is smaller than the raw one and closer in area to the cells'
    true footprint (the truth labels mapped onto the AFM grid), which the raw one exceeds."""
    s, fit, seg = cases[(71, 32, False)]
    on = RegistrationContext.build(s.force_map, fit, seg, RegisterOptions())
    off = RegistrationContext.build(s.force_map, fit, seg, RegisterOptions(tip_correction=False))
    truth_px = np.array(s.truth["transform"]["afm_px_to_fluo_px"])
    rr, cc = on.afm.fine_px.T
    r, c = (np.rint(v).astype(int) for v in apply_affine(truth_px, rr, cc))
    ok = (r >= 0) & (r < seg.shape[0]) & (c >= 0) & (c < seg.shape[1])
    cell = np.zeros(len(rr), bool)
    cell[ok] = seg.cell_labels[r[ok], c[ok]] > 0
    raw, corrected = off.afm.inside.sum(), on.afm.inside.sum()
    assert corrected < raw
    assert abs(corrected - cell.sum()) < abs(raw - cell.sum())
