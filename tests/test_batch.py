"""``cellmech batch``: pairing, fault isolation, resuming, interrupted runs and the Dask engines.

One module-scoped batch (three generated samples on 12x12 maps, a truncated AFM file, a stack
whose channels were renamed so no role can be recognised, and an AFM file without a partner)
is run once on threads; the other tests copy or re-run it and compare their tables to it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cellmech.batch import engine, run_on_client
from cellmech.batch_sample import SampleOutcome
from cellmech.cli import EXIT_BAD_INPUT, EXIT_NEEDS_REVIEW, EXIT_SOME_FAILED, main
from cellmech.config import load_config
from cellmech.errors import ConfigError
from cellmech.outputs.files import file_sha256
from cellmech.pairing import Pair, pair_folder, read_pairs_csv
from cellmech.pipeline import STAGES, make_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
GOOD = ("a", "b", "c")
BAD = ("nochan", "trunc")
TIFF_MAGIC = b"II*\x00"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def batch_input(tmp_path_factory) -> Path:
    """The input folder (see the module docstring)."""
    from cellmech.synthetic import make_sample_data
    from cellmech.synthetic.options import SampleOptions

    src = tmp_path_factory.mktemp("generated")
    inp = tmp_path_factory.mktemp("exports")
    for seed, name in ((1, "a"), (2, "b"), (3, "c"), (4, "trunc"), (5, "nochan")):
        options = SampleOptions(
            seed=seed, grid_shape=(12, 12), approach_points=200, retract_points=40,
            fluo_z_planes=2, n_cells=2,
        )  # fmt: skip
        files = make_sample_data(src / name, options)
        shutil.copy(files["force_map"], inp / f"{name}.jpk-force-map")
        shutil.copy(files["fluorescence"], inp / f"{name}.ome.tif")
    data = (inp / "trunc.jpk-force-map").read_bytes()
    (inp / "trunc.jpk-force-map").write_bytes(data[: len(data) // 2])
    raw = (inp / "nochan.ome.tif").read_bytes()  # same-length renames keep the TIFF valid
    renames = ((b'Name="cytoplasm"', b'Name="channel_0"'), (b'Name="nucleus"', b'Name="chann_1"'))
    for old, new in renames:
        assert old in raw
        raw = raw.replace(old, new)
    (inp / "nochan.ome.tif").write_bytes(raw)
    shutil.copy(inp / "a.jpk-force-map", inp / "lonely-map.jpk-force-map")
    return inp


def _batch(inp: Path, out: Path, *extra: str) -> int:
    return main(["batch", str(inp), "-o", str(out), "-q", *extra])


@pytest.fixture(scope="module")
def reference(batch_input, tmp_path_factory) -> tuple[Path, int]:
    """The batch run once on two threads: (OUT, exit code)."""
    out = tmp_path_factory.mktemp("reference") / "out"
    return out, _batch(batch_input, out, "--scheduler", "threads", "--workers", "2")


def _report(out: Path) -> dict:
    return json.loads((out / "batch_report.json").read_text())


def _status(out: Path) -> dict[str, str]:
    return {s["sample"]: s["status"] for s in _report(out)["samples"]}


def _assert_same_tables(out: Path, ref: Path) -> None:
    for name in ("cells.parquet", "curves.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / name), pd.read_parquet(ref / name), check_exact=True
        )
    pd.testing.assert_frame_equal(pd.read_csv(out / "cells.csv"), pd.read_csv(ref / "cells.csv"))


def _mtimes(out: Path) -> dict[str, int]:
    return {
        str(p.relative_to(out)): p.stat().st_mtime_ns
        for name in GOOD
        for p in (out / name).rglob("*")
        if p.is_file()
    }


# ------------------------------------------------------------------------------------------
# pairing


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(TIFF_MAGIC + b"\0" * 8 if ".tif" in name else b"PK")


def test_naming_rule_pairs_same_stems_and_unique_prefixes(tmp_path):
    _touch(
        tmp_path,
        "cell3.jpk-force-map", "cell3.ome.tif", "cell3_labels.tif",
        "day1_cell4_afm.jpk-force-map", "day1_cell4_gfp.ome.tif",
        "day1_cell5_afm.jpk-force-map", "day1_cell5_gfp.tif",
        "map-data-2024.05.13-15.02.11.jpk-force-map", "overview.tif",
        "x_1.jpk-force-map", "x_2.jpk-force-map", "x.tif",
    )  # fmt: skip
    (tmp_path / "notes.md").write_text("not data")
    pairing = pair_folder(tmp_path)
    got = {p.sample: (p.afm.name, p.fluorescence.name, p.labels) for p in pairing.pairs}
    assert got == {
        "cell3": ("cell3.jpk-force-map", "cell3.ome.tif", tmp_path / "cell3_labels.tif"),
        "day1_cell4": ("day1_cell4_afm.jpk-force-map", "day1_cell4_gfp.ome.tif", None),
        "day1_cell5": ("day1_cell5_afm.jpk-force-map", "day1_cell5_gfp.tif", None),
    }
    reasons = {p.name: r for p, r in pairing.unpaired}
    assert "no fluorescence file" in reasons["map-data-2024.05.13-15.02.11.jpk-force-map"]
    assert "ambiguous" in reasons["x_1.jpk-force-map"] and "x_2" in reasons["x_1.jpk-force-map"]
    assert "no AFM file" in reasons["overview.tif"] and "x.tif" in reasons
    assert [p.name for p in pairing.ignored] == ["notes.md"]


def test_pairs_csv_carries_extra_columns_and_rejects_bad_files(tmp_path):
    _touch(tmp_path, "m1.jpk-force-map", "s1.tif", "m2.jpk-force-map", "s2.tif", "m3.jpk-force-map")
    csv = tmp_path / "pairs.csv"
    csv.write_text("sample,afm,fluorescence,condition,donor\nA,m1.jpk-force-map,s1.tif,ctrl,d1\n"
                   f"B,{tmp_path / 'm2.jpk-force-map'},s2.tif,drug,d2\n")  # fmt: skip
    pairing = read_pairs_csv(csv, tmp_path)
    assert [p.sample for p in pairing.pairs] == ["A", "B"]
    assert pairing.pairs[1].extra == {"condition": "drug", "donor": "d2"}
    assert pairing.extra_columns == ("condition", "donor")
    assert [p.name for p, _ in pairing.unpaired] == ["m3.jpk-force-map"]
    for text, needle in (
        ("sample,afm\nA,m1.jpk-force-map\n", "missing ['fluorescence']"),
        ("sample,afm,fluorescence\nA,m1.jpk-force-map,nope.tif\n", "nope.tif"),
        ("sample,afm,fluorescence\nA,m1.jpk-force-map,s1.tif\nA,m2.jpk-force-map,s2.tif", "twice"),
        ("sample,afm,fluorescence\n../x,m1.jpk-force-map,s1.tif\n", "'../x'"),
        ("sample,afm,fluorescence\n", "one row per sample"),
    ):  # fmt: skip
        csv.write_text(text)
        with pytest.raises(ConfigError, match=re.escape(needle)):
            read_pairs_csv(csv, tmp_path)


# ------------------------------------------------------------------------------------------
# one batch: isolation, outputs, resuming


def test_bad_samples_are_reported_and_the_rest_finishes(reference, batch_input):
    out, code = reference
    assert code == EXIT_SOME_FAILED
    report = _report(out)
    rows = {s["sample"]: s for s in report["samples"]}
    assert sorted(rows) == sorted(GOOD + BAD)
    assert "trunc.jpk-force-map" in rows["trunc"]["error"] and "truncated" in rows["trunc"]["error"]
    assert "channel" in rows["nochan"]["error"] and "--nucleus-channel" in rows["nochan"]["error"]
    for name in BAD:
        assert rows[name]["status"] == "failed" and "\n" not in rows[name]["error"]
        assert not (out / name).exists() and rows[name]["report"] is None
    for name in GOOD:
        row = rows[name]
        assert row["status"] in ("ok", "needs_review") and row["error"] == ""
        assert row["needs_review"] == (row["status"] == "needs_review")
        assert row["needs_review"] == (not row["registration_accepted"])
        assert row["n_curves"] == 144 and row["n_cells"] >= 1 and row["timing_s"]["total"] > 0
        assert (out / row["report"]).is_file()
    assert [u["path"] for u in report["unpaired"]] == [
        str(batch_input / "lonely-map.jpk-force-map")
    ]
    assert report["counts"]["failed"] == 2 and report["exit_code"] == EXIT_SOME_FAILED


def test_combined_tables_stack_every_finished_sample(reference):
    out, _ = reference
    cells, curves = pd.read_parquet(out / "cells.parquet"), pd.read_parquet(out / "curves.parquet")
    assert list(cells.columns[:1]) == ["sample"] == list(curves.columns[:1])
    for name in GOOD:
        own_cells = pd.read_parquet(out / name / "cells.parquet")
        own_curves = pd.read_parquet(out / name / "curves.parquet")
        pd.testing.assert_frame_equal(
            cells[cells["sample"] == name].drop(columns="sample").reset_index(drop=True),
            own_cells,
        )
        pd.testing.assert_frame_equal(
            curves[curves["sample"] == name].drop(columns="sample").reset_index(drop=True),
            own_curves,
        )
    assert set(curves["sample"]) == set(GOOD)
    assert "youngs_modulus_median_kpa" in pd.read_csv(out / "cells.csv").columns
    report = _report(out)
    for name, digest in report["outputs"].items():
        assert file_sha256(out / name) == digest
    html = (out / "batch_report.html").read_text()
    assert 'href="a/report.html"' in html and "data:image/png;base64," in html
    assert "trunc" in html and "truncated" in html and "lonely-map" in html
    reloaded = make_settings(load_config(out / "config.toml", STAGES))
    assert reloaded.to_dict() == make_settings().to_dict()


def test_second_run_skips_everything_done(reference, batch_input, tmp_path):
    ref, _ = reference
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    before = _mtimes(out)
    assert _batch(batch_input, out, "--scheduler", "synchronous") == EXIT_SOME_FAILED
    status = _status(out)
    assert {status[n] for n in GOOD} == {"skipped"} and {status[n] for n in BAD} == {"failed"}
    assert _mtimes(out) == before  # nothing recomputed or rewritten
    needs = {s["sample"]: s["needs_review"] for s in _report(ref)["samples"]}
    assert {s["sample"]: s["needs_review"] for s in _report(out)["samples"]} == needs
    _assert_same_tables(out, ref)


def test_deleted_or_damaged_sample_reruns_alone(reference, batch_input, tmp_path):
    ref, _ = reference
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    shutil.rmtree(out / "b")
    with open(out / "c" / "cells.csv", "a") as fh:  # damaged: its hash no longer matches
        fh.write("garbage\n")
    before = _mtimes(out)
    _batch(batch_input, out, "--scheduler", "synchronous")
    status = _status(out)
    assert status["a"] == "skipped"
    assert status["b"] != "skipped" and status["c"] != "skipped"
    after = _mtimes(out)
    assert all(after[k] == v for k, v in before.items() if k.startswith("a/"))
    _assert_same_tables(out, ref)


def _only_a(tmp_path: Path) -> Path:
    csv = tmp_path / "pairs.csv"
    csv.write_text("sample,afm,fluorescence\na,a.jpk-force-map,a.ome.tif\n")
    return csv


def test_force_recomputes(reference, batch_input, tmp_path):
    ref, _ = reference
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    before = (out / "a" / "run.json").stat().st_mtime_ns
    _batch(batch_input, out, "--pairs", str(_only_a(tmp_path)), "--scheduler", "synchronous",
           "--force")  # fmt: skip
    assert _status(out)["a"] in ("ok", "needs_review")
    assert (out / "a" / "run.json").stat().st_mtime_ns != before
    for name in ("cells.parquet", "curves.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / "a" / name), pd.read_parquet(ref / "a" / name), check_exact=True
        )


def test_changed_options_recompute(reference, batch_input, tmp_path):
    ref, _ = reference
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    csv = str(_only_a(tmp_path))
    _batch(
        batch_input, out, "--pairs", csv, "--scheduler", "synchronous", "--poisson-ratio", "0.45"
    )
    assert _status(out)["a"] in ("ok", "needs_review")
    moduli = [
        pd.read_parquet(o / "a" / "cells.parquet")["youngs_modulus_median_pa"] for o in (out, ref)
    ]
    assert not moduli[0].equals(moduli[1])
    assert make_settings(load_config(out / "config.toml", STAGES)).fit.poisson_ratio == 0.45


def test_killed_run_resumes_to_the_same_tables(reference, batch_input, tmp_path):
    ref, _ = reference
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "cellmech", "batch", str(batch_input), "-o", str(out)]
    proc = subprocess.Popen(
        [*cmd, "-q", "--scheduler", "synchronous"],
        env=_env(),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not any((out / n / "run.json").exists() for n in GOOD):
            assert proc.poll() is None and time.monotonic() < deadline, "no sample finished"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the group of the process started here
        proc.wait(timeout=30)
    done = [n for n in GOOD if (out / n / "run.json").exists()]
    assert 1 <= len(done) < len(GOOD)
    assert not any((out / n).exists() for n in ("cells.csv", "curves.parquet", "batch_report.json"))
    assert _batch(batch_input, out, "--scheduler", "synchronous") == EXIT_SOME_FAILED
    assert all(_status(out)[n] == "skipped" for n in done)
    _assert_same_tables(out, ref)


def test_dry_run_prints_the_plan_and_writes_nothing(reference, batch_input, tmp_path, capsys):
    ref, _ = reference
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    (out / "a" / "report.html").unlink()
    before = sorted(p.name for p in out.iterdir())
    assert _batch(batch_input, out, "--dry-run") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "run   a: a.jpk-force-map + a.ome.tif" in lines
    assert any(line.startswith("skip  b:") for line in lines)
    assert any(line.startswith("run   trunc:") for line in lines)
    assert any(line.startswith("unpaired lonely-map.jpk-force-map") for line in lines)
    assert sorted(p.name for p in out.iterdir()) == before


def test_pairs_csv_columns_reach_the_tables(reference, batch_input, tmp_path):
    ref, _ = reference
    out = tmp_path / "out"
    shutil.copytree(ref, out)  # a and b are up to date: they are skipped
    csv = tmp_path / "pairs.csv"
    csv.write_text("sample,afm,fluorescence,condition\na,a.jpk-force-map,a.ome.tif,ctrl\n"
                   "b,b.jpk-force-map,b.ome.tif,drug\n")  # fmt: skip
    code = _batch(batch_input, out, "--pairs", str(csv), "--scheduler", "synchronous")
    assert code == EXIT_NEEDS_REVIEW  # the files the CSV leaves out are unpaired
    cells = pd.read_parquet(out / "cells.parquet")
    assert list(cells.columns[:2]) == ["sample", "condition"]
    assert dict(zip(cells["sample"], cells["condition"], strict=True)) == {"a": "ctrl", "b": "drug"}
    curves = pd.read_parquet(out / "curves.parquet")
    assert set(curves.groupby("sample")["condition"].first().items()) == {
        ("a", "ctrl"),
        ("b", "drug"),
    }
    assert "per condition" in (out / "batch_report.html").read_text()


def test_bad_input_runs_nothing(batch_input, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _batch(empty, tmp_path / "o1") == EXIT_BAD_INPUT
    csv = tmp_path / "pairs.csv"
    csv.write_text("sample,afm\nx,a.jpk-force-map\n")
    assert _batch(batch_input, tmp_path / "o2", "--pairs", str(csv)) == EXIT_BAD_INPUT
    config = tmp_path / "c.toml"
    config.write_text("[fit]\nno_such_key = 1\n")
    assert _batch(batch_input, tmp_path / "o3", "--config", str(config)) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "no AFM map pairs" in err and "missing ['fluorescence']" in err and "no_such_key" in err
    assert not any((tmp_path / o).exists() for o in ("o1", "o2", "o3"))


# ------------------------------------------------------------------------------------------
# Dask engines


@pytest.mark.slow
def test_local_cluster_of_processes_gives_the_same_tables(reference, batch_input, tmp_path):
    ref, _ = reference
    out = tmp_path / "out"
    code = _batch(batch_input, out, "--scheduler", "processes", "--workers", "2")
    assert code == EXIT_SOME_FAILED
    assert "2 worker processes" in _report(out)["engine"]
    assert _status(out) == _status(ref)
    _assert_same_tables(out, ref)


def _start(args: list[str], log: Path) -> subprocess.Popen:
    """``python -m *args`` with its output in ``log`` (a file: a full pipe would block it)."""
    with open(log, "w") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", *args], env=_env(), cwd=REPO_ROOT, stdout=fh, stderr=fh
        )


def _scheduler_address(proc: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"Scheduler at:\s+(tcp://127\.0\.0\.1:\d+)", log.read_text())
        if found:
            return found.group(1)
        assert proc.poll() is None, f"the scheduler exited: {log.read_text()}"
        time.sleep(0.1)
    raise AssertionError("the scheduler printed no address")


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        proc.terminate()
    for proc in reversed(procs):
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_scheduler_address_gives_the_same_tables(reference, batch_input, tmp_path):
    from distributed import Client

    ref, _ = reference
    out = tmp_path / "out"
    scheduler = ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0"]
    procs = [_start([*scheduler, "--no-dashboard"], tmp_path / "scheduler.log")]
    try:
        address = _scheduler_address(procs[0], tmp_path / "scheduler.log")
        worker = ["distributed.cli.dask_worker", address, "--nworkers", "2", "--nthreads", "1"]
        worker += ["--host", "127.0.0.1", "--no-dashboard"]
        procs.append(_start(worker, tmp_path / "worker.log"))
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        assert _batch(batch_input, out, "--scheduler", address) == EXIT_SOME_FAILED
    finally:
        _stop(procs)
    assert address in _report(out)["engine"]
    assert _status(out) == _status(ref)
    _assert_same_tables(out, ref)


def _die_on_boom(pair: Pair) -> SampleOutcome:
    """A task that kills its worker process for the sample named "boom"."""
    if pair.sample == "boom":
        os._exit(1)
    return SampleOutcome(pair.sample, "ok")


@pytest.mark.slow
def test_a_dead_worker_fails_its_sample_not_the_batch(tmp_path):
    pairs = [Pair(n, tmp_path / n, tmp_path / n) for n in ("first", "boom", "last")]
    seen = []
    with engine("processes", 1, None, len(pairs)) as eng:
        run_on_client(eng.client, pairs, _die_on_boom, (), {}, 2, seen.append, eng.retry_lost)
    got = {o.sample: o for o in seen}
    assert got["first"].status == got["last"].status == "ok"
    assert got["boom"].status == "failed" and "worker running this sample died" in got["boom"].error


def test_a_bad_scheduler_keeps_the_previous_outputs(reference, batch_input, tmp_path, capsys):
    ref, _ = reference
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    before = _mtimes(out) | {"report": (out / "batch_report.json").stat().st_mtime_ns}
    assert _batch(batch_input, out, "--scheduler", "slurm") == EXIT_BAD_INPUT
    assert _batch(batch_input, out, "--scheduler", "tcp://127.0.0.1:1", "--workers", "2") == 2
    err = capsys.readouterr().err
    assert "--scheduler 'slurm'" in err and "--workers applies to local runs" in err
    assert _mtimes(out) | {"report": (out / "batch_report.json").stat().st_mtime_ns} == before
