"""Synthetic AFM force curves over a :class:`~cellmech.synthetic.scene.Scene`.

Physics of one curve (piezo height ``z`` decreasing during the approach; tip apex height of
the undeflected cantilever = ``z - piezo_offset``):

* **Contact height.** The tip touches first where it meets the topography: the apex height at
  first contact is the grey-scale dilation of the surface by the tip shape,
  ``z_c(p) = max_q [s(q) - t(|q - p|)]`` (tip convolution; Villarrubia, J. Res. Natl. Inst.
  Stand. Technol. 102, 425 (1997)), with ``t`` the height of the tip surface above its apex
  (sphere ``R - sqrt(R² - r²)``, cone ``r / tan(half angle)``). The material there sets E.
* **Cantilever in series with the sample.** Past contact the piezo has travelled
  ``Δ = z_c - z``; the deflection ``d`` and indentation ``δ = Δ - d`` satisfy
  ``k d = E g(δ)`` (``g = F/E`` of the contact model), which is monotonic in ``δ`` and is
  solved by vectorised bisection to machine precision. The touched material is treated as
  a half-space (the model's own assumption; no bottom effect), so a fit with the same model
  recovers the true modulus exactly on noise-free curves; optionally (``thickness_m``) as a
  layer bonded to the dish (:mod:`cellmech.models.finite_thickness`), which a half-space fit
  overestimates.
* **Setpoint.** The approach stops at the first sample whose force reaches the setpoint, so
  curves differ in length; the retract runs back up over the full z range. No adhesion.
* **Artefacts** (added to the deflection signal): baseline offset, baseline tilt (per curve,
  around an optional virtual-deflection slope common to the map), white noise; bad curves
  either never reach the surface (z range exhausted: no contact) or carry up to 6 spikes of
  0.5-2x the setpoint, up or down, anywhere in the approach but its last point (where the
  instrument stopped at the setpoint).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cellmech.containers import CurveSegment
from cellmech.models import model_force
from cellmech.synthetic.scene import Scene
from cellmech.tipshape import tip_profile

__all__ = [
    "Artefacts",
    "CurveSet",
    "contact_heights",
    "simulate_curves",
    "solve_indentation",
    "tip_profile",
]

_BISECTION_STEPS = 64
#: curves per block in the tip-convolution search
_CHUNK = 1024


@dataclass(frozen=True)
class Artefacts:
    """Instrument artefacts added to the deflection signal (all 0 = noise-free curves).

    Parameters
    ----------
    noise_m : float
        RMS white deflection noise, m.
    offset_m : float
        Standard deviation of the per-curve baseline offset, m.
    tilt : float
        Standard deviation of the per-curve baseline slope (deflection per piezo height, 1).
    virtual_deflection_slope : float
        Baseline slope common to the map (optical interference, 1).
    spike_n : float
        Typical spike amplitude on spiky bad curves, N.
    """

    noise_m: float = 0.0
    offset_m: float = 0.0
    tilt: float = 0.0
    virtual_deflection_slope: float = 0.0
    spike_n: float = 0.0


@dataclass(frozen=True)
class CurveSet:
    """Simulated curves and their per-curve truth (arrays of shape (n,)).

    ``contact_piezo_height_m`` is the piezo height at first contact (NaN for no-contact
    curves); ``setpoint_reached`` is False where the approach ran out of z range;
    ``piezo_start_m`` and ``z_length_m`` are where every approach starts and the z range, m.
    """

    approach: CurveSegment
    retract: CurveSegment
    contact_piezo_height_m: np.ndarray
    setpoint_reached: np.ndarray
    piezo_start_m: float
    z_length_m: float


def contact_heights(
    scene: Scene, x_m: np.ndarray, y_m: np.ndarray, geometry: Mapping[str, float], n_rings=12
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tip-convolved apex height at first contact above points ``(x_m, y_m)``.

    Parameters
    ----------
    scene : Scene
    x_m, y_m : ndarray, shape (n,)
        Lateral apex positions in the sample frame, m.
    geometry : mapping
        Tip geometry (see :func:`tip_profile`).
    n_rings : int
        Radial samples of the tip footprint (the search grid has pitch ``reach / n_rings``).

    Returns
    -------
    height_m : ndarray, shape (n,)
        Apex height at first contact above the substrate plane's origin, m.
    touch_x_m, touch_y_m : ndarray, shape (n,)
        Where the tip touches first, m (the material there defines the curve's modulus).
    """
    profile, reach = tip_profile(geometry)
    pitch = reach / n_rings if reach > 0 else 1.0
    k = np.arange(-n_rings, n_rings + 1) * pitch
    ox, oy = (a.ravel() for a in np.meshgrid(k, k))
    keep = np.hypot(ox, oy) <= reach
    ox, oy = ox[keep], oy[keep]
    lift = profile(np.hypot(ox, oy))
    out = np.empty((3, x_m.size))
    for start in range(0, x_m.size, _CHUNK):  # bounded memory for large maps
        part = slice(start, start + _CHUNK)
        qx, qy = x_m[part, None] + ox, y_m[part, None] + oy
        apex = scene.fields(qx, qy)["surface_height_m"] - lift
        best = np.argmax(apex, axis=1)[:, None]
        out[:, part] = [np.take_along_axis(a, best, axis=1)[:, 0] for a in (apex, qx, qy)]
    return out[0], out[1], out[2]


