"""Per-compartment medians near the nucleus outline (cellmech.margins)."""

from __future__ import annotations

import numpy as np
import pytest

from cellmech.cellstats import modulus_columns, outline_distance_m
from cellmech.containers import CurveAssignment, CurveStatus, FitResult, SubstratePlane
from cellmech.margins import clear_of_nucleus, required_distance_m

PIXEL_M = 0.25e-6
MARGIN_M = 1.5e-6
EDGE_M = 2e-6


def _disc(shape, centre_px, radius_px):
    rr, cc = np.indices(shape)
    return np.hypot(rr - centre_px[0], cc - centre_px[1]) <= radius_px


def _field():
    """Cell 1 (radius 12 µm) with a 6 µm nucleus; cell 2 (radius 8 µm) with a 2 µm nucleus
    that lies between the nodes of a 1.5 µm curve grid, so no curve is 1.5 µm inside it."""
    shape = (120, 220)
    cells, nuclei = np.zeros(shape, int), np.zeros(shape, int)
    for k, centre, cell_r, nuc_r in ((1, (60, 60), 48, 24), (2, (60, 160), 32, 8)):
        cells[_disc(shape, centre, cell_r)] = k
        nuclei[_disc(shape, centre, nuc_r)] = k
    rows, cols = np.meshgrid(np.arange(3, 120, 6), np.arange(2, 220, 6), indexing="ij")
    rows, cols = rows.ravel(), cols.ravel()
    cell = cells[rows, cols]
    edge = outline_distance_m(cells, (PIXEL_M, PIXEL_M))[rows, cols]
    nuc = outline_distance_m(nuclei, (PIXEL_M, PIXEL_M))[rows, cols]
    in_nucleus = (nuclei[rows, cols] == cell) & (cell > 0)
    compartment = np.select(
        [cell == 0, edge < EDGE_M, in_nucleus], ["substrate", "edge", "nucleus"], "cytoplasm"
    )
    n = rows.size
    assignment = CurveAssignment(
        curve_index=np.arange(n), cell_id=cell, compartment=compartment, edge_distance_m=edge,
        nucleus_distance_m=nuc, fluorescence_row_px=rows.astype(float),
        fluorescence_col_px=cols.astype(float), height_above_substrate_m=np.zeros(n),
        surface_height_m=np.zeros(n), plane=SubstratePlane(0.0, 0.0, 0.0, (0.0, 0.0), 0.0, 0),
    )  # fmt: skip
    # nucleus 4 kPa, cytoplasm 1 kPa; within the margin a curve mixes both, more so nearer
    mixed = 2000.0 + 1000.0 * nuc / 1e-6
    e = np.where(compartment == "nucleus", np.where(nuc >= MARGIN_M, 4000.0, mixed), 1000.0)
    e = np.where((compartment == "cytoplasm") & (nuc < MARGIN_M), 1500.0, e)
    nan = np.full(n, np.nan)
    result = FitResult(
        curve_index=np.arange(n), youngs_modulus_pa=e, contact_point_m=nan, baseline_n=nan,
        zero_force_height_m=nan, indentation_max_m=nan, rms_residual_n=nan, r_squared=nan,
        status=np.full(n, int(CurveStatus.OK)), model="hertz_sphere",
    )  # fmt: skip
    return result, assignment


def test_margin_excludes_boundary_curves_of_a_large_nucleus():
    result, a = _field()
    ok = np.ones(a.n_curves, bool)
    clear = clear_of_nucleus(a, ok, np.array([1, 2]), MARGIN_M)
    for name in ("nucleus", "cytoplasm"):
        mine = (a.cell_id == 1) & (a.compartment == name)
        near = mine & (a.nucleus_distance_m < MARGIN_M)
        assert near.sum() >= 8 and (mine & ~near).sum() >= 8  # both kinds present
        assert np.array_equal(clear[mine], ~near[mine])  # the full margin, as before
    table = modulus_columns(result, a, np.array([1, 2]), "e", MARGIN_M)
    assert table["e_nucleus_median_pa"][0] == 4000.0
    assert table["e_cytoplasm_median_pa"][0] == 1000.0


def test_nucleus_smaller_than_the_margin_keeps_its_innermost_curves():
    result, a = _field()
    small = (a.cell_id == 2) & (a.compartment == "nucleus")
    depth = a.nucleus_distance_m[small]
    assert small.sum() >= 4 and depth.max() < MARGIN_M  # every curve is within the margin
    clear = clear_of_nucleus(a, np.ones(a.n_curves, bool), np.array([1, 2]), MARGIN_M)
    innermost = small & (a.nucleus_distance_m == depth.max())
    assert np.array_equal(clear & small, innermost) and innermost.sum() < small.sum()
    table = modulus_columns(result, a, np.array([1, 2]), "e", MARGIN_M)
    nucleus_median = table["e_nucleus_median_pa"][1]
    assert np.isfinite(nucleus_median)
    assert nucleus_median == pytest.approx(2000.0 + 1000.0 * depth.max() / 1e-6)
    assert nucleus_median > np.median(result.youngs_modulus_pa[small])  # least mixed curves
    assert table["e_cytoplasm_median_pa"][1] == 1000.0  # its cytoplasm has clear curves


