"""The tests' one source of synthetic force curves (and nanite's reference preprocessing).

- :func:`synthetic_block`: raw approach + retract curves of any contact model with known
  modulus, contact point, noise, force offset and baseline tilt (a :class:`CurveBlock`);
- :func:`synthetic_segments` / :func:`synthetic_map`: a small ragged JPK map written with the
  JPK writer (reader round trips);
- :func:`write_small_map`: a 6 x 8 meander map of Hertz curves with the cantilever in series,
  one without contact (Dask and CLI tests).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from numba import njit, prange

from cellmech.containers import CurveBlock, CurveSegment, GridGeometry
from cellmech.io.jpk.writer import write_jpk_force_map
from cellmech.models import model_force

K, SENS = 0.02, 5e-8
GRID = GridGeometry(
    (3, 4),
    (1e-5, -2e-5),
    (30e-6, 40e-6),
    theta_rad=0.3,
    reflect=True,
    back_and_forth=True,
    xy_scanner="tip",
)
POSITIONS = np.array([0, 1, 5, 7, 11])


def synthetic_segments(n: int = 5, seed: int = 0, measured: bool = True):
    """Ragged approach/retract segments of simple indentation curves (heights as recorded)."""
    rng = np.random.default_rng(seed)

    def seg(reverse: bool) -> CurveSegment:
        curves = []
        for i in range(n):
            m = 100 + 13 * i
            h = np.linspace(5e-6, 0.0, m)[:: -1 if reverse else 1]
            c = {
                "height_m": h,
                "force_n": 1e-10 * rng.standard_normal(m) + 0.01 * np.clip(2e-6 - h, 0, None),
            }
            if measured:
                c["measured_height_m"] = h + 1e-9 * rng.standard_normal(m)
            curves.append(c)
        return CurveSegment.from_curves(curves)

    return seg(False), seg(True)


def synthetic_map(path, kind="force-map", measured=True, retract=True, **kwargs):
    """Write a 5-curve ragged map with :func:`write_jpk_force_map`; returns (path, app, ret)."""
    approach, ret = synthetic_segments(measured=measured)
    out = write_jpk_force_map(
        path,
        grid=GRID,
        position_index=POSITIONS,
        approach=approach,
        retract=ret if retract else None,
        spring_constant_n_per_m=K,
        sensitivity_m_per_v=SENS,
        kind=kind,
        approach_duration_s=0.5,
        retract_duration_s=0.7,
        **kwargs,
    )
    return out, approach, ret


#: nanite's standard preprocessing pipeline (the defaults of PreprocessOptions)
NANITE_STEPS = [
    "compute_tip_position",
    "correct_force_offset",
    "correct_tip_offset",
    "correct_split_approach_retract",
]


def synthetic_block(
    n: int = 4,
    *,
    model: str = "hertz_paraboloidal",
    youngs_modulus_pa: float | np.ndarray = 5e3,
    depth_m: float = 1e-6,
    noise_n: float = 20e-12,
    offset_n: float = 0.0,
    tilt_n_per_m: float = 0.0,
    spring_constant_n_per_m: float = 0.02,
    n_points: int = 2000,
    baseline_m: float = 5e-6,
    seed: int = 0,
    **geometry: float,
) -> tuple[CurveBlock, dict[str, np.ndarray]]:
    """Raw approach + retract curves of a known model with noise, offset and baseline tilt.

    The tip moves linearly from ``baseline_m`` above the contact point to ``depth_m`` into the
    sample; the measured height is tip position - force / k with the model force plus Gaussian
    noise, and the recorded force adds a virtual deflection ``offset_n + tilt_n_per_m * tip``
    (detector offset, optical interference) that does not move the tip. Returns the block and
    the ground truth (``youngs_modulus_pa``, ``contact_point_m`` in the raw tip-position frame).
    """
    rng = np.random.default_rng(seed)
    e = np.broadcast_to(np.asarray(youngs_modulus_pa, float), (n,))
    cp = 20e-6 + rng.uniform(-1e-6, 1e-6, n)
    tip = cp[:, None] + np.linspace(baseline_m, -depth_m, n_points)[None, :]
    force = model_force(model, cp[:, None] - tip, e[:, None], **geometry)
    force = force + rng.normal(0, noise_n, tip.shape)
    height = tip - force / spring_constant_n_per_m
    force = force + offset_n + tilt_n_per_m * tip  # virtual deflection: the tip stays
    retract = height[:, ::-1]
    retract_force = force[:, ::-1] + rng.normal(0, noise_n, tip.shape)
    block = CurveBlock(
        curve_index=np.arange(n),
        approach=CurveSegment(height, force, np.full(n, n_points), measured_height_m=height),
        retract=CurveSegment(
            retract, retract_force, np.full(n, n_points), measured_height_m=retract
        ),
    )
    return block, {"youngs_modulus_pa": e.copy(), "contact_point_m": cp}


def nanite_approach(path, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Tip position and force of nanite's preprocessed approach of curve ``index``."""
    import nanite

    with warnings.catch_warnings():  # nanite warns when it cannot re-split (single_bad)
        warnings.simplefilter("ignore")
        idnt = nanite.load_group(path)[index]
        idnt.apply_preprocessing(NANITE_STEPS)
    approach = idnt["segment"] == 0
    return idnt["tip position"][approach], idnt["force"][approach]


