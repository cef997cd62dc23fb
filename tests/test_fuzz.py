"""A deterministic fuzz suite: seeded mutations of the sample and the shared real files, each
with its declared outcome, run through ``cellmech.cli.main`` in-process: a clean one-line error
with exit 2, a ``corrupt`` curve status with the untouched curves fitted as before, or success.
benchmarks/fuzz.py runs random draws of the same generators in subprocesses."""

from __future__ import annotations

import contextlib
import io
import random

import pandas as pd
import pytest

from cellmech.cli import main
from tests.fuzz_cases import GENERATORS, afm_source, outcome

#: draws per category (seeded): enough to cover every edit list, bounded to ~1 minute
DRAWS = {
    "truncation": 4,
    "byte flip": 4,
    "missing member": 2,
    "header value": 6,
    "one bad curve": 3,
    "zip bomb": 1,
    "tiff metadata": 5,
    "config toml": 5,
    "cli flags": 6,
}
CASES = [(c, seed) for c, n in DRAWS.items() for seed in range(n)]


def _run(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
    return code, err.getvalue()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    assert _run(["fit", str(afm_source()), "-o", str(out), "-q"])[0] == 0
    return pd.read_csv(out / "curves.csv")


@pytest.mark.parametrize(("category", "seed"), CASES)
def test_fuzz_case(category, seed, tmp_path, reference):
    case = GENERATORS[category](random.Random(f"{category}-{seed}"), tmp_path)
    code, stderr = _run(case.argv)
    result = outcome(case, code, stderr, tmp_path / "out")
    assert result in ("clean", "ok"), f"{case}: {result}\n{stderr}"
    if case.expect == "corrupt":
        table = pd.read_csv(tmp_path / "out" / "curves.csv")
        keep = table["status"] != "corrupt"
        assert (~keep).sum() == 1
        pd.testing.assert_series_equal(
            table.loc[keep, "youngs_modulus_pa"], reference.loc[keep, "youngs_modulus_pa"]
        )
