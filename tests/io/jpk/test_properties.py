"""Java .properties parsing and the JPK header recipes (encoders, conversion sets, grids)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cellmech.errors import CorruptFileError
from cellmech.io.jpk import properties as jp
from tests.conftest import real_afm_file

PATH = Path("file.jpk-force")


def test_parse_properties_java_syntax():
    text = (
        "#comment line\n"
        "# a comment never continues \\\n"
        "d=4\n"
        "! another comment\n"
        "a=1\n"
        "b : two words\n"
        "c\tthree\n"
        "time=2013-05-27 13\\:57\\:03.320 +0200\n"
        "unit=\\u00B5m\n"
        "long=first \\\n"
        "    second\n"
        "   indented = x\n"
        "esc\\=key=v\n"
        "empty=\n"
        "a=override\n"
    )
    props = jp.parse_properties(text.encode("latin-1"))
    assert props == {
        "a": "override",
        "b": "two words",
        "c": "three",
        "time": "2013-05-27 13:57:03.320 +0200",
        "unit": "µm",
        "long": "first second",
        "indented": "x",
        "esc=key": "v",
        "empty": "",
        "d": "4",
    }


def test_format_properties_round_trip():
    props = {"k ey": "a=b:c#d", "unit": "µm", "f": 0.1 + 0.2, "nan": float("nan"), "t": True}
    back = jp.parse_properties(jp.format_properties(props, comment="written"))
    assert back["k ey"] == "a=b:c#d" and back["unit"] == "µm"
    assert float(back["f"]) == 0.1 + 0.2 and back["nan"] == "NaN" and back["t"] == "true"


def test_channel_recipe_follows_the_conversion_chain():
    props = {
        "channel.vDeflection.encoder.type": "signedinteger",
        "channel.vDeflection.encoder.scaling.multiplier": "2.0",
        "channel.vDeflection.encoder.scaling.offset": "1.0",
        "channel.vDeflection.conversion-set.conversions.base": "volts",
        "channel.vDeflection.conversion-set.conversion.distance.base-calibration-slot": "volts",
        "channel.vDeflection.conversion-set.conversion.distance.scaling.multiplier": "3.0",
        "channel.vDeflection.conversion-set.conversion.distance.scaling.offset": "0.5",
        "channel.vDeflection.conversion-set.conversion.force.base-calibration-slot": "distance",
        "channel.vDeflection.conversion-set.conversion.force.scaling.multiplier": "10.0",
        "channel.vDeflection.conversion-set.conversion.force.scaling.offset": "0.0",
        "channel.vDeflection.conversion-set.conversion.force.scaling.unit.unit": "N",
    }
    recipe = jp.channel_recipe(props, "vDeflection", "force", PATH)
    assert recipe.dtype == ">i4" and recipe.unit == "N"
    raw = np.array([0, 1, -2], dtype=">i4")
    np.testing.assert_array_equal(recipe.apply(raw), ((raw * 2.0 + 1.0) * 3.0 + 0.5) * 10.0)
    assert jp.calibration(props) == (10.0, 3.0)
    jp.override_calibration(props, 0.5, None)
    assert jp.calibration(props) == (0.5, 3.0)
    del props["channel.vDeflection.encoder.scaling.offset"]
    with pytest.raises(CorruptFileError, match=r"encoder\.scaling\.offset"):
        jp.channel_recipe(props, "vDeflection", "force", PATH)
    props["channel.vDeflection.encoder.type"] = "complex"
    with pytest.raises(CorruptFileError, match="unsupported encoder"):
        jp.channel_recipe(props, "vDeflection", "force", PATH)


def test_shared_references_and_precedence():
    curve = {"x": "curve", "y": "curve"}
    segment = {"y": "segment", "channel.height.lcd-info.*": "1", "z": "segment"}
    shared = {"lcd-info.1.encoder.type": "signedshort", "lcd-info.10.encoder.type": "no"}
    root = {"z": "root"}
    merged = jp.merge_segment_properties(curve, segment, shared, root)
    assert merged["x"] == "curve" and merged["y"] == "segment" and merged["z"] == "root"
    assert merged["channel.height.encoder.type"] == "signedshort"  # "1." does not match "10."


def test_find_channel_uses_sorted_names():
    names = ["measuredHeight.dat", "capacitiveSensorHeight.dat", "height.dat"]
    assert jp.find_channel(names, jp.CHANNEL_CANDIDATES["measured_height"][0]) == (
        "capacitiveSensorHeight"
    )
    assert jp.find_channel(["error.dat"], ["height"]) is None


def test_grid_and_meander_cells():
    root = {
        "type": "force-scan-map",
        "force-scan-map.position-pattern.back-and-forth": "true",
        "force-scan-map.position-pattern.grid.xcenter": "1e-5",
        "force-scan-map.position-pattern.grid.ycenter": "-2e-5",
        "force-scan-map.position-pattern.grid.ulength": "4e-5",
        "force-scan-map.position-pattern.grid.vlength": "3e-5",
        "force-scan-map.position-pattern.grid.theta": "0.25",
        "force-scan-map.position-pattern.grid.reflect": "true",
        "force-scan-map.position-pattern.grid.ilength": "4",
        "force-scan-map.position-pattern.grid.jlength": "3",
    }
    env = "force-scan-map.environment.xy-scanner-position-map"
    root[f"{env}.xy-scanners.active-xy-scanner.name"] = "s"
    root[f"{env}.xy-scanner.s.xy-scanner.scanner"] = "tip"
    nan = float("nan")  # positions not recorded: not checked against the grid
    kind, grid, pos, row, col = jp.map_cells(root, [(nan, nan, 3), (nan, nan, 4)], PATH)
    assert pos.tolist() == [3, 4]
    assert kind == "force-map" and grid.shape == (3, 4) and grid.size_m == (4e-5, 3e-5)
    assert grid.theta_rad == 0.25 and grid.reflect and grid.xy_scanner == "tip"
    assert (row.tolist(), col.tolist()) == ([0, 1], [3, 3])  # index 4 starts row 1 at the right
    with pytest.raises(CorruptFileError, match="position-index"):
        jp.map_cells(root, [(0.0, 0.0, 12)], PATH)
    x, y = grid.grid_to_scanner(row, col)  # recorded where the grid says: accepted
    jp.map_cells(root, [(x[0], y[0], 3), (x[1] + 0.4 * 1e-5, y[1], 4)], PATH)
    with pytest.raises(CorruptFileError, match="pixel pitches"):  # in another pixel
        jp.map_cells(root, [(x[0] + 0.6 * 1e-5, y[0], 3)], PATH)
    single = jp.map_cells({"type": "force-scan-series"}, [(1e-6, 2e-6, 7)], PATH)
    assert single[0] == "single-curve" and single[1].center_m == (1e-6, 2e-6)


def test_cli_info_on_real_map():
    path = real_afm_file("fmt-jpk-fd_map2x2_extracted.jpk-force-map")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-m", "cellmech", "info", str(path)],
        capture_output=True,
        text=True,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": ""},
        check=True,
    ).stdout
    assert "10 rows x 10 cols" in out
    assert "4 present" in out
    assert "600 µm x 600 µm" in out
