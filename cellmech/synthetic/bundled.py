"""Where the bundled sample pair is: ``sample_data/`` of a source checkout, else the same
dataset regenerated once into the user's cache.

Wheels do not ship ``sample_data/`` (it lives beside the package, not in it). The dataset is
deterministic for :data:`~cellmech.synthetic.options.SAMPLE_DATA_OPTIONS` (a test checks that
regenerating it reproduces the shipped files' truth), so the cache holds the very same sample.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["SAMPLE_AFM_FILE", "SAMPLE_FLUORESCENCE_FILE", "sample_data_dir", "sample_tip"]

SAMPLE_AFM_FILE = "sample.jpk-force-map"
SAMPLE_FLUORESCENCE_FILE = "sample.ome.tif"


def sample_tip() -> dict:
    """The ``[fit]`` keys the sample was recorded with: ``{"model": ..., "geometry": {...}}``.

    The JPK format does not store the tip, so every consumer of the sample (``cellmech demo``,
    napari's File > Open Sample) must be told it.
    """
    from cellmech.synthetic.dataset import SAMPLE_DATA_OPTIONS

    return {"model": SAMPLE_DATA_OPTIONS.model, "geometry": dict(SAMPLE_DATA_OPTIONS.geometry)}


def _complete(folder: Path) -> bool:
    return (folder / SAMPLE_AFM_FILE).is_file() and (folder / SAMPLE_FLUORESCENCE_FILE).is_file()


def sample_data_dir() -> Path:
    """The folder holding ``sample.jpk-force-map`` and ``sample.ome.tif``.

    Looked up in order: ``sample_data/`` beside the installed package's source checkout,
    ``./sample_data`` in the working directory, then ``$XDG_CACHE_HOME/cellmech/sample_data``
    (``~/.cache/...``), generated there on first use (about a second).
    """
    for folder in (Path(__file__).resolve().parents[2] / "sample_data", Path("sample_data")):
        if _complete(folder):
            return folder.resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "cellmech" / "sample_data"
    if not _complete(folder):
        from cellmech.synthetic.dataset import SAMPLE_DATA_OPTIONS, make_sample_data

        make_sample_data(folder, SAMPLE_DATA_OPTIONS)
    return folder
