"""No grid shape breaks `cellmech fit` or its maps (a trailing axis of 3 or 4 columns was once
read back as colour samples by tifffile and crashed the writer)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from cellmech.cli import main
from cellmech.containers import GridGeometry
from cellmech.gridmaps import MAP_QUANTITIES
from cellmech.io.jpk.writer import write_jpk_force_map
from tests.helpers import SENS, K, synthetic_segments

SHAPES = [(r, c) for r in range(1, 6) for c in range(1, 6)] + [(2, 7), (7, 3), (1, 9)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_fit_writes_maps_of_every_grid_shape(tmp_path, shape):
    rows, cols = shape
    n = rows * cols
    approach, retract = synthetic_segments(n=n, seed=rows * 10 + cols)
    grid = GridGeometry(shape, (0.0, 0.0), (3e-6 * cols, 3e-6 * rows))
    path = write_jpk_force_map(
        tmp_path / "m.jpk-force-map",
        grid=grid,
        position_index=np.arange(n),
        approach=approach,
        retract=retract,
        spring_constant_n_per_m=K,
        sensitivity_m_per_v=SENS,
    )
    out = tmp_path / "out"
    assert main(["fit", str(path), "-o", str(out), "-q"]) == 0
    maps = tifffile.imread(out / "maps.ome.tif")
    assert maps.shape == (len(MAP_QUANTITIES), rows, cols)
    status = maps[list(MAP_QUANTITIES).index("status")]
    assert np.all(np.isfinite(status))  # every grid cell holds a curve
