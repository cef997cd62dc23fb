"""Cell centroids of the AFM footprint matched to fluorescence labels: scale and residuals.

A centroid does not depend on how large a footprint is drawn (a uniform dilation of a convex
shape leaves it in place), so the constellation of matched cell centroids measures the scale
between the AFM and optical calibrations without the size bias of mask overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from cellmech.transforms import apply_affine

__all__ = ["Constellation", "match_cells", "similarity_fit"]


@dataclass(frozen=True)
class Constellation:
    """Matched cells: AFM centroids ``afm_m`` (k, 2) in scanner m, fluorescence centroids
    ``fluo_m`` (k, 2) in stage m, and the fluorescence ``labels`` (k,) they matched."""

    afm_m: np.ndarray
    fluo_m: np.ndarray
    labels: np.ndarray

    @property
    def n(self) -> int:
        """Number of matched cells."""
        return len(self.labels)

    def residuals_m(self, afm_m_to_fluo_m: np.ndarray) -> np.ndarray:
        """Distance (k,) in m between each fluorescence centroid and its mapped AFM one."""
        x, y = apply_affine(afm_m_to_fluo_m, self.afm_m[:, 0], self.afm_m[:, 1])
        return np.hypot(self.fluo_m[:, 0] - x, self.fluo_m[:, 1] - y)


def match_cells(
    inside: np.ndarray,
    points_m: np.ndarray,
    on_border: np.ndarray,
    expanded_labels: np.ndarray,
    cell_labels: np.ndarray,
    m_to_px: np.ndarray,
    afm_m_to_fluo_m: np.ndarray,
    min_points: float,
) -> Constellation:
    """Pair each fluorescence cell with the part of the AFM footprint that maps onto it.

    Every footprint point is given the label of the (expanded) cell it maps into under
    ``afm_m_to_fluo_m``, so footprints of touching cells, merged on the AFM grid, are split
    along the fluorescence boundary. A cell is kept when at least ``min_points`` footprint
    points fall on it, none of them on the map border (``on_border``) and the cell does
    not touch the image border (a cut cell has a cut centroid).

    Parameters
    ----------
    inside : ndarray of bool, shape (n,)
        AFM footprint at ``points_m`` (n, 2), scanner m.
    on_border : ndarray of bool, shape (n,)
        Points on the outermost ring of the map.
    expanded_labels, cell_labels : ndarray of int, shape (Y, X)
        Cell labels grown by the largest match distance, and the labels themselves.
    m_to_px : ndarray, shape (3, 3)
        Fluorescence stage m -> pixel.
    """
    full = m_to_px @ afm_m_to_fluo_m
    pts = points_m[inside]
    r = np.rint(full[0, 0] * pts[:, 0] + full[0, 1] * pts[:, 1] + full[0, 2]).astype(int)
    c = np.rint(full[1, 0] * pts[:, 0] + full[1, 1] * pts[:, 1] + full[1, 2]).astype(int)
    ok = (r >= 0) & (r < cell_labels.shape[0]) & (c >= 0) & (c < cell_labels.shape[1])
    hit = np.zeros(len(pts), dtype=np.int64)
    hit[ok] = expanded_labels[r[ok], c[ok]]
    n_lab = int(cell_labels.max()) + 1
    counts = np.bincount(hit, minlength=n_lab)
    cut = np.bincount(hit, weights=on_border[inside], minlength=n_lab) > 0
    edge = np.concatenate([cell_labels[0], cell_labels[-1], cell_labels[:, 0], cell_labels[:, -1]])
    cut[edge] = True
    labels = np.flatnonzero((counts >= min_points) & ~cut)
    labels = labels[labels > 0]
    present = np.isin(labels, cell_labels)
    labels = labels[present]
    if not labels.size:
        return Constellation(np.empty((0, 2)), np.empty((0, 2)), labels)
    sums = np.stack([np.bincount(hit, weights=pts[:, k], minlength=n_lab) for k in (0, 1)], 1)
    afm = sums[labels] / counts[labels, None]
    com = np.array(ndimage.center_of_mass(cell_labels > 0, cell_labels, labels))
    fx, fy = apply_affine(np.linalg.inv(m_to_px), com[:, 0], com[:, 1])
    return Constellation(afm, np.column_stack([fx, fy]), labels)


def similarity_fit(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, scale, translation; no reflection) ``src -> dst``.

    Umeyama (1991), "Least-squares estimation of transformation parameters between two
    point patterns", IEEE TPAMI 13(4), 376-380. Returns a 3x3 matrix acting on ``(x, y, 1)``.
    """
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ sign @ vt
    var = np.mean(np.sum(a**2, axis=1))
    scale = np.trace(np.diag(d) @ sign) / var
    out = np.eye(3)
    out[:2, :2] = scale * rot
    out[:2, 2] = mu_d - scale * rot @ mu_s
    return out
