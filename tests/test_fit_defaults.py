"""The default objective on synthetic cell maps with exact truth (issue #8, unbiased defaults).

Curves like those of cell maps: 0.3-20 kPa cells on a rigid dish, setpoints 0.5-2 nN (>= 12x
the force noise), spherical tips of 2.5-10 µm or pyramids, noise 10-40 pN; only true
indentations >= 100 nm.
Measured with ``benchmarks/accuracy_fit.py`` over more seeds (README table); here 5 maps
(seeds and settings not used to choose the defaults).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cellmech.containers import CurveStatus
from cellmech.pipeline import PRESETS
from tests.fit_population import (
    curve_classes,
    fit_synthetic_map,
    paraboloid,
    pyramid,
    true_indentation,
)

#: (seed, noise N, tip, setpoint N)
MAPS = [
    (11, 10e-12, paraboloid(10e-6), 1e-9),
    (12, 20e-12, paraboloid(5e-6), 0.5e-9),
    (13, 40e-12, paraboloid(2.5e-6), 2e-9),
    (14, 40e-12, paraboloid(5e-6), 0.5e-9),
    (15, 20e-12, pyramid(17.5), 1e-9),
]


def _cell_errors(preset=None):
    """Relative E error, its fit SE (relative) and the true E of every ok cell curve."""
    rel, se, e = [], [], []
    for seed, noise, tip, setpoint in MAPS:
        truth, res = fit_synthetic_map(seed, noise, tip, setpoint, preset, grid_shape=(24, 24))
        cell = curve_classes(truth, true_indentation(truth, tip, setpoint))["cell"]
        cell &= res.status == CurveStatus.OK
        et = truth["youngs_modulus_pa"].to_numpy()[cell]
        rel.append(res.youngs_modulus_pa[cell] / et - 1)
        se.append(res.youngs_modulus_se_pa[cell] / et)
        e.append(et)
    return np.concatenate(rel), np.concatenate(se), np.concatenate(e)


@pytest.fixture(scope="module")
def defaults():
    return _cell_errors()


def test_median_bias_below_one_percent_in_every_stiffness_tercile(defaults):
    rel, _, e = defaults
    edges = np.quantile(e, [0, 1 / 3, 2 / 3, 1])
    for lo, hi in itertools.pairwise(edges):
        m = (e >= lo) & (e <= hi)
        assert m.sum() > 50
        assert abs(np.median(rel[m])) <= 0.01, (lo, hi, np.median(rel[m]))


def test_within_five_percent_wherever_the_curve_resolves_it(defaults):
    """>= 95 % within 5 % on curves whose standard error is <= 2.5 %; elsewhere the errors are
    the curve's own uncertainty (noise, points in contact), not a bias: error / SE has a
    standard deviation within 25 % of 1 (measured 1.04-1.14 per map)."""
    rel, se, _ = defaults
    resolvable = se <= 0.025
    assert resolvable.sum() > 300
    assert np.mean(np.abs(rel[resolvable]) <= 0.05) >= 0.95
    assert 0.8 <= np.std(rel / se) <= 1.25


def test_nanite_weighting_is_biased_low_on_the_same_curves(defaults):
    """Why the weighted objective is not the default: its median bias is below -5 %."""
    rel, _, _ = _cell_errors(PRESETS["nanite"])
    assert np.median(rel) < -0.05
    assert abs(np.median(defaults[0])) < 0.01
