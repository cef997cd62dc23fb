"""What the report's figures show, computed from a :class:`~cellmech.pipeline.SampleResult`:
the cell outlines (fluorescence pixels and, through the registration, AFM grid pixels), the
image under them, the maps, the per-cell moduli, the example curves with their fits and the
warnings a person should read first.

Pure NumPy; the drawing is in :mod:`cellmech.outputs.figures`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from cellmech.containers import CurveStatus, FitResult
from cellmech.errors import CellmechError
from cellmech.gridmaps import to_grid
from cellmech.margins import clear_of_nucleus
from cellmech.models import fitted_force
from cellmech.outputs.figures import CellModuli, CurvePanel, Outline
from cellmech.transforms import apply_affine
from cellmech.units import M_PER_UM, PA_PER_KPA

#: cells with fewer ok curves than this are flagged (unless the run's [measure] says otherwise)
MIN_OK_CURVES = 3
#: curve statuses that deserve a warning when they occur inside a cell
SUSPICIOUS_IN_CELLS = {
    "rigid": "a thin cell over the dish or a misregistration",
    "no_contact": "an approach too short to reach the cell or a misregistration",
}
#: statuses whose zero-force heights describe the sample surface
TRUSTED_HEIGHT = ("ok", "rigid")

__all__ = [
    "MIN_OK_CURVES",
    "SUSPICIOUS_IN_CELLS",
    "TRUSTED_HEIGHT",
    "afm_outlines",
    "cell_image",
    "cell_moduli",
    "example_curves",
    "fluorescence_outlines",
    "grid_corners_px",
    "height_map",
    "in_cells",
    "load_example_curves",
    "modulus_range",
    "report_warnings",
]


def cell_image(stack, segmentation=None) -> tuple[np.ndarray, str]:
    """Maximum projection over z of the cell channel (the first channel if none is named).

    Returns
    -------
    image : ndarray of float, shape (Y, X)
    channel : str
        The channel shown.
    """
    names = stack.channel_names
    channel = getattr(segmentation, "cell_channel", None)
    channel = channel if channel in names else names[0]
    c = names.index(channel)
    image = np.asarray(stack.data[c, 0])
    for z in range(1, stack.shape[1]):  # plane by plane: a lazy stack is never loaded whole
        image = np.maximum(image, np.asarray(stack.data[c, z]))
    return image.astype(float), channel


def _longest_contour(mask: np.ndarray) -> np.ndarray | None:
    from skimage.measure import find_contours

    contours = find_contours(np.pad(mask, 1).astype(float), 0.5)
    return max(contours, key=len) - 1.0 if contours else None


def fluorescence_outlines(segmentation) -> list[Outline]:
    """Outline of every cell (labelled with its id at its centroid) and of every nucleus,
    in fluorescence pixels."""
    out: list[Outline] = []
    for labels, nucleus in ((segmentation.cell_labels, False), (segmentation.nucleus_labels, True)):
        for k, box in enumerate(ndimage.find_objects(labels), start=1):
            if box is None:
                continue
            mask = labels[box] == k
            contour = _longest_contour(mask)
            if contour is None:
                continue
            r0, c0 = box[0].start, box[1].start
            centre = ndimage.center_of_mass(mask)
            out.append(
                Outline(
                    rows=contour[:, 0] + r0,
                    cols=contour[:, 1] + c0,
                    label="" if nucleus else str(k),
                    label_at=(centre[0] + r0, centre[1] + c0),
                    nucleus=nucleus,
                )
            )
    return out


def afm_outlines(outlines: list[Outline], registration) -> list[Outline]:
    """Fluorescence-pixel outlines mapped onto the AFM grid by the inverse registration."""
    to_afm = np.linalg.inv(registration.afm_px_to_fluorescence_px)
    mapped = []
    for o in outlines:
        rows, cols = apply_affine(to_afm, o.rows, o.cols)
        at = apply_affine(to_afm, *o.label_at)
        mapped.append(Outline(rows, cols, o.label, (float(at[0]), float(at[1])), o.nucleus))
    return mapped


def grid_corners_px(registration, grid_shape: tuple[int, int]) -> np.ndarray:
    """Fluorescence ``(row, col)`` of the AFM grid's outer corners (pixel edges at ±0.5),
    shape (4, 2), in order around the map."""
    rows, cols = grid_shape
    r = np.array([-0.5, -0.5, rows - 0.5, rows - 0.5])
    c = np.array([-0.5, cols - 0.5, cols - 0.5, -0.5])
    return np.column_stack(apply_affine(registration.afm_px_to_fluorescence_px, r, c))


def height_map(result) -> tuple[np.ndarray, str]:
    """Height on the AFM grid (m) and its colour-bar label, from the curves whose zero-force
    height is trusted (status in :data:`TRUSTED_HEIGHT`; NaN elsewhere).

    The height above the substrate plane when the assignment gives it, else the zero-force
    height relative to its lowest trusted value.
    """
    fm, fit, assignment = result.force_map, result.fit, result.assignment
    trusted = np.isin(fit.status_labels, TRUSTED_HEIGHT)
    above = getattr(assignment, "height_above_substrate_m", None)
    if above is not None:
        height = np.where(trusted, np.asarray(above, float), np.nan)
        return to_grid(fm, fit.curve_index, height), "above substrate (µm)"
    height = np.where(trusted, fit.zero_force_height_m, np.nan)
    lowest = np.nanmin(height) if np.isfinite(height).any() else 0.0
    return to_grid(fm, fit.curve_index, height - lowest), "above lowest point (µm)"


def in_cells(result) -> np.ndarray:
    """Per fitted curve: True inside a cell (all True without an assignment)."""
    if result.assignment is None:
        return np.ones(result.fit.n_curves, bool)
    return np.asarray(result.assignment.cell_id) > 0


def modulus_range(result) -> tuple[float, float] | None:
    """Colour range (Pa) of the modulus map: the 1st-99th percentile of the ok moduli inside
    cells (of all ok moduli without an assignment); None when there is none."""
    fit = result.fit
    ok = (fit.status == CurveStatus.OK) & in_cells(result) & (fit.youngs_modulus_pa > 0)
    if not ok.any():
        return None
    lo, hi = np.percentile(fit.youngs_modulus_pa[ok], (1, 99))
    return float(lo), float(hi)


def cell_moduli(result) -> list[CellModuli]:
    """Moduli of the ok curves in each cell's nucleus and cytoplasm that enter the table's
    compartment medians (edge curves and curves near the nucleus outline left out, as
    :func:`cellmech.margins.clear_of_nucleus` decides), so the plot shows what the table
    reports."""
    fit, assignment = result.fit, result.assignment
    cell_id = np.asarray(assignment.cell_id)
    compartment = np.asarray(assignment.compartment).astype(str)
    e = fit.youngs_modulus_pa
    ok = (fit.status == CurveStatus.OK) & np.isfinite(e) & (e > 0)
    ids = np.unique(cell_id[cell_id > 0])
    geometry = fit.parameters.get("geometry", {})
    margin = result.settings.measure.nucleus_margin_m
    clear = clear_of_nucleus(assignment, ok, ids, margin, geometry)
    return [
        CellModuli(
            int(k),
            e[clear & (cell_id == k) & (compartment == "nucleus")],
            e[clear & (cell_id == k) & (compartment == "cytoplasm")],
        )
        for k in ids
    ]


def _examples(fit: FitResult, preferred: np.ndarray) -> list[tuple[str, int]]:
    """``(role, position)`` of the curves to show: the typical (median R²) and the worst ok
    fit among the ``preferred`` curves (all if none of them is ok), and the first curve of
    every other status present (a preferred one if there is)."""
    picks: list[tuple[str, int]] = []
    ok = (fit.status == CurveStatus.OK) & np.isfinite(fit.r_squared)
    ok = np.flatnonzero(ok & preferred if (ok & preferred).any() else ok)
    if ok.size:
        order = ok[np.argsort(fit.r_squared[ok], kind="stable")]
        picks.append(("typical ok fit (median R²)", int(order[(order.size - 1) // 2])))
        if order.size > 1:
            picks.append(("worst ok fit (lowest R²)", int(order[0])))
    for status in CurveStatus:
        found = fit.status == status
        found = np.flatnonzero(found & preferred if (found & preferred).any() else found)
        if status != CurveStatus.OK and found.size:
            picks.append((f"status {status.label}", int(found[0])))
    return picks


def _where(result, position: int) -> str:
    assignment = result.assignment
    if assignment is None:
        return ""
    cell = int(np.asarray(assignment.cell_id)[position])
    compartment = str(np.asarray(assignment.compartment)[position])
    return f", cell {cell} {compartment}" if cell > 0 else f", {compartment}"


def example_curves(result) -> list[CurvePanel]:
    """Panels of the example curves (:func:`_examples`, ok ones inside cells when cells are
    known): preprocessed data (force
    against indentation ``cp - x``; against ``-x`` when no contact point was fitted) and the
    fitted model where there is one.

    Raises
    ------
    CellmechError, OSError
        If the curves cannot be read again from the force map's file.
    """
    from cellmech.preprocess import PreprocessOptions, preprocess

    fit, fm = result.fit, result.force_map
    picks = _examples(fit, in_cells(result))
    if not picks:
        return []
    positions = [p for _, p in picks]
    options = PreprocessOptions(**dict(fit.parameters.get("preprocessing", {})))
    curves = preprocess(fm.curves(fit.curve_index[positions]), fm.spring_constant_n_per_m, options)
    panels = []
    for i, (role, pos) in enumerate(picks):
        tip, force = curves.curve(i)
        panels.append(_panel(result, role, pos, tip, force))
    return panels


def _panel(result, role: str, pos: int, tip: np.ndarray, force: np.ndarray) -> CurvePanel:
    fit = result.fit
    cp, e = fit.contact_point_m[pos], fit.youngs_modulus_pa[pos]
    head = f"{role}\ncurve {int(fit.curve_index[pos])}{_where(result, pos)}"
    if not (np.isfinite(cp) and np.isfinite(e)):
        return CurvePanel(head + "\nno fit", -tip, force)
    delta_max = np.nanmax(cp - tip)
    # ok curves: a baseline as long as the contact; a curve fitted but not ok (poor_fit) shows
    # its whole approach, where the cause of its status lies (a spike or a step far before
    # contact is invisible in the zoom)
    zoom = fit.status[pos] == CurveStatus.OK
    keep = (cp - tip) >= -max(delta_max, 0.2 * M_PER_UM) if zoom else np.isfinite(tip)
    fit_tip = np.linspace(np.nanmin(tip[keep]), np.nanmax(tip[keep]), 300)
    text = f"{head}\nE = {e / PA_PER_KPA:.3g} kPa, R² = {fit.r_squared[pos]:.3f}"
    return CurvePanel(
        text, cp - tip[keep], force[keep], cp - fit_tip, fitted_force(fit, pos, fit_tip)
    )


def load_example_curves(result) -> tuple[list[CurvePanel], str]:
    """:func:`example_curves`, or no panels and the reason when the map cannot be read."""
    try:
        return example_curves(result), ""
    except (CellmechError, OSError) as exc:
        return [], f"the example curves could not be read again from the force map: {exc}"


def report_warnings(result) -> list[str]:
    """What a person should check, the run's own warnings first (duplicates removed)."""
    found = list(result.warnings) + list(getattr(result.cells, "warnings", ()) or ())
    reg = result.registration
    if reg is not None and not reg.accepted:
        found.append(
            f"Registration NOT accepted: {reg.reason or 'no reason given'}. Cell positions on "
            "the AFM map may be wrong: check the overlay below before using per-cell values."
        )
    found += _few_ok_curves(result) + _suspicious_curves(result)
    return list(dict.fromkeys(found))


