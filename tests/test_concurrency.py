"""Two fits running at once in threads give exactly the tables of sequential runs.

No process-wide lock, pool or setting is shared between them: each call carries its own thread
policy (numba threads set per thread, decoder pool owned by the call).
"""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from cellmech.fit import FitOptions
from cellmech.io import read_force_map
from cellmech.kernels.jit import THREADSAFE
from cellmech.mapfit import fit_map
from cellmech.outputs import curve_table
from cellmech.runtime import RunOptions, ThreadPolicy
from tests.helpers import write_small_map

POLICY = ThreadPolicy(kernel_threads=1, decoder_threads=1)


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    folder = tmp_path_factory.mktemp("maps")
    return [write_small_map(folder / f"m{seed}.jpk-force-map", seed=seed) for seed in (1, 2)]


def _table(path, fit_options) -> pd.DataFrame:
    fm = read_force_map(path)
    return curve_table(fm, fit_map(fm, fit_options=fit_options, threads=POLICY))


def test_numba_threading_layer_is_thread_safe():
    assert THREADSAFE, "a thread-safe numba threading layer (omp or tbb) must be available"


def test_two_concurrent_fits_equal_sequential_runs(maps):
    options = [FitOptions(), FitOptions(model="hertz_conical", geometry={"half_angle_deg": 20})]
    sequential = [_table(path, opt) for path, opt in zip(maps, options, strict=True)]
    results: dict[int, pd.DataFrame] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(3):  # overlap several blocks of both fits
                results[i] = _table(maps[i], options[i])
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i in range(2):
        pd.testing.assert_frame_equal(results[i], sequential[i], check_exact=True)
    assert not sequential[0]["youngs_modulus_pa"].equals(sequential[1]["youngs_modulus_pa"])


def test_thread_policy_is_per_thread():
    import numba

    from cellmech.runtime import using_threads

    before = numba.get_num_threads()
    seen = []

    def inside() -> None:
        with using_threads(ThreadPolicy(kernel_threads=1, decoder_threads=1)):
            seen.append(numba.get_num_threads())

    t = threading.Thread(target=inside)
    t.start()
    t.join()
    assert seen == [1]
    assert numba.get_num_threads() == before  # the main thread was never touched


def test_run_options_share_cores_among_workers():
    policy = RunOptions(scheduler="threads", workers=2, threads_per_worker=None).thread_policy()
    assert policy.kernel_threads >= 1 and policy.decoder_threads == policy.kernel_threads
    assert RunOptions(threads_per_worker=3).thread_policy() == ThreadPolicy(3, 3)
    assert RunOptions(scheduler="tcp://h:1").thread_policy() == ThreadPolicy(1, 1)
