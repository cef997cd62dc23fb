"""Backbone AFM reader: every force-distance format afmformats reads, as a ForceMap.

afmformats (MIT; Müller et al., AFM-analysis) reads JPK force/map/QI files, Asylum Igor
``.ibw``, AFM Workshop ``.csv``, NT-MDT and its own HDF5 export. This module turns its curves
into a :class:`~cellmech.containers.ForceMap`:

* columns: ``"height (piezo)"`` -> :attr:`CurveSegment.height_m`, ``"height (measured)"`` ->
  ``measured_height_m``, ``"force"``, ``"time"``; approach/retract from ``"segment"``
  (0 / 1). Formats without a piezo height (AFM Workshop CSV records only the Z sensor) use
  the measured height as ``height_m`` too, since it is the only height there is;
* grids: afmformats drops the JPK grid ``theta``/``reflect``, the scan order and the active xy
  scanner, so for JPK files the grid and each curve's ``position-index`` come from the JPK
  headers (:mod:`cellmech.io.jpk.properties`, shared with the fast reader); other formats
  use afmformats' grid metadata (``grid index x/y``) when present, else one single curve
  (1x1) or a 1 x n row of curves;
* only force-distance curves are read: files holding none (creep-compliance or
  stress-relaxation exports) raise :class:`~cellmech.errors.NoCurvesError`;
* afmformats' exceptions (some derive from ``BaseException``) become cellmech errors naming
  the file, and its logged tracebacks are silenced.

Curves are loaded lazily: afmformats keeps JPK data lazy until a column is accessed. A block
whose curves have no retract points (e.g. approach-only Igor files) has ``retract=None``.
"""

from __future__ import annotations

import contextlib
import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from cellmech.containers import CurveBlock, CurveSegment, ForceMap, GridGeometry
from cellmech.errors import (
    CellmechError,
    CorruptFileError,
    MissingMetadataError,
    NoCurvesError,
)
from cellmech.io.jpk import properties as jp
from cellmech.io.jpk.reader import CALIBRATION_HINT, mixed_spring_constants
from cellmech.logs import quiet

__all__ = ["can_read", "read"]

_JPK_SUFFIXES = (".jpk-force", ".jpk-force-map", ".jpk-qi-data", ".jpk-qi-series")
_KEYS = {"spring constant": "spring_constant_n_per_m", "sensitivity": "sensitivity_m_per_v"}


def _quiet() -> contextlib.ExitStack:
    """Silence afmformats' logged tracebacks (and igor2's dumps of raw bytes) on this thread;
    their failures are re-raised as cellmech errors."""
    stack = contextlib.ExitStack()
    for name in ("afmformats", "igor2"):
        stack.enter_context(quiet(name))
    return stack


def can_read(path: str | os.PathLike) -> bool:
    """True if afmformats has a recipe for the file (suffix, then the recipe's detector)."""
    try:
        import afmformats.formats as aff

        p = Path(path)
        if p.suffix.lower() not in aff.supported_extensions or not p.is_file():
            return False
        with _quiet():
            aff.get_recipe(p)
        return True
    except (Exception, afmformats_base_error()):
        return False


def afmformats_base_error() -> type[BaseException]:
    """afmformats' error base class (it derives from BaseException, not Exception)."""
    from afmformats.errors import AFMFileFormatError

    return AFMFileFormatError


def _load(path: Path, override: dict[str, float]) -> list:
    """``afmformats.load_data`` for force-distance curves, errors translated."""
    import afmformats
    from afmformats.errors import MissingMetaDataError

    try:
        with _quiet():
            return afmformats.load_data(path, modality="force-distance", meta_override=override)
    except MissingMetaDataError as exc:
        keys = [_KEYS.get(k, k) for k in getattr(exc, "meta_keys", [])] or ["unknown"]
        raise MissingMetadataError(path, keys, hint=CALIBRATION_HINT) from None
    except NotImplementedError:
        raise
    except MemoryError:
        raise
    except (Exception, afmformats_base_error()) as exc:
        raise CorruptFileError(
            f"{path}: afmformats could not read it ({type(exc).__name__}: {exc}); "
            "the file may be truncated or not a force-distance export"
        ) from None


