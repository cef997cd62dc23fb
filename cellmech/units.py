"""Unit handling: SI inside, conversions only at the edges.

cellmech stores lengths in m, forces in N, moduli in Pa and times in s. This module converts
the units vendors and people write (µm, nm, kPa ...) into SI and back for display.
"""

from __future__ import annotations

from cellmech.errors import ConfigError

__all__ = ["LENGTH_UNITS_M", "M_PER_UM", "PA_PER_KPA", "length_to_m", "parse_quantity"]

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


#: unit suffixes accepted on the command line, by SI unit: suffix -> factor to SI
QUANTITY_SUFFIXES: dict[str, dict[str, float]] = {
    "m": {"m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "nm": 1e-9, "pm": 1e-12},
    "m2": {"m2": 1.0, "um2": 1e-12, "µm2": 1e-12, "µm²": 1e-12, "mm2": 1e-6},
    "N": {"N": 1.0, "mN": 1e-3, "uN": 1e-6, "µN": 1e-6, "nN": 1e-9, "pN": 1e-12},
    "Pa": {"Pa": 1.0, "kPa": 1e3, "MPa": 1e6, "GPa": 1e9},
    "s": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6},
    "N/m": {"N/m": 1.0, "mN/m": 1e-3},
}


def parse_quantity(text: str, unit: str) -> float:
    """A number in SI ``unit`` from command-line text: plain SI (``2.5e-6``) or with a unit
    suffix (``2.5um``, ``20nm``, ``4kPa``).

    Raises
    ------
    ValueError
        If the text is neither, naming the accepted suffixes.
    """
    text = text.strip()
    suffixes = QUANTITY_SUFFIXES.get(unit, {})
    for suffix in sorted(suffixes, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)].strip():
            value, factor = float(text[: -len(suffix)]), suffixes[suffix]
            # divide by the integer inverse: 2.5um gives exactly the float 2.5e-6
            return value / round(1 / factor) if factor < 1 else value * factor
    try:
        return float(text)
    except ValueError:
        accepted = ", ".join(suffixes) or "none"
        raise ValueError(
            f"expected a number in {unit} (SI) or with a unit suffix ({accepted}), got {text!r}"
        ) from None
