"""Fast, vectorised reader for JPK force maps, QI maps and single force curves.

The archive (see :mod:`cellmech.io.jpk.properties` for the header logic) is read directly:
only the members of the channels cellmech needs are inflated (``height``, ``vDeflection`` and
the measured-height sensor), the raw big-endian integers are decoded with NumPy into padded
``(n, m)`` blocks and scaled by the encoder and conversion-set steps folded into one
multiply-add (:attr:`~cellmech.io.jpk.properties.ChannelRecipe.affine`), so values agree with
afmformats' step-by-step conversion to a few units in the last place (tests check 1e-12 of
each channel's range).

Headers are parsed once per *template*: every curve's headers are read, reduced to the lines
that decide how its channels convert (``channel.*`` lines except point counts, and the
references into ``shared-data/header.properties``) and curves whose reduced headers and
channel files are equal share one parsed recipe; curves that differ get their own, so
nothing is assumed about the map. What varies per curve (position, ``position-index``,
number of points, duration) is read from each curve's own header.

Curves with more than two segments (pauses, modulations: :mod:`cellmech.io.jpk.segments`)
are read as force-distance curves: the approach is the first ``extend`` segment, the retract
the last ``retract`` segment after it; the other segments are listed (style, type, points,
duration) in ``ForceMap.metadata["segments"]`` and their data is never inflated. Curves may
differ in their segments; a curve without an ``extend`` segment, or without a retract and
with fewer segments than its header declares (a damaged file), is marked corrupt; a file
where no curve is readable is refused.

Loading is lazy (:attr:`ForceMap.loader`): only the requested curves, and of them only the
channels asked for (``fields``: e.g. no piezo height when the measured height is used, no time
axes), are inflated (libdeflate through ``deflate``: inflate ~1.5x and CRC-32 ~8x faster than
zlib here), in parallel threads (the GIL is released while inflating) reading through one file
descriptor with ``os.pread`` (no shared file position, so no zip handle per thread is
needed); memory scales with the block, not the map.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import re
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellmech.containers import CurveBlock, CurveSegment, CurveStatus, ForceMap
from cellmech.errors import CorruptFileError, MissingMetadataError, NoCurvesError
from cellmech.io.jpk import properties as jp
from cellmech.io.jpk.archive import Archive
from cellmech.io.jpk.segments import SegmentInfo, choose_segments, no_approach, segment_info
from cellmech.runtime import available_cores

__all__ = ["SUFFIXES", "can_read", "read"]

SUFFIXES = (".jpk-force-map", ".jpk-qi-data", ".jpk-force")
CALIBRATION_HINT = "pass --spring-constant N_PER_M (CLI) or spring_constant_n_per_m= (Python)"

#: header lines that can change how a channel converts (channel recipes and shared
#: references, point counts excluded) or say which segment it is (style, type, name)
_TEMPLATE_RE = re.compile(
    r"^(?:channel\.|force-segment-header\.(?:force-segment-header-info|"
    r"settings\.(?:segment-settings\.)?(?:style|type)(?=[ \t]*[=:])|name\.name(?=[ \t]*[=:])))"
    r"(?![^\n]*num-points)[^\n]*",
    re.M,
)
#: ``key = value`` of a curve's position lines (plain numbers: no escapes to resolve)
_POSITION_RE = re.compile(
    r"^((?:force-scan|quantitative-imaging)-(?:series|map)\.header\.position[^\s=:\\]*)"
    r"[ \t\f]*[=:]?[ \t\f]*([^\n]*)",
    re.M,
)
#: ``<series>.force-segments.count``: how many segments the curve's header says were recorded
_SEGMENT_COUNT_RE = re.compile(r"^[\w-]+\.force-segments\.count[ \t]*[=:][ \t]*(\S+)", re.M)
_NUM_POINTS_RE = re.compile(r"^force-segment-header\.num-points[ \t]*[=:][ \t]*(\S+)", re.M)
_DURATION_RE = re.compile(r"^force-segment-header\.duration[ \t]*[=:][ \t]*(\S+)", re.M)
_UNITS = {"force": "N", "height": "m", "measured_height": "m"}
#: most points one curve segment may declare (16 Mi: 128 MiB per channel as float64; real
#: recordings hold up to ~10^5); a curve declaring more is marked corrupt, never inflated
MAX_SEGMENT_POINTS = 2**24
#: largest header member read, in bytes (real headers are a few kB to a few MB)
MAX_HEADER_BYTES = 2**26


def mixed_spring_constants(path, index: int, k0: float, k: float) -> CorruptFileError:
    """The error for a map whose curve ``index`` carries spring constant ``k`` (N/m) where
    curve 0 carries ``k0``: the map is fitted with one spring constant, the user chooses it."""
    return CorruptFileError(
        f"{path}: curves 0 and {index} carry different spring constants ({k0:.6g} vs "
        f"{k:.6g} N/m); cellmech fits a map with one spring constant: {CALIBRATION_HINT} to "
        "use one value for every curve"
    )


def can_read(path: str | os.PathLike) -> bool:
    """True for files with a JPK suffix, or zip archives laid out like a JPK file."""
    try:
        p = Path(path)
        if p.name.lower().endswith(SUFFIXES):
            return True
        if not p.is_file() or not zipfile.is_zipfile(p):
            return False
        with zipfile.ZipFile(p) as zf:
            names = set(zf.namelist())
        return "header.properties" in names and any(
            n.startswith(("segments/", "index/")) for n in names
        )
    except Exception:
        return False


@dataclass(frozen=True)
class _SegmentRecipe:
    """Per-template recipe of one segment: quantity -> (channel recipe, member suffix) for
    the segments read (approach, retract; empty for the others) and what the header says."""

    channels: dict
    num_points_override: float | None
    duration_override: float | None
    info: SegmentInfo


_MEMBER_RE = re.compile(r"^(index/\d+/|)segments/(\d+)/([^\n]+)$", re.M)


def _layout(names: Sequence[str], path: Path) -> dict[str, dict[int, list[str]]]:
    """Curve folder -> segment number -> member names under ``segments/<s>/``, sorted.

    The folder is ``"index/<n>/"`` in maps and ``""`` in single-curve files.
    """
    curves: dict[str, dict[int, list[str]]] = {}
    for folder, seg, rest in _MEMBER_RE.findall("\n".join(names)):
        curves.setdefault(folder, {}).setdefault(int(seg), []).append(rest)
    if not curves:
        raise NoCurvesError(f"{path}: the archive holds no curve (no segments/ or index/ folders)")
    if "" in curves and len(curves) > 1:
        raise CorruptFileError(f"{path}: mixes single-curve and indexed layouts")
    for segs in curves.values():
        for members in segs.values():
            members.sort()
    return dict(sorted(curves.items(), key=lambda kv: int(kv[0].split("/")[1]) if kv[0] else 0))


class _Reader:
    """Open JPK archive: header templates, per-curve table and the block loader."""

    def __init__(self, path: Path, k_override: float | None, sens_override: float | None):
        self.path = path
        self.k_override, self.sens_override = k_override, sens_override
        self.archive = Archive(path)
        if "header.properties" not in self.archive.entries:
            raise CorruptFileError(f"{path}: header.properties missing; not a JPK archive")
        self.root = jp.parse_properties(self.archive.read("header.properties", MAX_HEADER_BYTES))
        shared_name = "shared-data/header.properties"
        self.shared = (
            jp.parse_properties(self.archive.read(shared_name, MAX_HEADER_BYTES))
            if shared_name in self.archive.entries
            else {}
        )
        self.layout = _layout(list(self.archive.entries), path)
        self.templates: dict[tuple, int] = {}
        self.recipes: list[list[_SegmentRecipe]] = []
        #: per template: (approach segment, retract segment or None)
        self.roles: list[tuple[int, int | None]] = []
        #: per curve: (approach, retract or None), each (template id, segment number, members
        #: by quantity, n_points, header num-points, duration in s, start in s after the
        #: approach's start)
        self.curves: list[tuple] = []
        #: per curve: every recorded segment (empty for a curve that could not be read)
        self.layouts: list[tuple[SegmentInfo, ...]] = []
        self.positions: list[tuple[float, float, int | None]] = []
        #: per template: (spring constant, sensitivity)
        self.calibrations: list[tuple[float, float]] = []
        #: curve position -> why it is corrupt (its values load as NaN, status CORRUPT)
        self.corrupt: dict[int, str] = {}
        self._scan()

    # ---------------------------------------------------------------- opening
    def _scan(self) -> None:
        """Read every curve's headers; a curve damaged in the file or without an approach
        is marked corrupt (its reason kept in :attr:`corrupt`), unless it is the only one."""
        errors = []
        for folder, segs in self.layout.items():
            try:
                position, curve, layout = self._scan_curve(folder, segs)
            except (CorruptFileError, NoCurvesError, KeyError) as exc:
                if len(self.layout) == 1:
                    raise _corrupt(self.path, exc) from exc
                errors.append(_corrupt(self.path, exc))
                self.corrupt[len(self.curves)] = str(errors[-1])
                position = self._position(folder, None)
                curve, layout = ((-1, 0, {}, 0, 1.0, 0.0, 0.0), None), ()
            self.positions.append(position)
            self.curves.append(curve)
            self.layouts.append(layout)
        if len(self.corrupt) == len(self.curves):
            raise errors[0]

    def _scan_curve(self, folder: str, segs: dict) -> tuple[tuple, tuple, tuple]:
        """Position, (approach, retract) table and segment list of one curve (template
        recipes built when new)."""
        if sorted(segs) != list(range(len(segs))):
            raise CorruptFileError(
                f"{self.path}: curve {folder or '0'} has segments {sorted(segs)}, not "
                f"numbered 0 to {len(segs) - 1}; the file is damaged"
            )
        curve_text = (
            self.archive.read(folder + "header.properties", MAX_HEADER_BYTES).decode("latin-1")
            if folder
            else None
        )
        seg_texts = [
            self.archive.read(
                f"{self._seg_dir(folder, s)}segment-header.properties", MAX_HEADER_BYTES
            ).decode("latin-1")
            for s in range(len(segs))
        ]
        key = (
            None if curve_text is None else _template(curve_text),
            *(_template(t) for t in seg_texts),
            *(tuple(segs[s]) for s in range(len(segs))),
        )
        tid = self.templates.get(key)
        if tid is None:
            recipes, roles, calibration = self._build_recipes(folder, curve_text, seg_texts, segs)
            tid = len(self.recipes)
            self.recipes.append(recipes)
            self.roles.append(roles)
            self.calibrations.append(calibration)
            self.templates[key] = tid
        if self.roles[tid][1] is None:
            self._check_not_truncated(folder, curve_text, len(segs))
        return self._position(folder, curve_text), *self._curve(folder, tid, seg_texts)

    def _check_not_truncated(self, folder: str, curve_text: str | None, present: int) -> None:
        """CorruptFileError when a curve without retract holds fewer segments than its header
        declares (``*.force-segments.count``): its retract was recorded and is missing."""
        if curve_text is None:
            counts = (
                jp.prop_float(self.root, k)
                for k in self.root
                if k.endswith(".force-segments.count")
            )
            declared = next((c for c in counts if c is not None), None)
        else:
            declared = _match_float(_SEGMENT_COUNT_RE, curve_text)
        if declared is not None and declared > present:
            raise CorruptFileError(
                f"{self.path}: curve {folder or '0'} holds {present} of the {declared:.0f} "
                "segments its header declares and no retract; the file is damaged"
            )

    @staticmethod
    def _seg_dir(folder: str, s: int) -> str:
        return f"{folder}segments/{s}/"

    def _position(self, folder: str, curve_text: str | None) -> tuple[float, float, int | None]:
        x, y, idx = jp.series_position(
            self.root if curve_text is None else dict(_POSITION_RE.findall(curve_text))
        )
        if idx is None and folder:
            idx = int(folder.split("/")[1])
        return x, y, idx

    def _build_recipes(self, folder, curve_text, seg_texts, segs) -> tuple[list, tuple, tuple]:
        """Per-segment recipes of a header template, its (approach, retract) segment numbers
        and its (spring constant, sensitivity); NoCurvesError when no segment is an approach."""
        curve = self.root if curve_text is None else jp.parse_properties(curve_text)
        seg_props = [jp.parse_properties(t) for t in seg_texts]
        merged = [jp.merge_segment_properties(curve, p, self.shared, self.root) for p in seg_props]
        infos = [segment_info(props, s, 0, math.nan) for s, props in enumerate(merged)]
        roles = choose_segments([info.style for info in infos])
        if roles[0] is None:
            what = f"curve {folder.split('/')[1]}" if folder else "the curve"
            raise no_approach(self.path, what, [i.style for i in infos])
        out = []
        for s, props in enumerate(merged):
            jp.override_calibration(props, self.k_override, self.sens_override)
            channels = {}
            for quantity, (candidates, slot) in jp.CHANNEL_CANDIDATES.items():
                if s not in roles:
                    break
                files = [m.rsplit("/", 1)[-1] for m in segs[s]]
                name = jp.find_channel(files, candidates)
                if name is None:
                    if quantity == "measured_height":
                        continue
                    raise CorruptFileError(
                        f"{self.path}: segment {self._seg_dir(folder, s)} has no "
                        f"{'/'.join(candidates)} channel; export the raw data again"
                    )
                if quantity == "force" and s == roles[0]:
                    calibration = self._check_calibration(props)
                recipe = jp.channel_recipe(props, name, slot, self.path)
                if recipe.unit != _UNITS[quantity]:
                    raise CorruptFileError(
                        f"{self.path}: channel {name!r} converts to {recipe.unit!r}, expected "
                        f"{_UNITS[quantity]!r} (conversion slot {slot!r})"
                    )
                member = next(m for m in segs[s] if m.rsplit("/", 1)[-1].split(".")[0] == name)
                channels[quantity] = (recipe, member)
            out.append(
                _SegmentRecipe(
                    channels,
                    _root_float(props, seg_props[s], "force-segment-header.num-points"),
                    _root_float(props, seg_props[s], "force-segment-header.duration"),
                    infos[s],
                )
            )
        return out, roles, calibration

    def _check_calibration(self, props: dict) -> tuple[float, float]:
        """Spring constant and sensitivity; MissingMetadataError when absent, CorruptFileError
        when zero, negative or not finite."""
        k, sens = jp.calibration(props)
        missing = [
            name
            for name, value in (("spring_constant_n_per_m", k), ("sensitivity_m_per_v", sens))
            if value is None
        ]
        if missing:
            raise MissingMetadataError(self.path, missing, hint=CALIBRATION_HINT)
        if not (math.isfinite(k) and k > 0 and math.isfinite(sens) and sens > 0):
            raise CorruptFileError(
                f"{self.path}: impossible calibration (spring constant {k!r} N/m, sensitivity "
                f"{sens!r} m/V; both must be finite and > 0); {CALIBRATION_HINT}"
            )
        return k, sens

    @property
    def calibration(self) -> tuple[float, float]:
        """The map's spring constant and sensitivity, the same for every curve.

        Raises
        ------
        CorruptFileError
            When curves carry different spring constants: the map is fitted with one, so the
            user must choose it.
        """
        k0, sens0 = self.calibrations[0]
        for tid, (k, _) in enumerate(self.calibrations):
            if not math.isclose(k, k0, rel_tol=1e-9):
                other = next(c for c, (app, _) in enumerate(self.curves) if app[0] == tid)
                raise mixed_spring_constants(self.path, other, k0, k)
        return k0, sens0

    def _curve(self, folder: str, tid: int, seg_texts: list[str]) -> tuple[tuple, tuple]:
        """The (approach, retract) entries of one curve and the list of its segments."""
        roles = self.roles[tid]
        entries, layout, starts = {}, [], [0.0]
        for s, text in enumerate(seg_texts):
            recipe = self.recipes[tid][s]
            sdir = self._seg_dir(folder, s)
            header_points = recipe.num_points_override or _match_float(_NUM_POINTS_RE, text)
            duration = recipe.duration_override or _match_float(_DURATION_RE, text)
            if header_points is None or duration is None:
                raise CorruptFileError(
                    f"{self.path}: {sdir}segment-header.properties lacks "
                    "force-segment-header.num-points or .duration; export the raw data again"
                )
            starts.append(starts[-1] + duration)
            role = "approach" if s == roles[0] else "retract" if s == roles[1] else ""
            n_points = int(min(header_points, MAX_SEGMENT_POINTS))
            if role:
                members = {q: sdir + m for q, (_, m) in recipe.channels.items()}
                stored = [
                    self.archive.size(members[q]) // _itemsize(rec.dtype)
                    for q, (rec, _) in recipe.channels.items()
                ]
                if max(stored) > min(header_points, MAX_SEGMENT_POINTS):
                    raise CorruptFileError(
                        f"{self.path}: {sdir} channels state {max(stored)} points, the header "
                        f"{header_points:.0f} (at most {MAX_SEGMENT_POINTS} are read per segment)"
                    )
                n_points = min(stored)
                entries[role] = (tid, s, members, n_points, header_points, duration, starts[s])
            info = recipe.info
            layout.append(
                SegmentInfo(s, info.style, info.settings_type, info.name, n_points, duration, role)
            )
        approach_start = entries["approach"][6]
        table = tuple(
            None if e is None else (*e[:6], e[6] - approach_start)
            for e in (entries["approach"], entries.get("retract"))
        )
        return table, tuple(layout)

    # ---------------------------------------------------------------- loading
    def _decode(
        self,
        curves: np.ndarray,
        rows: slice,
        s: int,
        out: dict,
        time: np.ndarray | None,
        status: np.ndarray,
    ) -> None:
        """Inflate and convert segment ``s`` of ``curves`` into rows ``rows`` of ``out`` and
        write their time axes into the same rows of ``time`` (when not None); curves damaged
        in the file get NaN rows and CORRUPT in ``status``."""
        ramp = None if time is None else np.arange(time.shape[1], dtype=float)
        for r, c in zip(range(rows.start, rows.stop), curves, strict=True):
            entry = self.curves[c][s] or _ABSENT
            tid, seg, members, n, num, duration, start = entry
            try:
                for q, arr in out.items():
                    recipe = self.recipes[tid][seg].channels[q][0] if tid >= 0 else None
                    if recipe is not None:
                        data = self.archive.read(members[q])
                        raw = np.frombuffer(data, dtype=recipe.dtype, count=n)
                        recipe.apply(raw, out=arr[r, :n])
                    arr[r, n:] = np.nan
            except CorruptFileError:  # a damaged member (CRC, inflate, local header)
                if len(self.layout) == 1:
                    raise
                status[r] = CurveStatus.CORRUPT
                n = 0
                for arr in out.values():
                    arr[r] = np.nan
            if tid == -1:
                status[r] = CurveStatus.CORRUPT
            if time is None:
                continue
            # afmformats' time axis: linspace(t0, t0 + duration, num, endpoint=False), with
            # t0 counted from the start of the approach
            np.multiply(ramp[:n], ((start + duration) - start) / num, out=time[r, :n])
            time[r, :n] += start
            time[r, n:] = np.nan

    def load(
        self,
        indices: np.ndarray,
        fields: frozenset[str] | None = None,
        threads: int | None = None,
    ) -> CurveBlock:
        """Load curves ``indices`` (positions in the curve list) as a padded block.

        ``fields`` (see :meth:`ForceMap.curves`) lets channels nobody needs stay deflated:
        the piezo height when only the measured height is asked for, the time axes unless
        ``time_s`` is. ``threads`` (default: every core) decode chunks of curves concurrently, in a
        pool owned by this call.
        """
        idx = np.asarray(indices, dtype=np.int64)
        n_seg = 2 if any(self.curves[c][1] is not None for c in idx) else 1
        status = np.zeros(idx.size, np.int8)
        quantities = ["force", *self._heights(fields)]
        want_time = fields is None or "time_s" in fields
        npts, outs, times, jobs = [], [], [], []
        workers = max(1, min(threads or available_cores(), idx.size))
        bounds = np.linspace(0, idx.size, min(idx.size, workers * 4) + 1).astype(int)
        for s in range(n_seg):
            n = np.array([(self.curves[c][s] or _ABSENT)[3] for c in idx], dtype=np.int64)
            m = int(n.max()) if idx.size else 0
            out = {q: np.empty((idx.size, m)) for q in quantities}
            npts.append(n)
            outs.append(out)
            times.append(np.empty((idx.size, m)) if want_time else None)
            jobs += [
                (idx[a:b], slice(a, b), s, out, times[s], status)
                for a, b in itertools.pairwise(bounds)
                if b > a
            ]
        if workers == 1:
            for job in jobs:
                self._decode(*job)
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="cellmech-jpk") as pool:
                for future in [pool.submit(self._decode, *job) for job in jobs]:
                    future.result()
        for n in npts:  # a corrupt curve has no valid point
            n[status != CurveStatus.OK] = 0
        for array in [*(a for out in outs for a in out.values()), *times]:
            if array is not None:
                array.flags.writeable = False  # handed over: the containers adopt, not copy
        segments = [
            CurveSegment(
                height_m=outs[s].get("height"),
                force_n=outs[s]["force"],
                n_points=npts[s],
                measured_height_m=outs[s].get("measured_height"),
                time_s=times[s],
            )
            for s in range(n_seg)
        ]
        return CurveBlock(
            idx, segments[0], segments[1] if n_seg > 1 else None, status if status.any() else None
        )

    def _heights(self, fields: frozenset[str] | None) -> list[str]:
        """Height channels to decode for ``fields`` (at least one)."""
        measured = self.has_measured and (fields is None or "measured_height_m" in fields)
        piezo = fields is None or "height_m" in fields or not measured
        return ["height"] * piezo + ["measured_height"] * measured

    @property
    def has_measured(self) -> bool:
        """True when every curve segment records a measured height."""
        return all(
            "measured_height" in seg.channels for rec in self.recipes for seg in rec if seg.channels
        )


#: table entry of a segment a curve does not have (a retract never recorded): no points
_ABSENT = (-2, 0, {}, 0, 1.0, 0.0, 0.0)


def _corrupt(path: Path, exc: Exception) -> CorruptFileError | NoCurvesError:
    """``exc`` (a CorruptFileError or NoCurvesError, or the KeyError of a missing member) as a
    cellmech error."""
    if isinstance(exc, CorruptFileError | NoCurvesError):
        return exc
    return CorruptFileError(f"{path}: member {exc.args[0]!r} is missing; the file is damaged")


def _template(text: str) -> tuple[str, ...]:
    """The lines of a header that decide how its channels convert (point counts excluded) and
    which segment it is (style, type, name)."""
    return tuple(_TEMPLATE_RE.findall(text))


@functools.cache
def _itemsize(dtype: str) -> int:
    return np.dtype(dtype).itemsize


def _match_float(regex: re.Pattern, text: str) -> float | None:
    m = regex.search(text)
    if m is None:
        return None
    try:
        value = float(m.group(1))
    except ValueError:
        return None
    return None if math.isnan(value) else value


def _root_float(props: dict, seg_props: dict, key: str) -> float | None:
    """``props[key]`` when it does not come from the segment header itself (constant then)."""
    if key in seg_props and props.get(key) == seg_props[key]:
        return None
    return jp.prop_float(props, key)


def read(
    path: str | os.PathLike,
    *,
    spring_constant_n_per_m: float | None = None,
    sensitivity_m_per_v: float | None = None,
) -> ForceMap:
    """Read a JPK force map, QI map or single force curve (curves load lazily).

    Parameters
    ----------
    path : path-like
        ``.jpk-force-map``, ``.jpk-qi-data`` or ``.jpk-force`` file.
    spring_constant_n_per_m : float, optional
        Replaces the spring constant of the vDeflection conversion set (N/m).
    sensitivity_m_per_v : float, optional
        Replaces the deflection sensitivity (m/V).

    Returns
    -------
    ForceMap
        Kind "force-map", "qi-map" or "single-curve" (1x1 grid centred on the recorded
        position, its recorded ``position-index`` in ``metadata``). Heights are as recorded:
        the piezo ``height`` channel in its calibrated slot and the measured height
        (strainGaugeHeight, capacitiveSensorHeight or measuredHeight, nominal slot) when every
        curve has one; time starts at 0 at the start of the approach. The approach is each
        curve's first ``extend`` segment, the retract the last ``retract`` segment after it;
        ``metadata["segments"]`` lists, per curve, every recorded segment as a
        :class:`~cellmech.io.jpk.segments.SegmentInfo` (style, type, points, duration, role;
        empty for a curve that could not be read).

    Raises
    ------
    CorruptFileError
        Not a readable JPK archive, or headers lack what the conversion needs.
    MissingMetadataError
        Spring constant or sensitivity absent and not supplied.
    NoCurvesError
        No curve, or no curve with an extend (approach) segment.
    """
    p = Path(path)
    reader = _Reader(p, spring_constant_n_per_m, sensitivity_m_per_v)
    kind, grid, pos, row, col = jp.map_cells(reader.root, reader.positions, p)
    k, sens = reader.calibration
    xy = np.array([(x, y) for x, y, _ in reader.positions], dtype=float).reshape(-1, 2)
    metadata = {
        "reader": "jpk",
        "jpk.type": reader.root.get("type", ""),
        "jpk.header_templates": len(reader.recipes),
        "segments": tuple(reader.layouts),
    }
    if kind == "single-curve":
        metadata["jpk.recorded_position_index"] = [idx for _, _, idx in reader.positions]
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
        loader=reader.load,
        metadata=metadata,
        has_measured_height=reader.has_measured,
    )