def _load_with_override(path: Path, k: float | None, sens: float | None) -> tuple[list, float]:
    """Load the curves; returns them and the factor still to apply to their force.

    afmformats recomputes the force from a new spring constant/sensitivity where the format
    allows it; where it refuses (Igor ``.ibw`` stores deflection in m) the force is rescaled
    here by ``k_new / k_file * sens_new / sens_file``.
    """
    override = {
        key: float(v) for key, v in (("spring constant", k), ("sensitivity", sens)) if v is not None
    }
    try:
        return _load(path, override), 1.0
    except NotImplementedError:
        curves = _load(path, {})
    md = curves[0].metadata if curves else {}
    factor = 1.0
    for key, value in override.items():
        old = md.get(key)
        if old and math.isfinite(old):
            factor *= value / old
    return curves, factor


def _jpk_positions(path: Path, curves: list) -> tuple[dict, list]:
    """Root header and each curve's recorded (x, y, position-index) from the JPK archive."""
    try:
        with zipfile.ZipFile(path) as zf:
            root = jp.parse_properties(zf.read("header.properties"))
            names = set(zf.namelist())
            positions = []
            for c in curves:
                member = f"index/{int(c.metadata['enum'])}/header.properties"
                head = jp.parse_properties(zf.read(member)) if member in names else root
                x, y, idx = jp.series_position(head)
                positions.append((x, y, int(c.metadata["enum"]) if idx is None else idx))
    except (zipfile.BadZipFile, OSError, KeyError, EOFError) as exc:
        raise CorruptFileError(f"{path}: cannot read the JPK headers ({exc})") from exc
    return root, positions


def _generic_cells(curves: list) -> tuple[str, GridGeometry, np.ndarray, np.ndarray, np.ndarray]:
    """Kind, grid and cells of non-JPK files from afmformats' grid metadata."""
    md = curves[0].metadata
    n = len(curves)
    keys = ("grid shape x", "grid shape y", "grid size x", "grid size y", "grid center x")
    if n > 1 and all(k in md for k in keys) and all("grid index x" in c.metadata for c in curves):
        shape = (int(md["grid shape y"]), int(md["grid shape x"]))
        grid = GridGeometry(
            shape,
            (md["grid center x"], md.get("grid center y", 0.0)),
            (md["grid size x"], md["grid size y"]),
        )
        col = np.array([c.metadata["grid index x"] for c in curves], np.int64)
        row = np.array([c.metadata["grid index y"] for c in curves], np.int64)
        return "force-map", grid, row * shape[1] + col, row, col
    x = md.get("position x", 0.0)
    y = md.get("position y", 0.0)
    if n == 1:
        grid = GridGeometry((1, 1), (x, y), (0.0, 0.0))
        zero = np.zeros(1, np.int64)
        return "single-curve", grid, zero, zero, zero
    grid = GridGeometry((1, n), (x, y), (0.0, 0.0))
    idx = np.arange(n, dtype=np.int64)
    return "force-map", grid, idx, np.zeros(n, np.int64), idx


def _curve_dicts(curve: Any, force_factor: float) -> tuple[dict, dict]:
    """Approach and retract of one afmformats curve as dicts of 1-D arrays (SI units)."""
    cols = curve.columns
    seg = np.asarray(curve["segment"])
    height = curve["height (piezo)"] if "height (piezo)" in cols else curve["height (measured)"]
    data = {"height_m": np.asarray(height, float), "force_n": np.asarray(curve["force"], float)}
    data["force_n"] = data["force_n"] * force_factor
    if "height (measured)" in cols:
        data["measured_height_m"] = np.asarray(curve["height (measured)"], float)
    if "time" in cols:
        data["time_s"] = np.asarray(curve["time"], float)
    return tuple({k: v[seg == s] for k, v in data.items()} for s in (0, 1))


