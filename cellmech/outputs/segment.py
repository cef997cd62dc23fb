"""Outputs of the ``segment`` stage: label image, per-cell table and overlay picture.

``labels.ome.tif``
    (2, Y, X) int32 OME-TIFF on the fluorescence pixel grid: channel 0 cell labels, channel 1
    nucleus labels (a nucleus carries its cell's id), with the physical pixel size.
``labels.csv``
    One row per cell: ``cell_id``, ``area_m2``, ``centroid_row_px``, ``centroid_col_px``,
    ``centroid_x_m``, ``centroid_y_m`` (stage frame: ``origin_m + (col, row) * pixel size``),
    ``has_nucleus``, ``touches_border``.
``overlay.png``
    The image (cell channel in grey, nuclei in blue) with cell outlines (yellow), nucleus
    outlines (cyan), cell ids at the centroids (``*``: no nucleus) and a scale bar in µm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from cellmech.containers import FluorescenceStack, Segmentation
from cellmech.outputs.files import atomic_path, write_ome_tiff
from cellmech.units import M_PER_UM

__all__ = ["segmentation_table", "write_overlay", "write_segmentation_outputs"]

#: scale-bar lengths to choose from, µm
_BAR_UM = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def segmentation_table(segmentation: Segmentation) -> pd.DataFrame:
    """One row per cell of ``segmentation`` (columns in the module notes; SI units)."""
    seg = segmentation
    ids = seg.cell_ids
    labels = seg.cell_labels
    py, px = seg.pixel_size_m
    area = np.bincount(labels.ravel(), minlength=int(ids.max(initial=0)) + 1)[ids] * py * px
    centroids = np.asarray(ndimage.center_of_mass(labels > 0, labels, ids), float)
    centroids = centroids.reshape(-1, 2)
    return pd.DataFrame(
        {
            "cell_id": ids.astype(np.int64),
            "area_m2": area,
            "centroid_row_px": centroids[:, 0],
            "centroid_col_px": centroids[:, 1],
            "centroid_x_m": seg.origin_m[0] + centroids[:, 1] * px,
            "centroid_y_m": seg.origin_m[1] + centroids[:, 0] * py,
            "has_nucleus": seg.has_nucleus,
            "touches_border": seg.touches_border,
        }
    )


def write_segmentation_outputs(
    out_dir: str | Path, segmentation: Segmentation, stack: FluorescenceStack | None = None
) -> dict[str, Path]:
    """Write ``labels.ome.tif``, ``labels.csv`` and ``overlay.png`` into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Output folder (created if needed); every file is written atomically.
    segmentation : Segmentation
    stack : FluorescenceStack, optional
        The segmented stack, drawn under the outlines (the label mask otherwise).

    Returns
    -------
    dict of Path
        ``labels``, ``table`` and ``overlay``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seg = segmentation
    paths = {
        "labels": out / "labels.ome.tif",
        "table": out / "labels.csv",
        "overlay": out / "overlay.png",
    }
    planes = np.stack([seg.cell_labels, seg.nucleus_labels])
    write_ome_tiff(paths["labels"], planes, ("cells", "nuclei"), seg.pixel_size_m)
    with atomic_path(paths["table"]) as tmp:
        segmentation_table(seg).to_csv(tmp, index=False, float_format="%.10g")
    write_overlay(paths["overlay"], seg, stack)
    return paths


def _channel_image(stack: FluorescenceStack, name: str | None) -> np.ndarray | None:
    """Max projection of channel ``name`` scaled to [0, 1] by its 0.5-99.8 percentiles."""
    if stack is None or name is None or name not in stack.channel_names:
        return None
    image = np.asarray(stack.data[stack.channel_names.index(name)], float).max(axis=0)
    lo, hi = np.percentile(image, (0.5, 99.8))
    return np.clip((image - lo) / max(hi - lo, 1e-12), 0.0, 1.0)


