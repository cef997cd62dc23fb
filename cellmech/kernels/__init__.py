"""Compiled kernels: :mod:`.precore` (preprocessing scans), :mod:`.fitcore` (the contact-model
fit) and :mod:`.statcore` (status tests), written for numba; :mod:`.curvemath` (NumPy helpers
on padded curve blocks).

Two builds of the same kernel sources exist. numba's JIT (:mod:`.jit`) runs them parallel over
curves; :mod:`.native` compiles them ahead of time into an extension module, cached per
machine, that a run calling one kernel at a time on one thread loads in milliseconds without
importing numba. :func:`cellmech.runtime.kernel` chooses between them per call. Importing this
package imports neither.
"""

#: the modules of compiled kernels; each ends with its table ``KERNELS`` of public kernels
COMPILED = ("cellmech.kernels.precore", "cellmech.kernels.fitcore", "cellmech.kernels.statcore")
#: fewest fit points (three parameters plus two, as nanite requires)
MIN_FIT_POINTS = 5
