"""A deterministic fuzz suite: seeded mutations of the sample and the shared real files, bad
paths, options and environments, interrupts and concurrent runs, each with its declared outcome
(tests/fuzz_case.py): a clean one-line error with exit 2, a ``corrupt`` curve status with the
untouched curves fitted as before, success, or an output folder that is one complete run.
Plain cases run through ``cellmech.cli.main`` in-process, the others in subprocesses;
benchmarks/fuzz.py runs random draws of the same generators."""

from __future__ import annotations

import contextlib
import io
import random
import signal

import pandas as pd
import pytest

from cellmech.cli import main
from tests.fuzz_case import IBW, Case, afm_source, outcome, run_case
from tests.fuzz_cases import GENERATORS, HEADER_EDITS, igor_record_size
from tests.fuzz_faults import (
    DUMP_KINDS,
    INPUT_KINDS,
    OUTPUT_KINDS,
    config_dump,
    fit_argv,
    input_paths,
    output_paths,
    run_argv,
    unwritable_cache,
)
from tests.mutate import edit_member, release, rewrite_zip, truncate

#: seeded draws per file/option category: enough to cover every edit list, about a minute
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
    "sample-data": 4,
}
CASES = [(c, seed) for c, n in DRAWS.items() for seed in range(n)]
TIMEOUT_S = 600  # generous: the machine may be shared; a hang is a stuck process


def _run(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
    return code, err.getvalue()


@pytest.fixture(autouse=True)
def _writable_tmp(tmp_path):
    """Undo read-only folders made by a case, so pytest can remove ``tmp_path``."""
    yield
    release(tmp_path)


def _judge(case: Case, tmp_path, monkeypatch) -> str:
    if case.in_process:
        if case.cwd:
            monkeypatch.chdir(case.cwd)
        code, stderr = _run(case.argv)
    else:
        code, stderr = run_case(case, TIMEOUT_S)
    result = outcome(case, code, stderr, tmp_path / "out")
    assert result in ("clean", "ok"), f"{case}: {result} (exit {code})\n{stderr}"
    return result


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    assert _run(["fit", str(afm_source()), "-o", str(out), "-q"])[0] == 0
    return pd.read_csv(out / "curves.csv")


@pytest.mark.parametrize(("category", "seed"), CASES)
def test_fuzz_case(category, seed, tmp_path, reference, monkeypatch):
    case = GENERATORS[category](random.Random(f"{category}-{seed}"), tmp_path)
    _judge(case, tmp_path, monkeypatch)
    if case.expect == "corrupt":
        table = pd.read_csv(tmp_path / "out" / "curves.csv")
        keep = table["status"] != "corrupt"
        assert (~keep).sum() == 1
        pd.testing.assert_series_equal(
            table.loc[keep, "youngs_modulus_pa"], reference.loc[keep, "youngs_modulus_pa"]
        )


@pytest.mark.parametrize(
    "edit", HEADER_EDITS, ids=[f"{k.split('.')[-1]}={v}" for k, v in HEADER_EDITS]
)
def test_every_grid_header_edit_is_refused(edit, tmp_path, monkeypatch):
    dst = rewrite_zip(
        afm_source(), tmp_path / "h.jpk-force-map", edit_member("header.properties", *edit)
    )
    _judge(Case("header value", str(edit), ["info", str(dst)], "error"), tmp_path, monkeypatch)


def test_grid_disagreeing_with_the_curve_positions_names_the_keys(tmp_path):
    """A declared grid of plausible size that does not match where the curves were recorded
    (ilength 11 instead of 10) is refused, naming the grid keys."""
    edit = edit_member("header.properties", f"{HEADER_EDITS[0][0]}", "11")
    dst = rewrite_zip(afm_source(), tmp_path / "h.jpk-force-map", edit)
    code, stderr = _run(["info", str(dst)])
    assert code == 2 and "grid.ilength/jlength" in stderr and "pixel pitches" in stderr


def test_ibw_cut_only_in_its_preview_footer_fits_unchanged(tmp_path):
    """Asylum .ibw files end with a preview footer after the Igor record; cutting into it
    loses nothing that is read, so the fit is unchanged. Cutting into the record is an
    error."""
    if not IBW.exists():
        pytest.skip(f"real AFM data not available: {IBW}")
    size = IBW.stat().st_size
    record = igor_record_size(IBW)
    assert record < size  # the footer exists
    footer_cut = truncate(IBW, tmp_path / "footer.ibw", record / size + 1e-6)
    record_cut = truncate(IBW, tmp_path / "record.ibw", (record - 10) / size)
    tables = []
    for src, out in ((IBW, "a"), (footer_cut, "b")):
        assert _run(["fit", str(src), "-o", str(tmp_path / out), "-q"])[0] == 0
        tables.append(pd.read_csv(tmp_path / out / "curves.csv"))
    pd.testing.assert_frame_equal(*tables)
    code, stderr = _run(["info", str(record_cut)])
    assert code == 2 and "truncated" in stderr


@pytest.mark.parametrize("kind", OUTPUT_KINDS)
def test_output_path(kind, tmp_path, monkeypatch):
    _judge(output_paths(random.Random(0), tmp_path, kind), tmp_path, monkeypatch)


@pytest.mark.parametrize("role", ["afm", "config"])
@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_input_path(kind, role, tmp_path, monkeypatch):
    _judge(input_paths(random.Random(0), tmp_path, kind, role), tmp_path, monkeypatch)


@pytest.mark.parametrize("kind", DUMP_KINDS)
def test_config_dump_target(kind, tmp_path, monkeypatch):
    _judge(config_dump(random.Random(0), tmp_path, kind), tmp_path, monkeypatch)


@pytest.mark.parametrize("seed", [0, 1])
def test_unwritable_cache(seed, tmp_path, monkeypatch):
    _judge(unwritable_cache(random.Random(seed), tmp_path), tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("command", "sig", "delay_s"),
    [("run", signal.SIGTERM, 5.0), ("fit", signal.SIGINT, 0.5)],  # SIGKILL: test_transaction
)
def test_interrupted_run_leaves_one_complete_run(command, sig, delay_s, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = fit_argv(afm_source(), out) if command == "fit" else run_argv(out)
    second = [*first, "--model", "hertz_conical"]
    case = Case(
        "interrupts", command, second, "complete", (tuple(first),), interrupt=(sig, delay_s)
    )
    _judge(case, tmp_path, monkeypatch)


def test_two_runs_into_one_folder(tmp_path, monkeypatch):
    argv = fit_argv(afm_source(), tmp_path / "out")
    case = Case("concurrent runs", "fit x2", argv, "complete", concurrent=True)
    _judge(case, tmp_path, monkeypatch)
