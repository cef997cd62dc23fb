"""Path, option, environment and process fault cases (see tests/fuzz_case.py for what a case
declares): output and input paths, ``sample-data`` options, ``config dump``, an unwritable
numba cache, interrupts and concurrent runs. Read-only folders are made with
:func:`tests.mutate.make_readonly` (immutable for root, who ignores permission bits);
:func:`tests.mutate.release` undoes it so the temporary folder can be removed.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable
from pathlib import Path

from tests.fuzz_case import SAMPLE, Case, afm_source
from tests.mutate import make_readonly


def fit_argv(src: Path, out: Path) -> list[str]:
    """``cellmech fit SRC -o OUT -q``."""
    return ["fit", str(src), "-o", str(out), "-q"]


def _readonly_dir(tmp: Path) -> Path:
    folder = tmp / "ro"
    folder.mkdir()
    make_readonly(folder)
    return folder


OUTPUT_KINDS = (
    "empty", "below file", "read-only parent", "read-only OUT", "dangling symlink",
    "curves.csv dir", "300 chars", "250 chars",
)  # fmt: skip
INPUT_KINDS = ("directory", "fifo", "/dev/zero", "missing", "unreadable", "loop")
DUMP_KINDS = ("directory", "below file", "read-only folder", "empty")


def output_paths(rng: random.Random, tmp: Path, kind: str | None = None) -> Case:
    """Output folders that cannot or must not be written: a clean error, nothing written;
    a long but legal name or a symlink to a new folder works."""
    (tmp / "file").write_text("a regular file")
    (tmp / "cwd").mkdir()
    kind = kind or rng.choice(OUTPUT_KINDS)
    src, absent, before, freeze, out = afm_source(), (), (), (), tmp / "out"
    if kind == "empty":
        out, absent = Path(""), (tmp / "cwd" / "run.json", tmp / "cwd" / "curves.csv")
    elif kind == "below file":
        out = tmp / "file" / "out"
    elif kind == "read-only parent":
        out = _readonly_dir(tmp) / "out"
    elif kind == "read-only OUT":
        before, freeze = (tuple(fit_argv(src, out)),), (out,)
    elif kind == "dangling symlink":
        out.symlink_to(tmp / "elsewhere" / "target")
    elif kind == "curves.csv dir":
        (out / "curves.csv").mkdir(parents=True)
    else:
        out = tmp / ("x" * int(kind.split()[0]))
    argv = fit_argv(src, out)
    expect = "ok" if kind in ("dangling symlink", "250 chars") else "error"
    return Case(
        "output paths", kind, argv, expect, before, freeze=freeze, absent=absent, cwd=tmp / "cwd"
    )


def input_paths(
    rng: random.Random, tmp: Path, kind: str | None = None, role: str | None = None
) -> Case:
    """Input and --config paths that are not readable regular files: a clean error."""
    role = role or rng.choice(["afm", "config"])
    target = tmp / ("input.jpk-force-map" if role == "afm" else "input.toml")
    kind = kind or rng.choice(INPUT_KINDS)
    if kind == "directory":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "/dev/zero":
        target.symlink_to("/dev/zero")
    elif kind == "unreadable":
        target.write_bytes(afm_source().read_bytes())
        target.chmod(0)
        if os.geteuid() == 0:  # root reads anything: a symlink loop is the unreadable file
            target.unlink()
            kind = "loop"
    if kind == "loop":
        target.symlink_to(target.name)
    if role == "afm":
        argv = ["info", str(target)] if rng.random() < 0.5 else fit_argv(target, tmp / "out")
    else:
        argv = [*fit_argv(afm_source(), tmp / "out"), "--config", str(target)]
    return Case("input paths", f"{role} {kind}", argv, "error")


SAMPLE_FLAGS = [
    "--map-size", "--grid-shape", "--n-cells", "--approach-points", "--fluo-z-planes",
    "--fluo-pixel-size", "--tip-radius", "--fluo-fov-factor", "--retract-points",
    "--min-cell-gap", "--approach-duration", "--spring-constant",
]  # fmt: skip
SAMPLE_VALUES = ["0", "nan", "-1", "inf", "1e12", "-inf", "1e308", "banana"]
#: impossible-looking values that are valid: a field without cells (a background control)
SAMPLE_VALID = {("--n-cells", "0")}


def sample_data_options(rng: random.Random, tmp: Path) -> Case:
    """An impossible size or count for ``sample-data``: a one-line error, nothing written."""
    flag, value = rng.choice(SAMPLE_FLAGS), rng.choice(SAMPLE_VALUES)
    values = [value, value] if flag == "--grid-shape" else [value]
    out = tmp / "sample"
    argv = ["sample-data", str(out), flag, *values]
    if (flag, value) in SAMPLE_VALID:
        return Case("sample-data", f"{flag} {value}", argv, "ok")
    return Case("sample-data", f"{flag} {value}", argv, "error", absent=(out,))


def config_dump(rng: random.Random, tmp: Path, kind: str | None = None) -> Case:
    """``config dump -o`` onto something that cannot take a file: a clean error."""
    kind = kind or rng.choice(DUMP_KINDS)
    target = {
        "directory": tmp,
        "below file": tmp / "file" / "cellmech.toml",
        "read-only folder": tmp / "ro" / "cellmech.toml",
        "empty": Path(""),
    }[kind]
    (tmp / "file").write_text("a regular file")
    if kind == "read-only folder":
        _readonly_dir(tmp)
    return Case("config dump", kind, ["config", "dump", "-o", str(target)], "error")


def unwritable_cache(rng: random.Random, tmp: Path) -> Case:
    """numba's cache or HOME not writable (a shared install run by another user): every
    command still works."""
    (tmp / "file").write_text("a regular file")
    kind = rng.choice(["NUMBA_CACHE_DIR", "HOME"])
    if kind == "NUMBA_CACHE_DIR":
        env = {
            "NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator",
            "NUMBA_CACHE_DIR": str(tmp / "file" / "cache"),
        }
    else:
        env = {"HOME": str(_readonly_dir(tmp)), "XDG_CACHE_HOME": str(tmp / "file" / "cache")}
    argv = rng.choice([["--version"], ["formats"], ["info", str(afm_source())]])
    if rng.random() < 0.3:
        argv = fit_argv(afm_source(), tmp / "out")
    return Case("unwritable cache", f"{kind} {argv[0]}", argv, "ok", env=env)


def run_argv(out: Path) -> list[str]:
    """``cellmech run`` of the bundled correlative sample into ``out``."""
    afm, fluo = SAMPLE / "sample.jpk-force-map", SAMPLE / "sample.ome.tif"
    return ["run", "--afm", str(afm), "--fluorescence", str(fluo), "-o", str(out), "-q"]


def interrupts(rng: random.Random, tmp: Path) -> Case:
    """SIGINT/SIGTERM/SIGKILL at a random moment of a second run into OUT: OUT is afterwards
    the first or the second run, complete. (Not in the first 0.3 s: that is Python's own
    start-up, before any cellmech code runs, where Ctrl-C prints Python's traceback.)"""
    out = tmp / "out"
    sig = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
    delay = round(rng.uniform(0.3, 12.0), 1)
    command = rng.choice(["fit", "run"])
    first = fit_argv(afm_source(), out) if command == "fit" else run_argv(out)
    second = [*first, "--model", "hertz_conical"]
    name = f"{command} {sig.name}@{delay}s"
    return Case("interrupts", name, second, "complete", (tuple(first),), interrupt=(sig, delay))


def concurrent_runs(rng: random.Random, tmp: Path) -> Case:
    """Two runs into one OUT at once: one may be refused as busy; OUT is one complete run."""
    out = tmp / "out"
    argv = fit_argv(afm_source(), out) if rng.random() < 0.7 else run_argv(out)
    before = (tuple(argv),) if rng.random() < 0.5 else ()
    return Case("concurrent runs", f"{argv[0]} x2", argv, "complete", before, concurrent=True)


FAULT_GENERATORS: dict[str, Callable[[random.Random, Path], Case]] = {
    "output paths": output_paths,
    "input paths": input_paths,
    "sample-data": sample_data_options,
    "config dump": config_dump,
    "unwritable cache": unwritable_cache,
    "interrupts": interrupts,
    "concurrent runs": concurrent_runs,
}
