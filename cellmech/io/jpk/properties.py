"""JPK header logic: Java ``.properties`` parsing and the recipes JPK headers encode.

A JPK file (``.jpk-force``, ``.jpk-force-map``, ``.jpk-qi-data``) is a zip archive of Java
``.properties`` headers and raw big-endian integer channels. Converting a channel to SI units
takes three pieces of header information (JPK Instruments, *NanoWizard Data Processing
Software Manual*, "File formats"; the same rules afmformats implements):

1. the **encoder** maps stored integers to the channel's base unit:
   ``base = raw * multiplier + offset``;
2. the **conversion set** is a chain of linear calibration slots, each defined relative to its
   ``base-calibration-slot`` (for ``vDeflection``: volts -> distance (sensitivity, m/V) ->
   force (spring constant, N/m); for ``height``: volts -> nominal -> calibrated);
3. headers may hold **references** ``channel.<name>.lcd-info.*=<n>`` and
   ``force-segment-header.force-segment-header-info.*=<n>`` to blocks ``lcd-info.<n>.*`` and
   ``force-segment-header-info.<n>.*`` of ``shared-data/header.properties``.

Precedence when the headers of one curve segment are merged (as afmformats does): the curve's
``header.properties`` < its ``segment-header.properties`` < the resolved shared references <
the file's root ``header.properties``. Values that read as the float NaN count as absent.

This module is shared by the fast reader (:mod:`cellmech.io.jpk.reader`), the afmformats reader
(:mod:`cellmech.io.afm_afmformats`, which needs the grid geometry afmformats drops) and the
writer (:mod:`cellmech.io.jpk.writer`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellmech.containers import GridGeometry
from cellmech.errors import CorruptFileError

__all__ = [
    "CHANNEL_CANDIDATES",
    "ENCODER_DTYPES",
    "MAP_KINDS",
    "MAP_PREFIXES",
    "ChannelRecipe",
    "calibration",
    "channel_recipe",
    "find_channel",
    "format_properties",
    "grid_geometry",
    "map_cells",
    "map_prefix",
    "merge_segment_properties",
    "override_calibration",
    "parse_properties",
    "prop_float",
    "series_position",
    "xy_scanner",
]

#: JPK encoder types -> NumPy big-endian dtypes
ENCODER_DTYPES = {
    "signedshort": ">i2",
    "unsignedshort": ">u2",
    "signedinteger": ">i4",
    "unsignedinteger": ">u4",
    "signedlong": ">i8",
}

#: raw float channels (no encoder scaling), by ``channel.<name>.data.type``
FLOAT_DTYPES = {"float": ">f4", "double": ">f8"}

#: quantity -> (JPK channel names in order of preference, calibration slot), as afmformats
CHANNEL_CANDIDATES = {
    "force": (("vDeflection",), "force"),
    "height": (("height", "head-height"), "calibrated"),
    "measured_height": (
        ("strainGaugeHeight", "capacitiveSensorHeight", "measuredHeight"),
        "nominal",
    ),
}

#: root-header ``type`` -> ForceMap kind
MAP_KINDS = {"force-scan-map": "force-map", "quantitative-imaging-map": "qi-map"}
#: root-header ``type`` of single-curve files
SINGLE_KINDS = ("force-scan-series", "quantitative-imaging-series")

#: largest grid (rows x cols) a map may declare: every per-position map cellmech writes is a
#: float64 array of this many cells (4096 x 4096: 128 MiB each), allocated whatever the number
#: of curves recorded; a larger declaration is refused before anything is allocated
MAX_GRID_CELLS = 4096 * 4096
#: largest grid extent or centre offset accepted, in m (AFM stages move a few cm at most)
MAX_GRID_LENGTH_M = 1.0
#: farthest a curve's recorded position may lie from the centre of the grid pixel its
#: position-index names, in pixel pitches along each grid axis: farther, it lies in another
#: pixel and the grid keys disagree with the curves (real maps: < 0.01)
MAX_POSITION_OFFSET_PX = 0.5

#: root-header prefixes of maps and single curves, in lookup order
MAP_PREFIXES = (
    "force-scan-map",
    "quantitative-imaging-map",
    "force-scan-series",
    "quantitative-imaging-series",
)

_LINE_RE = re.compile(r"[ \t\f]*((?:[^\s=:\\]|\\.)+)[ \t\f]*[=: \t\f]?[ \t\f]*(.*)")
_ESCAPE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        s = m.group(1)
        return chr(int(s[1:], 16)) if len(s) == 5 and s[0] == "u" else _ESCAPES.get(s, s)

    return _ESCAPE_RE.sub(repl, text)


def _logical_lines(text: str) -> Iterable[str]:
    """Natural lines joined where one ends in an odd number of backslashes (Java rules:
    comment lines never continue; leading blanks of a continuation are dropped)."""
    pending: str | None = None
    for raw in text.splitlines():
        if pending is None:
            line = raw
            if line.lstrip(" \t\f")[:1] in ("#", "!"):
                continue
        else:
            line = pending + raw.lstrip(" \t\f")
        if (len(line) - len(line.rstrip("\\"))) % 2:
            pending = line[:-1]
            continue
        pending = None
        yield line
    if pending is not None:
        yield pending


def parse_properties(data: bytes | str) -> dict[str, str]:
    """Parse a Java ``.properties`` document.

    Parameters
    ----------
    data : bytes or str
        The document; bytes are decoded as ISO-8859-1 (the Java default).

    Returns
    -------
    dict of str to str
        Keys and values with escapes (``\\:``, ``\\uXXXX`` ...) resolved; a later duplicate
        key wins. Comment lines start with ``#`` or ``!``.
    """
    text = data.decode("latin-1") if isinstance(data, bytes | bytearray) else data
    out: dict[str, str] = {}
    for line in _logical_lines(text):
        if not line.strip(" \t\f"):
            continue
        m = _LINE_RE.match(line)
        if m is None:
            continue
        key, value = m.group(1), m.group(2)
        out[_unescape(key)] = _unescape(value)
    return out


def _escape(text: str, is_key: bool) -> str:
    out = []
    for i, ch in enumerate(text):
        if ch in "\\=:#!" or (ch == " " and (is_key or i == 0)):
            out.append("\\" + ch)
        elif ch in "\t\n\r\f":
            out.append("\\" + _UNESCAPES[ch])
        elif ord(ch) > 126 or ord(ch) < 32:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def format_properties(props: Mapping[str, object], comment: str = "") -> bytes:
    """Write a mapping as a Java ``.properties`` document (ISO-8859-1, escaped).

    Floats are written with ``repr`` (round-trip exact); booleans as ``true``/``false``.
    """
    lines = [f"#{comment}"] if comment else []
    for key, value in props.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, float):
            text = "NaN" if math.isnan(value) else repr(value)
        else:
            text = str(value)
        lines.append(f"{_escape(key, True)}={_escape(text, False)}")
    return ("\n".join(lines) + "\n").encode("latin-1")


def prop_float(props: Mapping[str, str], key: str) -> float | None:
    """``props[key]`` as a float, or None when absent, not a number or NaN."""
    try:
        value = float(props[key])
    except (KeyError, ValueError):
        return None
    return None if math.isnan(value) else value


def _resolve_references(props: Mapping[str, str], shared: Mapping[str, str]) -> dict[str, str]:
    """Values that the ``<head>.<mediator>.*=<n>`` references of ``props`` pull from ``shared``."""
    out: dict[str, str] = {}
    for key, index in props.items():
        if not key.endswith(".*"):
            continue
        head, mediator = key[:-2].rsplit(".", 1)
        start = f"{mediator}.{index}."
        for skey, value in shared.items():
            if skey.startswith(start):
                out[f"{head}.{skey[len(start) :]}"] = value
    return out


def merge_segment_properties(
    curve: Mapping[str, str],
    segment: Mapping[str, str],
    shared: Mapping[str, str],
    root: Mapping[str, str],
) -> dict[str, str]:
    """Merge the headers of one curve segment with JPK/afmformats precedence.

    Parameters
    ----------
    curve : mapping
        The curve's ``header.properties`` (``index/<n>/`` in maps; the root header in single
        curve files).
    segment : mapping
        Its ``segments/<s>/segment-header.properties``.
    shared : mapping
        ``shared-data/header.properties`` (empty if absent).
    root : mapping
        The archive's root ``header.properties``.

    Returns
    -------
    dict
        curve < segment < shared references < root.
    """
    merged = {**curve, **segment}
    merged.update(_resolve_references(merged, shared))
    merged.update(root)
    return merged


def find_channel(file_names: Iterable[str], candidates: Iterable[str]) -> str | None:
    """Pick the channel afmformats would pick among a segment's channel files.

    Parameters
    ----------
    file_names : iterable of str
        Base names of the files in the segment's ``channels/`` folder ("height.dat" ...).
    candidates : iterable of str
        Acceptable channel names.

    Returns
    -------
    str or None
        The first candidate found when the names are sorted (afmformats' rule), or None.
    """
    wanted = set(candidates)
    for name in sorted(file_names):
        stem = name.split(".")[0]
        if stem in wanted:
            return stem
    return None


@dataclass(frozen=True)
class ChannelRecipe:
    """How to turn one stored channel into SI values.

    Parameters
    ----------
    channel : str
        JPK channel name ("vDeflection", "height", ...).
    dtype : str
        NumPy dtype of the stored values (big-endian).
    encoder : (float, float) or None
        Encoder ``(multiplier, offset)``; None for raw float channels.
    steps : tuple of (float, float)
        Conversion-set steps ``(multiplier, offset)`` applied in order after the encoder.
    unit : str
        Unit of the result ("N", "m").
    """

    channel: str
    dtype: str
    encoder: tuple[float, float] | None
    steps: tuple[tuple[float, float], ...]
    unit: str

    @functools.cached_property
    def affine(self) -> tuple[float, float]:
        """The encoder and every conversion step folded into one ``(multiplier, offset)``.

        ``((raw * m0 + o0) * m1 + o1) ... = raw * (m0 * m1 ...) + offset``: one pass over the
        data instead of two per step; results differ from the step-by-step order by a few
        units in the last place (at most 1.2e-15 of the channel's range on the real JPK test
        files).
        """
        mult, off = self.encoder or (1.0, 0.0)
        for m, o in self.steps:
            mult, off = mult * m, off * m + o
        return mult, off

    def apply(self, raw: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Convert stored values to float64 SI values: ``raw * multiplier + offset``.

        Parameters
        ----------
        raw : ndarray
            Stored values (any shape).
        out : ndarray of float64, optional
            Where to write the result (same shape); a new array when None.
        """
        mult, off = self.affine
        out = np.multiply(raw, mult, out=out, dtype=np.float64)
        if off:
            out += off
        return out


def _first_float(props: Mapping[str, str], keys: Iterable[str], path: Path) -> float:
    """The first of ``keys`` holding a number (afmformats' lookup order)."""
    keys = tuple(keys)
    for key in keys:
        value = prop_float(props, key)
        if value is not None:
            return value
    raise CorruptFileError(
        f"{path}: header key {keys[0]!r} is missing or not a number; "
        "export the raw data again from the JPK software"
    )


def _require(props: Mapping[str, str], key: str, path: Path) -> float:
    value = prop_float(props, key)
    if value is None or not math.isfinite(value):
        raise CorruptFileError(
            f"{path}: header key {key!r} is missing or not a finite number; "
            "export the raw data again from the JPK software"
        )
    return value


def _require_in(
    props: Mapping[str, str], key: str, path: Path, low: float, high: float, what: str
) -> float:
    """``props[key]`` as a finite float in ``[low, high]`` (CorruptFileError naming the key)."""
    value = _require(props, key, path)
    if not low <= value <= high:
        raise CorruptFileError(
            f"{path}: header key {key!r} = {props[key]} is not {what}; "
            "the header is corrupt, export the raw data again from the JPK software"
        )
    return value


def _check_factor(value: float, key: str, path: Path, positive: bool = False) -> float:
    """A calibration or encoder factor: finite and non-zero (``> 0`` when ``positive``)."""
    if not math.isfinite(value) or value == 0 or (positive and value < 0):
        need = "a finite number > 0" if positive else "a finite non-zero number"
        raise CorruptFileError(
            f"{path}: header key {key!r} = {value!r} is not {need}; the calibration is "
            "corrupt: re-export the file or pass the calibration explicitly "
            "(--spring-constant / --sensitivity)"
        )
    return value


def channel_recipe(props: Mapping[str, str], channel: str, slot: str, path: Path) -> ChannelRecipe:
    """Build the :class:`ChannelRecipe` of ``channel`` converted to calibration ``slot``.

    Parameters
    ----------
    props : mapping
        Merged segment properties (:func:`merge_segment_properties`).
    channel : str
        JPK channel name.
    slot : str
        Target calibration slot ("force", "calibrated", "nominal" ...).
    path : Path
        The file, for error messages.

    Raises
    ------
    CorruptFileError
        If the encoder or a conversion step is missing or unsupported, or the chain loops.
    """
    pre = f"channel.{channel}"
    data_type = props.get(f"{pre}.data.type", "")
    enc_type = props.get(f"{pre}.data.encoder.type", props.get(f"{pre}.encoder.type"))
    if enc_type is None and data_type in FLOAT_DTYPES:
        dtype, encoder = FLOAT_DTYPES[data_type], None
    elif enc_type in ENCODER_DTYPES:
        dtype = ENCODER_DTYPES[enc_type]
        encoder = tuple(
            _first_float(
                props, (f"{pre}.data.encoder.scaling.{k}", f"{pre}.encoder.scaling.{k}"), path
            )
            for k in ("multiplier", "offset")
        )
        _check_factor(encoder[0], f"{pre}.data.encoder.scaling.multiplier", path)
        if not math.isfinite(encoder[1]):
            _check_factor(encoder[1], f"{pre}.data.encoder.scaling.offset", path)
    else:
        raise CorruptFileError(
            f"{path}: channel {channel!r} has unsupported encoder {enc_type!r} "
            f"(key {pre}.data.encoder.type); supported: {', '.join(ENCODER_DTYPES)}"
        )
    conv = f"{pre}.conversion-set"
    base = props.get(f"{conv}.conversions.base", slot)
    steps: list[tuple[float, float]] = []
    current = slot
    while current != base:
        key = f"{conv}.conversion.{current}"
        steps.append(
            (
                _check_factor(
                    _require(props, f"{key}.scaling.multiplier", path),
                    f"{key}.scaling.multiplier",
                    path,
                    positive=channel == "vDeflection",
                ),
                _require(props, f"{key}.scaling.offset", path),
            )
        )
        nxt = props.get(f"{key}.base-calibration-slot")
        if nxt is None or len(steps) > 16:
            raise CorruptFileError(
                f"{path}: broken conversion chain at {key}.base-calibration-slot"
            )
        current = nxt
    if slot == base:
        unit = props.get(f"{pre}.data.encoder.scaling.unit.unit") or props.get(
            f"{pre}.encoder.scaling.unit.unit", ""
        )
    else:
        unit = props.get(f"{conv}.conversion.{slot}.scaling.unit") or props.get(
            f"{conv}.conversion.{slot}.scaling.unit.unit", ""
        )
    return ChannelRecipe(channel, dtype, encoder, tuple(steps[::-1]), unit)


def calibration(props: Mapping[str, str]) -> tuple[float | None, float | None]:
    """Spring constant (N/m) and sensitivity (m/V) from the ``vDeflection`` conversion set.

    Returns ``None`` for either when it is absent or NaN.
    """
    conv = "channel.vDeflection.conversion-set.conversion"
    return (
        prop_float(props, f"{conv}.force.scaling.multiplier"),
        prop_float(props, f"{conv}.distance.scaling.multiplier"),
    )


def override_calibration(
    props: dict[str, str], spring_constant_n_per_m: float | None, sensitivity_m_per_v: float | None
) -> None:
    """Replace the ``vDeflection`` calibration in ``props`` in place (as afmformats' override).

    The force slot becomes ``distance * k`` and the distance slot ``volts * sensitivity``.
    """
    conv = "channel.vDeflection.conversion-set.conversion"
    for value, slot, base in (
        (spring_constant_n_per_m, "force", "distance"),
        (sensitivity_m_per_v, "distance", "volts"),
    ):
        if value is None:
            continue
        props[f"{conv}.{slot}.scaling.multiplier"] = repr(float(value))
        props[f"{conv}.{slot}.scaling.offset"] = "0"
        props[f"{conv}.{slot}.base-calibration-slot"] = base


def map_prefix(root: Mapping[str, str]) -> str | None:
    """The prefix under which ``root`` stores its position pattern, or None."""
    for prefix in MAP_PREFIXES:
        if f"{prefix}.position-pattern.grid.ilength" in root:
            return prefix
    return None


def xy_scanner(root: Mapping[str, str]) -> str:
    """Type of the active xy scanner ("motor-stage", "tip" ...) from a root header."""
    for prefix in MAP_PREFIXES:
        env = f"{prefix}.environment.xy-scanner-position-map"
        active = root.get(f"{env}.xy-scanners.active-xy-scanner.name")
        if active:
            return root.get(f"{env}.xy-scanner.{active}.xy-scanner.scanner", active)
        mode = root.get(f"{prefix}.spm-scanner-mode.xy-scanner.scanner")
        if mode:
            return mode
    return "unknown"


def _grid_side(root: Mapping[str, str], key: str, path: Path) -> int:
    """A grid side length (``ilength``/``jlength``): an integer >= 1 within the budget."""
    value = _require_in(root, key, path, 1, MAX_GRID_CELLS, f"an integer in [1, {MAX_GRID_CELLS}]")
    if value != int(value):
        raise CorruptFileError(f"{path}: header key {key!r} = {root[key]} is not an integer")
    return int(value)


def grid_geometry(root: Mapping[str, str], path: Path) -> GridGeometry | None:
    """The grid of a JPK map from its root header, or None when it has no grid pattern.

    Parameters
    ----------
    root : mapping
        The archive's root ``header.properties``.
    path : Path
        The file, for error messages.

    Returns
    -------
    GridGeometry or None
        ``shape = (jlength, ilength)``; centre, size (``ulength``, ``vlength``), ``theta``,
        ``reflect`` and ``back-and-forth`` as recorded; ``xy_scanner`` is the active xy
        scanner's type ("motor-stage", "tip" ...).

    Raises
    ------
    CorruptFileError
        A grid key is missing, not a number, non-finite or out of range (sizes in
        ``(0, MAX_GRID_LENGTH_M]``, centres within ``MAX_GRID_LENGTH_M`` of 0, sides integers
        >= 1), or the grid has more than :data:`MAX_GRID_CELLS` cells.
    """
    prefix = map_prefix(root)
    if prefix is None:
        return None
    pat = f"{prefix}.position-pattern"
    unit = root.get(f"{pat}.grid.unit.unit", "m")
    if unit != "m":
        raise CorruptFileError(f"{path}: grid unit {unit!r} (key {pat}.grid.unit.unit) is not m")
    g = f"{pat}.grid"
    shape = (_grid_side(root, f"{g}.jlength", path), _grid_side(root, f"{g}.ilength", path))
    if shape[0] * shape[1] > MAX_GRID_CELLS:
        raise CorruptFileError(
            f"{path}: the declared grid {shape[0]} x {shape[1]} (keys {g}.jlength/ilength) "
            f"exceeds cellmech's limit of {MAX_GRID_CELLS} positions (one float64 map would "
            f"need {shape[0] * shape[1] * 8 / 2**30:.1f} GiB); the header is corrupt"
        )
    lim = MAX_GRID_LENGTH_M
    length = f"a length in (0, {lim}] m"
    centre = f"a position within {lim} m of 0"
    size = tuple(
        _require_in(root, f"{g}.{k}", path, 0, lim, length) for k in ("ulength", "vlength")
    )
    if min(size) <= 0:
        raise CorruptFileError(f"{path}: header keys {g}.ulength/vlength must be > 0, got {size}")
    theta = prop_float(root, f"{g}.theta") or 0.0
    if not math.isfinite(theta):
        raise CorruptFileError(f"{path}: header key '{g}.theta' is not finite")
    return GridGeometry(
        shape=shape,
        center_m=tuple(_require_in(root, f"{g}.{k}center", path, -lim, lim, centre) for k in "xy"),
        size_m=size,
        theta_rad=theta,
        reflect=root.get(f"{g}.reflect", "false").strip().lower() == "true",
        back_and_forth=root.get(f"{pat}.back-and-forth", "false").strip().lower() == "true",
        xy_scanner=xy_scanner(root),
    )


def series_position(curve: Mapping[str, str]) -> tuple[float, float, int | None]:
    """Recorded ``(x_m, y_m, position_index)`` of a curve from its ``header.properties``.

    Coordinates are NaN and the index None when not recorded.
    """
    for prefix in MAP_PREFIXES:
        head = f"{prefix}.header"
        if f"{head}.position-index" in curve or f"{head}.position.x" in curve:
            x = prop_float(curve, f"{head}.position.x")
            y = prop_float(curve, f"{head}.position.y")
            idx = prop_float(curve, f"{head}.position-index")
            return (
                math.nan if x is None else x,
                math.nan if y is None else y,
                None if idx is None else int(idx),
            )
    return math.nan, math.nan, None


def map_cells(
    root: Mapping[str, str], positions: list[tuple[float, float, int | None]], path: Path
) -> tuple[str, GridGeometry, np.ndarray, np.ndarray, np.ndarray]:
    """Map kind, grid and each curve's ``(position_index, row, col)``.

    Parameters
    ----------
    root : mapping
        The archive's root ``header.properties``.
    positions : list of (x_m, y_m, position_index)
        Per curve, as :func:`series_position` returns (index None when not recorded).
    path : Path
        The file, for error messages.

    Returns
    -------
    kind, grid, position_index, row, col
        Maps: the recorded grid; ``(row, col)`` from the scan-order ``position-index``
        through :meth:`GridGeometry.index_to_rowcol` (meander order honoured). Single
        curves: a 1x1 grid of size 0 centred on the recorded position, indices 0.
    """
    kind = _kind(root, len(positions), path)
    grid = grid_geometry(root, path) if kind != "single-curve" else None
    if kind == "single-curve":
        x, y, _ = positions[0]
        centre = (x if math.isfinite(x) else 0.0, y if math.isfinite(y) else 0.0)
        grid = GridGeometry((1, 1), centre, (0.0, 0.0), xy_scanner=xy_scanner(root))
        zeros = np.zeros(len(positions), np.int64)
        return "single-curve", grid, zeros, zeros, zeros
    if grid is None:
        raise CorruptFileError(
            f"{path}: a {root['type']} without its grid (header key "
            f"'{root['type']}.position-pattern.grid.ilength' missing); export the map again"
        )
    pos = np.array([-1 if p[2] is None else p[2] for p in positions], dtype=np.int64)
    if pos.size and (pos.min() < 0 or pos.max() >= grid.shape[0] * grid.shape[1]):
        raise CorruptFileError(
            f"{path}: a curve's position-index is missing or outside the {grid.shape} grid "
            "(keys *.header.position-index, *.position-pattern.grid.ilength/jlength)"
        )
    unique, counts = np.unique(pos, return_counts=True)
    if unique.size < pos.size:
        dup = int(unique[counts > 1][0])
        curves = np.flatnonzero(pos == dup)[:2].tolist()
        raise CorruptFileError(
            f"{path}: curves {curves[0]} and {curves[1]} share position-index {dup} "
            "(key *.header.position-index); the map is corrupt"
        )
    row, col = grid.index_to_rowcol(pos)
    _check_positions(grid, positions, row, col, path)
    return kind, grid, pos, row, col


def _check_positions(
    grid: GridGeometry,
    positions: list[tuple[float, float, int | None]],
    row: np.ndarray,
    col: np.ndarray,
    path: Path,
) -> None:
    """CorruptFileError if a curve's recorded ``(x, y)`` lies outside the grid pixel its
    position-index names (farther than :data:`MAX_POSITION_OFFSET_PX`): the grid keys
    (ilength/jlength, ulength/vlength, centre, theta) disagree with the curves. Curves
    without a recorded position are not checked."""
    xy = np.array([p[:2] for p in positions], float).reshape(-1, 2)
    ex, ey = grid.grid_to_scanner(row, col)
    dx, dy = xy[:, 0] - ex, xy[:, 1] - ey
    c, s = math.cos(grid.theta_rad), math.sin(grid.theta_rad)
    pitch_row, pitch_col = grid.pixel_size_m
    offset = np.maximum(np.abs(c * dx + s * dy) / pitch_col, np.abs(c * dy - s * dx) / pitch_row)
    bad = np.flatnonzero(offset > MAX_POSITION_OFFSET_PX)  # NaN (not recorded) is never bad
    if bad.size:
        i = int(bad[0])
        raise CorruptFileError(
            f"{path}: curve {i} was recorded at ({xy[i, 0]:.6g}, {xy[i, 1]:.6g}) m, "
            f"{offset[i]:.3g} pixel pitches from the centre of its grid pixel (row {row[i]}, "
            f"col {col[i]}): the header keys *.position-pattern.grid.ilength/jlength/ulength/"
            "vlength/xcenter/ycenter disagree with the curves' positions; the header is corrupt"
        )


def _kind(root: Mapping[str, str], n_curves: int, path: Path) -> str:
    """ForceMap kind from the root ``type`` key (CorruptFileError when absent or unknown)."""
    kind = root.get("type", "")
    if kind in MAP_KINDS:
        return MAP_KINDS[kind]
    if kind in SINGLE_KINDS and n_curves == 1:
        return "single-curve"
    known = ", ".join([*MAP_KINDS, *SINGLE_KINDS])
    what = f"{n_curves} curves with " if kind in SINGLE_KINDS else ""
    raise CorruptFileError(
        f"{path}: {what}root header key 'type' = {kind!r} (expected one of {known}); "
        "header.properties is missing, empty or corrupt"
    )
