r"""Contact-model fit of every curve of a block: Young's modulus, contact point, baseline.

The model is ``F(x) = b + E g(cp - x)`` where ``x`` is the tip position, ``cp`` the contact
point, ``b`` the force baseline and ``g`` the model's force per modulus
(:mod:`cellmech.models`), zero for non-positive indentation. The fit minimises the weighted
sum of squared force residuals ``S(cp) = sum_j w_j^2 (y_j - b - E g(cp - x_j))^2`` over the
fit points, optionally with nanite's contact-point weighting (Müller et al., BMC
Bioinformatics 20, 465 (2019)): a residual at distance ``|x - cp|`` from the contact point is
multiplied by ``w = min(|x - cp| / weight_cp_m, 1)`` (off by default: it biases E low on
shallow indentations). E >= 0 and b are solved in closed form for any trial contact point;
the contact point is the **global** minimum of ``S`` over the tip positions of the fit points
(a global search refined with Brent's method and a sample-by-sample scan,
:mod:`cellmech.kernels.fitcore`; checked against a brute-force scan in
tests/test_fit_global.py), all curves of a block in parallel.

Objective per fit range: ``approach`` and ``tip_position`` fix the fit points, so the above
is minimised once. ``indentation`` and ``force`` select the points from the contact point
(``cp - x`` in the window, or the points before the force first exceeds ``b + force_max_n``):
the fit starts on the whole approach and is repeated on the points selected by the previous
pass's contact point and baseline until no contact point moves (at most RANGE_ITERATIONS
passes). The result is a fixed point: the global minimum of ``S`` over the points that its
own contact point selects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cellmech import models
from cellmech.containers import CurveStatus, FitResult, FrozenMapping, IndentationCurves
from cellmech.errors import ConfigError
from cellmech.fitstatus import fit_result
from cellmech.options import option
from cellmech.runtime import kernel

__all__ = ["FIT_RANGES", "FitOptions", "fit_curves"]

#: fit-range modes: name -> meaning of range_min/range_max
FIT_RANGES = {
    "approach": "the whole approach segment (range bounds ignored)",
    "tip_position": "tip positions in [range_min_m, range_max_m]",
    "indentation": "indentations cp - x in [range_min_m, range_max_m] (moves with the fit)",
    "force": "points before the force first exceeds baseline + force_max_n",
}
#: points and largest indentation (beyond any AFM z range) of the force-per-modulus table; a
#: fixed table makes every curve's result independent of the other curves in its block
TABLE_POINTS = 2048
TABLE_DELTA_MAX_M = 1e-3
#: fits with a moving fit range (indentation, force) are repeated on the window of the
#: previous contact point until no contact point moves by more than RANGE_CP_TOL_M (nanite
#: repeats 3 times), at most this often
RANGE_ITERATIONS = 20
RANGE_CP_TOL_M = 1e-12

_fit_kernel = kernel("cellmech.kernels.fitcore", "fit_block")


@dataclass(frozen=True)
class FitOptions:
    """Options of :func:`fit_curves`.

    Parameters
    ----------
    model : str
        Contact-model key (:data:`cellmech.models.MODEL_KEYS`).
    poisson_ratio : float
        Poisson ratio ν of the sample (1), in [0, 0.5].
    geometry : mapping of str to float
        Model geometry parameters in their units (e.g. ``tip_radius_m``); missing ones take the
        model defaults (``tip_radius_m = 10e-6`` for the paraboloid).
    fit_range : {"approach", "tip_position", "indentation", "force"}
        Which points are fitted (see :data:`FIT_RANGES`).
    range_min_m, range_max_m : float
        Bounds in m of the tip position or indentation window.
    force_max_n : float
        Force above baseline (N) ending the fit range for ``fit_range="force"``.
    weight_cp_m : float
        Contact-point weighting distance in m (0 disables weighting). As the weights move
        with the fitted contact point, fits reaching much less than this depth are biased
        (e.g. -10 % at 170 nm with the default 1 µm): lower it for shallow fit ranges.
    bonded : bool
        Finite-thickness correction for a sample bonded to its substrate (else sliding); used
        only when :func:`fit_curves` receives sample thicknesses.
    min_r_squared : float
        Fits with a lower coefficient of determination are POOR_FIT.
    min_modulus_pa, max_modulus_pa : float
        Moduli outside this range (Pa) are POOR_FIT (physically absurd or at the E >= 0 bound).
    min_contact_points : int
        Curves that touched (see :func:`cellmech.fitstatus.fit_result`) with fewer fitted
        points in contact are RIGID (the indentation is not resolved); on noise-free data
        they are NO_CONTACT.
    """

    model: str = option("hertz_paraboloidal", "contact model", choices=models.MODEL_KEYS)
    poisson_ratio: float = option(0.5, "Poisson ratio of the sample")
    geometry: Mapping[str, float] = option(
        help="model geometry, e.g. tip_radius_m (model defaults)",
        unit="m",
        default_factory=dict,
        subtable=models.GEOMETRY,
    )
    fit_range: str = option("approach", "which points to fit", choices=tuple(FIT_RANGES))
    range_min_m: float = option(-np.inf, "lower bound of the tip-position/indentation window", "m")
    range_max_m: float = option(np.inf, "upper bound of the tip-position/indentation window", "m")
    force_max_n: float = option(np.inf, "force above baseline ending the 'force' range", "N")
    weight_cp_m: float = option(0.0, "contact-point weighting distance (0 = off)", "m")
    bonded: bool = option(True, "finite-thickness correction for a bonded sample")
    min_r_squared: float = option(0.5, "R² below which a fit is poor_fit")
    min_modulus_pa: float = option(1.0, "moduli below are poor_fit", "Pa")
    max_modulus_pa: float = option(1e9, "moduli above are poor_fit", "Pa")
    min_contact_points: int = option(3, "touched curves with fewer points in contact are rigid")

    def __post_init__(self) -> None:
        if self.model not in models.MODEL_KEYS:
            raise ConfigError(
                f"fit option model={self.model!r} is invalid; valid: {', '.join(models.MODEL_KEYS)}"
            )
        if self.fit_range not in FIT_RANGES:
            raise ConfigError(
                f"fit option fit_range={self.fit_range!r} is invalid; "
                f"valid: {', '.join(FIT_RANGES)}"
            )
        if not 0.0 <= self.poisson_ratio <= 0.5:
            raise ConfigError(
                f"fit option poisson_ratio={self.poisson_ratio!r} must lie in [0, 0.5]"
            )
        if not self.range_min_m < self.range_max_m:
            raise ConfigError(
                f"fit options range_min_m={self.range_min_m!r} must be < "
                f"range_max_m={self.range_max_m!r}"
            )
        for name in ("weight_cp_m", "force_max_n", "min_modulus_pa", "max_modulus_pa"):
            value = getattr(self, name)
            if not value >= 0:
                raise ConfigError(f"fit option {name}={value!r} must be >= 0")
        if not self.min_modulus_pa < self.max_modulus_pa:
            raise ConfigError("fit option min_modulus_pa must be < max_modulus_pa")
        if int(self.min_contact_points) != self.min_contact_points or self.min_contact_points < 1:
            raise ConfigError(
                f"fit option min_contact_points={self.min_contact_points!r} must be an integer >= 1"
            )
        geometry = models.validated_geometry(models.get_model(self.model), dict(self.geometry))
        object.__setattr__(self, "geometry", FrozenMapping(geometry))


def fit_curves(
    curves: IndentationCurves,
    options: FitOptions = FitOptions(),
    *,
    sample_thickness_m: float | np.ndarray | None = None,
) -> FitResult:
    """Fit the contact model to every curve of a block.

    Parameters
    ----------
    curves : IndentationCurves
        Preprocessed approach curves of ``n`` curves.
    options : FitOptions
        Model, fit range, weighting and quality thresholds.
    sample_thickness_m : float or ndarray of shape (n,), optional
        Sample thickness under each curve in m (e.g. the zero-force height above the
        substrate). When given, the model's finite-thickness correction is applied; NaN or inf
        entries mean an infinitely thick sample.

    Returns
    -------
    FitResult
        One row per curve. Values are NaN unless the status is OK or POOR_FIT. Bad curves
        never raise: they get TOO_FEW_POINTS, NO_CONTACT, NOT_CONVERGED, INVALID_INPUT (from
        preprocessing) or POOR_FIT.
    """
    status, res = _optimum(curves, options, sample_thickness_m)
    return fit_result(curves, status, res, options, sample_thickness_m)


def _optimum(curves, options, thickness):
    """Preprocessing statuses and the kernel's rows (:func:`fit_block`) of every curve, E in
    Pa, before any quality status is applied."""
    n = curves.n_curves
    table, row, scale, gnorm = _force_table(curves, options, thickness)
    status = curves.status.copy()
    status[(status == CurveStatus.OK) & ~np.any(table > 0, axis=1)[row]] = CurveStatus.INVALID_INPUT
    ok = status == CurveStatus.OK
    full = (np.full(n, -np.inf), np.full(n, np.inf), curves.n_points.copy())
    window = full if options.fit_range == "approach" else _window(curves, options, None, full)
    res = _run(curves, ok, window, options, table, row, scale)
    if options.fit_range in ("indentation", "force"):
        for _ in range(RANGE_ITERATIONS):
            new = _run(curves, ok, _window(curves, options, res, full), options, table, row, scale)
            moved = np.abs(new[:, 1] - res[:, 1]) > RANGE_CP_TOL_M
            res = new
            if not moved.any():  # NaN never compares: curves without a fit do not hold it up
                break
    res[:, [0, 10]] /= gnorm
    return status, res


def _run(curves, ok, window, options, table, row, scale):
    """Call the compiled fit on the curves that preprocessing left OK."""
    x_lo, x_hi, j_end = window
    n_points = np.where(ok, curves.n_points, 0)  # the kernel reads no point of other curves
    wcp = float(options.weight_cp_m)
    x, y = curves.tip_position_m, curves.force_n
    return _fit_kernel(x, y, n_points, x_lo, x_hi, j_end, wcp, table, row, scale)


def _window(curves, options, res, full):
    """Fit window (x_lo, x_hi, j_end) per curve for the current contact point/baseline."""
    x_lo, x_hi, j_end = (a.copy() for a in full)
    if options.fit_range == "tip_position":
        x_lo[:], x_hi[:] = options.range_min_m, options.range_max_m
        return x_lo, x_hi, j_end
    if res is None:  # first pass of a moving range: fit the whole approach
        return full
    cp, base = res[:, 1], res[:, 2]
    known = np.isfinite(cp)
    if options.fit_range == "indentation":
        x_lo[known] = cp[known] - options.range_max_m
        x_hi[known] = cp[known] - options.range_min_m
        return x_lo, x_hi, j_end
    above = (curves.force_n - base[:, None]) > options.force_max_n
    first = np.where(above.any(axis=1), np.argmax(above, axis=1), curves.n_points)
    return x_lo, x_hi, np.where(known, first, j_end)


def _force_table(curves, options, thickness):
    """Force per modulus sampled on a sqrt-spaced grid of indentations up to 1 mm, normalised.

    Returns the table (r, T), the table row of every curve, 1 / delta_max per row and the
    normalisation factor (the table holds g / gnorm). Rows for invalid thicknesses are 0.
    """
    delta_max = TABLE_DELTA_MAX_M
    u = np.linspace(0.0, 1.0, TABLE_POINTS)
    delta = delta_max * u**2
    n = curves.n_curves
    h = None if thickness is None else np.broadcast_to(np.asarray(thickness, float), (n,))[:, None]
    g = models.force_per_modulus(
        options.model,
        delta[None, :],
        poisson_ratio=options.poisson_ratio,
        thickness_m=h,
        bonded=options.bonded,
        **options.geometry,
    )
    row = np.zeros(n, dtype=np.int64) if g.shape[0] == 1 else np.arange(n, dtype=np.int64)
    g = np.where(np.isfinite(g).all(axis=1, keepdims=True), g, 0.0)  # h <= 0: all-zero row
    gnorm = float(g.max()) if g.max() > 0 else 1.0
    return np.ascontiguousarray(g / gnorm), row, np.full(g.shape[0], 1.0 / delta_max), gnorm
