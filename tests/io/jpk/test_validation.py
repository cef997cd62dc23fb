"""JPK headers are validated at the boundary: corrupt geometry and calibration are named errors
(naming the key and the file), through the fast reader and, where it reads the same header,
the afmformats reader."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import pytest

from cellmech.errors import CorruptFileError, MissingMetadataError
from cellmech.io import read_force_map
from cellmech.io.jpk import properties as jp
from tests.conftest import real_afm_file
from tests.helpers import K, synthetic_map
from tests.mutate import edit_member, rewrite_zip, set_property

MAP = "fmt-jpk-fd_map2x2_extracted.jpk-force-map"
GRID = "force-scan-map.position-pattern.grid"
FORCE_K = "lcd-info.1.conversion-set.conversion.force.scaling.multiplier"
SENS = "lcd-info.1.conversion-set.conversion.distance.scaling.multiplier"
ENCODER = "lcd-info.1.encoder.scaling.multiplier"


def _mutated(tmp_path, member, key, value, src=None):
    src = src or real_afm_file(MAP)
    dst = tmp_path / f"bad-{abs(hash((member, key, value)))}.jpk-force-map"
    return rewrite_zip(src, dst, edit_member(member, key, value))


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        (f"{GRID}.ilength", None, "ilength"),  # deleted: was silently a 1x1 "map"
        (f"{GRID}.jlength", "garbage", "jlength"),
        (f"{GRID}.jlength", "1e30", "jlength"),  # was a traceback
        (f"{GRID}.ilength", "2.5", "ilength"),
        (f"{GRID}.ilength", "0", "ilength"),
        (f"{GRID}.ulength", "nan", "ulength"),
        (f"{GRID}.vlength", "inf", "vlength"),
        (f"{GRID}.ulength", "-1e-5", "ulength"),
        (f"{GRID}.xcenter", "1e300", "xcenter"),
        ("type", "garbage", "type"),
        ("type", None, "type"),
        ("type", "force-scan-series", "type"),  # 4 curves cannot be a single curve
    ],
)
@pytest.mark.parametrize("reader", ["jpk", "afmformats"])
def test_corrupt_grid_keys_are_named(tmp_path, key, value, named, reader):
    path = _mutated(tmp_path, "header.properties", key, value)
    with pytest.raises(CorruptFileError) as info:
        read_force_map(path, reader=reader)
    assert str(path) in str(info.value)
    if reader == "jpk":  # afmformats may refuse the file before cellmech sees the header
        assert named in str(info.value)


def test_empty_root_header(tmp_path):
    path = rewrite_zip(
        real_afm_file(MAP),
        tmp_path / "empty.jpk-force-map",
        lambda name, data: b"" if name == "header.properties" else data,
    )
    with pytest.raises(CorruptFileError, match="'type'"):
        read_force_map(path)


def test_grid_over_the_memory_budget_is_refused_before_allocating(tmp_path):
    side = str(int(np.sqrt(jp.MAX_GRID_CELLS)) * 4)
    path = _mutated(tmp_path, "header.properties", f"{GRID}.ilength", side)
    path = rewrite_zip(
        path,
        tmp_path / "huge.jpk-force-map",
        edit_member("header.properties", f"{GRID}.jlength", side),
    )
    with pytest.raises(CorruptFileError, match=r"exceeds cellmech's limit .* GiB"):
        read_force_map(path)


def test_partial_real_map_stays_on_its_declared_grid():
    fm = read_force_map(real_afm_file(MAP))
    assert fm.grid.shape == (10, 10) and fm.n_curves == 4


def test_duplicated_and_outside_position_index(tmp_path):
    member = "index/1/header.properties"
    dup = _mutated(tmp_path, member, "force-scan-series.header.position-index", "0")
    with pytest.raises(CorruptFileError, match=r"curves 0 and 1 share position-index 0"):
        read_force_map(dup)
    outside = _mutated(tmp_path, member, "force-scan-series.header.position-index", "100")
    with pytest.raises(CorruptFileError, match="outside the"):
        read_force_map(outside)


@pytest.mark.parametrize(
    ("key", "value", "error", "named"),
    [
        (FORCE_K, "0", CorruptFileError, "spring constant 0.0"),
        (FORCE_K, "-0.02", CorruptFileError, "spring constant -0.02"),
        (FORCE_K, "Infinity", CorruptFileError, "spring constant inf"),
        (FORCE_K, "NaN", MissingMetadataError, "spring_constant_n_per_m"),
        (SENS, "0", CorruptFileError, "sensitivity 0.0"),
        (SENS, "-5e-8", CorruptFileError, "sensitivity -5e-08"),
        (SENS, "inf", CorruptFileError, "sensitivity inf"),
        (ENCODER, "0", CorruptFileError, "encoder.scaling.multiplier"),
        (ENCODER, "inf", CorruptFileError, "encoder.scaling.multiplier"),
    ],
)
def test_impossible_calibration_is_named(tmp_path, key, value, error, named):
    src, _, _ = synthetic_map(tmp_path / "src.jpk-force-map")
    path = _mutated(tmp_path, "shared-data/header.properties", key, value, src=src)
    with pytest.raises(error, match=re.escape(named)) as info:
        read_force_map(path)
    assert str(path) in str(info.value)


def _two_spring_constants(tmp_path):
    """A synthetic map whose curve 2 refers to its own calibration block (k doubled)."""
    src, _, _ = synthetic_map(tmp_path / "src.jpk-force-map")
    with zipfile.ZipFile(src) as zf:
        shared = zf.read("shared-data/header.properties").decode("latin-1")
    block = [ln for ln in shared.splitlines() if ln.startswith("lcd-info.1.")]
    extra = "\n".join(ln.replace("lcd-info.1.", "lcd-info.9.", 1) for ln in block)
    extra = extra.replace(f"force.scaling.multiplier={K!r}", f"force.scaling.multiplier={2 * K!r}")
    assert f"{2 * K!r}" in extra

    def edit(name, data):
        if name == "shared-data/header.properties":
            return data + b"\n" + extra.encode("latin-1") + b"\n"
        if name.startswith("index/2/segments/") and name.endswith("segment-header.properties"):
            return set_property(data, "channel.vDeflection.lcd-info.*", "9")
        return data

    return rewrite_zip(src, tmp_path / "mixed.jpk-force-map", edit)


def test_curves_with_different_spring_constants_are_refused_unless_overridden(tmp_path):
    path = _two_spring_constants(tmp_path)
    with pytest.raises(CorruptFileError, match=r"curves 0 and 2 .*different spring constants"):
        read_force_map(path)
    with pytest.raises(CorruptFileError, match="--spring-constant"):
        read_force_map(path)
    fm = read_force_map(path, spring_constant_n_per_m=K)
    assert fm.spring_constant_n_per_m == K
    assert np.isfinite(fm.curves().approach.force_n).any()
