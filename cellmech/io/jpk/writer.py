"""Write synthetic force maps as real JPK archives (``.jpk-force-map`` / ``.jpk-qi-data``).

The layout follows the JPK NanoWizard file format (JPK Instruments, *Data Processing Software
Manual*, "File formats"), the same that afmformats and :mod:`cellmech.io.jpk.reader` read:

``header.properties``
    the map: grid position pattern (centre, u/v lengths, i/j counts, theta, reflect,
    back-and-forth) and the active xy scanner;
``shared-data/header.properties``
    ``force-segment-header-info.<s>`` blocks (one per segment: extend, retract and any
    :class:`ExtraSegment` such as a pause or a modulation, with the style, segment-settings
    type, duration and points JPK software records there) and ``lcd-info.<n>`` blocks with
    the encoders and conversion sets of every channel;
``index/<n>/header.properties``
    the curve: recorded position and ``position-index``;
``index/<n>/segments/<s>/segment-header.properties`` + ``channels/*.dat``
    number of points, duration and references to the shared blocks; channels are big-endian
    int32 (``signedinteger`` encoder).

Channels: ``height`` (volts -> nominal -> calibrated; :attr:`CurveSegment.height_m` is the
calibrated slot), ``vDeflection`` (volts -> distance (sensitivity) -> force (spring constant))
and, when measured height is given, ``capacitiveSensorHeight`` (absolute -> nominal).
Quantisation: each channel's encoder spans the data range of the whole map with 2**32 - 2
steps, so stored values differ from the given ones by at most half a step.
"""

from __future__ import annotations

import os
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellmech.containers import CurveSegment, GridGeometry
from cellmech.io.jpk.properties import format_properties

__all__ = ["ExtraSegment", "write_jpk_force_map"]

#: nominal piezo calibration written for the height channel, m/V
HEIGHT_NOMINAL_M_PER_V = 1e-5
_INT32_STEPS = 2**32 - 2
_TIME_STAMP = "2024-01-01 12:00:00.000 +0000"
_SESSION_ID = "2024.01.01-12.00.00-00001"

_LAYOUT = {
    "force-map": ("force-scan-map", "force-scan-series", "spm-force-scan-map-file"),
    "qi-map": (
        "quantitative-imaging-map",
        "quantitative-imaging-series",
        "spm-quantitative-image-data-file",
    ),
}


#: ``settings.segment-settings.pause-option.type`` JPK writes for each pause type
_PAUSE_OPTIONS = {"constant-force-pause": "feedback-on", "constant-height-pause": "constant-height"}


@dataclass(frozen=True)
class ExtraSegment:
    """A segment written besides the approach and the retract (dwell, modulation ...).

    Parameters
    ----------
    index : int
        Its position among all written segments (0 = first); the approach and the retract
        keep their order around it (``index=1``: extend, extra, retract).
    data : CurveSegment
        Its curves (as many as the approach; ``height_m`` required, ``measured_height_m``
        when the approach has one).
    style : str
        ``force-segment-header.settings.style``: "pause", "modulation", "extend", "retract".
    settings_type : str
        ``settings.segment-settings.type``: "constant-force-pause", "constant-height-pause",
        "sine-modulation" ...
    duration_s : float
        Duration in s.
    """

    index: int
    data: CurveSegment
    style: str = "pause"
    settings_type: str = "constant-force-pause"
    duration_s: float = 1.0


def _encoder(values: list[np.ndarray]) -> tuple[float, float]:
    """``(multiplier, offset)`` mapping int32 onto the finite range of ``values``."""
    finite = [v[np.isfinite(v)] for v in values]
    finite = [v for v in finite if v.size]
    if not finite:
        return 1.0, 0.0
    lo = min(float(v.min()) for v in finite)
    hi = max(float(v.max()) for v in finite)
    span = hi - lo
    mult = span / _INT32_STEPS if span > 0 else max(abs(lo), 1.0) * 1e-9
    return mult, (hi + lo) / 2


def _encode(values: np.ndarray, encoder: tuple[float, float]) -> bytes:
    mult, off = encoder
    raw = np.rint((values - off) / mult)
    return np.clip(raw, -(2**31), 2**31 - 1).astype(">i4").tobytes()


