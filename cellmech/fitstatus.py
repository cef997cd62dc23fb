"""Statuses and the :class:`~cellmech.containers.FitResult` of a fit (a helper of
:mod:`cellmech.fit`): what the kernel's per-curve numbers say about each curve.

Each status is a test with a stated threshold in noise units (the fit's robust force noise),
so it means the same on every instrument: see :func:`fit_result`.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from cellmech.containers import CurveStatus, FitResult
from cellmech.kernels import MIN_FIT_POINTS
from cellmech.runtime import kernel

__all__ = ["fit_result"]

end_rise_z = kernel("cellmech.kernels.statcore", "end_rise_z")

#: the last approach point must stand this many noise units (its prediction error) above the
#: straight-line trend of the baseline, or the curve is NO_CONTACT (a curve that never touched
#: passes with probability 3e-7 under Gaussian noise; the real QI map's shallow curves, a
#: setpoint of ~7 noise units, end 5.7-8.7 units above)
NO_CONTACT_Z = 5.0
#: fewest baseline points (out of contact at the fitted contact point) the trend is fitted
#: to; with fewer, the trend is fitted to the whole approach (contact and drift look alike),
#: and a fit of the whole approach (or the "force" range) is POOR_FIT
MIN_BASELINE_POINTS = 10
#: a tip travel from the resolved contact onset to the setpoint below RIGID_Z times its noise
#: (sqrt(2) sd / k) makes a curve RIGID
RIGID_Z = 5.0
#: force noise below this fraction of the force rise counts as no noise (noise-free data)
NOISE_FLOOR = 1e-6
#: ... and above this fraction of the force rise (a glitch of a few noise units in a clean
#: 12 000-point real curve moves nothing; a spike that can move E is a sizeable force)
SPIKE_RISE = 0.05
#: a residual above SPIKE_Z force-noise units (a spike, a jump) makes a fit POOR_FIT
SPIKE_Z = 8.0
#: a low R² is a misfit only where the residuals' RMS exceeds MISFIT_RATIO times the noise
#: (on a noise-limited curve, R² over a long baseline is low although the model describes
#: the curve to the noise; its E standard error says how precise it is). Measured rms/sd:
#: 0.97-1.2 on synthetic cell curves (99th percentile 1.12), 1.0-1.14 on the real QI curves
#: of R² 0.30-0.39, 1.7-98 on real cell and tissue curves (where R² >= 0.95)
MISFIT_RATIO = 1.5
#: values a RIGID curve keeps (E is not measurable)
RIGID_KEPT = ("contact_point_m", "baseline_n", "zero_force_height_m", "rms_residual_n")


def fit_result(curves, status, res, options, thickness) -> FitResult:
    """Assemble the FitResult of the fit kernel's per-curve numbers ``res`` (one row per curve,
    columns as :mod:`cellmech.kernels.fitcore` writes them): statuses, derived quantities,
    NaN for failed curves.

    Statuses, tested in this order on the curves still OK (``sd`` the fit's robust force
    noise, 1.4826 MAD of the residuals out of contact; ``k`` the spring constant):

    * TOO_FEW_POINTS: fewer than MIN_FIT_POINTS fit points.
    * NOT_CONVERGED: a non-finite parameter or sum of squares.
    * NO_CONTACT: the tip never reached the sample. The last approach point (the setpoint;
      the median of the last three where higher) stands less than NO_CONTACT_Z prediction
      errors above the straight-line trend of the baseline (:func:`_end_rise_z`):
      model-free and decided before any contact point is counted, so a drifting or tilted
      baseline is not a contact.
    * RIGID: touched, but the indentation is not resolved: fewer than ``min_contact_points``
      points in contact (the piezo reached the setpoint within a step or two), or a tip
      travel from the resolved contact onset (force above the baseline by CONTACT_Z sd) to the
      setpoint below ``RIGID_Z sqrt(2) sd / k``. E is NaN; the zero-force height is the tip
      position at the setpoint (:func:`_setpoint_tip`), where a rigid sample stops the tip.
    * POOR_FIT: touched, but the model does not describe the curve: R² below
      ``min_r_squared`` with residuals above the noise (RMS > MISFIT_RATIO sd; a curve whose
      residuals are the noise is described, however low its signal), E outside
      [``min_modulus_pa``, ``max_modulus_pa``], an isolated residual above SPIKE_Z sd and
      SPIKE_RISE of the force rise (a spike), or, for the fit ranges starting on the baseline
      ("approach", "force"), fewer than MIN_BASELINE_POINTS fit points out of contact
      (baseline and contact point not resolved).
    * OK otherwise.

    On noise-free data (``sd`` below NOISE_FLOOR of the force rise) the noise tests are
    skipped and a curve with fewer than ``min_contact_points`` points in contact is
    NO_CONTACT.
    """
    e, cp, base, _, ssr, sst, dmax, contact, count, rmax, e_se, cp_se, sd, travel, rise = res.T
    ok = status == CurveStatus.OK
    status[ok & (count < MIN_FIT_POINTS)] = CurveStatus.TOO_FEW_POINTS
    ok = status == CurveStatus.OK
    status[ok & ~np.isfinite(res[:, :7]).all(axis=1)] = CurveStatus.NOT_CONVERGED
    ok = status == CurveStatus.OK
    # the noise tests need noise: below a millionth of the force rise (noise-free or
    # simulated data, where the "noise" is the model's rounding) they are skipped
    noisy = sd > NOISE_FLOOR * np.abs(rise)
    touched = np.where(noisy, _end_rise_z(curves, cp, sd) >= NO_CONTACT_Z, True)
    status[ok & ~touched] = CurveStatus.NO_CONTACT
    # on a rigid sample the tip position barely moves between the resolved onset and the
    # setpoint: both ends carry a tip-position noise sd / k (tip = height + force / k); a
    # touch that leaves fewer than min_contact_points samples in contact is not resolved
    # either (the piezo reaches the setpoint within a step or two)
    resolution = RIGID_Z * np.sqrt(2.0) * sd / curves.spring_constant_n_per_m
    few = contact < options.min_contact_points
    status[ok & touched & noisy & (few | ~(travel > resolution))] = CurveStatus.RIGID
    status[ok & touched & ~noisy & few] = CurveStatus.NO_CONTACT  # noise-free: no step up
    ok = status == CurveStatus.OK
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1.0 - ssr / sst, np.nan)
        rms = np.sqrt(ssr / count)
    # a fit range that starts on the baseline must keep one: a contact point at its first
    # points leaves baseline and contact unresolved (a drift or a tilt mistaken for contact)
    baseline_range = options.fit_range in ("approach", "force")
    poor = (
        ((r2 < options.min_r_squared) & ~(noisy & (rms <= MISFIT_RATIO * sd)))
        | (baseline_range & (count - contact < MIN_BASELINE_POINTS))
        | ~((e >= options.min_modulus_pa) & (e <= options.max_modulus_pa))
        | (noisy & (rmax > SPIKE_Z * sd) & (rmax > SPIKE_RISE * np.abs(rise)))
    )
    status[ok & poor] = CurveStatus.POOR_FIT
    keep = (status == CurveStatus.OK) | (status == CurveStatus.POOR_FIT)
    rigid = status == CurveStatus.RIGID
    # a rigid sample stops the tip: its position at the setpoint is the surface (within the
    # resolution), sharper than a contact point that falls anywhere in the last step
    surface = np.where(rigid, _setpoint_tip(curves), cp)
    height = surface + curves.tip_offset_m - base / curves.spring_constant_n_per_m
    height = np.where(keep | rigid, height, np.nan)
    values = {
        "youngs_modulus_pa": e,
        "contact_point_m": cp,
        "baseline_n": base,
        "zero_force_height_m": height,
        "indentation_max_m": dmax,
        "rms_residual_n": rms,
        "r_squared": r2,
        "youngs_modulus_se_pa": e_se,
        "contact_point_se_m": cp_se,
    }
    params = {f.name: getattr(options, f.name) for f in fields(options)} | {
        "geometry": dict(options.geometry),
        "preprocessing": dict(curves.parameters),
        "sample_thickness": "per curve" if thickness is not None else "infinite",
    }
    return FitResult(
        curve_index=curves.curve_index,
        **{k: np.where(keep | (rigid & (k in RIGID_KEPT)), v, np.nan) for k, v in values.items()},
        status=status,
        model=options.model,
        parameters=params,
    )


def _end_rise_z(curves, cp, sd):
    """How far the last approach point (the setpoint; the median of the last three where
    higher) stands above the baseline trend, in units of its prediction error; shape (n,), NaN
    without a fit.

    The trend is the least-squares line ``F = a + s x`` through the baseline points (tip
    position above the fitted contact point ``cp``, or before the preprocessing's contact
    estimate, whichever baseline is longer: a fit that starts its contact early, as the
    weighted objective can, does not shorten it), or through the whole approach when fewer
    than MIN_BASELINE_POINTS lie there. Its prediction error at the last point ``x_e`` is
    ``sd sqrt(1 + 1/m + (x_e - mean x)^2 / S_xx)`` over the ``m`` trend points (the standard
    prediction interval of a linear regression), ``sd`` the fit's robust force noise. A
    contact ends the approach well above the trend however the baseline drifts; a drifting or
    tilted baseline that never touched (its tilt extrapolated from a short leading part)
    stays on it, while a constant baseline would call it a rise. Computed by
    :func:`cellmech.kernels.statcore.end_rise_z` in one pass per curve.
    """
    return end_rise_z(
        curves.tip_position_m,
        curves.force_n,
        curves.n_points.astype(np.int64),
        np.asarray(cp, float),
        curves.contact_index.astype(np.int64),
        np.asarray(sd, float),
        MIN_BASELINE_POINTS,
    )


def _setpoint_tip(curves):
    """Tip position (m) at the last approach point of every curve, shape (n,)."""
    last = np.maximum(curves.n_points - 1, 0)[:, None]
    return np.take_along_axis(curves.tip_position_m, last, axis=1)[:, 0]
