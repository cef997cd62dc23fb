"""Outputs of the measurement: ``cells.csv``/``cells.parquet`` and the per-curve annotation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cellmech.containers import CellTable, CurveAssignment
from cellmech.outputs.files import write_table_pair
from cellmech.outputs.fit import human_columns
from cellmech.units import M_PER_UM, PA_PER_KPA

__all__ = ["annotate_curve_table", "cell_human_units", "write_cell_tables"]

#: columns added to the curve table, in order
CURVE_COLUMNS = ("cell_id", "compartment", "edge_distance_m", "height_above_substrate_m")


def cell_human_units(table: pd.DataFrame) -> dict[str, tuple[str, float]]:
    """SI column -> (µm/kPa column, divisor) for every Pa, m, m² and m³ column of ``table``."""
    units = {}
    for name in table.columns:
        for suffix, human, divisor in (
            ("_pa", "_kpa", PA_PER_KPA),
            ("_m3", "_um3", M_PER_UM**3),
            ("_m2", "_um2", M_PER_UM**2),
            ("_m", "_um", M_PER_UM),
        ):
            if name.endswith(suffix):
                units[name] = (name[: -len(suffix)] + human, divisor)
                break
    return units


def write_cell_tables(out_dir: str | Path, table: CellTable) -> tuple[Path, Path]:
    """Write ``cells.csv`` (SI columns each followed by its µm/kPa column) and
    ``cells.parquet`` (SI columns only) to ``out_dir``, atomically."""
    frame = table.to_frame()
    human = human_columns(frame, cell_human_units(frame))
    return write_table_pair(out_dir, "cells", frame, human)


def annotate_curve_table(curve_table: pd.DataFrame, assignment: CurveAssignment) -> pd.DataFrame:
    """A copy of a per-curve table with ``cell_id``, ``compartment``, ``edge_distance_m`` and
    ``height_above_substrate_m`` added, matched on ``curve_index`` (NaN / "" / 0 for curves
    the assignment does not cover)."""
    extra = pd.DataFrame({c: getattr(assignment, c) for c in ("curve_index", *CURVE_COLUMNS)})
    out = curve_table.drop(columns=[c for c in CURVE_COLUMNS if c in curve_table.columns])
    out = out.merge(extra, on="curve_index", how="left", validate="one_to_one")
    out["cell_id"] = out["cell_id"].fillna(0).astype("int32")
    out["compartment"] = out["compartment"].fillna("")
    return out
