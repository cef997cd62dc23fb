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
    SPRING_CONSTANT_N_PER_M,
    curve_classes,
    fit_sample,
    fit_synthetic_map,
    paraboloid,
    pyramid,
    synthetic_map,
    true_indentation,
)
from tests.oracle_fit import truth_started_fit

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


@pytest.mark.parametrize(
    ("seed", "noise", "tip", "setpoint"), [MAPS[2], MAPS[4]], ids=["sphere", "pyramid"]
)
def test_the_defaults_reach_a_truth_started_joint_fit(seed, noise, tip, setpoint):
    """Against an independent reference: SciPy's Levenberg-Marquardt fit of the generator's
    contact model (offset, tilt, contact height and E jointly) started at the truth
    (tests/oracle_fit.py). At least 98 % of the cell curves are ok, and on those cellmech's E
    lies within a small part of its standard error of that fit's (median |difference| / SE
    measured 0.07 and 0.12; allowed 0.25), so it reaches the same share within 5 % (measured
    93.1 % vs 93.5 % and 96.0 % vs 96.0 %; allowed 3 points below) and the same median
    zero-force height error (measured 2.11 vs 2.04 nm and 5.33 vs 4.85 nm; allowed 15 % +
    0.2 nm above)."""
    sample = synthetic_map(seed, noise, tip, setpoint, grid_shape=(24, 24))
    truth, res = sample.curves, fit_sample(sample, tip)
    cell = curve_classes(truth, true_indentation(truth, tip, setpoint))["cell"]
    assert cell.sum() > 150
    assert np.mean(res.status[cell] == CurveStatus.OK) >= 0.98
    cell &= res.status == CurveStatus.OK
    ref_e, ref_h = truth_started_fit(
        sample.force_map.curves(), truth, tip, SPRING_CONSTANT_N_PER_M, noise, cell
    )[:, cell]
    e = res.youngs_modulus_pa[cell]
    assert np.median(np.abs(e - ref_e) / res.youngs_modulus_se_pa[cell]) <= 0.25
    e_true = truth["youngs_modulus_pa"].to_numpy()[cell]
    ours, ref = (np.mean(np.abs(v / e_true - 1) <= 0.05) for v in (e, ref_e))
    assert ours >= ref - 0.03, (ours, ref)
    height = truth["contact_piezo_height_m"].to_numpy()[cell]
    ours_h = np.median(np.abs(res.zero_force_height_m[cell] - height))
    ref_h = np.median(np.abs(ref_h - height))
    assert ours_h <= 1.15 * ref_h + 0.2e-9, (ours_h, ref_h)
