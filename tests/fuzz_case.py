"""What a fuzz case is, how it runs and how its outcome is judged (tests/fuzz_cases.py and
tests/fuzz_faults.py generate the cases; tests/test_fuzz.py and benchmarks/fuzz.py run them).

A case is ``Case(category, name, argv, expect, ...)``: ``argv`` for ``cellmech`` and ``expect``
one of ``"error"`` (exit 2, exactly one line ``cellmech: error: ...`` on stderr), ``"ok"``
(exit 0), ``"corrupt"`` (exit 0 and some curve in OUT/curves.csv has status ``corrupt``),
``"any"`` (exit 0 or a clean error: a random byte flip may land where nothing reads it) or
``"complete"`` (an interrupted or concurrent run: each process succeeds, is interrupted or is
refused because OUT is busy, and OUT is afterwards exactly one complete run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cellmech.outputs.files import file_sha256
from tests.mutate import make_readonly

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
REAL = ROOT.parent / "shared" / "data" / "real-afm"
MAP2X2 = REAL / "fmt-jpk-fd_map2x2_extracted.jpk-force-map"
IBW = REAL / "fmt-igor-fd_U3_3_p10004.ibw"
#: exit statuses of a run stopped by a signal: 130 (cellmech's own, after cleaning up) or the
#: signal's negative number (SIGKILL, or a signal arriving before cellmech's handlers exist)
INTERRUPTED = {130, -signal.SIGINT, -signal.SIGTERM, -signal.SIGKILL}
BUSY = "another cellmech run is writing into this output folder"


def afm_source() -> Path:
    """The AFM file mutated: the small real map when present, else the bundled sample."""
    return MAP2X2 if MAP2X2.exists() else SAMPLE / "sample.jpk-force-map"


@dataclass(frozen=True)
class Case:
    """One fuzz run and its declared outcome.

    ``before`` are argvs run first (each must exit 0, e.g. a previous run in OUT; a clean
    error afterwards must leave that run complete); ``freeze`` are paths made read-only after
    them;
    ``interrupt`` is ``(signal, delay_s)`` sent to the run; ``concurrent`` runs ``argv`` twice
    at once; ``out`` is the folder judged by ``"corrupt"``/``"complete"`` (default
    ``<tmp>/out``); ``absent`` are paths that must not exist afterwards; ``env`` extra
    environment; ``cwd`` the working directory.
    """

    category: str
    name: str
    argv: list[str]
    expect: str
    before: tuple[tuple[str, ...], ...] = ()
    freeze: tuple[Path, ...] = ()
    interrupt: tuple[int, float] | None = None
    concurrent: bool = False
    out: Path | None = None
    absent: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None

    @property
    def in_process(self) -> bool:
        """True if the case can run through ``cellmech.cli.main`` in the test process (in
        ``cwd`` when given)."""
        return not (self.before or self.interrupt or self.concurrent or self.env)


def _spawn(argv, case: Case) -> subprocess.Popen:
    """Start ``cellmech argv``; its stderr goes to a temporary file (``proc.stderr_file``), so
    a chatty process never blocks on a full pipe."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **case.env}
    cmd = [sys.executable, "-m", "cellmech", *argv]
    err = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by _stderr once the run ends)
    proc = subprocess.Popen(
        cmd, env=env, cwd=case.cwd or ROOT, stdout=subprocess.DEVNULL, stderr=err
    )
    proc.stderr_file = err
    return proc


def _stderr(proc: subprocess.Popen) -> str:
    proc.stderr_file.seek(0)
    text = proc.stderr_file.read()
    proc.stderr_file.close()
    return text


def _cpu_seconds(proc: subprocess.Popen) -> float | None:
    """CPU time used so far by ``proc`` (Linux /proc), None when it has ended."""
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stuck(procs: list[subprocess.Popen], probe_s: float = 5.0) -> bool:
    """True if no process in ``procs`` used CPU over ``probe_s`` (a real hang, not a slow
    run on a loaded machine)."""
    before = [_cpu_seconds(p) for p in procs]
    time.sleep(probe_s)
    after = [_cpu_seconds(p) for p in procs]
    return all(a is None or b is None or a <= b for b, a in zip(before, after, strict=True))


