"""Force-curve inspector, pure part: world click -> curve, the curve with its fitted model, and
the matplotlib drawing (no Qt, no napari; the widget embeds the figure).

The fitted curve is the fit's own model, ``F = b + E g(cp - x)`` (see :mod:`cellmech.fit`),
evaluated with :func:`cellmech.models.model_force` on the preprocessed curve (the one curve
preprocessed again with the options recorded in the fit's parameters, which gives the same
curve as in its block: preprocessing is per curve).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cellmech.containers import CurveStatus, FitResult, ForceMap
from cellmech.models import fitted_force
from cellmech.preprocess import PreprocessOptions, preprocess
from cellmech.units import M_PER_UM, PA_PER_KPA

__all__ = ["CurveView", "curve_at", "curve_view", "plot_curve"]

N_PER_NN = 1e-9


def curve_at(
    world_yx: Any, afm_to_world: np.ndarray, curve_index: np.ndarray
) -> tuple[int, int, int] | None:
    """The grid cell and curve under a world position.

    Parameters
    ----------
    world_yx : (float, float)
        World position ``(y, x)`` in µm (the last two world axes of a napari click).
    afm_to_world : ndarray, shape (3, 3)
        The AFM layer's pixel ``(row, col, 1)`` -> world ``(y, x, 1)`` affine.
    curve_index : ndarray of int, shape (rows, cols)
        Curve index per grid cell, -1 where none.

    Returns
    -------
    (row, col, curve) or None
        None outside the grid or on a cell without a curve.
    """
    y, x = (float(v) for v in world_yx[-2:])
    inverse = np.linalg.pinv(np.asarray(afm_to_world, float))
    row, col = np.rint(inverse[:2] @ np.array([y, x, 1.0])).astype(int)
    rows, cols = curve_index.shape
    if not (0 <= row < rows and 0 <= col < cols) or curve_index[row, col] < 0:
        return None
    return int(row), int(col), int(curve_index[row, col])


@dataclass(frozen=True)
class CurveView:
    """One curve ready to plot (display units: µm, nN, kPa).

    ``approach``/``retract`` hold ``(height_um, force_nn)`` of the raw segments (retract None
    when not recorded); ``indentation_um``/``force_nn`` the preprocessed approach as
    indentation ``cp - x`` against force; ``model_nn`` the fitted force on the same points
    (None without a fit); ``values`` the fitted values by label.
    """

    curve: int
    row: int
    col: int
    approach: tuple[np.ndarray, np.ndarray]
    retract: tuple[np.ndarray, np.ndarray] | None
    indentation_um: np.ndarray
    force_nn: np.ndarray
    model_nn: np.ndarray | None
    values: Mapping[str, str] = field(default_factory=dict)


def curve_view(force_map: ForceMap, curve: int, fit: FitResult | None = None) -> CurveView:
    """Load, preprocess and (when ``fit`` covers it) evaluate the fit of one curve.

    Preprocessing uses the options recorded in ``fit.parameters["preprocessing"]`` (defaults
    without a fit), so the curve is the one that was fitted.
    """
    block = force_map.curves([curve])
    pre_params = dict(fit.parameters.get("preprocessing", {})) if fit is not None else {}
    options = PreprocessOptions(**pre_params)
    curves = preprocess(block, force_map.spring_constant_n_per_m, options)
    x, force = curves.curve(0)
    position = _position(fit, curve)
    model = None
    values: dict[str, str] = {"status (preprocessing)": CurveStatus(curves.status[0]).label}
    cp = 0.0
    if position is not None:
        cp = fit.contact_point_m[position]
        values = _values(fit, position)
        if np.isfinite(cp):
            model = fitted_force(fit, position, x) / N_PER_NN
        else:
            cp = 0.0
    return CurveView(
        curve=curve,
        row=int(force_map.row[curve]),
        col=int(force_map.col[curve]),
        approach=_segment(block.approach),
        retract=None if block.retract is None else _segment(block.retract),
        indentation_um=(cp - x) / M_PER_UM,
        force_nn=force / N_PER_NN,
        model_nn=model,
        values=values,
    )


def _position(fit: FitResult | None, curve: int) -> int | None:
    if fit is None:
        return None
    hits = np.flatnonzero(fit.curve_index == curve)
    return int(hits[0]) if hits.size else None


def _segment(segment) -> tuple[np.ndarray, np.ndarray]:
    c = segment.curve(0)
    height = c.get("measured_height_m", c.get("height_m"))
    return height / M_PER_UM, c["force_n"] / N_PER_NN


def _values(fit: FitResult, i: int) -> dict[str, str]:
    return {
        "status": CurveStatus(fit.status[i]).label,
        "E": f"{fit.youngs_modulus_pa[i] / PA_PER_KPA:.3g} kPa",
        "contact point": f"{fit.contact_point_m[i] / M_PER_UM:.3g} µm",
        "zero-force height": f"{fit.zero_force_height_m[i] / M_PER_UM:.3g} µm",
        "max. indentation": f"{fit.indentation_max_m[i] / M_PER_UM:.3g} µm",
        "R²": f"{fit.r_squared[i]:.3f}",
        "model": fit.model,
    }


def plot_curve(view: CurveView, figure: Any) -> None:
    """Draw ``view`` into a matplotlib ``figure`` (cleared first): raw approach/retract
    against height on the left, force against indentation with the fit on the right."""
    figure.clear()
    raw, ind = figure.subplots(1, 2)
    raw.plot(*view.approach, lw=0.8, label="approach")
    if view.retract is not None:
        raw.plot(*view.retract, lw=0.8, label="retract")
    raw.set(xlabel="height (µm)", ylabel="force (nN)", title=f"curve {view.curve}")
    raw.legend(fontsize="small")
    ind.plot(view.indentation_um, view.force_nn, ".", ms=2, color="0.5", label="data")
    if view.model_nn is not None:
        ind.plot(view.indentation_um, view.model_nn, "r-", lw=1.2, label="fit")
    ind.set(xlabel="indentation (µm)", ylabel="force (nN)", title=f"row {view.row}, col {view.col}")
    ind.legend(fontsize="small")
    text = "\n".join(f"{k}: {v}" for k, v in view.values.items())
    ind.text(0.03, 0.97, text, transform=ind.transAxes, va="top", fontsize="x-small")
    figure.tight_layout()
