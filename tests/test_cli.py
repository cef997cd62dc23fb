"""The command line: ``formats``, ``info`` and how errors reach the user.

Most tests run :func:`cellmech.cli.main` in-process; a few run ``python -m cellmech`` in a
subprocess to check the exit status and the streams a shell sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from cellmech.cli import EXIT_BAD_INPUT, main
from cellmech.errors import MissingFileError
from cellmech.io import readers
from tests.conftest import real_afm_file

REPO_ROOT = Path(__file__).resolve().parents[1]


def _run_module(*args: str) -> subprocess.CompletedProcess:
    """``python -m cellmech *args`` with this checkout first on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "cellmech", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


@pytest.fixture
def ome_tiff(tmp_path) -> Path:
    """A (2, 3, 16, 20) OME-TIFF: channels DAPI/GFP, 0.65 µm x 0.5 µm pixels, 1.5 µm z step."""
    path = tmp_path / "cells.ome.tif"
    data = np.random.default_rng(0).integers(0, 4000, (2, 3, 16, 20)).astype(np.uint16)
    meta = {
        "axes": "CZYX",
        "PhysicalSizeX": 0.65,
        "PhysicalSizeY": 500.0,
        "PhysicalSizeYUnit": "nm",
        "PhysicalSizeZ": 1.5,
        "Channel": {"Name": ["DAPI", "GFP"]},
    }
    tifffile.imwrite(path, data, photometric="minisblack", metadata=meta)
    return path


def test_formats_lists_every_reader_and_suffix(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    assert readers(), "no reader registered"
    for spec in readers():
        assert spec.name in out
        for suffix in spec.suffixes:
            assert suffix in out


def test_info_ome_tiff(capsys, ome_tiff):
    assert main(["info", str(ome_tiff)]) == 0
    out = capsys.readouterr().out
    assert "2 x 3 x 16 x 20" in out
    assert "DAPI, GFP" in out
    assert "0.65 µm (x) x 0.5 µm (y)" in out
    assert "z step             1.5 µm" in out


def test_info_missing_pixel_size_then_override(capsys, tmp_path):
    path = tmp_path / "nocal.ome.tif"
    tifffile.imwrite(path, np.zeros((4, 5), np.uint8), metadata={"axes": "YX"})
    assert main(["info", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("cellmech: error:") and "PhysicalSizeX" in err and "--pixel-size" in err
    assert main(["info", str(path), "--pixel-size", "2e-7"]) == 0
    assert "0.2 µm (x) x 0.2 µm (y)" in capsys.readouterr().out


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "fmt-jpk-fd_map2x2_extracted.jpk-force-map",
            ["10 rows x 10 cols", "4 present of 100", "600 µm x 600 µm", "motor-stage"],
        ),
        (
            "fmt-jpk-fd_2020.02.07-16.29.05.036.jpk-qi-data",
            ["qi-map", "128 rows x 128 cols", "4 present of 16384"],
        ),
        ("fmt-jpk-fd_spot3-0192.jpk-force", ["single-curve", "1 rows x 1 cols"]),
    ],
)
def test_info_real_afm_files(capsys, name, expected):
    path = real_afm_file(name)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    for text in expected:
        assert text in out, f"{text!r} not in:\n{out}"


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    zero = tmp_path / "zero.tif"
    zero.write_bytes(b"")
    noise = tmp_path / "noise.tif"
    noise.write_bytes(np.random.default_rng(1).bytes(2048))
    unknown = tmp_path / "data.xyz"
    unknown.write_bytes(np.random.default_rng(2).bytes(2048))
    truncated = tmp_path / "cut.ome.tif"
    tifffile.imwrite(truncated, np.ones((3, 64, 64), np.uint16), metadata={"axes": "ZYX"})
    truncated.write_bytes(truncated.read_bytes()[:5000])
    folder = tmp_path / "folder"
    folder.mkdir()
    return {
        "missing": tmp_path / "missing.jpk-force-map",
        "directory": folder,
        "zero-byte": zero,
        "random-tif": noise,
        "unknown-suffix": unknown,
        "truncated": truncated,
    }


