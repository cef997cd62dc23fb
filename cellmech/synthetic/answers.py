"""The true segmentation and registration of a synthetic sample, as stage containers.

Tests and benchmarks of the stages after segmentation and registration (measurement, outputs,
the napari plugin) use them to measure those stages alone, without the errors of the real
segmentation and registration.
"""

from __future__ import annotations

import numpy as np

from cellmech.containers import Registration, Segmentation
from cellmech.synthetic.dataset import Sample

__all__ = ["truth_registration", "truth_segmentation"]


def truth_segmentation(sample: Sample) -> Segmentation:
    """The generator's cell and nucleus labels on the fluorescence pixel grid."""
    return Segmentation(
        cell_labels=sample.labels[0],
        nucleus_labels=sample.labels[1],
        pixel_size_m=sample.stack.pixel_size_m,
        origin_m=sample.stack.stage_position_m,
        method="truth",
        source=str(sample.stack.source),
    )


def truth_registration(sample: Sample) -> Registration:
    """The true AFM -> fluorescence transform (error 0, accepted)."""
    tr = sample.truth["transform"]
    scanner_to_sample = np.eye(3)
    scanner_to_sample[:2, :2] = tr["scanner_to_sample_linear"]
    scanner_to_sample[:2, 2] = tr["scanner_to_sample_translation_m"]
    return Registration(
        afm_px_to_fluorescence_px=np.asarray(tr["afm_px_to_fluo_px"]),
        afm_m_to_fluorescence_m=scanner_to_sample,
        method="truth",
        error_estimate_m=0.0,
        accepted=True,
        reason="ground truth of the synthetic sample",
    )
