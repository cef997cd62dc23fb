"""A structurally bad curve of a JPK map is a status (CORRUPT, NaN values), not a failed file:
the rest of the map reads (and fits) exactly as before, and ``cellmech fit`` counts it."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from cellmech.cli import main
from cellmech.containers import CurveStatus
from cellmech.errors import CorruptFileError
from cellmech.io import read_force_map
from tests.conftest import real_afm_file
from tests.mutate import rewrite_zip

MAP = "fmt-jpk-fd_map2x2_extracted.jpk-force-map"
SINGLE = "fmt-jpk-fd_spot3-0192.jpk-force"
CORRUPT = int(CurveStatus.CORRUPT)


def _drop(*prefixes):
    return lambda name, data: None if name.startswith(prefixes) else data


def _damage_member(src, dst, member):
    """``src`` with the compressed stream of ``member`` zeroed (a CRC/inflate error)."""
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as zf:
        info = zf.getinfo(member)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 40
    data[start : start + 64] = bytes(64)
    dst.write_bytes(bytes(data))
    return dst


DAMAGE = {
    "missing channel": _drop("index/1/segments/0/channels/vDeflection.dat"),
    "missing height and measured height": _drop(
        "index/1/segments/0/channels/height.dat", "index/1/segments/0/channels/capacitiveS"
    ),
    "missing curve header": _drop("index/1/header.properties"),
    "missing segment header": _drop("index/1/segments/1/segment-header.properties"),
    "missing retract segment": _drop("index/1/segments/1/"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_structural_damage_in_one_curve_is_a_status(tmp_path, damage):
    src = real_afm_file(MAP)
    path = rewrite_zip(src, tmp_path / "one-bad.jpk-force-map", DAMAGE[damage])
    fm, ref = read_force_map(path), read_force_map(src)
    assert fm.n_curves == 4 and fm.row.tolist() == ref.row.tolist()
    block, good = fm.curves(), ref.curves()
    assert block.status.tolist() == [0, CORRUPT, 0, 0]
    assert block.approach.n_points[1] == 0 and np.isnan(block.approach.force_n[1]).all()
    keep = [0, 2, 3]
    np.testing.assert_array_equal(
        block.approach.force_n[keep][:, : good.approach.force_n.shape[1]],
        good.approach.force_n[keep],
    )


def test_crc_error_in_one_curve_is_a_status(tmp_path):
    src = real_afm_file(MAP)
    path = _damage_member(
        src, tmp_path / "crc.jpk-force-map", "index/2/segments/0/channels/height.dat"
    )
    block = read_force_map(path).curves()
    assert block.status.tolist() == [0, 0, CORRUPT, 0]
    assert np.isnan(block.approach.height_m[2]).all()
    assert block.take([2, 0]).status.tolist() == [CORRUPT, 0]


def test_every_curve_bad_or_a_single_bad_curve_fails_the_file(tmp_path):
    path = rewrite_zip(
        real_afm_file(MAP),
        tmp_path / "all-bad.jpk-force-map",
        lambda name, data: None if name.endswith("vDeflection.dat") else data,
    )
    with pytest.raises(CorruptFileError, match="vDeflection"):
        read_force_map(path)
    single = _damage_member(
        real_afm_file(SINGLE), tmp_path / "one.jpk-force", "segments/0/channels/vDeflection.dat"
    )
    with pytest.raises(CorruptFileError, match=r"one\.jpk-force"):
        read_force_map(single).curves()


def test_fit_counts_corrupt_curves_and_fits_the_rest(tmp_path, capsys):
    src = real_afm_file(MAP)
    path = rewrite_zip(src, tmp_path / "one-bad.jpk-force-map", DAMAGE["missing retract segment"])
    assert main(["fit", str(src), "-o", str(tmp_path / "ref")]) == 0
    capsys.readouterr()
    assert main(["fit", str(path), "-o", str(tmp_path / "bad")]) == 0
    assert "(3 ok, 1 corrupt)" in capsys.readouterr().out
    ref = pd.read_csv(tmp_path / "ref" / "curves.csv")
    bad = pd.read_csv(tmp_path / "bad" / "curves.csv")
    assert bad["status"].tolist() == ["ok", "corrupt", "ok", "ok"]
    assert np.isnan(bad["youngs_modulus_pa"][1])
    keep = [0, 2, 3]
    np.testing.assert_allclose(
        bad["youngs_modulus_pa"][keep], ref["youngs_modulus_pa"][keep], rtol=1e-12
    )
