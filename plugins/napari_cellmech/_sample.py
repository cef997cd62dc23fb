"""File > Open Sample > cellmech: the bundled synthetic correlative pair.

The files come from :func:`cellmech.synthetic.sample_data_dir` (``sample_data/`` of a source
checkout, else the same dataset regenerated once into the user's cache).
"""

from __future__ import annotations

from napari_cellmech import _layers

__all__ = ["make_sample_data"]


def make_sample_data() -> list[_layers.LayerData]:
    """The fluorescence channels and the AFM height-at-setpoint map of the sample pair.

    The AFM layer's ``metadata["cellmech"]["fit"]`` holds the tip the sample was recorded with
    (the file does not store it); the dock widget fills its tip fields from it.
    """
    from cellmech.synthetic import sample_data_dir, sample_tip
    from cellmech.synthetic.bundled import SAMPLE_AFM_FILE, SAMPLE_FLUORESCENCE_FILE
    from napari_cellmech._reader import read_afm, read_tiff

    folder = sample_data_dir()
    afm = read_afm(str(folder / SAMPLE_AFM_FILE))
    for _, kwargs, _ in afm:
        kwargs["metadata"]["cellmech"]["fit"] = sample_tip()
    return read_tiff(str(folder / SAMPLE_FLUORESCENCE_FILE)) + afm
