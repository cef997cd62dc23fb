"""The Dask path equals the NumPy path exactly, whatever the chunking and the scheduler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cellmech.containers import CurveStatus, FitResult
from cellmech.fit import FitOptions
from cellmech.io import read_force_map
from cellmech.mapfit import fit_map
from cellmech.parallel import MapSource, chunk_indices, fit_force_map
from cellmech.preprocess import PreprocessOptions
from tests.helpers import SMALL_GRID, write_small_map


@pytest.fixture(scope="module")
def small_map(tmp_path_factory) -> Path:
    return write_small_map(tmp_path_factory.mktemp("map") / "small.jpk-force-map")


@pytest.fixture(scope="module")
def reference(small_map) -> FitResult:
    return fit_map(read_force_map(small_map), block_size=10)


def assert_same(a: FitResult, b: FitResult) -> None:
    """Bitwise equality of every field (NaN where the other has NaN)."""
    np.testing.assert_array_equal(a.curve_index, b.curve_index)
    np.testing.assert_array_equal(a.status, b.status)
    for name in FitResult.FLOAT_FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.model == b.model and dict(a.parameters) == dict(b.parameters)


def test_reference_is_a_real_fit(reference):
    assert reference.n_curves == 44
    np.testing.assert_array_equal(reference.curve_index, np.arange(44))
    ok = reference.status == CurveStatus.OK
    assert ok.sum() >= 40
    assert np.all(
        (reference.youngs_modulus_pa[ok] > 0.8e3) & (reference.youngs_modulus_pa[ok] < 6e3)
    )
    assert reference.status[5] != CurveStatus.OK  # the curve that never touches


@pytest.mark.parametrize("chunks", [(1, 1), (3, 5), (7, 2), SMALL_GRID, (2, 8), 7, None])
def test_threads_equal_numpy_for_any_chunking(small_map, reference, chunks):
    assert_same(fit_force_map(small_map, chunks=chunks, scheduler="threads", workers=2), reference)


def test_same_chunks_are_bitwise_equal_on_every_scheduler(small_map):
    a = fit_force_map(small_map, chunks=(3, 5), scheduler="numpy")
    assert_same(fit_force_map(small_map, chunks=(3, 5), scheduler="threads"), a)
    assert_same(fit_force_map(small_map, chunks=(3, 5), scheduler="synchronous"), a)


@pytest.mark.parametrize("scheduler", ["synchronous", "numpy"])
def test_local_schedulers_equal_numpy(small_map, reference, scheduler):
    assert_same(fit_force_map(small_map, chunks=(3, 5), scheduler=scheduler), reference)


def test_processes_reopen_the_file_in_each_worker(small_map, reference):
    fm = read_force_map(small_map)
    assert_same(fit_force_map(fm, chunks=(4, 3), scheduler="processes", workers=2), reference)


def test_distributed_client(small_map, reference):
    import distributed

    with (
        distributed.LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        done = []
        result = fit_force_map(small_map, chunks=(7, 2), scheduler=client, progress=done.append)
        by_address = fit_force_map(small_map, chunks=(3, 5), scheduler=cluster.scheduler_address)
    assert_same(result, reference)
    assert_same(by_address, reference)
    assert sum(done) == reference.n_curves


def test_progress_counts_every_curve_once(small_map):
    done = []
    fit_force_map(small_map, chunks=(2, 3), progress=done.append)
    assert sum(done) == 44 and len(done) == len(chunk_indices(read_force_map(small_map), (2, 3)))


def test_options_reach_the_stages(small_map):
    fit = FitOptions(geometry={"tip_radius_m": 2.5e-6})
    pre = PreprocessOptions(smooth_window=3)
    a = fit_force_map(small_map, preprocess_options=pre, fit_options=fit, chunks=(3, 3))
    b = fit_map(read_force_map(small_map), preprocess_options=pre, fit_options=fit)
    assert_same(a, b)
    default = fit_map(read_force_map(small_map))
    ok = (a.status == CurveStatus.OK) & (default.status == CurveStatus.OK)
    # E scales with R^-1/2 for a paraboloid: a 4x smaller radius gives ~2x the modulus
    ratio = np.median(a.youngs_modulus_pa[ok] / default.youngs_modulus_pa[ok])
    assert ratio == pytest.approx(2.0, rel=0.05)


def test_chunks_cover_every_curve_once(small_map):
    fm = read_force_map(small_map)
    for chunks in [(1, 1), (3, 5), (7, 2), SMALL_GRID, 5, None]:
        parts = chunk_indices(fm, chunks)
        np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(fm.n_curves))
        if isinstance(chunks, tuple):
            for idx in parts:  # one grid tile per chunk
                assert np.unique(fm.row[idx] // chunks[0]).size == 1
                assert np.unique(fm.col[idx] // chunks[1]).size == 1


def test_bad_arguments(small_map):
    from cellmech.errors import ConfigError

    with pytest.raises(ConfigError, match="scheduler"):
        fit_force_map(small_map, scheduler="gpu")
    with pytest.raises(ConfigError, match="chunks"):
        fit_force_map(small_map, chunks=(0, 2))


def test_map_source_is_small_and_reopens(small_map):
    import pickle

    fm = read_force_map(small_map)
    source = MapSource.from_force_map(fm)
    assert len(pickle.dumps(source)) < 1000
    assert source.open().n_curves == fm.n_curves
    assert source.open() is source.open()  # cached per process


def test_empty_map_is_a_named_error(small_map):
    import dataclasses

    from cellmech.errors import NoCurvesError

    fm = read_force_map(small_map)
    empty = dataclasses.replace(
        fm, position_index=[], row=[], col=[], x_m=[], y_m=[], loader=fm.loader
    )
    with pytest.raises(NoCurvesError, match=r"small\.jpk-force-map"):
        fit_map(empty)
    with pytest.raises(NoCurvesError, match="no force curve"):
        fit_force_map(empty)


def test_unreachable_scheduler_is_one_clean_error(small_map, monkeypatch):
    import cellmech.parallel as parallel
    from cellmech.errors import CellmechError

    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(CellmechError, match=r"no Dask scheduler answered at tcp://127.0.0.1:9"):
        fit_force_map(small_map, scheduler="tcp://127.0.0.1:9")
