"""The TIFF fluorescence reader: axes, units, names, positions, laziness and bad files.

Files are written with tifffile (and one OME-XML written by hand) in a temporary folder, read
back, and compared with what was written: data exactly after moving the axes to (C, Z, Y, X),
lengths in metres to 1e-12 relative.
"""

from __future__ import annotations

import pickle
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import tifffile

from cellmech.errors import (
    ConfigError,
    CorruptFileError,
    MissingMetadataError,
    UnsupportedFormatError,
)
from cellmech.io import fluo_tiff, read_fluorescence
from cellmech.io.fluo_tiff import LazyStack, can_read, read
from cellmech.io.registry import find_reader

REL = 1e-12
UNIT_M = {"µm": 1e-6, "nm": 1e-9, "m": 1.0, "mm": 1e-3}


def _data(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 60000, shape).astype(np.uint16)


def _expected_czyx(data, axes):
    """Reference normalisation: time point 0, missing C/Z inserted, axes ordered C, Z, Y, X."""
    if "T" in axes:
        data = np.take(data, 0, axis=axes.index("T"))
        axes = axes.replace("T", "")
    for axis in "ZC":
        if axis not in axes:
            data, axes = data[np.newaxis], axis + axes
    return np.transpose(data, [axes.index(a) for a in "CZYX"])


def _write_ome(path, data, axes, **meta):
    meta = {"PhysicalSizeX": 0.25, "PhysicalSizeY": 0.5, **meta}
    tifffile.imwrite(path, data, photometric="minisblack", metadata={"axes": axes, **meta})
    return path


@pytest.mark.parametrize("unit", UNIT_M)
def test_ome_units_converted_to_metres(tmp_path, unit):
    path = _write_ome(
        tmp_path / "u.ome.tif",
        _data((2, 3, 5, 6)),
        "CZYX",
        PhysicalSizeX=0.3,
        PhysicalSizeXUnit=unit,
        PhysicalSizeY=0.45,
        PhysicalSizeYUnit=unit,
        PhysicalSizeZ=1.7,
        PhysicalSizeZUnit=unit,
    )
    st = read(path)
    f = UNIT_M[unit]
    np.testing.assert_allclose(st.pixel_size_m, (0.45 * f, 0.3 * f), rtol=REL, atol=0)
    np.testing.assert_allclose(st.z_step_m, 1.7 * f, rtol=REL, atol=0)
    assert st.metadata["pixel_size_source"] == "ome"


@pytest.mark.parametrize(
    ("axes", "shape"),
    [
        ("ZCYX", (4, 3, 5, 6)),
        ("CZYX", (3, 4, 5, 6)),
        ("TCZYX", (2, 3, 4, 5, 6)),
        ("TZCYX", (2, 4, 3, 5, 6)),
        ("CTZYX", (3, 2, 4, 5, 6)),
        ("YX", (5, 6)),
        ("ZYX", (4, 5, 6)),
        ("CYX", (3, 5, 6)),
        ("TYX", (3, 5, 6)),
    ],
)
def test_ome_axis_orders_normalised(tmp_path, axes, shape):
    data = _data(shape)
    names = [f"dye{i}" for i in range(dict(zip(axes, shape, strict=True)).get("C", 1))]
    path = _write_ome(tmp_path / "a.ome.tif", data, axes, Channel={"Name": names})
    st = read(path)
    expected = _expected_czyx(data, axes)
    assert st.shape == expected.shape
    assert isinstance(st.data, np.ndarray)
    np.testing.assert_array_equal(st.data, expected)
    assert st.channel_names == tuple(names)
    assert st.metadata["n_time_points"] == (shape[axes.index("T")] if "T" in axes else 1)
    assert st.metadata["axes_in_file"] == axes


def test_single_plane_has_no_z_step(tmp_path):
    path = _write_ome(tmp_path / "p.ome.tif", _data((5, 6)), "YX", PhysicalSizeZ=2.0)
    assert np.isnan(read(path).z_step_m)


