"""Force-curve preprocessing: from raw approach/retract segments to indentation curves.

Every step runs on a whole block of curves (ragged curves padded with NaN) in compiled
per-curve kernels (:mod:`cellmech.kernels.precore`): one joins the segments, checks them and
computes the tip position, one subtracts the offsets and re-splits in place, so the full-length data
are copied once and passed over a few times while each curve sits in the cache. The default
options reproduce the standard workflow of nanite (Müller et al., BMC Bioinformatics 20, 465
(2019)): tip-sample separation, force-offset correction, tip-offset (contact point) correction
and approach/retract re-splitting at the turning point; the order is

1. orient the height axis (files recorded with the opposite sign are flipped),
2. optional moving-average smoothing of the force,
3. tip position = height + force / k (tip-sample separation),
4. optional baseline tilt removal (a line fitted to the baseline before contact; the tip
   position follows the corrected force),
5. contact-point estimate on the approach (up to the force maximum) and force offset (mean of
   the points before contact; the tip position follows, so it is height + corrected force / k
   and the zero-force height of the fit carries no offset),
6. tip offset: the tip position at the contact estimate is subtracted,
7. approach/retract re-split at the point of deepest indentation (turning point).

A curve that cannot be processed gets a :class:`~cellmech.containers.CurveStatus` code, never an
exception.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cellmech.containers import CurveBlock, CurveStatus, IndentationCurves
from cellmech.errors import ConfigError
from cellmech.options import check_choices, option
from cellmech.runtime import kernel

# numba kernels, imported (and compiled) on first use only
gather_columns, moving_average = (
    kernel("cellmech.kernels.curvemath", n) for n in ("gather_columns", "moving_average")
)
argmax_valid, assemble, contact_estimate, finish, pad_nan, spike_proof_peak = (
    kernel("cellmech.kernels.precore", n)
    for n in (
        "argmax_valid",
        "assemble",
        "contact_estimate",
        "finish",
        "pad_nan",
        "spike_proof_peak",
    )
)

__all__ = ["CONTACT_METHODS", "PreprocessOptions", "preprocess", "required_fields"]

#: contact-point estimators: name -> one-line description
CONTACT_METHODS = {
    "deviation_from_baseline": "first point exceeding twice the largest baseline deviation",
    "piecewise_linear": "least-squares fit of a constant baseline joined to a line",
}
HEIGHT_SOURCES = ("auto", "measured", "piezo")
TILT_AXES = ("none", "height", "time")
MIN_POINTS = 5


@dataclass(frozen=True)
class PreprocessOptions:
    """Options of :func:`preprocess` (defaults: nanite's standard workflow).

    Parameters
    ----------
    height_source : {"auto", "measured", "piezo"}
        Height used for the tip position: the sensor-measured height, the piezo height, or the
        measured one when recorded ("auto").
    compute_tip_position : bool
        Tip-sample separation: tip position = height + force / k. If False the height is used.
    contact_method : {"deviation_from_baseline", "piecewise_linear"}
        Contact-point estimator (see :data:`CONTACT_METHODS`).
    baseline_fraction : float
        Leading fraction (1) of the approach that defines the baseline for the deviation method.
    correct_force_offset : bool
        Subtract the mean force of the points before the contact estimate.
    tilt_axis : {"none", "height", "time"}
        Remove a linear baseline tilt, a function of the tip position ("height", e.g. optical
        interference) or of time ("time", a drift), from the whole curve. The line is fitted
        to the leading 80 % of the points before the contact estimate, then tilt and estimate
        are refined once more.
    correct_tip_offset : bool
        Subtract the tip position at the contact estimate, so the estimate lies at 0 m.
    split_at_turning_point : bool
        Re-split approach and retract at the point of deepest indentation, which can lie a few
        points into the recorded retract segment.
    keep_approach_peak : bool
        The re-split never ends the approach before the force maximum of the recorded
        approach: on a rigid substrate only one or two points lie on the wall and the turning
        point (nanite's rule, kept with False) can fall before them, leaving no contact. An
        isolated spike is not that maximum unless it is the last approach point (where the
        instrument stopped at the setpoint), so a spike above the setpoint in the baseline
        does not end the approach before the contact.
    skip_baseline_spikes : bool
        The deviation-from-baseline estimate passes over a point that also exceeds both its
        neighbours by its threshold margin (an isolated spike or noise excursion in the
        baseline), where nanite's rule (kept with False) stops and so rests the force offset,
        the baseline tilt and the tip offset on the points before it.
    smooth_window : int
        Moving-average window in points applied to the force (1 = no smoothing).
    """

    height_source: str = option("auto", "height for the tip position", choices=HEIGHT_SOURCES)
    compute_tip_position: bool = option(True, "tip position = height + force / k")
    contact_method: str = option(
        "deviation_from_baseline", "contact-point estimator", choices=tuple(CONTACT_METHODS)
    )
    baseline_fraction: float = option(0.1, "leading fraction of the approach used as baseline")
    correct_force_offset: bool = option(True, "subtract the mean force before contact")
    tilt_axis: str = option("height", "remove a linear baseline tilt versus", choices=TILT_AXES)
    correct_tip_offset: bool = option(True, "put the estimated contact point at 0 m")
    split_at_turning_point: bool = option(True, "re-split approach/retract at deepest indentation")
    keep_approach_peak: bool = option(
        True, "the re-split never cuts the recorded approach before its force maximum"
    )
    skip_baseline_spikes: bool = option(
        True, "the deviation contact estimate passes over isolated spikes in the baseline"
    )
    smooth_window: int = option(1, "moving-average window of the force in points (1 = off)")

    def __post_init__(self) -> None:
        check_choices(self, "preprocess")
        if not 0.0 < self.baseline_fraction < 1.0:
            raise ConfigError(
                f"preprocess option baseline_fraction={self.baseline_fraction!r} must lie in (0, 1)"
            )
        if int(self.smooth_window) != self.smooth_window or self.smooth_window < 1:
            raise ConfigError(
                f"preprocess option smooth_window={self.smooth_window!r} must be an integer >= 1"
            )


def preprocess(
    block: CurveBlock,
    spring_constant_n_per_m: float,
    options: PreprocessOptions = PreprocessOptions(),
) -> IndentationCurves:
    """Turn a block of raw curves into indentation curves.

    Parameters
    ----------
    block : CurveBlock
        Raw approach (and retract) segments of ``n`` curves.
    spring_constant_n_per_m : float
        Cantilever spring constant k in N/m.
    options : PreprocessOptions
        What to do (see the module docstring for the order of the steps).

    Returns
    -------
    IndentationCurves
        Approach curves (tip position, force), padded to the longest one. Curves with NaN/inf
        in their valid points get INVALID_INPUT, curves with fewer than 5 points TOO_FEW_POINTS;
        their data are kept as they are.

    Raises
    ------
    ConfigError
        If the spring constant is not positive or ``tilt_axis="time"`` is asked for a block
        without time stamps.
    """
    k = float(spring_constant_n_per_m)
    if not (np.isfinite(k) and k > 0):
        raise ConfigError(f"spring_constant_n_per_m={spring_constant_n_per_m!r} must be > 0 N/m")
    app_h, app_f, ret_h, ret_f, n_app, n_ret = _segment_arrays(block, options)
    n_tot = n_app + n_ret
    flags = (
        options.correct_force_offset,
        options.correct_tip_offset,
        options.split_at_turning_point,
    )
    method, rule = _method_code(options), _deviation_rule(options)
    tilt = options.tilt_axis != "none"
    # one kernel does every step unless smoothing or a tilt versus time intervene
    fused = options.smooth_window == 1 and options.tilt_axis != "time"
    tip, force, finite, _, contact, offset, turn, peak = assemble(
        app_h,
        app_f,
        ret_h,
        ret_f,
        n_app,
        n_ret,
        k,
        options.compute_tip_position and options.smooth_window == 1,
        rule,
        (method, tilt, flags) if fused else (0, False, (False, False, False)),
    )
    status = np.where(finite, CurveStatus.OK, CurveStatus.INVALID_INPUT).astype(np.int8)
    if block.status is not None:  # curves the reader found damaged keep their status
        status = np.where(block.status != CurveStatus.OK, block.status, status).astype(np.int8)
    status[(status == CurveStatus.OK) & (n_app < MIN_POINTS)] = CurveStatus.TOO_FEW_POINTS
    if tip.shape[1] and not fused:  # no points at all: every curve is TOO_FEW_POINTS already
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN/inf only in failed curves
            tip, force, contact, n_clip = _smoothed(tip, force, contact, n_tot, k, options)
            axis = _time(block, status) if options.tilt_axis == "time" else tip
            inv_k = 1.0 / k if options.compute_tip_position else 0.0
            contact, offset, turn, peak = finish(
                tip,
                force,
                axis,
                contact,
                n_clip,
                n_tot,
                n_app,
                rule,
                (method, tilt, flags),
                k,
                inv_k,
            )
    if options.keep_approach_peak and force.shape[1]:
        turn = np.where(turn >= 0, np.maximum(turn, peak + 1), turn)
    n_app = np.where((status == CurveStatus.OK) & (turn >= 0), turn, n_app)
    status[(status == CurveStatus.OK) & (n_app < MIN_POINTS)] = CurveStatus.TOO_FEW_POINTS
    m = int(n_app.max()) if n_app.size else 0
    pad_nan(tip, force, n_app, m)
    return IndentationCurves(
        curve_index=block.curve_index,
        tip_position_m=tip[:, :m],
        force_n=force[:, :m],
        n_points=n_app,
        tip_offset_m=offset,
        contact_index=np.where(status == CurveStatus.OK, contact, -1),
        status=status,
        spring_constant_n_per_m=k,
        parameters=asdict(options),
    )


def _smoothed(tip, force, contact, n_tot, k, options):
    """Smoothed force, tip position, contact estimate and the points before the force
    maximum (the range of contact estimates) of the path that does not fuse every step.

    ``tip`` is the tip position, or the oriented height when smoothing is asked for (the tip
    position and the force maximum are then computed here from the smoothed force).
    ``contact`` is the deviation-from-baseline estimate on the unsmoothed force. Contact
    estimates look only before the force maximum, found by ``spike_proof_peak`` (a spike
    above the setpoint early in the baseline would otherwise end the search there).
    """
    n_clip = spike_proof_peak(force, n_tot)
    if options.smooth_window > 1:
        force = moving_average(force, n_tot, int(options.smooth_window))
        if options.compute_tip_position:
            tip = tip + force / k
        n_clip = argmax_valid(force, n_tot)
    if options.smooth_window > 1 or options.contact_method != "deviation_from_baseline":
        method = _method_code(options)
        contact = contact_estimate(tip, force, n_clip, _deviation_rule(options), method)
    return tip, force, contact, n_clip


def _segments(block: CurveBlock) -> list:
    """The recorded segments of a block: approach, then retract if present."""
    return [block.approach] + ([block.retract] if block.retract is not None else [])


def required_fields(options: PreprocessOptions, has_measured_height: bool) -> frozenset[str]:
    """The optional :class:`CurveSegment` channels :func:`preprocess` reads with ``options``.

    Parameters
    ----------
    options : PreprocessOptions
        The preprocessing options.
    has_measured_height : bool
        Whether the map records a sensor-measured height (:attr:`ForceMap.has_measured_height`).

    Returns
    -------
    frozenset of str
        For :meth:`ForceMap.curves` ``fields``: the measured height when it will be used,
        else the piezo height; the time stamps only for a baseline tilt versus time.
    """
    measured = has_measured_height and options.height_source != "piezo"
    height = {"measured_height_m"} if measured else {"height_m"}
    return frozenset(height | ({"time_s"} if options.tilt_axis == "time" else set()))


def _segment_arrays(block: CurveBlock, options: PreprocessOptions):
    """Height (as ``height_source`` asks) and force of approach and retract, and their
    lengths; the retract arrays have no columns when the block has no retract."""
    if options.tilt_axis == "time" and any(s.time_s is None for s in _segments(block)):
        raise ConfigError(
            "preprocess option tilt_axis='time' needs time stamps, which this block lacks; "
            "use tilt_axis='height' or 'none'"
        )

    def height_of(seg):
        if options.height_source == "piezo" or seg.measured_height_m is None:
            if options.height_source == "measured":
                raise ConfigError(
                    "preprocess option height_source='measured' but the block has no measured "
                    "height; use height_source='auto' or 'piezo'"
                )
            if seg.height_m is None:
                raise ConfigError(
                    "the block was loaded without the piezo height that height_source="
                    f"{options.height_source!r} needs; load it with required_fields(...)"
                )
            return seg.height_m
        return seg.measured_height_m

    app, ret = block.approach, block.retract
    if ret is None:
        none = np.empty((app.n_curves, 0))
        return height_of(app), app.force_n, none, none, app.n_points, np.zeros_like(app.n_points)
    return height_of(app), app.force_n, height_of(ret), ret.force_n, app.n_points, ret.n_points


def _time(block: CurveBlock, status: np.ndarray) -> np.ndarray:
    """Joined time stamps in s (inf replaced by NaN in failed curves)."""
    segs = _segments(block)
    time = gather_columns([s.time_s for s in segs], [s.n_points for s in segs])
    bad = status == CurveStatus.INVALID_INPUT
    if bad.any():
        time[bad] = np.where(np.isinf(time[bad]), np.nan, time[bad])
    return time


def _deviation_rule(options: PreprocessOptions) -> tuple[float, bool]:
    """The kernels' deviation-from-baseline rule: (baseline fraction, skip isolated spikes)."""
    return float(options.baseline_fraction), bool(options.skip_baseline_spikes)


def _method_code(options: PreprocessOptions) -> int:
    """The kernels' code of the contact estimator: its position in :data:`CONTACT_METHODS`
    (``DEVIATION``, ``PIECEWISE_LINEAR`` of :mod:`cellmech.kernels.precore`)."""
    return tuple(CONTACT_METHODS).index(options.contact_method)
