"""Containers validate on construction, are immutable and handle ragged curves."""

from __future__ import annotations

import numpy as np
import pytest

from cellmech.containers import (
    CurveBlock,
    CurveSegment,
    CurveStatus,
    FitResult,
    FluorescenceStack,
    ForceMap,
    GridGeometry,
    in_memory_loader,
)


def _ragged_segment() -> CurveSegment:
    curves = [
        {"height_m": np.linspace(1e-6, 0, n), "force_n": np.linspace(0, 1e-9, n)} for n in (5, 3, 7)
    ]
    return CurveSegment.from_curves(curves)


def test_segment_pads_ragged_curves_with_nan():
    seg = _ragged_segment()
    assert seg.height_m.shape == (3, 7)
    np.testing.assert_array_equal(seg.n_points, [5, 3, 7])
    assert np.isnan(seg.height_m[1, 3:]).all()
    assert np.isfinite(seg.height_m[1, :3]).all()
    np.testing.assert_array_equal(seg.mask.sum(axis=1), [5, 3, 7])
    assert len(seg.curve(1)["force_n"]) == 3


def test_segment_take_trims_to_longest_selected_curve():
    sub = _ragged_segment().take([1, 0])
    assert sub.height_m.shape == (2, 5)
    np.testing.assert_array_equal(sub.n_points, [3, 5])


def test_segment_is_read_only_and_validated():
    seg = _ragged_segment()
    with pytest.raises(ValueError, match="read-only"):
        seg.force_n[0, 0] = 1.0
    with pytest.raises(ValueError, match="height_m has shape"):
        CurveSegment(height_m=np.zeros((2, 3)), force_n=np.zeros((2, 4)), n_points=[3, 3])
    with pytest.raises(ValueError, match="needs height_m, measured_height_m or both"):
        CurveSegment(height_m=None, force_n=np.zeros((2, 3)), n_points=[3, 3])
    only_measured = CurveSegment(
        height_m=None, force_n=np.zeros((2, 3)), n_points=[3, 2], measured_height_m=np.ones((2, 3))
    )
    assert set(only_measured.curve(1)) == {"force_n", "measured_height_m"}
    assert only_measured.take([1]).height_m is None


def test_containers_adopt_read_only_arrays_and_copy_writeable_ones():
    handed_over = np.zeros((2, 3))
    handed_over.flags.writeable = False
    mine = np.zeros((2, 3))
    seg = CurveSegment(height_m=mine, force_n=handed_over, n_points=[3, 3])
    assert seg.force_n is handed_over
    assert seg.height_m is not mine and not np.shares_memory(seg.height_m, mine)
    mine[0, 0] = 1.0
    assert seg.height_m[0, 0] == 0.0
    with pytest.raises(ValueError, match="n_points"):
        CurveSegment(height_m=np.zeros((2, 3)), force_n=np.zeros((2, 3)), n_points=[3, 4])


