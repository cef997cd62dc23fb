"""The fast JPK reader equals afmformats curve by curve on every real JPK file."""

from __future__ import annotations

import zipfile

import afmformats
import numpy as np
import pytest

from cellmech.io import read_force_map
from cellmech.io.jpk import properties as jpk_properties
from cellmech.io.jpk import reader as jpk_reader
from cellmech.io.jpk.archive import Archive
from tests.conftest import REAL_SPRING_CONSTANTS, real_afm_file, real_afm_files
from tests.helpers import synthetic_map
from tests.io.jpk_tolerance import assert_matches_afmformats

pytestmark = pytest.mark.realdata

JPK_FILES = [p.name for p in real_afm_files("*.jpk-*")] or ["fmt-jpk-fd_spot3-0192.jpk-force"]
COLUMNS = {
    "force": "force_n",
    "height (piezo)": "height_m",
    "height (measured)": "measured_height_m",
    "time": "time_s",
}
#: (kind, curves, grid shape (rows, cols), grid size (u, v) in m) from the files' headers
EXPECTED = {
    "fmt-jpk-fd_map2x2_extracted.jpk-force-map": ("force-map", 4, (10, 10), (6e-4, 6e-4)),
    "fmt-jpk-fd_map-data-reference-points.jpk-force-map": ("force-map", 3, (25, 25), (5e-4, 5e-4)),
    "fmt-jpk-fd_2020.02.07-16.29.05.036.jpk-qi-data": ("qi-map", 4, (128, 128), (1e-5, 1e-5)),
    "fmt-jpk-fd_spot3-0192.jpk-force": ("single-curve", 1, (1, 1), (0.0, 0.0)),
    "fmt-jpk-fd_flipsign_2015.05.22-15.31.49.352.jpk-force": ("single-curve", 1, (1, 1), (0, 0)),
    "force-save-example.jpk-force": ("single-curve", 1, (1, 1), (0.0, 0.0)),
    "fmt-jpk-fd_single_bad_2017-01-16_1.jpk-force": ("single-curve", 1, (1, 1), (0.0, 0.0)),
}


@pytest.mark.parametrize("name", JPK_FILES)
def test_fast_reader_equals_afmformats(name):
    path = real_afm_file(name)
    fm = read_force_map(path, reader="jpk")
    block = fm.curves()
    ref = afmformats.load_data(path)
    assert fm.n_curves == len(ref)
    for i, d in enumerate(ref):
        seg = d["segment"]
        for s, part in ((0, block.approach), (1, block.retract)):
            curve = part.curve(i)
            sel = seg == s
            assert curve["force_n"].size == sel.sum()
            for column, key in COLUMNS.items():
                assert_matches_afmformats(curve[key], d[column][sel])
        md = d.metadata
        assert fm.spring_constant_n_per_m == md["spring constant"]
        assert fm.sensitivity_m_per_v == md["sensitivity"]
        assert fm.x_m[i] == md["position x"] and fm.y_m[i] == md["position y"]
        if fm.kind != "single-curve":  # afmformats derives grid indices from the positions
            assert (fm.row[i], fm.col[i]) == (md["grid index y"], md["grid index x"])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_contract(name):
    path = real_afm_file(name)
    fm = jpk_reader.read(path)
    kind, n, shape, size = EXPECTED[name]
    assert (fm.kind, fm.n_curves, fm.grid.shape) == (kind, n, shape)
    np.testing.assert_allclose(fm.grid.size_m, size, rtol=1e-9)
    assert fm.spring_constant_n_per_m == pytest.approx(REAL_SPRING_CONSTANTS[name], rel=2e-3)
    with zipfile.ZipFile(path) as zf:
        root = jpk_properties.parse_properties(zf.read("header.properties"))
    prefix = jpk_properties.map_prefix(root)
    if kind != "single-curve":
        pat = f"{prefix}.position-pattern"
        assert fm.grid.shape == (int(root[f"{pat}.grid.jlength"]), int(root[f"{pat}.grid.ilength"]))
        assert fm.grid.center_m == (
            float(root[f"{pat}.grid.xcenter"]),
            float(root[f"{pat}.grid.ycenter"]),
        )
        assert fm.grid.back_and_forth == (root[f"{pat}.back-and-forth"] == "true")
    block = fm.curves()
    assert block.approach.measured_height_m is not None
    assert np.all(block.approach.n_points > 0) and np.all(block.retract.n_points > 0)


def test_grid_scanner_and_meander():
    fm = jpk_reader.read(real_afm_file("fmt-jpk-fd_map2x2_extracted.jpk-force-map"))
    assert fm.grid.xy_scanner == "motor-stage" and fm.grid.back_and_forth
    # scan order 0, 9, 90, 99 on a meander 10x10 grid: row 9 runs right to left
    np.testing.assert_array_equal(fm.position_index, [0, 9, 90, 99])
    np.testing.assert_array_equal(fm.row, [0, 0, 9, 9])
    np.testing.assert_array_equal(fm.col, [0, 9, 9, 0])
    # recorded positions sit on the pixel centres
    x, y = fm.grid.grid_to_scanner(fm.row, fm.col)
    np.testing.assert_allclose(fm.x_m, x, atol=1e-6)
    np.testing.assert_allclose(fm.y_m, y, atol=1e-6)
    qi = jpk_reader.read(real_afm_file("fmt-jpk-fd_2020.02.07-16.29.05.036.jpk-qi-data"))
    assert qi.grid.xy_scanner == "tip" and not qi.grid.back_and_forth


