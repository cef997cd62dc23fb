"""Tests of the synthetic correlative dataset (cellmech.synthetic and its sub-modules)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.stats import spearmanr
from skimage.measure import regionprops

from cellmech.cli import main
from cellmech.errors import ConfigError
from cellmech.fit import FitOptions, fit_curves
from cellmech.io import read_fluorescence, read_force_map
from cellmech.preprocess import preprocess
from cellmech.synthetic import (
    FILE_NAMES,
    SAMPLE_DATA_OPTIONS,
    SampleOptions,
    generate_sample,
    make_sample_data,
)
from cellmech.synthetic.afm import contact_heights, solve_indentation
from cellmech.transforms import apply_affine

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"
#: small but complete datasets keep the whole file fast
SMALL = {"grid_shape": (12, 12), "approach_points": 300, "retract_points": 60, "fluo_z_planes": 4}


@pytest.fixture(scope="module")
def small():
    return generate_sample(SampleOptions(seed=5, **SMALL))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    opts = SampleOptions(seed=2, **{**SMALL, "grid_shape": (6, 8), "bad_fraction": 0.1})
    return make_sample_data(out, opts), opts


def test_generation_is_deterministic_for_a_seed(small):
    again = generate_sample(SampleOptions(seed=5, **SMALL))
    other = generate_sample(SampleOptions(seed=6, **SMALL))
    a, b = small.force_map.curves(), again.force_map.curves()
    np.testing.assert_array_equal(a.approach.force_n, b.approach.force_n)
    np.testing.assert_array_equal(small.stack.data, again.stack.data)
    pd.testing.assert_frame_equal(small.cells, again.cells)
    assert small.truth == again.truth
    assert not small.cells["cytoplasm_modulus_pa"].equals(other.cells["cytoplasm_modulus_pa"])
    # meander scan: the second row is recorded from the last column to the first
    cols = small.force_map.grid.shape[1]
    assert small.force_map.col[cols] == cols - 1 and small.force_map.row[cols] == 1


def test_series_spring_solution_matches_independent_root_finder():
    k, e, r, nu = 0.05, 2e3, 2.5e-6, 0.5
    travel = np.array([1e-9, 50e-9, 400e-9, 2e-6])
    delta = solve_indentation(
        travel,
        np.full(4, e),
        k,
        "hertz_paraboloidal",
        poisson_ratio=nu,
        geometry={"tip_radius_m": r},
    )
    for t, d in zip(travel, delta, strict=True):
        hertz = lambda x, t=t: k * (t - x) - 4 / 3 * e / (1 - nu**2) * np.sqrt(r) * x**1.5  # noqa: E731
        assert d == pytest.approx(brentq(hertz, 0.0, t, xtol=1e-20, rtol=1e-14), rel=1e-10)


def test_tip_convolution_never_penetrates_and_touches_within_the_tip(small):
    c = small.curves
    x, y = c["x_sample_m"].to_numpy(), c["y_sample_m"].to_numpy()
    surface = small.scene.fields(x, y)["surface_height_m"]
    lift = c["contact_height_m"].to_numpy() - surface
    assert lift.min() >= -1e-12  # the apex never lies below the surface
    assert lift.max() > 100e-9  # at cell edges the tip flank touches first
    r = small.truth["afm"]["geometry"]["tip_radius_m"]
    height, tx, ty = contact_heights(small.scene, x, y, {"tip_radius_m": r})
    np.testing.assert_array_equal(height, c["contact_height_m"])
    assert np.hypot(tx - x, ty - y).max() <= r * (1 + 1e-9)


def test_curves_stop_at_the_setpoint_and_differ_in_length():
    s = generate_sample(SampleOptions(seed=4, noise_free=True, **SMALL))
    block = s.force_map.curves()
    app = block.approach
    sp = s.truth["afm"]["setpoint_n"]
    last = app.force_n[np.arange(app.n_curves), app.n_points - 1]
    before = app.force_n[np.arange(app.n_curves), app.n_points - 2]
    assert np.all(last >= sp) and np.all(before < sp)
    assert len(np.unique(app.n_points)) > 10
    # heights decrease on the approach, increase on the retract, and the retract starts at the turn
    assert np.all(np.diff(app.height_m, axis=1)[app.mask[:, 1:]] < 0)
    assert np.all(np.diff(block.retract.height_m, axis=1) > 0)
    np.testing.assert_allclose(
        block.retract.height_m[:, 0], app.height_m[np.arange(app.n_curves), app.n_points - 1]
    )


def test_bad_curves_are_flagged_and_look_bad():
    s = generate_sample(SampleOptions(seed=8, **{**SMALL, "bad_fraction": 0.1}))
    c = s.curves
    app = s.force_map.curves().approach
    no_contact = c.index[c["bad_reason"] == "no_contact"].to_numpy()
    spikes = c.index[c["bad_reason"] == "spikes"].to_numpy()
    assert no_contact.size >= 5 and spikes.size >= 5
    assert np.all(app.n_points[no_contact] == s.truth["options"]["approach_points"])
    assert not c.loc[no_contact, "setpoint_reached"].any()
    for i in no_contact:  # a straight (offset, tilted, noisy) baseline: no contact anywhere
        h, f = app.height_m[i], app.force_n[i]
        residual = f - np.polyval(np.polyfit(h, f, 1), h)
        assert np.abs(residual).max() < 0.05 * s.truth["afm"]["setpoint_n"]
    # spikes: isolated outliers before contact, far above the noise of the good curves
    contact = np.nan_to_num(c["contact_piezo_height_m"].to_numpy(), nan=-np.inf)
    free = app.height_m > contact[:, None] + 50e-9
    f = np.where(free, app.force_n, np.nan)
    outlier = np.nanmax(np.abs(f[:, 1:-1] - (f[:, :-2] + f[:, 2:]) / 2), axis=1)
    good = (~c["bad"]).to_numpy()
    assert outlier[spikes].min() > 10 * outlier[good].max()


def test_afmformats_and_cellmech_read_the_map_identically(written):
    import afmformats

    paths, opts = written
    fm = read_force_map(paths["force_map"], reader="jpk")
    block = fm.curves()
    data = afmformats.load_data(paths["force_map"])
    assert len(data) == fm.n_curves == opts.grid_shape[0] * opts.grid_shape[1]
    for i, d in enumerate(data):
        for seg, s in ((0, block.approach), (1, block.retract)):
            sel = d["segment"] == seg
            curve = s.curve(i)
            np.testing.assert_allclose(curve["force_n"], d["force"][sel], rtol=1e-12, atol=0)
            np.testing.assert_allclose(curve["height_m"], d["height (piezo)"][sel], rtol=1e-12)
            np.testing.assert_allclose(
                curve["measured_height_m"], d["height (measured)"][sel], rtol=1e-12
            )
    assert d.metadata["spring constant"] == pytest.approx(opts.spring_constant_n_per_m)


def test_written_map_equals_the_generated_curves(written):
    paths, opts = written
    fm = read_force_map(paths["force_map"], reader="jpk")
    truth = json.loads(paths["truth"].read_text())
    mem = generate_sample(opts)
    a, b = fm.curves(), mem.force_map.curves()
    np.testing.assert_array_equal(a.approach.n_points, b.approach.n_points)
    # int32 quantisation over the map's range: within 1e-9 of the range
    span = np.nanmax(b.approach.force_n) - np.nanmin(b.approach.force_n)
    np.testing.assert_allclose(a.approach.force_n, b.approach.force_n, atol=1e-9 * span)
    np.testing.assert_allclose(a.approach.height_m, b.approach.height_m, atol=1e-15)
    assert fm.grid == mem.force_map.grid
    np.testing.assert_array_equal(fm.row, mem.curves["row"])
    assert truth["afm"]["grid_shape"] == list(opts.grid_shape)


def test_ome_metadata_reads_back_in_metres(written):
    paths, opts = written
    st = read_fluorescence(paths["fluorescence"])
    truth = json.loads(paths["truth"].read_text())["fluorescence"]
    assert st.shape == tuple(truth["shape_czyx"])
    assert st.channel_names == ("cytoplasm", "nucleus", "stiffness_marker")
    assert st.pixel_size_m == pytest.approx((opts.fluo_pixel_size_m,) * 2, rel=1e-12)
    assert st.z_step_m == pytest.approx(opts.fluo_z_step_m, rel=1e-12)
    assert st.stage_position_m == pytest.approx(truth["stage_position_m"], rel=1e-12)
    np.testing.assert_allclose(st.plane_positions_m[:, 2], truth["plane_heights_m"], atol=1e-15)
    mem = generate_sample(opts).stack
    np.testing.assert_allclose(st.plane_positions_m, mem.plane_positions_m, rtol=1e-12, atol=1e-18)
    np.testing.assert_array_equal(np.asarray(st.data), mem.data)


@pytest.mark.parametrize("weight_cp_m", [1e-6, 0.0], ids=["nanite-weighting", "unweighted"])
def test_truth_agrees_with_the_fit_on_noise_free_curves(weight_cp_m):
    opts = SampleOptions(
        seed=3, noise_free=True, **{**SMALL, "grid_shape": (16, 16), "approach_points": 800}
    )
    s = generate_sample(opts)
    fm = s.force_map
    curves = preprocess(fm.curves(), fm.spring_constant_n_per_m)
    # on noise-free curves the global minimum of either objective (the default
    # contact-point weighting or plain least squares) is the truth itself
    options = FitOptions(model=opts.model, geometry=opts.geometry, weight_cp_m=weight_cp_m)
    res = fit_curves(curves, options)
    on_cell = (s.curves["label"] > 0).to_numpy()
    assert on_cell.sum() > 20
    assert np.all(res.status[on_cell] == 0)
    rel = res.youngs_modulus_pa[on_cell] / s.curves["youngs_modulus_pa"][on_cell] - 1
    assert np.max(np.abs(rel)) < 0.005
    height_error = res.zero_force_height_m - s.curves["contact_piezo_height_m"]
    assert np.max(np.abs(height_error[on_cell])) < 1e-9


@pytest.mark.parametrize("variant", [{}, {"reflect": True, "grid_theta_deg": 30.0}])
def test_truth_transform_maps_afm_cell_centroids_onto_label_centroids(small, variant):
    if variant:
        small = generate_sample(SampleOptions(seed=9, **SMALL, **variant))
    m = np.array(small.truth["transform"]["afm_px_to_fluo_px"])
    pitch_px = np.hypot(*m[:2, 0])  # one AFM pixel in fluorescence pixels
    props = {p.label: p.centroid for p in regionprops(small.labels[0])}
    checked = 0
    for cell in small.cells[small.cells["in_map"]].itertuples():
        mine = small.curves[small.curves["label"] == cell.label]
        row, col = apply_affine(m, mine["row"].mean(), mine["col"].mean())
        assert np.hypot(row - props[cell.label][0], col - props[cell.label][1]) < pitch_px
        assert (
            np.hypot(
                cell.centroid_row_px - props[cell.label][0],
                cell.centroid_col_px - props[cell.label][1],
            )
            < 0.5
        )
        checked += 1
    assert checked == small.truth["options"]["n_cells"]
    # the metadata guess is off by several µm: registration has something to do
    guess = np.array(small.truth["transform"]["metadata_guess_afm_px_to_fluo_px"])
    centre = (np.array(small.force_map.grid.shape) - 1) / 2
    d = np.hypot(*np.subtract(apply_affine(m, *centre), apply_affine(guess, *centre)))
    assert d * small.truth["fluorescence"]["pixel_size_m"] >= 4e-6


def test_cell_truth_is_consistent_with_labels_and_curves(small):
    cells, curves, px = small.cells, small.curves, small.truth["fluorescence"]["pixel_size_m"]
    counts = np.bincount(small.labels[0].ravel())
    for cell in cells.itertuples():
        assert counts[cell.label] * px**2 == pytest.approx(cell.area_m2, rel=0.03)
        assert 2e-6 * 0.9 <= cell.height_max_m <= 8e-6
        assert cell.volume_m3 == pytest.approx(cell.height_mean_m * cell.area_m2, rel=1e-6)
        for e in (cell.cytoplasm_modulus_pa, cell.nucleus_modulus_pa):
            assert 300 <= e <= 20e3
        good = curves[(curves["label"] == cell.label) & ~curves["bad"]]
        assert cell.n_curves == len(good)
        if cell.in_map:
            assert cell.expected_median_modulus_pa == np.median(good["youngs_modulus_pa"])
            assert set(good["youngs_modulus_pa"]) <= {
                cell.cytoplasm_modulus_pa,
                cell.nucleus_modulus_pa,
            }
    assert (~cells["in_map"]).sum() == small.truth["options"]["n_cells_outside"]
    # off the cells the tip touches the dish, or a cell edge with its flank
    off = curves.loc[curves["label"] == 0, "youngs_modulus_pa"]
    assert (off == 1e9).mean() > 0.8
    assert set(off) <= {1e9, *cells["cytoplasm_modulus_pa"], *cells["nucleus_modulus_pa"]}


def test_fluorescence_channels_follow_the_truth():
    s = generate_sample(
        SampleOptions(seed=11, n_cells=6, map_size_m=120e-6, **{**SMALL, "fluo_z_planes": 8})
    )
    data = np.asarray(s.stack.data, float).sum(axis=1)  # sum projection (C, Y, X)
    cells, nuclei = s.labels
    data -= np.median(data[:, cells == 0], axis=1)[:, None, None]  # background
    assert data[1][nuclei > 0].mean() > 20 * data[1][cells == 0].std()
    assert data[0][cells > 0].mean() > 20 * data[0][cells == 0].std()
    # marker / cytoplasm removes the cell thickness and follows the cytoplasm modulus
    cyto = (cells > 0) & (nuclei == 0)
    ratio = [
        np.median(data[2][sel] / data[0][sel])
        for sel in (cyto & (cells == c) for c in s.cells["label"])
    ]
    assert spearmanr(ratio, s.cells["cytoplasm_modulus_pa"]).statistic > 0.9


def test_cli_writes_the_dataset_and_info_reads_both_files(tmp_path, capsys):
    out = tmp_path / "ds"
    argv = ["sample-data", str(out), "--seed", "1", "--grid-shape", "5", "6"]
    assert main([*argv, "--approach-points", "200", "--retract-points", "40"]) == 0
    for name in FILE_NAMES.values():
        assert (out / name).is_file()
    truth = json.loads((out / "truth.json").read_text())
    assert truth["seed"] == 1 and truth["afm"]["grid_shape"] == [5, 6]
    assert main(["info", str(out / FILE_NAMES["force_map"])]) == 0
    assert "30 present" in capsys.readouterr().out
    assert main(["info", str(out / FILE_NAMES["fluorescence"])]) == 0
    assert "cytoplasm, nucleus, stiffness_marker" in capsys.readouterr().out


def test_shipped_sample_data_is_small_documented_and_reproducible(tmp_path):
    if not (SAMPLE_DATA / "truth.json").is_file():
        pytest.skip(f"{SAMPLE_DATA} has not been generated")
    total = sum(p.stat().st_size for p in SAMPLE_DATA.iterdir())
    assert total < 5e6
    readme = (SAMPLE_DATA / "README.md").read_text()
    truth = json.loads((SAMPLE_DATA / "truth.json").read_text())
    fields = list(pd.read_csv(SAMPLE_DATA / "truth_cells.csv").columns)
    fields += list(pd.read_csv(SAMPLE_DATA / "truth_curves.csv").columns)
    for section in ("afm", "fluorescence", "transform"):
        fields += list(truth[section])
    missing = [f for f in fields if f"`{f}`" not in readme]
    assert not missing, f"undocumented truth fields in sample_data/README.md: {missing}"
    opts = {**truth["options"], "grid_shape": tuple(truth["options"]["grid_shape"])}
    assert SampleOptions(**opts) == SAMPLE_DATA_OPTIONS
    again = generate_sample(SAMPLE_DATA_OPTIONS)
    assert json.loads(json.dumps(again.truth)) == truth
    shipped = pd.read_csv(SAMPLE_DATA / "truth_cells.csv")
    pd.testing.assert_frame_equal(
        again.cells.reset_index(drop=True), shipped, check_dtype=False, rtol=1e-8
    )


def test_impossible_requests_fail_with_a_message(tmp_path, capsys):
    argv = ["sample-data", str(tmp_path / "x"), "--grid-shape", "4", "4", "--map-size", "30um"]
    assert main([*argv, "--n-cells", "12"]) == 2
    assert "--n-cells" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="grid rows"):
        SampleOptions(grid_shape=(1, 5))
    for bad in (float("nan"), float("inf"), 0.0, -1e-6):  # sizes that crashed or exploded
        with pytest.raises(ConfigError, match="map_size_m"):
            SampleOptions(map_size_m=bad)
    with pytest.raises(ConfigError, match="GiB"):
        SampleOptions(map_size_m=1e-3, fluo_pixel_size_m=2e-8)
    with pytest.raises(ConfigError, match="unknown contact model"):
        SampleOptions(model="nope")
