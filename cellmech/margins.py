"""Curves far enough from a nucleus outline for the per-compartment moduli.

Near a nucleus outline a curve measures both compartments:

- its contact disc (radius ``sqrt(R d)``, about 1 µm for a 2.5 µm tip indenting 0.5 µm;
  Johnson, Contact Mechanics (1985), ch. 4) straddles the outline, and the registration error
  (0.1-0.3 µm) and the difference between the drawn edge and the material's boundary (an edge
  drawn near the half-maximum of a dome-shaped nucleus lies inside its rim) shift it: every
  curve keeps ``nucleus_margin_m`` from the outline;
- from the cytoplasm side, the tip's flank meets the taller nucleus before its apex meets the
  cytoplasm. A tip whose surface lies ``t(r)`` above its apex at lateral distance ``r``
  (:func:`cellmech.topography.tip_height_m`) clears a nucleus that rises ``dh`` above the
  curve's own surface only beyond the lateral distance where ``t(r) = dh``: for a sphere of
  radius R, ``sqrt(dh (2R - dh))``, and R for any nucleus taller than R. A cytoplasm curve
  therefore also keeps that *flank reach* from the outline, ``dh`` taken between the highest
  tip-deconvolved surface of its cell's nucleus curves and its own (the whole tip reach when
  either is unknown: the conservative side). Taking the nucleus top rather than its height at
  the outline over-estimates ``dh`` for a dome, again the conservative side.

A nucleus none of whose usable curves meets the margin (its inscribed radius is below the
margin plus the grid pitch) keeps its innermost curves rather than giving no value: their tip
apex lands on the taller nucleus, only the contact disc reaches past its outline. A cytoplasm
none of whose curves clears the flank reach gives NaN: nearer, its curves may have been
measured on the nucleus alone (the bundled sample's cell 3: its seven cytoplasm curves 1.5-2.5
µm from the drawn outline all read the nucleus modulus, 1.08 kPa against a cytoplasm of 8.2
kPa). Compartments with curves that meet their distance are unaffected.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cellmech.containers import CurveAssignment
from cellmech.tipshape import lateral_reach
from cellmech.topography import tip_height_m

__all__ = ["clear_of_nucleus", "required_distance_m"]

#: compartments whose curves enter the per-compartment medians
COMPARTMENTS = ("nucleus", "cytoplasm")


def required_distance_m(
    assignment: CurveAssignment, geometry: Mapping[str, float], margin_m: float
) -> np.ndarray:
    """Least distance from a nucleus outline at which each curve measures one compartment.

    Parameters
    ----------
    assignment : CurveAssignment
        Cell, compartment and tip-deconvolved ``surface_height_m`` (m) per curve.
    geometry : mapping
        Tip geometry of the fit (``tip_radius_m`` or ``half_angle_deg``); an unknown geometry
        adds no flank reach.
    margin_m : float
        Distance every curve keeps from a nucleus outline, m.

    Returns
    -------
    ndarray of float, shape (n,)
        ``margin_m``, or for cytoplasm curves the larger of it and the flank reach (m), see
        the module docstring.
    """
    need = np.full(assignment.n_curves, float(margin_m))
    _, reach = tip_height_m(geometry, np.zeros(1))
    if reach <= 0:
        return need
    tallest = float(tip_height_m(geometry, np.array([reach]))[0][0])  # tip height at its reach
    height, cell = assignment.surface_height_m, assignment.cell_id
    cytoplasm = assignment.compartment == "cytoplasm"
    for k in np.unique(cell[cytoplasm]):
        nucleus = (cell == k) & (assignment.compartment == "nucleus") & np.isfinite(height)
        top = height[nucleus].max() if nucleus.any() else np.inf
        mine = cytoplasm & (cell == k)
        rise = np.fmin(top - height[mine], tallest)  # unknown (NaN): the whole reach
        need[mine] = np.maximum(margin_m, lateral_reach(geometry, rise))
    return need


def clear_of_nucleus(
    assignment: CurveAssignment,
    usable: np.ndarray,
    ids: np.ndarray,
    margin_m: float,
    geometry: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Curves that enter the per-compartment medians (see the module docstring).

    Parameters
    ----------
    assignment : CurveAssignment
        Cell, compartment, ``nucleus_distance_m`` and ``surface_height_m`` (m) per curve.
    usable : ndarray of bool, shape (n,)
        Curves that may enter a median (``ok``, finite positive modulus).
    ids : ndarray of int, shape (k,)
        Cell ids.
    margin_m : float
        Distance every curve keeps from a nucleus outline, m.
    geometry : mapping, optional
        Tip geometry of the fit; without it no flank reach is added.

    Returns
    -------
    ndarray of bool, shape (n,)
        True for the usable nucleus and cytoplasm curves that count: those at least their
        required distance from the outline; in a cell's nucleus none of whose curves is,
        those with the largest distance minus required distance.
    """
    dist = assignment.nucleus_distance_m
    slack = dist - required_distance_m(assignment, geometry or {}, margin_m)
    clear = usable & np.isin(assignment.compartment, COMPARTMENTS) & ~(slack < 0.0)
    nucleus = usable & (assignment.compartment == "nucleus")
    for k in ids:
        mine = nucleus & (assignment.cell_id == k)
        if mine.any() and not (clear & mine).any():  # the innermost curves of a small nucleus
            clear |= mine & ~(slack < np.nanmax(slack[mine], initial=-np.inf))
    return clear
