"""Outputs of the registration stage: ``registration.json`` and ``registration_overlay.png``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cellmech.alignment.footprint import height_above_substrate
from cellmech.containers import FitResult, ForceMap, Registration, Segmentation
from cellmech.gridmaps import to_grid
from cellmech.outputs.files import atomic_path, write_json
from cellmech.transforms import apply_affine, grid_px_to_m, scale_factor
from cellmech.units import M_PER_UM

__all__ = ["write_registration_outputs"]


def write_registration_outputs(
    out_dir: str | Path,
    registration: Registration,
    force_map: ForceMap,
    fit_result: FitResult,
    segmentation: Segmentation,
    image: np.ndarray,
) -> dict[str, Path]:
    """Write ``registration.json`` and ``registration_overlay.png`` into ``out_dir``.

    Parameters
    ----------
    registration : Registration
        What :func:`cellmech.register.register` returned (accepted or not: both are written).
    force_map, fit_result : ForceMap, FitResult
        The AFM height map is outlined as the registration saw it (height above the
        substrate level, cleaned, at the threshold recorded in the registration's options).
    segmentation : Segmentation
        Cell outlines.
    image : ndarray, shape (Y, X)
        Fluorescence plane shown underneath (e.g. the cell channel's max projection).

    Returns
    -------
    dict
        ``{"json": path, "overlay": path}``.
    """
    out_dir = Path(out_dir)
    paths = {
        "json": write_json(out_dir / "registration.json", registration.to_dict()),
        "overlay": out_dir / "registration_overlay.png",
    }
    _overlay(paths["overlay"], registration, force_map, fit_result, segmentation, image)
    return paths


def _afm_outline_px(registration, force_map, fit_result):
    """Footprint mask on the AFM grid and the grid corners, both in fluorescence pixels."""
    heights = to_grid(force_map, fit_result.curve_index, fit_result.zero_force_height_m)
    opts = registration.parameters.get("options", {})
    threshold = float(opts.get("height_threshold_m", 0.3e-6))
    pitch = scale_factor(grid_px_to_m(force_map.grid))
    above, _ = height_above_substrate(
        heights,
        threshold,
        float(opts.get("substrate_percentile", 5.0)),
        float(opts.get("min_cell_area_m2", 20e-12)) / pitch**2,
    )
    rows, cols = heights.shape
    corners = np.array(
        [[-0.5, -0.5], [-0.5, cols - 0.5], [rows - 0.5, cols - 0.5], [rows - 0.5, -0.5]]
    )
    m = registration.afm_px_to_fluorescence_px
    corner_px = np.column_stack(apply_affine(m, corners[:, 0], corners[:, 1]))
    return above, threshold, corner_px


def _overlay(path, registration, force_map, fit_result, segmentation, image) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from skimage import measure

    image = np.asarray(image, float)
    above, threshold, corners = _afm_outline_px(registration, force_map, fit_result)
    fig = Figure(figsize=(7.5, 7.5), dpi=110)  # no pyplot: no global state across threads
    ax = fig.add_subplot()
    lo, hi = np.percentile(image, [1, 99.5])
    rows, cols = image.shape
    step = max(1, -(-max(rows, cols) // 1000))  # drawn at most ~1000 px wide: fast to render
    ax.imshow(image[::step, ::step], cmap="gray", vmin=lo, vmax=max(hi, lo + 1e-12),
              interpolation="nearest", extent=(-0.5, cols - 0.5, rows - 0.5, -0.5))  # fmt: skip
    labels = segmentation.cell_labels[::step, ::step]
    for ident in segmentation.cell_ids:
        for contour in measure.find_contours((labels == ident).astype(float), 0.5):
            ax.plot(contour[:, 1] * step, contour[:, 0] * step, color="#33dd55", lw=0.9)
    m = registration.afm_px_to_fluorescence_px
    padded = np.pad(above, 1, constant_values=0.0)
    for contour in measure.find_contours(padded, threshold):
        r, c = apply_affine(m, contour[:, 0] - 1, contour[:, 1] - 1)
        ax.plot(c, r, color="#ff3366", lw=1.4)
    closed = np.vstack([corners, corners[:1]])
    ax.plot(closed[:, 1], closed[:, 0], color="#ffcc00", lw=1.2, ls="--")
    ax.plot(*corners[0, ::-1], "o", color="#ffcc00", ms=5)
    _scale_bar(ax, image.shape, segmentation.pixel_size_m[1])
    ax.set_xlim(-0.5, image.shape[1] - 0.5)
    ax.set_ylim(image.shape[0] - 0.5, -0.5)
    ax.set_xlabel("fluorescence column (px)")
    ax.set_ylabel("fluorescence row (px)")
    handles = [
        Line2D([], [], color="#ff3366", lw=1.4, label="AFM height footprint (registered)"),
        Line2D(
            [],
            [],
            color="#ffcc00",
            lw=1.2,
            ls="--",
            marker="o",
            label="AFM grid extent (o: pixel 0,0)",
        ),
        Line2D([], [], color="#33dd55", lw=0.9, label="cell outlines (segmentation)"),
    ]
    ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.8)
    verdict = "ACCEPTED" if registration.accepted else "NOT ACCEPTED - needs review"
    title = (
        f"{verdict}  ·  method {registration.method}  ·  "
        f"error estimate {registration.error_estimate_m / M_PER_UM:.2f} µm"
    )
    if not registration.accepted:
        title += "\n" + _wrap(registration.reason, 90)
    ax.set_title(title, fontsize=10, color="black" if registration.accepted else "#b00020")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def _scale_bar(ax, shape, pixel_m: float) -> None:
    """A white bar of a round length in µm at the lower left."""
    width_um = shape[1] * pixel_m / M_PER_UM
    length_um = next(v for v in (100, 50, 20, 10, 5, 2, 1, 0.5) if v <= width_um / 5)
    length_px = length_um * M_PER_UM / pixel_m
    x0, y0 = 0.04 * shape[1], 0.95 * shape[0]
    ax.plot([x0, x0 + length_px], [y0, y0], color="white", lw=4, solid_capstyle="butt")
    ax.text(
        x0 + length_px / 2,
        y0 - 0.015 * shape[0],
        f"{length_um:g} µm",
        color="white",
        ha="center",
        va="bottom",
        fontsize=9,
    )


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
