"""Test scaffolding for the report: a complete :class:`SampleResult` built from the synthetic
generator's truth (true labels, true registration) plus a minimal curve assignment and cell
table computed here. It stands in for the segmentation, registration and measurement stages
so the report can be tested on its own; it is not a reference implementation of them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from cellmech.containers import CurveStatus, Registration, Segmentation
from cellmech.mapfit import fit_map
from cellmech.pipeline import SampleResult, make_settings
from cellmech.synthetic import SampleOptions, generate_sample
from cellmech.transforms import apply_affine

#: curves closer than this to a cell outline are "edge" (the measurement's default)
EDGE_DISTANCE_M = 2e-6


@dataclass(frozen=True)
class FakeAssignment:
    """Per-curve cell, compartment, distances to the outlines and heights (aligned with the
    fit); the surface height stands in for the tip-deconvolved one."""

    curve_index: np.ndarray
    cell_id: np.ndarray
    compartment: np.ndarray
    edge_distance_m: np.ndarray
    nucleus_distance_m: np.ndarray
    height_above_substrate_m: np.ndarray

    @property
    def surface_height_m(self) -> np.ndarray:
        return self.height_above_substrate_m

    @property
    def n_curves(self) -> int:
        return self.curve_index.size


@dataclass(frozen=True)
class FakeCells:
    """Stands in for ``CellTable``: only ``to_frame`` is used by the report."""

    frame: pd.DataFrame
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()


def truth_registration(sample) -> Registration:
    tr = sample.truth["transform"]
    afm_m = np.eye(3)
    afm_m[:2, :2] = tr["scanner_to_sample_linear"]
    afm_m[:2, 2] = tr["scanner_to_sample_translation_m"]
    checks = {
        "mask_overlap": {"value": 0.91, "threshold": 0.6, "passed": True},
        "scale_change": {"value": 0.012, "threshold": 0.05, "passed": True},
    }
    return Registration(
        afm_px_to_fluorescence_px=np.asarray(tr["afm_px_to_fluo_px"]),
        afm_m_to_fluorescence_m=afm_m,
        method="truth",
        error_estimate_m=0.4e-6,
        accepted=True,
        reason="ground truth of the synthetic sample",
        checks=checks,
    )


def assign(sample, fit, seg: Segmentation, reg: Registration) -> FakeAssignment:
    """Nearest-pixel labels under every curve's grid cell."""
    fm = sample.force_map
    idx = fit.curve_index
    r, c = apply_affine(reg.afm_px_to_fluorescence_px, fm.row[idx], fm.col[idx])
    ri = np.clip(np.rint(r).astype(int), 0, seg.shape[0] - 1)
    ci = np.clip(np.rint(c).astype(int), 0, seg.shape[1] - 1)
    cell = seg.cell_labels[ri, ci]
    nucleus = seg.nucleus_labels[ri, ci] > 0
    inside = ndimage.distance_transform_edt(seg.cell_labels > 0) * seg.pixel_size_m[0]
    in_nucleus = seg.nucleus_labels > 0
    edt = ndimage.distance_transform_edt
    to_outline = np.where(in_nucleus, edt(in_nucleus), edt(~in_nucleus)) * seg.pixel_size_m[0]
    edge = (cell > 0) & (inside[ri, ci] < EDGE_DISTANCE_M)
    compartment = np.where(cell == 0, "substrate", np.where(nucleus, "nucleus", "cytoplasm"))
    compartment = np.where(edge, "edge", compartment)
    height = fit.zero_force_height_m
    ground = np.nanmedian(height[compartment == "substrate"])
    return FakeAssignment(
        idx, cell, compartment, inside[ri, ci], to_outline[ri, ci], height - ground
    )


def cell_frame(sample, fit, assignment: FakeAssignment, reg: Registration) -> pd.DataFrame:
    """One row per labelled cell, with the report's column names (SI units)."""
    ok = fit.status == CurveStatus.OK
    e = fit.youngs_modulus_pa
    area_px = np.prod(sample.force_map.grid.pixel_size_m)
    rows = []
    for cell_id in np.unique(sample.labels[0][sample.labels[0] > 0]):
        mine = assignment.cell_id == cell_id
        inner = mine & ok & (assignment.compartment != "edge")
        h = assignment.height_above_substrate_m[mine]
        q25, q75 = np.percentile(e[inner], (25, 75)) if inner.any() else (np.nan, np.nan)
        rows.append(
            {
                "cell_id": int(cell_id),
                "n_curves": int(mine.sum()),
                "n_curves_ok": int((mine & ok).sum()),
                "youngs_modulus_median_pa": np.median(e[inner]) if inner.any() else np.nan,
                "youngs_modulus_iqr_pa": q75 - q25,
                "youngs_modulus_nucleus_median_pa": _median(e[inner & _is(assignment, "nucleus")]),
                "youngs_modulus_cytoplasm_median_pa": _median(
                    e[inner & _is(assignment, "cytoplasm")]
                ),
                "height_max_m": np.nanmax(h) if np.isfinite(h).any() else np.nan,
                "volume_m3": np.nansum(np.clip(h, 0, None)) * area_px,
                "area_m2": mine.sum() * area_px,
                "edge_cell": bool(mine.sum() == 0),
                "registration_accepted": reg.accepted,
                "registration_error_m": reg.error_estimate_m,
                "intensity_mean_cytoplasm": 1234.5 + cell_id,
            }
        )
    return pd.DataFrame(rows)


def _is(assignment: FakeAssignment, name: str) -> np.ndarray:
    return assignment.compartment == name


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if values.size else np.nan


def build_result(seed: int, **options) -> SampleResult:
    """A full SampleResult of a small synthetic sample (24 x 24 map, 300-point approaches;
    ``options`` override these :class:`SampleOptions`)."""
    defaults = dict(grid_shape=(24, 24), approach_points=300, retract_points=50, fluo_z_planes=3)
    sample = generate_sample(SampleOptions(seed=seed, **(defaults | options)))
    settings = make_settings({"fit": {"geometry": {"tip_radius_m": 2.5e-6}, "weight_cp_m": 0}})
    fit = fit_map(sample.force_map, fit_options=settings.fit)
    seg = Segmentation(
        cell_labels=sample.labels[0],
        nucleus_labels=sample.labels[1],
        pixel_size_m=sample.stack.pixel_size_m,
        origin_m=sample.stack.stage_position_m,
        method="truth",
        cell_channel="cytoplasm",
        nucleus_channel="nucleus",
    )
    reg = truth_registration(sample)
    assignment = assign(sample, fit, seg, reg)
    cells = FakeCells(cell_frame(sample, fit, assignment, reg))
    return SampleResult(
        force_map=sample.force_map,
        fit=fit,
        settings=settings,
        stack=sample.stack,
        segmentation=seg,
        registration=reg,
        assignment=assignment,
        cells=cells,
        timing_s={"fit": 1.2, "segment": 0.3, "register": 0.5, "measure": 0.1},
    )


@pytest.fixture(scope="session")
def sample_result() -> SampleResult:
    return build_result(seed=3)


@pytest.fixture(scope="session")
def rejected_result(sample_result) -> SampleResult:
    """The same sample with a registration that was not accepted."""
    checks = {
        "mask_overlap": {"value": 0.42, "threshold": 0.6, "passed": False},
        "scale_change": {"value": 0.012, "threshold": 0.05, "passed": True},
    }
    reg = replace(
        sample_result.registration,
        accepted=False,
        reason="mask overlap 0.42 below 0.6 after the rigid step",
        error_estimate_m=6e-6,
        checks=checks,
    )
    return replace(sample_result, registration=reg, warnings=())
