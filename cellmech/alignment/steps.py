"""The registration steps composed by :func:`cellmech.register.register`.

:class:`RegistrationContext` holds what every step needs (frames, AFM footprint, cell mask,
options); :func:`rigid_with_scale` and :func:`try_refine` are the alignment steps;
:meth:`RegistrationContext.finish` runs the checks and builds the
:class:`~cellmech.containers.Registration`.

Search (coarse to fine): the coarse multi-start scores every pose of the rotation x
translation grid on footprint points ~``COARSE_POINT_SPACING_M`` apart with the coarse
smoothing; a Nelder-Mead local search from each of the best distinct poses runs on points
~``START_POINT_SPACING_M`` apart, and only the winner is polished on every fine point. The
smoothed cell mask is computed once per sigma on a grid matched to that sigma
(:meth:`~cellmech.alignment.footprint.FluoMask.smoothed`).

Error estimate (RMS over the AFM grid, m): :mod:`cellmech.alignment.estimate`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize
from skimage.segmentation import expand_labels

from cellmech.alignment import estimate
from cellmech.alignment import footprint as fp
from cellmech.alignment.constellation import Constellation, match_cells, similarity_fit
from cellmech.containers import FitResult, ForceMap, Registration, Segmentation
from cellmech.gridmaps import to_grid
from cellmech.tipshape import lateral_reach
from cellmech.transforms import fluorescence_m_to_px, grid_px_to_m, scale_factor

__all__ = ["RegistrationContext", "rigid_with_scale", "try_refine"]

#: fine-grid spacing of the AFM footprint, m
FINE_SPACING_M = 0.75e-6
#: spacing of the points scored by the coarse multi-start search, m
COARSE_POINT_SPACING_M = 2.5e-6
#: spacing of the points scored by the local search from each start (the best one is then
#: polished on every fine point), m
START_POINT_SPACING_M = 1.5e-6


@dataclass(frozen=True)
class RegistrationContext:
    """Everything the steps share (built once per call); ``tip_geometry`` is the fit's tip,
    ``rim_m`` how far it can widen a footprint (:func:`_rim_m`)."""

    options: Any
    afm_px_to_m: np.ndarray
    fluo_m_to_px: np.ndarray
    heights_m: np.ndarray
    afm: fp.AfmFootprint
    fluo: fp.FluoMask
    grid_shape: tuple[int, int]
    expanded_labels: np.ndarray
    tip_geometry: dict
    rim_m: float

    @classmethod
    def build(
        cls, force_map: ForceMap, fit: FitResult, seg: Segmentation, opt
    ) -> RegistrationContext:
        px_to_m = grid_px_to_m(force_map.grid)
        tip = dict(fit.parameters.get("geometry", {}))
        heights = to_grid(force_map, fit.curve_index, fit.zero_force_height_m)
        afm = fp.afm_footprint(
            heights,
            px_to_m,
            threshold_m=opt.height_threshold_m,
            level_percentile=opt.substrate_percentile,
            fine_spacing_m=FINE_SPACING_M,
            min_area_m2=opt.min_cell_area_m2,
        )
        m_to_px = fluorescence_m_to_px(seg.pixel_size_m, seg.origin_m)
        fluo = fp.fluo_mask(seg.cell_labels, m_to_px, seg.pixel_size_m)
        rim = _rim_m(heights, afm.level_m, tip, opt)
        grow = (opt.max_match_distance_m + rim) / fluo.pixel_size_m
        expanded = (
            expand_labels(seg.cell_labels, grow) if seg.cell_labels.any() else seg.cell_labels
        )
        shape = force_map.grid.shape
        return cls(opt, px_to_m, m_to_px, heights, afm, fluo, shape, expanded, tip, rim)

    @property
    def afm_pitch_m(self) -> float:
        """Mean AFM pixel pitch, m."""
        return scale_factor(self.afm_px_to_m)

    @property
    def fine_spacing_m(self) -> float:
        return self.afm_pitch_m * self.grid_shape[0] / self.afm.fine_shape[0]

    def grid_rms_radius_m(self) -> float:
        """RMS distance of the AFM pixel centres from the grid centre, m."""
        rows, cols = self.grid_shape
        return self.afm_pitch_m * float(np.sqrt((rows**2 - 1) / 12 + (cols**2 - 1) / 12))

    def scorer(
        self, sigma_m: float, spacing_m: float, scale: float, reflect: bool, start, shrink_m=0.0
    ):
        """Poses (k, 3) -> mean squares at smoothing ``sigma_m`` on fine points ~``spacing_m``
        apart (every point when ``spacing_m`` is 0), the AFM footprint's edges moved inwards by
        ``shrink_m``."""
        smooth_fluo, m_to_px = self.fluo.smoothed(sigma_m)
        stride = max(1, round(spacing_m / self.fine_spacing_m))
        idx = np.arange(len(self.afm.points_m)).reshape(self.afm.fine_shape)
        idx = idx[::stride, ::stride].ravel()
        values = self.afm.smoothed(sigma_m, self.fine_spacing_m, shrink_m)[idx]
        points = self.afm.points_m[idx]

        def score(poses: np.ndarray) -> np.ndarray:
            mats = self.pose(np.asarray(poses), scale, reflect, start)
            return fp.mean_squares(smooth_fluo, m_to_px, points, values, mats)

        return score

    def pose(self, pose, scale: float, reflect: bool, start: np.ndarray) -> np.ndarray:
        return fp.pose_matrix(start, self.afm.centre_m, np.asarray(pose), scale, reflect)

    def dice(self, transform: np.ndarray) -> float:
        """Dice overlap of the AFM footprint and the cell mask (nearest pixel) on the map."""
        full = self.fluo_m_to_px @ transform
        pts = self.afm.points_m
        r = np.rint(full[0, 0] * pts[:, 0] + full[0, 1] * pts[:, 1] + full[0, 2]).astype(int)
        c = np.rint(full[1, 0] * pts[:, 0] + full[1, 1] * pts[:, 1] + full[1, 2]).astype(int)
        mask = self.fluo.mask
        ok = (r >= 0) & (r < mask.shape[0]) & (c >= 0) & (c < mask.shape[1])
        fluo = np.zeros(len(pts), dtype=bool)
        fluo[ok] = mask[r[ok], c[ok]]
        total = fluo.sum() + self.afm.inside.sum()
        return float(2 * np.sum(fluo & self.afm.inside) / total) if total else 0.0

    def constellation(self, transform: np.ndarray) -> Constellation:
        """Matched cells under ``transform``, pairs farther apart than the limit dropped."""
        rows = self.afm.fine_shape[0]
        rr, cc = self.afm.fine_px[:, 0], self.afm.fine_px[:, 1]
        step = 1.0 / (rows / self.grid_shape[0])
        border = (rr <= rr.min() + step) | (rr >= rr.max() - step)
        border |= (cc <= cc.min() + step) | (cc >= cc.max() - step)
        con = match_cells(
            self.afm.inside,
            self.afm.points_m,
            border,
            self.expanded_labels,
            self.fluo.mask_labels,
            self.fluo_m_to_px,
            transform,
            self.options.min_cell_area_m2 / self.fine_spacing_m**2,
        )
        near = con.residuals_m(transform) <= self.options.max_match_distance_m
        return Constellation(con.afm_m[near], con.fluo_m[near], con.labels[near])

    def error_estimate(self, transform, pose, scale, reflect, start, scaled: bool):
        """The error estimate (:mod:`cellmech.alignment.estimate`) and its parts, m, among
        them the fitted common-mode widening of the footprint (``footprint_widening_m``)."""
        opt = self.options

        def fine(shrink_m: float):
            return self.scorer(opt.smoothing_m, 0.0, scale, reflect, start, shrink_m)

        reach = self.rim_m + opt.smoothing_m  # the widening the tip can cause, and more
        widening = optimize.minimize_scalar(
            lambda w: fine(w)(np.asarray(pose, float)[None])[0],
            bounds=(-reach, reach),
            method="bounded",
            options={"xatol": opt.smoothing_m / 100},
        ).x

        def score(params: np.ndarray) -> np.ndarray:  # (k, 4): pose and footprint widening
            out = np.empty(len(params))
            for w in np.unique(params[:, 3]):
                rows = params[:, 3] == w
                out[rows] = fine(w)(params[rows, :3])
            return out

        steps = np.array([opt.rotation_step_deg / 8] + [opt.smoothing_m / 4] * 3)
        radius = self.grid_rms_radius_m()
        n_eff = estimate.independent_samples(self.grid_shape, self.afm_pitch_m, opt.smoothing_m)
        at = np.append(np.asarray(pose, float), widening)
        cov = estimate.pose_covariance(score, at, steps, n_eff)
        con = self.constellation(transform)
        x, y = _mapped(transform, con.afm_m)
        residuals = con.fluo_m - np.column_stack([x, y])
        error_m, parts = estimate.error_estimate(
            cov, np.column_stack([x, y]), residuals, self.afm_pitch_m, radius, scaled
        )
        return error_m, parts | {"footprint_widening_m": float(widening)}

    def finish(self, transform: np.ndarray, method: str, error_m: float, details: dict):
        """Run the checks and build the :class:`Registration`."""
        opt = self.options
        checks = {
            "cells_in_image": _check(int(self.fluo.mask.any()), 1, True),
            "footprint_fraction": _check(
                float(self.afm.inside.mean()), opt.min_footprint_fraction, True
            ),
            "dice": _check(self.dice(transform), opt.min_dice, True),
            "error_estimate_m": _check(error_m, opt.max_error_m, False),
        }
        for name, check in details.pop("extra_checks", {}).items():
            checks[name] = check
        if "refine" in details:  # optional step: reported, never a reason to reject
            refine = details["refine"]
            checks["refine"] = {
                "value": refine.get("rms_shift_m", float("nan")),
                "threshold": opt.max_refine_shift_m,
                "passed": True,
                "kept": refine["kept"],
                "reason": refine["reason"],
            }
        failed = [k for k, v in checks.items() if not v["passed"]]
        reason = _reason(failed, checks) if failed else f"{method}: all checks passed"
        px = self.fluo_m_to_px @ transform @ self.afm_px_to_m
        details["options"] = asdict(opt)
        details["tip_geometry"] = self.tip_geometry
        return Registration(
            afm_px_to_fluorescence_px=px,
            afm_m_to_fluorescence_m=transform,
            method=method,
            error_estimate_m=error_m,
            accepted=not failed,
            reason=reason,
            checks=checks,
            parameters=details,
        )


def _rim_m(heights_m: np.ndarray, level_m: float, tip: dict, opt) -> float:
    """How far a footprint may extend beyond its cell through tip convolution, m: the tip's
    lateral reach against the tallest edge the map holds (:func:`~cellmech.tipshape.lateral_reach`).
    The cell labels are grown by this much more than the match distance, so a widened
    footprint is matched whole: clipped, its centroid would follow the transform it was
    matched under, which pulls the centroid scale towards 1."""
    finite = heights_m[np.isfinite(heights_m)]
    tallest = float(finite.max() - level_m) if finite.size else 0.0
    return lateral_reach(tip, tallest - opt.height_threshold_m)


def _check(value, threshold, at_least: bool) -> dict:
    passed = bool(value >= threshold) if at_least else bool(value <= threshold)
    return {"value": value, "threshold": threshold, "passed": passed}


_REASONS = {
    "cells_in_image": "empty image: the segmentation holds no cell",
    "footprint_fraction": "too little of the AFM map is above the dish (no cell footprint)",
    "dice": "no overlap: the AFM footprint does not match the cell mask",
    "error_estimate_m": "error estimate above the limit",
    "search_range": "the best pose lies at the edge of the search range",
}


def _reason(failed: list[str], checks: dict) -> str:
    return "; ".join(
        f"{_REASONS.get(k, k)} ({k}={checks[k]['value']:.3g}, limit {checks[k]['threshold']:.3g})"
        for k in failed
    )


def rigid_with_scale(ctx: RegistrationContext, start: np.ndarray):
    """Multi-start rigid footprint alignment, then the centroid scale when it helps.

    Returns ``(transform, error_m, details)``.
    """
    opt = ctx.options
    hypotheses = (False, True) if opt.allow_reflection else (False,)
    best = None
    tried = {}
    for reflect in hypotheses:
        coarse = ctx.scorer(opt.coarse_smoothing_m, COARSE_POINT_SPACING_M, 1.0, reflect, start)
        poses, _ = fp.multistart(
            coarse,
            opt.rotation_range_deg,
            opt.rotation_step_deg,
            opt.translation_range_m,
            opt.translation_step_m,
        )
        mid = ctx.scorer(opt.smoothing_m, START_POINT_SPACING_M, 1.0, reflect, start)
        for p in fp.distinct(poses, opt.starts, 2 * opt.translation_step_m, opt.rotation_step_deg):
            pose, value = fp.local_search(mid, p, opt.rotation_step_deg / 2, opt.smoothing_m)
            if best is None or value < best[1]:
                best = (pose, value, reflect)
            tried[str(reflect)] = min(value, tried.get(str(reflect), np.inf))
    pose, _, reflect = best
    fine = ctx.scorer(opt.smoothing_m, 0.0, 1.0, reflect, start)
    pose, value = fp.local_search(fine, pose, opt.rotation_step_deg / 4, opt.smoothing_m / 2)
    transform = ctx.pose(pose, 1.0, reflect, start)
    details: dict[str, Any] = {
        "reflected": reflect,
        "rigid_pose": {"angle_deg": pose[0], "shift_x_m": pose[1], "shift_y_m": pose[2]},
        "rigid_mean_squares": value,
        "hypothesis_mean_squares": tried,
        "extra_checks": {"search_range": _range_check(pose, opt)},
    }
    scaled, scale_details = _scale(ctx, transform, pose, reflect, start)
    details["scale"] = scale_details
    scale = 1.0
    if scaled is not None:
        transform, pose, scale = scaled
    error_m, parts = ctx.error_estimate(transform, pose, scale, reflect, start, scaled is not None)
    details["error_parts"] = parts
    return transform, error_m, details


def _range_check(pose: np.ndarray, opt) -> dict:
    margin = max(
        abs(pose[0]) / (opt.rotation_range_deg + opt.rotation_step_deg),
        float(np.max(np.abs(pose[1:]))) / (opt.translation_range_m + opt.translation_step_m),
    )
    return _check(margin, 1.0, False)


def _scale(ctx, transform, pose, reflect, start):
    """Scale from matched centroids; returns ((transform, pose, scale) or None, details)."""
    opt = ctx.options
    con = ctx.constellation(transform)
    details: dict[str, Any] = {"matched_cells": con.n, "kept": False}
    if not opt.estimate_scale or con.n < opt.min_cells_scale:
        details["reason"] = f"{con.n} matched cells (< {opt.min_cells_scale}) or disabled"
        return None, details
    x = np.column_stack(np.asarray(_mapped(transform, con.afm_m)))
    scale = scale_factor(similarity_fit(x, con.fluo_m))
    details["estimate"] = scale
    if abs(scale - 1.0) > opt.max_scale_deviation:
        details["reason"] = f"|scale - 1| > {opt.max_scale_deviation}"
        return None, details
    fine = ctx.scorer(opt.smoothing_m, 0.0, scale, reflect, start)
    new_pose, _ = fp.local_search(fine, pose, opt.rotation_step_deg / 4, opt.smoothing_m / 2)
    scaled = ctx.pose(new_pose, scale, reflect, start)
    before = float(np.sqrt(np.mean(con.residuals_m(transform) ** 2)))
    after = float(np.sqrt(np.mean(con.residuals_m(scaled) ** 2)))
    details.update(residual_before_m=before, residual_after_m=after)
    if after >= before:
        details["reason"] = "did not lower the centroid residuals"
        return None, details
    details["kept"] = True
    return (scaled, new_pose, scale), details


def _mapped(matrix: np.ndarray, pts: np.ndarray):
    return (
        matrix[0, 0] * pts[:, 0] + matrix[0, 1] * pts[:, 1] + matrix[0, 2],
        matrix[1, 0] * pts[:, 0] + matrix[1, 1] * pts[:, 1] + matrix[1, 2],
    )


def try_refine(ctx: RegistrationContext, transform: np.ndarray, error_m: float, image):
    """Mutual-information affine from the rigid answer, kept only if it passes the checks.

    Returns ``(transform, error_m, kept, details)``.
    """
    from cellmech.alignment.refine import mi_affine

    opt = ctx.options
    if image is None:
        fixed, m_to_px = ctx.fluo.smoothed(opt.smoothing_m)
    else:
        fixed, m_to_px = np.asarray(image, float), ctx.fluo_m_to_px
    above = np.nan_to_num(ctx.heights_m - ctx.afm.level_m, nan=0.0)
    try:
        refined = mi_affine(
            fixed,
            np.linalg.inv(m_to_px),
            np.clip(above, 0.0, None),
            ctx.afm_px_to_m,
            transform,
            seed=opt.seed,
        )
    except (RuntimeError, ValueError, np.linalg.LinAlgError) as exc:  # e.g. no sample overlaps
        reason = f"rejected: SimpleITK failed ({str(exc).strip().splitlines()[-1]})"
        return transform, error_m, False, {"refine": {"kept": False, "reason": reason}}
    if not np.all(np.isfinite(refined)):
        reason = "rejected: the refined transform is not finite"
        return transform, error_m, False, {"refine": {"kept": False, "reason": reason}}
    rows, cols = np.indices(ctx.grid_shape)
    grid = np.column_stack(_mapped(ctx.afm_px_to_m, np.column_stack([rows.ravel(), cols.ravel()])))
    a, b = np.column_stack(_mapped(transform, grid)), np.column_stack(_mapped(refined, grid))
    shift = float(np.sqrt(np.mean(np.sum((a - b) ** 2, axis=1))))
    dice_rigid, dice_refined = ctx.dice(transform), ctx.dice(refined)
    near = shift <= opt.max_refine_shift_m
    better = dice_refined > dice_rigid
    moved = f"moved {shift:.3g} m (limit {opt.max_refine_shift_m:.3g} m)"
    overlap = f"Dice {dice_rigid:.4f} -> {dice_refined:.4f}"
    if not near:
        reason = f"rejected: strayed from the rigid answer, {moved}; {overlap}"
    elif not better:
        reason = f"rejected: did not improve the mask overlap, {overlap}; {moved}"
    else:
        reason = f"kept: {overlap}; {moved}"
    details = {
        "refine": {
            "rms_shift_m": shift,
            "dice_rigid": dice_rigid,
            "dice_refined": dice_refined,
            "kept": near and better,
            "reason": reason,
        }
    }
    if not (near and better):
        return transform, error_m, False, details
    return refined, float(np.hypot(error_m, shift)), True, details
