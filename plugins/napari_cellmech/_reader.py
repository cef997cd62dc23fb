"""napari readers: AFM maps, cellmech output folders and cellmech OME-TIFFs.

``get_reader(path)`` returns a reader function for what cellmech handles and None for
anything else; it never raises. A reader function that fails on a file it accepted reports
the one-line cellmech error as a napari notification and returns no layers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cellmech.errors import CellmechError
from cellmech.gridmaps import MAP_QUANTITIES
from cellmech.io import read_fluorescence
from napari_cellmech import _layers

__all__ = ["get_reader", "read_afm", "read_output_folder", "read_tiff"]

AFM_SUFFIXES = (".jpk-force-map", ".jpk-qi-data", ".jpk-force")
TIFF_SUFFIXES = (".ome.tif", ".ome.tiff")
#: channel names of a labels OME-TIFF written by ``cellmech run`` / ``cellmech segment``
LABEL_CHANNELS = ("cells", "nuclei", "cell_labels", "nucleus_labels")
#: planes of ``maps/afm_grid.ome.tif`` beside the fit quantities (``cellmech run``)
RUN_MAP_PLANES = ("height_above_substrate_m", "cell_id")
#: the AFM-grid maps of a ``cellmech fit`` and of a ``cellmech run`` folder
AFM_MAP_FILES = ("maps.ome.tif", "maps/afm_grid.ome.tif")
#: the maps resampled onto the fluorescence grid (``cellmech run``)
FLUORESCENCE_MAP_FILE = "maps/fluorescence_frame.ome.tif"

Reader = Callable[[str], list[_layers.LayerData]]


def get_reader(path: str | list[str]) -> Reader | None:
    """The reader for ``path`` (one path, or a list holding one path), or None."""
    try:
        if isinstance(path, list | tuple):
            if len(path) != 1:
                return None
            path = path[0]
        p = Path(path)
        name = p.name.lower()
        if name.endswith(AFM_SUFFIXES) and p.is_file():
            return _guarded(read_afm)
        if (p.is_dir() and (p / "run.json").is_file()) or (name == "run.json" and p.is_file()):
            return _guarded(read_output_folder)
        if name.endswith(TIFF_SUFFIXES) and p.is_file():
            return _guarded(read_tiff)
    except Exception:
        return None
    return None


def _guarded(reader: Reader) -> Reader:
    """``reader`` with cellmech errors shown as napari notifications instead of raised."""

    def read(path: str | list[str]) -> list[_layers.LayerData]:
        p = path[0] if isinstance(path, list | tuple) else path
        try:
            return reader(p)
        except (CellmechError, OSError, ValueError) as exc:
            from napari.utils.notifications import show_error

            show_error(f"cellmech could not open {p}: {exc}")
            return []

    read.__doc__ = reader.__doc__
    return read


def read_afm(path: str) -> list[_layers.LayerData]:
    """An AFM file as one image layer: the height at the end of each approach, in µm."""
    from cellmech.io import read_force_map
    from napari_cellmech._afm import approach_end_height

    force_map = read_force_map(path)
    height = approach_end_height(force_map)
    name = f"{Path(path).name} height at setpoint (µm)"
    return [_layers.height_layer(force_map, height, name=name, kind="height_at_setpoint")]


def read_output_folder(path: str) -> list[_layers.LayerData]:
    """Every layer of a ``cellmech fit``/``cellmech run`` output folder.

    ``cellmech run``: the fluorescence channels (when the input stack is still where
    ``run.json`` says), the cell and nucleus labels and the maps resampled onto the
    fluorescence grid (hidden) in the fluorescence stage frame, and the AFM-grid maps placed
    with ``registration.json``. ``cellmech fit``: the maps in the AFM scanner frame.
    """
    folder = Path(path)
    folder = folder.parent if folder.name == "run.json" else folder
    report = json.loads((folder / "run.json").read_text())
    stack = _input_stack(report)
    origin = (stack.stage_position_m or (0.0, 0.0)) if stack is not None else (0.0, 0.0)
    layers: list[_layers.LayerData] = []
    if stack is not None:
        layers += _layers.fluorescence_layers(stack)
    for labels in sorted(folder.glob("labels*.ome.tif")):
        layers += read_tiff(str(labels), origin)
    resampled = folder / FLUORESCENCE_MAP_FILE
    if resampled.is_file():
        planes = read_fluorescence(resampled)
        to_world = _layers.pixel_to_world(planes.pixel_size_m, origin)
        for data, kwargs, kind in _maps_layers(resampled, to_world, planes):
            name = f"{kwargs['name']} (fluorescence grid)"
            layers.append((data, kwargs | {"name": name, "visible": False}, kind))
    afm_to_world = _output_afm_to_world(folder, report)
    for name in AFM_MAP_FILES:
        if (folder / name).is_file():
            layers += _maps_layers(folder / name, afm_to_world)
    return layers


def _input_stack(report: dict) -> Any:
    """The run's fluorescence stack, if its file is still where ``run.json`` says."""
    source = Path(report.get("fluorescence", {}).get("path", ""))
    if not source.is_file():
        return None
    try:
        return read_fluorescence(source)
    except CellmechError:
        return None


def read_tiff(path: str, origin_m: Any = None) -> list[_layers.LayerData]:
    """A cellmech OME-TIFF: grid maps as images, labels as Labels, a fluorescence stack as
    one image per channel, all placed at their physical pixel size and stage position
    (``origin_m``, the stage ``(x, y)`` of pixel (0, 0), overrides the file's: label files
    record no stage position)."""
    stack = read_fluorescence(Path(path))
    names = stack.channel_names
    if set(names) <= set(MAP_QUANTITIES) | set(RUN_MAP_PLANES):
        return _maps_layers(Path(path), None, stack)
    if set(names) <= set(LABEL_CHANNELS):
        origin = origin_m if origin_m is not None else (stack.stage_position_m or (0.0, 0.0))
        data = np.asarray(stack.data)[:, 0]
        return [
            _layers.labels_layer(plane, stack.pixel_size_m, origin, name=name.replace("_", " "))
            for plane, name in zip(data, names, strict=True)
        ]
    return _layers.fluorescence_layers(stack)


def _maps_layers(path: Path, afm_to_world: np.ndarray | None, stack: Any = None):
    """Layers of a ``maps.ome.tif``; without a known grid placement, the pixel size only."""
    if stack is None:
        stack = read_fluorescence(path)
    if afm_to_world is None:
        afm_to_world = _layers.pixel_to_world(stack.pixel_size_m, (0.0, 0.0))
    planes = np.asarray(stack.data)[:, 0]
    return _layers.output_maps_layers(
        planes, stack.channel_names, afm_to_world, {"kind": "output_map", "path": str(path)}
    )


def _output_afm_to_world(folder: Path, report: dict) -> np.ndarray | None:
    """AFM pixel -> world µm of an output folder: the grid of the input file (still readable
    at the path run.json names) composed with ``registration.json`` when present."""
    source = Path(report.get("input", {}).get("path", ""))
    if not source.is_file():
        return None
    from cellmech.io import read_force_map

    try:
        grid = read_force_map(source).grid
    except CellmechError:
        return None
    registration = folder / "registration.json"
    afm_m_to_world_m = None
    if registration.is_file():
        afm_m_to_world_m = np.array(
            json.loads(registration.read_text())["afm_m_to_fluorescence_m"], float
        )
    return _layers.afm_to_world(grid, afm_m_to_world_m)
