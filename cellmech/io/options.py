"""Options of the AFM reading step (``[read]`` section)."""

from __future__ import annotations

from dataclasses import dataclass

from cellmech.options import check_range, option

__all__ = ["ImageOptions", "ReadOptions"]


@dataclass(frozen=True)
class ReadOptions:
    """How to read the AFM file (``[read]`` section).

    Parameters
    ----------
    reader : str or None
        Reader name (see ``cellmech formats``); None picks the first that recognises the file.
    spring_constant_n_per_m : float or None
        Cantilever spring constant k in N/m, overriding (or supplying) the file's value.
    sensitivity_m_per_v : float or None
        Deflection sensitivity in m/V, overriding (or supplying) the file's value.
    """

    reader: str | None = option(None, "reader name (see `cellmech formats`); unset = automatic", "")
    spring_constant_n_per_m: float | None = option(
        None, "spring constant, overrides the file; unset = file", "N/m"
    )
    sensitivity_m_per_v: float | None = option(
        None, "deflection sensitivity, overrides the file", "m/V"
    )

    def __post_init__(self) -> None:
        for name in ("spring_constant_n_per_m", "sensitivity_m_per_v"):
            check_range(
                "read",
                name,
                getattr(self, name),
                low=0,
                low_open=True,
                high_open=True,
                optional=True,
            )


@dataclass(frozen=True)
class ImageOptions:
    """How to read the fluorescence stack (``[image]`` section).

    Parameters
    ----------
    pixel_size_m : float or None
        Pixel size in m (square pixels) for files that do not record one; a file that records
        one keeps its own.
    """

    pixel_size_m: float | None = option(
        None, "fluorescence pixel size for files that do not store it (square pixels)", "m"
    )

    def __post_init__(self) -> None:
        check_range(
            "image",
            "pixel_size_m",
            self.pixel_size_m,
            low=0,
            low_open=True,
            high=1e-3,
            optional=True,
        )
