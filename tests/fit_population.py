"""Synthetic cell-map force curves with truth, the population the fit defaults are judged on.

Shared by ``tests/test_fit_defaults.py`` and ``benchmarks/accuracy_fit.py``: maps from
:func:`cellmech.synthetic.generate_sample` (cells of 0.3-20 kPa on a rigid dish, a few bad
curves: spikes or no contact), fitted with given options, and the curve classes by the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cellmech.fit import FitOptions, fit_curves
from cellmech.models import get_model
from cellmech.preprocess import PreprocessOptions, preprocess
from cellmech.synthetic import SampleOptions, generate_sample

#: a material touched first with at least this modulus is the dish (1 or 70 GPa: Tip)
DISH_MODULUS_PA = 1e6
#: the issue's population of cell curves: true indentation at the setpoint at least this
MIN_INDENTATION_M = 100e-9
#: cantilever spring constant of the maps, N/m
SPRING_CONSTANT_N_PER_M = 0.05
#: Poisson ratio of the generator's cells
POISSON_RATIO = 0.5


@dataclass(frozen=True)
class Tip:
    """The contact model that generates and fits a map, its tip geometry and the modulus (Pa)
    of the dish the cells lie on."""

    model: str
    geometry: dict = field(default_factory=dict)
    dish_modulus_pa: float = 1e9


def paraboloid(radius_m: float) -> Tip:
    """A spherical tip of radius ``radius_m`` (m), Hertz's paraboloid; it indents the
    generator's 1 GPa dish by < 1 nm at 2 nN."""
    return Tip("hertz_paraboloidal", {"tip_radius_m": radius_m})


def pyramid(half_angle_deg: float) -> Tip:
    """A four-sided pyramid of face angle ``half_angle_deg`` (degrees), Bilodeau's law, on
    glass (70 GPa: the glass-bottom dishes of inverted microscopes). The law's ideally sharp
    apex would indent a 1 GPa dish by 0.8-2.5 nm at 0.5-2 nN, a depth a real tip's rounded
    apex (~20 nm) never reaches on a dish; on glass it is 0.1-0.3 nm, rigid as the issue
    defines a dish (< 1 nm)."""
    return Tip("bilodeau_pyramidal", {"half_angle_deg": half_angle_deg}, 70e9)


def synthetic_map(seed: int, noise_n: float, tip: Tip, setpoint_n: float, **sample_options):
    """Generate one map (by default 32 x 32 over 80 µm, 4 cells, 1000-point approaches, 3 %
    bad curves): the :class:`~cellmech.synthetic.Sample` with its truth.

    ``noise_n`` is the force noise (N), ``tip`` the model and geometry that generate the
    curves, ``sample_options`` override the :class:`~cellmech.synthetic.SampleOptions` above.
    """
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
        model=tip.model,
        geometry=tip.geometry,
        substrate_modulus_pa=tip.dish_modulus_pa,
        spring_constant_n_per_m=k,
        setpoint_n=setpoint_n,
        deflection_noise_m=noise_n / k,
        fluo_z_planes=2,
        marker=False,
        **(defaults | sample_options),
    )
    return generate_sample(opts)


def fit_sample(sample, tip: Tip, preset: dict | None = None):
    """Fit every curve of ``sample``'s map with ``tip``'s model and the ``{section: {key:
    value}}`` of preprocess and fit options ``preset`` over the defaults; a
    :class:`~cellmech.containers.FitResult`."""
    preset = preset or {}
    fm = sample.force_map
    pre = PreprocessOptions(**preset.get("preprocess", {}))
    fit = FitOptions(model=tip.model, geometry=tip.geometry, **preset.get("fit", {}))
    return fit_curves(preprocess(fm.curves(), fm.spring_constant_n_per_m, pre), fit)


def fit_synthetic_map(
    seed: int,
    noise_n: float,
    tip: Tip,
    setpoint_n: float,
    preset: dict | None = None,
    **sample_options,
):
    """:func:`synthetic_map` fitted by :func:`fit_sample`: ``(truth, result)``, the per-curve
    truth table and the :class:`~cellmech.containers.FitResult`."""
    sample = synthetic_map(seed, noise_n, tip, setpoint_n, **sample_options)
    return sample.curves, fit_sample(sample, tip, preset)


def true_indentation(truth, tip: Tip, setpoint_n: float) -> np.ndarray:
    """True indentation (m) at the setpoint of every curve: the tip's power law
    ``F = E c δ^p`` (paraboloid p = 3/2, pyramid p = 2) solved for δ."""
    law = get_model(tip.model).force_per_modulus
    per_modulus = law(np.array([1e-6, 2e-6]), poisson_ratio=POISSON_RATIO, **tip.geometry)
    power = np.log2(per_modulus[1] / per_modulus[0])
    e = truth["youngs_modulus_pa"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1e-6 * (setpoint_n / (e * per_modulus[0])) ** (1 / power)


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
