"""Explicit signatures of the compiled kernels, compiled together.

Each kernel module ends with :func:`compile_all` over a table of its public kernels and
their one signature, so numba compiles (or loads from its cache) every kernel when the module
is first imported, never one by one in the middle of a run when an option first calls a
kernel or passes an array of another kind; compiling is then disabled, so no call can start
a compilation. Arrays a kernel only reads are declared read-only: numba passes any float64
array to them without a new compile (a writable array converts to a read-only one, never the
reverse); layout "A" accepts contiguous arrays and views alike.
"""

from collections.abc import Sequence

from numba import types

__all__ = ["BOOL3", "F1", "F2", "F2_OUT", "I1", "STEPS", "compile_all"]

#: read-only float64 arrays (1-D, 2-D) and int64 vector, any layout
F1 = types.Array(types.float64, 1, "A", readonly=True)
F2 = types.Array(types.float64, 2, "A", readonly=True)
I1 = types.Array(types.int64, 1, "A", readonly=True)
#: a float64 2-D array the kernel modifies in place
F2_OUT = types.Array(types.float64, 2, "A")
#: a tuple of three flags
BOOL3 = types.UniTuple(types.boolean, 3)
#: preprocessing steps: (contact estimator code, tilt removal, three flags)
STEPS = types.Tuple((types.int64, types.boolean, BOOL3))


def compile_all(table: Sequence[tuple]) -> None:
    """Compile (or load from the cache) every ``(dispatcher, argument types)`` of ``table``,
    then forbid further compilation of those dispatchers."""
    for dispatcher, args in table:
        dispatcher.compile(tuple(args))
        dispatcher.disable_compile()
