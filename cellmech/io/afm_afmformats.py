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
* only force-distance curves are read. JPK curves with extra segments (creep-compliance and
  stress-relaxation recordings, pauses) are read as the fast reader reads them
  (:mod:`cellmech.io.jpk.segments`): approach = the first extend segment, retract = the last
  retract segment after it, chosen from the segment styles in the JPK headers, the others
  listed in ``metadata["segments"]``, time counted from the start of the approach; layouts
  afmformats itself cannot load (modulation segments, more than four segments) and files
  with no extend segment raise :class:`~cellmech.errors.NoCurvesError`, as do other
  formats holding no force-distance curve;
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
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from cellmech.containers import CurveBlock, CurveSegment, CurveStatus, ForceMap, GridGeometry
from cellmech.errors import (
    CellmechError,
    CorruptFileError,
    MissingMetadataError,
    NoCurvesError,
)
from cellmech.io.jpk import properties as jp
from cellmech.io.jpk.reader import CALIBRATION_HINT, mixed_spring_constants
from cellmech.io.jpk.segments import (
    choose_segments,
    describe_layout,
    no_approach,
    segment_info,
)
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


def _is_jpk(path: Path) -> bool:
    return path.name.lower().endswith(_JPK_SUFFIXES)


def _load(path: Path, override: dict[str, float]) -> list:
    """``afmformats.load_data`` for force-distance curves, errors translated.

    JPK files load in the modality afmformats detects (force-distance, creep-compliance,
    stress-relaxation): their approach and retract are chosen from the segment styles.
    """
    import afmformats
    from afmformats.errors import MissingMetaDataError

    modality = None if _is_jpk(path) else "force-distance"
    try:
        with _quiet():
            return afmformats.load_data(path, modality=modality, meta_override=override)
    except MissingMetaDataError as exc:
        keys = [_KEYS.get(k, k) for k in getattr(exc, "meta_keys", [])] or ["unknown"]
        raise MissingMetadataError(path, keys, hint=CALIBRATION_HINT) from None
    except NotImplementedError:
        raise
    except MemoryError:
        raise
    except (Exception, afmformats_base_error()) as exc:
        styles = _first_jpk_styles(path) if _is_jpk(path) else []
        if styles and choose_segments(styles)[0] is None:
            raise no_approach(path, "the first curve", styles) from None
        if len(styles) > 2:
            raise NoCurvesError(
                f"{path}: afmformats reads no force-distance curve from segments "
                f"{describe_layout(styles)}; read the file with cellmech's JPK reader "
                "(the default, reader='jpk')"
            ) from None
        raise CorruptFileError(
            f"{path}: afmformats could not read it ({type(exc).__name__}: {exc}); "
            "the file may be truncated or not a force-distance export"
        ) from None


def _first_jpk_styles(path: Path) -> list[str]:
    """Segment styles of the first curve of a JPK archive ([] when unreadable)."""
    try:
        with zipfile.ZipFile(path) as zf:
            headers = _JpkHeaders(zf)
            folder = next(iter(headers.folders), None)
            return [] if folder is None else [i.style for i in headers.segments(folder)]
    except (zipfile.BadZipFile, OSError, KeyError, EOFError, ValueError):
        return []


class _JpkHeaders:
    """The headers of an open JPK archive that afmformats does not pass on."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.names = set(zf.namelist())
        self.root = jp.parse_properties(zf.read("header.properties"))
        shared = "shared-data/header.properties"
        self.shared = jp.parse_properties(zf.read(shared)) if shared in self.names else {}
        #: curve folder ("index/<n>/" or "") -> number of segments
        self.folders: dict[str, int] = {}
        for name in sorted(self.names):
            head, sep, rest = name.partition("segments/")
            seg = rest.split("/", 1)[0]
            if sep and seg.isdigit() and (head == "" or head.startswith("index/")):
                self.folders[head] = max(self.folders.get(head, 0), int(seg) + 1)

    def curve(self, folder: str) -> dict:
        """The curve's ``header.properties`` (the root header in single-curve files)."""
        member = f"{folder}header.properties"
        if folder and member in self.names:
            return jp.parse_properties(self.zf.read(member))
        return self.root

    def segments(self, folder: str) -> list:
        """:class:`SegmentInfo` of every segment of the curve in ``folder``."""
        curve = self.curve(folder)
        out = []
        for s in range(self.folders.get(folder, 0)):
            member = f"{folder}segments/{s}/segment-header.properties"
            seg = jp.parse_properties(self.zf.read(member))
            props = jp.merge_segment_properties(curve, seg, self.shared, self.root)
            points = jp.prop_float(props, "force-segment-header.num-points") or 0
            duration = jp.prop_float(props, "force-segment-header.duration")
            duration = math.nan if duration is None else duration
            out.append(segment_info(props, s, int(points), duration))
        return out


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