def _lcd_info(n: int, channel: str, encoder: tuple[float, float], conversions: list) -> dict:
    """One ``lcd-info.<n>`` block; ``conversions`` = [(slot, base_slot, mult, off, unit)]."""
    pre = f"lcd-info.{n}"
    base = "absolute" if channel == "capacitiveSensorHeight" else "volts"
    unit = "m" if base == "absolute" else "V"
    out = {
        f"{pre}.type": "integer-data",
        f"{pre}.channel.type": "channel",
        f"{pre}.channel.name": channel,
        f"{pre}.unit.type": "metric-unit",
        f"{pre}.unit.unit": unit,
        f"{pre}.conversion-set.conversions.list": " ".join(c[0] for c in conversions),
        f"{pre}.conversion-set.conversions.default": conversions[-1][0],
        f"{pre}.conversion-set.conversions.base": base,
        f"{pre}.conversion-set.conversion.{base}.name": base.capitalize(),
        f"{pre}.conversion-set.conversion.{base}.defined": False,
    }
    for slot, base_slot, mult, off, slot_unit in conversions:
        c = f"{pre}.conversion-set.conversion.{slot}"
        out.update(
            {
                f"{c}.name": slot.capitalize(),
                f"{c}.defined": True,
                f"{c}.type": "simple",
                f"{c}.base-calibration-slot": base_slot,
                f"{c}.calibration-slot": slot,
                f"{c}.scaling.type": "linear",
                f"{c}.scaling.style": "offsetmultiplier",
                f"{c}.scaling.offset": float(off),
                f"{c}.scaling.multiplier": float(mult),
                f"{c}.scaling.unit.type": "metric-unit",
                f"{c}.scaling.unit.unit": slot_unit,
            }
        )
    out.update(
        {
            f"{pre}.encoder.type": "signedinteger",
            f"{pre}.encoder.scaling.type": "linear",
            f"{pre}.encoder.scaling.style": "offsetmultiplier",
            f"{pre}.encoder.scaling.offset": float(encoder[1]),
            f"{pre}.encoder.scaling.multiplier": float(encoder[0]),
            f"{pre}.encoder.scaling.unit.type": "metric-unit",
            f"{pre}.encoder.scaling.unit.unit": unit,
        }
    )
    return out


def _segment_info(n: int, seg: ExtraSegment) -> dict:
    """``force-segment-header-info.<n>`` of one segment (z range for extend/retract, pause
    option for pauses, as JPK software writes them)."""
    pre = f"force-segment-header-info.{n}"
    s = f"{pre}.settings.segment-settings"
    style = seg.style
    out = {
        f"{pre}.type": "spm-force-segment-header",
        f"{pre}.approach-id": _SESSION_ID,
        f"{pre}.name.type": "standard",
        f"{pre}.name.name": style,
        f"{pre}.settings.type": "combined",
        f"{pre}.settings.style": style,
        f"{pre}.settings.feedback-mode.name": "contact",
        f"{s}.type": seg.settings_type,
        f"{s}.style": style,
        f"{s}.duration": float(seg.duration_s),
        f"{s}.num-points": int(seg.data.n_points.max(initial=0)),
    }
    if style in ("extend", "retract"):
        h = seg.data.height_m[np.isfinite(seg.data.height_m)]
        out[f"{s}.z-start"] = float(h[0]) if h.size else 0.0
        out[f"{s}.z-end"] = float(h[-1]) if h.size else 0.0
    if seg.settings_type in _PAUSE_OPTIONS:
        out[f"{s}.pause-option.type"] = _PAUSE_OPTIONS[seg.settings_type]
    return out


def _volts(segs: list[CurveSegment], k: float, sens: float) -> dict:
    """Per-channel lists of per-segment (n, m) arrays in the channels' base units."""
    if any(s.height_m is None for s in segs):
        raise ValueError(
            "a JPK force map needs the piezo height (CurveSegment.height_m) of every segment"
        )
    out = {
        "height": [s.height_m / HEIGHT_NOMINAL_M_PER_V for s in segs],
        "vDeflection": [s.force_n / k / sens for s in segs],
    }
    if segs[0].measured_height_m is not None:
        if any(s.measured_height_m is None for s in segs):
            raise ValueError("measured height given for the approach but not every segment")
        out["capacitiveSensorHeight"] = [s.measured_height_m for s in segs]
    return out


def _shared_header(channels: dict, encoders: dict, layout: list, k, sens) -> dict:
    conv = {
        "height": [
            ("nominal", "volts", HEIGHT_NOMINAL_M_PER_V, 0.0, "m"),
            ("calibrated", "nominal", 1.0, 0.0, "m"),
        ],
        "vDeflection": [("distance", "volts", sens, 0.0, "m"), ("force", "distance", k, 0.0, "N")],
        "capacitiveSensorHeight": [("nominal", "absolute", 1.0, 0.0, "m")],
    }
    props: dict = {
        "force-segment-header-infos.count": len(layout),
        "lcd-infos.count": len(channels),
    }
    for n, seg in enumerate(layout):
        props.update(_segment_info(n, seg))
    for n, name in enumerate(channels):
        props.update(_lcd_info(n, name, encoders[name], conv[name]))
    return props