def test_default_channel_names_and_no_positions(tmp_path):
    st = read(_write_ome(tmp_path / "n.ome.tif", _data((2, 5, 6)), "CYX"))
    assert st.channel_names == ("ch0", "ch1")
    assert st.plane_positions_m is None
    assert st.stage_position_m is None


def test_ome_plane_positions_with_units(tmp_path):
    n_z, n_c = 3, 2
    # planes in the order tifffile writes them for CZYX: channel-major, then z
    xs = [10.0 + 0.1 * c for c in range(n_c) for _ in range(n_z)]
    zs = [2.0 * z for _ in range(n_c) for z in range(n_z)]
    plane = {
        "PositionX": xs,
        "PositionXUnit": ["µm"] * 6,
        "PositionY": [-4000.0] * 6,
        "PositionYUnit": ["nm"] * 6,
        "PositionZ": zs,
        "PositionZUnit": ["mm"] * 6,
    }
    path = _write_ome(tmp_path / "pos.ome.tif", _data((n_c, n_z, 5, 6)), "CZYX", Plane=plane)
    st = read(path)
    expected = np.array([[10e-6, -4e-6, 2e-3 * z] for z in range(n_z)])  # channel 0
    np.testing.assert_allclose(st.plane_positions_m, expected, rtol=REL, atol=0)
    np.testing.assert_allclose(st.stage_position_m, (10e-6, -4e-6), rtol=REL, atol=0)


HAND_OME = """<?xml version="1.0" encoding="UTF-8"?>
<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">
  <Image ID="Image:0" Name="hand-written">
    <StageLabel Name="field 1" X="1.5" XUnit="mm" Y="-2.25" YUnit="mm"/>
    <Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint16" SizeX="6" SizeY="5"
        SizeZ="3" SizeC="2" SizeT="1" PhysicalSizeX="650" PhysicalSizeXUnit="nm"
        PhysicalSizeY="0.7" PhysicalSizeYUnit="µm" PhysicalSizeZ="0.0005" PhysicalSizeZUnit="mm">
      <Channel ID="Channel:0:0" Name="Hoechst" SamplesPerPixel="1"/>
      <Channel ID="Channel:0:1" Name="phalloidin-488" SamplesPerPixel="1"/>
      <TiffData IFD="0" PlaneCount="6"/>
    </Pixels>
  </Image>
</OME>"""


def test_hand_written_ome_xml_and_stage_label(tmp_path):
    """OME-XML not produced by tifffile: XYCZT order (C fastest), mixed units, StageLabel."""
    tzc = _data((1, 3, 2, 5, 6))  # file order for XYCZT: T, Z, C, Y, X
    path = tmp_path / "hand.ome.tif"
    tifffile.imwrite(path, tzc.reshape(6, 5, 6), description=HAND_OME.encode(), metadata=None)
    st = read(path)
    np.testing.assert_array_equal(st.data, tzc[0].transpose(1, 0, 2, 3))
    assert st.channel_names == ("Hoechst", "phalloidin-488")
    np.testing.assert_allclose(st.pixel_size_m, (0.7e-6, 650e-9), rtol=REL, atol=0)
    np.testing.assert_allclose(st.z_step_m, 0.5e-6, rtol=REL, atol=0)
    np.testing.assert_allclose(st.stage_position_m, (1.5e-3, -2.25e-3), rtol=REL, atol=0)
    assert st.plane_positions_m is None


def test_ome_rgb_samples_become_channels(tmp_path):
    data = _data((5, 6, 3))
    path = tmp_path / "rgb.ome.tif"
    tifffile.imwrite(path, data, photometric="rgb", metadata={"axes": "YXS", "PhysicalSizeX": 1.0})
    st = read(path, pixel_size_m=(2e-6, 1e-6))
    assert st.shape == (3, 1, 5, 6)
    np.testing.assert_array_equal(st.data[:, 0], np.moveaxis(data, -1, 0))
    assert st.channel_names == ("red", "green", "blue")