def test_grid_geometry_pixel_centres_rotation_and_meander():
    g = GridGeometry(shape=(2, 4), center_m=(10e-6, 0), size_m=(40e-6, 20e-6))
    x, y = g.pixel_centres_m()
    np.testing.assert_allclose(x[0], 10e-6 + np.array([-15, -5, 5, 15]) * 1e-6)
    np.testing.assert_allclose(y[:, 0], [-5e-6, 5e-6])
    assert g.pixel_size_m == (10e-6, 10e-6)
    rot = GridGeometry(shape=(1, 2), center_m=(0, 0), size_m=(2.0, 1.0), theta_rad=np.pi / 2)
    xr, yr = rot.pixel_centres_m()
    np.testing.assert_allclose(xr, [[0, 0]], atol=1e-12)
    np.testing.assert_allclose(yr, [[-0.5, 0.5]])
    meander = GridGeometry(shape=(2, 3), center_m=(0, 0), size_m=(1, 1), back_and_forth=True)
    row, col = meander.index_to_rowcol(np.arange(6))
    np.testing.assert_array_equal(row, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(col, [0, 1, 2, 2, 1, 0])
    with pytest.raises(ValueError):
        GridGeometry(shape=(0, 3), center_m=(0, 0), size_m=(1, 1))


def _force_map(k: float = 0.02) -> ForceMap:
    block = CurveBlock(curve_index=np.arange(3), approach=_ragged_segment())
    return ForceMap(
        path="x.jpk-force-map",
        kind="force-map",
        grid=GridGeometry(shape=(2, 2), center_m=(0, 0), size_m=(1e-5, 1e-5)),
        position_index=[0, 1, 3],
        row=[0, 0, 1],
        col=[0, 1, 1],
        x_m=[np.nan] * 3,
        y_m=[np.nan] * 3,
        spring_constant_n_per_m=k,
        sensitivity_m_per_v=np.nan,
        loader=in_memory_loader(block),
    )


def test_force_map_loads_blocks_in_order():
    fm = _force_map()
    assert fm.n_curves == 3
    blocks = list(fm.iter_blocks(2))
    assert [b.n_curves for b in blocks] == [2, 1]
    np.testing.assert_array_equal(blocks[1].approach.n_points, [7])
    np.testing.assert_array_equal(fm.curves([2, 0]).curve_index, [2, 0])
    with pytest.raises(IndexError):
        fm.curves([3])


def test_force_map_rejects_bad_calibration_and_geometry():
    with pytest.raises(ValueError, match="spring constant"):
        _force_map(k=0.0)
    with pytest.raises(ValueError, match="kind"):
        ForceMap(**{**_force_map().__dict__, "kind": "creep"})


def test_fluorescence_stack_validation():
    data = np.zeros((2, 1, 4, 5), np.uint16)
    st = FluorescenceStack(data, ("a", "b"), (1e-7, 1e-7), np.nan, "s.ome.tif")
    assert st.shape == (2, 1, 4, 5)
    assert not st.data.flags.writeable
    with pytest.raises(ValueError, match="channel names"):
        FluorescenceStack(data, ("a",), (1e-7, 1e-7), np.nan, "s.ome.tif")
    with pytest.raises(ValueError, match="empty"):
        FluorescenceStack(np.zeros((1, 0, 4, 4)), ("a",), (1e-7, 1e-7), np.nan, "s")
    with pytest.raises(ValueError, match="pixel size"):
        FluorescenceStack(data, ("a", "b"), (0, 1e-7), np.nan, "s.ome.tif")


def _fit_result(n: int, model: str = "hertz_paraboloidal") -> FitResult:
    return FitResult(
        curve_index=np.arange(n),
        **{f: np.full(n, 1.0) for f in FitResult.FLOAT_FIELDS},
        status=np.zeros(n),
        model=model,
    )


def test_fit_result_concatenates_and_labels_status():
    a = _fit_result(2)
    b = FitResult(**{**_fit_result(1).__dict__, "status": [CurveStatus.POOR_FIT]})
    joined = FitResult.concatenate([a, b])
    assert joined.n_curves == 3
    assert list(joined.status_labels) == ["ok", "ok", "poor_fit"]
    with pytest.raises(ValueError, match="different models"):
        FitResult.concatenate([a, _fit_result(1, "hertz_conical")])
    with pytest.raises(ValueError, match="status codes"):
        FitResult(**{**a.__dict__, "status": [0, 9]})


def test_status_codes_are_checked_and_counted():
    from cellmech.containers.status import check_status_codes, status_counts

    check_status_codes(np.array([0, 7, 6, 0], np.int8))
    check_status_codes(np.array([], np.int8))
    for bad in ([0, -1], [8], [0, 127]):
        with pytest.raises(ValueError, match="status codes"):
            check_status_codes(np.array(bad, np.int8))
    counts = status_counts(np.array([0, 0, 6, 1], np.int8))
    assert counts == {s.label: {0: 2, 6: 1, 1: 1}.get(int(s), 0) for s in CurveStatus}
