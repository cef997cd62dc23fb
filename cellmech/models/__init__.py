"""Contact models: one module per model, key == module name.

Every model module defines

``KEY`` : str
    Equal to the module name.
``NAME`` : str
    Human-readable name.
``EQUATION`` : str
    The force law in plain text.
``REFERENCE`` : str
    Literature source.
``PARAMETERS`` : tuple of :class:`ParameterSpec`
    Geometry parameters of the tip (the fitted parameters E, contact point and baseline are
    common to all models and live in :mod:`cellmech.fit`).
``TIP_FAMILY`` : str
    Bottom-effect family used by :mod:`cellmech.models.finite_thickness` ("spherical" or
    "conical"); conical-family models also define ``FORCE_COEFFICIENT`` (C in
    F = C tan(alpha) E/(1-nu^2) delta^2).
``force_per_modulus(indentation_m, *, poisson_ratio, **geometry) -> ndarray``
    F / E in N/Pa (= m²) for indentations ``indentation_m`` in m (any shape, 0 where the
    indentation is <= 0). Every model is linear in the Young's modulus E, so the force is
    ``E * force_per_modulus(...)``; the fit exploits this to solve E exactly for any trial
    contact point.

The registry (:func:`get_model`, :func:`available_models`) imports the modules listed in
:data:`MODEL_KEYS`; :func:`force_per_modulus` is the validated, vectorised entry point the fitter
calls (with the optional finite-thickness correction).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

from cellmech.errors import ConfigError
from cellmech.models.finite_thickness import correction
from cellmech.options import SubTable

__all__ = [
    "GEOMETRY",
    "MODEL_KEYS",
    "POISSON_RATIO",
    "ParameterSpec",
    "available_models",
    "fitted_force",
    "force_per_modulus",
    "get_model",
    "model_force",
]

#: keys of the built-in contact models (module names in this package)
MODEL_KEYS: tuple[str, ...] = (
    "hertz_paraboloidal",
    "sneddon_spherical",
    "hertz_conical",
    "bilodeau_pyramidal",
    "three_sided_pyramidal",
)


@dataclass(frozen=True)
class ParameterSpec:
    """Declarative description of one model parameter.

    Parameters
    ----------
    key : str
        Keyword name, carrying its unit (``tip_radius_m``, ``half_angle_deg``).
    unit : str
        SI unit (or "deg" for angles, "1" for dimensionless).
    default : float
        Default value.
    bounds : (float, float)
        Inclusive valid range.
    description : str
        One line for ``cellmech models`` and the GUI.
    """

    key: str
    unit: str
    default: float
    bounds: tuple[float, float]
    description: str

    def validate(self, value: float) -> float:
        """Return ``value`` as float, raising :class:`ConfigError` outside ``bounds``."""
        v = float(value)
        lo, hi = self.bounds
        if not (np.isfinite(v) and lo <= v <= hi):
            raise ConfigError(f"{self.key}={value!r} outside [{lo:g}, {hi:g}] {self.unit}")
        return v


#: Poisson's ratio of the sample, common to every model
POISSON_RATIO = ParameterSpec(
    "poisson_ratio", "1", 0.5, (0.0, 0.5), "Poisson's ratio nu of the sample"
)


@cache
def get_model(key: str) -> ModuleType:
    """The model module for ``key``.

    Raises
    ------
    ConfigError
        If ``key`` is not a registered model; the message lists the valid keys.
    """
    if key not in MODEL_KEYS:
        raise ConfigError(f"unknown contact model {key!r}; valid models: {', '.join(MODEL_KEYS)}")
    return importlib.import_module(f"cellmech.models.{key}")


def available_models() -> tuple[ModuleType, ...]:
    """All registered model modules, in :data:`MODEL_KEYS` order."""
    return tuple(get_model(k) for k in MODEL_KEYS)


def geometry_defaults(model: ModuleType) -> dict[str, float]:
    """Default geometry keyword arguments of ``model``."""
    return {p.key: p.default for p in model.PARAMETERS}


def validated_geometry(model: ModuleType, geometry: dict[str, float]) -> dict[str, float]:
    """The model's defaults updated with ``geometry``, each value checked against its spec.

    Raises
    ------
    ConfigError
        For a parameter the model does not have (the message lists the valid ones) or a value
        outside its bounds.
    """
    params = geometry_defaults(model)
    unknown = set(geometry) - set(params)
    if unknown:
        raise ConfigError(
            f"model {model.KEY} has no parameter(s) {', '.join(sorted(unknown))}; "
            f"valid: {', '.join(params) or 'none'}"
        )
    specs = {p.key: p for p in model.PARAMETERS}
    params.update({k: specs[k].validate(v) for k, v in geometry.items()})
    return params


def force_per_modulus(
    key: str,
    indentation_m: np.ndarray,
    *,
    poisson_ratio: float = 0.5,
    thickness_m: float | np.ndarray | None = None,
    bonded: bool = True,
    **geometry: float,
) -> np.ndarray:
    """F/E in m² of model ``key``, optionally corrected for a finite sample thickness.

    Parameters
    ----------
    key : str
        Model key (:data:`MODEL_KEYS`).
    indentation_m : array_like
        Indentation δ in m, any shape (e.g. (n_curves, n_points)); 0 where δ <= 0, NaN where NaN.
    poisson_ratio : float
        Poisson's ratio ν of the sample, in [0, 0.5].
    thickness_m : float or array_like, optional
        Sample thickness h in m, broadcastable against ``indentation_m`` (e.g. shape (n, 1) per
        curve). None, inf or NaN: infinitely thick (no correction); h <= 0 gives NaN.
    bonded : bool
        Whether the sample adheres to its rigid support (finite-thickness correction only).
    **geometry : float
        Tip geometry (the model's :data:`PARAMETERS`); omitted ones take their defaults.

    Returns
    -------
    ndarray
        F/E in m² (float64), shape of ``indentation_m`` broadcast with ``thickness_m``; the force
        is ``E * force_per_modulus(...)`` for a modulus E in Pa.

    Raises
    ------
    ConfigError
        Unknown model key or geometry parameter, value out of bounds, or a correction that does
        not exist for the tip (see :mod:`cellmech.models.finite_thickness`).
    """
    model = get_model(key)
    params = validated_geometry(model, geometry)
    nu = POISSON_RATIO.validate(poisson_ratio)
    delta = np.asarray(indentation_m, dtype=float)
    out = model.force_per_modulus(delta, poisson_ratio=nu, **params)
    if thickness_m is None:
        return out
    h = np.asarray(thickness_m, dtype=float)
    if np.all((h == np.inf) | np.isnan(h)):  # infinitely thick everywhere
        return out
    factor = correction(model, delta, h, poisson_ratio=nu, bonded=bonded, **params)
    if factor.shape == out.shape:
        out *= factor
        return out
    return out * factor


def model_force(
    key: str,
    indentation_m: np.ndarray,
    youngs_modulus_pa: float | np.ndarray,
    *,
    poisson_ratio: float = 0.5,
    **geometry: float,
) -> np.ndarray:
    """Force in N of model ``key`` at ``indentation_m`` (m) for modulus ``youngs_modulus_pa``.

    Geometry keywords not given take the model's defaults; unknown ones raise ConfigError.
    Keywords ``thickness_m`` and ``bonded`` add the finite-thickness correction as in
    :func:`force_per_modulus`.
    """
    per_e = force_per_modulus(key, indentation_m, poisson_ratio=poisson_ratio, **geometry)
    return np.asarray(youngs_modulus_pa) * per_e


def _geometry_specs() -> dict[str, Any]:
    """Every model's geometry :class:`~cellmech.models.ParameterSpec`, by key."""
    specs: dict[str, Any] = {}
    for model in available_models():
        for spec in model.PARAMETERS:
            specs.setdefault(spec.key, spec)
    return specs


def _geometry_keys(model: str) -> set[str]:
    return {p.key for p in get_model(model).PARAMETERS}


def _geometry_notes(model: str) -> list[str]:
    return [
        f"model {other.KEY} takes: " + ", ".join(f"{p.key} [{p.unit}]" for p in other.PARAMETERS)
        for other in available_models()
        if model != other.KEY and other.PARAMETERS
    ]


#: the ``[fit.geometry]`` table: its keys depend on the model
GEOMETRY = SubTable(
    specs=_geometry_specs,
    selector="model",
    accepts=_geometry_keys,
    help="parameters of the contact model",
    notes=_geometry_notes,
)


def fitted_force(result, position: int, tip_position_m: np.ndarray) -> np.ndarray:
    """The fitted model of one curve at preprocessed tip positions, in N.

    ``F(x) = b + E g(cp - x)`` with the curve's fitted modulus E, contact point cp and baseline
    b, and ``g`` the model's force per modulus (:func:`model_force` with the fit's geometry and
    Poisson ratio; zero indentation below the contact point). The report and the napari curve
    inspector draw fits with it.

    Parameters
    ----------
    result : FitResult
        The fit (its ``model`` and ``parameters`` give the model, geometry and Poisson ratio).
    position : int
        Index into ``result``'s arrays.
    tip_position_m : ndarray, shape (m,)
        Tip positions of the preprocessed curve, m (the frame of ``contact_point_m``).

    Returns
    -------
    ndarray, shape (m,)
        Force in N; NaN where the fit has no values.
    """
    params = result.parameters
    indentation = result.contact_point_m[position] - np.asarray(tip_position_m, float)
    force = model_force(
        result.model,
        np.clip(indentation, 0.0, None),
        result.youngs_modulus_pa[position],
        poisson_ratio=params.get("poisson_ratio", 0.5),
        **dict(params.get("geometry", {})),
    )
    return result.baseline_n[position] + force