def test_blocks_in_any_order_and_threads_agree():
    fm = jpk_reader.read(real_afm_file("fmt-jpk-fd_map2x2_extracted.jpk-force-map"))
    whole = fm.curves()
    part = fm.curves([3, 1])
    np.testing.assert_array_equal(part.curve_index, [3, 1])
    np.testing.assert_array_equal(part.approach.force_n, whole.take([3, 1]).approach.force_n)
    np.testing.assert_array_equal(part.retract.time_s, whole.take([3, 1]).retract.time_s)
    assert part.approach.height_m.shape[1] == max(whole.approach.n_points[[3, 1]])
    serial = fm.loader.__self__.load(np.array([3, 1]), threads=1)
    for seg in ("approach", "retract"):
        for field in ("height_m", "force_n", "measured_height_m", "time_s"):
            np.testing.assert_array_equal(
                getattr(getattr(serial, seg), field), getattr(getattr(part, seg), field)
            )


def test_override_calibration_rescales_force():
    path = real_afm_file("fmt-jpk-fd_spot3-0192.jpk-force")
    base = jpk_reader.read(path)
    k, sens = base.spring_constant_n_per_m, base.sensitivity_m_per_v
    new = jpk_reader.read(path, spring_constant_n_per_m=2 * k, sensitivity_m_per_v=3 * sens)
    assert (new.spring_constant_n_per_m, new.sensitivity_m_per_v) == (2 * k, 3 * sens)
    ref = afmformats.load_data(
        path, meta_override={"spring constant": 2 * k, "sensitivity": 3 * sens}
    )[0]
    f_new = new.curves().approach.curve(0)["force_n"]
    np.testing.assert_allclose(f_new, base.curves().approach.curve(0)["force_n"] * 6, rtol=1e-12)
    assert_matches_afmformats(f_new, ref["force"][ref["segment"] == 0])


def test_loader_reads_only_requested_members(tmp_path, monkeypatch):
    path, _, _ = synthetic_map(tmp_path / "m.jpk-force-map")
    fm = jpk_reader.read(path)
    read = []
    original = Archive.read
    monkeypatch.setattr(
        Archive, "read", lambda self, name: read.append(name) or original(self, name)
    )
    fm.curves([2])
    assert read and all(name.startswith("index/2/segments/") for name in read)
    assert not any(name.endswith("segment-header.properties") for name in read)  # parsed at open


def _odd_zip(path, monkeypatch):
    """Signature bytes in an extra field, a comment and a name; a non-ASCII (UTF-8) name."""
    signature = b"PK\x01\x02"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("header.properties", b"type=x\n")
        info = zipfile.ZipInfo("segments/0/extra.dat")
        info.extra = b"\xfe\xca\x08\x00" + signature * 2  # private extra field, id 0xCAFE
        info.comment = signature
        zf.writestr(info, b"\x00" * 1000)
        zf.writestr("segments/0/h\u00f6he.dat", b"\x01" * 100)
        zf.writestr("segments/0/" + signature.decode("latin-1") + ".dat", b"x")


def _plain_zip(path, monkeypatch):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(50):
            zf.writestr(f"segments/{i}/channels/height.dat", bytes(range(i)))


def _zip64_zip(path, monkeypatch):
    """ZIP64 sizes and offsets in the central directory, ZIP64 end records (small limits)."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 10)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(5):
            zf.writestr(f"segments/{i}/channels/height.dat", bytes(range(50 + i)))
    monkeypatch.undo()
    assert b"PK\x06\x06" in path.read_bytes()


@pytest.mark.parametrize("build", [_plain_zip, _odd_zip, _zip64_zip])
def test_central_directory_equals_zipfile(tmp_path, monkeypatch, build):
    """The vectorised central-directory parse (one signature search checked as a chain, or
    the header-by-header walk when other bytes hold the signature) equals ``zipfile``."""
    path = tmp_path / "a.zip"
    build(path, monkeypatch)
    archive = Archive(path)
    with zipfile.ZipFile(path) as zf:
        fields = ("header_offset", "compress_size", "file_size", "compress_type", "CRC")
        expected = {
            i.filename: (*(getattr(i, f) for f in fields), i.flag_bits) for i in zf.infolist()
        }
        assert archive.entries == expected
        assert all(archive.read(name) == zf.read(name) for name in expected)


def test_loader_skips_channels_nobody_asked_for():
    fm = read_force_map(real_afm_file("fmt-jpk-fd_map2x2_extracted.jpk-force-map"))
    assert fm.has_measured_height
    full = fm.curves([1, 2])
    lean = fm.curves([1, 2], fields={"measured_height_m"})
    for name in ("approach", "retract"):
        a, b = getattr(full, name), getattr(lean, name)
        assert b.height_m is None and b.time_s is None
        np.testing.assert_array_equal(b.measured_height_m, a.measured_height_m)
        np.testing.assert_array_equal(b.force_n, a.force_n)
    piezo_only = fm.curves([1], fields={"height_m", "time_s"})
    assert piezo_only.approach.measured_height_m is None
    np.testing.assert_array_equal(piezo_only.approach.time_s, full.approach.time_s[:1, :])
    with pytest.raises(ValueError, match="fields must be among"):
        fm.curves([1], fields={"deflection"})
