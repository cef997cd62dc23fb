"""Readers for AFM force maps and fluorescence stacks.

``read_force_map`` and ``read_fluorescence`` pick the right reader from the registry
(:mod:`cellmech.io.registry`) and turn any unexpected library failure into a
:class:`~cellmech.errors.CellmechError` that names the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cellmech.containers import FluorescenceStack, ForceMap
from cellmech.errors import CellmechError, CorruptFileError, UnsupportedFormatError
from cellmech.io.registry import ReaderSpec, check_input_file, find_reader, readers

__all__ = ["ReaderSpec", "identify", "read_fluorescence", "read_force_map", "readers"]


def identify(path: str | Path) -> str:
    """``"afm"`` or ``"fluorescence"``: which kind of reader takes the file.

    Raises
    ------
    MissingFileError
        If ``path`` does not exist or is not a file.
    UnsupportedFormatError
        If no reader takes it (the message lists every reader and suffix tried).
    """
    p = check_input_file(path)
    try:
        find_reader(p, "afm")
        return "afm"
    except UnsupportedFormatError as afm_error:
        try:
            find_reader(p, "fluorescence")
        except UnsupportedFormatError as fluo_error:  # report every reader and suffix asked
            raise UnsupportedFormatError(
                p, afm_error.tried + fluo_error.tried, afm_error.suffixes + fluo_error.suffixes
            ) from None
        return "fluorescence"


def _read(path: str | Path, kind: str, reader: str | None, options: dict[str, Any]) -> Any:
    p = check_input_file(path)
    spec = find_reader(p, kind, reader)
    try:
        return spec.load().read(p, **options)
    except CellmechError:
        raise
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a library failed deep inside: name the file, keep the cause
        raise CorruptFileError(
            f"{p}: could not be read by the {spec.name} reader "
            f"({type(exc).__name__}: {exc}); the file may be truncated or corrupt"
        ) from exc


def read_force_map(
    path: str | Path,
    *,
    reader: str | None = None,
    spring_constant_n_per_m: float | None = None,
    sensitivity_m_per_v: float | None = None,
) -> ForceMap:
    """Read an AFM force map, QI map or single force curve.

    Parameters
    ----------
    path : path-like
        The file (``.jpk-force-map``, ``.jpk-qi-data``, ``.jpk-force``, ``.ibw``, ...).
    reader : str, optional
        Force a reader by name (see ``cellmech formats``); by default the first that
        recognises the file.
    spring_constant_n_per_m : float, optional
        Override or supply the cantilever spring constant in N/m.
    sensitivity_m_per_v : float, optional
        Override or supply the deflection sensitivity in m/V.

    Returns
    -------
    ForceMap
        Curves are loaded lazily in blocks through :meth:`ForceMap.curves`.

    Raises
    ------
    UnsupportedFormatError, MissingMetadataError, CorruptFileError, NoCurvesError
    """
    options = {
        "spring_constant_n_per_m": spring_constant_n_per_m,
        "sensitivity_m_per_v": sensitivity_m_per_v,
    }
    return _read(path, "afm", reader, options)


def read_fluorescence(
    path: str | Path,
    *,
    reader: str | None = None,
    pixel_size_m: float | tuple[float, float] | None = None,
) -> FluorescenceStack:
    """Read a fluorescence stack as (C, Z, Y, X) with its physical calibration in m.

    Parameters
    ----------
    path : path-like
        OME-TIFF or ImageJ TIFF (other formats through optional readers).
    reader : str, optional
        Force a reader by name.
    pixel_size_m : float or (float, float), optional
        Override or supply the pixel pitch ``(y, x)`` in m (one value for square pixels).

    Returns
    -------
    FluorescenceStack

    Raises
    ------
    UnsupportedFormatError, MissingMetadataError, CorruptFileError
    """
    return _read(path, "fluorescence", reader, {"pixel_size_m": pixel_size_m})
