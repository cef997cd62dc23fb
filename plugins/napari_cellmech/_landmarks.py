"""Landmark registration from two Points layers (pure: no napari, no Qt).

The dock's landmark mode shows two Points layers in world µm: points on AFM features (placed
where the E map / height map is shown, i.e. through the current registration) and the same
features on the fluorescence image, paired by order. They are turned back into AFM grid and
fluorescence pixels with the inverses of the layers' own pixel -> world affines, and fed to
:func:`cellmech.register.register` with ``method="landmarks"`` (RANSAC similarity or affine,
as ``[register] landmark_model`` says).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from cellmech.alignment.landmarks import Landmarks
from cellmech.containers import Registration
from cellmech.errors import CellmechError
from cellmech.register import register
from cellmech.transforms import apply_affine
from cellmech.units import M_PER_UM

__all__ = ["landmarks_from_world", "register_with_landmarks", "residual_lines", "write_landmarks"]


def _to_pixels(world_yx: np.ndarray, pixel_to_world: np.ndarray) -> np.ndarray:
    pts = np.asarray(world_yx, float).reshape(-1, np.shape(world_yx)[-1])[:, -2:]
    inverse = np.linalg.inv(np.asarray(pixel_to_world, float))
    return np.column_stack(apply_affine(inverse, pts[:, 0], pts[:, 1]))


def landmarks_from_world(
    afm_world_yx: np.ndarray,
    fluo_world_yx: np.ndarray,
    afm_to_world: np.ndarray,
    fluo_to_world: np.ndarray,
) -> Landmarks:
    """Point pairs in pixels from world positions.

    Parameters
    ----------
    afm_world_yx, fluo_world_yx : array_like, shape (n, 2) or (n, 3)
        World positions (µm, last two axes ``(y, x)``) of the AFM and fluorescence points,
        pair ``i`` = row ``i`` of each.
    afm_to_world, fluo_to_world : ndarray, shape (3, 3)
        AFM grid pixel and fluorescence pixel ``(row, col, 1)`` -> world ``(y, x, 1)`` µm.

    Returns
    -------
    Landmarks
        ``unit="px"``: AFM ``(row, col)`` and fluorescence ``(row, col)``.

    Raises
    ------
    CellmechError
        The layers hold different numbers of points, or fewer than 3 pairs.
    """
    afm, fluo = np.asarray(afm_world_yx, float), np.asarray(fluo_world_yx, float)
    if len(afm) != len(fluo) or len(afm) < 3:
        raise CellmechError(
            f"landmarks: {len(afm)} AFM and {len(fluo)} fluorescence points; place at least 3 "
            "pairs, in the same order in both layers"
        )
    return Landmarks(
        _to_pixels(afm, afm_to_world), _to_pixels(fluo, fluo_to_world), "px", "napari points"
    )


def register_with_landmarks(result: Any, landmarks: Landmarks) -> Registration:
    """Register ``result``'s AFM map onto its segmentation from ``landmarks`` alone
    (``[register] method="landmarks"``, the other register options as the run used)."""
    options = dataclasses.replace(result.settings.register, method="landmarks")
    return register(result.force_map, result.fit, result.segmentation, options, landmarks=landmarks)


def residual_lines(registration: Registration) -> list[str]:
    """One line per landmark pair (residual in µm, outliers marked) and a summary line."""
    info = registration.parameters.get("landmarks", {})
    outliers = set(info.get("outliers", ()))
    lines = [
        f"pair {i + 1}: {r / M_PER_UM:.2f} µm" + ("  (outlier, not used)" if i in outliers else "")
        for i, r in enumerate(info.get("residuals_m", ()))
    ]
    rms = info.get("rms_residual_m", float("nan")) / M_PER_UM
    verdict = "accepted" if registration.accepted else f"not accepted: {registration.reason}"
    lines.append(
        f"{info.get('n_inliers', 0)}/{info.get('n_pairs', 0)} inliers, RMS {rms:.2f} µm, "
        f"error estimate {registration.error_estimate_m / M_PER_UM:.2f} µm; {verdict}"
    )
    return lines


def write_landmarks(path: str | Path, landmarks: Landmarks) -> Path:
    """Write pixel landmark pairs as the CSV :func:`cellmech.register.read_landmarks` reads
    (``afm_row, afm_col, fluo_row, fluo_col``), e.g. for ``cellmech run --landmarks``."""
    import pandas as pd

    path = Path(path)
    table = pd.DataFrame(
        np.column_stack([landmarks.afm, landmarks.fluo]),
        columns=["afm_row", "afm_col", "fluo_row", "fluo_col"],
    )
    table.to_csv(path, index=False)
    return path
