"""OME-TIFF and ImageJ TIFF fluorescence stacks (reader "tiff").

The first image series of the file is returned as (C, Z, Y, X) whatever the axis order in the
file (tifffile's series axes):

- **T** (time): the first time point is taken; ``metadata["n_time_points"]`` says how many the
  file holds. A force map is correlated with one fluorescence snapshot, so a time series is
  reduced to its first frame rather than refused; split it beforehand to use another frame.
- **S** (samples, e.g. RGB): folded into the channel axis, channel-major (C0:S0, C0:S1, ...);
  RGB samples are named ``red``, ``green``, ``blue``.
- a plain stack of pages without axis metadata (tifffile's Q or I axis, when there is no Z) is
  read as Z, as ImageJ reads a plain stack as slices.
- any other axis (tifffile's E, H, A, a second Q ...) must have length 1; longer ones are
  refused.

Calibration is converted to metres with :func:`cellmech.units.length_to_m`:

- OME-TIFF (parsed with ome-types): ``Pixels`` PhysicalSizeX/Y/Z with their units, ``Channel``
  names, ``Plane`` PositionX/Y/Z with their units (first time point, lowest channel), and
  ``StageLabel`` X/Y as fallback stage position. A position without a length unit (the OME
  default "reference frame") is NaN.
- ImageJ TIFF: ``XResolution``/``YResolution`` (pixels per unit) in ImageJ's ``unit``
  (``yunit``), ``spacing`` in ``zunit`` (else ``unit``), ``Labels`` as channel names.
- plain TIFF: ``XResolution``/``YResolution`` when ``ResolutionUnit`` is cm, mm or µm (inch
  resolutions are print/screen dpi, not a microscope calibration, and are ignored).

A missing pixel size raises :class:`~cellmech.errors.MissingMetadataError`; supply it with
``pixel_size_m``. Stacks up to :data:`LAZY_THRESHOLD_BYTES` are loaded into memory; larger ones
are returned as a :class:`LazyStack` that reads only the planes an index touches (decoded by
tifffile page by page, synchronously: no zarr store and no asyncio event loop).

Damaged files raise :class:`~cellmech.errors.CorruptFileError` naming the file: the chain of
image file directories must stay inside the file, the series' pixel data must end before the
end of the file, and tifffile's warnings about invalid offsets are treated as errors. A file cut
only inside the tag values of its last directory (after all pixel data) still reads.
"""

from __future__ import annotations

import logging
import math
import re
import struct
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from cellmech.containers import FluorescenceStack
from cellmech.errors import CellmechError, ConfigError, CorruptFileError, MissingMetadataError
from cellmech.units import length_to_m

__all__ = ["LAZY_THRESHOLD_BYTES", "LazyStack", "can_read", "read"]

#: stacks (after choosing the time point) larger than this stay on disk as a LazyStack, bytes
LAZY_THRESHOLD_BYTES = 256 * 2**20
#: first four bytes of classic TIFF and BigTIFF, little- and big-endian
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: TIFF ResolutionUnit codes that are lengths (tifffile.RESUNIT; 4 and 5 are extensions)
_RESOLUTION_UNITS = {3: "cm", 4: "mm", 5: "µm"}
#: tifffile log messages that mean the file structure points past its end or is broken
_CORRUPT_LOG = re.compile(r"invalid .*offset|corrupt|truncat", re.IGNORECASE)
_KEPT = "CSZYX"
_HINT = (
    "pass pixel_size_m=(y_m, x_m) to cellmech.io.read_fluorescence (--pixel-size on the "
    "command line) or save the stack as OME-TIFF with PhysicalSizeX/PhysicalSizeY"
)


