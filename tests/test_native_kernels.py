"""The ahead-of-time build of the kernels (:mod:`cellmech.kernels.native`).

It must run exactly the JIT's code: fits through it are bitwise equal to fits through numba's
JIT, for every option that changes which kernel paths run, on synthetic maps and on every real
recording. A one-worker run must never import numba, and a machine that cannot build it
(no C compiler) must still fit, through the JIT.
"""

from __future__ import annotations

import importlib
import os
import pickle
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cellmech.containers import FitResult
from cellmech.errors import CellmechError
from cellmech.fit import FitOptions
from cellmech.kernels import COMPILED, native
from cellmech.kernels.native import load
from cellmech.parallel import fit_force_map
from cellmech.preprocess import PreprocessOptions
from cellmech.runtime import ThreadPolicy

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real-afm"
ONE_THREAD = ThreadPolicy(kernel_threads=1, decoder_threads=1)
OPTIONS = {
    "defaults": (PreprocessOptions(), FitOptions()),
    "piecewise-linear contact, tilt vs time, smoothing": (
        PreprocessOptions(contact_method="piecewise_linear", tilt_axis="time", smooth_window=5),
        FitOptions(weight_cp_m=1e-6),
    ),
    "no tilt, cone, indentation range": (
        PreprocessOptions(tilt_axis="none"),
        FitOptions(
            model="hertz_conical",
            geometry={"half_angle_deg": 20},
            fit_range="indentation",
            range_min_m=0.0,
            range_max_m=0.5e-6,
        ),
    ),
}


def test_the_native_build_exports_every_kernel():
    module = load()
    assert module is not None, "numba.pycc could not build the kernels (is gcc installed?)"
    for name in COMPILED:
        for dispatcher, _ in importlib.import_module(name).KERNELS:
            assert callable(getattr(module, dispatcher.__name__)), dispatcher.__name__


def _maps(tmp_path_factory) -> list[Path]:
    from tests.helpers import write_small_map  # imports numba: not at module level (see below)

    folder = tmp_path_factory.mktemp("native")
    synthetic = [write_small_map(folder / f"m{seed}.jpk-force-map", seed=seed) for seed in (3, 4)]
    return synthetic + sorted(p for p in REAL.glob("*") if p.suffix != ".md")


#: run in a child process that must not import numba (so this module imports no numba either)
NATIVE_FITS = """
import pickle, sys
from cellmech.errors import CellmechError
from cellmech.parallel import fit_force_map
from tests.test_native_kernels import ONE_THREAD, OPTIONS
maps, out = pickle.loads(bytes.fromhex(sys.argv[1])), sys.argv[2]
results = {}
for name, (pre, fit) in OPTIONS.items():
    for path in maps:
        try:
            results[name, path.name] = fit_force_map(
                path, preprocess_options=pre, fit_options=fit, scheduler="numpy", threads=ONE_THREAD
            )
        except CellmechError:
            pass
pickle.dump(results, open(out, "wb"))
print("numba imported:", "numba" in sys.modules)
"""