def _loader(path: Path, curves: list, force_factor: float):
    def load(
        indices: np.ndarray, fields: frozenset[str] | None = None, threads: int | None = None
    ) -> CurveBlock:
        try:
            with _quiet():
                parts = [_curve_dicts(curves[int(i)], force_factor) for i in indices]
        except CellmechError:
            raise
        except (Exception, afmformats_base_error()) as exc:
            raise CorruptFileError(
                f"{path}: afmformats failed to load curve data ({exc})"
            ) from None
        retract = CurveSegment.from_curves([p[1] for p in parts])
        return CurveBlock(
            curve_index=np.asarray(indices, np.int64),
            approach=CurveSegment.from_curves([p[0] for p in parts]),
            retract=retract if retract.n_points.any() else None,
        )

    return load


def _check_one_spring_constant(path: Path, curves: list, k: float) -> None:
    """CorruptFileError when a curve's recorded spring constant differs from ``k``."""
    for i, curve in enumerate(curves):
        other = curve.metadata.get("spring constant", k)
        if not math.isclose(other, k, rel_tol=1e-9):
            raise mixed_spring_constants(path, i, k, other)


def read(
    path: str | os.PathLike,
    *,
    spring_constant_n_per_m: float | None = None,
    sensitivity_m_per_v: float | None = None,
) -> ForceMap:
    """Read any force-distance file afmformats supports.

    Parameters
    ----------
    path : path-like
        The file.
    spring_constant_n_per_m : float, optional
        Replaces (or supplies) the spring constant in N/m; forces are recomputed.
    sensitivity_m_per_v : float, optional
        Replaces (or supplies) the deflection sensitivity in m/V.

    Returns
    -------
    ForceMap
        Curves load lazily; sensitivity is NaN when the format stores force directly.

    Raises
    ------
    MissingMetadataError
        No spring constant in the file and none supplied.
    NoCurvesError
        The file holds no force-distance curve.
    UnsupportedFormatError, CorruptFileError
        afmformats cannot read the file.
    """
    p = Path(path)
    curves, factor = _load_with_override(p, spring_constant_n_per_m, sensitivity_m_per_v)
    if not curves:
        raise NoCurvesError(
            f"{p}: no force-distance curve in the file (creep-compliance or stress-relaxation "
            "recordings are not analysed by cellmech)"
        )
    md = curves[0].metadata
    k = (
        spring_constant_n_per_m
        if spring_constant_n_per_m is not None
        else md.get("spring constant")
    )
    if k is None or not math.isfinite(k):
        raise MissingMetadataError(p, ["spring_constant_n_per_m"], hint=CALIBRATION_HINT)
    if k <= 0:
        raise CorruptFileError(f"{p}: spring constant {k!r} N/m is not > 0; {CALIBRATION_HINT}")
    if spring_constant_n_per_m is None:
        _check_one_spring_constant(p, curves, k)
    sens = (
        sensitivity_m_per_v if sensitivity_m_per_v is not None else md.get("sensitivity", math.nan)
    )
    if p.name.lower().endswith(_JPK_SUFFIXES):
        root, positions = _jpk_positions(p, curves)
        kind, grid, pos, row, col = jp.map_cells(root, positions, p)
        xy = np.array([q[:2] for q in positions], float)
    else:
        kind, grid, pos, row, col = _generic_cells(curves)
        xy = np.array(
            [
                (c.metadata.get("position x", math.nan), c.metadata.get("position y", math.nan))
                for c in curves
            ],
            float,
        )
    return ForceMap(
        path=p,
        kind=kind,
        grid=grid,
        position_index=pos,
        row=row,
        col=col,
        x_m=xy[:, 0],
        y_m=xy[:, 1],
        spring_constant_n_per_m=k,
        sensitivity_m_per_v=sens,
        loader=_loader(p, curves, factor),
        metadata={"reader": "afmformats", "format": str(md.get("format", ""))},
        has_measured_height=all("height (measured)" in c.columns for c in curves),
    )