def _background(seg: Segmentation, stack: FluorescenceStack | None) -> np.ndarray:
    """RGB (Y, X, 3) picture: cell channel grey, nucleus channel blue (label mask if none)."""
    cell = _channel_image(stack, seg.cell_channel)
    nucleus = _channel_image(stack, seg.nucleus_channel)
    if cell is None and nucleus is None and stack is not None:
        cell = _channel_image(stack, stack.channel_names[0])
    if cell is None and nucleus is None:
        cell = 0.3 * (seg.cell_labels > 0) + 0.3 * (seg.nucleus_labels > 0)
    grey = 0.8 * cell if cell is not None else np.zeros(seg.shape)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    if nucleus is not None:
        rgb[..., 2] = np.clip(rgb[..., 2] + 0.8 * nucleus, 0, 1)
        if cell is None:
            rgb[..., :2] += 0.3 * nucleus[..., None]
    return np.clip(rgb, 0.0, 1.0)


def write_overlay(
    path: str | Path, segmentation: Segmentation, stack: FluorescenceStack | None = None
) -> Path:
    """Draw the outlines, ids and a scale bar over the image and save a PNG (see module notes)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import patheffects
    from matplotlib.figure import Figure
    from skimage.segmentation import find_boundaries

    seg = segmentation
    # drawn at most ~1000 px wide: a 2048² image is shown every 3rd pixel (outlines traced on
    # the shown pixels), so the PNG stays small and fast to write
    step = max(1, -(-max(seg.shape) // 1000))
    rgb = _background(seg, stack)[::step, ::step]
    rgb[find_boundaries(seg.nucleus_labels[::step, ::step], mode="inner")] = (0.0, 1.0, 1.0)
    rgb[find_boundaries(seg.cell_labels[::step, ::step], mode="inner")] = (1.0, 0.9, 0.0)
    rows, cols = rgb.shape[:2]
    scale = max(1.0, 900 / max(rows, cols))
    fig = Figure(figsize=(cols * scale / 100, rows * scale / 100 + 0.4), dpi=100)
    ax = fig.add_axes((0, 0, 1, rows / (rows + 40 / scale)))
    ax.imshow(
        rgb, interpolation="nearest", extent=(-0.5, cols * step - 0.5, rows * step - 0.5, -0.5)
    )
    ax.set_axis_off()
    halo = [patheffects.withStroke(linewidth=2.5, foreground="black")]
    table = segmentation_table(seg)
    for row in table.itertuples():
        text = f"{row.cell_id}" + ("" if row.has_nucleus else "*")
        ax.text(row.centroid_col_px, row.centroid_row_px, text, color="white", fontsize=9,
                ha="center", va="center", path_effects=halo)  # fmt: skip
    _scale_bar(ax, seg, halo)
    fig.suptitle(
        f"{Path(seg.source).name or 'segmentation'}: {len(table)} cells (yellow), "
        f"{int(table['has_nucleus'].sum())} with nucleus (cyan); * = no nucleus; "
        f"method {seg.method}",
        fontsize=9,
        y=0.995,
        va="top",
    )
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def _scale_bar(ax, seg: Segmentation, halo) -> None:
    """A white bar about a fifth of the image wide, labelled in µm, at the bottom left."""
    rows, cols = seg.shape
    px_um = seg.pixel_size_m[1] / M_PER_UM
    fitting = [b for b in _BAR_UM if b / px_um <= cols / 4] or [_BAR_UM[0]]
    length_um = fitting[-1]
    length_px = length_um / px_um
    x0, y0 = 0.04 * cols, 0.95 * rows
    ax.plot([x0, x0 + length_px], [y0, y0], color="white", linewidth=4, solid_capstyle="butt")
    ax.text(x0 + length_px / 2, y0 - 0.015 * rows, f"{length_um:g} µm", color="white",
            fontsize=9, ha="center", va="bottom", path_effects=halo)  # fmt: skip