def test_native_fits_equal_jit_fits_bitwise(tmp_path_factory, tmp_path):
    """Every field of every fit, byte for byte (NaN payloads and signed zeros included), for
    option sets that reach different kernel paths, on synthetic maps and on every real
    recording cellmech reads; the native fits run in a child process that never imports
    numba, so no kernel there can have fallen back to the JIT."""
    assert load() is not None
    maps = _maps(tmp_path_factory)
    done = subprocess.run(
        [sys.executable, "-c", NATIVE_FITS, pickle.dumps(maps).hex(), str(tmp_path / "n.pkl")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "numba imported: False" in done.stdout
    native = pickle.loads((tmp_path / "n.pkl").read_bytes())
    fitted = 0
    for name, (pre, fit) in OPTIONS.items():
        for path in maps:
            try:
                jit = fit_force_map(
                    path, preprocess_options=pre, fit_options=fit, scheduler="numpy"
                )
            except CellmechError:  # a file cellmech refuses: the child must have refused it too
                assert (name, path.name) not in native
                continue
            ours = native[name, path.name]
            assert ours.status.tobytes() == jit.status.tobytes(), (name, path.name)
            for field in FitResult.FLOAT_FIELDS:
                same = getattr(ours, field).tobytes() == getattr(jit, field).tobytes()
                assert same, (name, path.name, field)
            fitted += np.isfinite(jit.youngs_modulus_pa).sum()
    assert fitted >= 3 * 80  # the two synthetic maps alone hold 86 curves that touch


def test_native_kernels_refuse_arguments_of_another_type():
    """numba.pycc's exports check no types; the wrapper does, as the JIT would."""
    kernels = load()
    rows, lengths = np.array([[0.0, 3.0, 1.0], [2.0, 1.0, 5.0]]), np.array([3, 3])
    assert kernels.argmax_valid(rows, lengths).tolist() == [1, 2]
    for args in (
        (rows.astype(np.int64), lengths),
        (rows, lengths.astype(float)),
        (rows[0], lengths),
    ):
        with pytest.raises(TypeError, match="compiled signature"):
            kernels.argmax_valid(*args)


CLI_FIT = """
import sys
from cellmech.cli import main
code = main(sys.argv[1:])
print("numba imported:", "numba" in sys.modules)
sys.exit(code)
"""


def _fit_in_child(tmp_path: Path, env: dict) -> subprocess.CompletedProcess:
    sample = ROOT / "sample_data" / "sample.jpk-force-map"
    argv = ["fit", str(sample), "-o", str(tmp_path / "out"), "-q"]
    argv += ["--workers", "1", "--threads-per-worker", "1"]
    return subprocess.run(
        [sys.executable, "-c", CLI_FIT, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=900,
        check=False,
    )


def test_a_one_worker_fit_never_imports_numba(tmp_path):
    assert load() is not None
    done = _fit_in_child(tmp_path, {})
    assert done.returncode == 0, done.stderr
    assert "numba imported: False" in done.stdout


def test_a_machine_without_compiler_fits_through_the_jit(tmp_path):
    """A build that cannot compile C (CC points at ``false``) leaves its note and the run
    fits with numba's JIT, giving the same table."""
    done = _fit_in_child(tmp_path, {"XDG_CACHE_HOME": str(tmp_path / "cache"), "CC": "false"})
    assert done.returncode == 0, done.stderr
    assert "numba imported: True" in done.stdout
    notes = list((tmp_path / "cache" / "cellmech" / "kernels").glob("*/failed"))
    assert len(notes) == 1 and "once this folder is deleted" in notes[0].read_text()
    reference = _fit_in_child(tmp_path / "native", {})
    assert "numba imported: False" in reference.stdout
    table = pd.read_parquet(tmp_path / "out" / "curves.parquet")
    assert table.equals(pd.read_parquet(tmp_path / "native" / "out" / "curves.parquet"))


def test_a_failed_build_is_retried_a_day_later(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = native.build_folder()
    folder.mkdir(parents=True)
    (folder / "failed").write_text("the compiler's last words")
    attempts = []
    monkeypatch.setattr(native, "_build_in_child", lambda folder, target: attempts.append(folder))
    native.load.cache_clear()
    try:
        assert native.load() is None and attempts == []  # a fresh note: the JIT, no new build
        day_ago = time.time() - native.RETRY_AFTER_S - 1
        os.utime(folder / "failed", (day_ago, day_ago))
        native.load.cache_clear()
        assert native.load() is None and attempts == [folder]
    finally:
        native.load.cache_clear()


def test_one_process_builds_while_the_lock_is_held(tmp_path):
    lock = tmp_path / ".lock"
    with native._exclusive(lock) as first, native._exclusive(lock) as second:
        assert first and not second
    with native._exclusive(lock) as again:
        assert again


def test_glibc_keeps_freed_blocks_for_reuse():
    """The command line's allocator setting (cellmech.runtime.keep_freed_memory) takes on
    glibc, and is skipped elsewhere."""
    from cellmech.runtime import keep_freed_memory

    assert keep_freed_memory() == (platform.libc_ver()[0] == "glibc")