def can_read(path: str | Path) -> bool:
    """True if ``path`` starts with the TIFF (or BigTIFF) magic bytes; never raises."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in TIFF_MAGIC
    except (OSError, TypeError, ValueError):
        return False


def read(
    path: str | Path,
    *,
    pixel_size_m: float | Sequence[float] | None = None,
    lazy: bool | None = None,
) -> FluorescenceStack:
    """Read the first image series of an OME-TIFF or ImageJ TIFF as a (C, Z, Y, X) stack.

    Parameters
    ----------
    path : path-like
        The TIFF file.
    pixel_size_m : float or (float, float), optional
        Pixel pitch ``(y, x)`` (or one value for square pixels) in m; overrides the file.
    lazy : bool, optional
        True: return a :class:`LazyStack`; False: load into memory; None (default): lazy when
        the stack exceeds :data:`LAZY_THRESHOLD_BYTES`.

    Returns
    -------
    FluorescenceStack
        ``data`` of shape (C, Z, Y, X); calibration in m (see the module notes).

    Raises
    ------
    CorruptFileError
        Not a readable TIFF, truncated, empty, or with an axis that cannot be mapped.
    MissingMetadataError
        No physical pixel size in the file and none given.
    """
    path = Path(path)
    with _open(path) as (tif, warnings):
        series, n_series = tif.series[0], len(tif.series)
        layout = _Layout.of(path, series.axes, series.shape)
        _check_complete(path, tif, series)
        cal = _calibration(path, tif, series, layout)
    pixel, pixel_source = _pixel_size(path, cal, pixel_size_m)
    view = LazyStack(path, layout, series.dtype)
    lazy = view.nbytes > LAZY_THRESHOLD_BYTES if lazy is None else bool(lazy)
    data = view if lazy else _load(view)
    meta = {
        "format": cal.source,
        "axes_in_file": series.axes,
        "n_series": n_series,
        "n_time_points": layout.sizes.get("T", 1),
        "time_point": 0,
        "pixel_size_source": pixel_source,
        "lazy": lazy,
    }
    if warnings:
        meta["tifffile_warnings"] = "; ".join(warnings)
    n_z = layout.shape[1]
    return FluorescenceStack(
        data=data,
        channel_names=_channel_names(cal.channel_names, layout, cal.rgb),
        pixel_size_m=pixel,
        z_step_m=cal.z_step_m if n_z > 1 else math.nan,
        source=path,
        stage_position_m=cal.stage_position_m,
        plane_positions_m=cal.plane_positions_m,
        metadata=meta,
    )


@dataclass(frozen=True)
class _Layout:
    """How the axes of a tifffile series map onto (C, Z, Y, X)."""

    axes: str
    file_shape: tuple[int, ...]

    @classmethod
    def of(cls, path: Path, axes: str, shape: Sequence[int]) -> _Layout:
        shape = tuple(int(n) for n in shape)
        if not shape or min(shape) == 0:
            raise CorruptFileError(
                f"{path}: the image stack is empty (shape {shape}); re-export it"
            )
        if "Y" not in axes or "X" not in axes:
            raise CorruptFileError(f"{path}: series axes {axes!r} lack Y or X; not an image")
        pages = [a for a, n in zip(axes, shape, strict=True) if a in "QI" and n > 1]
        if len(pages) == 1 and "Z" not in axes:  # a plain stack of pages: slices, as in ImageJ
            axes = axes.replace(pages[0], "Z")
        odd = [
            f"{a}={n}" for a, n in zip(axes, shape, strict=True) if a not in _KEPT + "T" and n > 1
        ]
        if odd:
            raise CorruptFileError(
                f"{path}: axes {', '.join(odd)} (of {axes!r}) cannot be mapped onto channels or z; "
                "save the stack as OME-TIFF or ImageJ hyperstack with C/Z/T axes"
            )
        return cls(axes, shape)

    @property
    def sizes(self) -> dict[str, int]:
        return dict(zip(self.axes, self.file_shape, strict=True))

    @property
    def folds_samples(self) -> bool:
        return self.sizes.get("S", 1) > 1

    @property
    def shape(self) -> tuple[int, int, int, int]:
        s = self.sizes
        return (s.get("C", 1) * s.get("S", 1), s.get("Z", 1), s["Y"], s["X"])

    def file_key(self, keys: dict[str, slice]) -> tuple[int | slice, ...]:
        """Index into the file array: ``keys`` on C/Z/Y/X, all samples, time point 0."""
        return tuple(keys.get(a, slice(None)) if a in _KEPT else 0 for a in self.axes)

    def to_czyx(self, block: np.ndarray) -> np.ndarray:
        """Reorder a block read with :meth:`file_key` to (C*S, Z, Y, X)."""
        present = [a for a in self.axes if a in _KEPT]
        block = np.transpose(block, [present.index(a) for a in _KEPT if a in present])
        for i, axis in enumerate(_KEPT):
            if axis not in present:
                block = np.expand_dims(block, i)
        return block.reshape(block.shape[0] * block.shape[1], *block.shape[2:])


class LazyStack:
    """Read-only (C, Z, Y, X) view of a TIFF series that reads planes only when indexed.

    Integer and slice indices (NumPy basic indexing) decode only the planes they select; any
    other index (lists, arrays, masks) reads the whole stack first.
    ``np.asarray(view)`` loads everything. The file stays open until :meth:`close` (or garbage
    collection); a pickled view reopens the file on first use.

    Parameters
    ----------
    path : Path
        The TIFF file.
    layout : _Layout
        Axis mapping of its first series.
    dtype : dtype
        Pixel type.
    """

    ndim = 4

    def __init__(self, path: Path, layout: _Layout, dtype: Any):
        self.path = Path(path)
        self.shape = layout.shape
        self.dtype = np.dtype(dtype)
        self._layout = layout
        self._tif: tifffile.TiffFile | None = None
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Number of pixels."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes the whole stack takes in memory."""
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"LazyStack({str(self.path)!r}, shape={self.shape}, dtype={self.dtype})"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        arr = self[...]
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if not all(_is_basic(k) for k in key):
            return np.asarray(self)[key]
        file_keys: dict[str, slice] = {}
        post: list[Any] = []
        for axis, k, n in zip("CZYX", _expand_ellipsis(key), self.shape, strict=True):
            in_file = axis in self._layout.axes and not (axis == "C" and self._layout.folds_samples)
            if not in_file or (isinstance(k, slice) and (k.step or 1) < 0):
                post.append(k)
            elif isinstance(k, slice):
                file_keys[axis] = slice(*k.indices(n))
                post.append(slice(None))
            else:
                if not -n <= k < n:
                    raise IndexError(f"index {k} out of range for axis {axis} of size {n}")
                file_keys[axis] = slice(k % n, k % n + 1)
                post.append(0)
        return self._read(file_keys)[tuple(post)]

    def close(self) -> None:
        """Close the file; a later index reopens it."""
        tif = getattr(self, "_tif", None)
        if tif is not None:
            tif.close()
        self._tif = None

    def __enter__(self) -> LazyStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_tif": None, "_lock": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def _read(self, file_keys: dict[str, slice]) -> np.ndarray:
        try:
            with self._lock:  # tifffile's file handle is shared: one reader at a time
                block = _read_pages(self._series(), self._layout.file_key(file_keys))
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise CorruptFileError(
                f"{self.path}: reading the pixel data failed ({type(exc).__name__}: {exc}); "
                "the file may be truncated or corrupt"
            ) from exc
        return self._layout.to_czyx(block)

    def _series(self) -> tifffile.TiffPageSeries:
        """The file's first series, opening the file on first use (call with the lock held)."""
        if self._tif is None:
            self._tif = tifffile.TiffFile(self.path)
        return self._tif.series[0]


