"""`cellmech fit` and `cellmech config dump` end to end: files, columns, units, precedence."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile

from cellmech.cli import main
from cellmech.containers import CurveStatus, FitResult, ForceMap, GridGeometry
from cellmech.fit import FitOptions
from cellmech.gridmaps import MAP_QUANTITIES
from cellmech.io import read_force_map
from cellmech.mapfit import fit_map
from cellmech.outputs.fit import quantity_maps
from tests.conftest import REAL_SPRING_CONSTANTS, real_afm_file
from tests.helpers import write_small_map

REQUIRED = [
    "curve_index", "row", "col", "x_m", "y_m", "youngs_modulus_pa", "contact_point_m",
    "baseline_n", "zero_force_height_m", "indentation_max_m", "rms_residual_n", "r_squared",
    "youngs_modulus_se_pa", "contact_point_se_m", "status", "model",
]  # fmt: skip


@pytest.fixture(scope="module")
def small_map(tmp_path_factory) -> Path:
    return write_small_map(tmp_path_factory.mktemp("map") / "small.jpk-force-map")


@pytest.fixture(scope="module")
def fitted(small_map, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    assert main(["fit", str(small_map), "-o", str(out), "-q"]) == 0
    return out


def _ome_pixels(path: Path) -> dict:
    with tifffile.TiffFile(path) as tif:
        root = ET.fromstring(tif.ome_metadata)
    ns = {"ome": root.tag.split("}")[0].strip("{")}
    pixels = root.find("ome:Image/ome:Pixels", ns)
    names = [c.get("Name") for c in pixels.findall("ome:Channel", ns)]
    return {**pixels.attrib, "names": names}


def test_writes_every_output(fitted):
    names = {p.name for p in fitted.iterdir()}
    assert {"curves.csv", "curves.parquet", "maps.ome.tif", "run.json"} <= names
    assert not [n for n in names if n.endswith(".tmp")]  # atomic writes leave nothing behind


def test_tables_columns_units_and_values(fitted, small_map):
    fm = read_force_map(small_map)
    expected = fit_map(fm)  # one chunk of 44 curves either way: identical numbers
    parquet = pd.read_parquet(fitted / "curves.parquet")
    csv = pd.read_csv(fitted / "curves.csv")
    assert list(parquet.columns[: len(REQUIRED) - 1]) == REQUIRED[:-1]  # status_code after
    for table in (parquet, csv):
        assert [c for c in table.columns if c in REQUIRED] == REQUIRED
        assert len(table) == fm.n_curves
        np.testing.assert_array_equal(table["row"], fm.row)
        np.testing.assert_array_equal(table["col"], fm.col)
    np.testing.assert_array_equal(parquet["x_m"], fm.x_m)
    np.testing.assert_array_equal(parquet["youngs_modulus_pa"], expected.youngs_modulus_pa)
    np.testing.assert_array_equal(parquet["status"], expected.status_labels)
    assert set(parquet["model"]) == {"hertz_paraboloidal"}
    np.testing.assert_allclose(csv["youngs_modulus_kpa"], csv["youngs_modulus_pa"] / 1e3)
    np.testing.assert_allclose(csv["zero_force_height_um"], csv["zero_force_height_m"] * 1e6)
    np.testing.assert_allclose(csv["youngs_modulus_pa"], parquet["youngs_modulus_pa"], rtol=1e-9)
    ok = parquet["status"] == "ok"
    assert ok.sum() >= 40 and parquet.loc[ok, "youngs_modulus_pa"].between(800, 6000).all()


def test_maps_grid_pixel_size_in_um_and_values(fitted, small_map):
    fm = read_force_map(small_map)
    pixels = _ome_pixels(fitted / "maps.ome.tif")
    # grid 40 µm (u, columns) x 36 µm (v, rows) over 6 rows x 8 columns
    assert pixels["PhysicalSizeXUnit"] == "µm" and pixels["PhysicalSizeYUnit"] == "µm"
    assert float(pixels["PhysicalSizeX"]) == pytest.approx(5.0, rel=1e-9)
    assert float(pixels["PhysicalSizeY"]) == pytest.approx(6.0, rel=1e-9)
    assert pixels["names"] == list(MAP_QUANTITIES)
    maps = tifffile.imread(fitted / "maps.ome.tif")
    assert maps.shape == (len(MAP_QUANTITIES), 6, 8)
    table = pd.read_parquet(fitted / "curves.parquet")
    e_map = maps[list(MAP_QUANTITIES).index("youngs_modulus_pa")]
    ok = (table["status"] == "ok").to_numpy()
    expected_e = np.where(ok, table["youngs_modulus_pa"], np.nan)
    np.testing.assert_allclose(e_map[fm.row, fm.col], expected_e, rtol=1e-6)
    height_map = maps[list(MAP_QUANTITIES).index("zero_force_height_m")]
    np.testing.assert_allclose(height_map[fm.row, fm.col], table["zero_force_height_m"], rtol=1e-6)
    empty = np.ones((6, 8), bool)
    empty[fm.row, fm.col] = False
    assert np.isnan(maps[:, empty]).all() and empty.sum() == 48 - 44
    status = maps[list(MAP_QUANTITIES).index("status")]
    np.testing.assert_array_equal(status[fm.row, fm.col], table["status_code"])


def test_run_json_has_hash_parameters_versions_counts(fitted, small_map):
    report = json.loads((fitted / "run.json").read_text())
    assert report["input"]["sha256"] == hashlib.sha256(small_map.read_bytes()).hexdigest()
    assert report["input"]["grid_shape"] == [6, 8]
    assert report["parameters"]["fit"]["geometry"] == {"tip_radius_m": 10e-6}
    assert report["parameters"]["preprocess"]["contact_method"] == "deviation_from_baseline"
    assert {"cellmech", "numpy", "scipy", "afmformats", "dask"} <= set(report["versions"])
    counts = report["status_counts"]
    assert sum(counts.values()) == 44 and set(counts) == {s.label for s in CurveStatus}
    assert report["timing_s"]["fit"] > 0 and report["timing_s"]["write"] > 0
    assert report["timing_s"]["read"] >= 0
    assert report["outputs"] == ["curves.csv", "curves.parquet", "maps.ome.tif", "run.json"]


def test_config_then_flags_precedence(small_map, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        "[fit]\npoisson_ratio = 0.3\n[fit.geometry]\ntip_radius_m = 5e-6\n"
        "[run]\nscheduler = 'synchronous'\n"
    )
    out = tmp_path / "out"
    argv = ["fit", str(small_map), "-o", str(out), "-q", "--config", str(config)]
    assert main([*argv, "--tip-radius", "2.5e-6"]) == 0
    report = json.loads((out / "run.json").read_text())
    assert report["parameters"]["fit"]["poisson_ratio"] == 0.3  # file beats default
    assert report["parameters"]["fit"]["geometry"]["tip_radius_m"] == 2.5e-6  # flag beats file
    assert report["parameters"]["run"]["scheduler"] == "synchronous"
    expected = fit_map(
        read_force_map(small_map),
        fit_options=FitOptions(poisson_ratio=0.3, geometry={"tip_radius_m": 2.5e-6}),
    )
    table = pd.read_parquet(out / "curves.parquet")
    np.testing.assert_array_equal(table["youngs_modulus_pa"], expected.youngs_modulus_pa)


def test_spring_constant_override_scales_the_force(small_map, tmp_path, fitted):
    out = tmp_path / "k"
    assert main(["fit", str(small_map), "-o", str(out), "-q", "--spring-constant", "0.04"]) == 0
    report = json.loads((out / "run.json").read_text())
    assert report["input"]["spring_constant_n_per_m"] == 0.04
    base = pd.read_parquet(fitted / "curves.parquet")
    doubled = pd.read_parquet(out / "curves.parquet")
    ok = (base["status"] == "ok") & (doubled["status"] == "ok")
    ratio = doubled.loc[ok, "youngs_modulus_pa"] / base.loc[ok, "youngs_modulus_pa"]
    assert np.median(ratio) == pytest.approx(2.0, rel=0.01)  # same deflection, twice the force


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--half-angle", "20"], "half_angle_deg"),  # paraboloid has no half angle
        (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--workers"),
        (["--chunks", "0", "3"], "chunks"),
    ],
)
def test_invalid_options_fail_in_one_line(small_map, tmp_path, capsys, extra, needle):
    assert main(["fit", str(small_map), "-o", str(tmp_path / "o"), "-q", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cellmech: error:") and needle in err[0]
    assert not (tmp_path / "o").exists()


def test_unknown_config_key_fails_listing_valid_keys(small_map, tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("[fit]\ntip_radius = 1e-5\n")
    assert main(["fit", str(small_map), "-o", str(tmp_path / "o"), "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(config) in err[0] and "tip_radius" in err[0]
    assert "valid keys: model, poisson_ratio" in err[0]


def test_config_dump_round_trip(small_map, tmp_path, capsys):
    assert main(["config", "dump"]) == 0
    text = capsys.readouterr().out
    assert tomllib.loads(text)["fit"]["model"] == "hertz_paraboloidal"
    path = tmp_path / "defaults.toml"
    assert main(["config", "dump", "-o", str(path)]) == 0
    assert path.read_text() == text
    out = tmp_path / "o"
    assert main(["fit", str(small_map), "-o", str(out), "-q", "--config", str(path),
                 "--model", "hertz_conical", "--half-angle", "20"]) == 0  # fmt: skip
    report = json.loads((out / "run.json").read_text())
    assert report["parameters"]["fit"]["geometry"] == {"half_angle_deg": 20.0}


def test_help_says_si_units(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--tip-radius 10e-6 is 10 µm" in text and "[m, SI]" in text


def test_subprocess_no_progress_bar_when_not_a_tty(small_map, tmp_path):
    out = tmp_path / "o"
    done = subprocess.run(
        [sys.executable, "-m", "cellmech", "fit", str(small_map), "-o", str(out)],
        capture_output=True, text=True, check=False, cwd=Path(__file__).parents[1],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # stderr is a pipe: no progress bar
    assert "44 curves fitted" in done.stdout


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "grid"),
    [
        ("fmt-jpk-fd_map2x2_extracted.jpk-force-map", (10, 10)),
        ("fmt-jpk-fd_2020.02.07-16.29.05.036.jpk-qi-data", (128, 128)),
        ("fmt-jpk-fd_spot3-0192.jpk-force", (1, 1)),
        ("fmt-jpk-fd_single_bad_2017-01-16_1.jpk-force", (1, 1)),
    ],
)
def test_real_files(tmp_path, name, grid):
    path = real_afm_file(name)
    out = tmp_path / "o"
    assert main(["fit", str(path), "-o", str(out), "-q"]) == 0
    fm = read_force_map(path)
    table = pd.read_parquet(out / "curves.parquet")
    assert len(table) == fm.n_curves and set(REQUIRED) <= set(table.columns)
    report = json.loads((out / "run.json").read_text())
    assert report["input"]["spring_constant_n_per_m"] == pytest.approx(
        REAL_SPRING_CONSTANTS[name], rel=1e-3
    )
    maps = tifffile.imread(out / "maps.ome.tif")
    assert maps.shape[-2:] == grid
    pixels = _ome_pixels(out / "maps.ome.tif")
    if grid == (1, 1):  # a single curve has no pixel size (OME needs a positive one)
        assert "PhysicalSizeX" not in pixels and "PhysicalSizeY" not in pixels
    else:
        assert float(pixels["PhysicalSizeX"]) == pytest.approx(fm.grid.pixel_size_m[1] * 1e6)
        assert float(pixels["PhysicalSizeY"]) == pytest.approx(fm.grid.pixel_size_m[0] * 1e6)
    if name.startswith("fmt-jpk-fd_map2x2"):
        assert float(pixels["PhysicalSizeX"]) == pytest.approx(60.0)  # 600 µm / 10
        assert (table["status"] == "ok").all()
    if "single_bad" in name:
        assert (table["status"] != "ok").all()


def test_output_that_is_a_file_fails(small_map, tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert main(["fit", str(small_map), "-o", str(target), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(target) in err[0] and "not a folder" in err[0]


@pytest.mark.realdata
def test_real_file_without_spring_constant_needs_the_flag(tmp_path, capsys):
    path = real_afm_file("fmt-afm-workshop-fd_single_2021-10-22_14.16.csv")
    assert main(["fit", str(path), "-o", str(tmp_path / "a"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "spring_constant_n_per_m" in err[0] and "--spring-constant" in err[0]
    out = tmp_path / "b"
    assert main(["fit", str(path), "-o", str(out), "-q", "--spring-constant", "0.1"]) == 0
    report = json.loads((out / "run.json").read_text())
    assert report["input"]["spring_constant_n_per_m"] == 0.1
    assert report["parameters"]["read"]["spring_constant_n_per_m"] == 0.1


def test_modulus_map_hides_poor_fits_but_keeps_their_topography():
    result = FitResult(
        curve_index=[0, 1],
        **{name: [2.0e3, 1.0e9] for name in FitResult.FLOAT_FIELDS},
        status=[CurveStatus.OK, CurveStatus.POOR_FIT],
        model="hertz_paraboloidal",
    )
    fm = ForceMap(
        path="m.jpk-force-map",
        kind="force-map",
        grid=GridGeometry(shape=(1, 2), center_m=(0, 0), size_m=(2e-6, 1e-6)),
        position_index=[0, 1],
        row=[0, 0],
        col=[0, 1],
        x_m=[np.nan, np.nan],
        y_m=[np.nan, np.nan],
        spring_constant_n_per_m=0.01,
        sensitivity_m_per_v=np.nan,
        loader=lambda indices: None,  # curves are not needed for the maps
    )
    maps = quantity_maps(fm, result)
    names = list(MAP_QUANTITIES)
    assert maps[names.index("youngs_modulus_pa"), 0, 0] == pytest.approx(2.0e3)
    assert np.isnan(maps[names.index("youngs_modulus_pa"), 0, 1])
    assert maps[names.index("zero_force_height_m"), 0, 1] == pytest.approx(1.0e9)
