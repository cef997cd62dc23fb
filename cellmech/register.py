"""Registration stage: the AFM force map onto the fluorescence field, with an error estimate.

Frames (:mod:`cellmech.transforms`): AFM grid pixel (row, col) -> AFM scanner m
(:func:`~cellmech.transforms.grid_px_to_m`; the curves' recorded x/y) -> fluorescence stage m
(the transform found here) -> fluorescence pixel
(:func:`~cellmech.transforms.fluorescence_m_to_px`).

Steps (DESIGN §5), selected by ``RegisterOptions.method``:

1. **initial** transform: the metadata (scanner m == stage m), a saved calibration
   (:func:`load_calibration`, passed as ``initial``) or landmarks (RANSAC fit);
2. **rigid** footprint alignment (:mod:`cellmech.alignment.footprint`): the AFM
   zero-force-height footprint against the fluorescence cell mask, both smoothed in
   physical units, mean squares, multi-start over rotation and translation (and the mirrored
   hypothesis when ``allow_reflection``); then the **scale** from the constellation of
   matched cell centroids (:mod:`cellmech.alignment.constellation`; the footprint matched
   to a cell reaches as far beyond it as the fit's tip widens it,
   :func:`cellmech.tipshape.lateral_reach`), kept only when it lowers the centroid
   residuals;
3. optional **refined**: a mutual-information affine (:mod:`cellmech.alignment.refine`),
   kept only when it stays near the rigid answer and improves the mask overlap.

A registration that cannot be trusted is returned with ``accepted=False`` and the reason.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellmech.alignment.landmarks import Landmarks, ransac_fit, read_landmarks
from cellmech.alignment.steps import RegistrationContext, rigid_with_scale, try_refine
from cellmech.containers import FitResult, ForceMap, Registration, Segmentation
from cellmech.errors import ConfigError, CorruptFileError, MissingFileError
from cellmech.options import check_choices, check_range, option

__all__ = ["METHODS", "RegisterOptions", "load_calibration", "read_landmarks", "register"]

METHODS = ("metadata", "rigid", "refined", "landmarks")
SECTION = "register"


@dataclass(frozen=True)
class RegisterOptions:
    """Options of :func:`register` (config section ``[register]``)."""

    method: str = option("rigid", "registration method", choices=METHODS)
    allow_reflection: bool = option(False, "also try the mirrored AFM map")
    rotation_range_deg: float = option(10.0, "multi-start rotation half-range", "deg")
    rotation_step_deg: float = option(2.0, "multi-start rotation step", "deg")
    translation_range_m: float = option(15e-6, "multi-start translation half-range", "m")
    translation_step_m: float = option(2e-6, "multi-start translation step", "m")
    starts: int = option(3, "best distinct coarse poses refined per hypothesis")
    coarse_smoothing_m: float = option(3e-6, "Gaussian sigma of the masks, coarse search", "m")
    smoothing_m: float = option(1e-6, "Gaussian sigma of the masks, final fit", "m")
    height_threshold_m: float = option(0.3e-6, "height above the dish counted as cell", "m")
    substrate_percentile: float = option(5.0, "percentile of heights taken as the dish", "%")
    min_cell_area_m2: float = option(20e-12, "smaller footprint blobs are outliers", "m2")
    estimate_scale: bool = option(True, "estimate the AFM/optical scale from cell centroids")
    min_cells_scale: int = option(3, "matched cells needed for the scale estimate")
    max_scale_deviation: float = option(0.05, "largest accepted |scale - 1|")
    max_match_distance_m: float = option(3e-6, "largest centroid distance of a match", "m")
    min_dice: float = option(0.5, "least Dice overlap of footprint and cell mask")
    min_footprint_fraction: float = option(0.02, "least fraction of the map that is cell")
    max_error_m: float = option(3e-6, "largest accepted error estimate", "m")
    max_refine_shift_m: float = option(1.5e-6, "largest RMS move of the refinement", "m")
    metadata_error_m: float = option(10e-6, "error assumed for metadata/calibration only", "m")
    landmark_model: str = option("similarity", "landmark fit", choices=("similarity", "affine"))
    landmark_threshold_m: float = option(2e-6, "landmark inlier residual", "m")
    landmark_iterations: int = option(500, "RANSAC iterations")
    seed: int = option(0, "random seed (RANSAC, metric sampling)")

    def __post_init__(self) -> None:
        check_choices(self, SECTION)
        s = SECTION
        for name in ("rotation_range_deg", "translation_range_m"):
            check_range(s, name, getattr(self, name), low=0.0)
        for name in (
            "rotation_step_deg",
            "translation_step_m",
            "coarse_smoothing_m",
            "smoothing_m",
            "landmark_threshold_m",
            "max_error_m",
            "metadata_error_m",
            "max_refine_shift_m",
            "max_match_distance_m",
        ):
            check_range(s, name, getattr(self, name), low=0.0, low_open=True)
        for name in ("height_threshold_m", "min_cell_area_m2"):
            check_range(s, name, getattr(self, name), low=0.0)
        check_range(s, "substrate_percentile", self.substrate_percentile, low=0.0, high=100.0)
        for name in ("min_dice", "min_footprint_fraction"):
            check_range(s, name, getattr(self, name), low=0.0, high=1.0)
        check_range(s, "max_scale_deviation", self.max_scale_deviation, low=0.0, high=0.5)
        check_range(s, "starts", self.starts, low=1, integer=True)
        check_range(s, "min_cells_scale", self.min_cells_scale, low=2, integer=True)
        check_range(s, "landmark_iterations", self.landmark_iterations, low=1, integer=True)
        check_range(s, "seed", self.seed, low=0, integer=True)
        for name in ("allow_reflection", "estimate_scale"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"[{s}] {name}={getattr(self, name)!r} must be true or false")


def load_calibration(path: str | Path) -> np.ndarray:
    """The AFM m -> fluorescence m matrix (3, 3) of a previous ``registration.json``."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: calibration file not found (a registration.json)")
    try:
        matrix = np.array(json.loads(path.read_text("utf-8"))["afm_m_to_fluorescence_m"], float)
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptFileError(
            f"{path}: not a registration.json with afm_m_to_fluorescence_m ({exc})"
        ) from exc
    if matrix.shape != (3, 3) or not np.all(np.isfinite(matrix)):
        raise CorruptFileError(f"{path}: afm_m_to_fluorescence_m must be a finite 3x3 matrix")
    return matrix


