"""Per-curve status codes: a failed curve is data (NaN values plus a status), not an error."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["CurveStatus"]


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
