"""Synthetic scene of adherent cells on a rigid substrate (the ground truth of the sample data).

Every cell is a smooth cap over an irregular, ellipse-like footprint with a taller nucleus
region. Positions are in the *sample frame*: the microscope stage frame in which the
fluorescence stack is calibrated, in m, ``(x, y)``; heights are in m above the substrate plane.

Cell height above the substrate, with ``rho`` the footprint-normalised radius (1 on the outline)
and ``rho_n`` the same for the nucleus ellipse::

    h = H_c * (1 - rho**2) ** p  +  H_n * (1 - rho_n**2)     (0 outside the footprint / nucleus)

The outline radius is an ellipse modulated by a few low Fourier harmonics,
``r(phi) = r_ellipse(phi) * (1 + sum_k a_k cos(k phi + phase_k))``, a common way to draw
irregular cell shapes (e.g. Lehmussola et al., IEEE Trans. Med. Imaging 26, 1010 (2007)).
The substrate (glass / dish) is a plane with a small tilt and a modulus that makes it
effectively rigid for a soft cantilever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from cellmech.errors import ConfigError

__all__ = ["Box", "Cell", "Scene", "outline_points", "place_cells", "random_cell"]

#: harmonics used to roughen the footprint outline
_HARMONICS = np.arange(2, 6)
#: cap exponent p (< 1: steeper cell edges)
_CAP_EXPONENT = 0.75


@dataclass(frozen=True)
class Cell:
    """One cell of the scene.

    Parameters
    ----------
    label : int
        Label (>= 1) used in the label images and truth tables.
    center_m : (float, float)
        Footprint centre ``(x, y)`` in the sample frame, m.
    semi_axes_m : (float, float)
        Footprint ellipse semi-axes ``(a, b)`` in m before the outline modulation.
    angle_rad : float
        Orientation of the ``a`` axis from the x axis, rad (counter-clockwise).
    harmonic_amplitudes, harmonic_phases : tuple of float
        Outline modulation ``a_k`` and phases for harmonics k = 2..5.
    cap_height_m : float
        ``H_c``, height of the cytoplasm cap in m.
    nucleus_offset : (float, float)
        Nucleus centre in units of the semi-axes, in the cell's own (a, b) axes.
    nucleus_semi_axes : (float, float)
        Nucleus semi-axes as fractions of ``semi_axes_m``.
    nucleus_height_m : float
        ``H_n``, extra height of the nucleus region in m.
    cytoplasm_modulus_pa, nucleus_modulus_pa : float
        Young's moduli in Pa.
    """

    label: int
    center_m: tuple[float, float]
    semi_axes_m: tuple[float, float]
    angle_rad: float
    harmonic_amplitudes: tuple[float, ...]
    harmonic_phases: tuple[float, ...]
    cap_height_m: float
    nucleus_offset: tuple[float, float]
    nucleus_semi_axes: tuple[float, float]
    nucleus_height_m: float
    cytoplasm_modulus_pa: float
    nucleus_modulus_pa: float

    @property
    def bounding_radius_m(self) -> float:
        """Radius in m of a circle about ``center_m`` that contains the footprint."""
        return max(self.semi_axes_m) * (1.0 + float(np.sum(np.abs(self.harmonic_amplitudes))))

    def local(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cell-axis coordinates scaled by the semi-axes (outline ellipse = unit circle)."""
        dx, dy = x_m - self.center_m[0], y_m - self.center_m[1]
        c, s = np.cos(self.angle_rad), np.sin(self.angle_rad)
        return (c * dx + s * dy) / self.semi_axes_m[0], (-s * dx + c * dy) / self.semi_axes_m[1]

    def rho(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """Footprint-normalised radius (< 1 inside the footprint)."""
        u, v = self.local(x_m, y_m)
        phi = np.arctan2(v, u)[..., None]
        mod = 1.0 + np.sum(
            np.asarray(self.harmonic_amplitudes)
            * np.cos(_HARMONICS * phi + np.asarray(self.harmonic_phases)),
            axis=-1,
        )
        return np.hypot(u, v) / mod

    def rho_nucleus(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """Nucleus-normalised elliptical radius (< 1 inside the nucleus)."""
        u, v = self.local(x_m, y_m)
        return np.hypot(
            (u - self.nucleus_offset[0]) / self.nucleus_semi_axes[0],
            (v - self.nucleus_offset[1]) / self.nucleus_semi_axes[1],
        )

    def height_m(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """Cell height above the substrate in m (0 outside the footprint)."""
        rho2 = self.rho(x_m, y_m) ** 2
        rn2 = self.rho_nucleus(x_m, y_m) ** 2
        cap = self.cap_height_m * np.clip(1.0 - rho2, 0.0, None) ** _CAP_EXPONENT
        return cap + self.nucleus_height_m * np.clip(1.0 - rn2, 0.0, None)


@dataclass(frozen=True)
class Scene:
    """Cells on a tilted, effectively rigid substrate.

    Parameters
    ----------
    cells : tuple of Cell
        Cells; where footprints overlap, the later cell covers the earlier one (label, height,
        nucleus and modulus all come from the later cell).
    substrate_origin_m : (float, float)
        Point ``(x, y)`` where the substrate plane is at height 0, m.
    substrate_slope : (float, float)
        Substrate plane slope ``(dz/dx, dz/dy)`` (dimensionless).
    substrate_modulus_pa : float
        Young's modulus of the substrate in Pa.
    """

    cells: tuple[Cell, ...]
    substrate_origin_m: tuple[float, float]
    substrate_slope: tuple[float, float]
    substrate_modulus_pa: float

    def _each_cell(self, x_m: np.ndarray, y_m: np.ndarray):
        """Yield ``(cell, mask)`` with ``mask`` the points within the cell's bounding circle."""
        for cell in self.cells:
            near = np.hypot(x_m - cell.center_m[0], y_m - cell.center_m[1])
            yield cell, near <= cell.bounding_radius_m

    def substrate_height_m(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """Height of the substrate plane in m."""
        return self.substrate_slope[0] * (x_m - self.substrate_origin_m[0]) + self.substrate_slope[
            1
        ] * (y_m - self.substrate_origin_m[1])

    def fields(self, x_m: Sequence | np.ndarray, y_m: Sequence | np.ndarray) -> dict:
        """Every ground-truth field at points ``(x_m, y_m)`` (arrays of one shape, m).

        Returns
        -------
        dict of ndarray, each of the input shape
            ``label`` (0 = substrate), ``nucleus`` (bool), ``cell_height_m`` (above the
            substrate), ``nucleus_top_m`` (height of the nucleus top above the substrate, 0
            outside), ``surface_height_m`` (substrate + cell, m above the plane's origin) and
            ``youngs_modulus_pa``.
        """
        x, y = np.broadcast_arrays(np.asarray(x_m, float), np.asarray(y_m, float))
        label = np.zeros(x.shape, np.int32)
        nucleus = np.zeros(x.shape, bool)
        height = np.zeros(x.shape)
        nuc_top = np.zeros(x.shape)
        modulus = np.full(x.shape, self.substrate_modulus_pa)
        for cell, near in self._each_cell(x, y):
            xs, ys = x[near], y[near]
            inside = cell.rho(xs, ys) < 1.0
            rn = cell.rho_nucleus(xs, ys)
            in_nuc = inside & (rn < 1.0)
            h = np.where(inside, cell.height_m(xs, ys), 0.0)
            label[near] = np.where(inside, cell.label, label[near])
            nucleus[near] = np.where(inside, in_nuc, nucleus[near])
            height[near] = np.where(inside, h, height[near])
            nuc_top[near] = np.where(in_nuc, _nucleus_top(h, rn), nuc_top[near])
            e = np.where(in_nuc, cell.nucleus_modulus_pa, cell.cytoplasm_modulus_pa)
            modulus[near] = np.where(inside, e, modulus[near])
        return {
            "label": label,
            "nucleus": nucleus,
            "cell_height_m": height,
            "nucleus_top_m": nuc_top,
            "surface_height_m": self.substrate_height_m(x, y) + height,
            "youngs_modulus_pa": modulus,
        }


def _nucleus_top(height_m: np.ndarray, rho_nucleus: np.ndarray) -> np.ndarray:
    """Nucleus top in m: under the cell surface by a 0.4 µm cortex, rounded at its rim."""
    rim = np.sqrt(np.clip(1.0 - rho_nucleus**2, 0.0, None))
    return np.clip(height_m - 0.4e-6, 0.0, None) * rim


def random_cell(
    rng: np.random.Generator,
    label: int,
    center_m: tuple[float, float],
    *,
    length_range_m: tuple[float, float] = (15e-6, 40e-6),
    height_range_m: tuple[float, float] = (2e-6, 8e-6),
    modulus_range_pa: tuple[float, float] = (300.0, 20e3),
) -> Cell:
    """Draw a cell with a footprint length, height and moduli in the given ranges.

    Moduli are log-uniform in ``modulus_range_pa``, independently for cytoplasm and nucleus;
    the footprint length (major axis) is uniform in ``length_range_m``, the aspect ratio in
    [0.55, 0.95]; the total height ``H_c + H_n`` is uniform in ``height_range_m``.
    """
    length = rng.uniform(*length_range_m)
    a = length / 2
    b = a * rng.uniform(0.55, 0.95)
    total = rng.uniform(*height_range_m)
    frac_cap = rng.uniform(0.5, 0.7)
    log_e = rng.uniform(*np.log(modulus_range_pa), size=2)
    return Cell(
        label=int(label),
        center_m=(float(center_m[0]), float(center_m[1])),
        semi_axes_m=(a, b),
        angle_rad=rng.uniform(0, np.pi),
        harmonic_amplitudes=tuple(rng.uniform(0.0, 0.06, _HARMONICS.size) / np.sqrt(_HARMONICS)),
        harmonic_phases=tuple(rng.uniform(0, 2 * np.pi, _HARMONICS.size)),
        cap_height_m=total * frac_cap,
        nucleus_offset=tuple(rng.uniform(-0.12, 0.12, 2)),
        nucleus_semi_axes=tuple(rng.uniform(0.35, 0.5, 2)),
        nucleus_height_m=total * (1 - frac_cap),
        cytoplasm_modulus_pa=float(np.exp(log_e[0])),
        nucleus_modulus_pa=float(np.exp(log_e[1])),
    )


@dataclass(frozen=True)
class Box:
    """A rotated rectangle in the sample frame.

    Parameters
    ----------
    center_m : (float, float)
        Centre ``(x, y)`` in m.
    half_size_m : (float, float)
        Half extents along the box's own axes, m.
    angle_rad : float
        Rotation of the box's first axis from x, rad.
    """

    center_m: tuple[float, float]
    half_size_m: tuple[float, float]
    angle_rad: float = 0.0

    def contains(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """True where ``(x_m, y_m)`` lies inside the box."""
        dx, dy = np.asarray(x_m) - self.center_m[0], np.asarray(y_m) - self.center_m[1]
        c, s = np.cos(self.angle_rad), np.sin(self.angle_rad)
        u, v = c * dx + s * dy, -s * dx + c * dy
        return (np.abs(u) <= self.half_size_m[0]) & (np.abs(v) <= self.half_size_m[1])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Axis-aligned bounding box ``(xmin, xmax, ymin, ymax)`` in m."""
        c, s = abs(np.cos(self.angle_rad)), abs(np.sin(self.angle_rad))
        hx = c * self.half_size_m[0] + s * self.half_size_m[1]
        hy = s * self.half_size_m[0] + c * self.half_size_m[1]
        return (
            self.center_m[0] - hx,
            self.center_m[0] + hx,
            self.center_m[1] - hy,
            self.center_m[1] + hy,
        )


def place_cells(
    rng: np.random.Generator,
    n_cells: int,
    inside: Box,
    *,
    outside: Box | None = None,
    existing: Sequence[Cell] = (),
    first_label: int = 1,
    gap_m: float = 2e-6,
    tries: int = 400,
    **ranges,
) -> list[Cell]:
    """Place ``n_cells`` random cells without overlap, inside ``inside`` and clear of ``outside``.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_cells : int
    inside : Box
        Every footprint lies in this box (sample frame); centres are drawn from its bounds.
    outside : Box, optional
        No footprint touches this box.
    existing : sequence of Cell
        Cells already placed (kept clear of by ``gap_m``).
    first_label : int
        Label of the first new cell.
    gap_m : float
        Smallest clearance between footprints, m: 0 lets them touch, a negative value lets them
        overlap by up to its magnitude. The clearance from the box edges is ``max(gap_m, 0)``.
    tries : int
        Attempts per cell before giving up (its shape is redrawn every 100 attempts).
    **ranges
        Passed to :func:`random_cell`.

    Raises
    ------
    ConfigError
        If a cell cannot be placed; the message says how to make room.
    """
    cells = list(existing)
    new: list[Cell] = []
    xmin, xmax, ymin, ymax = inside.bounds
    shapes = [random_cell(rng, 0, (0.0, 0.0), **ranges) for _ in range(n_cells)]
    shapes.sort(key=lambda c: -c.bounding_radius_m)  # largest first: no bias to small cells
    for k, shape in enumerate(shapes):
        for attempt in range(tries):
            if attempt and attempt % 100 == 0:  # this shape does not fit anywhere: redraw it
                shape = random_cell(rng, 0, (0.0, 0.0), **ranges)
            centre = (rng.uniform(xmin, xmax), rng.uniform(ymin, ymax))
            cell = replace(shape, label=first_label + k, center_m=centre)
            if _fits(cell, cells, inside, outside, gap_m):
                cells.append(cell)
                new.append(cell)
                break
        else:
            raise ConfigError(
                f"could not place cell {k + 1} of {n_cells} without overlap in its region; "
                "ask for fewer cells (--n-cells) or a larger map (--map-size)"
            )
    return new


def outline_points(cell: Cell, grow_m: float = 0.0, n: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Points on the footprint outline pushed out by ``grow_m``, in the sample frame."""
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    mod = 1.0 + np.sum(
        np.asarray(cell.harmonic_amplitudes)
        * np.cos(_HARMONICS * phi[:, None] + np.asarray(cell.harmonic_phases)),
        axis=-1,
    )
    u = np.cos(phi) * mod * cell.semi_axes_m[0]
    v = np.sin(phi) * mod * cell.semi_axes_m[1]
    r = np.hypot(u, v)
    u, v = u * (1 + grow_m / r), v * (1 + grow_m / r)
    c, s = np.cos(cell.angle_rad), np.sin(cell.angle_rad)
    return cell.center_m[0] + c * u - s * v, cell.center_m[1] + s * u + c * v


def _fits(cell: Cell, others: Sequence[Cell], inside: Box, outside: Box | None, gap_m) -> bool:
    """True if ``cell`` grown by ``gap_m`` (by at least 0 for the boxes) lies in ``inside``, off
    ``outside``, and clear of others."""
    x, y = outline_points(cell, max(gap_m, 0.0))
    if not np.all(inside.contains(x, y)):
        return False
    if outside is not None and _overlaps_box(cell, x, y, outside):
        return False
    x, y = outline_points(cell, gap_m)
    for other in others:
        d = np.hypot(cell.center_m[0] - other.center_m[0], cell.center_m[1] - other.center_m[1])
        if d > cell.bounding_radius_m + other.bounding_radius_m + gap_m:
            continue
        if np.any(other.rho(x, y) < 1.0):
            return False
        ox, oy = outline_points(other, gap_m)
        if np.any(cell.rho(ox, oy) < 1.0):
            return False
    return True


def _overlaps_box(cell: Cell, x: np.ndarray, y: np.ndarray, box: Box) -> bool:
    """True if the grown outline ``(x, y)`` of ``cell`` touches ``box`` or holds a corner of it."""
    if np.any(box.contains(x, y)):
        return True
    c, s = np.cos(box.angle_rad), np.sin(box.angle_rad)
    su, sv = np.array([-1, -1, 1, 1, 0]), np.array([-1, 1, -1, 1, 0])
    u, v = su * box.half_size_m[0], sv * box.half_size_m[1]
    cx, cy = box.center_m[0] + c * u - s * v, box.center_m[1] + s * u + c * v
    return bool(np.any(cell.rho(cx, cy) < 1.0))
