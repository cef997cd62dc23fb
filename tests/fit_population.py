"""Synthetic cell-map force curves with truth, the population the fit defaults are judged on.

Shared by ``tests/test_fit_defaults.py`` and ``benchmarks/accuracy_fit.py``: maps from
:func:`cellmech.synthetic.generate_sample` (cells of 0.3-20 kPa on a rigid dish, a few bad
curves: spikes or no contact), fitted with given options, and the curve classes by the truth.
"""

from __future__ import annotations

import numpy as np

from cellmech.fit import FitOptions, fit_curves
from cellmech.preprocess import PreprocessOptions, preprocess
from cellmech.synthetic import SampleOptions, generate_sample

#: a material touched first with at least this modulus is the dish (1 GPa in the generator)
DISH_MODULUS_PA = 1e6
#: the issue's population of cell curves: true indentation at the setpoint at least this
MIN_INDENTATION_M = 100e-9
#: cantilever spring constant of the maps, N/m
SPRING_CONSTANT_N_PER_M = 0.05


def fit_synthetic_map(
    seed: int,
    noise_n: float,
    radius_m: float,
    setpoint_n: float,
    preset: dict | None = None,
    **sample_options,
):
    """Generate one map (by default 32 x 32 over 80 µm, 4 cells, 1000-point approaches, 3 %
    bad curves) and fit it.

    ``noise_n`` is the force noise (N), ``preset`` a ``{section: {key: value}}`` of preprocess
    and fit options over the defaults, ``sample_options`` override the
    :class:`~cellmech.synthetic.SampleOptions` above. Returns ``(truth, result)``: the
    per-curve truth table and the :class:`~cellmech.containers.FitResult`.
    """
    preset = preset or {}
    k = SPRING_CONSTANT_N_PER_M
    defaults = {
        "grid_shape": (32, 32),
        "map_size_m": 80e-6,
        "n_cells": 4,
        "approach_points": 1000,
        "retract_points": 50,
        "bad_fraction": 0.03,
    }
    opts = SampleOptions(
        seed=seed,
        geometry={"tip_radius_m": radius_m},
        spring_constant_n_per_m=k,
        setpoint_n=setpoint_n,
        deflection_noise_m=noise_n / k,
        fluo_z_planes=2,
        marker=False,
        **(defaults | sample_options),
    )
    sample = generate_sample(opts)
    fm = sample.force_map
    pre = PreprocessOptions(**preset.get("preprocess", {}))
    fit = FitOptions(geometry={"tip_radius_m": radius_m}, **preset.get("fit", {}))
    curves = preprocess(fm.curves(), fm.spring_constant_n_per_m, pre)
    return sample.curves, fit_curves(curves, fit)


def true_indentation(truth, radius_m: float, setpoint_n: float) -> np.ndarray:
    """True Hertz-paraboloid indentation (m) at the setpoint of every curve (ν = 0.5)."""
    e = truth["youngs_modulus_pa"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (setpoint_n / (e * 4 / 3 / 0.75 * np.sqrt(radius_m))) ** (2 / 3)


def curve_classes(truth, depth: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks of the curve classes by the truth: ``cell`` (indentation >= 100 nm),
    ``cell_shallow``, ``dish`` (the material touched first is the dish), ``no_contact`` and
    ``spikes`` (the generator's defects)."""
    bad = truth["bad"].to_numpy(bool)
    reason = truth["bad_reason"].fillna("").astype(str).to_numpy()
    dish = (truth["youngs_modulus_pa"].to_numpy(float) >= DISH_MODULUS_PA) & ~bad
    cell = ~dish & ~bad
    return {
        "cell": cell & (depth >= MIN_INDENTATION_M),
        "cell_shallow": cell & ~(depth >= MIN_INDENTATION_M),
        "dish": dish,
        "no_contact": bad & (reason == "no_contact"),
        "spikes": bad & (reason == "spikes"),
    }
