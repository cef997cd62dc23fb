"""The kernels compiled ahead of time into an extension module, cached per machine.

numba's JIT costs every process about a second before its first kernel runs (importing numba,
initialising its type system and target, loading the cached machine code; measured with
cProfile), which is most of what a small ``cellmech fit`` takes. The same kernel sources,
compiled once by ``numba.pycc`` into a CPython extension module for this machine's CPU, load
in milliseconds without importing numba. Their exports are the kernel modules' ``KERNELS``
tables (one signature each), so the two builds run the same code and give bitwise the same
results (``tests/test_native_kernels.py``). The extension runs serially and holds the GIL,
hence it is used only where one thread at a time calls kernels
(:func:`cellmech.runtime.one_kernel_at_a_time`).

The build runs once, in a child process (``python -m cellmech.kernels.native FOLDER``, about
half a minute), the first time a run needs it, and needs a C compiler (numba.pycc builds
through setuptools). It is cached under ``$XDG_CACHE_HOME/cellmech/kernels`` (default
``~/.cache/cellmech/kernels``) in a folder named after a hash of the kernel sources, the
Python, NumPy and numba versions and the CPU, so an edited kernel, a new numba or another
machine sharing the home folder gets its own build. Where the build fails (no compiler, no
Python headers, unwritable cache) a ``failed`` note with the compiler's last words is left in
that folder, and runs use numba's JIT as before; delete the folder to try again. Setting
``CELLMECH_NATIVE_KERNELS=0`` always uses the JIT.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import logging
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from cellmech.kernels import COMPILED

__all__ = ["build", "build_folder", "load"]

#: name of the extension module (its PyInit_ symbol); the file lives in a per-build folder
MODULE_NAME = "_cellmech_kernels"
#: environment variable that turns the native build off ("0")
SWITCH = "CELLMECH_NATIVE_KERNELS"
#: seconds the build may take before it counts as failed
BUILD_TIMEOUT_S = 900
_LOG = logging.getLogger("cellmech")


def _cpu_fingerprint() -> str:
    """Model and feature flags of this CPU (the build targets it), or what platform says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            text = fh.read(1 << 16)
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    wanted = ("model name", "flags", "Features", "CPU part")
    return (
        "\n".join(sorted({line for line in text.splitlines() if line.startswith(wanted)}))
        or platform.machine()
    )


def _build_key() -> str:
    """Hash of everything the machine code depends on: sources, versions, CPU."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in (*COMPILED, "cellmech.kernels.jit", "cellmech.kernels.native"):
        digest.update((here / f"{name.rpartition('.')[2]}.py").read_bytes())
    import numpy

    versions = (sys.version, numpy.__version__, importlib.metadata.version("numba"))
    digest.update(repr(versions).encode())
    digest.update(_cpu_fingerprint().encode())
    return digest.hexdigest()[:16]


def build_folder() -> Path:
    """Folder of this machine's native build (it may not exist yet)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "cellmech" / "kernels" / _build_key()


def _module_file(folder: Path) -> Path:
    return folder / (MODULE_NAME + importlib.machinery.EXTENSION_SUFFIXES[0])


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def load() -> ModuleType | None:
    """The native kernel module, built first if needed; None where it cannot be built."""
    if os.environ.get(SWITCH, "1") == "0":
        return None
    try:
        folder = build_folder()
        target = _module_file(folder)
        if not target.exists() and not (folder / "failed").exists():
            _build_in_child(folder, target)
        return _import(target) if target.exists() else None
    except (OSError, ImportError) as exc:  # unwritable cache, a build for another ABI ...
        _LOG.debug("cellmech: native kernels unavailable (%s); using numba's JIT", exc)
        return None


def _build_in_child(folder: Path, target: Path) -> None:
    """Build into a private folder beside ``folder``, then move the module in atomically
    (concurrent first runs each build and the last move wins; a reader never sees half a
    file). A failed build leaves ``folder/failed``."""
    folder.mkdir(parents=True, exist_ok=True)
    _LOG.info("cellmech: compiling the kernels for this machine (once, about half a minute)")
    with tempfile.TemporaryDirectory(prefix=".build-", dir=folder.parent) as work:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "cellmech.kernels.native", work],
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
                check=False,
                env={**os.environ, SWITCH: "0"},
            )
            built = _module_file(Path(work))
            ok = done.returncode == 0 and built.exists()
            why = (done.stderr or done.stdout).strip().splitlines()[-20:]
        except subprocess.TimeoutExpired:
            ok, why = False, [f"the build took over {BUILD_TIMEOUT_S} s"]
        if ok:
            os.replace(built, target)
            return
    (folder / "failed").write_text(
        "numba.pycc could not build cellmech's kernels here; runs use numba's JIT. Delete "
        "this folder to try again.\n\n" + "\n".join(why) + "\n",
        encoding="utf-8",
    )
    _LOG.debug("cellmech: native kernel build failed (see %s)", folder / "failed")


def build(folder: str | Path) -> Path:
    """Compile the kernels of :data:`cellmech.kernels.COMPILED` into ``folder`` (numba.pycc)
    and return the module's path. Runs numba's compiler: call it in a child process."""
    from cellmech.kernels import jit

    jit.eager = False  # no JIT copy of the kernels: pycc compiles their Python functions
    from numba.pycc import CC

    cc = CC(MODULE_NAME)
    cc.output_dir = str(folder)
    cc.output_file = _module_file(Path(folder)).name
    cc.target_cpu = "host"
    for module_name in COMPILED:
        for dispatcher, signature in importlib.import_module(module_name).KERNELS:
            cc.export(dispatcher.__name__, signature)(dispatcher.py_func)
    cc.compile()
    return _module_file(Path(folder))


if __name__ == "__main__":
    build(sys.argv[1])