SMALL_GRID = (6, 8)
K_N_PER_M = 0.02
R_M = 10e-6


def _hertz_curve(rng: np.random.Generator, e_pa: float, n: int, contact: bool) -> dict:
    """Approach of a Hertz paraboloid (R = 10 µm, ν = 0.5) with the cantilever in series."""
    cp = rng.uniform(1e-6, 3e-6)
    height = np.linspace(cp + 2e-6, cp - (1.2e-6 if contact else -0.5e-6), n)
    a = e_pa * 4 / 3 / (1 - 0.25) * np.sqrt(R_M) / K_N_PER_M
    travel = np.clip(cp - height, 0, None)
    d = np.minimum(travel, (travel / a) ** (2 / 3))
    for _ in range(40):  # Newton on d + a d^1.5 = travel
        d = np.clip(d - (d + a * d**1.5 - travel) / (1 + 1.5 * a * np.sqrt(d)), 0, travel)
    force = K_N_PER_M * a * d**1.5 + rng.normal(0, 10e-12, n) + 30e-12
    return {"height_m": height, "force_n": force}


def write_small_map(path: Path, seed: int = 0) -> Path:
    """A 6 x 8 JPK force map (meander scan) with 44 curves present, one without contact."""
    rng = np.random.default_rng(seed)
    positions = np.sort(rng.choice(SMALL_GRID[0] * SMALL_GRID[1], 44, replace=False))
    approach = [
        _hertz_curve(rng, rng.uniform(1e3, 5e3), int(rng.integers(250, 400)), i != 5)
        for i in range(positions.size)
    ]
    retract = [{k: v[::-1] for k, v in c.items()} for c in approach]
    grid = GridGeometry(
        shape=SMALL_GRID,
        center_m=(1e-5, -2e-5),
        size_m=(40e-6, 36e-6),
        back_and_forth=True,
        xy_scanner="tip-scanner",
    )
    return write_jpk_force_map(
        path,
        grid=grid,
        position_index=positions,
        approach=CurveSegment.from_curves(approach),
        retract=CurveSegment.from_curves(retract),
        spring_constant_n_per_m=K_N_PER_M,
        sensitivity_m_per_v=50e-9,
    )


# ---------------------------------------------------------------------------------------------
# brute-force reference of the fit objective (every sample position as the contact point)


@njit(cache=True)
def _objective(cp, x, y, coeff, power, wcp):
    """(S, E, b): closed-form E >= 0 and baseline of ``F = b + E coeff (cp - x)^power`` at
    contact point ``cp``, minimising sum w^2 r^2 with ``w = min(|x - cp| / wcp, 1)``."""
    sw = sy = sg = sgg = sgy = 0.0
    for j in range(x.size):
        d = cp - x[j]
        w2 = 1.0 if wcp == 0.0 else min(abs(d) / wcp, 1.0) ** 2
        g = coeff * d**power if d > 0.0 else 0.0
        sw += w2
        sy += w2 * y[j]
        sg += w2 * g
        sgg += w2 * g * g
        sgy += w2 * g * y[j]
    det = sw * sgg - sg * sg
    e = (sw * sgy - sg * sy) / det if det > 1e-14 * sw * sgg and sgg > 0 else 0.0
    e = max(e, 0.0)
    b = (sy - e * sg) / sw
    s = 0.0
    for j in range(x.size):  # direct sum of squares: no cancellation
        d = cp - x[j]
        w2 = 1.0 if wcp == 0.0 else min(abs(d) / wcp, 1.0) ** 2
        r = y[j] - b - (e * coeff * d**power if d > 0.0 else 0.0)
        s += w2 * r * r
    return s, e, b


