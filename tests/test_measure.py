"""Measurement stage: curve assignment, substrate plane, per-cell table, against ground truth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cellmech.cellstats import channel_identifier, median_standard_error, outline_distance_m
from cellmech.containers import CellTable, CurveStatus
from cellmech.errors import ConfigError
from cellmech.fit import FitOptions, fit_curves
from cellmech.mapfit import fit_map
from cellmech.measure import (
    MeasureOptions,
    assign_curves,
    measure_cells,
    sample_thickness_m,
    substrate_plane,
)
from cellmech.outputs.cells import annotate_curve_table, write_cell_tables
from cellmech.outputs.fit import curve_table
from cellmech.preprocess import PreprocessOptions, preprocess
from cellmech.synthetic import SampleOptions, generate_sample
from cellmech.synthetic.answers import truth_registration, truth_segmentation


def _measured(options: SampleOptions):
    sample = generate_sample(options)
    fit_opt = FitOptions(geometry=dict(sample.truth["afm"]["geometry"]), weight_cp_m=0)
    result = fit_map(sample.force_map, fit_options=fit_opt)
    seg, reg = truth_segmentation(sample), truth_registration(sample)
    assignment = assign_curves(sample.force_map, result, seg, reg)
    table = measure_cells(sample.force_map, result, seg, reg, sample.stack, assignment=assignment)
    return sample, result, assignment, table, fit_opt


@pytest.fixture(scope="module", params=[2, 4])
def measured(request):
    return _measured(SampleOptions(seed=request.param))


def test_options_are_validated_naming_section_and_key():
    for key, value in [("edge_distance_m", -1e-6), ("footprint_height_m", float("nan"))]:
        with pytest.raises(ConfigError, match=rf"\[measure\] {key}="):
            MeasureOptions(**{key: value})
    with pytest.raises(ConfigError, match="min_ok_curves"):
        MeasureOptions(min_ok_curves=1.5)
    with pytest.raises(ConfigError, match="bottom_effect"):
        MeasureOptions(bottom_effect="yes")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_substrate_plane_ignores_outliers(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-40e-6, 40e-6, (2, 400))
    z = 1e-6 + 2e-3 * x - 1e-3 * y + rng.normal(0, 5e-9, x.size)
    z[:120] += rng.uniform(0.3e-6, 5e-6, 120)  # 30 % cell material on the "dish"
    plane = substrate_plane(x, y, z)
    assert plane.slope_x == pytest.approx(2e-3, abs=5e-5)
    assert plane.slope_y == pytest.approx(-1e-3, abs=5e-5)
    assert np.abs(plane.height_m(x[120:], y[120:]) - z[120:]).max() < 30e-9
    assert 250 <= plane.n_points <= 300
    assert substrate_plane(x[:2], y[:2], z[:2]).n_points == 0


def test_outline_distance_of_a_square():
    labels = np.zeros((21, 21), int)
    labels[5:16, 5:16] = 3
    dist = outline_distance_m(labels, (1e-6, 1e-6))
    assert dist[10, 10] == pytest.approx(5.5e-6)  # 5 px to the boundary pixel + half a pixel
    assert dist[10, 5] == pytest.approx(0.5e-6)
    assert dist[10, 0] == pytest.approx(4.5e-6)
    assert np.all(np.isinf(outline_distance_m(np.zeros((3, 3), int), (1e-6, 1e-6))))


def test_channel_identifiers_and_median_standard_error():
    taken = {"gfp"}
    assert channel_identifier("GFP", taken) == "gfp_2"
    assert channel_identifier("Alexa 488 (nm)") == "alexa_488_nm"
    assert channel_identifier("405") == "c405"
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    scatter = 1.4826 * 1.0
    assert median_standard_error(values) == pytest.approx(np.sqrt(np.pi / 2 * scatter**2 / 5))
    big_se = np.full(5, 10.0)
    assert median_standard_error(values, big_se) == pytest.approx(np.sqrt(np.pi / 2 * 100 / 5))
    assert median_standard_error(values[:1], big_se[:1]) == 10.0
    assert np.isnan(median_standard_error(values[:0]))


def test_containers_are_frozen_and_validated(measured):
    _, _, assignment, table, _ = measured
    with pytest.raises(ValueError):
        table.columns["cell_id"][0] = 7
    with pytest.raises(TypeError):
        table.columns["cell_id"] = np.zeros(1)
    frame = table.to_frame()
    frame.loc[0, "cell_id"] = 99  # a copy
    assert table.columns["cell_id"][0] != 99
    assert set(table.units) == set(table.columns)
    assert table.units["volume_m3"] == "m^3" and table.units["youngs_modulus_median_pa"] == "Pa"
    with pytest.raises(ValueError, match="differ in length"):
        CellTable({"cell_id": [1, 2], "a_m": [1.0]}, {"cell_id": "", "a_m": "m"})
    with pytest.raises(ValueError, match="unknown compartments"):
        dataclasses.replace(assignment, compartment=np.full(assignment.n_curves, "roof"))


def test_assignment_matches_the_truth(measured):
    sample, result, assignment, _, _ = measured
    truth = sample.curves
    assert np.mean(assignment.cell_id == truth["label"].to_numpy()) > 0.98
    inner = np.isin(assignment.compartment, ("nucleus", "cytoplasm"))
    assert np.all(truth["label"].to_numpy()[inner] == assignment.cell_id[inner])
    assert np.all(assignment.edge_distance_m[assignment.compartment == "edge"] < 2e-6)
    slope = sample.truth["afm"]["substrate_slope"]  # sample frame; the scanner is turned a few deg
    tilt = np.hypot(assignment.plane.slope_x, assignment.plane.slope_y)
    assert tilt == pytest.approx(np.hypot(*slope), abs=5e-5)
    dish = (assignment.compartment == "substrate") & (result.status == CurveStatus.RIGID)
    assert dish.sum() > 100  # the dish is measured (rigid: E NaN, zero-force height kept)
    assert np.abs(np.median(assignment.height_above_substrate_m[dish])) < 10e-9


def test_per_cell_accuracy_against_truth(measured):
    sample, _, _, table, _ = measured
    frame = table.to_frame().set_index("cell_id")
    truth = sample.cells.set_index("label")
    inside = truth[truth["in_map"]]
    got = frame.loc[inside.index]
    assert np.all(got["n_curves"] > 0)  # every truth cell in the map is found
    for compartment in ("nucleus", "cytoplasm"):
        rel = got[f"youngs_modulus_{compartment}_median_pa"] / inside[f"{compartment}_modulus_pa"]
        # target >= 90 % of cells, met over 12 seeds by benchmarks/accuracy_measure.py (95/96;
        # the miss, seed 11: a cytoplasm all of whose curves lie within the nucleus margin and
        # read the nucleus, NaN); per seed of 4 cells one miss is allowed
        assert np.mean(np.abs(rel - 1) <= 0.05) >= 0.75, rel
    assert np.mean(np.abs(got["height_max_m"] / inside["height_max_m"] - 1) <= 0.10) >= 0.8
    assert np.mean(np.abs(got["volume_m3"] / inside["volume_m3"] - 1) <= 0.15) >= 0.8
    assert np.all(got["n_curves_ok"] <= got["n_curves"])
    assert np.all(got["youngs_modulus_median_se_pa"] < got["youngs_modulus_iqr_pa"])
    rel_area = frame["fluorescence_area_m2"] / truth["area_m2"].reindex(frame.index)
    assert np.all(np.abs(rel_area - 1) < 0.03)
    err_px = np.hypot(
        frame["centroid_row_px"] - truth["centroid_row_px"].reindex(frame.index),
        frame["centroid_col_px"] - truth["centroid_col_px"].reindex(frame.index),
    )
    assert np.all(err_px < 0.5)
    outside = frame.loc[truth.index[~truth["in_map"]]]
    assert np.all(outside["n_curves"] == 0) and np.all(outside["edge_cell"])
    assert np.all(np.isnan(outside["youngs_modulus_median_pa"]))
    assert np.all(outside["intensity_mean_cytoplasm"] > 0)
    # the marker channel grows with the log of the cytoplasm modulus (generator)
    marker = frame["intensity_mean_stiffness_marker"] / frame["intensity_mean_cytoplasm"]
    log_e = np.log(truth["cytoplasm_modulus_pa"].reindex(frame.index))
    assert np.corrcoef(log_e, marker)[0, 1] > 0.9
    assert table.warnings == ()


def test_centroid_in_afm_frame_is_the_truth_mapped_back(measured):
    sample, *_, table, _ = measured
    frame = table.to_frame().set_index("cell_id")
    truth = sample.cells.set_index("label")
    grid = np.asarray(sample.truth["transform"]["afm_px_to_scanner_m"])
    x, y = (
        grid
        @ np.vstack(
            [
                truth["centroid_afm_row"],
                truth["centroid_afm_col"],
                1 + 0 * truth["centroid_afm_row"],
            ]
        )
    )[:2]
    assert np.allclose(frame["centroid_x_m"].reindex(truth.index), x, atol=0.3e-6)
    assert np.allclose(frame["centroid_y_m"].reindex(truth.index), y, atol=0.3e-6)


def test_per_curve_standard_errors_and_rejected_registration(measured):
    sample, result, assignment, _, _ = measured

    huge = dataclasses.replace(result, youngs_modulus_se_pa=result.youngs_modulus_pa * 10)
    seg, reg = truth_segmentation(sample), truth_registration(sample)
    rejected = dataclasses.replace(reg, accepted=False, reason="test", error_estimate_m=3e-6)
    table = measure_cells(
        sample.force_map, huge, seg, rejected, sample.stack, assignment=assignment
    ).to_frame()
    base = measure_cells(sample.force_map, result, seg, reg, sample.stack, assignment=assignment)
    base = base.to_frame()
    cells = table["n_curves_ok"] > 1
    assert np.all(
        table["youngs_modulus_median_se_pa"][cells] > base["youngs_modulus_median_se_pa"][cells]
    )
    assert not table["registration_accepted"].any()
    assert np.all(table["registration_error_m"] == 3e-6)
    warned = measure_cells(sample.force_map, result, seg, rejected, sample.stack).warnings
    assert any("registration not accepted" in w for w in warned)


def test_outputs_cells_and_curve_annotation(measured, tmp_path):
    sample, result, assignment, table, _ = measured
    csv, parquet = write_cell_tables(tmp_path, table)
    human = pd.read_csv(csv)
    machine = pd.read_parquet(parquet)
    assert list(machine.columns) == list(table.columns)
    assert np.allclose(human["volume_um3"], human["volume_m3"] * 1e18, equal_nan=True)
    assert np.allclose(
        human["youngs_modulus_median_kpa"].dropna(),
        machine["youngs_modulus_median_pa"].dropna() / 1e3,
    )
    curves = annotate_curve_table(curve_table(sample.force_map, result), assignment)
    assert np.array_equal(curves["cell_id"], assignment.cell_id)
    assert set(curves["compartment"]) <= {
        "substrate",
        "cytoplasm",
        "nucleus",
        "edge",
        "outside_image",
    }
    assert "height_above_substrate_m" in curves and len(curves) == result.n_curves


@pytest.mark.parametrize("seed", [1, 3])
def test_bottom_effect_refit_composed_as_in_the_pipeline(seed):
    """Thin cells: a half-space fit overestimates E; the refit with the sample thickness from
    the substrate plane recovers it (per-cell compartment medians)."""
    options = SampleOptions(
        seed=seed,
        grid_shape=(32, 32),
        approach_points=500,
        retract_points=20,
        finite_thickness=True,
    )
    sample, result, assignment, _, fit_opt = _measured(options)
    thickness = sample_thickness_m(assignment)
    assert np.all(np.isnan(thickness[assignment.cell_id == 0]))
    block = sample.force_map.curves(assignment.curve_index)
    curves = preprocess(block, sample.force_map.spring_constant_n_per_m, PreprocessOptions())
    corrected = fit_curves(curves, fit_opt, sample_thickness_m=thickness)
    seg, reg = truth_segmentation(sample), truth_registration(sample)
    table = (
        measure_cells(
            sample.force_map,
            result,
            seg,
            reg,
            sample.stack,
            assignment=assignment,
            corrected=corrected,
        )
        .to_frame()
        .set_index("cell_id")
    )
    truth = sample.cells[sample.cells["in_map"]].set_index("label")
    for compartment in ("nucleus", "cytoplasm"):
        true_e = truth[f"{compartment}_modulus_pa"]
        raw = table.loc[truth.index, f"youngs_modulus_{compartment}_median_pa"] / true_e
        fixed = table.loc[truth.index, f"youngs_modulus_corrected_{compartment}_median_pa"] / true_e
        # a cytoplasm rim narrower than the tip flank's reach has no median (cellmech.margins)
        measured = raw.notna()
        assert measured.sum() >= 3 and fixed.notna().equals(measured), (raw, fixed)
        raw, fixed = raw[measured], fixed[measured]
        assert np.median(raw) > 1.1 and np.all(raw > 1.03), raw  # overestimated
        # thickness = the apex's height above the plane, a little less than that of the point
        # the tip flank touches on slopes: the cytoplasm stays up to ~10 % low (seed 3: -10.0 %)
        assert np.all(np.abs(fixed - 1) < 0.12), fixed
        assert np.all(np.abs(fixed - 1) < np.abs(raw - 1)), (raw, fixed)
