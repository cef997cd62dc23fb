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
``force_per_modulus(indentation_m, *, poisson_ratio, **geometry) -> ndarray``
    F / E in N/Pa (= m²) for indentations ``indentation_m`` in m (any shape, 0 where the
    indentation is <= 0). Every model is linear in the Young's modulus E, so the force is
    ``E * force_per_modulus(...)``; the fit exploits this to solve E exactly for any trial
    contact point.

The registry (:func:`get_model`, :func:`available_models`) imports the modules listed in
:data:`MODEL_KEYS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np

from cellmech.errors import ConfigError

__all__ = ["MODEL_KEYS", "ParameterSpec", "available_models", "get_model", "model_force"]

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
    """
    model = get_model(key)
    params = geometry_defaults(model)
    unknown = set(geometry) - set(params)
    if unknown:
        raise ConfigError(
            f"model {key} has no parameter(s) {', '.join(sorted(unknown))}; "
            f"valid: {', '.join(params) or 'none'}"
        )
    specs = {p.key: p for p in model.PARAMETERS}
    params.update({k: specs[k].validate(v) for k, v in geometry.items()})
    per_e = model.force_per_modulus(
        np.asarray(indentation_m, float), poisson_ratio=poisson_ratio, **params
    )
    return np.asarray(youngs_modulus_pa) * per_e
