"""Transactional output folders: a run's whole set of files appears at once, or not at all.

A run writes into a staging folder beside ``OUT`` (``.OUT.staging-<id>``) and commits by
swapping it with ``OUT`` in one ``renameat2(RENAME_EXCHANGE)`` call on Linux (elsewhere: two
renames, where ``OUT`` is briefly absent but never mixed). A failure or an interrupt before the
swap leaves the previous complete set untouched; staging folders of killed runs are removed by
the next run. A lock file beside ``OUT`` refuses a second concurrent run into the same folder.

``OUT`` is replaced whole, so it must be new, empty, or a previous cellmech output (it holds a
``run.json`` written by cellmech): anything else is refused rather than deleted.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import glob
import hashlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from cellmech.errors import CellmechError

__all__ = ["OutputBusyError", "check_output_name", "output_lock", "output_transaction"]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
#: longest output-folder name used verbatim in the names of its lock and staging siblings
#: (file names are limited to 255 bytes); longer names are shortened with a hash
_MAX_SIBLING_STEM = 200


class OutputBusyError(CellmechError):
    """Another cellmech run is writing into the same output folder."""


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux >= 3.15); False when the call is unavailable."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    func = getattr(libc, "renameat2", None)
    if func is None:
        return False
    rc = func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _is_replaceable(out: Path) -> bool:
    """True if ``out`` is absent, empty, or a previous cellmech output folder."""
    if not out.exists():
        return True
    if not out.is_dir():
        return False
    if not any(out.iterdir()):
        return True
    try:
        report = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(report, dict) and "cellmech" in report.get("versions", {})


def _sibling(out: Path, tag: str) -> Path:
    """``out.parent / .<name>.<tag>``, ``<name>`` shortened with a hash when long."""
    name = out.name
    if len(os.fsencode(name)) > _MAX_SIBLING_STEM:
        digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:16]
        name = f"{name[:64]}~{digest}"
    return out.parent / f".{name}.{tag}"


#: locks held by this process: (output folder, thread) -> "lock" (a command holds OUT from
#: before its work) or "transaction" (writing). A transaction re-enters its own thread's
#: "lock" (flock would refuse the second open); anything else held is busy.
_HELD: dict[tuple[Path, int], str] = {}
_HELD_GUARD = threading.Lock()


def _busy(out: Path) -> OutputBusyError:
    return OutputBusyError(
        f"{out}: another cellmech run is writing into this output folder; wait for it "
        "or choose another -o"
    )


@contextlib.contextmanager
def _locked(out: Path, kind: str) -> Iterator[None]:
    key = (out, threading.get_ident())
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None and not (held == "lock" and kind == "transaction"):
            raise _busy(out)
        if held is not None:
            _HELD[key] = kind
    if held is not None:
        try:
            yield
        finally:
            with _HELD_GUARD:
                _HELD[key] = held
        return
    fd = os.open(_sibling(out, "lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(out) from None
        with _HELD_GUARD:
            _HELD[key] = kind
        try:
            yield
        finally:
            with _HELD_GUARD:
                del _HELD[key]
    finally:
        os.close(fd)


def output_lock(out_dir: str | Path) -> contextlib.AbstractContextManager[None]:
    """Hold the lock of ``out_dir`` (the one :func:`output_transaction` takes) for a block, e.g.
    while a batch writes into it, or a command from before its work until its transaction
    commits (the transaction then re-enters it); another process gets
    :class:`OutputBusyError`."""
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    return _locked(out, "lock")


def _remove_stale(out: Path) -> None:
    """Staging and retired folders left by killed runs (safe: we hold the lock)."""
    for tag in ("staging-*", "retired-*"):
        for stale in out.parent.glob(glob.escape(_sibling(out, tag).name[:-1]) + "*"):
            shutil.rmtree(stale, ignore_errors=True)


def _commit(staging: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staging, out)
        return
    if _renameat2_exchange(staging, out):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous set
        return
    retired = _sibling(out, f"retired-{uuid.uuid4().hex[:8]}")
    os.rename(out, retired)
    os.rename(staging, out)
    shutil.rmtree(retired, ignore_errors=True)


def check_output_name(out_dir: str | Path) -> Path:
    """``out_dir`` as a Path if it names a folder (not '', '.' or '..': the whole folder is
    replaced, so it must be a folder of its own), else a one-line :class:`CellmechError`."""
    out = Path(out_dir)
    if str(out_dir) == "" or out.name in ("", ".", ".."):
        raise CellmechError(f"{str(out_dir)!r}: give a named output folder (not '', '.' or '..')")
    return out


@contextlib.contextmanager
def output_transaction(out_dir: str | Path) -> Iterator[Path]:
    """Yield a staging folder; on success it becomes ``out_dir`` in one step.

    Parameters
    ----------
    out_dir : path-like
        The output folder (new, empty, or a previous cellmech output).

    Raises
    ------
    CellmechError
        If ``out_dir`` holds something that is not a cellmech output, or is not a folder.
    OutputBusyError
        If another run is writing into ``out_dir``.
    """
    out = check_output_name(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with _locked(out, "transaction"):
        if not _is_replaceable(out):
            raise CellmechError(
                f"{out}: exists and is not a cellmech output folder (no cellmech run.json); "
                "choose a new or empty folder so nothing of yours is replaced"
            )
        _remove_stale(out)
        staging = _sibling(out, f"staging-{uuid.uuid4().hex[:8]}")
        staging.mkdir()
        try:
            yield staging
            _commit(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
