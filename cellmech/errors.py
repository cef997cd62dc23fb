"""The cellmech exception tree.

Every error cellmech raises on purpose derives from :class:`CellmechError` and from the builtin
it specialises, so callers can catch either. Messages name the file, the key and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "CellmechError",
    "ConfigError",
    "CorruptFileError",
    "MissingFileError",
    "MissingMetadataError",
    "NoCurvesError",
    "UnsupportedFormatError",
]


class CellmechError(Exception):
    """Base class of every error cellmech raises deliberately."""


class UnsupportedFormatError(CellmechError, ValueError):
    """No reader recognises the file.

    Parameters
    ----------
    path : path-like
        The file that could not be read.
    tried : iterable of str
        Names of the readers that were asked.
    suffixes : iterable of str
        Suffixes the readers support, listed in the message.
    """

    def __init__(self, path: str | Path, tried: Iterable[str], suffixes: Iterable[str]):
        self.path = Path(path)
        self.tried = tuple(tried)
        self.suffixes = tuple(sorted(set(suffixes)))
        super().__init__(
            f"{self.path}: no cellmech reader recognises this file "
            f"(tried: {', '.join(self.tried) or 'none'}; supported suffixes: "
            f"{' '.join(self.suffixes)}). Run `cellmech formats` for the list."
        )


class MissingMetadataError(CellmechError, LookupError):
    """Metadata needed for a physical conversion is absent from the file.

    Parameters
    ----------
    path : path-like
        The file lacking the metadata.
    keys : iterable of str
        The missing keys, e.g. ``("spring_constant_n_per_m",)``.
    hint : str
        How to supply them (an override option).
    """

    def __init__(self, path: str | Path, keys: Iterable[str], hint: str = ""):
        self.path = Path(path)
        self.keys = tuple(keys)
        msg = f"{self.path}: missing metadata {', '.join(self.keys)}"
        if hint:
            msg += f"; {hint}"
        super().__init__(msg)

    def __str__(self) -> str:  # LookupError subclasses must not quote the message
        return str(self.args[0])


class MissingFileError(CellmechError, FileNotFoundError):
    """An input path does not exist."""


class CorruptFileError(CellmechError, ValueError):
    """The file is truncated, empty, a directory or otherwise unreadable."""


class NoCurvesError(CellmechError, ValueError):
    """The file holds no force-distance curve (e.g. creep-compliance or relaxation exports)."""


class ConfigError(CellmechError, ValueError):
    """A parameter or configuration key is invalid."""
