"""Options of the synthetic dataset generator (:mod:`cellmech.synthetic`).

Kept apart from the generator so the command line can build its flags from the defaults
without importing the generator's heavier dependencies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cellmech import models
from cellmech.errors import ConfigError
from cellmech.models import GEOMETRY, MODEL_KEYS, get_model
from cellmech.options import check_range, option
from cellmech.synthetic.afm import Artefacts

__all__ = ["SAMPLE_DATA_OPTIONS", "SampleOptions"]

#: tip of the generated curves unless told: a 2.5 µm sphere
_DEFAULT_GEOMETRY = {"tip_radius_m": 2.5e-6}
#: largest fluorescence stack (uint16, 3 channels) a dataset may need, bytes
MAX_STACK_BYTES = 2 * 2**30
#: (field, low, high) of every bounded numeric option (SI units)
_RANGES = (
    ("seed", 0, 2**32 - 1),
    ("map_size_m", 1e-6, 1e-3),
    ("grid_theta_deg", -360.0, 360.0),
    ("n_cells", 0, 100),
    ("n_cells_outside", 0, 100),
    ("poisson_ratio", 0.0, 0.5),
    ("spring_constant_n_per_m", 1e-4, 100.0),
    ("sensitivity_m_per_v", 1e-10, 1e-5),
    ("setpoint_n", 1e-12, 1e-6),
    ("approach_points", 10, 200_000),
    ("retract_points", 2, 200_000),
    ("approach_duration_s", 1e-3, 1e3),
    ("deflection_noise_m", 0.0, 1e-7),
    ("baseline_offset_m", -1e-5, 1e-5),
    ("baseline_tilt", -1.0, 1.0),
    ("virtual_deflection_slope", -1.0, 1.0),
    ("bad_fraction", 0.0, 0.5),
    ("substrate_modulus_pa", 1e3, 1e12),
    ("fluo_pixel_size_m", 1e-8, 1e-5),
    ("fluo_z_step_m", 1e-8, 1e-4),
    ("fluo_z_planes", 1, 200),
    ("fluo_fov_factor", 1.1, 4.0),
    ("min_cell_gap_m", -10e-6, 20e-6),
)
_INTEGERS = {"seed", "n_cells", "n_cells_outside", "approach_points", "retract_points",
             "fluo_z_planes"}  # fmt: skip


@dataclass(frozen=True)
class SampleOptions:
    """Everything that defines a synthetic dataset (SI units).

    Parameters
    ----------
    seed : int
        Seed of the random generator; equal options give identical datasets.
    grid_shape : (int, int)
        AFM grid ``(rows, cols)``.
    map_size_m : float
        Side of the square AFM map, m.
    grid_theta_deg : float
        Rotation of the grid in the scanner frame (JPK ``grid.theta``), degrees.
    n_cells : int
        Cells placed wholly inside the map.
    n_cells_outside : int
        Extra cells in the fluorescence field outside the map (no AFM data).
    model : str
        Contact model generating the curves (:mod:`cellmech.models` key).
    geometry : mapping
        Tip geometry for ``model`` (``tip_radius_m`` or ``half_angle_deg``).
    poisson_ratio : float
    spring_constant_n_per_m, sensitivity_m_per_v : float
        Cantilever k (N/m) and deflection sensitivity (m/V).
    setpoint_n : float
        Force setpoint ending each approach, N.
    approach_points, retract_points : int
        Points of a full-length approach (over the whole z range) and of every retract.
    approach_duration_s : float
        Duration of a full-length approach (and of every retract), s.
    noise_free : bool
        No noise, offset, tilt, virtual deflection or bad curves.
    deflection_noise_m, baseline_offset_m, baseline_tilt, virtual_deflection_slope : float
        Artefacts (see :class:`~cellmech.synthetic.afm.Artefacts`).
    bad_fraction : float
        Fraction of curves that are bad (half no-contact, half spiky).
    substrate_modulus_pa : float
        Young's modulus of the dish, Pa (effectively rigid).
    reflect : bool
        Whether the AFM -> fluorescence transform includes a reflection.
    fluo_pixel_size_m, fluo_z_step_m : float
        Fluorescence pixel pitch and plane spacing, m.
    fluo_z_planes : int
        Number of planes.
    fluo_fov_factor : float
        Fluorescence field of view side / AFM map side (> 1.1).
    marker : bool
        Add the stiffness-correlated third channel.
    measured_height : bool
        Record the sensor height channel (equal to the piezo height: an ideal sensor).
    min_cell_gap_m : float
        Smallest clearance between cell footprints, m (default 2 µm). 0 lets cells touch; a
        negative value lets footprints overlap by up to its magnitude (crowded fields, where the
        cell drawn later covers the one drawn earlier, so the truth labels stay exact). The
        clearance from the map and field edges stays at least 0.
    finite_thickness : bool
        Curves over cells follow the bonded finite-thickness force law (bottom effect) with
        the cell height at the touched point as thickness, instead of the half-space law.
    """

    seed: int = option(0, "random seed; equal options give identical datasets")
    grid_shape: tuple[int, int] = option((48, 48), "AFM grid (rows, cols)")
    map_size_m: float = option(90e-6, "side of the square AFM map", "m")
    grid_theta_deg: float = option(0.0, "grid rotation in the scanner frame", "deg")
    n_cells: int = option(4, "cells placed wholly inside the map")
    n_cells_outside: int = option(1, "extra cells in the fluorescence field only")
    model: str = option(
        "hertz_paraboloidal", "contact model generating the curves", "", choices=MODEL_KEYS
    )
    geometry: Mapping[str, float] = option(
        help="tip geometry of the model",
        unit="m",
        default_factory=lambda: dict(_DEFAULT_GEOMETRY),
        subtable=GEOMETRY,
    )
    poisson_ratio: float = option(0.5, "Poisson ratio of the cells")
    spring_constant_n_per_m: float = option(0.05, "cantilever spring constant", "N/m")
    sensitivity_m_per_v: float = option(50e-9, "deflection sensitivity", "m/V")
    setpoint_n: float = option(1e-9, "force setpoint ending each approach", "N")
    approach_points: int = option(1000, "points of a full-length approach")
    retract_points: int = option(500, "points of every retract")
    approach_duration_s: float = option(1.0, "duration of a full-length approach", "s")
    noise_free: bool = option(False, "no noise, offset, tilt, virtual deflection or bad curves")
    deflection_noise_m: float = option(0.2e-9, "deflection noise (standard deviation)", "m")
    baseline_offset_m: float = option(20e-9, "deflection baseline offset", "m")
    baseline_tilt: float = option(5e-5, "baseline tilt, deflection per piezo height")
    virtual_deflection_slope: float = option(
        0.0, "baseline slope common to all curves, deflection per piezo height"
    )
    bad_fraction: float = option(0.01, "fraction of bad curves (half no-contact, half spiky)")
    substrate_modulus_pa: float = option(1e9, "Young's modulus of the dish", "Pa")
    reflect: bool = option(False, "the AFM -> fluorescence transform includes a reflection")
    fluo_pixel_size_m: float = option(0.5e-6, "fluorescence pixel size", "m")
    fluo_z_step_m: float = option(1.0e-6, "fluorescence plane spacing", "m")
    fluo_z_planes: int = option(10, "fluorescence planes")
    fluo_fov_factor: float = option(1.5, "fluorescence field side / AFM map side (>= 1.1)")
    marker: bool = option(True, "add the stiffness-correlated third channel")
    measured_height: bool = option(True, "record the sensor (measured) height channel")
    min_cell_gap_m: float = option(
        2e-6, "least clearance between cells (0: touching, < 0: overlapping)", "m"
    )
    finite_thickness: bool = option(
        False, "curves over cells follow the bonded finite-thickness force law"
    )

    def __post_init__(self) -> None:
        rows, cols = (int(v) for v in self.grid_shape)
        object.__setattr__(self, "grid_shape", (rows, cols))
        model = get_model(self.model)
        takes = {spec.key for spec in model.PARAMETERS}
        # the default sphere radius does not apply to a cone or pyramid: drop it there
        geometry = {
            k: v for k, v in self.geometry.items() if k in takes or k not in _DEFAULT_GEOMETRY
        }
        object.__setattr__(self, "geometry", models.validated_geometry(model, geometry))
        for name, low, high in _RANGES:
            check_range(
                "sample", name, getattr(self, name), low=low, high=high, integer=name in _INTEGERS
            )
        for name, value in (("grid rows", rows), ("grid cols", cols)):
            check_range("sample", name, value, low=2, high=512, integer=True)
        if not (self.bad_fraction <= 0.5 and self.fluo_fov_factor >= 1.1):
            raise ConfigError("[sample] bad_fraction must be <= 0.5 and fluo_fov_factor >= 1.1")
        side_px = self.map_size_m * self.fluo_fov_factor / self.fluo_pixel_size_m
        stack_bytes = 2 * 3 * self.fluo_z_planes * side_px**2
        if stack_bytes > MAX_STACK_BYTES:
            raise ConfigError(
                f"[sample] the fluorescence stack would need {stack_bytes / 2**30:.1f} GiB "
                f"(at most {MAX_STACK_BYTES / 2**30:.0f} GiB): use a larger fluo_pixel_size_m, "
                "fewer planes or a smaller map"
            )

    @property
    def artefacts(self) -> Artefacts:
        """Deflection artefacts (none when ``noise_free``)."""
        if self.noise_free:
            return Artefacts()
        return Artefacts(
            noise_m=self.deflection_noise_m,
            offset_m=self.baseline_offset_m,
            tilt=self.baseline_tilt,
            virtual_deflection_slope=self.virtual_deflection_slope,
            spike_n=self.setpoint_n,
        )


#: the options of the dataset shipped in ``sample_data/`` (``cellmech demo``, napari sample);
#: ``generate_sample(SAMPLE_DATA_OPTIONS)`` rebuilds it in memory in about a second
SAMPLE_DATA_OPTIONS = SampleOptions(
    seed=1,
    grid_shape=(24, 24),
    map_size_m=72e-6,
    n_cells=3,
    approach_points=500,
    retract_points=50,
    measured_height=False,
    fluo_z_planes=8,
)
