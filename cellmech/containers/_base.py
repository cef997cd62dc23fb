"""Shared machinery of the containers: read-only arrays and mappings.

Every container is complete when built and validated on construction; arrays are made
read-only so no stage can mutate its input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["FrozenMapping", "frozen_array", "frozen_mapping", "set_field"]


def frozen_array(value: Any, dtype: Any, name: str, ndim: int) -> np.ndarray:
    """Return ``value`` as a read-only array of ``dtype`` and ``ndim`` dimensions.

    A read-only array of the right dtype that owns its memory is adopted without a copy
    (producers such as the readers hand over fresh arrays this way, saving a copy of every
    block); anything else is copied, so a caller's writeable array never aliases a container.
    """
    adoptable = (
        isinstance(value, np.ndarray)
        and value.dtype == np.dtype(dtype)
        and value.flags.owndata
        and not value.flags.writeable
    )
    arr = value if adoptable else np.array(value, dtype=dtype, copy=True)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    arr.flags.writeable = False
    return arr


def set_field(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


class FrozenMapping(dict):
    """A read-only dict: picklable (unlike ``MappingProxyType``, so containers and options
    travel to Dask worker processes) and hashable when its values are."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))

    def __reduce__(self) -> tuple:
        return (type(self), (dict(self),))

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{type(self).__name__} is read-only; build a new one instead")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only


def frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return FrozenMapping(value or {})