@njit(cache=True, parallel=True)
def _profile(c, x, y, coeff, power, wcp):
    """The objective at every trial contact point ``c``."""
    s = np.empty(c.size)
    for i in prange(c.size):
        s[i] = _objective(c[i], x, y, coeff, power, wcp)[0]
    return s


def power_law(model: str, **geometry: float) -> tuple[float, float]:
    """(coeff, power) with ``force_per_modulus = coeff * delta**power`` (models without a
    finite-thickness correction whose force is a power law of the indentation)."""
    from cellmech.models import force_per_modulus

    d = np.array([1e-7, 1e-6])
    g = force_per_modulus(model, d, **geometry)
    power = float(np.log(g[1] / g[0]) / np.log(10.0))
    return float(g[1] / d[1] ** power), power


def dense_scan(
    x, y, coeff: float, power: float, wcp: float = 0.0, refine: int = 3, stride: int = 1
):
    """Brute-force global minimum of the fit objective over contact points within the tip
    positions of the fit points (the fit's domain): every sample position as the contact
    point (closed-form E and baseline), then a bounded refinement between the neighbours of
    the ``refine`` best local minima of that profile. Returns (S, cp, E, b); ``y`` in N.

    With ``stride > 1`` the profile is first taken at every ``stride``-th sample position
    (sorted by x); around each of its ``refine`` best local minima every sample position
    within one stride is then added, so the reference can only miss a basin narrower than
    two strides whose floor lies between coarse samples (the coarse profile is continuous).
    """
    from scipy.optimize import minimize_scalar

    x = np.ascontiguousarray(x, float)
    scale = max(np.abs(y - y.mean()).max(), 1e-300)
    yc = np.ascontiguousarray((y - y.mean()) / scale)
    order = np.argsort(x)
    xs, yc = x[order], yc[order]
    prof = np.full(xs.size, np.inf)
    coarse = np.unique(np.r_[np.arange(0, xs.size, stride), xs.size - 1])
    prof[coarse] = _profile(xs[coarse], xs, yc, coeff, power, wcp)
    if stride > 1:
        sub = prof[coarse]
        minima = np.flatnonzero((sub <= np.r_[np.inf, sub[:-1]]) & (sub <= np.r_[sub[1:], np.inf]))
        for m in minima[np.argsort(sub[minima])][:refine]:
            fill = np.arange(coarse[max(m - 1, 0)], coarse[min(m + 1, coarse.size - 1)] + 1)
            prof[fill] = _profile(xs[fill], xs, yc, coeff, power, wcp)
    left = np.r_[np.inf, prof[:-1]]
    right = np.r_[prof[1:], np.inf]
    minima = np.flatnonzero((prof <= left) & (prof <= right) & np.isfinite(prof))
    best = (np.inf, np.nan)
    for i in minima[np.argsort(prof[minima])][:refine]:
        lo, hi, s_sample, c_sample = xs[max(i - 1, 0)], xs[min(i + 1, xs.size - 1)], prof[i], xs[i]
        r = minimize_scalar(
            lambda c: _objective(c, xs, yc, coeff, power, wcp)[0],
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-9 * (hi - lo) + 1e-16},
        )
        for s, c in ((r.fun, r.x), (s_sample, c_sample)):
            if s < best[0]:
                best = (s, c)
    s, e, b = _objective(best[1], xs, yc, coeff, power, wcp)
    return s * scale**2, best[1], e * scale, b * scale + y.mean()


def profile_minima(x, y, coeff: float, power: float, wcp: float = 0.0, window: int = 20):
    """Contact points (m) and objective values (relative to the smallest) of the local minima
    of the profile over every sample position, each the smallest within ``window`` samples
    on both sides: the basins of the objective."""
    x = np.ascontiguousarray(x, float)
    order = np.argsort(x)
    xs = x[order]
    yc = np.ascontiguousarray((y[order] - y.mean()) / max(np.ptp(y), 1e-300))
    prof = _profile(xs, xs, yc, coeff, power, wcp)
    pad = np.r_[np.full(window, np.inf), prof, np.full(window, np.inf)]
    low = np.lib.stride_tricks.sliding_window_view(pad, 2 * window + 1).min(axis=1)
    minima = np.flatnonzero(prof <= low)
    return xs[minima], prof[minima] / prof.min()


def objective(x, y, cp, e, b, coeff, power, wcp=0.0) -> float:
    """The fit objective sum w^2 (y - b - E g(cp - x))^2 at given parameters (y in N)."""
    x = np.asarray(x, float)
    d = cp - x
    w2 = 1.0 if wcp == 0 else np.minimum(np.abs(d) / wcp, 1.0) ** 2
    g = np.where(d > 0, coeff * np.clip(d, 0, None) ** power, 0.0)
    return float(np.sum(w2 * (y - b - e * g) ** 2))


