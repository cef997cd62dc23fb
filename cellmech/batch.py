"""Many samples: per-sample fault isolation, resuming, and Dask over samples.

:func:`run_batch` runs :func:`cellmech.pipeline.run_sample` on every pair of a
:class:`~cellmech.pairing.Pairing`, each sample into ``OUT/<sample>/`` as one transaction
(:func:`cellmech.pipeline.write_sample_run`), then writes the combined tables and the batch
report (:mod:`cellmech.outputs.batch`).

- **Fault isolation**: each sample runs inside
  :func:`~cellmech.batch_sample.process_sample`, which turns any error into
  that sample's ``failed`` outcome (a :class:`~cellmech.errors.CellmechError` keeps its one-line
  message, anything else becomes ``Type: message`` plus the traceback in the report). A worker
  process that dies (killed, out of memory) is that sample's failure too, not a hang: the
  local cluster gives up on the tasks of a dead worker at once
  (``distributed.scheduler.allowed-failures`` = 0) and the ``KilledWorker`` lands on their
  futures. The scheduler blames every task the worker held (queued ones and one that finished
  just before the death too), so those samples are run again one at a time after the others:
  a sample whose worker dies then is the culprit and is reported failed. (A cluster started
  elsewhere keeps its own settings: by default it retries a task on 3 workers first.)
- **Resuming**: a sample whose outputs are complete and made from the same inputs and options
  is skipped unless ``force`` (:mod:`cellmech.batch_sample`).
- **Dask**: the samples are the tasks. Default: a ``distributed.LocalCluster`` of worker
  processes, one thread each, one worker per core; "threads" runs them as threads of one
  in-process worker; "synchronous" a plain loop; an address (``tcp://host:8786``) uses that
  cluster. Inside a sample the fit runs sequentially ("numpy") with the machine's cores shared
  out as numba threads per worker, so the cores are never oversubscribed. At most
  ``2 x workers`` samples are submitted ahead, so memory holds a few samples at a time.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import dask

from cellmech.batch_sample import SampleOutcome, process_sample, sample_settings
from cellmech.config import Settings
from cellmech.errors import ConfigError
from cellmech.pairing import Pair, Pairing
from cellmech.runtime import available_cores

__all__ = [
    "BATCH_SCHEDULERS",
    "BatchResult",
    "Engine",
    "engine",
    "exit_code",
    "run_batch",
    "run_on_client",
]

log = logging.getLogger(__name__)

#: batch schedulers besides a scheduler address
BATCH_SCHEDULERS = ("processes", "threads", "synchronous")
#: samples submitted ahead per worker
WINDOW_PER_WORKER = 2
#: a local cluster gives up at once on the tasks of a dead worker (run_on_client retries them)
_LOCAL_CLUSTER_CONFIG = {"distributed.scheduler.allowed-failures": 0}


@dataclass(frozen=True)
class BatchResult:
    """A finished batch: one outcome per sample (pairing order) and the report written."""

    outcomes: tuple[SampleOutcome, ...]
    report: Mapping[str, Any]
    exit_code: int


@dataclass(frozen=True)
class Engine:
    """Where the samples run: a ``distributed.Client`` (None = a loop in this process), how
    many samples run at once, the numba threads each may use, and whether samples of a dead
    worker are retried one by one (the local cluster: it does not retry them itself)."""

    client: Any
    n_workers: int
    threads_per_worker: int
    description: str
    retry_lost: bool = False


@contextmanager
def engine(
    scheduler: str | None, workers: int | None, threads_per_worker: int | None, n_samples: int
) -> Iterator[Engine]:
    """Start (and stop) what runs the samples; see the module docstring for the choices."""
    from cellmech.parallel import connect

    scheduler = scheduler or "processes"
    cores = available_cores()
    if "://" in scheduler:
        if workers is not None:
            raise ConfigError(f"--workers applies to local runs; {scheduler} has its own workers")
        client = connect(scheduler)
        try:
            workers_info = client.scheduler_info().get("workers", {}).values()
            n = max(1, sum(w.get("nthreads", 1) for w in workers_info))  # samples at once
            yield Engine(client, n, threads_per_worker or 1, f"cluster at {scheduler}")
        finally:
            client.close()
        return
    if scheduler not in BATCH_SCHEDULERS:
        raise ConfigError(
            f"--scheduler {scheduler!r}: use {', '.join(BATCH_SCHEDULERS)} or a scheduler "
            "address such as tcp://host:8786"
        )
    n = 1 if scheduler == "synchronous" else max(1, min(workers or cores, n_samples))
    tpw = threads_per_worker or max(1, cores // n)
    if scheduler == "synchronous":
        yield Engine(None, 1, tpw, "this process, one sample at a time")
        return
    from distributed import Client, LocalCluster

    processes = scheduler == "processes"
    with dask.config.set(_LOCAL_CLUSTER_CONFIG):
        cluster = LocalCluster(
            n_workers=n if processes else 1,
            threads_per_worker=1 if processes else n,
            processes=processes,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    kind = f"{n} worker process{'es' * (n > 1)}" if processes else f"{n} thread{'s' * (n > 1)}"
    try:
        with Client(cluster) as client:
            description = f"local cluster, {kind}, {tpw} numba thread(s) each"
            yield Engine(client, n, tpw, description, retry_lost=True)
    finally:
        cluster.close()


def _worker_lost(exc: BaseException) -> str:
    return (
        f"the worker running this sample died ({type(exc).__name__}: {exc}); it was killed or "
        "ran out of memory: give workers more memory or run fewer at once (--workers)"
    )


def run_on_client(
    client,
    pairs: list[Pair],
    function: Callable[..., SampleOutcome],
    args: tuple,
    kwargs: Mapping[str, Any],
    window: int,
    done: Callable[[SampleOutcome], object],
    retry_lost: bool = False,
) -> None:
    """Submit ``function(pair, *args, **kwargs)`` for every pair, at most ``window`` (or two
    per worker thread, when more workers joined) ahead, and call ``done`` with each outcome as
    it finishes; a lost worker or cancelled task is that
    sample's failure (with ``retry_lost``, after a second try alone: see the module
    docstring)."""
    from distributed import as_completed

    tag = uuid.uuid4().hex[:8]
    queue = iter(pairs)
    owner = {}

    def submit(pair: Pair):
        key = f"cellmech-{pair.sample}-{tag}-{len(owner)}"
        fut = client.submit(function, pair, *args, key=key, pure=False, **kwargs)
        owner[fut.key] = pair
        return fut

    def outcome_of(fut) -> SampleOutcome | None:
        pair = owner[fut.key]
        try:
            return fut.result()
        except Exception as exc:  # KilledWorker, a cancelled future, a lost connection
            if retry_lost and pair not in suspects:
                suspects.append(pair)
                return None
            return SampleOutcome(pair.sample, "failed", _worker_lost(exc))
        finally:
            fut.release()

    suspects: list[Pair] = []
    running = as_completed([submit(p) for p in islice(queue, window)])
    for fut in running:
        if (outcome := outcome_of(fut)) is not None:
            done(outcome)
        # top up to the window, grown when workers joined (a cluster scaling up)
        threads = sum(client.nthreads().values())
        target = max(window, WINDOW_PER_WORKER * threads)
        for pair in islice(queue, max(1, target - running.count())):
            running.add(submit(pair))
    for pair in list(suspects):  # alone now: a worker that dies was killed by this sample
        done(outcome_of(submit(pair)))


def exit_code(outcomes: list[SampleOutcome], pairing: Pairing) -> int:
    """4 when a sample failed; 3 when one needs review or an AFM file found no partner;
    else 0 (the codes of :mod:`cellmech.cli`)."""
    if any(o.status == "failed" for o in outcomes):
        return 4
    if any(o.needs_review for o in outcomes) or pairing.unpaired:
        return 3
    return 0


def run_batch(
    pairing: Pairing,
    out_dir: str | Path,
    settings: Settings,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    threads_per_worker: int | None = None,
    force: bool = False,
    calibration: str | Path | None = None,
    progress: Callable[[SampleOutcome], object] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> BatchResult:
    """Run every sample of ``pairing`` into ``out_dir`` and write the combined outputs.

    Parameters
    ----------
    pairing : Pairing
        Samples and the files left out (:mod:`cellmech.pairing`).
    out_dir : path-like
        ``OUT``: ``OUT/<sample>/`` per sample, plus ``cells.csv``/``.parquet``,
        ``curves.parquet``, ``batch_report.json``/``.html`` and ``config.toml``.
    settings : Settings
        Options of every stage; ``[run]`` only contributes ``chunks`` (see
        :func:`sample_settings`).
    scheduler : str, optional
        "processes" (default), "threads", "synchronous" or a scheduler address.
    workers : int, optional
        Samples at once on this machine (default: one per core, at most one per sample).
    threads_per_worker : int, optional
        numba threads per sample (default: the cores shared among the workers; 1 on a
        cluster).
    force : bool
        Recompute samples whose outputs are complete and up to date.
    calibration : path-like, optional
        A ``registration.json`` of the same setup, the initial transform of every sample.
    progress : callable, optional
        Called with each :class:`SampleOutcome` as it finishes.
    meta : mapping, optional
        More entries for ``batch_report.json`` (command line, input folder).

    Returns
    -------
    BatchResult
        Outcomes in pairing order, the report and the exit code.
    """
    from cellmech.outputs.batch import clear_batch_outputs, write_batch_outputs
    from cellmech.outputs.transaction import output_lock

    out = Path(out_dir)
    calibration = None if calibration is None else Path(calibration).resolve()
    pairs = list(pairing.pairs)
    with output_lock(out):  # one batch at a time into OUT
        with engine(scheduler, workers, threads_per_worker, max(1, len(pairs))) as eng:
            out.mkdir(parents=True, exist_ok=True)
            clear_batch_outputs(out)  # a stale combined table never sits beside new samples
            t0 = time.perf_counter()
            outcomes = _run_samples(
                eng, pairs, out.resolve(), settings, progress,
                {"force": force, "calibration": calibration},
            )  # fmt: skip
        code = exit_code(outcomes, pairing)
        info = {
            **(meta or {}),
            "engine": eng.description,
            "workers": eng.n_workers,
            "threads_per_worker": eng.threads_per_worker,
            "wall_s": time.perf_counter() - t0,
            "exit_code": code,
        }
        report = write_batch_outputs(out, pairing, outcomes, settings, info)
    return BatchResult(tuple(outcomes), report, code)


def _run_samples(
    eng: Engine,
    pairs: list[Pair],
    out: Path,
    settings: Settings,
    progress: Callable[[SampleOutcome], object] | None,
    sample_kwargs: Mapping[str, Any],
) -> list[SampleOutcome]:
    """Every sample's outcome, in pairing order."""
    found: dict[str, SampleOutcome] = {}

    def done(outcome: SampleOutcome) -> None:
        found[outcome.sample] = outcome
        log.info("%s: %s %s", outcome.sample, outcome.status, outcome.error)
        if progress is not None:
            progress(outcome)

    args = (out, sample_settings(settings, eng.threads_per_worker))
    if eng.client is None:
        for pair in pairs:
            done(process_sample(pair, *args, **sample_kwargs))
    else:
        window = WINDOW_PER_WORKER * eng.n_workers
        run_on_client(
            eng.client, pairs, process_sample, args, sample_kwargs, window, done, eng.retry_lost
        )
    return [found[p.sample] for p in pairs]