def _bisect(fun, target: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Solve ``fun(x) = target`` for increasing ``fun`` bracketed by ``[lo, hi]`` elementwise."""
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        below = fun(mid) < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def solve_indentation(
    travel_m: np.ndarray,
    youngs_modulus_pa: np.ndarray,
    spring_constant_n_per_m: float,
    model: str,
    *,
    poisson_ratio: float,
    geometry: Mapping[str, float],
    thickness_m: np.ndarray | None = None,
) -> np.ndarray:
    """Indentation δ for piezo travel past contact ``Δ``: ``k (Δ - δ) = E g(δ)``.

    Parameters
    ----------
    travel_m : ndarray
        Piezo travel past first contact Δ, m (<= 0: no contact).
    youngs_modulus_pa : ndarray
        E, broadcastable to ``travel_m``, Pa.
    spring_constant_n_per_m : float
        Cantilever spring constant k, N/m.
    model : str
        Contact-model key (:mod:`cellmech.models`).
    poisson_ratio : float
    geometry : mapping
        Model geometry keywords.
    thickness_m : ndarray, optional
        Sample thickness h in m, broadcastable to ``travel_m``: the bonded finite-thickness
        force law (:mod:`cellmech.models.finite_thickness`); None or inf = half-space.

    Returns
    -------
    ndarray
        δ in m, same shape as ``travel_m`` (0 where Δ <= 0).
    """
    k = float(spring_constant_n_per_m)
    travel = np.clip(np.asarray(travel_m, float), 0.0, None)
    e = np.broadcast_to(youngs_modulus_pa, travel.shape)
    law = _force_law(model, poisson_ratio, geometry, thickness_m, travel.shape)

    def load(delta: np.ndarray) -> np.ndarray:
        return law(delta, e) + k * delta

    return _bisect(load, k * travel, np.zeros_like(travel), travel)


def _force_law(model, poisson_ratio, geometry, thickness_m, shape):
    """``F(δ, E)`` of the model, half-space or bonded finite thickness (broadcast to shape)."""
    if thickness_m is None:
        return lambda delta, e: model_force(
            model, delta, e, poisson_ratio=poisson_ratio, **geometry
        )
    h = np.broadcast_to(np.asarray(thickness_m, float), shape)
    return lambda delta, e: model_force(
        model, delta, e, poisson_ratio=poisson_ratio, thickness_m=h, bonded=True, **geometry
    )


def _setpoint_travel(e, setpoint_n, k, model, poisson_ratio, geometry, thickness_m=None):
    """Piezo travel past contact at which the force reaches the setpoint, m, shape of ``e``."""
    e = np.asarray(e, float)
    force = _force_law(model, poisson_ratio, geometry, thickness_m, e.shape)
    hi = np.full(e.shape, 1e-9)
    for _ in range(60):  # grow the bracket until E g(hi) >= setpoint
        short = force(hi, e) < setpoint_n
        if not short.any():
            break
        hi = np.where(short, 2 * hi, hi)

    delta = _bisect(lambda d: force(d, e), np.full(e.shape, setpoint_n), np.zeros_like(hi), hi)
    return delta + setpoint_n / k


def simulate_curves(
    rng: np.random.Generator,
    contact_piezo_height_m: np.ndarray,
    youngs_modulus_pa: np.ndarray,
    *,
    spring_constant_n_per_m: float,
    setpoint_n: float,
    margin_m: tuple[float, float] = (1.5e-6, 0.3e-6),
    approach_points: int,
    retract_points: int,
    model: str,
    poisson_ratio: float,
    geometry: Mapping[str, float],
    artefacts: Artefacts,
    spiky: np.ndarray,
    measured_height: bool = True,
    thickness_m: np.ndarray | None = None,
) -> CurveSet:
    """Approach and retract curves for ``n`` contact heights and moduli.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the noise and artefacts.
    contact_piezo_height_m : ndarray, shape (n,)
        Piezo height at first contact, m (NaN: the tip never reaches the surface).
    youngs_modulus_pa : ndarray, shape (n,)
        E of the material touched, Pa.
    spring_constant_n_per_m, setpoint_n : float
        k in N/m and the force setpoint in N.
    margin_m : (float, float)
        The z range runs from ``margin_m[0]`` above the highest contact down to
        ``margin_m[1]`` below the deepest setpoint position of any curve, m, so every curve
        that touches reaches the setpoint; every approach starts at the top of the range and
        samples it with ``approach_points`` heights.
    approach_points, retract_points : int
        Points of a full-length approach and of every retract.
    model, poisson_ratio, geometry
        Contact model (see :func:`solve_indentation`).
    artefacts : Artefacts
        Deflection artefacts.
    spiky : ndarray of bool, shape (n,)
        Curves that get spikes.
    measured_height : bool
        Also return the heights as ``measured_height_m`` (an ideal height sensor).
    thickness_m : ndarray, shape (n,), optional
        Sample thickness under each curve, m (inf = half-space): curves follow the bonded
        finite-thickness force law (bottom effect) instead of the half-space one.

    Returns
    -------
    CurveSet
    """
    k = float(spring_constant_n_per_m)
    zc = np.asarray(contact_piezo_height_m, float)
    e = np.asarray(youngs_modulus_pa, float)
    travel_sp = _setpoint_travel(e, setpoint_n, k, model, poisson_ratio, geometry, thickness_m)
    top_m = np.nanmax(zc) + margin_m[0]
    z_length_m = top_m - (np.nanmin(zc - travel_sp) - margin_m[1])
    step = z_length_m / (approach_points - 1)
    first = np.ceil((travel_sp - (zc - top_m)) / step)
    reached = np.isfinite(first) & (first <= approach_points - 1)
    n_app = np.where(reached, np.nan_to_num(first, nan=0.0) + 1, approach_points).astype(int)
    heights = top_m - np.arange(approach_points) * step
    app_h = np.where(np.arange(approach_points) < n_app[:, None], heights, np.nan)
    turn = app_h[np.arange(zc.size), n_app - 1]
    ret_h = turn[:, None] + np.linspace(0.0, z_length_m, retract_points)
    forces = [
        _force(h, zc, e, k, model, poisson_ratio, geometry, thickness_m) for h in (app_h, ret_h)
    ]
    forces = _add_artefacts(rng, (app_h, ret_h), forces, k, top_m, artefacts, spiky)
    segs = [
        CurveSegment(
            height_m=h, force_n=f, n_points=n, measured_height_m=h if measured_height else None
        )
        for h, f, n in (
            (app_h, forces[0], n_app),
            (ret_h, forces[1], np.full(zc.size, ret_h.shape[1])),
        )
    ]
    return CurveSet(segs[0], segs[1], zc, reached, float(top_m), float(z_length_m))


def _force(heights, zc, e, k, model, poisson_ratio, geometry, thickness_m=None) -> np.ndarray:
    """Cantilever force in N for piezo ``heights`` (n, m); NaN stays NaN.

    The series problem is solved only at points in contact (travel past contact > 0).
    """
    travel = zc[:, None] - heights
    contact = np.nan_to_num(travel, nan=-1.0) > 0
    rows = np.nonzero(contact)[0]
    delta = solve_indentation(
        travel[contact],
        e[rows],
        k,
        model,
        poisson_ratio=poisson_ratio,
        geometry=geometry,
        thickness_m=None if thickness_m is None else np.asarray(thickness_m, float)[rows],
    )
    force = np.where(np.isnan(heights), np.nan, 0.0)
    force[contact] = k * (travel[contact] - delta)
    return force


def _add_artefacts(rng, heights, forces, k, top_m, art: Artefacts, spiky) -> list[np.ndarray]:
    """Add offset, tilt, noise (per curve, shared by both segments) and spikes, in N."""
    n = forces[0].shape[0]
    offset = rng.normal(0.0, art.offset_m, n)[:, None] if art.offset_m else 0.0
    slope = art.virtual_deflection_slope + (
        rng.normal(0.0, art.tilt, n)[:, None] if art.tilt else 0.0
    )
    out = []
    for h, f in zip(heights, forces, strict=True):
        d = offset + slope * (h - top_m)
        if art.noise_m:
            d = d + rng.normal(0.0, art.noise_m, f.shape)
        out.append(f + k * d)
    for i in np.flatnonzero(spiky):
        valid = np.flatnonzero(np.isfinite(out[0][i]))
        where = rng.choice(valid, size=min(valid.size, int(rng.integers(3, 7))), replace=False)
        amplitude = (
            art.spike_n * rng.uniform(0.5, 2.0, where.size) * rng.choice([-1, 1], where.size)
        )
        # the instrument ended the approach where the force reached the setpoint: the last
        # point is that force (a spike there could erase a rigid wall's only point in contact)
        amplitude[where == valid[-1]] = 0.0
        out[0][i, where] += amplitude
    return out
