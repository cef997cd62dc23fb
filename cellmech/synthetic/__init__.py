"""The synthetic correlative AFM + fluorescence dataset generator, with its ground truth.

Modules: :mod:`.options` (what to generate), :mod:`.scene` (adherent cells), :mod:`.afm`
(force curves over the scene), :mod:`.fluo` (the fluorescence stack), :mod:`.truth` (truth
tables) and :mod:`.dataset` (the whole sample: generate and write).
"""

from cellmech.synthetic.bundled import sample_data_dir, sample_tip
from cellmech.synthetic.dataset import (
    FILE_NAMES,
    SAMPLE_DATA_OPTIONS,
    Sample,
    SampleOptions,
    generate_sample,
    make_sample_data,
    write_sample,
)

__all__ = [
    "FILE_NAMES",
    "SAMPLE_DATA_OPTIONS",
    "Sample",
    "SampleOptions",
    "generate_sample",
    "make_sample_data",
    "sample_data_dir",
    "sample_tip",
    "write_sample",
]
