"""The kernels compiled ahead of time into an extension module, cached per machine.

numba's JIT costs every process about a second before its first kernel runs (importing numba,
initialising its type system and target, loading the cached machine code; measured with
cProfile), which is most of what a small ``cellmech fit`` takes. The same kernel sources,
compiled once by ``numba.pycc`` into a CPython extension module (:mod:`.nativebuild`), load
in milliseconds without importing numba. Their exports are the kernel modules' ``KERNELS``
tables (one signature each), so the two builds run the same code and give bitwise the same
results (``tests/test_native_kernels.py``). The extension runs serially and holds the GIL,
hence it is used only where one thread at a time calls kernels
(:func:`cellmech.runtime.one_kernel_at_a_time`). It checks no argument types itself, so
every call is checked here against the signatures the build recorded (a wrong dtype raises
TypeError, as the JIT does, instead of reading memory wrongly).

The build runs once, in a child process (about half a minute), the first time a run needs it,
and needs a C compiler (numba.pycc builds through setuptools). It is cached under
``$XDG_CACHE_HOME/cellmech/kernels`` (default ``~/.cache/cellmech/kernels``) in a folder named
after a hash of the kernel package's sources, the Python, NumPy and numba versions, numba's
code-generation settings and the CPU, so an edited kernel, a new numba or another machine
sharing the home folder gets its own build. One process builds while the others use the JIT
(a lock file). A failed build (no compiler, no Python headers, a kernel that crashes on its
smoke test) leaves a ``failed`` note with the last words of the build in that folder; runs
use numba's JIT and try again a day later (or once the folder is deleted). Where the cache
cannot be written at all, runs use the JIT. ``CELLMECH_NATIVE_KERNELS=0`` always uses the JIT.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np

__all__ = ["build_folder", "build_key", "cpu_info_lines", "import_module", "load", "module_file"]

#: name of the extension module (its PyInit_ symbol); the file lives in a per-build folder
MODULE_NAME = "_cellmech_kernels"
#: the argument types of every export, written by the build beside the module
SIGNATURES = "signatures.json"
#: environment variable that turns the native build off ("0")
SWITCH = "CELLMECH_NATIVE_KERNELS"
#: numba settings that change the machine code the build makes (part of the key)
CODEGEN_SETTINGS = ("NUMBA_OPT", "NUMBA_BOUNDSCHECK", "NUMBA_DEBUGINFO", "NUMBA_CPU_NAME")
#: seconds the build may take before it counts as failed, and before a failed one is retried
BUILD_TIMEOUT_S = 900
RETRY_AFTER_S = 86_400
_LOG = logging.getLogger("cellmech")
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def cpu_info_lines(*prefixes: str) -> set[str]:
    """The distinct lines of /proc/cpuinfo starting with ``prefixes`` (empty where there is
    no such file: not Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    return {line for line in text.splitlines() if line.startswith(prefixes)}


def _cpu_fingerprint() -> str:
    """Model and feature flags of this CPU (the build targets them), or what platform says."""
    lines = cpu_info_lines("model name", "flags", "Features", "CPU part")
    return "\n".join(sorted(lines)) or f"{platform.machine()} {platform.processor()}"


def build_key() -> str:
    """Hash of everything the machine code depends on: the kernel package's sources, the
    Python, NumPy and numba versions, numba's code-generation settings and the CPU."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    versions = (sys.version, np.__version__, importlib.metadata.version("numba"))
    settings = tuple((name, os.environ.get(name)) for name in CODEGEN_SETTINGS)
    digest.update(repr((versions, settings)).encode())
    digest.update(_cpu_fingerprint().encode())
    return digest.hexdigest()[:16]


def build_folder() -> Path:
    """Folder of this machine's native build (it may not exist yet)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "cellmech" / "kernels" / build_key()


def module_file(folder: Path) -> Path:
    """Path of the extension module in a build folder."""
    return folder / (MODULE_NAME + importlib.machinery.EXTENSION_SUFFIXES[0])


@functools.cache
def load() -> SimpleNamespace | None:
    """The native kernels (argument-checked), built first if needed; None where there are
    none for this machine: the caller then uses numba's JIT."""
    if os.environ.get(SWITCH, "1") == "0":
        return None
    try:
        folder = build_folder()
        target = module_file(folder)
        note = folder / "failed"
        if not target.exists() and not (note.exists() and _recent(note)):
            _build_in_child(folder, target)
        return _checked(target) if target.exists() else None
    except Exception as exc:  # an unwritable cache, no home folder, a module that won't load
        _LOG.debug("cellmech: native kernels unavailable (%s); using numba's JIT", exc)
        return None


def _recent(path: Path) -> bool:
    return time.time() - path.stat().st_mtime < RETRY_AFTER_S


def import_module(target: Path) -> ModuleType:
    """The extension module at ``target`` (not registered in ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location(MODULE_NAME, target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _checked(target: Path) -> SimpleNamespace:
    """The module's exports, each wrapped in a check of its arguments against the recorded
    signature."""
    module = import_module(target)
    signatures = json.loads((target.parent / SIGNATURES).read_text(encoding="utf-8"))
    checked = {
        name: _with_check(getattr(module, name), name, args) for name, args in signatures.items()
    }
    return SimpleNamespace(**checked)


def _with_check(function: Callable, name: str, specs: list) -> Callable:
    def call(*args):
        if len(args) != len(specs) or not all(map(_matches, args, specs)):
            raise TypeError(f"{name}: arguments do not match its compiled signature {specs}")
        return function(*args)

    call.__name__ = name
    return call


def _matches(value, spec: list) -> bool:
    """Whether ``value`` is what the compiled signature ``spec`` (see
    :func:`cellmech.kernels.nativebuild.argument_spec`) expects."""
    kind = spec[0]
    if kind == "array":
        return (
            isinstance(value, np.ndarray)
            and value.dtype == np.dtype(spec[1])
            and value.ndim == spec[2]
            and (value.flags.writeable or not spec[3])
        )
    if kind == "tuple":
        return (
            isinstance(value, tuple)
            and len(value) == len(spec[1])
            and all(map(_matches, value, spec[1]))
        )
    if isinstance(value, bool | np.bool_):
        return kind == "bool"
    if kind == "int":
        return isinstance(value, int | np.integer)
    return kind == "float" and isinstance(value, int | float | np.integer | np.floating)


def _build_in_child(folder: Path, target: Path) -> None:
    """Build in a child process, in a private folder beside ``folder``, then move the result
    in (the module last, so its presence means a complete build). The child imports this
    very cellmech (its package root first on the path, run away from the working folder) and
    refuses to build for another key. One process builds; others find the lock taken and use
    the JIT meanwhile. A failed build leaves ``folder/failed``."""
    folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder / ".lock") as mine:
        if not mine or target.exists():
            return
        _LOG.info("cellmech: compiling the kernels for this machine (once, about half a minute)")
        with tempfile.TemporaryDirectory(prefix=".build-", dir=folder.parent) as work:
            path = os.pathsep.join(filter(None, (str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH"))))
            try:
                done = subprocess.run(
                    [sys.executable, "-m", "cellmech.kernels.nativebuild", work, build_key()],
                    capture_output=True,
                    text=True,
                    timeout=BUILD_TIMEOUT_S,
                    check=False,
                    cwd=work,
                    env={**os.environ, SWITCH: "0", "PYTHONPATH": path},
                )
                ok = done.returncode == 0 and module_file(Path(work)).exists()
                why = (done.stderr or done.stdout).strip().splitlines()[-20:]
            except subprocess.TimeoutExpired:
                ok, why = False, [f"the build took over {BUILD_TIMEOUT_S} s"]
            if ok:
                os.replace(Path(work) / SIGNATURES, folder / SIGNATURES)
                os.replace(module_file(Path(work)), target)
                (folder / "failed").unlink(missing_ok=True)
                return
        (folder / "failed").write_text(
            "numba.pycc could not build cellmech's kernels here; runs use numba's JIT and try "
            "again a day later (or once this folder is deleted).\n\n" + "\n".join(why) + "\n",
            encoding="utf-8",
        )
        _LOG.debug("cellmech: native kernel build failed (see %s)", folder / "failed")


class _exclusive:
    """Non-blocking exclusive lock on a file (``fcntl``; always granted where there is none):
    ``with _exclusive(path) as mine``."""

    def __init__(self, path: Path) -> None:
        self.path, self.handle = path, None

    def __enter__(self) -> bool:
        try:
            import fcntl
        except ImportError:  # not POSIX: concurrent builds each finish with an atomic move
            return True
        self.handle = open(self.path, "a")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            self.handle.close()  # releases the lock
