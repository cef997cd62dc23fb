"""The ahead-of-time build of the kernels (:mod:`cellmech.kernels.native`).

It must run exactly the JIT's code: fits through it are bitwise equal to fits through numba's
JIT, for every option that changes which kernel paths run, on synthetic maps and on every real
recording. A one-worker run must never import numba, and a machine that cannot build it
(no C compiler) must still fit, through the JIT.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cellmech.fit import FitOptions
from cellmech.kernels import COMPILED
from cellmech.kernels.native import load
from cellmech.parallel import fit_force_map
from cellmech.preprocess import PreprocessOptions
from cellmech.runtime import ThreadPolicy
from tests.helpers import write_small_map
from tests.test_parallel import assert_same

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
    folder = tmp_path_factory.mktemp("native")
    synthetic = [write_small_map(folder / f"m{seed}.jpk-force-map", seed=seed) for seed in (3, 4)]
    return synthetic + sorted(REAL.glob("*.jpk*"))


@pytest.mark.parametrize("options", list(OPTIONS))
def test_native_fits_equal_jit_fits_bitwise(options, tmp_path_factory):
    assert load() is not None
    pre, fit = OPTIONS[options]
    maps = _maps(tmp_path_factory)
    assert len(maps) > 2 or not REAL.exists()
    fitted = 0
    for path in maps:
        native = fit_force_map(
            path, preprocess_options=pre, fit_options=fit, scheduler="numpy", threads=ONE_THREAD
        )
        jit = fit_force_map(path, preprocess_options=pre, fit_options=fit, scheduler="numpy")
        assert_same(native, jit)
        fitted += np.isfinite(native.youngs_modulus_pa).sum()
    assert fitted >= 80  # the two synthetic maps alone hold 86 curves that touch


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
    assert len(notes) == 1 and "Delete this folder" in notes[0].read_text()
    reference = _fit_in_child(tmp_path / "native", {})
    assert "numba imported: False" in reference.stdout
    table = pd.read_parquet(tmp_path / "out" / "curves.parquet")
    assert table.equals(pd.read_parquet(tmp_path / "native" / "out" / "curves.parquet"))
