"""Accuracy of the fit defaults on synthetic truth (a script, not a test).

Generates force maps with :func:`cellmech.synthetic.generate_sample` (cells of 0.3-20 kPa on a
rigid dish, 3 % bad curves: spikes or no contact) over several seeds, noise levels (10-40 pN),
tips (spheres of 2.5-10 µm radius, or with ``--tip pyramid`` four-sided pyramids of 17.5-35°)
and setpoints (0.5-2 nN), fits them with the given preset (default:
cellmech's defaults) and prints: per stiffness decile of the cell curves (true contact on a cell,
true indentation at the setpoint >= 100 nm) the median bias and the share within 5 %; status
counts per curve class by the truth (cell, shallow cell < 100 nm, dish, no contact, spikes); spiky
curves whose E moved > 5 % with status ok; the zero-force height error on cells.

"noise limit" is the share within 5 % that an unbiased estimator with the fit's own standard
error would reach (mean over curves of P(|N(0, se)| <= 5 % E); tests/test_fit_uncertainty.py
checks that se matches the scatter over noise realisations): where the fit's within-5 % share
equals it, what is missing is information in the curve (few points in contact, noise), not
bias. "se <= 2.5 %" restricts to curves whose data could put 95 % within 5 %.

    python benchmarks/accuracy_fit.py [--preset nanite] [--seeds 4] [--approach-points 2000]
        [--tip pyramid]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import itertools

from cellmech.containers import CurveStatus
from cellmech.pipeline import PRESETS
from tests.fit_population import (
    SPRING_CONSTANT_N_PER_M,
    curve_classes,
    fit_sample,
    paraboloid,
    pyramid,
    synthetic_map,
    true_indentation,
)
from tests.oracle_fit import truth_started_fit

#: option sets compared (besides the defaults)
CANDIDATES = {
    **PRESETS,
    "unweighted": {"fit": {"weight_cp_m": 0.0}},
    "unweighted_tilt": {"fit": {"weight_cp_m": 0.0}, "preprocess": {"tilt_axis": "height"}},
    "weighted_tilt": {"fit": {"weight_cp_m": 1e-6}, "preprocess": {"tilt_axis": "height"}},
}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="", choices=["", *CANDIDATES], help="option set")
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument(
        "--approach-points",
        type=int,
        default=1000,
        help="points of a full-length approach (1000: ~9.6 nm per point; 2000: ~4.8 nm, the "
        "median spacing of the real recordings in ../shared/data/real-afm)",
    )
    p.add_argument(
        "--tip",
        default="paraboloid",
        choices=["paraboloid", "pyramid"],
        help="spherical tips of 2.5-10 µm radius (Hertz) or four-sided pyramids of 17.5-35° "
        "face angle (Bilodeau)",
    )
    p.add_argument(
        "--oracle",
        action="store_true",
        help="also fit every cell curve with the truth-started joint fits of "
        "tests/oracle_fit.py (tip position and explicit series)",
    )
    args = p.parse_args(argv)
    preset = CANDIDATES[args.preset] if args.preset else {}
    rows = []
    rng = np.random.default_rng(0)
    for seed in range(args.seeds):
        for noise in (10e-12, 20e-12, 40e-12):
            size = int(rng.integers(3))
            setpoint = float(rng.choice([0.5e-9, 1e-9, 2e-9]))
            tip = (
                paraboloid((2.5e-6, 5e-6, 10e-6)[size])
                if args.tip == "paraboloid"
                else pyramid((17.5, 25.0, 35.0)[size])
            )
            sample = synthetic_map(seed, noise, tip, setpoint, approach_points=args.approach_points)
            truth, res = sample.curves, fit_sample(sample, tip, preset)
            depth = true_indentation(truth, tip, setpoint)
            oracle = {}
            if args.oracle:
                cell = curve_classes(truth, depth)["cell"]
                block = sample.force_map.curves()
                k = SPRING_CONSTANT_N_PER_M
                oracle = {
                    f"truth-started {name} fit": truth_started_fit(
                        block, truth, tip, k, noise, cell, series
                    )
                    for name, series in (("joint", False), ("series", True))
                }
            rows.append((noise, truth, res, depth, oracle))
    report(rows)


def _summary(rel: np.ndarray, limit: np.ndarray | None = None, labelled: bool = True) -> str:
    """Curves, median bias, share within 5 % and (where ``limit`` is given) its noise limit,
    labelled or as table cells; curves without an estimate (NaN) count as outside 5 %."""
    names = ("curves", "median bias", "within 5 %", "noise limit")
    values = (
        f"{rel.size}",
        f"{np.nanmedian(rel) * 100:+.2f} %",
        f"{np.mean(np.abs(rel) <= 0.05) * 100:.1f} %",
        *([] if limit is None else [f"{np.mean(limit) * 100:.1f} %"]),
    )
    if not labelled:
        return " | ".join(values)
    return ", ".join(f"{n} {v}" for n, v in zip(names, values, strict=False))


def report(rows) -> None:
    e_true, e_fit, e_se, ok, noise_col, h_err, spiky = [], [], [], [], [], [], []
    dish_h_err = []
    e_oracle: dict[str, list] = {}
    h_oracle: dict[str, list] = {}
    counts: dict[str, dict[str, int]] = {}
    for noise, truth, res, depth, oracle in rows:
        cls = curve_classes(truth, depth)
        labels = res.status_labels
        for name, mask in cls.items():
            c = counts.setdefault(name, {})
            for lab in labels[mask]:
                c[lab] = c.get(lab, 0) + 1
        cell = cls["cell"]
        e_true.append(truth["youngs_modulus_pa"].to_numpy()[cell])
        e_fit.append(res.youngs_modulus_pa[cell])
        height = truth["contact_piezo_height_m"].to_numpy()[cell]
        for name, fitted in oracle.items():
            e_oracle.setdefault(name, []).append(fitted[0, cell])
            h_oracle.setdefault(name, []).append(fitted[1, cell] - height)
        e_se.append(res.youngs_modulus_se_pa[cell])
        ok.append(res.status[cell] == CurveStatus.OK)
        noise_col.append(np.full(cell.sum(), noise))
        h_all = res.zero_force_height_m - truth["contact_piezo_height_m"].to_numpy()
        h_err.append(h_all[cell])
        dish_h_err.append(h_all[cls["dish"] & (res.status == CurveStatus.RIGID)])
        sp = cls["spikes"]
        moved = np.abs(res.youngs_modulus_pa[sp] / truth["youngs_modulus_pa"].to_numpy()[sp] - 1)
        spiky.append(((res.status[sp] == CurveStatus.OK) & ~(moved <= 0.05)).sum())
    et, ef, okk = np.concatenate(e_true), np.concatenate(e_fit), np.concatenate(ok)
    se, nz, he = np.concatenate(e_se), np.concatenate(noise_col), np.concatenate(h_err)
    rel = ef / et - 1
    limit = 2 * norm.cdf(0.05 * et / se) - 1  # P(within 5 %) of an unbiased estimate
    resolvable = se <= 0.025 * et
    print(f"cell curves: {et.size}, status ok: {okk.sum()}")
    edges = np.unique(np.quantile(et, np.linspace(0, 1, 11)))
    print("| stiffness decile (kPa) | curves | median bias | within 5 % | noise limit |")
    print("| --- | --- | --- | --- | --- |")
    for lo, hi in itertools.pairwise(edges):
        m = (et >= lo) & ((et < hi) | (hi == edges[-1])) & okk  # half-open, the last closed
        print(f"| {lo / 1e3:.2f}-{hi / 1e3:.2f} | {_summary(rel[m], limit[m], labelled=False)} |")
    for noise in np.unique(nz):
        m = (nz == noise) & okk
        print(f"noise {noise * 1e12:.0f} pN: {_summary(rel[m], limit[m])}")
    print(f"all ok cell curves: {_summary(rel[okk], limit[okk])}")
    m = okk & resolvable
    print(f"ok cell curves with se <= 2.5 %: {_summary(rel[m], limit[m])}")
    for name in e_oracle:
        rel_oracle = np.concatenate(e_oracle[name]) / et - 1
        for noise in np.unique(nz):
            m = (nz == noise) & okk
            print(f"noise {noise * 1e12:.0f} pN, {name}: {_summary(rel_oracle[m])}")
        print(f"all ok cell curves, {name}: {_summary(rel_oracle[okk])}")
        h_abs = np.nanmedian(np.abs(np.concatenate(h_oracle[name])[okk])) * 1e9
        print(f"zero-force height on ok cell curves, {name}: median |error| {h_abs:.2f} nm")
    h_cells = np.median(np.abs(he[okk])) * 1e9
    print(f"zero-force height on ok cell curves: median |error| {h_cells:.2f} nm")
    dh = np.abs(np.concatenate(dish_h_err)) * 1e9
    print(
        f"zero-force height on rigid dish curves: median |error| {np.median(dh):.2f} nm, "
        f"p99 {np.percentile(dh, 99):.2f} nm, max {dh.max():.2f} nm"
    )
    print(f"spiky curves with E moved > 5 % and status ok: {sum(spiky)}")
    for name, c in counts.items():
        total = sum(c.values())
        print(f"{name:10s} ({total:5d}): " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))


if __name__ == "__main__":
    main()
