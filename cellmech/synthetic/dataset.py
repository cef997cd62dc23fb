"""Synthetic correlative AFM + fluorescence dataset with ground truth.

:func:`generate_sample` builds, deterministically for a seed, a scene of adherent cells
(:mod:`cellmech.synthetic.scene`), a force map over it (:mod:`cellmech.synthetic.afm`), a
fluorescence stack of a larger field (:mod:`cellmech.synthetic.fluo`) and the ground truth;
:func:`write_sample` writes them as a real JPK ``.jpk-force-map``, an OME-TIFF and the truth
files (``truth.json``, ``truth_cells.csv``, ``truth_curves.csv``, ``truth_labels.tif``), all
documented field by field in ``sample_data/README.md``.

Frames (all in m inside, (row, col) for pixels):

* AFM grid pixel -> AFM scanner ``(x, y)``: :class:`~cellmech.containers.GridGeometry`.
* AFM scanner -> sample (stage) frame: the *true* similarity ``S = s R(φ) F A + t``
  (rotation φ of a few degrees, scale s within a few %, optional reflection F, translation).
* sample frame -> fluorescence pixel: ``col = (x - X0) / p``, ``row = (y - Y0) / p`` with
  ``(X0, Y0)`` the OME ``Plane PositionX/Y`` (centre of pixel (0, 0)) and ``p`` the pixel size.

The metadata alone suggest that scanner and stage coordinates coincide (``S = A``); the truth
differs from that guess by the rotation, scale and an offset of several µm, as on a real
instrument whose scanner frame is not calibrated against the microscope stage.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tifffile

from cellmech import __version__
from cellmech.containers import (
    CurveBlock,
    FluorescenceStack,
    ForceMap,
    GridGeometry,
    in_memory_loader,
)
from cellmech.errors import ConfigError
from cellmech.outputs import atomic_path
from cellmech.synthetic.afm import contact_heights, simulate_curves
from cellmech.synthetic.fluo import FluoGeometry, Optics, render_stack, write_ome_tiff
from cellmech.synthetic.options import SAMPLE_DATA_OPTIONS, SampleOptions
from cellmech.synthetic.scene import Box, Scene, place_cells
from cellmech.synthetic.truth import cell_table, curve_table, frame_matrices
from cellmech.units import M_PER_UM

__all__ = [
    "SAMPLE_DATA_OPTIONS",
    "Sample",
    "SampleOptions",
    "generate_sample",
    "make_sample_data",
    "write_sample",
]

#: piezo height (m) at which the undeflected tip apex would touch the substrate plane's origin
_PIEZO_OFFSET_M = 1e-6
#: scene draws tried before giving up on placing the cells
_SCENE_ATTEMPTS = 5

FILE_NAMES = {
    "force_map": "sample.jpk-force-map",
    "fluorescence": "sample.ome.tif",
    "truth": "truth.json",
    "cells": "truth_cells.csv",
    "curves": "truth_curves.csv",
    "labels": "truth_labels.tif",
}


@dataclass(frozen=True)
class Sample:
    """A generated dataset in memory.

    Parameters
    ----------
    force_map : ForceMap
        The map (curves served from memory; ``path`` is where it would be written).
    stack : FluorescenceStack
        (C, Z, Y, X) uint16 stack.
    labels : ndarray of int32, shape (2, Y, X)
        Cell labels and nucleus labels in fluorescence pixels.
    truth : dict
        Content of ``truth.json``.
    cells, curves : pandas.DataFrame
        Per-cell and per-curve truth.
    scene : Scene
        The cells and substrate themselves (sample frame).
    """

    force_map: ForceMap
    stack: FluorescenceStack
    labels: np.ndarray
    truth: dict
    cells: pd.DataFrame
    curves: pd.DataFrame
    scene: Scene


def _frames(rng: np.random.Generator, opt: SampleOptions) -> dict[str, Any]:
    """Draw the grid, the true scanner -> sample similarity and the fluorescence field."""
    length = opt.map_size_m
    grid = GridGeometry(
        shape=opt.grid_shape,
        center_m=tuple(rng.uniform(-10e-6, 10e-6, 2)),
        size_m=(length, length),
        theta_rad=np.radians(opt.grid_theta_deg),
        back_and_forth=True,
        xy_scanner="tip",
    )
    phi = np.radians(rng.uniform(2.0, 5.0) * rng.choice([-1, 1]))
    scale = 1.0 + rng.uniform(0.01, 0.03) * rng.choice([-1, 1])
    flip = np.diag([1.0, -1.0]) if opt.reflect else np.eye(2)
    linear = scale * np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]]) @ flip
    error = rng.uniform(4e-6, 8e-6) * _unit(rng.uniform(0, 2 * np.pi))
    centre = np.asarray(grid.center_m)
    true_centre = centre + error  # where the map really lies on the stage
    n_px = int(np.ceil(opt.fluo_fov_factor * length / opt.fluo_pixel_size_m))
    fov = n_px * opt.fluo_pixel_size_m
    u_axis = _unit(grid.theta_rad)
    turn = _angle(linear @ u_axis)
    extent = scale * length * (abs(np.cos(turn)) + abs(np.sin(turn)))
    slack = max((fov - extent) / 2 - 1e-6, 0.0)
    fov_centre = true_centre + rng.uniform(-slack, slack, 2)
    origin = fov_centre - (n_px - 1) / 2 * opt.fluo_pixel_size_m
    fluo = FluoGeometry(
        shape_zyx=(opt.fluo_z_planes, n_px, n_px),
        pixel_size_m=opt.fluo_pixel_size_m,
        z_step_m=opt.fluo_z_step_m,
        origin_m=(float(origin[0]), float(origin[1])),
        z_first_m=0.0,
    )
    return {
        "grid": grid,
        "linear": linear,
        "translation": true_centre - linear @ centre,
        "rotation_rad": phi,
        "scale": scale,
        "fluo": fluo,
        "map_box": Box(tuple(true_centre), (scale * length / 2,) * 2, turn),
        "fov_box": Box(tuple(fov_centre), (fov / 2, fov / 2)),
    }


def _unit(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle)])


def _angle(vector: np.ndarray) -> float:
    return float(np.arctan2(vector[1], vector[0]))


def _scene(rng: np.random.Generator, opt: SampleOptions, frames: dict) -> Scene:
    """Cells inside the map (half an AFM pixel of margin) and a few in the field outside it.

    A crowded draw is retried a few times before :class:`ConfigError` is raised.
    """
    map_box, fov_box = frames["map_box"], frames["fov_box"]
    margin = max(frames["grid"].pixel_size_m) * frames["scale"] / 2
    inner = Box(map_box.center_m, tuple(h - margin for h in map_box.half_size_m), map_box.angle_rad)
    for attempt in range(_SCENE_ATTEMPTS):
        try:
            cells = place_cells(rng, opt.n_cells, inner, gap_m=opt.min_cell_gap_m)
            cells += place_cells(
                rng,
                opt.n_cells_outside,
                fov_box,
                outside=map_box,
                existing=cells,
                first_label=opt.n_cells + 1,
                gap_m=opt.min_cell_gap_m,
                length_range_m=(12e-6, 20e-6),
            )
            break
        except ConfigError:
            if attempt == _SCENE_ATTEMPTS - 1:
                raise
    return Scene(
        cells=tuple(cells),
        substrate_origin_m=map_box.center_m,
        substrate_slope=tuple(rng.uniform(-2e-3, 2e-3, 2)),
        substrate_modulus_pa=opt.substrate_modulus_pa,
    )


def _bad_curves(rng: np.random.Generator, n: int, opt: SampleOptions) -> np.ndarray:
    """Per-curve bad reason: "" (good), "no_contact" or "spikes"."""
    reason = np.full(n, "", dtype=object)
    n_bad = 0 if opt.noise_free else round(opt.bad_fraction * n)
    picked = rng.choice(n, size=n_bad, replace=False)
    reason[picked[: n_bad // 2]] = "no_contact"
    reason[picked[n_bad // 2 :]] = "spikes"
    return reason


def _afm(rng: np.random.Generator, opt: SampleOptions, frames: dict, scene: Scene) -> dict:
    """Simulate every curve of the map; returns the curves and the per-curve truth arrays."""
    grid = frames["grid"]
    n = grid.shape[0] * grid.shape[1]
    position_index = np.arange(n)
    row, col = grid.index_to_rowcol(position_index)
    x, y = grid.grid_to_scanner(row, col)
    sx, sy = frames["linear"] @ np.vstack([x, y]) + frames["translation"][:, None]
    apex, tx, ty = contact_heights(scene, sx, sy, opt.geometry)
    touched = scene.fields(tx, ty)
    under = scene.fields(sx, sy)
    reason = _bad_curves(rng, n, opt)
    zc = np.where(reason == "no_contact", np.nan, apex + _PIEZO_OFFSET_M)
    layer = touched["cell_height_m"]
    thickness = np.where(layer > 0, layer, np.inf) if opt.finite_thickness else None
    curves = simulate_curves(
        rng,
        zc,
        touched["youngs_modulus_pa"],
        spring_constant_n_per_m=opt.spring_constant_n_per_m,
        setpoint_n=opt.setpoint_n,
        approach_points=opt.approach_points,
        retract_points=opt.retract_points,
        model=opt.model,
        poisson_ratio=opt.poisson_ratio,
        geometry=opt.geometry,
        artefacts=opt.artefacts,
        spiky=reason == "spikes",
        measured_height=opt.measured_height,
        thickness_m=thickness,
    )
    return {
        "position_index": position_index,
        "row": row,
        "col": col,
        "x_m": x,
        "y_m": y,
        "sample_x_m": sx,
        "sample_y_m": sy,
        "label": under["label"],
        "nucleus": touched["nucleus"],
        "youngs_modulus_pa": touched["youngs_modulus_pa"],
        "contact_height_m": apex,
        "cell_height_m": under["cell_height_m"],
        "bad_reason": reason,
        "curves": curves,
    }


def generate_sample(options: SampleOptions | None = None) -> Sample:
    """Generate a synthetic correlative dataset in memory (deterministic for ``options.seed``).

    Parameters
    ----------
    options : SampleOptions, optional
        Defaults: a 48x48 map over 90 µm with 4 cells (and 1 outside it), 1000-point
        approaches, a 3-channel 10-plane stack.

    Returns
    -------
    Sample
    """
    opt = options or SampleOptions()
    rng = np.random.default_rng(opt.seed)
    frames = _frames(rng, opt)
    scene = _scene(rng, opt, frames)
    afm = _afm(rng, opt, frames, scene)
    data, names, fluo_fields = render_stack(rng, scene, frames["fluo"], Optics(), marker=opt.marker)
    force_map = _force_map(opt, frames["grid"], afm)
    fluo = frames["fluo"]
    stack = FluorescenceStack(
        data=data,
        channel_names=names,
        pixel_size_m=(fluo.pixel_size_m, fluo.pixel_size_m),
        z_step_m=fluo.z_step_m,
        source=Path(FILE_NAMES["fluorescence"]),
        stage_position_m=fluo.origin_m,
        plane_positions_m=np.column_stack(
            [np.broadcast_to(fluo.origin_m, (fluo.shape_zyx[0], 2)), fluo.plane_heights_m]
        ),
    )
    labels = np.stack([fluo_fields["label"], fluo_fields["nucleus_label"]]).astype(np.int32)
    matrices = frame_matrices(frames)
    curves = curve_table(afm)
    cells = cell_table(scene, curves, matrices, fluo, frames["map_box"])
    truth = _truth_json(opt, frames, scene, afm, matrices, stack)
    return Sample(force_map, stack, labels, truth, cells, curves, scene)


def _force_map(opt: SampleOptions, grid: GridGeometry, afm: dict) -> ForceMap:
    curves = afm["curves"]
    n = afm["position_index"].size
    block = CurveBlock(np.arange(n), curves.approach, curves.retract)
    return ForceMap(
        path=Path(FILE_NAMES["force_map"]),
        kind="force-map",
        grid=grid,
        position_index=afm["position_index"],
        row=afm["row"],
        col=afm["col"],
        x_m=afm["x_m"],
        y_m=afm["y_m"],
        spring_constant_n_per_m=opt.spring_constant_n_per_m,
        sensitivity_m_per_v=opt.sensitivity_m_per_v,
        loader=in_memory_loader(block),
        has_measured_height=curves.approach.measured_height_m is not None,
    )


def _truth_json(opt, frames, scene, afm, matrices, stack) -> dict:
    """The global truth: options, frames, transforms and file names (JSON-ready)."""
    grid = frames["grid"]
    options = asdict(opt)
    options["geometry"] = dict(opt.geometry)
    if opt.min_cell_gap_m == SampleOptions.min_cell_gap_m:
        # recorded only when changed, so datasets made before the option existed stay identical
        del options["min_cell_gap_m"]
    if not opt.finite_thickness:  # absent = off: truths written before the option stay equal
        del options["finite_thickness"]
    return {
        "generator": "cellmech.synthetic",
        "cellmech_version": __version__,
        "seed": opt.seed,
        "options": options,
        "files": dict(FILE_NAMES),
        "afm": {
            "model": opt.model,
            "geometry": dict(opt.geometry),
            "poisson_ratio": opt.poisson_ratio,
            "spring_constant_n_per_m": opt.spring_constant_n_per_m,
            "sensitivity_m_per_v": opt.sensitivity_m_per_v,
            "setpoint_n": opt.setpoint_n,
            "grid_shape": list(grid.shape),
            "grid_center_m": list(grid.center_m),
            "grid_size_m": list(grid.size_m),
            "grid_theta_rad": grid.theta_rad,
            "back_and_forth": grid.back_and_forth,
            "piezo_start_m": afm["curves"].piezo_start_m,
            "z_length_m": afm["curves"].z_length_m,
            "piezo_offset_m": _PIEZO_OFFSET_M,
            "substrate_modulus_pa": scene.substrate_modulus_pa,
            "substrate_slope": list(scene.substrate_slope),
            "substrate_origin_m": list(scene.substrate_origin_m),
            "n_bad_curves": int(np.count_nonzero(afm["bad_reason"] != "")),
        },
        "fluorescence": {
            "shape_czyx": list(stack.shape),
            "channel_names": list(stack.channel_names),
            "pixel_size_m": stack.pixel_size_m[0],
            "z_step_m": stack.z_step_m,
            "stage_position_m": list(stack.stage_position_m),
            "plane_heights_m": frames["fluo"].plane_heights_m.tolist(),
        },
        "transform": {
            "rotation_deg": float(np.degrees(frames["rotation_rad"])),
            "scale": float(frames["scale"]),
            "reflect": opt.reflect,
            "scanner_to_sample_linear": frames["linear"].tolist(),
            "scanner_to_sample_translation_m": frames["translation"].tolist(),
            **{k: v.tolist() for k, v in matrices.items()},
        },
    }


def write_sample(sample: Sample, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write a generated sample to ``out_dir`` (created if needed); returns the paths by role.

    Every file is written atomically (temporary file, then ``os.replace``).
    """
    from cellmech.io.jpk.writer import write_jpk_force_map

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {role: out / name for role, name in FILE_NAMES.items()}
    fm = sample.force_map
    block = fm.curves()
    opts = sample.truth["options"]
    write_jpk_force_map(
        paths["force_map"],
        grid=fm.grid,
        position_index=fm.position_index,
        approach=block.approach,
        retract=block.retract,
        spring_constant_n_per_m=fm.spring_constant_n_per_m,
        sensitivity_m_per_v=fm.sensitivity_m_per_v,
        x_m=fm.x_m,
        y_m=fm.y_m,
        approach_duration_s=opts["approach_duration_s"],
        retract_duration_s=opts["approach_duration_s"],
    )
    fluo = sample.truth["fluorescence"]
    geo = FluoGeometry(
        shape_zyx=tuple(fluo["shape_czyx"][1:]),
        pixel_size_m=fluo["pixel_size_m"],
        z_step_m=fluo["z_step_m"],
        origin_m=tuple(fluo["stage_position_m"]),
        z_first_m=fluo["plane_heights_m"][0],
    )
    write_ome_tiff(
        paths["fluorescence"],
        np.asarray(sample.stack.data),
        channel_names=sample.stack.channel_names,
        geo=geo,
        stage_origin_m=geo.origin_m,
    )
    _atomic_text(paths["truth"], json.dumps(sample.truth, indent=2) + "\n")
    _atomic_text(paths["cells"], sample.cells.to_csv(index=False, float_format="%.9g"))
    _atomic_text(paths["curves"], sample.curves.to_csv(index=False, float_format="%.9g"))
    _write_labels(paths["labels"], sample.labels, geo.pixel_size_m)
    _readable(paths)
    return paths


def _atomic_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _write_labels(path: Path, labels: np.ndarray, pixel_size_m: float) -> None:
    """Labels (2, Y, X) as an ImageJ-style TIFF (cells, nuclei) with the pixel size in µm."""
    res = 1.0 / (pixel_size_m / M_PER_UM)
    with atomic_path(path) as tmp:
        tifffile.imwrite(
            tmp,
            labels.astype(np.uint16),
            imagej=True,
            resolution=(res, res),
            metadata={"axes": "CYX", "unit": "um", "Labels": ["cells", "nuclei"]},
            compression="zlib",
        )


def _readable(paths: Mapping[str, Path]) -> None:
    """Give the written files the usual permissions (temporary files are created 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    for p in paths.values():
        os.chmod(p, 0o666 & ~umask)


def make_sample_data(out_dir: str | os.PathLike, options: SampleOptions | None = None) -> dict:
    """Generate a dataset and write it to ``out_dir``; returns the written paths by role."""
    return write_sample(generate_sample(options), out_dir)
