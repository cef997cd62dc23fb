"""Honest curve statuses on synthetic truth (issue 8, item 3): no_contact, rigid, poor_fit.

Small synthetic maps (cells on a 1 GPa dish, 10 % bad curves: half never reach the surface,
half carry baseline spikes of 0.5-2x the setpoint) over several seeds, noise levels, tip radii
and setpoints; each curve is classed by its truth (the material touched first, the defect).
"""

from __future__ import annotations

import numpy as np
import pytest

from cellmech.containers import CurveStatus
from tests.fit_population import curve_classes, fit_synthetic_map, true_indentation

#: (seed, force noise N, tip radius m, setpoint N): setpoints >= 10x the noise, as on cell maps
CASES = [
    (0, 10e-12, 10e-6, 1e-9),
    (1, 20e-12, 5e-6, 0.5e-9),
    (2, 40e-12, 2.5e-6, 0.5e-9),
    (3, 40e-12, 5e-6, 2e-9),
]
#: small maps with many defects
MAP = {"grid_shape": (24, 24), "map_size_m": 72e-6, "n_cells": 3, "approach_points": 600,
       "retract_points": 20, "bad_fraction": 0.1}  # fmt: skip


def _fit_case(seed: int, noise_n: float, radius_m: float, setpoint_n: float) -> dict:
    truth, res = fit_synthetic_map(seed, noise_n, radius_m, setpoint_n, **MAP)
    classes = curve_classes(truth, true_indentation(truth, radius_m, setpoint_n))
    return {
        "res": res,
        "e_true": truth["youngs_modulus_pa"].to_numpy(float),
        "height_true": truth["contact_piezo_height_m"].to_numpy(float),
        "cell": classes["cell"] | classes["cell_shallow"],
    } | {k: classes[k] for k in ("dish", "no_contact", "spikes")}


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return [_fit_case(*c) for c in CASES]


def _share(cases, cls: str, status: CurveStatus) -> float:
    hits = sum(int(np.sum(c["res"].status[c[cls]] == status)) for c in cases)
    return hits / sum(int(c[cls].sum()) for c in cases)


def test_dish_curves_are_rigid(cases) -> None:
    """>= 99 % of the curves on the dish (true indentation < 1 nm at the setpoint) are rigid,
    with E NaN."""
    assert sum(int(c["dish"].sum()) for c in cases) > 500
    assert _share(cases, "dish", CurveStatus.RIGID) >= 0.99
    for c in cases:
        rigid = c["res"].status == CurveStatus.RIGID
        assert np.all(np.isnan(c["res"].youngs_modulus_pa[rigid]))


def test_rigid_curves_keep_an_exact_zero_force_height(cases) -> None:
    """The zero-force height of rigid dish curves (the tip position at the setpoint) lies
    within 1 nm of the truth in median and 5 nm at worst (the z step is 15 nm)."""
    err = np.concatenate(
        [
            (c["res"].zero_force_height_m - c["height_true"])[
                c["dish"] & (c["res"].status == CurveStatus.RIGID)
            ]
            for c in cases
        ]
    )
    assert np.all(np.isfinite(err))
    assert np.median(np.abs(err)) <= 1e-9
    assert np.max(np.abs(err)) <= 5e-9


def test_cell_curves_are_rarely_rigid(cases) -> None:
    assert sum(int(c["cell"].sum()) for c in cases) > 300
    assert _share(cases, "cell", CurveStatus.RIGID) <= 0.01
    assert _share(cases, "cell", CurveStatus.OK) >= 0.9


def test_every_no_contact_defect_is_no_contact(cases) -> None:
    """Curves whose approach runs out before the surface (some with a residual baseline tilt
    of several noise units, extrapolated by the tilt correction) are all no_contact."""
    assert sum(int(c["no_contact"].sum()) for c in cases) >= 40
    assert _share(cases, "no_contact", CurveStatus.NO_CONTACT) == 1.0


def test_no_spike_moves_the_modulus_silently(cases) -> None:
    """No curve with baseline spikes keeps status ok with E more than 5 % off the truth."""
    assert sum(int(c["spikes"].sum()) for c in cases) >= 40
    for c in cases:
        res, spiky = c["res"], c["spikes"]
        moved = np.abs(res.youngs_modulus_pa[spiky] / c["e_true"][spiky] - 1.0)
        assert not np.any((res.status[spiky] == CurveStatus.OK) & ~(moved <= 0.05))
