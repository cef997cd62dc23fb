"""One sample of a batch: its outcome record, the resume check and the fault-isolated run.

:func:`process_sample` is the task :mod:`cellmech.batch` runs per sample (in a worker
process, a thread or a loop): it skips a sample whose outputs are complete and up to date and
otherwise runs :func:`cellmech.pipeline.run_sample` into ``OUT/<sample>/`` as one transaction,
turning any error into the sample's ``failed`` outcome.

Resuming: ``run.json`` of every sample stores an *input key*, the SHA-256 of the input files'
SHA-256, the options of every section but ``[run]`` (which never changes results) and the
cellmech version. A sample is up to date when its ``run.json`` holds the same key and every
file of its ``sha256`` manifest is present with that hash.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cellmech import __version__
from cellmech.config import Settings
from cellmech.errors import CellmechError
from cellmech.outputs.files import file_sha256, json_ready
from cellmech.pairing import Pair, Pairing
from cellmech.runtime import RunOptions, keep_freed_memory

__all__ = [
    "RUN_JSON_KEY",
    "SampleOutcome",
    "completed_run",
    "input_key",
    "plan_batch",
    "process_sample",
    "sample_settings",
]

#: the ``run.json`` entry holding the batch bookkeeping
RUN_JSON_KEY = "batch"


@dataclass(frozen=True)
class SampleOutcome:
    """What happened to one sample (a row of ``batch_report.json``).

    Parameters
    ----------
    sample : str
        Sample name.
    status : {"ok", "needs_review", "failed", "skipped"}
        ``skipped``: complete outputs with the same inputs and options were kept.
    error : str
        One-line error of a failed sample, else "".
    timing_s : mapping
        Wall-clock seconds per stage plus ``total``.
    n_cells, n_curves, n_curves_ok : int or None
        Cells measured, curves fitted and curves fitted ok (None when failed).
    registration_accepted : bool or None
        The registration verdict (None when failed).
    needs_review : bool
        True when the sample's outputs (new or kept) carry a registration not accepted.
    detail : str
        Traceback of an unexpected error (a bug to report), else "".
    """

    sample: str
    status: str
    error: str = ""
    timing_s: Mapping[str, float] = field(default_factory=dict)
    n_cells: int | None = None
    n_curves: int | None = None
    n_curves_ok: int | None = None
    registration_accepted: bool | None = None
    needs_review: bool = False
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return json_ready(asdict(self))


def _from_report(sample: str, status: str, report: Mapping[str, Any], seconds: float):
    reg = report.get("registration") or {}
    accepted = reg.get("accepted")
    return SampleOutcome(
        sample,
        status,
        timing_s={**report.get("timing_s", {}), "total": seconds},
        n_cells=report.get("n_cells"),
        n_curves=(report.get("input") or {}).get("n_curves"),
        n_curves_ok=(report.get("status_counts") or {}).get("ok"),
        registration_accepted=accepted,
        needs_review=accepted is False,
    )


def input_key(pair: Pair, settings: Settings, calibration: Path | None = None) -> str:
    """SHA-256 (hex) of the sample's input files' SHA-256, the options of every section but
    ``[run]`` and the cellmech version: equal keys mean equal results."""
    files = {"afm": pair.afm, "fluorescence": pair.fluorescence, "labels": pair.labels}
    files["calibration"] = calibration
    content = {
        "inputs": {role: file_sha256(p) for role, p in files.items() if p is not None},
        "settings": {k: v for k, v in settings.to_dict().items() if k != "run"},
        "cellmech": __version__,
    }
    text = json.dumps(json_ready(content), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def completed_run(sample_dir: Path, key: str) -> dict[str, Any] | None:
    """The ``run.json`` of ``sample_dir`` if it was made from inputs with ``key`` and every
    file of its manifest is present and intact; else None."""
    try:
        report = json.loads((sample_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    sums = report.get("sha256") if isinstance(report, dict) else None
    if not sums or (report.get(RUN_JSON_KEY) or {}).get("input_key") != key:
        return None
    for name, digest in sums.items():
        path = sample_dir / name
        if not path.is_file() or file_sha256(path) != digest:
            return None
    return report


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, CellmechError) else f"{type(exc).__name__}: {text}"


def process_sample(
    pair: Pair,
    out_dir: Path,
    settings: Settings,
    *,
    force: bool = False,
    calibration: Path | None = None,
) -> SampleOutcome:
    """Run one sample into ``out_dir/<sample>`` (or keep its complete, up-to-date outputs);
    never raises for a bad sample: every error becomes the ``failed`` outcome.

    Parameters
    ----------
    pair : Pair
        The sample's files.
    out_dir : Path
        ``OUT`` (as the worker sees it).
    settings : Settings
        Options of every stage (see :func:`sample_settings`).
    force : bool
        Recompute even when the outputs are up to date.
    calibration : Path, optional
        A ``registration.json`` used as every sample's initial transform.
    """
    keep_freed_memory()  # in the batch's worker process, as the command line does
    from cellmech.pipeline import run_sample, write_sample_run

    t0 = time.perf_counter()
    target = Path(out_dir) / pair.sample
    try:
        key = input_key(pair, settings, calibration)
        if not force and (kept := completed_run(target, key)) is not None:
            return _from_report(pair.sample, "skipped", kept, time.perf_counter() - t0)
        result = run_sample(
            pair.afm, pair.fluorescence, settings, labels=pair.labels, calibration=calibration
        )
        extra = {RUN_JSON_KEY: {"sample": pair.sample, "input_key": key}}
        report = write_sample_run(target, result, extra=extra)
    except Exception as exc:  # contained: this sample failed, the batch goes on
        detail = "" if isinstance(exc, CellmechError) else traceback.format_exc()
        seconds = {"total": time.perf_counter() - t0}
        return SampleOutcome(pair.sample, "failed", _one_line(exc), seconds, detail=detail)
    status = "needs_review" if result.needs_review else "ok"
    return _from_report(pair.sample, status, report, time.perf_counter() - t0)


def plan_batch(
    pairing: Pairing,
    out_dir: Path,
    settings: Settings,
    *,
    force: bool = False,
    calibration: Path | None = None,
) -> list[tuple[Pair, str]]:
    """``(pair, "run" | "skip")`` for every sample: what a run would do (``--dry-run``)."""
    plan = []
    for pair in pairing.pairs:
        try:
            key = input_key(pair, settings, calibration)
        except OSError:
            plan.append((pair, "run"))
            continue
        done = not force and completed_run(Path(out_dir) / pair.sample, key) is not None
        plan.append((pair, "skip" if done else "run"))
    return plan


def sample_settings(settings: Settings, threads_per_worker: int) -> Settings:
    """``settings`` with a ``[run]`` section that fits a sample sequentially on
    ``threads_per_worker`` numba threads (the batch parallelises over samples; a ``[run]``
    section already in ``settings`` only contributes its ``chunks``)."""
    given = settings.sections.get("run")
    chunks = None if given is None else given.chunks
    run = RunOptions(scheduler="numpy", chunks=chunks, threads_per_worker=threads_per_worker)
    return replace(settings, sections={**settings.sections, "run": run})
