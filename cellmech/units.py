"""Unit handling: SI inside, conversions only at the edges.

cellmech stores lengths in m, forces in N, moduli in Pa and times in s. This module converts
the units vendors and people write (µm, nm, kPa ...) into SI and back for display.
"""

from __future__ import annotations

from cellmech.errors import ConfigError

__all__ = ["LENGTH_UNITS_M", "M_PER_UM", "PA_PER_KPA", "length_to_m"]

#: metres per micrometre
M_PER_UM = 1e-6
#: pascals per kilopascal
PA_PER_KPA = 1e3

#: metres per unit for the length units found in microscope metadata
LENGTH_UNITS_M: dict[str, float] = {
    "m": 1.0,
    "dm": 1e-1,
    "cm": 1e-2,
    "mm": 1e-3,
    "µm": 1e-6,
    "μm": 1e-6,  # GREEK SMALL LETTER MU
    "um": 1e-6,
    "micron": 1e-6,
    "microns": 1e-6,
    "micrometer": 1e-6,
    "micrometre": 1e-6,
    "\\u00B5m": 1e-6,  # ImageJ writes the escape sequence literally
    "nm": 1e-9,
    "nanometer": 1e-9,
    "pm": 1e-12,
    "Å": 1e-10,
    "angstrom": 1e-10,
}


def length_to_m(value: float, unit: str) -> float:
    """Convert a length in ``unit`` to metres.

    Parameters
    ----------
    value : float
        The length in ``unit``.
    unit : str
        A length unit as written in metadata ("µm", "um", "micron", "nm", "m", ...).

    Returns
    -------
    float
        The length in m.

    Raises
    ------
    ConfigError
        If the unit is not a known length unit.
    """
    key = unit.strip()
    factor = LENGTH_UNITS_M.get(key, LENGTH_UNITS_M.get(key.lower()))
    if factor is None:
        raise ConfigError(
            f"unknown length unit {unit!r}; known: {', '.join(sorted(LENGTH_UNITS_M))}"
        )
    return float(value) * factor
