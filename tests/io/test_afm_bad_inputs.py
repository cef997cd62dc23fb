"""Bad inputs raise named cellmech errors that name the file, through both AFM readers."""

from __future__ import annotations

import re
import shutil
import zipfile

import numpy as np
import pytest

from cellmech.errors import (
    CorruptFileError,
    MissingFileError,
    MissingMetadataError,
    NoCurvesError,
    UnsupportedFormatError,
)
from cellmech.io import read_force_map
from cellmech.io.jpk import properties as jpk_properties
from tests.conftest import real_afm_file
from tests.helpers import K, synthetic_map

READERS = ["jpk", "afmformats"]
MAP = "fmt-jpk-fd_map2x2_extracted.jpk-force-map"


def rewrite(src, dst, edit=None, extra=None):
    """Copy zip ``src`` to ``dst``, mapping member bytes through ``edit(name, data)``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info, edit(info.filename, data) if edit else data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def edit_props(data: bytes, **changes) -> bytes:
    props = jpk_properties.parse_properties(data)
    props.update({k.replace("__", "."): v for k, v in changes.items()})
    return jpk_properties.format_properties(props)


def creep_compliance_map(tmp_path):
    """A JPK map whose curves have extend, constant-force pause and retract segments."""
    src, _, _ = synthetic_map(tmp_path / "src.jpk-force-map")
    with zipfile.ZipFile(src) as zf:
        shared = jpk_properties.parse_properties(zf.read("shared-data/header.properties"))
        extra = {}
        for name in zf.namelist():
            if "/segments/1/" in name:
                data = zf.read(name)
                if name.endswith("segment-header.properties"):
                    data = edit_props(
                        data, **{"force-segment-header__force-segment-header-info__*": "2"}
                    )
                extra[name.replace("/segments/1/", "/segments/2/")] = data
    info1 = {k: v for k, v in shared.items() if k.startswith("force-segment-header-info.1.")}
    shared.update({k.replace("info.1.", "info.2."): v for k, v in info1.items()})
    shared["force-segment-header-info.1.settings.style"] = "pause"
    shared["force-segment-header-info.1.settings.segment-settings.type"] = "constant-force-pause"
    shared["force-segment-header-infos.count"] = "3"

    def edit(name, data):
        if name == "shared-data/header.properties":
            return jpk_properties.format_properties(shared)
        return data

    return rewrite(src, tmp_path / "creep.jpk-force-map", edit, extra)


@pytest.mark.parametrize("reader", READERS)
def test_truncated_real_zip(tmp_path, reader):
    data = real_afm_file(MAP).read_bytes()
    path = tmp_path / "cut.jpk-force-map"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match=re.escape(str(path))):
        read_force_map(path, reader=reader)


@pytest.mark.parametrize("reader", READERS)
def test_corrupt_member_is_named(tmp_path, reader):
    data = bytearray(real_afm_file(MAP).read_bytes())
    with zipfile.ZipFile(real_afm_file(MAP)) as zf:
        info = zf.getinfo("index/0/segments/0/channels/vDeflection.dat")
    start = info.header_offset + 30 + len(info.filename) + 40
    data[start : start + 64] = bytes(64)  # damage the compressed stream
    path = tmp_path / "damaged.jpk-force-map"
    path.write_bytes(bytes(data))
    if reader == "jpk":  # one damaged curve of a map is a status (tests/io/jpk/test_bad_curves)
        assert read_force_map(path, reader=reader).curves().status.tolist() == [7, 0, 0, 0]
        return
    with pytest.raises(CorruptFileError, match=re.escape(str(path))):
        read_force_map(path, reader=reader).curves()


def test_zero_byte_directory_missing(tmp_path):
    empty = tmp_path / "empty.jpk-force"
    empty.write_bytes(b"")
    with pytest.raises(CorruptFileError, match="empty"):
        read_force_map(empty)
    with pytest.raises(CorruptFileError, match="directory"):
        read_force_map(tmp_path)
    with pytest.raises(MissingFileError, match=r"nothing\.jpk-force"):
        read_force_map(tmp_path / "nothing.jpk-force")


@pytest.mark.parametrize("suffix", [".jpk-force", ".jpk-force-map", ".ibw"])
def test_random_bytes(tmp_path, suffix):
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(np.random.default_rng(1).bytes(5000))
    with pytest.raises((CorruptFileError, UnsupportedFormatError), match=re.escape(str(path))):
        read_force_map(path)


def test_wrong_suffix(tmp_path):
    text = tmp_path / "notes.xyz"
    text.write_text("not an AFM file\n")
    with pytest.raises(UnsupportedFormatError, match=r"notes\.xyz"):
        read_force_map(text)
    renamed = tmp_path / "map.dat"
    shutil.copy(real_afm_file(MAP), renamed)
    assert read_force_map(renamed).n_curves == 4  # the JPK reader recognises the content


@pytest.mark.parametrize("reader", READERS)
def test_creep_compliance_curves_read_as_force_distance(tmp_path, reader):
    """Extend, constant-force pause, retract: approach and retract read, the pause listed."""
    path = creep_compliance_map(tmp_path)
    fm = read_force_map(path, reader=reader)
    ref = read_force_map(tmp_path / "src.jpk-force-map", reader=reader).curves()
    assert [i.style for i in fm.metadata["segments"][0]] == ["extend", "pause", "retract"]
    block = fm.curves()
    np.testing.assert_array_equal(block.approach.force_n, ref.approach.force_n)
    np.testing.assert_array_equal(block.retract.force_n, ref.retract.force_n)


def test_archive_without_curves(tmp_path):
    src, _, _ = synthetic_map(tmp_path / "src.jpk-force-map")
    path = tmp_path / "hollow.jpk-force-map"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for name in ("header.properties", "shared-data/header.properties"):
            zout.writestr(name, zin.read(name))
    with pytest.raises(NoCurvesError, match="hollow"):
        read_force_map(path, reader="jpk")


@pytest.mark.parametrize("reader", READERS)
def test_missing_spring_constant_and_override(tmp_path, reader):
    src, _, _ = synthetic_map(tmp_path / "src.jpk-force-map")
    key = "lcd-info__1__conversion-set__conversion__force__scaling__multiplier"

    def edit(name, data):
        if name == "shared-data/header.properties":
            return edit_props(data, **{key: "NaN"})
        return data

    path = rewrite(src, tmp_path / "nok.jpk-force-map", edit)
    with pytest.raises(MissingMetadataError, match="spring_constant_n_per_m") as info:
        read_force_map(path, reader=reader)
    assert "nok.jpk-force-map" in str(info.value)
    fm = read_force_map(path, reader=reader, spring_constant_n_per_m=2 * K)
    ref = read_force_map(src, reader=reader)
    assert fm.spring_constant_n_per_m == 2 * K
    np.testing.assert_allclose(fm.curves().approach.force_n, 2 * ref.curves().approach.force_n)
