"""Reader registry: which reader handles which file.

A reader is a module exposing ``can_read(path) -> bool`` (cheap, never raises) and
``read(path, **options)`` returning a :class:`~cellmech.containers.ForceMap` (kind "afm") or a
:class:`~cellmech.containers.FluorescenceStack` (kind "fluorescence"). Built-in readers are
listed in :data:`BUILTIN_READERS`; third-party packages add theirs through the entry-point group
``cellmech.readers`` (each entry point loads a :class:`ReaderSpec`). Modules are imported only
when a reader is used, so listing formats stays cheap.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Literal

from cellmech.errors import (
    ConfigError,
    CorruptFileError,
    MissingFileError,
    UnsupportedFormatError,
)

__all__ = ["BUILTIN_READERS", "ReaderSpec", "check_input_file", "find_reader", "readers"]

ENTRY_POINT_GROUP = "cellmech.readers"


@dataclass(frozen=True)
class ReaderSpec:
    """Description of one reader.

    Parameters
    ----------
    name : str
        Short unique name ("jpk", "afmformats", "tiff").
    kind : {"afm", "fluorescence"}
        What the reader returns.
    suffixes : tuple of str
        Lower-case file suffixes it handles, with the dot (".jpk-force-map").
    description : str
        One line for ``cellmech formats``.
    module : str
        Import path of the module providing ``can_read`` and ``read``.
    """

    name: str
    kind: Literal["afm", "fluorescence"]
    suffixes: tuple[str, ...]
    description: str
    module: str

    def load(self) -> ModuleType:
        """Import and return the reader module."""
        return importlib.import_module(self.module)

    def matches_suffix(self, path: Path) -> bool:
        """True if ``path`` ends with one of this reader's suffixes."""
        name = path.name.lower()
        return any(name.endswith(s) for s in self.suffixes)


BUILTIN_READERS: tuple[ReaderSpec, ...] = (
    ReaderSpec(
        name="jpk",
        kind="afm",
        suffixes=(".jpk-force-map", ".jpk-qi-data", ".jpk-force"),
        description="JPK/Bruker NanoWizard force maps, QI maps and single curves "
        "(fast vectorised reader)",
        module="cellmech.io.jpk.reader",
    ),
    ReaderSpec(
        name="afmformats",
        kind="afm",
        # exactly afmformats.formats.supported_extensions (a test keeps them equal)
        suffixes=(
            ".jpk-force-map",
            ".jpk-qi-data",
            ".jpk-qi-series",
            ".jpk-force",
            ".ibw",
            ".csv",
            ".tab",
            ".txt",
            ".h5",
            ".zip",
        ),
        description="every force-distance format afmformats reads (Asylum .ibw, "
        "AFM Workshop .csv, NT-MDT .txt, afmformats HDF5 .h5, .tab, zipped exports, JPK)",
        module="cellmech.io.afm_afmformats",
    ),
    ReaderSpec(
        name="tiff",
        kind="fluorescence",
        suffixes=(".ome.tif", ".ome.tiff", ".tif", ".tiff"),
        description="OME-TIFF and ImageJ TIFF fluorescence stacks (tifffile)",
        module="cellmech.io.fluo_tiff",
    ),
)


@cache
def _plugin_readers() -> tuple[ReaderSpec, ...]:
    """Readers registered by installed packages under :data:`ENTRY_POINT_GROUP` (scanning the
    installed distributions costs ~30 ms, so it waits until a built-in reader cannot serve)."""
    from importlib.metadata import entry_points

    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = ep.load()
        except Exception as exc:  # a broken plugin must not break every read
            warnings.warn(
                f"cellmech reader plugin {ep.name!r} ({ep.value}) failed to load and is "
                f"ignored: {type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        if isinstance(spec, ReaderSpec):
            found.append(spec)
    return tuple(found)


def readers(kind: str | None = None) -> tuple[ReaderSpec, ...]:
    """All registered readers (built-in first), optionally only those of ``kind``."""
    every = BUILTIN_READERS + _plugin_readers()
    return tuple(r for r in every if kind is None or r.kind == kind)


def check_input_file(path: str | Path) -> Path:
    """Return ``path`` as a Path after checking it is a non-empty regular file.

    Raises
    ------
    MissingFileError
        If nothing exists at ``path``.
    CorruptFileError
        If ``path`` is a directory, not a regular file, or an empty file.
    """
    p = Path(path)
    if not p.exists():
        raise MissingFileError(f"{p}: no such file; check the path")
    if p.is_dir():
        raise CorruptFileError(f"{p}: is a directory, expected a data file")
    if not p.is_file():
        raise CorruptFileError(f"{p}: is not a regular file (a FIFO, device or socket)")
    if p.stat().st_size == 0:
        raise CorruptFileError(f"{p}: the file is empty (0 bytes); re-export it")
    return p


def find_reader(path: Path, kind: str, name: str | None = None) -> ReaderSpec:
    """Pick the reader for ``path``: ``name`` if given, else the first whose ``can_read`` agrees.

    Readers whose suffix matches are asked first (built-in before plugins), then the rest;
    installed plugins are looked up only when no built-in reader serves.

    Raises
    ------
    UnsupportedFormatError
        If no reader of ``kind`` recognises the file.
    ConfigError
        If no reader of ``kind`` is called ``name``.
    """
    builtin = tuple(r for r in BUILTIN_READERS if r.kind == kind)
    if name is not None:  # the plugins are looked up only for a name no built-in has
        chosen = [r for r in builtin if r.name == name] or [
            r for r in readers(kind) if r.name == name
        ]
        if chosen:
            return chosen[0]
        valid = ", ".join(r.name for r in readers(kind))
        raise ConfigError(f"unknown {kind} reader {name!r}; valid readers: {valid}")
    spec = _first_readable([r for r in builtin if r.matches_suffix(path)], path)
    if spec is not None:  # built-ins lead the full order below
        return spec
    candidates = readers(kind)
    ordered = sorted(candidates, key=lambda r: not r.matches_suffix(path))
    spec = _first_readable(ordered, path)
    if spec is None:
        tried = [r.name for r in ordered]
        raise UnsupportedFormatError(path, tried, [s for r in candidates for s in r.suffixes])
    return spec


def _first_readable(specs: list[ReaderSpec], path: Path) -> ReaderSpec | None:
    """The first of ``specs`` whose reader says it can read ``path``, or None."""
    return next((spec for spec in specs if spec.load().can_read(path)), None)