def register(
    force_map: ForceMap,
    fit_result: FitResult,
    segmentation: Segmentation,
    options: RegisterOptions | None = None,
    *,
    landmarks: Landmarks | None = None,
    initial: np.ndarray | None = None,
    image: np.ndarray | None = None,
) -> Registration:
    """Register the AFM map onto the fluorescence field.

    Parameters
    ----------
    force_map : ForceMap
        Gives the grid geometry (AFM pixel -> scanner m) and each curve's (row, col).
    fit_result : FitResult
        Its ``zero_force_height_m`` (every finite value, whatever the status: a curve on the
        rigid dish is a height, not a hole) makes the AFM footprint.
    segmentation : Segmentation
        ``cell_labels > 0`` is the fluorescence cell mask; ``pixel_size_m``/``origin_m`` give
        stage m -> pixel.
    options : RegisterOptions, optional
    landmarks : Landmarks, optional
        Point pairs (:func:`read_landmarks`); required by ``method="landmarks"``, else they
        give the initial transform.
    initial : ndarray, shape (3, 3), optional
        Initial AFM m -> fluorescence m (e.g. :func:`load_calibration`); the metadata
        (identity) when absent.
    image : ndarray, shape (Y, X), optional
        Fluorescence intensity plane for ``method="refined"`` (the smoothed mask otherwise).

    Returns
    -------
    Registration
        Transform, error estimate (RMS over the AFM grid, m), checks and verdict.

    Raises
    ------
    ConfigError
        ``method="landmarks"`` without landmarks, or an ``initial``/``image`` of the wrong
        shape.
    """
    opt = options or RegisterOptions()
    if opt.method == "landmarks" and landmarks is None:
        raise ConfigError("[register] method='landmarks' needs landmarks (--landmarks CSV)")
    if initial is not None and np.shape(initial) != (3, 3):
        raise ConfigError(f"initial transform must be 3x3, got shape {np.shape(initial)}")
    if image is not None and np.shape(image) != segmentation.shape:
        raise ConfigError(f"image shape {np.shape(image)} differs from {segmentation.shape}")
    ctx = RegistrationContext.build(force_map, fit_result, segmentation, opt)
    start, method, details = _initial(ctx, opt, landmarks, initial)
    if opt.method in ("metadata", "landmarks"):
        return ctx.finish(start, method, details["prior_error_m"], details)
    transform, error_m, rigid_details = rigid_with_scale(ctx, start)
    details.update(rigid_details)
    method = "rigid"
    if opt.method == "refined":
        transform, error_m, refined, refine_details = try_refine(ctx, transform, error_m, image)
        details.update(refine_details)
        method = "refined" if refined else "rigid"
    return ctx.finish(transform, method, error_m, details)


def _initial(ctx: RegistrationContext, opt: RegisterOptions, landmarks, initial):
    """Initial AFM m -> fluorescence m, its name and details (incl. a prior error in m)."""
    if landmarks is not None:
        fluo_px_to_m = np.linalg.inv(ctx.fluo_m_to_px)
        src, dst = landmarks.in_metres(ctx.afm_px_to_m, fluo_px_to_m)
        fit = _landmark_fit(src, dst, opt)
        inl = fit.inliers
        rms = float(np.sqrt(np.mean(fit.residuals[inl] ** 2)))
        prior = rms * np.sqrt(max(2.0, inl.sum()) / max(1.0, inl.sum() - 2.0)) + 0.0
        details = {
            "landmarks": {
                "source": landmarks.source,
                "n_pairs": len(src),
                "n_inliers": int(inl.sum()),
                "residuals_m": fit.residuals.tolist(),
                "outliers": np.flatnonzero(~inl).tolist(),
                "rms_residual_m": rms,
            },
            "prior_error_m": max(prior, ctx.afm_pitch_m / 4),
        }
        return fit.matrix, "landmarks", details
    if initial is not None:
        return np.asarray(initial, float), "calibration", {"prior_error_m": opt.metadata_error_m}
    return np.eye(3), "metadata", {"prior_error_m": opt.metadata_error_m}


def _landmark_fit(src: np.ndarray, dst: np.ndarray, opt: RegisterOptions):
    """RANSAC fit, trying the mirrored source too for a similarity when reflection is allowed."""
    kwargs = dict(
        model=opt.landmark_model,
        threshold=opt.landmark_threshold_m,
        iterations=opt.landmark_iterations,
        seed=opt.seed,
    )
    best = ransac_fit(src, dst, **kwargs)
    if opt.allow_reflection and opt.landmark_model == "similarity":
        mirror = np.diag([1.0, -1.0, 1.0])
        fit = ransac_fit(src * [1.0, -1.0], dst, **kwargs)
        fit = dataclasses.replace(fit, matrix=fit.matrix @ mirror)
        if (fit.inliers.sum(), -fit.residuals.sum()) > (best.inliers.sum(), -best.residuals.sum()):
            best = fit
    return best