def _few_ok_curves(result) -> list[str]:
    if result.cells is None:
        return []
    measure = getattr(result.settings, "measure", None)
    limit = int(getattr(measure, "min_ok_curves", MIN_OK_CURVES))
    frame = result.cells.to_frame()
    if not {"n_curves", "n_curves_ok"} <= set(frame.columns):
        return []
    few = frame[(frame["n_curves"] > 0) & (frame["n_curves_ok"] < limit)]
    return [
        f"Cell {row.cell_id}: only {row.n_curves_ok} ok curve(s) of {row.n_curves} "
        f"(fewer than {limit}); its moduli are unreliable."
        for row in few.itertuples()
    ]


def _suspicious_curves(result) -> list[str]:
    if result.assignment is None:
        return []
    cell_id = np.asarray(result.assignment.cell_id)
    labels = result.fit.status_labels
    out = []
    for status, causes in SUSPICIOUS_IN_CELLS.items():
        hit = (labels == status) & (cell_id > 0)
        if hit.any():
            ids, counts = np.unique(cell_id[hit], return_counts=True)
            where = ", ".join(f"cell {i}: {n}" for i, n in zip(ids, counts, strict=True))
            out.append(
                f"{int(hit.sum())} curve(s) with status '{status}' lie inside cells ({where}); "
                f"check them in the curve table ({causes})."
            )
    return out
