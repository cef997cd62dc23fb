"""Read-only installs: commands that do not fit never import numba, and where numba cannot
write its cache the kernels still compile (uncached) with one warning.

An unwritable cache is simulated by restricting numba to the user-provided cache locator and
pointing ``NUMBA_CACHE_DIR`` below a regular file (root may write anywhere else)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "sample.jpk-force-map"
NO_CACHE = {"NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator"}


def _python(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environ,
        timeout=600,
        check=False,
    )


CLI = """
import sys
from cellmech.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("numba imported:", "numba" in sys.modules)
sys.exit(code)
"""


@pytest.mark.parametrize("argv", [["--version"], ["formats"], ["info", str(SAMPLE)], ["models"]])
def test_commands_that_do_not_fit_never_import_numba(argv, tmp_path):
    env = {**NO_CACHE, "NUMBA_CACHE_DIR": str(tmp_path / "file" / "cache")}
    (tmp_path / "file").write_text("a file, not a folder")
    done = _python(CLI, *argv, env=env)
    assert done.returncode == 0, done.stderr
    assert "numba imported: False" in done.stdout
    assert done.stderr == ""


def test_kernels_compile_uncached_with_one_warning(tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    env = {**NO_CACHE, "NUMBA_CACHE_DIR": str(tmp_path / "file" / "cache")}
    code = (
        "import numpy as np\n"
        "from cellmech.kernels.precore import argmax_valid\n"
        "print(argmax_valid(np.array([[1.0, 3.0, 2.0], [5.0, 1.0, 9.0]]), np.array([3, 2])))\n"
    )
    done = _python(code, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[1", "0]"]
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "numba cannot write its cache" in lines[0]


@pytest.mark.slow
def test_fit_runs_with_an_unwritable_numba_cache(tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    env = {**NO_CACHE, "NUMBA_CACHE_DIR": str(tmp_path / "file" / "cache")}
    real = (
        ROOT.parent / "shared" / "data" / "real-afm" / "fmt-jpk-fd_map2x2_extracted.jpk-force-map"
    )
    if not real.exists():
        pytest.skip(f"real AFM data not available: {real}")
    env["CELLMECH_NATIVE_KERNELS"] = "0"  # the JIT is what needs numba's cache
    done = _python(CLI, "fit", str(real), "-o", str(tmp_path / "out"), env=env)
    assert done.returncode == 0, done.stderr
    assert "4 curves fitted (4 ok)" in done.stdout
    assert len(done.stderr.splitlines()) == 1
