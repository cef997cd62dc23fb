"""Outputs of a batch: the combined tables, ``config.toml`` and the batch report.

Written after the samples, each file atomically, ``batch_report.json`` last with the SHA-256
of the others. A run first removes the previous set (:func:`clear_batch_outputs`), so an
interrupted run leaves no combined table at all rather than one that looks complete but
misses samples; the next run rebuilds them from every sample folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cellmech import __version__
from cellmech.outputs.cells import cell_human_units
from cellmech.outputs.files import atomic_path, manifest, write_json, write_table_pair
from cellmech.outputs.fit import human_columns

__all__ = [
    "BATCH_FILES",
    "clear_batch_outputs",
    "combined_cells",
    "write_batch_outputs",
    "write_combined_curves",
]

#: the files a batch writes beside the sample folders, ``batch_report.json`` (written last)
#: at the end
BATCH_FILES = (
    "cells.csv",
    "cells.parquet",
    "curves.parquet",
    "config.toml",
    "batch_report.html",
    "batch_report.json",
)
#: statuses whose sample folder holds tables
_WITH_TABLES = ("ok", "needs_review", "skipped")


def clear_batch_outputs(out_dir: Path) -> None:
    """Remove the combined files of a previous run (``batch_report.json`` first)."""
    for name in reversed(BATCH_FILES):
        (out_dir / name).unlink(missing_ok=True)


def _lead_columns(pair, n: int) -> dict[str, Any]:
    """The ``sample`` column and the pairs-CSV extra columns for ``n`` rows."""
    return {"sample": [pair.sample] * n, **{k: [v] * n for k, v in pair.extra.items()}}


def combined_cells(out_dir: Path, pairs: Sequence) -> pd.DataFrame | None:
    """Every sample's ``cells.parquet`` stacked, ``sample`` and extra columns first (None
    when no sample has one)."""
    frames = []
    for pair in pairs:
        path = out_dir / pair.sample / "cells.parquet"
        if path.is_file():
            cells = pd.read_parquet(path)
            lead = pd.DataFrame(_lead_columns(pair, len(cells)))
            frames.append(pd.concat([lead, cells.reset_index(drop=True)], axis=1))
    return pd.concat(frames, ignore_index=True) if frames else None


def _curve_schema(files: list[tuple[Any, Path]]):
    import pyarrow as pa
    import pyarrow.parquet as pq

    extra = list(files[0][0].extra)
    merged = pa.unify_schemas([pq.read_schema(f).remove_metadata() for _, f in files])
    lead = [pa.field(name, pa.string()) for name in ("sample", *extra)]
    return pa.schema(lead + [f for f in merged if f.name not in ("sample", *extra)])


def write_combined_curves(out_dir: Path, pairs: Sequence) -> dict[str, np.ndarray]:
    """Stream every sample's ``curves.parquet`` into ``OUT/curves.parquet`` (one sample in
    memory at a time; columns a sample lacks are null); returns the moduli (Pa) of the ok
    curves on a cell per sample, for the report's distributions."""
    import pyarrow.parquet as pq

    files = [(p, out_dir / p.sample / "curves.parquet") for p in pairs]
    files = [(p, f) for p, f in files if f.is_file()]
    if not files:
        return {}
    schema = _curve_schema(files)
    moduli = {}
    out = out_dir / "curves.parquet"
    with atomic_path(out) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for pair, path in files:
            table = pq.read_table(path)
            writer.write_table(_conform(table, _lead_columns(pair, table.num_rows), schema))
            moduli[pair.sample] = _cell_moduli(table)
    return moduli


def _conform(table, lead: dict[str, list], schema):
    """``table`` with the ``lead`` columns, in ``schema``'s order and types (null columns
    for the fields it lacks)."""
    import pyarrow as pa

    n = table.num_rows
    columns = []
    for f in schema:
        if f.name in lead:
            columns.append(pa.array(lead[f.name], f.type))
        elif f.name in table.column_names:
            columns.append(table.column(f.name).cast(f.type))
        else:
            columns.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _cell_moduli(table) -> np.ndarray:
    """Moduli (Pa) of the ok curves assigned to a cell."""
    names = table.column_names
    e = np.asarray(table.column("youngs_modulus_pa"), float)
    keep = np.isfinite(e)
    if "status" in names:
        keep &= np.asarray(table.column("status").to_pylist(), dtype=object) == "ok"
    if "cell_id" in names:
        keep &= np.asarray(table.column("cell_id"), float) > 0
    return e[keep]


def write_batch_outputs(
    out_dir: Path,
    pairing,
    outcomes: Sequence,
    settings,
    info: Mapping[str, Any],
) -> dict[str, Any]:
    """Write the combined tables, ``config.toml``, ``batch_report.html`` and, last,
    ``batch_report.json``; returns the report.

    Parameters
    ----------
    out_dir : Path
        ``OUT``.
    pairing : Pairing
        The samples (their extra columns) and the unpaired and ignored files.
    outcomes : sequence of SampleOutcome
        One per sample, pairing order.
    settings : Settings
        The run's options (dumped to ``config.toml``).
    info : mapping
        Run-level entries for the report (engine, workers, wall time, exit code ...).
    """
    from cellmech.config import dump_settings
    from cellmech.outputs.batch_html import write_batch_html

    status = {o.sample: o.status for o in outcomes}
    with_tables = [p for p in pairing.pairs if status.get(p.sample) in _WITH_TABLES]
    written = []
    cells = combined_cells(out_dir, with_tables)
    if cells is not None:
        human = human_columns(cells, cell_human_units(cells))
        written += write_table_pair(out_dir, "cells", cells, human)
    moduli = write_combined_curves(out_dir, with_tables)
    if moduli:
        written.append(out_dir / "curves.parquet")
    with atomic_path(out_dir / "config.toml") as tmp:
        tmp.write_text(dump_settings(settings, "the options of this batch"), encoding="utf-8")
    written.append(out_dir / "config.toml")
    report = batch_report(pairing, outcomes, info, out_dir)
    written.append(write_batch_html(out_dir / "batch_report.html", report, moduli))
    report["outputs"] = manifest(written, out_dir)
    write_json(out_dir / "batch_report.json", report)
    return report


def batch_report(pairing, outcomes: Sequence, info: Mapping[str, Any], out_dir: Path) -> dict:
    """The content of ``batch_report.json`` (without the output manifest)."""
    extras = {p.sample: dict(p.extra) for p in pairing.pairs}
    samples = []
    for o in outcomes:
        row = {**o.to_dict(), **extras.get(o.sample, {})}
        has_report = (out_dir / o.sample / "report.html").is_file() and o.status != "failed"
        row["report"] = f"{o.sample}/report.html" if has_report else None
        samples.append(row)
    counts = {s: 0 for s in ("ok", "needs_review", "failed", "skipped")}
    for o in outcomes:
        counts[o.status] += 1
    return {
        "cellmech": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **info,
        "counts": counts,
        "extra_columns": list(pairing.extra_columns),
        "samples": samples,
        "unpaired": [{"path": str(p), "reason": r} for p, r in pairing.unpaired],
        "ignored": [str(p) for p in pairing.ignored],
    }
