"""Ground-truth tables and frame transforms of the synthetic dataset (:mod:`cellmech.synthetic`).

Matrices are 3x3 homogeneous affines. Pixel coordinates are ``(row, col, 1)``; metric ones
``(x, y, 1)`` in m. Integer pixel coordinates are pixel centres.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cellmech.synthetic.fluo import FluoGeometry
from cellmech.synthetic.scene import Box, Cell, Scene, outline_points
from cellmech.transforms import apply_affine, fluorescence_m_to_px, grid_px_to_m

__all__ = ["cell_table", "curve_table", "frame_matrices"]

#: sampling pitch of the fine grid used for areas, volumes and centroids, m
_FINE_PITCH_M = 0.1e-6


def frame_matrices(frames: dict) -> dict[str, np.ndarray]:
    """Every frame transform of a dataset.

    Returns
    -------
    dict of (3, 3) ndarray
        ``afm_px_to_scanner_m`` (grid geometry), ``afm_px_to_sample_m`` (true),
        ``sample_m_to_fluo_px``, ``afm_px_to_fluo_px`` (true, the registration answer) and
        ``metadata_guess_afm_px_to_fluo_px`` (what the metadata alone give: scanner = stage).
    """
    grid, fluo = frames["grid"], frames["fluo"]
    grid_m = grid_px_to_m(grid)
    scanner_to_sample = np.eye(3)
    scanner_to_sample[:2, :2] = frames["linear"]
    scanner_to_sample[:2, 2] = frames["translation"]
    p = fluo.pixel_size_m
    sample_to_px = fluorescence_m_to_px((p, p), fluo.origin_m)
    return {
        "afm_px_to_scanner_m": grid_m,
        "afm_px_to_sample_m": scanner_to_sample @ grid_m,
        "sample_m_to_fluo_px": sample_to_px,
        "afm_px_to_fluo_px": sample_to_px @ scanner_to_sample @ grid_m,
        "metadata_guess_afm_px_to_fluo_px": sample_to_px @ grid_m,
    }


def curve_table(afm: dict) -> pd.DataFrame:
    """One row per curve (see ``sample_data/README.md`` for the columns)."""
    curves = afm["curves"]
    reason = afm["bad_reason"].astype(str)
    return pd.DataFrame(
        {
            "curve_index": np.arange(afm["position_index"].size),
            "position_index": afm["position_index"],
            "row": afm["row"],
            "col": afm["col"],
            "x_scanner_m": afm["x_m"],
            "y_scanner_m": afm["y_m"],
            "x_sample_m": afm["sample_x_m"],
            "y_sample_m": afm["sample_y_m"],
            "label": afm["label"],
            "nucleus": afm["nucleus"],
            "youngs_modulus_pa": afm["youngs_modulus_pa"],
            "contact_height_m": afm["contact_height_m"],
            "cell_height_m": afm["cell_height_m"],
            "contact_piezo_height_m": curves.contact_piezo_height_m,
            "approach_points": curves.approach.n_points,
            "setpoint_reached": curves.setpoint_reached,
            "bad": reason != "",
            "bad_reason": reason,
        }
    )


def _fine_grid(cell: Cell) -> tuple[np.ndarray, np.ndarray]:
    r = cell.bounding_radius_m
    k = np.arange(-r, r + _FINE_PITCH_M, _FINE_PITCH_M)
    gx, gy = np.meshgrid(cell.center_m[0] + k, cell.center_m[1] + k)
    return gx, gy


def _cell_geometry(cell: Cell) -> dict[str, float]:
    """Area, volume, heights, nucleus area and centroid of one cell from a fine grid."""
    gx, gy = _fine_grid(cell)
    inside = cell.rho(gx, gy) < 1.0
    nucleus = inside & (cell.rho_nucleus(gx, gy) < 1.0)
    h = cell.height_m(gx[inside], gy[inside])
    da = _FINE_PITCH_M**2
    return {
        "area_m2": inside.sum() * da,
        "nucleus_area_m2": nucleus.sum() * da,
        "volume_m3": h.sum() * da,
        "height_max_m": float(h.max()),
        "height_mean_m": float(h.mean()),
        "centroid_x_m": float(gx[inside].mean()),
        "centroid_y_m": float(gy[inside].mean()),
    }


def cell_table(
    scene: Scene, curves: pd.DataFrame, matrices: dict, fluo: FluoGeometry, map_box: Box
) -> pd.DataFrame:
    """One row per cell (see ``sample_data/README.md`` for the columns)."""
    to_afm = np.linalg.inv(matrices["afm_px_to_sample_m"])
    good = curves[~curves["bad"]]
    rows = []
    for cell in scene.cells:
        geo = _cell_geometry(cell)
        mine = good[good["label"] == cell.label]
        cx, cy = geo["centroid_x_m"], geo["centroid_y_m"]
        frow, fcol = apply_affine(matrices["sample_m_to_fluo_px"], cx, cy)
        arow, acol = apply_affine(to_afm, cx, cy)
        rows.append(
            {
                "label": cell.label,
                "in_map": bool(np.all(map_box.contains(*outline_points(cell)))),
                "cytoplasm_modulus_pa": cell.cytoplasm_modulus_pa,
                "nucleus_modulus_pa": cell.nucleus_modulus_pa,
                "expected_median_modulus_pa": (
                    float(mine["youngs_modulus_pa"].median()) if len(mine) else np.nan
                ),
                "n_curves": len(mine),
                **geo,
                "centroid_row_px": float(frow),
                "centroid_col_px": float(fcol),
                "centroid_afm_row": float(arow),
                "centroid_afm_col": float(acol),
            }
        )
    return pd.DataFrame(rows)