def _root_header(grid: GridGeometry, kind: str, n_max: int, metadata: Mapping) -> dict:
    prefix, _, file_type = _LAYOUT[kind]
    pat = f"{prefix}.position-pattern"
    scanner = grid.xy_scanner if grid.xy_scanner != "unknown" else "tip"
    env = f"{prefix}.environment.xy-scanner-position-map"
    props = {
        "jpk-data-file": file_type,
        "file-format-version": "2.0",
        "type": prefix,
        f"{prefix}.indexes.type": "range",
        f"{prefix}.indexes.min": 0,
        f"{prefix}.indexes.max": n_max,
        f"{prefix}.description.source-software": "cellmech",
        f"{pat}.type": "grid-position-pattern",
        f"{pat}.back-and-forth": grid.back_and_forth,
        f"{pat}.grid.xcenter": grid.center_m[0],
        f"{pat}.grid.ycenter": grid.center_m[1],
        f"{pat}.grid.ulength": grid.size_m[0],
        f"{pat}.grid.vlength": grid.size_m[1],
        f"{pat}.grid.theta": grid.theta_rad,
        f"{pat}.grid.reflect": grid.reflect,
        f"{pat}.grid.unit.type": "metric-unit",
        f"{pat}.grid.unit.unit": "m",
        f"{pat}.grid.ilength": grid.shape[1],
        f"{pat}.grid.jlength": grid.shape[0],
        f"{prefix}.feedback-mode.name": "contact",
        f"{env}.defined": True,
        f"{env}.xy-scanners.active-xy-scanner.name": "xy-scanner",
        f"{env}.xy-scanner.xy-scanner.xy-scanner.scanner": scanner,
        f"{env}.xy-scanners.list": "xy-scanner",
    }
    props.update({str(k): str(v) for k, v in (metadata or {}).items()})
    return props


def _curve_header(kind: str, x: float, y: float, position_index: int, n_segments: int) -> dict:
    series = _LAYOUT[kind][1]
    return {
        "type": series,
        f"{series}.force-segments.count": n_segments,
        f"{series}.header.type": "xy-position-force-scan-series-header",
        f"{series}.header.position.x": float(x),
        f"{series}.header.position.y": float(y),
        f"{series}.header.position-index": int(position_index),
    }


def _segment_header(n_seg: int, n_points: int, duration_s: float, channels: list) -> dict:
    props = {
        "force-segment-header.force-segment-header-info.*": n_seg,
        "force-segment-header.type": "spm-force-segment-header",
        "force-segment-header.num-points": int(n_points),
        "force-segment-header.duration": float(duration_s),
        "force-segment-header.time-stamp": _TIME_STAMP,
        "channels.list": " ".join(channels),
    }
    for n, name in enumerate(channels):
        props.update(
            {
                f"channel.{name}.lcd-info.*": n,
                f"channel.{name}.data.file.name": f"channels/{name}.dat",
                f"channel.{name}.data.file.format": "raw",
                f"channel.{name}.data.num-points": int(n_points),
            }
        )
    return props


def _segment_layout(approach, retract, durations, extra: Sequence[ExtraSegment]) -> list:
    """Every segment to write, in order: approach, retract and ``extra`` at their indices."""
    if len({seg.index for seg in extra}) != len(extra):
        raise ValueError("extra segment indices must be unique")
    layout = [ExtraSegment(0, approach, "extend", "z-extend-height", durations[0])]
    if retract is not None:
        layout.append(ExtraSegment(1, retract, "retract", "z-retract-height", durations[1]))
    for seg in sorted(extra, key=lambda e: e.index):
        if not 0 <= seg.index <= len(layout):
            raise ValueError(f"extra segment index {seg.index} outside 0..{len(layout)}")
        layout.insert(seg.index, seg)
    return layout


