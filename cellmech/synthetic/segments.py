"""Extra curve segments for synthetic JPK files: a dwell (pause) and a sine modulation.

Real recordings on cells often hold the tip at the end of the approach before retracting
(a *pause*: JPK ``constant-height-pause``, during which the force relaxes, or
``constant-force-pause``, during which the tip creeps), and newer JPK software adds
oscillation segments (style ``modulation``) for microrheology. These builders continue the
approach of each curve so that :class:`cellmech.io.jpk.writer.ExtraSegment` can write files
shaped like those recordings; cellmech reads them as force-distance curves (the extra
segments are listed, never fitted).
"""

from __future__ import annotations

import numpy as np

from cellmech.containers import CurveSegment

__all__ = ["dwell_segment", "modulation_segment"]


def _end_points(approach: CurveSegment) -> dict[str, np.ndarray]:
    """Last valid value of each channel of every curve, shape (n,) each (NaN when empty)."""
    n = approach.n_curves
    last = np.maximum(approach.n_points - 1, 0)
    out = {}
    for name in ("height_m", "force_n", "measured_height_m"):
        values = getattr(approach, name)
        if values is None:
            continue
        if values.shape[1] == 0:
            out[name] = np.full(n, np.nan)
            continue
        end = values[np.arange(n), last]
        out[name] = np.where(approach.n_points > 0, end, np.nan)
    return out


def _segment(end: dict, height_m: np.ndarray, force_n: np.ndarray) -> CurveSegment:
    """A segment of ``(n, m)`` heights and forces (measured height = piezo height offset by
    the approach's last difference, when the approach has one)."""
    measured = None
    if "measured_height_m" in end:
        measured = height_m + (end["measured_height_m"] - end["height_m"])[:, None]
    n_points = np.full(height_m.shape[0], height_m.shape[1], dtype=np.int64)
    return CurveSegment(height_m, force_n, n_points, measured_height_m=measured)


def dwell_segment(
    approach: CurveSegment,
    *,
    n_points: int = 64,
    duration_s: float = 1.0,
    relaxation: float = 0.2,
    time_constant_s: float = 0.3,
) -> CurveSegment:
    """A constant-height pause after the approach, the force relaxing exponentially.

    Parameters
    ----------
    approach : CurveSegment
        The approach of ``n`` curves; each pause starts at its last point.
    n_points : int
        Points per pause (the same for every curve).
    duration_s : float
        Pause duration in s (only sets the relaxation's time scale here).
    relaxation : float
        Fraction of the final force lost at the end of a long pause (0: no relaxation).
    time_constant_s : float
        Relaxation time constant in s.

    Returns
    -------
    CurveSegment
        Shape ``(n, n_points)``: height constant at the approach's last height (m),
        ``F(t) = F_end (1 - relaxation (1 - exp(-t / time_constant_s)))`` (N).
    """
    end = _end_points(approach)
    t = np.arange(n_points) * duration_s / n_points
    decay = 1 - relaxation * (1 - np.exp(-t / time_constant_s))
    height = np.repeat(end["height_m"][:, None], n_points, axis=1)
    return _segment(end, height, end["force_n"][:, None] * decay[None, :])


def modulation_segment(
    approach: CurveSegment,
    *,
    n_points: int = 128,
    duration_s: float = 1.0,
    amplitude_m: float = 20e-9,
    frequency_hz: float = 5.0,
) -> CurveSegment:
    """A sine modulation of the height about the approach's last point.

    Parameters
    ----------
    approach : CurveSegment
        The approach of ``n`` curves (at least two points each for the stiffness).
    n_points : int
        Points per modulation segment.
    duration_s : float
        Segment duration in s.
    amplitude_m : float
        Height amplitude in m.
    frequency_hz : float
        Modulation frequency in Hz.

    Returns
    -------
    CurveSegment
        Shape ``(n, n_points)``: ``h(t) = h_end + A sin(2 pi f t)`` (m) and
        ``F(t) = F_end + s A sin(2 pi f t)`` (N) with ``s`` the slope dF/dh of each curve's
        last two approach points (an elastic response, no phase lag).
    """
    end = _end_points(approach)
    n = approach.n_curves
    before = np.maximum(approach.n_points - 2, 0)
    rows = np.arange(n)
    dh = end["height_m"] - approach.height_m[rows, before]
    df = end["force_n"] - approach.force_n[rows, before]
    slope = np.divide(df, dh, out=np.zeros(n), where=dh != 0)
    t = np.arange(n_points) * duration_s / n_points
    wave = amplitude_m * np.sin(2 * np.pi * frequency_hz * t)
    height = end["height_m"][:, None] + wave[None, :]
    force = end["force_n"][:, None] + slope[:, None] * wave[None, :]
    return _segment(end, height, force)
