"""Matplotlib figures of the sample report (:mod:`cellmech.outputs.report`), as PNG data URIs.

Every function takes plain arrays in SI units (metres, pascals, newtons), draws one figure on
matplotlib's Agg canvas (a :class:`matplotlib.figure.Figure`, never pyplot, so no global
figure state is touched and nothing is drawn at import time) and returns the PNG as a
``data:image/png;base64,...`` URI ready for an ``<img src>``. Images are shown in (row, col)
order with row 0 at the top; axes are in µm (pixel ``i`` spans ``[i, i + 1] * pitch``), moduli
in kPa, forces in nN.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cellmech.units import M_PER_UM, PA_PER_KPA

__all__ = [
    "CellModuli",
    "CurvePanel",
    "Outline",
    "cell_moduli_figure",
    "curves_figure",
    "fluorescence_figure",
    "maps_figure",
]

#: dots per inch of every figure: sizes below are in hundreds of pixels
DPI = 100
#: colours of outlines drawn over images
CELL_COLOUR, NUCLEUS_COLOUR, GRID_COLOUR = "#ffd400", "#00e5ff", "#ff3da8"
N_PER_NN = 1e-9


@dataclass(frozen=True)
class Outline:
    """A closed outline in pixel coordinates of the image it is drawn on.

    Parameters
    ----------
    rows, cols : ndarray, shape (n,)
        Vertices (fractional pixel indices, pixel centres at integers).
    label : str
        Text drawn at the label position ("" for none).
    label_at : (float, float)
        ``(row, col)`` of the label.
    nucleus : bool
        Drawn thinner, in the nucleus colour.
    """

    rows: np.ndarray
    cols: np.ndarray
    label: str = ""
    label_at: tuple[float, float] = (np.nan, np.nan)
    nucleus: bool = False


@dataclass(frozen=True)
class CellModuli:
    """The ok moduli (Pa) of one cell's nucleus and cytoplasm curves."""

    cell_id: int
    nucleus_pa: np.ndarray
    cytoplasm_pa: np.ndarray


@dataclass(frozen=True)
class CurvePanel:
    """One example curve: data and, when fitted, the model curve (SI units)."""

    title: str
    indentation_m: np.ndarray
    force_n: np.ndarray
    fit_indentation_m: np.ndarray | None = None
    fit_force_n: np.ndarray | None = None


def _figure(width_px: float, height_px: float):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, layout="constrained")