@pytest.mark.parametrize(
    ("unit", "factor"),
    [("micron", 1e-6), ("um", 1e-6), ("\\u00B5m", 1e-6), ("nm", 1e-9), ("mm", 1e-3)],
)
def test_imagej_hyperstack(tmp_path, unit, factor):
    tzc = _data((2, 4, 3, 5, 6))
    labels = ["DAPI", "GFP", "RFP"] * 8
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path,
        tzc,
        imagej=True,
        resolution=(1 / 0.16, 1 / 0.32),  # pixels per unit in x, y
        metadata={"axes": "TZCYX", "unit": unit, "spacing": 0.5, "Labels": labels},
    )
    st = read(path)
    np.testing.assert_array_equal(st.data, tzc[0].transpose(1, 0, 2, 3))
    assert st.channel_names == ("DAPI", "GFP", "RFP")
    np.testing.assert_allclose(st.pixel_size_m, (0.32 * factor, 0.16 * factor), rtol=REL)
    np.testing.assert_allclose(st.z_step_m, 0.5 * factor, rtol=REL)
    assert st.metadata["format"] == "imagej"
    assert st.metadata["n_time_points"] == 2


def test_imagej_without_calibration_is_missing_metadata(tmp_path):
    path = tmp_path / "nocal.tif"
    tifffile.imwrite(path, _data((3, 5, 6)), imagej=True, metadata={"axes": "ZYX"})
    with pytest.raises(MissingMetadataError) as info:
        read(path)
    assert str(path) in str(info.value)
    assert {"XResolution", "YResolution", "unit"} <= set(info.value.keys)
    assert "pixel_size_m" in str(info.value)


@pytest.mark.parametrize(("resunit", "factor"), [("CENTIMETER", 1e-2), ("MILLIMETER", 1e-3)])
def test_plain_tiff_resolution_tags(tmp_path, resunit, factor):
    data = _data((4, 5, 6))
    path = tmp_path / "plain.tif"
    tifffile.imwrite(
        path,
        data,
        photometric="minisblack",
        metadata={"axes": "ZYX"},
        resolution=(2e4, 4e4),
        resolutionunit=resunit,
    )
    st = read(path)
    np.testing.assert_array_equal(st.data[0], data)
    np.testing.assert_allclose(st.pixel_size_m, (factor / 4e4, factor / 2e4), rtol=REL)
    assert np.isnan(st.z_step_m)


def test_inch_resolution_is_not_a_calibration(tmp_path):
    path = tmp_path / "dpi.tif"
    tifffile.imwrite(path, _data((5, 6)), resolution=(72, 72), resolutionunit="INCH")
    with pytest.raises(MissingMetadataError, match="ResolutionUnit"):
        read(path)


def test_pixel_size_override(tmp_path):
    path = _write_ome(tmp_path / "o.ome.tif", _data((5, 6)), "YX")
    assert read(path, pixel_size_m=1e-7).pixel_size_m == (1e-7, 1e-7)
    st = read_fluorescence(path, pixel_size_m=(3e-7, 2e-7))
    assert st.pixel_size_m == (3e-7, 2e-7)
    assert st.metadata["pixel_size_source"] == "override"
    for bad in (0.0, -1e-6, float("nan"), (1e-6, 0.0), (1e-6, 1e-6, 1e-6), "1 um"):
        with pytest.raises(ConfigError, match="pixel_size_m"):
            read(path, pixel_size_m=bad)


def test_missing_ome_pixel_size_names_keys(tmp_path):
    path = tmp_path / "nopx.ome.tif"
    tifffile.imwrite(path, _data((2, 5, 6)), metadata={"axes": "CYX"})
    with pytest.raises(MissingMetadataError) as info:
        read_fluorescence(path)
    assert info.value.keys == ("PhysicalSizeY", "PhysicalSizeX")
    assert str(path) in str(info.value)
    assert read_fluorescence(path, pixel_size_m=5e-7).shape == (2, 1, 5, 6)


