"""Rigid alignment of the AFM zero-force-height footprint onto the fluorescence cell mask.

Both masks are smoothed by a Gaussian of the same physical width; the score of a transform
``T`` (AFM scanner m -> fluorescence stage m) is the mean squared difference between the
smoothed AFM footprint at points of the AFM grid and the smoothed fluorescence mask sampled
(bilinearly) at ``T`` of those points -- SimpleITK's MeanSquares metric, written out so that
thousands of candidate transforms are scored in one vectorised pass. Rotation and translation
only: fitting scale or shear to masks is biased, because an AFM footprint (tip-convolved,
thresholded above the dish) and a fluorescence mask differ in size (DESIGN §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, optimize

from cellmech.transforms import apply_affine, similarity

__all__ = [
    "AfmFootprint",
    "FluoMask",
    "afm_footprint",
    "fluo_mask",
    "height_above_substrate",
    "local_search",
    "mean_squares",
    "multistart",
    "pose_matrix",
]

#: candidate transforms scored per vectorised batch (bounds memory to ~100 MB)
_BATCH_POINTS = 4_000_000


@dataclass(frozen=True)
class AfmFootprint:
    """The AFM footprint on a fine grid of points inside the map.

    ``points_m`` (n, 2) scanner ``(x, y)`` in m of the fine grid points, ``inside`` (n,) the
    binary footprint there, ``fine_shape`` the (rows, cols) of that fine grid, ``fine_px``
    (n, 2) their AFM ``(row, col)`` pixel coordinates, ``centre_m`` the grid centre, and
    ``level_m`` the substrate level subtracted from the heights.
    """

    points_m: np.ndarray
    inside: np.ndarray
    fine_shape: tuple[int, int]
    fine_px: np.ndarray
    centre_m: np.ndarray
    level_m: float

    def smoothed(self, sigma_m: float, spacing_m: float, shrink_m: float = 0.0) -> np.ndarray:
        """The footprint smoothed by a Gaussian of ``sigma_m``, shape (n,).

        ``shrink_m`` moves every footprint edge inwards by that distance (outwards when
        negative) before smoothing: the footprint is taken where its signed distance to the
        edge exceeds ``shrink_m``, anti-aliased over one fine-grid spacing so that the result
        is continuous in ``shrink_m`` (and exactly the binary footprint at 0).
        """
        img = self.inside.reshape(self.fine_shape)
        if shrink_m and img.any() and not img.all():  # a uniform footprint has no edge
            inside = ndimage.distance_transform_edt(img) - 0.5
            outside = ndimage.distance_transform_edt(~img) - 0.5
            signed = np.where(img, inside, -outside)  # fine-grid spacings, > 0 inside
            img = np.clip(signed - shrink_m / spacing_m + 0.5, 0.0, 1.0)
        img = np.asarray(img, np.float64)
        return ndimage.gaussian_filter(img, sigma_m / spacing_m, mode="nearest").ravel()


def afm_footprint(
    heights_m: np.ndarray,
    px_to_m: np.ndarray,
    *,
    threshold_m: float,
    level_percentile: float,
    fine_spacing_m: float,
    min_area_m2: float,
) -> AfmFootprint:
    """Threshold the zero-force height map above a robust substrate level, on a fine grid.

    Parameters
    ----------
    heights_m : ndarray, shape (rows, cols)
        Zero-force height per AFM pixel in m (NaN where no curve gave one: counted as dish).
    px_to_m : ndarray, shape (3, 3)
        AFM pixel ``(row, col, 1)`` -> scanner ``(x, y, 1)``.
    threshold_m : float
        Height above the substrate level that counts as cell.
    level_percentile : float
        Percentile of the finite heights taken as the substrate level (robust to cells).
    fine_spacing_m : float
        Target spacing of the fine grid; the heights are interpolated bilinearly onto it so
        the footprint edge is located below the AFM pixel size.
    min_area_m2 : float
        Footprint components smaller than this (isolated outlier curves) are dish; holes
        inside a footprint (curves without a height) are filled.
    """
    pitch = float(np.sqrt(abs(np.linalg.det(px_to_m[:2, :2]))))
    above, level = height_above_substrate(
        heights_m, threshold_m, level_percentile, min_area_m2 / pitch**2
    )
    factor = max(1, int(np.ceil(pitch / fine_spacing_m)))
    rows, cols = heights_m.shape
    r = (np.arange(rows * factor) + 0.5) / factor - 0.5
    c = (np.arange(cols * factor) + 0.5) / factor - 0.5
    rr, cc = np.meshgrid(r, c, indexing="ij")
    fine = ndimage.map_coordinates(above, [rr.ravel(), cc.ravel()], order=1, mode="nearest")
    x, y = apply_affine(px_to_m, rr.ravel(), cc.ravel())
    centre = np.array(apply_affine(px_to_m, (rows - 1) / 2, (cols - 1) / 2))
    return AfmFootprint(
        points_m=np.column_stack([x, y]),
        inside=fine > threshold_m,
        fine_shape=rr.shape,
        fine_px=np.column_stack([rr.ravel(), cc.ravel()]),
        centre_m=centre,
        level_m=level,
    )


def height_above_substrate(
    heights_m: np.ndarray, threshold_m: float, level_percentile: float, min_pixels: float
) -> tuple[np.ndarray, float]:
    """Heights (rows, cols) above a robust substrate level, cleaned; and that level in m.

    NaN counts as dish; footprint components (height > ``threshold_m``) of fewer than
    ``min_pixels`` pixels are zeroed (isolated outlier curves) and holes inside a footprint
    are raised to ``2 * threshold_m`` (curves without a height on a cell).
    """
    finite = np.isfinite(heights_m)
    level = float(np.percentile(heights_m[finite], level_percentile)) if finite.any() else 0.0
    above = np.where(finite, heights_m - level, 0.0)
    mask = above > threshold_m
    labels, n = ndimage.label(mask)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    kept = (sizes >= min_pixels)[labels] & mask
    filled = ndimage.binary_fill_holes(kept)
    out = np.where(kept, above, 0.0)
    return np.where(filled & ~kept, 2.0 * threshold_m, out), level


@dataclass(frozen=True)
class FluoMask:
    """The fluorescence cell mask and its frame: ``mask`` (Y, X) bool, ``m_to_px`` (3, 3),
    the mean ``pixel_size_m`` and the cell labels ``mask_labels`` (Y, X)."""

    mask: np.ndarray
    m_to_px: np.ndarray
    pixel_size_m: float
    mask_labels: np.ndarray
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def smoothed(self, sigma_m: float) -> tuple[np.ndarray, np.ndarray]:
        """The mask smoothed by a Gaussian of ``sigma_m`` (zero outside the image).

        Computed on a grid ``f`` times coarser (block means, ``f`` the largest integer with
        ``f * pixel <= sigma / 3``), the block variance ``((f p)^2 - p^2) / 12`` taken off the
        Gaussian; returns the image and its stage m -> pixel matrix (3, 3). Cached per sigma.
        """
        if sigma_m not in self._cache:
            px = self.pixel_size_m
            f = max(1, int(sigma_m / (3 * px)))
            rows, cols = (s // f * f for s in self.mask.shape)
            img = self.mask[:rows, :cols].reshape(rows // f, f, cols // f, f).mean(axis=(1, 3))
            sigma_px = np.sqrt(sigma_m**2 - ((f * px) ** 2 - px**2) / 12) / (f * px)
            down = np.array(
                [[1 / f, 0, -(f - 1) / (2 * f)], [0, 1 / f, -(f - 1) / (2 * f)], [0, 0, 1]]
            )
            smooth = ndimage.gaussian_filter(img.astype(np.float32), sigma_px, mode="constant")
            self._cache[sigma_m] = (smooth, down @ self.m_to_px)
        return self._cache[sigma_m]


def fluo_mask(cell_labels: np.ndarray, m_to_px: np.ndarray, pixel_size_m) -> FluoMask:
    """The cell mask ``cell_labels > 0`` with its stage-m -> pixel transform."""
    labels = np.asarray(cell_labels)
    return FluoMask(labels > 0, m_to_px, float(np.mean(pixel_size_m)), labels)


def mean_squares(
    smooth_fluo: np.ndarray,
    m_to_px: np.ndarray,
    points_m: np.ndarray,
    values: np.ndarray,
    transforms: np.ndarray,
) -> np.ndarray:
    """Mean squared difference for each candidate transform.

    Parameters
    ----------
    smooth_fluo : ndarray, shape (Y, X)
        Smoothed fluorescence mask (0 outside the image).
    m_to_px : ndarray, shape (3, 3)
        Fluorescence stage m -> pixel.
    points_m : ndarray, shape (n, 2)
        AFM scanner points; ``values`` (n,) the smoothed AFM footprint there.
    transforms : ndarray, shape (k, 3, 3)
        Candidate AFM m -> fluorescence m transforms.

    Returns
    -------
    ndarray, shape (k,)
    """
    full = np.einsum("ij,kjl->ikl", m_to_px[:2], transforms)  # (2, k, 3)
    homogeneous = np.vstack([np.asarray(points_m, float).T, np.ones(len(points_m))])
    out = np.empty(len(transforms))
    step = max(1, _BATCH_POINTS // max(1, len(points_m)))
    for start in range(0, full.shape[1], step):
        coords = full[:, start : start + step] @ homogeneous  # (2, k, n) fluorescence (row, col)
        sampled = ndimage.map_coordinates(
            smooth_fluo, coords.reshape(2, -1), order=1, mode="constant", cval=0.0
        ).reshape(coords.shape[1:])
        out[start : start + step] = np.mean((sampled - values) ** 2, axis=1)
    return out


def pose_matrix(
    initial: np.ndarray, centre_m: np.ndarray, pose: np.ndarray, scale: float, reflect: bool
) -> np.ndarray:
    """AFM m -> fluorescence m: ``initial``, then mirror/rotate/scale about the mapped centre.

    ``pose`` = (angle in deg, shift x in m, shift y in m), shape (3,) -> matrix (3, 3), or
    (k, 3) -> (k, 3, 3); the reflection mirrors the AFM v axis through the grid centre before
    ``initial`` (the generator's and the instrument's mirrored hypothesis).
    """
    pose = np.asarray(pose, float)
    poses = np.atleast_2d(pose)
    c = np.eye(3)
    c[:2, 2] = -centre_m
    mirror = np.linalg.inv(c) @ similarity(0.0, (0.0, 0.0), reflect=reflect) @ c
    q = np.array(apply_affine(initial, *centre_m))
    about = np.eye(3)
    about[:2, 2] = -q
    base = about @ initial @ mirror
    angle = np.radians(poses[:, 0])
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    move = np.zeros((len(poses), 3, 3))
    move[:, 0, 0], move[:, 0, 1], move[:, 1, 0], move[:, 1, 1] = cos, -sin, sin, cos
    move[:, :2, 2] = q + poses[:, 1:3]
    move[:, 2, 2] = 1.0
    out = move @ base
    return out if pose.ndim == 2 else out[0]


def multistart(
    score, rotation_deg: float, rotation_step_deg: float, shift_m: float, shift_step_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Score a grid of poses; returns poses (k, 3) and scores (k,), best first.

    ``score`` maps an array of poses (k, 3) to scores (k,).
    """
    angles = _symmetric_range(rotation_deg, rotation_step_deg)
    shifts = _symmetric_range(shift_m, shift_step_m)
    a, sx, sy = np.meshgrid(angles, shifts, shifts, indexing="ij")
    poses = np.column_stack([a.ravel(), sx.ravel(), sy.ravel()])
    scores = score(poses)
    order = np.argsort(scores)
    return poses[order], scores[order]


