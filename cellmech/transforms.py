"""Frames and 2-D affine transforms shared by registration, measurement and the generator.

Every transform is a 3x3 homogeneous matrix acting on column vectors. Two coordinate
conventions, never mixed inside one matrix's input or output:

* **pixel coordinates** ``(row, col, 1)``: integer values are pixel centres, index 0 at the
  first row/column of the array (AFM grid or fluorescence image);
* **metric coordinates** ``(x, y, 1)`` in m, in a named frame (AFM scanner/stage frame of the
  curves' recorded x/y, or the fluorescence stage frame).

The frame chain of a correlative sample is

``AFM pixel --grid_px_to_m--> AFM scanner m --(registration)--> fluorescence m
--fluorescence_m_to_px--> fluorescence pixel``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "affine_from_points",
    "apply_affine",
    "fluorescence_m_to_px",
    "grid_px_to_m",
    "rotation_deg",
    "scale_factor",
    "similarity",
]


def affine_from_points(points_in: np.ndarray, points_out: np.ndarray) -> np.ndarray:
    """The least-squares 3x3 affine mapping 2-D ``points_in`` onto ``points_out``.

    Parameters
    ----------
    points_in, points_out : array_like, shape (n, 2)
        Corresponding points, ``n >= 3`` and not collinear (three points give the exact
        affine).

    Returns
    -------
    ndarray, shape (3, 3)
    """
    src = np.asarray(points_in, float)
    dst = np.asarray(points_out, float)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or src.shape[0] < 3:
        raise ValueError("need two (n, 2) point arrays of the same shape with n >= 3")
    design = np.column_stack([src, np.ones(len(src))])
    if len(src) == 3:
        coef = np.linalg.solve(design, dst)
    else:
        coef = np.linalg.lstsq(design, dst, rcond=None)[0]
    out = np.eye(3)
    out[:2, :] = coef.T
    return out


def apply_affine(matrix: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a 3x3 affine to coordinate arrays ``(a, b)``; returns the two output arrays."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return (
        matrix[0, 0] * a + matrix[0, 1] * b + matrix[0, 2],
        matrix[1, 0] * a + matrix[1, 1] * b + matrix[1, 2],
    )


def grid_px_to_m(grid) -> np.ndarray:
    """AFM grid pixel ``(row, col, 1)`` -> scanner ``(x, y, 1)`` in m.

    Parameters
    ----------
    grid : GridGeometry
        Pixel centres ``center - length/2 + (i + 0.5) * length / n``, reflected in v when
        ``grid.reflect``, rotated by ``grid.theta_rad``.
    """
    px = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    metric = np.column_stack(grid.grid_to_scanner(px[:, 0], px[:, 1]))
    return affine_from_points(px, metric)


def fluorescence_m_to_px(
    pixel_size_m: Sequence[float], origin_m: Sequence[float] = (0.0, 0.0)
) -> np.ndarray:
    """Fluorescence stage ``(x, y, 1)`` in m -> image pixel ``(row, col, 1)``.

    Parameters
    ----------
    pixel_size_m : (float, float)
        Pixel pitch ``(row, col)`` = ``(y, x)`` in m.
    origin_m : (float, float)
        Stage position ``(x, y)`` of the centre of pixel (0, 0), in m (OME ``Plane
        PositionX/Y``); (0, 0) when the file records none.
    """
    py, px = (float(v) for v in pixel_size_m)
    x0, y0 = (float(v) for v in origin_m)
    return np.array([[0.0, 1 / py, -y0 / py], [1 / px, 0.0, -x0 / px], [0.0, 0.0, 1.0]])


def similarity(
    angle_rad: float, translation: Sequence[float], scale: float = 1.0, reflect: bool = False
) -> np.ndarray:
    """``x' = scale * R(angle) * F * x + t`` as a 3x3 matrix (F mirrors the second axis)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    out = np.eye(3)
    out[:2, :2] = scale * np.array([[c, -s], [s, c]]) @ np.diag([1.0, -1.0 if reflect else 1.0])
    out[:2, 2] = translation
    return out


def scale_factor(matrix: np.ndarray) -> float:
    """Mean linear scale of an affine: ``sqrt(|det A|)`` of its 2x2 part."""
    return float(np.sqrt(abs(np.linalg.det(matrix[:2, :2]))))


def rotation_deg(matrix: np.ndarray) -> float:
    """Rotation angle of an affine's 2x2 part (reflection removed first), in degrees."""
    linear = matrix[:2, :2]
    if np.linalg.det(linear) < 0:
        linear = linear @ np.diag([1.0, -1.0])
    return float(np.degrees(np.arctan2(linear[1, 0] - linear[0, 1], linear[0, 0] + linear[1, 1])))
