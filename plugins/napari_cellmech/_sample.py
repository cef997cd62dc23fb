"""File > Open Sample > cellmech: the bundled synthetic correlative pair.

The files come from :func:`cellmech.synthetic.sample_data_dir` (``sample_data/`` of a source
checkout, else the same dataset regenerated once into the user's cache).
"""

from __future__ import annotations

from napari_cellmech import _layers

__all__ = ["make_sample_data"]


def make_sample_data() -> list[_layers.LayerData]:
    """The fluorescence channels and the AFM height-at-setpoint map of the sample pair."""
    from cellmech.synthetic import sample_data_dir
    from cellmech.synthetic.bundled import SAMPLE_AFM_FILE, SAMPLE_FLUORESCENCE_FILE
    from napari_cellmech._reader import read_afm, read_tiff

    folder = sample_data_dir()
    return read_tiff(str(folder / SAMPLE_FLUORESCENCE_FILE)) + read_afm(
        str(folder / SAMPLE_AFM_FILE)
    )