def _check(grid, position_index, layout, x_m, y_m, k, sens, kind) -> np.ndarray:
    if kind not in _LAYOUT:
        raise ValueError(f"kind must be one of {tuple(_LAYOUT)}, got {kind!r}")
    pi = np.asarray(position_index, dtype=np.int64).ravel()
    n = pi.size
    if any(seg.data.n_curves != n for seg in layout):
        counts = [seg.data.n_curves for seg in layout]
        raise ValueError(f"{n} position indices but segments hold {counts} curves")
    if n and (pi.min() < 0 or pi.max() >= grid.shape[0] * grid.shape[1]):
        raise ValueError("position_index outside the grid")
    if len(np.unique(pi)) != n:
        raise ValueError("position_index values must be unique")
    for name, value in (("spring_constant_n_per_m", k), ("sensitivity_m_per_v", sens)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be finite and > 0, got {value}")
    for name, value in (("x_m", x_m), ("y_m", y_m)):
        if value is not None and np.asarray(value).size != n:
            raise ValueError(f"{name} must have {n} entries")
    return pi


def write_jpk_force_map(
    path: str | os.PathLike,
    *,
    grid: GridGeometry,
    position_index,
    approach: CurveSegment,
    retract: CurveSegment | None,
    spring_constant_n_per_m: float,
    sensitivity_m_per_v: float,
    x_m=None,
    y_m=None,
    kind: str = "force-map",
    approach_duration_s: float = 1.0,
    retract_duration_s: float = 1.0,
    metadata: Mapping[str, str] | None = None,
    compresslevel: int = 6,
    extra_segments: Sequence[ExtraSegment] = (),
) -> Path:
    """Write curves as a JPK force map (``kind="force-map"``) or QI map (``"qi-map"``).

    Parameters
    ----------
    path : path-like
        Output file (suffix ``.jpk-force-map`` or ``.jpk-qi-data`` by convention).
    grid : GridGeometry
        Grid written to the root header; ``grid.xy_scanner`` names the scanner type
        ("tip" when "unknown").
    position_index : array_like of int, shape (n,)
        Scan-order index of each curve (unique, within the grid); curve ``i`` is stored under
        ``index/<i>/``.
    approach, retract : CurveSegment
        Curves (n of them, ragged allowed). ``height_m`` is written as the calibrated piezo
        height, ``force_n`` as vDeflection volts (``force / k / sensitivity``) and
        ``measured_height_m`` (when given, for both segments) as ``capacitiveSensorHeight``.
        ``retract=None`` writes approach-only curves (one segment; afmformats refuses those).
    spring_constant_n_per_m : float
        k in N/m (force slot of the vDeflection conversion set).
    sensitivity_m_per_v : float
        Deflection sensitivity in m/V (distance slot).
    x_m, y_m : array_like, shape (n,), optional
        Recorded positions in m; default: pixel centres from ``grid``.
    kind : {"force-map", "qi-map"}
        Archive layout.
    approach_duration_s, retract_duration_s : float
        Segment durations in s (time axis ``t = i * duration / n_points``).
    metadata : mapping of str to str, optional
        Extra key/value pairs written verbatim to the root header.
    compresslevel : int
        Deflate level of the zip members (0: no compression).
    extra_segments : sequence of ExtraSegment
        Segments recorded besides the approach and the retract (pauses, modulations, a
        second extend ...), each written at its ``index`` in the segment order with its own
        style and type (:mod:`cellmech.synthetic.segments` builds dwell and modulation data).

    Returns
    -------
    Path
        ``path``, written atomically (temporary file in the same folder, then ``os.replace``).
    """
    k, sens = float(spring_constant_n_per_m), float(sensitivity_m_per_v)
    layout = _segment_layout(
        approach, retract, (approach_duration_s, retract_duration_s), extra_segments
    )
    pi = _check(grid, position_index, layout, x_m, y_m, k, sens, kind)
    if x_m is None or y_m is None:
        gx, gy = grid.grid_to_scanner(*grid.index_to_rowcol(pi))
        x_m = gx if x_m is None else x_m
        y_m = gy if y_m is None else y_m
    x_m, y_m = np.asarray(x_m, float).ravel(), np.asarray(y_m, float).ravel()
    data = _volts([seg.data for seg in layout], k, sens)
    encoders = {name: _encoder(arrays) for name, arrays in data.items()}
    channels = list(data)
    shared = _shared_header(channels, encoders, layout, k, sens)
    root = _root_header(grid, kind, max(pi.size - 1, 0), metadata or {})
    out = Path(path)
    tmp = out.parent / f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
            zf.writestr("header.properties", format_properties(root))
            zf.mkdir("shared-data")
            zf.writestr("shared-data/header.properties", format_properties(shared))
            zf.mkdir("index")
            for i in range(pi.size):
                _write_curve(zf, i, pi[i], x_m[i], y_m[i], kind, layout, data, encoders)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _write_curve(zf, i, pos_index, x, y, kind, layout, data, encoders) -> None:
    """Write ``index/<i>/`` with its header and every segment's channels."""
    base = f"index/{i}/"
    zf.mkdir(base)
    zf.writestr(
        base + "header.properties",
        format_properties(_curve_header(kind, x, y, pos_index, len(layout))),
    )
    zf.mkdir(base + "segments")
    for s, seg in enumerate(layout):
        n = int(seg.data.n_points[i])
        sdir = f"{base}segments/{s}/"
        zf.mkdir(sdir)
        header = _segment_header(s, n, seg.duration_s, list(data))
        zf.writestr(sdir + "segment-header.properties", format_properties(header))
        zf.mkdir(sdir + "channels")
        for name, arrays in data.items():
            zf.writestr(f"{sdir}channels/{name}.dat", _encode(arrays[s][i, :n], encoders[name]))
