"""The contact-point search reaches the global minimum of the fit's own objective.

Reference: :func:`tests.helpers.dense_scan`, a brute-force profile of the objective over the
sample positions as contact points (closed-form E and baseline at each), refined between the
neighbours of its best local minima. On the real recordings (up to 12 000 points per curve)
the profile is taken at every ``stride``-th sample (at most ``SCAN_CANDIDATES`` positions,
stride <= 13, i.e. <= ~15 nm on the longest curves) and then at every sample within one
stride of its best minima, so only a basin narrower than two strides could escape it.

Covered: every curve of every real file in ../shared/data/real-afm, and synthetic curves built
to have two basins (:func:`tests.helpers.two_basin_curve`: soft layer, baseline step, bump,
long onset; paraboloid and cone), for the fixed fit ranges (whole approach, tip-position
window), with cellmech's default objective and the nanite preset's (weight_cp = 1 µm). The
ranges that move with the contact point (indentation, force) are checked as a fixed point: the
returned contact point is the global minimum of the objective on the window it defines.
"""

from __future__ import annotations

import numpy as np
import pytest

from cellmech import fit
from cellmech.containers import CurveStatus
from cellmech.fit import FitOptions
from cellmech.io import read_force_map
from cellmech.pipeline import PRESETS
from cellmech.preprocess import PreprocessOptions, preprocess
from tests.conftest import real_afm_files
from tests.helpers import (
    TWO_BASIN_KINDS,
    dense_scan,
    indentation_curves,
    objective,
    power_law,
    profile_minima,
    two_basin_curve,
)

#: largest relative excess of cellmech's SSR over the dense scan's
REL_TOL = 1e-6
#: most positions of the coarse profile of the dense scan on long real curves
SCAN_CANDIDATES = 1000
PRESET_OPTIONS = {"default": {}, "nanite": PRESETS["nanite"]}
MODELS = {
    "hertz_paraboloidal": {"tip_radius_m": 5e-6},
    "hertz_conical": {"half_angle_deg": 20.0},
}
SEEDS = range(5)
#: the tip-position window of the fixed "tip_position" range, m (contact near 0)
WINDOW = {"fit_range": "tip_position", "range_min_m": -2e-6, "range_max_m": 1.5e-6}
#: no spring constant in the AFM Workshop CSV: a nominal one (only shifts the tip position)
NOMINAL_K = {"fmt-afm-workshop-fd_single_2021-10-22_14.16.csv": 0.05}


