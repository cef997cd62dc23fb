"""Import hygiene of the core package, checked in fresh interpreters.

- no Qt binding, napari or magicgui is loaded by any module under ``cellmech/`` (the GUI lives
  in ``plugins/napari_cellmech``);
- nanite (GPL-3) is never loaded by ``cellmech`` (it is a test/benchmark reference only);
- Dask lives at the edges: only ``cellmech.parallel`` and ``cellmech.batch`` import dask or
  distributed, and the rest of the package imports without loading them.

Every module is discovered with :mod:`pkgutil`, so modules added later are covered. A spy on
``builtins.__import__`` records which cellmech module runs each watched import statement, so a
failure names the culprit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
GUI = {
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6",
    "shiboken2",
    "shiboken6",
    "qtpy",
    "napari",
    "magicgui",
}
DASK = {"dask", "distributed"}
DASK_EDGES = {"cellmech.parallel", "cellmech.batch"}

PROBE = r"""
import builtins, importlib, json, pkgutil, sys

skip = set(filter(None, sys.argv[1].split(",")))
watched = {WATCHED}
edges = {EDGES}
statements = []  # [importer, target] for every watched import run by cellmech code
_import = builtins.__import__


def _spy(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {}).get("__name__") or ""
    if level == 0 and importer.partition(".")[0] == "cellmech":
        for target in [name, *(f"{name}.{item}" for item in fromlist or ())]:
            if target.partition(".")[0] in watched or target in edges:
                statements.append([importer, target])
    return _import(name, globals, locals, fromlist, level)


builtins.__import__ = _spy
for code in sys.argv[2:]:  # planted statements, to prove the spy works
    exec(code, {"__name__": "cellmech._planted"})
import cellmech

names = ["cellmech.io", "cellmech.cli", "cellmech.models"]
names += sorted(m.name for m in pkgutil.walk_packages(cellmech.__path__, "cellmech."))
if "*" in skip:
    names = []
imported, failed = [], {}
for name in dict.fromkeys(names):
    if name == "cellmech.__main__" or name in skip:  # __main__ would run the CLI
        continue
    try:
        importlib.import_module(name)
        imported.append(name)
    except Exception as exc:
        failed[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({
    "imported": imported,
    "failed": failed,
    "statements": statements,
    "top_level": sorted({m.partition(".")[0] for m in sys.modules}),
}))
"""


def _probe(skip: set[str] = frozenset(), planted: tuple[str, ...] = ()) -> dict:
    """Import every cellmech module but ``skip`` ("*": none) in a fresh interpreter, after
    running the ``planted`` statements as module ``cellmech._planted``; report what loaded."""
    script = PROBE.replace("{WATCHED}", repr(GUI | DASK | {"nanite"})).replace(
        "{EDGES}", repr(DASK_EDGES)
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", script, ",".join(sorted(skip)), *planted],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def everything() -> dict:
    return _probe()


@pytest.fixture(scope="module")
def without_dask_edges() -> dict:
    return _probe(skip=DASK_EDGES)


def _culprits(report: dict, packages: set[str]) -> list[list[str]]:
    return [s for s in report["statements"] if s[1].partition(".")[0] in packages]


def test_every_module_imports(everything):
    assert "cellmech.cli" in everything["imported"]
    assert "cellmech.io.fluo_tiff" in everything["imported"]  # discovery reaches subpackages
    assert everything["failed"] == {}


def test_no_gui_toolkit_in_core(everything):
    loaded = GUI & set(everything["top_level"])
    assert not loaded, f"loaded {loaded}; import statements: {_culprits(everything, GUI)}"


def test_nanite_never_imported(everything):
    assert "nanite" not in everything["top_level"], _culprits(everything, {"nanite"})


def test_dask_imported_only_by_parallel_and_batch(everything):
    importers = {importer for importer, _ in _culprits(everything, DASK)}
    assert importers <= DASK_EDGES, _culprits(everything, DASK)


def test_core_imports_without_dask(without_dask_edges):
    report = without_dask_edges
    assert not DASK_EDGES & set(report["imported"])
    loaded = DASK & set(report["top_level"])
    edge_imports = [s for s in report["statements"] if s[1] in DASK_EDGES]
    assert not loaded, f"{loaded} loaded; via {_culprits(report, DASK) + edge_imports}"


def test_spy_sees_planted_imports():
    """The probe itself can fail: a planted ``import dask`` is attributed to its module."""
    report = _probe(skip={"*"}, planted=("import dask.array", "from dask import delayed"))
    assert ["cellmech._planted", "dask.array"] in report["statements"]
    assert ["cellmech._planted", "dask.delayed"] in report["statements"]
    assert "dask" in report["top_level"]


def test_a_one_chunk_fit_never_loads_dask(tmp_path):
    """A map that fits in one chunk runs the plain loop whatever the worker count: Dask's
    scheduler lookup would import distributed (~0.5 s of a small run's start-up)."""
    code = (
        "import sys\n"
        "from cellmech.cli import main\n"
        f"assert main(['fit', {str(REPO_ROOT / 'sample_data' / 'sample.jpk-force-map')!r}, "
        f"'-o', {str(tmp_path / 'out')!r}, '--chunks', '24', '24', '-q']) == 0\n"
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]", proc.stdout
