"""Frozen, validated containers that the stages pass to each other.

Every container is complete when built and validated on construction; arrays are made
read-only so no stage can mutate its input. Units are SI (m, N, s, Pa) and array axes of maps
are (row, col) unless stated. One module per domain: :mod:`.curves` (force maps and curves),
:mod:`.results` (fit results), :mod:`.images` (fluorescence stacks),
:mod:`.tables` (measurement: curve assignment, substrate plane, per-cell table).
"""

from cellmech.containers._base import FrozenMapping
from cellmech.containers.curves import (
    CurveBlock,
    CurveSegment,
    ForceMap,
    GridGeometry,
    IndentationCurves,
    in_memory_loader,
)
from cellmech.containers.images import FluorescenceStack, Segmentation
from cellmech.containers.registration import Registration
from cellmech.containers.results import FitResult
from cellmech.containers.status import CurveStatus
from cellmech.containers.tables import COMPARTMENTS, CellTable, CurveAssignment, SubstratePlane

__all__ = [
    "COMPARTMENTS",
    "CellTable",
    "CurveAssignment",
    "CurveBlock",
    "CurveSegment",
    "CurveStatus",
    "FitResult",
    "FluorescenceStack",
    "ForceMap",
    "FrozenMapping",
    "GridGeometry",
    "IndentationCurves",
    "Registration",
    "Segmentation",
    "SubstratePlane",
    "in_memory_loader",
]