@pytest.mark.parametrize(
    "case", ["missing", "directory", "zero-byte", "random-tif", "unknown-suffix", "truncated"]
)
def test_errors_print_one_line_and_exit_2(capsys, tmp_path, case):
    path = _bad_inputs(tmp_path)[case]
    assert main(["info", str(path)]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("cellmech: error:")
    assert str(path) in lines[0]
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_debug_raises_with_traceback(tmp_path):
    with pytest.raises(MissingFileError):
        main(["--debug", "info", str(tmp_path / "missing.tif")])


def test_subprocess_exit_codes(tmp_path):
    ok = _run_module("formats")
    assert ok.returncode == 0, ok.stderr
    assert "tiff" in ok.stdout

    missing = tmp_path / "missing.jpk-force"
    bad = _run_module("info", str(missing))
    assert bad.returncode == EXIT_BAD_INPUT
    assert bad.stdout == ""
    assert bad.stderr.splitlines() == [f"cellmech: error: {missing}: no such file; check the path"]

    debug = _run_module("--debug", "info", str(missing))
    assert debug.returncode not in (0, EXIT_BAD_INPUT)
    assert "Traceback (most recent call last)" in debug.stderr
    assert "MissingFileError" in debug.stderr


_INTERRUPT_IN_A_FINALISER = """
import signal, sys, time, weakref
from cellmech.interrupts import interrupts_redelivered, sigterm_interrupts

class Thing:
    pass

def finaliser():
    signal.raise_signal(signal.{sig})  # its handler runs here, where Python swallows errors
    sum(range(1000))

try:
    if "{where}" == "after":  # the block ends before the redelivery: it raises nothing
        with interrupts_redelivered():
            thing = Thing()
            weakref.finalize(thing, finaliser)
            del thing  # the finaliser runs now
        time.sleep(0.5)
    else:  # a command, or python -m cellmech while it imports the command line
        with sigterm_interrupts() if "{where}" == "run" else interrupts_redelivered():
            thing = Thing()
            weakref.finalize(thing, finaliser)
            del thing
            for _ in range(10**9):  # a long computation the interrupt must still stop
                pass
    print("finished")
except KeyboardInterrupt:
    print("interrupted")
    sys.exit(130)
"""


@pytest.mark.parametrize(
    ("sig", "where", "outcome"),
    [
        ("SIGTERM", "run", (130, "interrupted")),
        ("SIGINT", "run", (130, "interrupted")),
        ("SIGINT", "import", (130, "interrupted")),
        ("SIGINT", "after", (0, "finished")),
    ],
)
def test_an_interrupt_inside_a_finaliser_still_interrupts(sig, where, outcome):
    """A signal that lands in a weakref callback (as one did in a `cellmech run` under CI)
    must neither be lost nor print CPython's "Exception ignored ... Traceback": during a
    command (SIGTERM handled by cellmech) and while `python -m cellmech` imports (SIGINT,
    Python's own handler). Once the command is over (the hook removed), a late redelivery
    raises nothing: the work is done."""
    script = _INTERRUPT_IN_A_FINALISER.replace("{sig}", sig).replace("{where}", where)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stdout.strip()) == outcome, done.stderr
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr


_INTERRUPT_AS_THE_COMMAND_ENDS = """
import _thread, signal
import cellmech.cli as cli

def command(argv):  # the work is done; an interrupt arrives as the command returns
    _thread.interrupt_main(signal.SIGTERM)
    return 0

cli._main = command
print(cli.main([]), signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
"""


def test_an_interrupt_as_the_command_ends_exits_130_without_traceback():
    """An interrupt raised after the command's own handler (a redelivery coming due as it
    returns) still ends in `cellmech: interrupted` and exit 130, and the SIGTERM handler is
    restored."""
    done = subprocess.run(
        [sys.executable, "-c", _INTERRUPT_AS_THE_COMMAND_ENDS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["130", "True"]
    assert done.stderr.strip() == "cellmech: interrupted"


@pytest.mark.parametrize(
    "command",
    ["formats", "info", "sample-data", "fit", "segment", "register", "run", "demo", "models"],
)
def test_every_command_prints_its_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: cellmech " + command in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--version"], ["formats"], ["--help"]])
def test_light_commands_never_load_kernels_or_stage_libraries(argv):
    """Building the parser imports no stage module: numba (kernels), scikit-image,
    SimpleITK, pandas and dask stay unloaded for commands that fit nothing."""
    probe = (
        "import sys\nfrom cellmech.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = ('numba', 'skimage', 'SimpleITK', 'pandas', 'dask')\n"
        "print('HEAVY=' + ','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    ).stdout.splitlines()
    assert out[-1] == "HEAVY=", f"{argv} loaded {out[-1]}"


def test_other_unraisable_exceptions_reach_the_hook_that_was_replaced(monkeypatch):
    """Only KeyboardInterrupt is redelivered; anything else a finaliser raises goes to the
    previous hook (e.g. pytest's, which reports it), also through nested blocks."""
    from cellmech.interrupts import interrupts_redelivered

    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: seen.append(unraisable.exc_type))

    class Broken:
        def __del__(self):
            raise ValueError("a finaliser's error")

    recorder = sys.unraisablehook
    with interrupts_redelivered(), interrupts_redelivered():
        Broken()
    assert seen == [ValueError]
    assert sys.unraisablehook is recorder