@pytest.mark.parametrize("metadata", [None, {}])
def test_plain_page_stack_read_as_z(tmp_path, metadata):
    data = _data((4, 5, 6))
    path = tmp_path / "pages.tif"
    tifffile.imwrite(path, data, photometric="minisblack", metadata=metadata)
    st = read(path, pixel_size_m=1e-6)
    assert st.shape == (1, 4, 5, 6)
    np.testing.assert_array_equal(st.data[0], data)


def test_two_unknown_axes_refused(tmp_path):
    path = tmp_path / "qq.tif"
    tifffile.imwrite(path, _data((2, 3, 5, 6)), photometric="minisblack", metadata={})
    with pytest.raises(CorruptFileError, match="cannot be mapped") as info:
        read(path, pixel_size_m=1e-6)
    assert str(path) in str(info.value)


def test_unmappable_axis_refused(tmp_path):
    path = tmp_path / "e.tif"
    tifffile.imwrite(path, _data((3, 5, 6)), photometric="minisblack", metadata={"axes": "EYX"})
    with pytest.raises(CorruptFileError, match="E=3"):
        read(path, pixel_size_m=1e-6)


# --- laziness ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_stack(tmp_path_factory):
    """An 8 MiB (2, 8, 512, 512) uint16 OME-TIFF, T=2 in front, and its t=0 content."""
    data = _data((2, 2, 8, 512, 512), seed=3)
    path = tmp_path_factory.mktemp("big") / "big.ome.tif"
    _write_ome(path, data, "TCZYX", PhysicalSizeX=0.1, PhysicalSizeY=0.1)
    return path, data[0]


def test_lazy_view_reads_only_what_is_indexed(big_stack):
    path, expected = big_stack
    read(path, lazy=True).data[0, 0]  # warm up: imports (zarr, ome-types) allocate too
    tracemalloc.start()
    try:
        st = read(path, lazy=True)
        plane = st.data[1, 5]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(st.data, LazyStack)
    assert not isinstance(st.data, np.ndarray)
    assert st.shape == (2, 8, 512, 512) and st.data.ndim == 4
    assert st.data.dtype == np.uint16 and st.data.nbytes == expected.nbytes
    np.testing.assert_array_equal(plane, expected[1, 5])
    # one 512 KiB plane (plus zarr's chunk buffer) versus 8 MiB for the whole stack
    assert peak < expected.nbytes / 4, f"peak {peak} B reading one plane of {expected.nbytes} B"


@pytest.mark.parametrize(
    "key",
    [
        (0, 3),
        (slice(None), slice(2, 7, 2), slice(100, 140), -1),
        (Ellipsis, slice(10, 20), slice(None, None, -50)),
        (1, Ellipsis),
        ([1, 0], 2, slice(0, 3)),
        (-2, -1, 511, 0),
    ],
)
def test_lazy_indexing_matches_numpy(big_stack, key):
    path, expected = big_stack
    with read(path, lazy=True).data as view:
        np.testing.assert_array_equal(view[key], expected[key])


def test_lazy_view_concurrent_reads(big_stack):
    path, expected = big_stack
    with read(path, lazy=True).data as view, ThreadPoolExecutor(4) as pool:
        planes = list(pool.map(view.__getitem__, np.ndindex(2, 8)))
    np.testing.assert_array_equal(np.reshape(planes, expected.shape), expected)


def test_lazy_index_errors(big_stack):
    view = read(big_stack[0], lazy=True).data
    with pytest.raises(IndexError):
        view[2]
    with pytest.raises(IndexError):
        view[0, 0, 0, 0, 0]