def _wait(procs: list[subprocess.Popen], timeout: float) -> tuple[int | None, str]:
    """The worst exit status of ``procs`` and their stderr. After ``timeout`` a process that
    still uses CPU gets up to twice as long again; one that is stuck, or still running then,
    is a hang (None; all are killed)."""
    start = time.monotonic()
    while any(p.poll() is None for p in procs):
        elapsed = time.monotonic() - start
        if elapsed > timeout and (elapsed > 3 * timeout or _stuck(procs)):
            for p in procs:
                p.kill()
                p.wait()
                _stderr(p)
            return None, ""
        time.sleep(0.05)
    errs = [_stderr(p) for p in procs]
    codes = [p.returncode for p in procs]
    worst = next((c for c in codes if c not in (0, 2)), max(codes))
    return worst, "".join(errs)


def run_case(case: Case, timeout: float) -> tuple[int | None, str]:
    """Run ``case`` in subprocesses; ``(exit status or None on a timeout, stderr)``."""
    for argv in case.before:
        code, err = _wait([_spawn(argv, case)], timeout)
        if code != 0:
            raise RuntimeError(f"setup run {argv} failed ({code}): {err}")
    for path in case.freeze:
        make_readonly(path)
    procs = [_spawn(case.argv, case) for _ in range(2 if case.concurrent else 1)]
    if case.interrupt is not None:
        sig, delay = case.interrupt
        try:
            procs[0].wait(timeout=delay)
        except subprocess.TimeoutExpired:
            procs[0].send_signal(sig)
    return _wait(procs, timeout)


def complete_run(out: Path, killed: bool = False) -> str | None:
    """Why ``out`` is not exactly one complete run (None when it is): its run.json must list
    every file beside it with its sha256, and no staging folder may be left beside it (unless
    the run was ``killed`` by SIGKILL: the next run removes it)."""
    try:
        report = json.loads((out / "run.json").read_text())
    except (OSError, ValueError) as exc:
        return f"no readable run.json: {exc}"
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    listed = set(report.get("sha256", {}))
    if files != listed | {"run.json"}:
        return f"files and run.json disagree: {sorted(files ^ (listed | {'run.json'}))}"
    changed = [n for n, d in report["sha256"].items() if file_sha256(out / n) != d]
    stray = [] if killed else list(out.parent.glob(f".{out.name}.staging-*"))
    return f"changed {changed}, stray {stray}" if changed or stray else None


def _one_line(lines: list[str], prefix: str = "cellmech: error:") -> bool:
    return len(lines) == 1 and lines[0].startswith(prefix)


def _stopped(case: Case, code: int, lines: list[str]) -> bool:
    """True for a clean end of an interrupted or concurrent run."""
    if code == 0:
        return True
    if code == 2:
        return case.concurrent and _one_line(lines) and BUSY in lines[0]
    interrupted = case.interrupt is not None and code in INTERRUPTED
    return interrupted and lines in ([], ["cellmech: interrupted"])


def outcome(case: Case, code: int | None, stderr: str, out: Path) -> str:
    """Classify a run: "clean", "traceback", "hang", "wrong success", "rejected" or "ok"."""
    if code is None:
        return "hang"
    lines = stderr.strip().splitlines()
    out = case.out or out
    if any(p.exists() or p.is_symlink() for p in case.absent):
        return "wrong success"
    if case.expect == "complete":
        if "Traceback" in stderr or not _stopped(case, code, lines):
            return "traceback"
        return "wrong success" if complete_run(out, code == -signal.SIGKILL) else "ok"
    if "Traceback" in stderr or code not in (0, 2):
        return "traceback"
    if code == 2:
        if not _one_line(lines):
            return "traceback"
        if case.expect in ("ok", "corrupt"):
            return "rejected"
        return "wrong success" if case.before and complete_run(out) else "clean"
    if case.expect == "error":
        return "wrong success"
    if case.expect == "corrupt":
        table = out / "curves.csv"
        if not table.exists() or ",corrupt," not in table.read_text():
            return "wrong success"
    return "ok"