def _jpk_headers(path: Path, curves: list) -> tuple[dict, list, list]:
    """Root header, each curve's recorded (x, y, position-index) and its segments (with the
    approach and retract roles set) from the JPK archive."""
    try:
        with zipfile.ZipFile(path) as zf:
            headers = _JpkHeaders(zf)
            positions, layouts = [], []
            for c in curves:
                enum = int(c.metadata["enum"])
                folder = f"index/{enum}/" if f"index/{enum}/" in headers.folders else ""
                x, y, idx = jp.series_position(headers.curve(folder))
                positions.append((x, y, enum if idx is None else idx))
                layouts.append(_with_roles(headers.segments(folder)))
    except (zipfile.BadZipFile, OSError, KeyError, EOFError) as exc:
        raise CorruptFileError(f"{path}: cannot read the JPK headers ({exc})") from exc
    return headers.root, positions, layouts


def _with_roles(infos: list) -> tuple:
    """``infos`` with the approach and retract (:func:`choose_segments`) marked."""
    roles = choose_segments([i.style for i in infos])
    names = {roles[0]: "approach", roles[1]: "retract"}
    return tuple(replace(i, role=names.get(i.index, "")) for i in infos)


def _role_numbers(layout: tuple) -> tuple[int, int]:
    """(approach, retract) segment numbers of a curve's segments (-1 where absent)."""
    found = {info.role: info.index for info in layout}
    return found.get("approach", -1), found.get("retract", -1)


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


def _curve_dicts(curve: Any, force_factor: float, roles: tuple) -> tuple[dict, dict]:
    """Approach and retract (segment numbers ``roles``; None: absent) of one afmformats curve
    as dicts of 1-D arrays (SI units; time from the start of the approach)."""
    cols = curve.columns
    seg = np.asarray(curve["segment"])
    height = curve["height (piezo)"] if "height (piezo)" in cols else curve["height (measured)"]
    data = {"height_m": np.asarray(height, float), "force_n": np.asarray(curve["force"], float)}
    data["force_n"] = data["force_n"] * force_factor
    if "height (measured)" in cols:
        data["measured_height_m"] = np.asarray(curve["height (measured)"], float)
    if "time" in cols:
        data["time_s"] = np.asarray(curve["time"], float)
    approach, retract = ({k: v[seg == s] for k, v in data.items()} for s in roles)
    if "time_s" in data and approach["time_s"].size:
        start = approach["time_s"][0]
        approach["time_s"], retract["time_s"] = (p["time_s"] - start for p in (approach, retract))
    return approach, retract


def _loader(path: Path, curves: list, force_factor: float, roles: list):
    """Loader of ``curves`` whose approach and retract are segments ``roles[i]`` (-1: none;
    a curve without approach is CORRUPT)."""

    def load(
        indices: np.ndarray, fields: frozenset[str] | None = None, threads: int | None = None
    ) -> CurveBlock:
        try:
            with _quiet():
                parts = [_curve_dicts(curves[i], force_factor, roles[i]) for i in indices]
        except CellmechError:
            raise
        except (Exception, afmformats_base_error()) as exc:
            raise CorruptFileError(
                f"{path}: afmformats failed to load curve data ({exc})"
            ) from None
        retract = CurveSegment.from_curves([p[1] for p in parts])
        status = np.array([roles[i][0] < 0 for i in indices], np.int8) * CurveStatus.CORRUPT
        return CurveBlock(
            curve_index=np.asarray(indices, np.int64),
            approach=CurveSegment.from_curves([p[0] for p in parts]),
            retract=retract if retract.n_points.any() else None,
            status=status if status.any() else None,
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
    metadata = {"reader": "afmformats", "format": str(md.get("format", ""))}
    roles = [(0, 1)] * len(curves)
    if _is_jpk(p):
        root, positions, layouts = _jpk_headers(p, curves)
        roles = [_role_numbers(layout) for layout in layouts]
        if all(a < 0 for a, _ in roles):
            raise no_approach(p, "no curve", [i.style for i in layouts[0]])
        metadata["segments"] = tuple(layouts)
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
        loader=_loader(p, curves, factor, roles),
        metadata=metadata,
        has_measured_height=all("height (measured)" in c.columns for c in curves),
    )
