"""Results of the fit stage: per-curve status codes and fitted values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cellmech.containers._base import frozen_array, frozen_mapping, set_field
from cellmech.containers.status import CurveStatus, check_status_codes

__all__ = ["FitResult"]


@dataclass(frozen=True)
class FitResult:
    """Per-curve results of a contact-model fit.

    All arrays have shape (n,) and are aligned with ``curve_index`` (positions in the
    :class:`ForceMap` curve list). Values are NaN where ``status`` is not OK, except POOR_FIT
    curves, which keep their values for inspection.

    Parameters
    ----------
    curve_index : ndarray of int
        Curve positions in the map.
    youngs_modulus_pa : ndarray of float
        Young's modulus E in Pa.
    contact_point_m : ndarray of float
        Tip position at first contact, in m (same frame as the preprocessed tip position).
    baseline_n : ndarray of float
        Fitted force baseline (offset) in N.
    zero_force_height_m : ndarray of float
        Measured (or piezo) height at the contact point in m: the zero-force topography.
    indentation_max_m : ndarray of float
        Largest indentation reached in the fitted range, in m.
    rms_residual_n : ndarray of float
        Root-mean-square residual of the fit in N.
    r_squared : ndarray of float
        Coefficient of determination of the fit over the fitted range.
    status : ndarray of int
        :class:`CurveStatus` codes.
    model : str
        Contact-model key.
    parameters : mapping
        Everything needed to reproduce the fit (model geometry, Poisson ratio, options).
    youngs_modulus_se_pa, contact_point_se_m : ndarray of float, optional
        Standard errors of E (Pa) and of the contact point (m) from the covariance of the fit
        at its optimum; NaN when not given.
    """

    curve_index: np.ndarray
    youngs_modulus_pa: np.ndarray
    contact_point_m: np.ndarray
    baseline_n: np.ndarray
    zero_force_height_m: np.ndarray
    indentation_max_m: np.ndarray
    rms_residual_n: np.ndarray
    r_squared: np.ndarray
    status: np.ndarray
    model: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    youngs_modulus_se_pa: np.ndarray | None = None
    contact_point_se_m: np.ndarray | None = None

    FLOAT_FIELDS = (
        "youngs_modulus_pa",
        "contact_point_m",
        "baseline_n",
        "zero_force_height_m",
        "indentation_max_m",
        "rms_residual_n",
        "r_squared",
        "youngs_modulus_se_pa",
        "contact_point_se_m",
    )

    def __post_init__(self) -> None:
        idx = frozen_array(self.curve_index, np.int64, "curve_index", 1)
        set_field(self, "curve_index", idx)
        for name in self.FLOAT_FIELDS:
            value = getattr(self, name)
            value = np.full(idx.size, np.nan) if value is None else value
            arr = frozen_array(value, np.float64, name, 1)
            if arr.size != idx.size:
                raise ValueError(f"{name} has {arr.size} entries, curve_index has {idx.size}")
            set_field(self, name, arr)
        status = frozen_array(self.status, np.int8, "status", 1)
        if status.size != idx.size:
            raise ValueError(f"status has {status.size} entries, curve_index has {idx.size}")
        check_status_codes(status)
        set_field(self, "status", status)
        set_field(self, "parameters", frozen_mapping(self.parameters))

    @property
    def n_curves(self) -> int:
        """Number of curves."""
        return int(self.curve_index.size)

    @property
    def status_labels(self) -> np.ndarray:
        """Status codes as lower-case labels, shape (n,)."""
        labels = {int(s): s.label for s in CurveStatus}  # codes need not be contiguous
        return np.array([labels.get(i, "") for i in range(max(labels) + 1)])[self.status]

    @classmethod
    def concatenate(cls, results: Sequence[FitResult]) -> FitResult:
        """Join results of several blocks fitted with the same model and parameters."""
        if not results:
            raise ValueError("nothing to concatenate")
        first = results[0]
        for r in results[1:]:
            if r.model != first.model or dict(r.parameters) != dict(first.parameters):
                raise ValueError("cannot concatenate results of different models or parameters")
        arrays = {
            name: np.concatenate([getattr(r, name) for r in results])
            for name in ("curve_index", "status", *cls.FLOAT_FIELDS)
        }
        return cls(**arrays, model=first.model, parameters=first.parameters)
