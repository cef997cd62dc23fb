"""The pandas-free table writer of a fit run writes what the pandas writer writes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from cellmech.outputs.files import write_column_pair, write_table_pair

COLUMNS = {
    "curve_index": np.arange(4),
    "row": np.array([0, 0, 1, 1], dtype=np.int64),
    "youngs_modulus_pa": np.array([1234.5678901234, np.nan, 1e-12, -3.0]),
    "status": np.array(["ok", "no_contact", "poor_fit", "rigid"]),
    "status_code": np.array([0, 1, 2, 3], dtype=np.int8),
    "model": np.full(4, "hertz_paraboloidal"),
}


def test_column_pair_equals_the_pandas_pair(tmp_path) -> None:
    human = {**COLUMNS, "youngs_modulus_kpa": COLUMNS["youngs_modulus_pa"] / 1e3}
    write_column_pair(tmp_path / "a", "t", COLUMNS, human)
    write_table_pair(tmp_path / "b", "t", pd.DataFrame(COLUMNS), pd.DataFrame(human))
    text = (tmp_path / "a" / "t.csv").read_text()
    assert text == (tmp_path / "b" / "t.csv").read_text()
    ours, theirs = (pd.read_parquet(tmp_path / d / "t.parquet") for d in "ab")
    pd.testing.assert_frame_equal(ours, theirs)


def test_column_pair_refuses_unknown_types(tmp_path) -> None:
    with pytest.raises(TypeError, match="bool"):
        write_column_pair(tmp_path, "t", {"flag": np.array([True, False])})


def test_column_pair_never_imports_pandas(tmp_path) -> None:
    code = (
        "import sys, numpy as np; from cellmech.outputs.files import write_column_pair; "
        f"write_column_pair({str(tmp_path)!r}, 't', "
        "{'x': np.ones(3), 's': np.array(['a'] * 3)}); "
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
