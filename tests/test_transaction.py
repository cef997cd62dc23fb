"""Output folders are transactions: always one complete run, never a mix, never a user's files
replaced."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cellmech.cli import main
from cellmech.errors import CellmechError
from cellmech.outputs.files import file_sha256
from cellmech.outputs.transaction import OutputBusyError, output_lock, output_transaction
from tests.helpers import write_small_map

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_map(tmp_path_factory) -> Path:
    return write_small_map(tmp_path_factory.mktemp("map") / "small.jpk-force-map")


def _complete(out: Path) -> dict:
    """run.json of ``out``, after checking it lists exactly the files beside it, unchanged."""
    report = json.loads((out / "run.json").read_text())
    files = {p.name for p in out.iterdir()}
    assert files == set(report["outputs"]), files ^ set(report["outputs"])
    for name, digest in report["sha256"].items():
        assert file_sha256(out / name) == digest, name
    return report


def test_failure_inside_leaves_the_previous_set_untouched(tmp_path):
    out = tmp_path / "out"
    with output_transaction(out) as staging:
        (staging / "a.txt").write_text("first")
        (staging / "run.json").write_text(json.dumps({"versions": {"cellmech": "x"}}))
    with pytest.raises(RuntimeError), output_transaction(out) as staging:
        (staging / "a.txt").write_text("second")
        (staging / "b.txt").write_text("partial")
        raise RuntimeError("died while writing")
    assert (out / "a.txt").read_text() == "first" and not (out / "b.txt").exists()
    assert not list(tmp_path.glob(".out.staging-*"))


def test_a_second_concurrent_run_is_refused(tmp_path):
    out = tmp_path / "out"
    busy = pytest.raises(OutputBusyError, match="another cellmech run")
    with output_transaction(out), busy, output_transaction(out):
        pass


@pytest.mark.parametrize("command", ["fit", "run"])
def test_a_busy_output_folder_is_refused_before_any_work(small_map, tmp_path, monkeypatch, command):
    """While another run holds OUT (here: another thread), ``cellmech fit``/``run`` into it
    exit 2 without reading or fitting anything."""
    import cellmech.pipeline

    def no_work(*args, **kwargs):
        raise AssertionError("the busy run did work")

    monkeypatch.setattr(cellmech.pipeline, "run_fit", no_work)
    monkeypatch.setattr(cellmech.pipeline, "run_sample", no_work)
    out = tmp_path / "out"
    args = ["fit", str(small_map)] if command == "fit" else ["run", "--afm", str(small_map)]
    codes = []
    with output_lock(out):
        worker = threading.Thread(target=lambda: codes.append(main([*args, "-o", str(out)])))
        worker.start()
        worker.join(timeout=60)
    assert codes == [2]


def test_a_folder_of_someone_elses_files_is_never_replaced(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "thesis.docx").write_text("precious")
    refused = pytest.raises(CellmechError, match="not a cellmech output folder")
    with refused, output_transaction(tmp_path / "data"):
        pass
    assert (tmp_path / "data" / "thesis.docx").read_text() == "precious"
    with pytest.raises(CellmechError, match="named output folder"), output_transaction(""):
        pass


def test_stale_staging_of_a_killed_run_is_cleaned(tmp_path):
    stale = tmp_path / ".out.staging-deadbeef"
    stale.mkdir()
    (stale / "curves.csv").write_text("half")
    with output_transaction(tmp_path / "out") as staging:
        (staging / "x").write_text("1")
    assert not stale.exists() and (tmp_path / "out" / "x").exists()


def test_fit_run_json_describes_exactly_its_files(small_map, tmp_path):
    out = tmp_path / "out"
    assert main(["fit", str(small_map), "-o", str(out), "-q"]) == 0
    first = _complete(out)
    assert main(["fit", str(small_map), "-o", str(out), "-q", "--model", "hertz_conical"]) == 0
    second = _complete(out)
    assert first["model"] != second["model"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
@pytest.mark.parametrize("delay_s", [0.3, 1.5, 3.0])
def test_interrupted_run_leaves_one_complete_set(small_map, tmp_path, sig, delay_s):
    """Kill a second run into OUT at several moments: OUT is the first or the second run,
    complete either way, and a later run cleans up and succeeds."""
    out = tmp_path / "out"
    assert main(["fit", str(small_map), "-o", str(out), "-q"]) == 0
    before = _complete(out)
    cmd = [sys.executable, "-m", "cellmech", "fit", str(small_map), "-o", str(out), "-q",
           "--model", "hertz_conical"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stderr=subprocess.PIPE)
    time.sleep(delay_s)
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    proc.wait(timeout=120)
    after = _complete(out)
    assert after["model"] in (before["model"], "hertz_conical")
    assert main(["fit", str(small_map), "-o", str(out), "-q"]) == 0
    _complete(out)
    assert not list(tmp_path.glob(".out.staging-*"))
