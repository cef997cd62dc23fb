"""The result of registering an AFM map onto a fluorescence field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cellmech.containers._base import frozen_array, frozen_mapping, set_field

__all__ = ["Registration"]


@dataclass(frozen=True)
class Registration:
    """An AFM -> fluorescence transform with its error estimate and verdict.

    Parameters
    ----------
    afm_px_to_fluorescence_px : ndarray, shape (3, 3)
        AFM grid pixel ``(row, col, 1)`` -> fluorescence pixel ``(row, col, 1)``.
    afm_m_to_fluorescence_m : ndarray, shape (3, 3)
        AFM scanner/stage ``(x, y, 1)`` in m (the frame of the curves' recorded x/y) ->
        fluorescence stage ``(x, y, 1)`` in m.
    method : str
        "metadata", "calibration", "landmarks", "rigid" or "refined" (the last step kept).
    error_estimate_m : float
        Estimated RMS registration error over the AFM grid, in m (an upper estimate: the
        true error is below it in >= 90 % of cases on synthetic truth).
    accepted : bool
        False when the result cannot be trusted; downstream results carry this flag.
    reason : str
        Why it was not accepted (or a short summary when it was).
    checks : mapping
        Name -> ``{"value": ..., "threshold": ..., "passed": bool}`` of every check that ran.
    parameters : mapping
        Options used and per-step details (JSON-ready).
    """

    afm_px_to_fluorescence_px: np.ndarray
    afm_m_to_fluorescence_m: np.ndarray
    method: str
    error_estimate_m: float
    accepted: bool
    reason: str = ""
    checks: Mapping[str, Any] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("afm_px_to_fluorescence_px", "afm_m_to_fluorescence_m"):
            matrix = frozen_array(getattr(self, name), np.float64, name, 2)
            if matrix.shape != (3, 3) or not np.all(np.isfinite(matrix)):
                raise ValueError(f"{name} must be a finite 3x3 matrix, got {matrix.shape}")
            set_field(self, name, matrix)
        set_field(self, "error_estimate_m", float(self.error_estimate_m))
        set_field(self, "accepted", bool(self.accepted))
        set_field(self, "checks", frozen_mapping(self.checks))
        set_field(self, "parameters", frozen_mapping(self.parameters))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (what ``registration.json`` holds)."""
        return {
            "afm_px_to_fluorescence_px": self.afm_px_to_fluorescence_px.tolist(),
            "afm_m_to_fluorescence_m": self.afm_m_to_fluorescence_m.tolist(),
            "method": self.method,
            "error_estimate_m": self.error_estimate_m,
            "accepted": self.accepted,
            "reason": self.reason,
            "checks": dict(self.checks),
            "parameters": dict(self.parameters),
        }
