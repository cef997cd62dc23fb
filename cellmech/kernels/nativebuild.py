"""The ahead-of-time build of the kernels, run in a child process by :mod:`.native`:

    python -m cellmech.kernels.nativebuild FOLDER KEY

compiles every kernel of :data:`cellmech.kernels.COMPILED` (their ``KERNELS`` tables) with
``numba.pycc`` into ``FOLDER``, writes the argument types of every export
(:func:`argument_spec`) beside it, then runs every kernel once on small consistent inputs so a
build whose machine code cannot run here fails here, not in a user's run. It refuses to build
when this interpreter's sources do not hash to ``KEY`` (another copy of cellmech on the path).

The code targets the x86-64-v3 level (AVX2, FMA, BMI2 ...) where the CPU reports all of its
features, else the architecture's baseline. Not the host's model name: numba's AOT code
generator passes a model name without the host's feature list, so LLVM would assume every
feature of that model, including ones a virtual machine masks (AVX-512), and crash there.
Measured on this project's machine (256 synthetic curves, fit and assemble kernels): x86-64-v3
as fast as the host model (0.162 s / 0.099 s against 0.161 s / 0.098 s), baseline 7 % slower;
results bitwise equal in all three.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
from pathlib import Path

import numpy as np

from cellmech.kernels import COMPILED
from cellmech.kernels.native import (
    MODULE_NAME,
    SIGNATURES,
    build_key,
    cpu_info_lines,
    import_module,
    module_file,
)

__all__ = ["argument_spec", "build"]

#: /proc/cpuinfo flags of the x86-64-v3 level (LLVM's CPU name "x86-64-v3")
X86_64_V3 = {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}
#: rows and columns of the smoke test's arrays, and its lengths, indices and counts
SMOKE_ROWS, SMOKE_COLUMNS, SMOKE_COUNT = 40, 64, 32


def _target_cpu() -> str:
    if platform.machine() not in ("x86_64", "AMD64"):
        return ""
    flags = set().union(*(line.partition(":")[2].split() for line in cpu_info_lines("flags")))
    return "x86-64-v3" if flags >= X86_64_V3 else ""


def argument_spec(numba_type) -> list:
    """JSON-ready description of one argument type: ``["array", dtype, ndim, writable]``,
    ``["tuple", [items]]``, ``["bool"]``, ``["int"]`` or ``["float"]``."""
    from numba.core import types

    if isinstance(numba_type, types.Array):
        return ["array", str(numba_type.dtype), numba_type.ndim, numba_type.mutable]
    if isinstance(numba_type, types.BaseTuple):
        return ["tuple", [argument_spec(item) for item in numba_type.types]]
    if isinstance(numba_type, types.Boolean):
        return ["bool"]
    if isinstance(numba_type, types.Integer):
        return ["int"]
    if isinstance(numba_type, types.Float):
        return ["float"]
    raise TypeError(f"no native argument type for {numba_type}")


def _smoke_value(spec: list):
    """A small input of ``spec`` that every kernel accepts: (40, 64) arrays of positive values,
    vectors of 40, lengths, indices and counts 32 (within every array), flags True."""
    kind = spec[0]
    if kind == "array":
        shape = (SMOKE_ROWS, SMOKE_COLUMNS)[: spec[2]]
        if spec[1] == "float64":
            return 1.5 + np.sin(np.arange(np.prod(shape), dtype=float)).reshape(shape)
        return np.full(shape, SMOKE_COUNT, dtype=spec[1])
    if kind == "tuple":
        return tuple(_smoke_value(item) for item in spec[1])
    return {"bool": True, "int": SMOKE_COUNT, "float": 0.5}[kind]


def build(folder: str | Path) -> Path:
    """Compile the kernels into ``folder``, record their signatures, smoke-test them; return
    the module's path. Runs numba's compiler: call it in a child process."""
    from cellmech.kernels import jit

    jit.eager = False  # no JIT copy of the kernels: pycc compiles their Python functions
    from numba.pycc import CC

    folder = Path(folder)
    cc = CC(MODULE_NAME)
    cc.output_dir = str(folder)
    cc.output_file = module_file(folder).name
    cc.target_cpu = _target_cpu()
    signatures = {}
    for module_name in COMPILED:
        for dispatcher, signature in importlib.import_module(module_name).KERNELS:
            cc.export(dispatcher.__name__, signature)(dispatcher.py_func)
            signatures[dispatcher.__name__] = [argument_spec(a) for a in signature.args]
    cc.compile()
    (folder / SIGNATURES).write_text(json.dumps(signatures), encoding="utf-8")
    _smoke_test(folder, signatures)
    return module_file(folder)


def _smoke_test(folder: Path, signatures: dict) -> None:
    module = import_module(module_file(folder))
    for name, args in signatures.items():
        getattr(module, name)(*(_smoke_value(a) for a in args))


if __name__ == "__main__":
    if build_key() != sys.argv[2]:
        sys.exit(f"this interpreter's cellmech ({__file__}) is not the one to build for")
    build(sys.argv[1])