#: kinds of :func:`two_basin_curve`
TWO_BASIN_KINDS = ("soft_layer", "step", "bump", "onset")


def two_basin_curve(
    kind: str, model: str, geometry: dict, seed: int, n: int = 1500, noise_n: float = 20e-12
) -> tuple[np.ndarray, np.ndarray]:
    """A preprocessed approach (tip position in m, contact at 0; force in N) built to give
    the contact-point search a second basin: ``soft_layer`` a layer 0.3-1 µm thick before
    the surface, 5-20x stiffer than the cell beneath, whose force saturates at the surface,
    ``step`` a baseline step, ``bump`` a Gaussian bump in the baseline, ``onset``
    a long exponential onset (decay length 0.1-0.2 µm) before the surface."""
    from cellmech.models import force_per_modulus

    rng = np.random.default_rng(seed)
    e = 10 ** rng.uniform(np.log10(500.0), 4.0)
    x = np.linspace(rng.uniform(2e-6, 3e-6), -rng.uniform(0.5e-6, 1.2e-6), n)

    def g(d):
        return force_per_modulus(model, np.clip(d, 0.0, None), **geometry)

    f = e * g(-x)
    top = e * g(np.array(1e-6))
    if kind == "soft_layer":
        c1 = rng.uniform(0.3e-6, 1e-6)
        f = f + rng.uniform(5.0, 20.0) * e * np.minimum(g(c1 - x), g(np.array(c1)))
    elif kind == "step":
        f = f + rng.uniform(0.02, 0.2) * top * (x < rng.uniform(0.3e-6, 1.5e-6))
    elif kind == "bump":
        c, w = rng.uniform(0.5e-6, 1.5e-6), rng.uniform(0.1e-6, 0.3e-6)
        f = f + rng.uniform(0.05, 0.3) * top * np.exp(-0.5 * ((x - c) / w) ** 2)
    elif kind == "onset":
        lam = rng.uniform(0.1e-6, 0.2e-6)
        f = f + rng.uniform(0.7, 1.0) * top * np.exp(-np.clip(x, 0.0, None) / lam)
    else:
        raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(TWO_BASIN_KINDS)}")
    return x, f + rng.normal(0.0, noise_n, n)


def indentation_curves(curves: list[tuple[np.ndarray, np.ndarray]], k: float = K_N_PER_M):
    """Preprocessed :class:`IndentationCurves` (no offsets) from (tip position, force) pairs."""
    from cellmech.containers import IndentationCurves

    n = len(curves)
    npts = np.array([len(c[0]) for c in curves])
    x, y = np.full((n, npts.max()), np.nan), np.full((n, npts.max()), np.nan)
    for i, (xi, yi) in enumerate(curves):
        x[i, : xi.size], y[i, : yi.size] = xi, yi
    zeros = np.zeros(n)
    return IndentationCurves(
        np.arange(n), x, y, npts, zeros, zeros.astype(int), zeros.astype(np.int8), k
    )


def registration_sample_options(seed: int, side: int, reflect: bool, tip_radius_m: float):
    """The :class:`~cellmech.synthetic.SampleOptions` of :func:`registration_case`."""
    from cellmech.synthetic import SampleOptions

    return SampleOptions(
        seed=seed,
        grid_shape=(side, side),
        approach_points=300,
        retract_points=20,
        fluo_z_planes=2,
        marker=False,
        measured_height=False,
        reflect=reflect,
        geometry={"tip_radius_m": tip_radius_m},
    )


def registration_case(
    seed: int, side: int = 32, reflect: bool = False, tip_radius_m: float = 2.5e-6
):
    """A synthetic sample, its map fitted (unbiased objective, with the spherical tip of radius
    ``tip_radius_m`` that generated it) and its true segmentation: the inputs of a
    registration with a known answer.

    Returns ``(sample, fit_result, segmentation)``.
    """
    from cellmech.containers import Segmentation
    from cellmech.fit import FitOptions
    from cellmech.mapfit import fit_map
    from cellmech.synthetic import generate_sample

    s = generate_sample(registration_sample_options(seed, side, reflect, tip_radius_m))
    options = FitOptions(geometry={"tip_radius_m": tip_radius_m}, weight_cp_m=0)
    fit = fit_map(s.force_map, fit_options=options)
    seg = Segmentation(s.labels[0], s.labels[1], s.stack.pixel_size_m, s.stack.stage_position_m)
    return s, fit, seg
