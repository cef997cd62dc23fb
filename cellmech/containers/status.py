"""Per-curve status codes: a failed curve is data (NaN values plus a status), not an error."""

from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = ["CurveStatus", "check_status_codes", "status_counts"]


class CurveStatus(IntEnum):
    """Outcome of processing one curve; anything but OK comes with NaN results.

    OK: fitted and trustworthy. NO_CONTACT: the tip never touched the sample. NOT_CONVERGED:
    the optimiser failed. TOO_FEW_POINTS: not enough points in the approach or fit range.
    INVALID_INPUT: NaN/inf or otherwise unusable data. POOR_FIT: a fit was made but explains
    nothing (R² near zero, modulus at a bound or physically absurd, or residual outliers such
    as spikes); its values are kept for inspection but must not be reported as a modulus.
    RIGID: the tip touched a sample it cannot indent measurably (e.g. the dish): the
    indentation at the setpoint is below what the force noise resolves; E is NaN but the
    contact point and zero-force height are kept.
    CORRUPT: the curve is structurally damaged in the file (a missing channel, header or
    segment, a CRC error); the rest of the map is still read.
    """

    OK = 0
    NO_CONTACT = 1
    NOT_CONVERGED = 2
    TOO_FEW_POINTS = 3
    INVALID_INPUT = 4
    POOR_FIT = 5
    RIGID = 6
    CORRUPT = 7

    @property
    def label(self) -> str:
        """Lower-case name used in tables ("ok", "no_contact", ...)."""
        return self.name.lower()


def check_status_codes(status: np.ndarray) -> None:
    """Raise ValueError unless every value of the integer array ``status`` is a
    :class:`CurveStatus` code (by table lookup: ``np.unique`` would import ``numpy.ma``,
    15-20 ms of a small run's start-up)."""
    if not status.size:
        return
    valid = np.zeros(max(CurveStatus) + 1, bool)
    valid[list(CurveStatus)] = True
    low, high = int(status.min()), int(status.max())
    if low < 0 or high >= valid.size or not valid[status].all():
        raise ValueError(f"status codes must be CurveStatus values {sorted(map(int, CurveStatus))}")


def status_counts(status: np.ndarray) -> dict[str, int]:
    """``{label: number of curves}`` for every :class:`CurveStatus` (zeros included) of the
    valid codes ``status``."""
    counts = np.bincount(np.asarray(status, np.int64), minlength=max(CurveStatus) + 1)
    return {s.label: int(counts[s]) for s in CurveStatus}
