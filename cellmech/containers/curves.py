"""Force curves: the grid of a map, curve segments, blocks of curves, the map, and the
preprocessed indentation curves. SI units (m, N, s); map axes are (row, col).

Ragged curves (the approach stops at the force setpoint, so curves in one map have different
lengths) are stored padded: a block of ``n`` curves holds ``(n, m)`` arrays where ``m`` is the
longest curve of the block, positions past ``n_points[i]`` are NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cellmech.containers._base import frozen_array, frozen_mapping, set_field
from cellmech.containers.status import check_status_codes

__all__ = [
    "CurveBlock",
    "CurveSegment",
    "ForceMap",
    "GridGeometry",
    "IndentationCurves",
    "in_memory_loader",
]


@dataclass(frozen=True)
class GridGeometry:
    """Geometry of a force-map grid in the AFM scanner frame.

    Parameters
    ----------
    shape : (int, int)
        ``(rows, cols)`` = (JPK ``jlength``, ``ilength``); columns run along the grid's u axis
        (fast axis, x before rotation), rows along v.
    center_m : (float, float)
        Grid centre ``(x, y)`` in m (JPK ``grid.xcenter``, ``grid.ycenter``).
    size_m : (float, float)
        Grid extent ``(u, v)`` in m (JPK ``grid.ulength``, ``grid.vlength``).
    theta_rad : float
        Rotation of the grid's u axis from the scanner x axis, in radians (counter-clockwise).
    reflect : bool
        True if the grid's v axis is mirrored (JPK ``grid.reflect``).
    back_and_forth : bool
        True for a meander scan: odd rows are recorded from the last column to the first.
    xy_scanner : str
        Which xy scanner moved the tip between curves ("tip-scanner", "motor-stage", ...).

    Notes
    -----
    Pixel centres in grid coordinates are ``-length/2 + (i + 0.5) * length / n`` (index 0 at
    minimum u and v); they are reflected in v when ``reflect``, rotated by ``theta_rad`` and
    shifted by ``center_m`` to give scanner coordinates.
    """

    shape: tuple[int, int]
    center_m: tuple[float, float]
    size_m: tuple[float, float]
    theta_rad: float = 0.0
    reflect: bool = False
    back_and_forth: bool = False
    xy_scanner: str = "unknown"

    def __post_init__(self) -> None:
        rows, cols = (int(v) for v in self.shape)
        if rows < 1 or cols < 1:
            raise ValueError(f"grid shape must be positive, got {self.shape}")
        size = tuple(float(v) for v in self.size_m)
        if not all(np.isfinite(size)) or min(size) < 0:
            raise ValueError(f"grid size must be finite and >= 0 m, got {self.size_m}")
        set_field(self, "shape", (rows, cols))
        set_field(self, "center_m", tuple(float(v) for v in self.center_m))
        set_field(self, "size_m", size)
        set_field(self, "theta_rad", float(self.theta_rad))
        set_field(self, "reflect", bool(self.reflect))
        set_field(self, "back_and_forth", bool(self.back_and_forth))

    @property
    def pixel_size_m(self) -> tuple[float, float]:
        """Pixel pitch ``(row, col)`` = ``(v / rows, u / cols)`` in m."""
        return (self.size_m[1] / self.shape[0], self.size_m[0] / self.shape[1])

    def grid_to_scanner(self, row: Any, col: Any) -> tuple[np.ndarray, np.ndarray]:
        """Map (possibly fractional) grid indices to scanner coordinates.

        Parameters
        ----------
        row, col : array_like
            Grid indices; integers are pixel centres.

        Returns
        -------
        x_m, y_m : ndarray
            Scanner coordinates in m, same shape as the broadcast inputs.
        """
        rows, cols = self.shape
        u = -self.size_m[0] / 2 + (np.asarray(col, float) + 0.5) * self.size_m[0] / cols
        v = -self.size_m[1] / 2 + (np.asarray(row, float) + 0.5) * self.size_m[1] / rows
        if self.reflect:
            v = -v
        c, s = np.cos(self.theta_rad), np.sin(self.theta_rad)
        return self.center_m[0] + c * u - s * v, self.center_m[1] + s * u + c * v

    def pixel_centres_m(self) -> tuple[np.ndarray, np.ndarray]:
        """Scanner coordinates ``(x_m, y_m)`` of every pixel centre, each of shape (rows, cols)."""
        rr, cc = np.indices(self.shape)
        return self.grid_to_scanner(rr, cc)

    def index_to_rowcol(self, position_index: Any) -> tuple[np.ndarray, np.ndarray]:
        """Convert scan-order position indices to ``(row, col)``, honouring the meander order."""
        idx = np.asarray(position_index, dtype=np.int64)
        row, col = np.divmod(idx, self.shape[1])
        if self.back_and_forth:
            col = np.where(row % 2 == 1, self.shape[1] - 1 - col, col)
        return row, col


@dataclass(frozen=True)
class CurveSegment:
    """One segment (approach or retract) of a block of curves, padded with NaN.

    Parameters
    ----------
    height_m : ndarray, shape (n, m), or None
        Piezo height in m, as recorded by the instrument (usually larger = tip further from
        the sample, so decreasing during the approach; some files, e.g. JPK exports with a
        flipped height axis, record the opposite sign and preprocessing detects it). None
        only when the block was loaded without it (:meth:`ForceMap.curves` ``fields``) and
        ``measured_height_m`` is present.
    force_n : ndarray, shape (n, m)
        Cantilever force in N (deflection times spring constant).
    n_points : ndarray, shape (n,)
        Valid points per curve; entries past it are NaN.
    measured_height_m : ndarray, shape (n, m), optional
        Height measured by a sensor (capacitive/strain gauge) in m, when recorded.
    time_s : ndarray, shape (n, m), optional
        Time of each point in s, when recorded.
    """

    height_m: np.ndarray | None
    force_n: np.ndarray
    n_points: np.ndarray
    measured_height_m: np.ndarray | None = None
    time_s: np.ndarray | None = None

    #: fields a loader may leave out when asked (see :meth:`ForceMap.curves`)
    OPTIONAL_FIELDS = ("height_m", "measured_height_m", "time_s")

    def __post_init__(self) -> None:
        force = frozen_array(self.force_n, np.float64, "force_n", 2)
        shape = force.shape
        set_field(self, "force_n", force)
        npts = frozen_array(self.n_points, np.int64, "n_points", 1)
        set_field(self, "n_points", npts)
        if self.height_m is None and self.measured_height_m is None:
            raise ValueError("a segment needs height_m, measured_height_m or both")
        for name in self.OPTIONAL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                value = frozen_array(value, np.float64, name, 2)
                if value.shape != shape:
                    raise ValueError(f"{name} has shape {value.shape}, force_n has {shape}")
                set_field(self, name, value)
        if npts.shape != shape[:1]:
            raise ValueError(f"n_points has shape {npts.shape}, expected ({shape[0]},)")
        if npts.size and (npts.min() < 0 or npts.max() > shape[1]):
            raise ValueError(f"n_points must lie in [0, {shape[1]}]")

    @property
    def n_curves(self) -> int:
        """Number of curves in the block."""
        return self.force_n.shape[0]

    @property
    def mask(self) -> np.ndarray:
        """Boolean (n, m) array, True on valid (non-padding) points."""
        return np.arange(self.force_n.shape[1])[None, :] < self.n_points[:, None]

    def curve(self, i: int) -> dict[str, np.ndarray]:
        """The valid points of curve ``i`` as a dict of 1-D arrays (unpadded)."""
        n = int(self.n_points[i])
        out = {"force_n": self.force_n[i, :n]}
        for name in self.OPTIONAL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value[i, :n]
        return out

    def take(self, indices: Sequence[int] | np.ndarray) -> CurveSegment:
        """A new segment holding curves ``indices``, trimmed to their longest curve."""
        idx = np.asarray(indices, dtype=np.int64)
        npts = self.n_points[idx]
        m = int(npts.max()) if idx.size else 0

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[idx, :m]

        return CurveSegment(
            height_m=pick(self.height_m),
            force_n=pick(self.force_n),
            n_points=npts,
            measured_height_m=pick(self.measured_height_m),
            time_s=pick(self.time_s),
        )

    @classmethod
    def from_curves(cls, curves: Sequence[Mapping[str, np.ndarray]]) -> CurveSegment:
        """Pad a list of per-curve dicts (keys as :meth:`curve` returns) into one segment."""
        npts = np.array([len(c["force_n"]) for c in curves], dtype=np.int64)
        m = int(npts.max()) if len(curves) else 0

        def pad(key: str) -> np.ndarray | None:
            if not curves or key not in curves[0]:
                return None if curves else np.empty((0, 0))
            out = np.full((len(curves), m), np.nan)
            for i, c in enumerate(curves):
                out[i, : npts[i]] = c[key]
            return out

        return cls(
            height_m=pad("height_m"),
            force_n=pad("force_n"),
            n_points=npts,
            measured_height_m=pad("measured_height_m"),
            time_s=pad("time_s"),
        )


@dataclass(frozen=True)
class CurveBlock:
    """A block of curves of one force map, loaded into memory.

    Parameters
    ----------
    curve_index : ndarray of int, shape (n,)
        Positions of these curves in the map's curve list (0 .. ForceMap.n_curves - 1).
    approach : CurveSegment
        Approach (extend) segments.
    retract : CurveSegment or None
        Retract segments, when recorded.
    status : ndarray of int8, shape (n,), optional
        :class:`CurveStatus` the reader gives each curve (CORRUPT for a curve damaged in the
        file, whose values are NaN); None when every curve read fine.
    """

    curve_index: np.ndarray
    approach: CurveSegment
    retract: CurveSegment | None = None
    status: np.ndarray | None = None

    def __post_init__(self) -> None:
        idx = frozen_array(self.curve_index, np.int64, "curve_index", 1)
        set_field(self, "curve_index", idx)
        if self.status is not None:
            status = frozen_array(self.status, np.int8, "status", 1)
            if status.size != idx.size:
                raise ValueError(f"status holds {status.size} curves, expected {idx.size}")
            set_field(self, "status", status)
        if self.approach.n_curves != idx.size:
            raise ValueError(
                f"approach holds {self.approach.n_curves} curves, curve_index {idx.size}"
            )
        if self.retract is not None and self.retract.n_curves != idx.size:
            raise ValueError(f"retract holds {self.retract.n_curves} curves, expected {idx.size}")

    @property
    def n_curves(self) -> int:
        """Number of curves in the block."""
        return int(self.curve_index.size)

    def take(self, positions: Sequence[int] | np.ndarray) -> CurveBlock:
        """A new block with the curves at ``positions`` (positions within this block)."""
        pos = np.asarray(positions, dtype=np.int64)
        return CurveBlock(
            curve_index=self.curve_index[pos],
            approach=self.approach.take(pos),
            retract=None if self.retract is None else self.retract.take(pos),
            status=None if self.status is None else self.status[pos],
        )


#: Signature of a curve loader: ``loader(indices, fields, threads)`` -> a CurveBlock in
#: ``indices`` order. ``fields`` (a frozenset of :attr:`CurveSegment.OPTIONAL_FIELDS`, or None
#: for everything recorded) says which optional channels the caller needs; a loader may return
#: more. ``threads`` (an int, or None for the loader's default) bounds the decoding threads.
CurveLoader = Callable[[np.ndarray, frozenset[str] | None, int | None], CurveBlock]


def in_memory_loader(block: CurveBlock) -> CurveLoader:
    """A :data:`CurveLoader` serving curves from an in-memory block covering the whole map."""
    position = {int(c): i for i, c in enumerate(block.curve_index)}

    def load(
        indices: np.ndarray, fields: frozenset[str] | None = None, threads: int | None = None
    ) -> CurveBlock:
        return block.take([position[int(i)] for i in np.asarray(indices)])

    return load


@dataclass(frozen=True)
class ForceMap:
    """A force map (or a single curve as a 1x1 map) and how to load its curves.

    Curves are loaded on demand in blocks (:meth:`curves`, :meth:`iter_blocks`), so a map of
    any size can be processed with memory bounded by the block size.

    Parameters
    ----------
    path : Path
        The file the map was read from.
    kind : str
        "force-map", "qi-map" or "single-curve".
    grid : GridGeometry
        Grid geometry in the scanner frame.
    position_index : ndarray of int, shape (n,)
        Scan-order index of each recorded curve (curves may be missing from a map).
    row, col : ndarray of int, shape (n,)
        Grid cell of each curve.
    x_m, y_m : ndarray of float, shape (n,)
        Recorded scanner position of each curve in m (NaN when not recorded).
    spring_constant_n_per_m : float
        Cantilever spring constant k in N/m.
    sensitivity_m_per_v : float
        Deflection sensitivity (InvOLS) in m/V; NaN if the format stores force directly.
    loader : callable
        :data:`CurveLoader` returning curves by index into ``0 .. n - 1``.
    metadata : mapping
        Vendor metadata worth keeping (flat str -> value).
    has_measured_height : bool
        True when every curve records a sensor-measured height, so a caller that uses it can
        ask the loader to skip the piezo height (:meth:`curves` ``fields``).
    """

    path: Path
    kind: str
    grid: GridGeometry
    position_index: np.ndarray
    row: np.ndarray
    col: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    spring_constant_n_per_m: float
    sensitivity_m_per_v: float
    loader: CurveLoader = field(repr=False)
    metadata: Mapping[str, Any] = field(default_factory=dict, repr=False)
    has_measured_height: bool = False

    KINDS = ("force-map", "qi-map", "single-curve")

    def __post_init__(self) -> None:
        set_field(self, "path", Path(self.path))
        if self.kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {self.kind!r}")
        n = np.asarray(self.position_index).size
        for name, dtype in (
            ("position_index", np.int64),
            ("row", np.int64),
            ("col", np.int64),
            ("x_m", np.float64),
            ("y_m", np.float64),
        ):
            arr = frozen_array(getattr(self, name), dtype, name, 1)
            if arr.size != n:
                raise ValueError(f"{name} has {arr.size} entries, position_index has {n}")
            set_field(self, name, arr)
        rows, cols = self.grid.shape
        if n and (self.row.min() < 0 or self.row.max() >= rows):
            raise ValueError(f"row outside the grid of {rows} rows")
        if n and (self.col.min() < 0 or self.col.max() >= cols):
            raise ValueError(f"col outside the grid of {cols} columns")
        k = float(self.spring_constant_n_per_m)
        if not (np.isfinite(k) and k > 0):
            raise ValueError(f"spring constant must be finite and > 0 N/m, got {k}")
        set_field(self, "spring_constant_n_per_m", k)
        set_field(self, "sensitivity_m_per_v", float(self.sensitivity_m_per_v))
        set_field(self, "metadata", frozen_mapping(self.metadata))

    @property
    def n_curves(self) -> int:
        """Number of curves recorded in the file."""
        return int(self.position_index.size)

    def curves(
        self,
        indices: Sequence[int] | np.ndarray | None = None,
        *,
        fields: Iterable[str] | None = None,
        threads: int | None = None,
    ) -> CurveBlock:
        """Load curves ``indices`` (all when None) into memory as one padded block.

        ``fields`` names the optional :class:`CurveSegment` channels needed (a subset of
        :attr:`CurveSegment.OPTIONAL_FIELDS`; None = everything recorded). Loaders may skip the
        others (the fast JPK reader then inflates less) or return them anyway. ``threads``
        bounds the decoding threads (None = the loader's default).
        """
        idx = np.arange(self.n_curves) if indices is None else np.asarray(indices, np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_curves):
            raise IndexError(f"curve indices must lie in [0, {self.n_curves})")
        wanted = None if fields is None else frozenset(fields)
        if wanted is not None and not wanted <= set(CurveSegment.OPTIONAL_FIELDS):
            raise ValueError(
                f"fields must be among {CurveSegment.OPTIONAL_FIELDS}, got {sorted(wanted)}"
            )
        return self.loader(idx, wanted, threads)

    def iter_blocks(self, block_size: int = 256) -> Iterator[CurveBlock]:
        """Yield the map's curves in consecutive blocks of at most ``block_size`` curves."""
        if block_size < 1:
            raise ValueError("block_size must be >= 1")
        for start in range(0, self.n_curves, block_size):
            yield self.curves(np.arange(start, min(start + block_size, self.n_curves)))


@dataclass(frozen=True)
class IndentationCurves:
    """Preprocessed approach curves of a block, ready for a contact-model fit.

    Produced by :func:`cellmech.preprocess.preprocess`, consumed by :func:`cellmech.fit.fit_curves`.
    Curves are padded to the longest one; positions past ``n_points[i]`` are NaN.

    Parameters
    ----------
    curve_index : ndarray of int, shape (n,)
        Curve positions in the :class:`ForceMap` curve list.
    tip_position_m : ndarray, shape (n, m)
        Tip position in m (height + force / k, larger = tip further from the sample), shifted
        by ``tip_offset_m`` so that the estimated contact point lies at 0 m. The indentation
        for a contact point ``cp`` is ``cp - tip_position_m``.
    force_n : ndarray, shape (n, m)
        Force in N with the baseline offset (and tilt, when asked) removed.
    n_points : ndarray of int, shape (n,)
        Valid points per curve.
    tip_offset_m : ndarray, shape (n,)
        Tip position subtracted from each curve in m (0 when the tip offset was not corrected);
        ``tip_position_m + tip_offset_m`` is the tip position in the height frame.
    contact_index : ndarray of int, shape (n,)
        Estimated contact-point index into each curve, -1 when none was found.
    status : ndarray of int8, shape (n,)
        :class:`CurveStatus` of the preprocessing (OK, INVALID_INPUT, TOO_FEW_POINTS, ...).
    spring_constant_n_per_m : float
        Cantilever spring constant k in N/m (used to turn forces into deflections).
    parameters : mapping
        The preprocessing options used.
    """

    curve_index: np.ndarray
    tip_position_m: np.ndarray
    force_n: np.ndarray
    n_points: np.ndarray
    tip_offset_m: np.ndarray
    contact_index: np.ndarray
    status: np.ndarray
    spring_constant_n_per_m: float
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        idx = frozen_array(self.curve_index, np.int64, "curve_index", 1)
        set_field(self, "curve_index", idx)
        tip = frozen_array(self.tip_position_m, np.float64, "tip_position_m", 2)
        set_field(self, "tip_position_m", tip)
        set_field(self, "force_n", frozen_array(self.force_n, np.float64, "force_n", 2))
        if self.force_n.shape != tip.shape or tip.shape[0] != idx.size:
            raise ValueError(
                f"force_n {self.force_n.shape} and tip_position_m {tip.shape} must both be "
                f"({idx.size}, m)"
            )
        for name, dtype in (
            ("n_points", np.int64),
            ("tip_offset_m", np.float64),
            ("contact_index", np.int64),
            ("status", np.int8),
        ):
            arr = frozen_array(getattr(self, name), dtype, name, 1)
            if arr.size != idx.size:
                raise ValueError(f"{name} has {arr.size} entries, curve_index has {idx.size}")
            set_field(self, name, arr)
        if self.n_points.size and (self.n_points.min() < 0 or self.n_points.max() > tip.shape[1]):
            raise ValueError(f"n_points must lie in [0, {tip.shape[1]}]")
        check_status_codes(self.status)
        k = float(self.spring_constant_n_per_m)
        if not (np.isfinite(k) and k > 0):
            raise ValueError(f"spring constant must be finite and > 0 N/m, got {k}")
        set_field(self, "spring_constant_n_per_m", k)
        set_field(self, "parameters", frozen_mapping(self.parameters))

    @property
    def n_curves(self) -> int:
        """Number of curves."""
        return int(self.curve_index.size)

    @property
    def mask(self) -> np.ndarray:
        """Boolean (n, m) array, True on valid (non-padding) points."""
        return np.arange(self.tip_position_m.shape[1])[None, :] < self.n_points[:, None]

    def curve(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(tip_position_m, force_n)`` of curve ``i`` as unpadded 1-D arrays."""
        n = int(self.n_points[i])
        return self.tip_position_m[i, :n], self.force_n[i, :n]
