"""Hostile files cannot exhaust memory: zip members and OME shapes are checked against what
the file can hold before anything is inflated or allocated."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile

from cellmech.containers import CurveStatus
from cellmech.errors import CorruptFileError
from cellmech.io import fluo_tiff, read_fluorescence, read_force_map
from cellmech.io.jpk import reader as jpk_reader
from cellmech.io.jpk.archive import Archive
from tests.helpers import synthetic_map
from tests.mutate import set_property

SAMPLE_OME = "sample_data/sample.ome.tif"
BOMB_POINTS = jpk_reader.MAX_SEGMENT_POINTS * 2  # 128 MiB of int32 zeros, ~130 kB deflated


def _bomb(tmp_path, header_points: int):
    """A synthetic map whose curve 1 approach channels inflate to BOMB_POINTS points each."""
    src, _, _ = synthetic_map(tmp_path / "src.jpk-force-map")
    dst = tmp_path / "bomb.jpk-force-map"
    seg = "index/1/segments/0/"
    chunk = bytes(2**22)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith(seg + "channels/"):
                with zout.open(info.filename, "w", force_zip64=True) as out:
                    for _ in range(BOMB_POINTS * 4 // len(chunk)):
                        out.write(chunk)
                continue
            if info.filename == seg + "segment-header.properties":
                data = set_property(data, "force-segment-header.num-points", str(header_points))
            zout.writestr(info, data, compress_type=info.compress_type)
    assert dst.stat().st_size < 2_000_000
    return dst


@pytest.mark.parametrize("header_points", [BOMB_POINTS, 126])
def test_zip_bomb_curve_is_never_inflated(tmp_path, monkeypatch, header_points):
    path = _bomb(tmp_path, header_points)
    read = []
    original = Archive.read

    def spy(self, name, max_size=None):
        read.append(name)
        return original(self, name, max_size)

    monkeypatch.setattr(Archive, "read", spy)
    block = read_force_map(path).curves()
    assert block.status.tolist() == [0, CurveStatus.CORRUPT, 0, 0, 0]
    assert not [n for n in read if n.startswith("index/1/segments/0/channels/")]


def test_huge_header_member_is_refused_before_inflating(tmp_path, monkeypatch):
    src, _, _ = synthetic_map(tmp_path / "src.jpk-force-map")
    monkeypatch.setattr(jpk_reader, "MAX_HEADER_BYTES", 100)
    with pytest.raises(CorruptFileError, match=r"header\.properties' states \d+ bytes"):
        read_force_map(src)


def _ome_with(tmp_path, **sizes):
    path = tmp_path / "edited.ome.tif"
    shutil.copy(SAMPLE_OME, path)
    xml = tifffile.tiffcomment(path)
    for key, value in sizes.items():
        xml = re.sub(rf'\b{key}="\d+"', f'{key}="{value}"', xml, count=1)
    tifffile.tiffcomment(path, xml.encode())
    return path


@pytest.mark.parametrize(
    ("sizes", "named"),
    [
        ({"SizeZ": 1000, "SizeX": 100000, "SizeY": 100000}, "SizeY x SizeX"),
        ({"SizeZ": 100000000}, "declares 300000000 image planes"),
        ({"SizeT": 5}, "declares 120 image planes"),
    ],
)
def test_ome_shape_larger_than_the_file_is_refused_before_allocating(tmp_path, sizes, named):
    path = _ome_with(tmp_path, **sizes)
    with pytest.raises(CorruptFileError, match=named) as info:
        read_fluorescence(path)
    assert str(path) in str(info.value)


def test_odd_ome_unit_is_one_error_without_library_warnings(tmp_path, recwarn):
    path = tmp_path / "unit.ome.tif"
    shutil.copy(SAMPLE_OME, path)
    xml = tifffile.tiffcomment(path).replace('PhysicalSizeXUnit="µm"', 'PhysicalSizeXUnit="ft2"', 1)
    tifffile.tiffcomment(path, xml.encode())
    with pytest.raises(CorruptFileError, match="physical_size_x_unit"):
        read_fluorescence(path)
    assert not [w for w in recwarn if "xsdata" in w.filename or "pydantic" in w.filename]


def _flip_one_page(tmp_path):
    """A zlib-compressed OME-TIFF with one byte flipped inside its first page's pixel data
    (the other pages still decode: zarr's asyncio store left their reads pending)."""
    path = tmp_path / "flipped.ome.tif"
    data = (np.arange(3 * 10 * 128 * 128) % 4093).astype(np.uint16).reshape(3, 10, 128, 128)
    meta = {"axes": "CZYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1}
    tifffile.imwrite(path, data, ome=True, compression="zlib", metadata=meta)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        at = page.dataoffsets[0] + page.databytecounts[0] // 2
    raw = bytearray(path.read_bytes())
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("lazy", [False, True])
def test_flipped_compressed_pixels_are_a_corrupt_file_error(tmp_path, lazy):
    path = _flip_one_page(tmp_path)
    with pytest.raises(CorruptFileError, match="reading the pixel data failed"):
        np.asarray(fluo_tiff.read(path, lazy=lazy).data)


def test_flipped_compressed_pixels_print_one_line_and_exit_2(tmp_path):
    """No asyncio 'Task was destroyed' / 'Event loop is closed' noise after the error."""
    path = _flip_one_page(tmp_path)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "cellmech", "info", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("cellmech: error: ") and str(path) in lines[0]