def _symmetric_range(half: float, step: float) -> np.ndarray:
    n = int(np.floor(half / step + 1e-9))
    return np.arange(-n, n + 1) * step


def distinct(poses: np.ndarray, count: int, min_shift_m: float, min_angle_deg: float) -> list:
    """The first ``count`` poses that differ from every earlier pick (non-maximum suppression)."""
    picked: list[np.ndarray] = []
    for p in poses:
        if all(
            abs(p[0] - q[0]) >= min_angle_deg or np.hypot(*(p[1:] - q[1:])) >= min_shift_m
            for q in picked
        ):
            picked.append(p)
            if len(picked) == count:
                break
    return picked


def local_search(score, start: np.ndarray, angle_step_deg: float, shift_step_m: float):
    """Nelder-Mead from ``start`` on (angle deg, shift m); returns (pose, score).

    The shifts are optimised in units of ``shift_step_m`` and the angle in units of
    ``angle_step_deg`` so the simplex is well conditioned.
    """
    units = np.array([angle_step_deg, shift_step_m, shift_step_m])

    def f(z: np.ndarray) -> float:
        return float(score((z * units)[None])[0])

    res = optimize.minimize(
        f,
        np.asarray(start) / units,
        method="Nelder-Mead",
        options={"xatol": 1e-2, "fatol": 1e-9, "initial_simplex": None, "maxiter": 400},
    )
    return res.x * units, float(res.fun)