def test_unusable_curves_do_not_set_the_margin():
    result, a = _field()
    small = (a.cell_id == 2) & (a.compartment == "nucleus")
    deepest = small & (a.nucleus_distance_m == a.nucleus_distance_m[small].max())
    usable = ~deepest  # e.g. the innermost curves failed their fit
    clear = clear_of_nucleus(a, usable, np.array([1, 2]), MARGIN_M)
    left = a.nucleus_distance_m[small & usable]
    assert np.array_equal(
        clear[small], (small & usable & (a.nucleus_distance_m == left.max()))[small]
    )
    status = np.where(deepest, int(CurveStatus.POOR_FIT), int(CurveStatus.OK))
    poor = FitResult(**{**result.__dict__, "status": status})
    table = modulus_columns(poor, a, np.array([1, 2]), "e", MARGIN_M)
    assert table["e_nucleus_median_pa"][1] == pytest.approx(2000.0 + 1000.0 * left.max() / 1e-6)


def _with_heights(assignment, nucleus_m, cytoplasm_m):
    """The field's assignment with flat nucleus and cytoplasm surfaces at these heights."""
    h = np.where(assignment.compartment == "nucleus", nucleus_m, cytoplasm_m)
    return CurveAssignment(**{**assignment.__dict__, "surface_height_m": h})


@pytest.mark.parametrize("tip_m", [2.5e-6, 5e-6])
def test_cytoplasm_curves_keep_the_reach_of_the_tip_flank(tip_m):
    _, a = _field()
    cyto = a.compartment == "cytoplasm"
    tall = _with_heights(a, 6e-6, 1e-6)  # the nucleus rises 5 µm: more than a 2.5 µm sphere
    need = required_distance_m(tall, {"tip_radius_m": tip_m}, MARGIN_M)
    assert np.all(need[~cyto] == MARGIN_M)
    assert np.allclose(need[cyto], tip_m, rtol=0.01)  # a sphere clears it only beyond R
    low = _with_heights(a, 2e-6, 1e-6)  # 1 µm rise: reach sqrt(dh (2R - dh)) = 2 or 3 µm
    need = required_distance_m(low, {"tip_radius_m": tip_m}, MARGIN_M)
    assert np.allclose(need[cyto], np.sqrt(1e-6 * (2 * tip_m - 1e-6)), rtol=0.01)
    flat = _with_heights(a, 1.1e-6, 1e-6)  # 0.1 µm rise: the margin is the larger
    assert np.all(required_distance_m(flat, {"tip_radius_m": tip_m}, MARGIN_M) == MARGIN_M)
    assert np.all(required_distance_m(tall, {}, MARGIN_M) == MARGIN_M)  # unknown tip
    clear = clear_of_nucleus(tall, np.ones(a.n_curves, bool), np.array([1, 2]), MARGIN_M,
                             {"tip_radius_m": tip_m})  # fmt: skip
    mine = cyto & (a.cell_id == 1)  # a rim 4 µm wide between nucleus and edge curves
    d = a.nucleus_distance_m
    far = mine & (d >= tip_m)
    assert (mine & ~far & (d >= MARGIN_M)).sum() >= 4  # excluded by the flank, not the margin
    if tip_m < 4e-6:
        assert far.sum() >= 4 and np.array_equal(clear[mine], far[mine])
    else:  # a rim narrower than the reach has no curve that measured the cytoplasm alone
        assert not far.any() and not clear[mine].any()


def test_cytoplasm_never_falls_back_to_curves_near_the_nucleus():
    result, a = _field()
    wide = 5e-6  # wider than cell 1's cytoplasm rim (4 µm) and cell 2's nucleus
    rim = (a.compartment == "cytoplasm") & (a.cell_id == 1)
    assert rim.sum() >= 8 and a.nucleus_distance_m[rim].max() < wide
    clear = clear_of_nucleus(a, np.ones(a.n_curves, bool), np.array([1, 2]), wide)
    assert not clear[rim].any()
    table = modulus_columns(result, a, np.array([1, 2]), "e", wide)
    assert np.isnan(table["e_cytoplasm_median_pa"][0])  # rather than a value read on the nucleus
    assert table["e_nucleus_median_pa"][0] == 4000.0  # 6 µm deep: curves beyond 5 µm
    assert np.isfinite(table["e_nucleus_median_pa"][1])  # small nucleus: its innermost curves