def test_lazy_view_pickles_and_reopens(big_stack):
    path, expected = big_stack
    view = read(path, lazy=True).data
    np.testing.assert_array_equal(view[0, 0], expected[0, 0])
    clone = pickle.loads(pickle.dumps(view))
    view.close()
    np.testing.assert_array_equal(clone[1, 7, :4], expected[1, 7, :4])
    np.testing.assert_array_equal(np.asarray(view), expected)  # reopens after close
    clone.close()


def test_lazy_by_size_threshold(big_stack, monkeypatch):
    path, expected = big_stack
    assert isinstance(read(path).data, np.ndarray)  # 8 MiB is below the default
    monkeypatch.setattr(fluo_tiff, "LAZY_THRESHOLD_BYTES", expected.nbytes - 1)
    st = read(path)
    assert isinstance(st.data, LazyStack) and st.metadata["lazy"] is True
    st.data.close()


# --- bad inputs -------------------------------------------------------------------------


def test_can_read_checks_magic_bytes(tmp_path):
    tif, big = tmp_path / "a.tif", tmp_path / "b.tif"
    tifffile.imwrite(tif, _data((5, 6)))
    tifffile.imwrite(big, _data((5, 6)), bigtiff=True)
    rnd = tmp_path / "r.tif"
    rnd.write_bytes(np.random.default_rng(1).bytes(1000))
    empty = tmp_path / "e.tif"
    empty.write_bytes(b"")
    assert can_read(tif) and can_read(big)
    for path in (rnd, empty, tmp_path, tmp_path / "missing.tif"):
        assert can_read(path) is False


def test_registry_picks_tiff_reader(tmp_path):
    path = _write_ome(tmp_path / "r.ome.tiff", _data((5, 6)), "YX")
    assert find_reader(path, "fluorescence").name == "tiff"


def test_empty_stack(tmp_path):
    path = tmp_path / "empty.tif"
    with pytest.warns(UserWarning):  # tifffile: "writing zero-size array"
        tifffile.imwrite(path, np.zeros((0, 5, 6), np.uint8))
    with pytest.raises(CorruptFileError, match="empty") as info:
        read_fluorescence(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.35, 0.6, 0.85, 0.97])
@pytest.mark.parametrize("kind", ["ome", "imagej", "plain", "bigtiff"])
def test_truncated_files(tmp_path, kind, fraction):
    data = _data((3, 4, 32, 32))
    full = tmp_path / "full.tif"
    if kind == "ome":
        _write_ome(full, data, "CZYX")
    elif kind == "imagej":
        tifffile.imwrite(
            full, data.swapaxes(0, 1), imagej=True, resolution=(10, 10), metadata={"unit": "um"}
        )
    else:
        tifffile.imwrite(
            full,
            data,
            photometric="minisblack",
            metadata={"axes": "CZYX"},
            resolution=(1e4, 1e4),
            resolutionunit="CENTIMETER",
            bigtiff=kind == "bigtiff",
        )
    raw = full.read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(raw[: int(len(raw) * fraction)])
    with pytest.raises(CorruptFileError) as info:
        read_fluorescence(cut)
    assert str(cut) in str(info.value)


def test_random_bytes_with_tif_suffix(tmp_path):
    path = tmp_path / "noise.tif"
    path.write_bytes(np.random.default_rng(2).bytes(4096))
    with pytest.raises(UnsupportedFormatError) as info:
        read_fluorescence(path)
    assert str(path) in str(info.value)
    with pytest.raises(CorruptFileError, match="not a readable TIFF"):
        read(path)


def test_tiff_magic_followed_by_garbage(tmp_path):
    path = tmp_path / "garbage.tif"
    path.write_bytes(b"II*\x00" + np.random.default_rng(3).bytes(4096))
    with pytest.raises(CorruptFileError) as info:
        read_fluorescence(path)
    assert str(path) in str(info.value)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "zero.ome.tif"
    path.write_bytes(b"")
    with pytest.raises(CorruptFileError, match="empty") as info:
        read_fluorescence(path)
    assert str(path) in str(info.value)
    with pytest.raises(CorruptFileError):
        read(path)
