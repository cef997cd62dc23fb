"""Options of the synthetic dataset generator (:mod:`cellmech.synthetic`).

Kept apart from the generator so the command line can build its flags from the defaults
without importing the generator's heavier dependencies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cellmech.errors import ConfigError
from cellmech.models import get_model
from cellmech.synthetic.afm import Artefacts

__all__ = ["SAMPLE_DATA_OPTIONS", "SampleOptions"]


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

    seed: int = 0
    grid_shape: tuple[int, int] = (48, 48)
    map_size_m: float = 90e-6
    grid_theta_deg: float = 0.0
    n_cells: int = 4
    n_cells_outside: int = 1
    model: str = "hertz_paraboloidal"
    geometry: Mapping[str, float] = field(default_factory=lambda: {"tip_radius_m": 2.5e-6})
    poisson_ratio: float = 0.5
    spring_constant_n_per_m: float = 0.05
    sensitivity_m_per_v: float = 50e-9
    setpoint_n: float = 1e-9
    approach_points: int = 1000
    retract_points: int = 500
    approach_duration_s: float = 1.0
    noise_free: bool = False
    deflection_noise_m: float = 0.2e-9
    baseline_offset_m: float = 20e-9
    baseline_tilt: float = 5e-5
    virtual_deflection_slope: float = 0.0
    bad_fraction: float = 0.01
    substrate_modulus_pa: float = 1e9
    reflect: bool = False
    fluo_pixel_size_m: float = 0.5e-6
    fluo_z_step_m: float = 1.0e-6
    fluo_z_planes: int = 10
    fluo_fov_factor: float = 1.5
    marker: bool = True
    measured_height: bool = True
    min_cell_gap_m: float = 2e-6
    finite_thickness: bool = False

    def __post_init__(self) -> None:
        rows, cols = (int(v) for v in self.grid_shape)
        object.__setattr__(self, "grid_shape", (rows, cols))
        object.__setattr__(self, "geometry", dict(self.geometry))
        get_model(self.model)
        checks = {
            "grid_shape": min(rows, cols) >= 2,
            "map_size_m": self.map_size_m > 0,
            "n_cells": self.n_cells >= 0 and self.n_cells_outside >= 0,
            "approach_points": self.approach_points >= 10 and self.retract_points >= 2,
            "bad_fraction": 0 <= self.bad_fraction <= 0.5,
            "fluo_fov_factor": self.fluo_fov_factor >= 1.1,
            "fluo_z_planes": self.fluo_z_planes >= 1,
            "min_cell_gap_m": -10e-6 <= self.min_cell_gap_m <= 20e-6,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ConfigError(f"invalid sample options: {', '.join(bad)}; see SampleOptions")

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
