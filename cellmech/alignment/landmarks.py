"""Landmark pairs (AFM <-> fluorescence) and a RANSAC similarity/affine fit.

CSV format (header required, one pair per line, extra columns ignored), either in pixels

``afm_row, afm_col, fluo_row, fluo_col`` (AFM grid pixel, fluorescence image pixel; integer
values are pixel centres, index 0 at the first row/column),

or in metres

``afm_x_m, afm_y_m, fluo_x_m, fluo_y_m`` (AFM scanner frame, fluorescence stage frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellmech.alignment.constellation import similarity_fit
from cellmech.errors import CorruptFileError, MissingFileError
from cellmech.transforms import affine_from_points, apply_affine

__all__ = ["LandmarkFit", "Landmarks", "ransac_fit", "read_landmarks"]

_PIXEL_COLUMNS = ("afm_row", "afm_col", "fluo_row", "fluo_col")
_METRE_COLUMNS = ("afm_x_m", "afm_y_m", "fluo_x_m", "fluo_y_m")


@dataclass(frozen=True)
class Landmarks:
    """Point pairs: ``afm`` and ``fluo`` (n, 2), in ``unit`` "px" ((row, col)) or "m" ((x, y))."""

    afm: np.ndarray
    fluo: np.ndarray
    unit: str
    source: str = ""

    def in_metres(self, afm_px_to_m: np.ndarray, fluo_px_to_m: np.ndarray):
        """``(afm_m, fluo_m)`` (n, 2) each: scanner and stage metres."""
        if self.unit == "m":
            return self.afm, self.fluo
        return (
            np.column_stack(apply_affine(afm_px_to_m, self.afm[:, 0], self.afm[:, 1])),
            np.column_stack(apply_affine(fluo_px_to_m, self.fluo[:, 0], self.fluo[:, 1])),
        )


def read_landmarks(path: str | Path) -> Landmarks:
    """Read landmark pairs from a CSV file (see the module docstring for the columns).

    Raises
    ------
    MissingFileError
        The file does not exist.
    CorruptFileError
        Neither column set is present, a value is not a finite number, or fewer than 3
        pairs are given.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: landmark file not found; give a CSV of point pairs")
    try:
        table = pd.read_csv(path, skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise CorruptFileError(f"{path}: not a readable CSV ({exc})") from exc
    found = [
        (cols, unit)
        for cols, unit in ((_PIXEL_COLUMNS, "px"), (_METRE_COLUMNS, "m"))
        if set(cols) <= set(table.columns)
    ]
    if not found:
        raise CorruptFileError(
            f"{path}: landmark CSV needs the columns {', '.join(_PIXEL_COLUMNS)} (pixels) or "
            f"{', '.join(_METRE_COLUMNS)} (metres); found {', '.join(map(str, table.columns))}"
        )
    columns, unit = found[0]
    values = table[list(columns)].to_numpy(dtype=float, na_value=np.nan)
    if len(values) < 3 or not np.all(np.isfinite(values)):
        raise CorruptFileError(
            f"{path}: need at least 3 landmark pairs of finite numbers, got {len(values)} rows"
        )
    return Landmarks(values[:, :2], values[:, 2:], unit, str(path))


@dataclass(frozen=True)
class LandmarkFit:
    """RANSAC result: ``matrix`` (3, 3) src -> dst, ``residuals`` (n,) in the dst unit,
    ``inliers`` (n,) bool."""

    matrix: np.ndarray
    residuals: np.ndarray
    inliers: np.ndarray


def _fit(model: str, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    return similarity_fit(src, dst) if model == "similarity" else affine_from_points(src, dst)


def _residuals(matrix: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    x, y = apply_affine(matrix, src[:, 0], src[:, 1])
    return np.hypot(dst[:, 0] - x, dst[:, 1] - y)


def ransac_fit(
    src: np.ndarray,
    dst: np.ndarray,
    *,
    model: str,
    threshold: float,
    iterations: int,
    seed: int = 0,
) -> LandmarkFit:
    """Robust ``src -> dst`` fit: RANSAC over minimal samples, then least squares on inliers.

    Fischler & Bolles (1981), "Random sample consensus", Commun. ACM 24(6), 381-395.
    The similarity (no reflection; mirror the source first if needed) needs 2 points per
    sample, the affine 3. A pair is an inlier when its residual is below ``threshold``.
    With all pairs fewer than a minimal sample + 1, every pair is an inlier.
    """
    src, dst = np.asarray(src, float), np.asarray(dst, float)
    k = 2 if model == "similarity" else 3
    n = len(src)
    rng = np.random.default_rng(seed)
    best = np.ones(n, dtype=bool)
    best_count = -1
    if n > k:
        for _ in range(iterations):
            pick = rng.choice(n, size=k, replace=False)
            try:
                matrix = _fit(model, src[pick], dst[pick])
            except np.linalg.LinAlgError:
                continue
            inliers = _residuals(matrix, src, dst) < threshold
            if inliers.sum() > best_count:
                best, best_count = inliers, int(inliers.sum())
        if best.sum() < k:
            best = np.ones(n, dtype=bool)
    matrix = _fit(model, src[best], dst[best])
    residuals = _residuals(matrix, src, dst)
    inliers = residuals < threshold if best_count >= 0 else np.ones(n, dtype=bool)
    return LandmarkFit(matrix, residuals, inliers)