def excesses(curves, options: FitOptions, stride_points: int | None = None) -> np.ndarray:
    """Relative excess (S_cellmech - S_scan) / S_scan of every curve the kernel fitted, on its
    fit points, whatever quality status the fit then gives it (NaN where preprocessing
    failed or fewer than 5 points lie in the window)."""
    status, res = fit._optimum(curves, options, None)  # E, cp, b before the quality statuses
    coeff, power = power_law(options.model, **options.geometry)
    wcp = options.weight_cp_m
    out = np.full(curves.n_curves, np.nan)
    for i in range(curves.n_curves):
        if status[i] != CurveStatus.OK or not np.isfinite(res[i, :3]).all():
            continue
        x, y = curves.curve(i)
        inside = (x >= options.range_min_m) & (x <= options.range_max_m)
        x, y = x[inside], y[inside]
        stride = 1 if stride_points is None else -(-x.size // stride_points)
        s_ref = dense_scan(x, y, coeff, power, wcp, stride=stride)[0]
        ours = objective(x, y, res[i, 1], res[i, 0], res[i, 2], coeff, power, wcp)
        out[i] = (ours - s_ref) / s_ref
    return out


def real_curves(preset: str):
    files = real_afm_files()
    if not files:
        pytest.skip("real AFM data not available (see ../shared/data/real-afm/README.md)")
    pre = PreprocessOptions(**PRESET_OPTIONS[preset].get("preprocess", {}))
    for path in files:
        fmap = read_force_map(path, spring_constant_n_per_m=NOMINAL_K.get(path.name))
        yield path.name, preprocess(fmap.curves(), fmap.spring_constant_n_per_m, pre)


@pytest.mark.realdata
@pytest.mark.parametrize("window", [{}, WINDOW], ids=["approach", "tip_position"])
@pytest.mark.parametrize("preset", sorted(PRESET_OPTIONS))
def test_real_curves_reach_the_global_optimum(preset: str, window: dict) -> None:
    options = FitOptions(**PRESET_OPTIONS[preset].get("fit", {}) | window)
    fitted = 0
    for name, curves in real_curves(preset):
        rel = excesses(curves, options, SCAN_CANDIDATES)
        print(f"\n{preset:8s} {name[:44]:44s} excess {np.array2string(rel, precision=1)}")
        assert np.all(np.isnan(rel) | (rel <= REL_TOL)), name
        fitted += np.isfinite(rel).sum()
    assert fitted >= (14 if window else 17)  # all but the bad recording (and 1 no-contact window)


def two_basin_block(model: str):
    curves = [two_basin_curve(k, model, MODELS[model], s) for k in TWO_BASIN_KINDS for s in SEEDS]
    return indentation_curves(curves)


@pytest.mark.parametrize("window", [{}, WINDOW], ids=["approach", "tip_position"])
@pytest.mark.parametrize("preset", sorted(PRESET_OPTIONS))
@pytest.mark.parametrize("model", sorted(MODELS))
def test_two_basin_curves_reach_the_global_optimum(model: str, preset: str, window: dict):
    fit = PRESET_OPTIONS[preset].get("fit", {}) | window
    options = FitOptions(model=model, geometry=MODELS[model], **fit)
    rel = excesses(two_basin_block(model), options)
    assert np.isfinite(rel).all()
    assert np.all(rel <= REL_TOL), np.flatnonzero(rel > REL_TOL)


def test_two_basin_curves_have_two_basins() -> None:
    """The synthetic set is a real challenge: with nanite's weighting over a third of its
    curves (both tips) have a second local minimum of the objective > 50 nm from the best,
    with an SSR less than twice the best one (a trap for a search started in the wrong
    place). The unweighted default objective has such a second basin far more rarely."""
    wcp = PRESETS["nanite"]["fit"]["weight_cp_m"]
    two = total = 0
    for model, geometry in MODELS.items():
        coeff, power = power_law(model, **geometry)
        for kind in TWO_BASIN_KINDS:
            for seed in SEEDS:
                x, y = two_basin_curve(kind, model, geometry, seed)
                cps, ratio = profile_minima(x, y, coeff, power, wcp)
                best = cps[np.argmin(ratio)]
                two += bool(np.any((ratio < 2.0) & (np.abs(cps - best) > 50e-9)))
                total += 1
    assert two >= total / 3


MOVING = {
    "indentation": {"fit_range": "indentation", "range_min_m": 0.0, "range_max_m": 0.4e-6},
    "force": {"fit_range": "force", "force_max_n": 0.3e-9},
}


@pytest.mark.parametrize("name", sorted(MOVING))
def test_moving_ranges_minimise_the_objective_on_their_own_window(name: str) -> None:
    """For a range that moves with the contact point the objective is the SSR over the points
    the previous pass selected; at the returned contact point that window is (nearly) the
    same, and the fit is its global minimum (dense scan within 1e-6)."""
    model = "hertz_paraboloidal"
    options = FitOptions(model=model, geometry=MODELS[model], **MOVING[name])
    raw = [two_basin_curve(k, model, MODELS[model], s) for k in ("step", "bump") for s in (0, 1)]
    curves = indentation_curves(raw)
    status, res = fit._optimum(curves, options, None)
    coeff, power = power_law(model, **MODELS[model])
    assert np.all(status == CurveStatus.OK) and np.isfinite(res[:, :3]).all()
    for i in range(curves.n_curves):
        x, y = curves.curve(i)
        e, cp, b = res[i, :3]
        if name == "indentation":
            keep = (x >= cp - options.range_max_m) & (x <= cp - options.range_min_m)
        else:
            above = np.flatnonzero(y - b > options.force_max_n)
            keep = np.arange(x.size) < (above[0] if above.size else x.size)
        s_ref = dense_scan(x[keep], y[keep], coeff, power, options.weight_cp_m)[0]
        ours = objective(x[keep], y[keep], cp, e, b, coeff, power, options.weight_cp_m)
        assert (ours - s_ref) / s_ref <= REL_TOL, i
