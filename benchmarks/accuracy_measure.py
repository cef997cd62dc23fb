"""Accuracy of the measurement stage on the synthetic dataset, per seed.

Each seed generates the default synthetic sample (48x48 map over 90 µm, 1000-point approaches,
4 cells in the map and 1 outside), fits it (Hertz paraboloid with the generator's tip, the
unbiased objective ``weight_cp_m=0``), and measures it with the *true* segmentation and
registration (:mod:`cellmech.synthetic.answers`), so only the measurement and the fit are
judged. Printed per seed: cells in the map found, and the fraction of those cells whose
nucleus and cytoplasm median E lie within 5 % of the true moduli, height_max_m within 10 %
and volume_m3 within 15 % (the issue's targets: >= 90 %, >= 80 %, >= 80 %), plus the worst
relative errors.

Run: ``PYTHONPATH=. python3 benchmarks/accuracy_measure.py [--seeds 1 2 3 4 5 6]``
"""

from __future__ import annotations

import argparse

import numpy as np

from cellmech.fit import FitOptions
from cellmech.mapfit import fit_map
from cellmech.measure import measure_cells
from cellmech.synthetic import SampleOptions, generate_sample
from cellmech.synthetic.answers import truth_registration, truth_segmentation


def relative_errors(seed: int, options: SampleOptions | None = None) -> dict[str, np.ndarray]:
    """Relative errors per in-map cell: nucleus E, cytoplasm E, height_max, volume."""
    sample = generate_sample(options or SampleOptions(seed=seed))
    geometry = dict(sample.truth["afm"]["geometry"])
    result = fit_map(sample.force_map, fit_options=FitOptions(geometry=geometry, weight_cp_m=0))
    table = measure_cells(
        sample.force_map,
        result,
        truth_segmentation(sample),
        truth_registration(sample),
        sample.stack,
    ).to_frame()
    truth = sample.cells[sample.cells["in_map"]].set_index("label")
    got = table.set_index("cell_id").reindex(truth.index)
    return {
        "found": (got["n_curves"] > 0).to_numpy(),
        "nucleus": (got["youngs_modulus_nucleus_median_pa"] / truth["nucleus_modulus_pa"] - 1),
        "cytoplasm": (
            got["youngs_modulus_cytoplasm_median_pa"] / truth["cytoplasm_modulus_pa"] - 1
        ),
        "height_max": got["height_max_m"] / truth["height_max_m"] - 1,
        "volume": got["volume_m3"] / truth["volume_m3"] - 1,
    }


def _within(err, tol) -> float:
    return float(np.mean(np.abs(np.nan_to_num(np.asarray(err, float), nan=np.inf)) <= tol))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    args = parser.parse_args()
    header = "seed cells found  E_nuc<=5%  E_cyt<=5%  hmax<=10%  vol<=15%  worst: E_nuc  E_cyt"
    print(header + "   hmax    vol")
    for seed in args.seeds:
        err = relative_errors(seed)
        worst = [np.nanmax(np.abs(np.asarray(err[k], float))) for k in err if k != "found"]
        print(
            f"{seed:4d} {err['found'].size:5d} {err['found'].sum():5d}"
            f"  {_within(err['nucleus'], 0.05):9.2f}  {_within(err['cytoplasm'], 0.05):9.2f}"
            f"  {_within(err['height_max'], 0.10):9.2f}  {_within(err['volume'], 0.15):8.2f}"
            + "".join(f"  {w:+6.1%}" for w in worst)
        )


if __name__ == "__main__":
    main()