def _read_pages(series: tifffile.TiffPageSeries, key: tuple[int | slice, ...]) -> np.ndarray:
    """``series[key]`` decoding only the pages (image planes) the key selects.

    Pages are decoded by tifffile itself (``TiffPage.asarray``), synchronously: a corrupt
    page raises here instead of inside an asynchronous store.
    """
    shape = tuple(int(n) for n in series.shape)
    n_pages = len(series)
    lead = next(k for k in range(len(shape) + 1) if math.prod(shape[:k]) == n_pages)
    pages = np.arange(n_pages).reshape(shape[:lead])[key[:lead]]
    planes = [series.pages[int(i)].asarray().reshape(shape[lead:]) for i in pages.ravel()]
    block = np.stack(planes) if planes else np.empty((0, *shape[lead:]), series.dtype)
    block = block.reshape(*pages.shape, *shape[lead:])
    return block[(slice(None),) * pages.ndim + key[lead:]]


def _is_basic(k: Any) -> bool:
    return (
        k is Ellipsis
        or isinstance(k, slice)
        or (isinstance(k, int | np.integer) and not isinstance(k, bool | np.bool_))
    )


def _expand_ellipsis(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """``key`` with its Ellipsis expanded and padded with full slices to 4 entries."""
    n_ellipsis = sum(k is Ellipsis for k in key)
    if n_ellipsis > 1 or len(key) - n_ellipsis > 4:
        raise IndexError(f"too many indices for a 4-D stack: {key!r}")
    at = next((i for i, k in enumerate(key) if k is Ellipsis), len(key))
    fill = (slice(None),) * (4 - len(key) + n_ellipsis)
    return key[:at] + fill + key[at + n_ellipsis :]


def _load(view: LazyStack) -> np.ndarray:
    with view:
        return np.asarray(view)


class _LogRecorder(logging.Handler):
    """Collects tifffile's warnings emitted by the calling thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


@contextmanager
def _open(path: Path) -> Iterator[tuple[tifffile.TiffFile, list[str]]]:
    """Open ``path`` with tifffile, turning parser failures and warnings of corruption into
    :class:`CorruptFileError`; yields the file and tifffile's other warnings."""
    recorder = _LogRecorder()
    logger = tifffile.logger()
    logger.addHandler(recorder)
    try:
        with tifffile.TiffFile(path) as tif:
            _check_ome_planes(path, tif, _check_ifd_chain(path, tif.filehandle))
            series = tif.series  # parses the IFD chain: check its warnings before use
            _raise_if_broken(path, recorder.messages)
            if not series:
                raise CorruptFileError(f"{path}: the TIFF holds no image; re-export it")
            yield tif, recorder.messages
            _raise_if_broken(path, recorder.messages)
    except CellmechError:
        raise
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise CorruptFileError(
            f"{path}: not a readable TIFF ({type(exc).__name__}: {exc}); "
            "the file may be truncated or corrupt"
        ) from exc
    finally:
        logger.removeHandler(recorder)


def _raise_if_broken(path: Path, messages: list[str]) -> None:
    broken = [m for m in messages if _CORRUPT_LOG.search(m)]
    if broken:
        raise CorruptFileError(
            f"{path}: the TIFF structure is broken ({broken[0]}); "
            "the file is probably truncated; re-copy or re-export it"
        )


def _check_ome_planes(path: Path, tif: tifffile.TiffFile, n_ifds: int) -> None:
    """Raise CorruptFileError if the OME-XML declares more planes (SizeZ x SizeC x SizeT)
    than the file has image file directories, before tifffile allocates an index of them
    (a few bytes of XML declaring 10^9 planes took tifffile 30 s and 10 GB)."""
    xml = tif.pages.first.description if tif.is_ome else ""
    page = tif.pages.first
    planes = sum(  # RGB planes hold samplesperpixel channels each
        math.prod(int(n) for n in re.findall(r'\bSize[ZCT]="\s*(\d+)\s*"', pixels))
        // page.samplesperpixel
        for pixels in re.findall(r"<(?:\w+:)?Pixels\b[^>]*>", xml)
    )
    first = re.search(r"<(?:\w+:)?Pixels\b[^>]*>", xml)
    declared = (
        {k: int(v) for k, v in re.findall(r'\bSize([XY])="\s*(\d+)\s*"', first[0])} if first else {}
    )
    if declared and (declared.get("Y"), declared.get("X")) != (page.imagelength, page.imagewidth):
        raise CorruptFileError(
            f"{path}: the OME-XML declares planes of {declared.get('Y')} x {declared.get('X')} "
            f"pixels (SizeY x SizeX) but the first image has {page.imagelength} x "
            f"{page.imagewidth}; the metadata are corrupt: fix the XML or re-export the stack"
        )
    if planes > n_ifds:
        raise CorruptFileError(
            f"{path}: the OME-XML declares {planes} image planes (SizeZ x SizeC x SizeT) but "
            f"the file holds {n_ifds}; the metadata are corrupt (multi-file OME datasets are "
            "not supported): fix the XML or re-export the stack"
        )


def _check_ifd_chain(path: Path, fh: Any) -> int:
    """Walk the chain of image file directories (counts and links only) and raise
    CorruptFileError if an IFD lies past the end of the file or the chain loops; returns the
    number of IFDs.

    tifffile reads only the first IFD of ImageJ and contiguous stacks, so a file cut after
    its pixel data would otherwise go unnoticed.
    """
    fh.seek(0)
    head = fh.read(16)
    order = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\x00", b"\x00+")
    n_fmt, entry, link_fmt = ("Q", 20, "Q") if big else ("H", 12, "I")
    n_size, link_size = struct.calcsize(n_fmt), struct.calcsize(link_fmt)
    offset = struct.unpack(order + link_fmt, head[8:16] if big else head[4:8])[0]
    seen: set[int] = set()
    while offset:
        if offset in seen or offset + n_size > fh.size:
            raise CorruptFileError(
                f"{path}: image file directory {len(seen)} at byte {offset} is missing or loops "
                f"(file size {fh.size} bytes); the file is truncated or corrupt; re-copy it"
            )
        seen.add(offset)
        fh.seek(offset)
        (n,) = struct.unpack(order + n_fmt, fh.read(n_size))
        link_at = offset + n_size + n * entry
        if link_at + link_size > fh.size:
            raise CorruptFileError(
                f"{path}: image file directory {len(seen) - 1} ends past the end of the file "
                f"({fh.size} bytes); the file is truncated; re-copy or re-export it"
            )
        fh.seek(link_at)
        (offset,) = struct.unpack(order + link_fmt, fh.read(link_size))
    return len(seen)


def _check_complete(path: Path, tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> None:
    """Raise CorruptFileError if the series' pixel data leave the file (the IFD chain is
    checked on opening)."""
    size = tif.filehandle.size
    if series.dataoffset is not None:
        end = series.dataoffset + series.nbytes
    else:
        end = max(
            (
                o + c
                for page in series.pages
                if page is not None
                for o, c in zip(page.dataoffsets, page.databytecounts, strict=True)
            ),
            default=0,
        )
    if end > size:
        raise CorruptFileError(
            f"{path}: truncated: the pixel data extend to byte {end} but the file has "
            f"{size} bytes; re-copy or re-export it"
        )


@dataclass(frozen=True)
class _Calibration:
    """Physical calibration found in a file (NaN where absent)."""

    source: str
    pixel_size_m: tuple[float, float]
    pixel_keys: tuple[str, ...]
    z_step_m: float
    channel_names: Sequence[str | None]
    rgb: bool
    plane_positions_m: np.ndarray | None = None
    stage_position_m: tuple[float, float] | None = None


def _to_m(value: Any, unit: Any) -> float:
    """``value`` in ``unit`` as metres; NaN when either is missing or the unit is no length."""
    if value is None or unit is None:
        return math.nan
    try:
        return length_to_m(float(value), str(getattr(unit, "value", unit)))
    except (ConfigError, TypeError, ValueError):
        return math.nan


def _calibration(
    path: Path, tif: tifffile.TiffFile, series: tifffile.TiffPageSeries, layout: _Layout
) -> _Calibration:
    page = series.keyframe
    rgb = page.photometric == tifffile.PHOTOMETRIC.RGB
    if tif.is_ome:
        return _ome_calibration(path, tif.ome_metadata, page, layout, rgb)
    if tif.is_imagej:
        return _imagej_calibration(tif.imagej_metadata or {}, page, layout, rgb)
    unit = _RESOLUTION_UNITS.get(int(page.tags.valueof("ResolutionUnit", 1)))
    return _Calibration("tiff", _resolution_m(page, unit, unit), _RES_KEYS, math.nan, (), rgb)


_RES_KEYS = ("YResolution", "XResolution", "ResolutionUnit")


def _resolution_m(page: tifffile.TiffPage, yunit: Any, xunit: Any) -> tuple[float, float]:
    """Pixel pitch ``(y, x)`` in m from the resolution tags (pixels per unit)."""

    def pitch(tag: str, unit: Any) -> float:
        value = page.tags.valueof(tag)
        if not value or not value[0]:
            return math.nan
        return _to_m(value[1] / value[0], unit)

    return pitch("YResolution", yunit), pitch("XResolution", xunit)


def _imagej_calibration(
    meta: dict[str, Any], page: tifffile.TiffPage, layout: _Layout, rgb: bool
) -> _Calibration:
    unit = meta.get("unit")
    labels = meta.get("Labels") or []
    n_c = layout.sizes.get("C", 1)
    planes = n_c * layout.sizes.get("Z", 1) * layout.sizes.get("T", 1)
    return _Calibration(
        source="imagej",
        pixel_size_m=_resolution_m(page, meta.get("yunit", unit), unit),
        pixel_keys=("YResolution", "XResolution", "unit"),
        z_step_m=_to_m(meta.get("spacing"), meta.get("zunit", unit)),
        channel_names=labels[:n_c] if len(labels) in (n_c, planes) else (),
        rgb=rgb,
    )


def _ome_calibration(
    path: Path, xml: str, page: tifffile.TiffPage, layout: _Layout, rgb: bool
) -> _Calibration:
    import ome_types

    try:
        with warnings.catch_warnings():  # xsdata/pydantic warn, then raise: the error says it
            warnings.simplefilter("ignore")
            image = ome_types.from_xml(xml).images[0]
    except Exception as exc:
        raise CorruptFileError(
            f"{path}: the OME-XML metadata could not be parsed ({type(exc).__name__}: {exc}); "
            "fix the XML or re-export the stack"
        ) from exc
    px = image.pixels
    pixel = (
        _to_m(px.physical_size_y, px.physical_size_y_unit),
        _to_m(px.physical_size_x, px.physical_size_x_unit),
    )
    if not all(map(math.isfinite, pixel)):  # some writers only fill the resolution tags
        unit = _RESOLUTION_UNITS.get(int(page.tags.valueof("ResolutionUnit", 1)))
        pixel = tuple(
            p if math.isfinite(p) else r
            for p, r in zip(pixel, _resolution_m(page, unit, unit), strict=True)
        )
    positions = _ome_plane_positions(px.planes, layout.shape[1])
    return _Calibration(
        source="ome",
        pixel_size_m=pixel,
        pixel_keys=("PhysicalSizeY", "PhysicalSizeX"),
        z_step_m=_to_m(px.physical_size_z, px.physical_size_z_unit),
        channel_names=[c.name for c in px.channels],
        rgb=rgb,
        plane_positions_m=positions,
        stage_position_m=_stage_position(positions, image.stage_label),
    )


def _ome_plane_positions(planes: Sequence[Any], n_z: int) -> np.ndarray | None:
    """(Z, 3) positions in m of the planes of time point 0, lowest channel; None if absent."""
    pos = np.full((n_z, 3), math.nan)
    for plane in sorted(planes, key=lambda p: p.the_c, reverse=True):
        if plane.the_t == 0 and plane.the_z < n_z:
            pos[plane.the_z] = [
                _to_m(plane.position_x, plane.position_x_unit),
                _to_m(plane.position_y, plane.position_y_unit),
                _to_m(plane.position_z, plane.position_z_unit),
            ]
    return None if np.isnan(pos).all() else pos


def _stage_position(positions: np.ndarray | None, label: Any) -> tuple[float, float] | None:
    """Stage ``(x, y)`` in m: the first plane's position, else the OME StageLabel."""
    if positions is not None and np.isfinite(positions[0, :2]).all():
        return float(positions[0, 0]), float(positions[0, 1])
    if label is not None:
        xy = (_to_m(label.x, label.x_unit), _to_m(label.y, label.y_unit))
        if all(map(math.isfinite, xy)):
            return xy
    return None


def _pixel_size(
    path: Path, cal: _Calibration, override: float | Sequence[float] | None
) -> tuple[tuple[float, float], str]:
    """The pixel pitch ``(y, x)`` in m and where it came from."""
    if override is not None:
        try:
            values = np.asarray(override, dtype=float).ravel()
        except (TypeError, ValueError):
            values = np.empty(0)
        values = np.repeat(values, 2) if values.size == 1 else values
        if values.size != 2 or not (np.isfinite(values).all() and (values > 0).all()):
            raise ConfigError(
                f"pixel_size_m={override!r} must be one or two finite positive lengths in m"
            )
        return (float(values[0]), float(values[1])), "override"
    pairs = zip(cal.pixel_keys[:2], cal.pixel_size_m, strict=True)
    missing = [k for k, v in pairs if not math.isfinite(v)]
    if missing:
        keys = missing + list(cal.pixel_keys[2:])
        raise MissingMetadataError(path, keys, f"the file states no physical pixel size; {_HINT}")
    return cal.pixel_size_m, cal.source


def _channel_names(names: Sequence[str | None], layout: _Layout, rgb: bool) -> list[str]:
    """One name per output channel; ``ch<i>`` where the file names none."""
    n_c, n_s = layout.sizes.get("C", 1), layout.sizes.get("S", 1)
    if len(names) != n_c:
        names = [None] * n_c
    base = [name or f"ch{i}" for i, name in enumerate(names)]
    if n_s == 1:
        return base
    samples = ("red", "green", "blue") if rgb and n_s == 3 else [f"s{i}" for i in range(n_s)]
    if n_c == 1 and not names[0]:
        return list(samples)
    return [f"{b}:{s}" for b in base for s in samples]