def data_uri(fig) -> str:
    """The figure as a base64 PNG data URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _to_um(rows, cols, pitch_m):
    """Pixel coordinates -> plot coordinates in µm (pixel centres at ``(i + 0.5) * pitch``)."""
    py, px = (p / M_PER_UM for p in pitch_m)
    return (np.asarray(cols, float) + 0.5) * px, (np.asarray(rows, float) + 0.5) * py


def _draw_outlines(ax, outlines: Sequence[Outline], pitch_m, label_size: float = 9) -> None:
    from matplotlib import patheffects

    halo = [patheffects.withStroke(linewidth=2.5, foreground="black")]
    edge = [patheffects.withStroke(linewidth=2.6, foreground="black")]  # visible on any colour
    for o in outlines:
        x, y = _to_um(o.rows, o.cols, pitch_m)
        colour = NUCLEUS_COLOUR if o.nucleus else CELL_COLOUR
        ax.plot(x, y, color=colour, linewidth=0.8 if o.nucleus else 1.3, path_effects=edge)
        if o.label and np.all(np.isfinite(o.label_at)):
            lx, ly = _to_um(*o.label_at, pitch_m)
            ax.text(lx, ly, o.label, color="white", fontsize=label_size, fontweight="bold",
                    ha="center", va="center", path_effects=halo, clip_on=True)  # fmt: skip


def _image_axes(ax, shape, pitch_m) -> tuple[float, float, float, float]:
    """Extent (µm) of an image of ``shape`` with row 0 at the top; labels the axes."""
    rows, cols = shape
    width, height = cols * pitch_m[1] / M_PER_UM, rows * pitch_m[0] / M_PER_UM
    # a single-point map has no pitch: draw its point 1 µm wide instead of a singular axis
    width, height = (v if v > 0 else 1.0 for v in (width, height))
    extent = (0.0, width, height, 0.0)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    return extent


def fluorescence_figure(
    image: np.ndarray,
    pixel_size_m: tuple[float, float],
    title: str,
    outlines: Sequence[Outline] = (),
    grid_corners_px: np.ndarray | None = None,
) -> str:
    """The fluorescence image (grey, 0.5-99.8 % stretch) with cell outlines and the AFM map.

    Parameters
    ----------
    image : ndarray, shape (Y, X)
        E.g. the maximum projection of the cell channel.
    pixel_size_m : (float, float)
        Pixel pitch ``(row, col)`` in m.
    title : str
        Axes title.
    outlines : sequence of Outline
        Cell (and nucleus) outlines in image pixels.
    grid_corners_px : ndarray, shape (4, 2), optional
        ``(row, col)`` image pixel positions of the AFM grid's four outer corners, in order.
    """
    rows, cols = image.shape
    width = 640
    fig = _figure(width, (width - 110) * rows / cols + 75)
    ax = fig.add_subplot()
    lo, hi = np.nanpercentile(image, (0.5, 99.8)) if np.isfinite(image).any() else (0, 1)
    extent = _image_axes(ax, image.shape, pixel_size_m)
    step = max(1, -(-max(rows, cols) // 1000))  # shown at most ~1000 px wide: fast to render
    ax.imshow(image[::step, ::step], cmap="gray", vmin=lo, vmax=max(hi, lo + 1e-12),
              extent=extent, interpolation="nearest")  # fmt: skip
    _draw_outlines(ax, outlines, pixel_size_m)
    if grid_corners_px is not None:
        ring = np.vstack([grid_corners_px, grid_corners_px[:1]])
        x, y = _to_um(ring[:, 0], ring[:, 1], pixel_size_m)
        ax.plot(x, y, color=GRID_COLOUR, linewidth=2.0, linestyle="--", label="AFM map")
        ax.legend(loc="best", fontsize=8, framealpha=0.8)
    ax.set_title(title, fontsize=10)
    return data_uri(fig)


def _log_colourbar(fig, mappable, ax, label: str) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    bar = fig.colorbar(mappable, ax=ax, shrink=0.85, extend="both")
    vmin, vmax = mappable.norm.vmin, mappable.norm.vmax
    subs = (1.0, 2.0, 5.0) if vmax / vmin > 8 else (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0)
    bar.ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs))
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    bar.ax.yaxis.set_minor_formatter(NullFormatter())
    bar.set_label(label)


def maps_figure(
    modulus_pa: np.ndarray,
    height_m: np.ndarray,
    pixel_size_m: tuple[float, float],
    height_label: str,
    outlines: Sequence[Outline] = (),
    modulus_range_pa: tuple[float, float] | None = None,
) -> str:
    """Young's modulus (log colour scale, kPa) and height (µm) maps on the AFM grid.

    Parameters
    ----------
    modulus_pa, height_m : ndarray, shape (rows, cols)
        Per-grid-cell modulus (NaN where not ok: drawn grey) and height.
    pixel_size_m : (float, float)
        Grid pitch ``(row, col)`` in m.
    height_label : str
        Colour-bar label of the height map (what the height is measured from).
    outlines : sequence of Outline
        Cell outlines in AFM grid pixels.
    modulus_range_pa : (float, float), optional
        Colour range of the modulus (values beyond are drawn in the end colours); default
        the 1st to 99th percentile of the map.
    """
    import matplotlib
    from matplotlib.colors import LogNorm

    rows, cols = modulus_pa.shape
    panel = 440
    fig = _figure(2 * panel + 120, (panel - 170) * rows / cols + 110)
    axes = fig.subplots(1, 2)
    e_kpa = modulus_pa / PA_PER_KPA
    if modulus_range_pa is None:
        finite = modulus_pa[np.isfinite(modulus_pa) & (modulus_pa > 0)]
        modulus_range_pa = np.percentile(finite, (1, 99)) if finite.size else (1e2, 1e4)
    lo, hi = (v / PA_PER_KPA for v in modulus_range_pa)
    hi = max(hi, lo * 1.5)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.82")
    extent = _image_axes(axes[0], (rows, cols), pixel_size_m)
    im = axes[0].imshow(np.where(e_kpa > 0, e_kpa, np.nan), cmap=cmap, extent=extent,
                        norm=LogNorm(lo, hi), interpolation="nearest")  # fmt: skip
    _log_colourbar(fig, im, axes[0], "E (kPa)")
    axes[0].set_title("Young's modulus (grey: no ok fit)", fontsize=10)
    h_um = height_m / M_PER_UM
    cmap_h = matplotlib.colormaps["magma"].with_extremes(bad="0.82")
    _image_axes(axes[1], (rows, cols), pixel_size_m)
    im = axes[1].imshow(h_um, cmap=cmap_h, extent=extent, interpolation="nearest")
    bar = fig.colorbar(im, ax=axes[1], shrink=0.85)
    bar.set_label(height_label)
    axes[1].set_title("zero-force height (grey: none trusted)", fontsize=10)
    for ax in axes:
        _draw_outlines(ax, outlines, pixel_size_m, label_size=8)
        ax.set_aspect("equal")
    return data_uri(fig)


def cell_moduli_figure(cells: Sequence[CellModuli]) -> str:
    """Per-cell box plots (with the points) of nucleus and cytoplasm moduli, log scale, kPa.

    The number of curves of each box is written under it.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    from matplotlib.transforms import blended_transform_factory

    n = len(cells)
    fig = _figure(min(900, 220 + 75 * n), 380)
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)  # fixed jitter: the same picture every run
    groups = (
        ("nucleus", "nucleus_pa", "#1f77b4", -0.2),
        ("cytoplasm", "cytoplasm_pa", "#ff7f0e", 0.2),
    )
    below = blended_transform_factory(ax.transData, ax.transAxes)
    for name, attr, colour, shift in groups:
        for i, cell in enumerate(cells):
            values = np.asarray(getattr(cell, attr), float) / PA_PER_KPA
            values = values[np.isfinite(values) & (values > 0)]
            x = i + shift
            if values.size:
                ax.boxplot(values, positions=[x], widths=0.3, showfliers=False,
                           medianprops={"color": "black"},
                           boxprops={"color": colour}, whiskerprops={"color": colour},
                           capprops={"color": colour})  # fmt: skip
                jitter = rng.uniform(-0.08, 0.08, values.size)
                ax.scatter(x + jitter, values, s=6, color=colour, alpha=0.6, linewidths=0)
            ax.text(x, 0.015, f"{values.size}", transform=below, ha="center", va="bottom",
                    fontsize=7, color=colour)  # fmt: skip
        ax.scatter([], [], color=colour, label=name)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(range(n), [f"cell {c.cell_id}" for c in cells], fontsize=8,
                  rotation=0 if n <= 10 else 90)  # fmt: skip
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylabel("Young's modulus E (kPa)")
    ax.set_title("E per cell: nucleus vs cytoplasm (n under each box)", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    ax.margins(y=0.12)
    return data_uri(fig)


def curves_figure(panels: Sequence[CurvePanel]) -> str:
    """Example curves: force (nN) against indentation (µm), data and fitted model."""
    n_cols = min(2 if len(panels) <= 4 else 3, len(panels))
    n_rows = -(-len(panels) // n_cols)
    fig = _figure(300 * n_cols, 250 * n_rows + 30)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    for ax, panel in zip(axes, panels, strict=False):
        x = np.asarray(panel.indentation_m) / M_PER_UM
        ax.plot(x, np.asarray(panel.force_n) / N_PER_NN, "o", markersize=2.5, color="0.35",
                label="data", zorder=3)  # fmt: skip
        if panel.fit_force_n is not None:
            fx = np.asarray(panel.fit_indentation_m) / M_PER_UM
            ax.plot(fx, np.asarray(panel.fit_force_n) / N_PER_NN, color="#d62728", linewidth=1.2,
                    alpha=0.85, label="fitted model", zorder=2)  # fmt: skip
        ax.set_title(panel.title, fontsize=8)
        ax.set_xlabel("indentation (µm)", fontsize=8)
        ax.set_ylabel("force (nN)", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    handles, labels = axes[0].get_legend_handles_labels()
    if panels[0].fit_force_n is None:  # the legend entry of the model comes from a fitted panel
        fitted = [ax for ax, p in zip(axes, panels, strict=False) if p.fit_force_n is not None]
        handles, labels = fitted[0].get_legend_handles_labels() if fitted else (handles, labels)
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return data_uri(fig)
