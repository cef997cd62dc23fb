"""File > Open Sample > cellmech: the bundled synthetic correlative pair.

In a source checkout the files are ``sample_data/`` next to ``plugins/``. Wheels do not ship
them (they live outside the package); there the same dataset is regenerated once from
:data:`cellmech.synthetic.SAMPLE_DATA_OPTIONS` (deterministic, about a second) into a cache
folder (``$XDG_CACHE_HOME/cellmech/sample_data``, else ``~/.cache/...``).
"""

from __future__ import annotations

import os
from pathlib import Path

from napari_cellmech import _layers

__all__ = ["make_sample_data", "sample_folder"]

AFM_FILE = "sample.jpk-force-map"
FLUORESCENCE_FILE = "sample.ome.tif"


def sample_folder() -> Path:
    """The folder holding the sample pair (generated into the cache when not bundled)."""
    bundled = Path(__file__).resolve().parents[2] / "sample_data"
    if (bundled / AFM_FILE).is_file() and (bundled / FLUORESCENCE_FILE).is_file():
        return bundled
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    folder = cache / "cellmech" / "sample_data"
    if not (folder / AFM_FILE).is_file() or not (folder / FLUORESCENCE_FILE).is_file():
        from cellmech.synthetic import SAMPLE_DATA_OPTIONS
        from cellmech.synthetic import make_sample_data as write

        write(folder, SAMPLE_DATA_OPTIONS)
    return folder


def make_sample_data() -> list[_layers.LayerData]:
    """The fluorescence channels and the AFM height-at-setpoint map of the sample pair."""
    from napari_cellmech._reader import read_afm, read_tiff

    folder = sample_folder()
    return read_tiff(str(folder / FLUORESCENCE_FILE)) + read_afm(str(folder / AFM_FILE))
