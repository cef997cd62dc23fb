"""Accuracy of the fit defaults on synthetic truth (a script, not a test).

Generates force maps with :func:`cellmech.synthetic.generate_sample` (cells of 0.3-20 kPa on a
rigid dish, 1 % bad curves: spikes or no contact) over several seeds, noise levels (10-40 pN),
tip radii (2.5-10 µm) and setpoints (0.5-2 nN), fits them with the given preset (default:
cellmech's defaults) and prints: per stiffness decile of the cell curves (true contact on a cell,
true indentation at the setpoint >= 100 nm) the median bias and the share within 5 %; status
counts per curve class by the truth (cell, shallow cell < 100 nm, dish, no contact, spikes); spiky
curves whose E moved > 5 % with status ok; the zero-force height error on cells.

    python benchmarks/accuracy_fit.py [--preset nanite] [--seeds 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import itertools

from cellmech.containers import CurveStatus
from cellmech.fit import FitOptions, fit_curves
from cellmech.pipeline import PRESETS
from cellmech.preprocess import PreprocessOptions, preprocess
from cellmech.synthetic import SampleOptions, generate_sample

#: option sets compared (besides the defaults)
CANDIDATES = {
    **PRESETS,
    "unweighted": {"fit": {"weight_cp_m": 0.0}},
    "unweighted_tilt": {"fit": {"weight_cp_m": 0.0}, "preprocess": {"tilt_axis": "height"}},
    "weighted_tilt": {"fit": {"weight_cp_m": 1e-6}, "preprocess": {"tilt_axis": "height"}},
}


def run_one(seed: int, noise_n: float, radius_m: float, setpoint_n: float, preset: dict):
    k = 0.05
    opts = SampleOptions(
        seed=seed,
        grid_shape=(32, 32),
        map_size_m=80e-6,
        n_cells=4,
        geometry={"tip_radius_m": radius_m},
        spring_constant_n_per_m=k,
        setpoint_n=setpoint_n,
        approach_points=1000,
        retract_points=50,
        deflection_noise_m=noise_n / k,
        bad_fraction=0.03,
        fluo_z_planes=2,
        marker=False,
    )
    sample = generate_sample(opts)
    fm = sample.force_map
    pre = PreprocessOptions(**preset.get("preprocess", {}))
    fit = FitOptions(geometry={"tip_radius_m": radius_m}, **preset.get("fit", {}))
    curves = preprocess(fm.curves(), fm.spring_constant_n_per_m, pre)
    res = fit_curves(curves, fit)
    truth = sample.curves
    return truth, res


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="", choices=["", *CANDIDATES], help="option set")
    p.add_argument("--seeds", type=int, default=4)
    args = p.parse_args(argv)
    preset = CANDIDATES[args.preset] if args.preset else {}
    rows = []
    rng = np.random.default_rng(0)
    for seed in range(args.seeds):
        for noise in (10e-12, 20e-12, 40e-12):
            radius = float(rng.choice([2.5e-6, 5e-6, 10e-6]))
            setpoint = float(rng.choice([0.5e-9, 1e-9, 2e-9]))
            truth, res = run_one(seed, noise, radius, setpoint, preset)
            rows.append((noise, truth, res, true_indentation(truth, radius, setpoint)))
    report(rows)


#: a material touched first with at least this modulus is the dish (1 GPa in the generator)
DISH_MODULUS_PA = 1e6
#: the issue's population of cell curves: true indentation at the setpoint at least this
MIN_INDENTATION_M = 100e-9


def true_indentation(truth, radius_m: float, setpoint_n: float) -> np.ndarray:
    """True Hertz-paraboloid indentation (m) at the setpoint of every curve (ν = 0.5)."""
    e = truth["youngs_modulus_pa"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (setpoint_n / (e * 4 / 3 / 0.75 * np.sqrt(radius_m))) ** (2 / 3)


def _classes(truth, depth):
    """Curve classes by the truth: the material touched first (dish or cell), the defects."""
    bad = truth["bad"].to_numpy(bool)
    reason = truth["bad_reason"].fillna("").astype(str).to_numpy()
    dish = (truth["youngs_modulus_pa"].to_numpy(float) >= DISH_MODULUS_PA) & ~bad
    cell = ~dish & ~bad
    return {
        "cell": cell & (depth >= MIN_INDENTATION_M),
        "cell_shallow": cell & ~(depth >= MIN_INDENTATION_M),
        "dish": dish,
        "no_contact": bad & (reason == "no_contact"),
        "spikes": bad & (reason == "spikes"),
    }


def report(rows) -> None:
    e_true, e_fit, ok, noise_col, h_err, spiky = [], [], [], [], [], []
    counts: dict[str, dict[str, int]] = {}
    for noise, truth, res, depth in rows:
        cls = _classes(truth, depth)
        labels = res.status_labels
        for name, mask in cls.items():
            c = counts.setdefault(name, {})
            for lab in labels[mask]:
                c[lab] = c.get(lab, 0) + 1
        cell = cls["cell"]
        e_true.append(truth["youngs_modulus_pa"].to_numpy()[cell])
        e_fit.append(res.youngs_modulus_pa[cell])
        ok.append(res.status[cell] == CurveStatus.OK)
        noise_col.append(np.full(cell.sum(), noise))
        h_err.append((res.zero_force_height_m - truth["contact_piezo_height_m"].to_numpy())[cell])
        sp = cls["spikes"]
        moved = np.abs(res.youngs_modulus_pa[sp] / truth["youngs_modulus_pa"].to_numpy()[sp] - 1)
        spiky.append(((res.status[sp] == CurveStatus.OK) & ~(moved <= 0.05)).sum())
    et, ef, okk = np.concatenate(e_true), np.concatenate(e_fit), np.concatenate(ok)
    nz, he = np.concatenate(noise_col), np.concatenate(h_err)
    rel = ef / et - 1
    print(f"cell curves: {et.size}, status ok: {okk.sum()}")
    edges = np.unique(np.quantile(et, np.linspace(0, 1, 11)))
    print("| stiffness decile (kPa) | curves | median bias | within 5 % |")
    print("| --- | --- | --- | --- |")
    for lo, hi in itertools.pairwise(edges):
        m = (et >= lo) & (et <= hi) & okk
        print(
            f"| {lo / 1e3:.2f}-{hi / 1e3:.2f} | {m.sum()} | {np.median(rel[m]) * 100:+.2f} % "
            f"| {np.mean(np.abs(rel[m]) <= 0.05) * 100:.1f} % |"
        )
    for noise in np.unique(nz):
        m = (nz == noise) & okk
        print(
            f"noise {noise * 1e12:.0f} pN: median bias {np.median(rel[m]) * 100:+.2f} %, "
            f"within 5 % {np.mean(np.abs(rel[m]) <= 0.05) * 100:.1f} %"
        )
    m = okk
    print(
        f"all ok cell curves: median bias {np.median(rel[m]) * 100:+.2f} %, within 5 % "
        f"{np.mean(np.abs(rel[m]) <= 0.05) * 100:.1f} %"
    )
    print(f"zero-force height on cells: median |error| {np.nanmedian(np.abs(he)) * 1e9:.2f} nm")
    print(f"spiky curves with E moved > 5 % and status ok: {sum(spiky)}")
    for name, c in counts.items():
        total = sum(c.values())
        print(f"{name:10s} ({total:5d}): " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))


if __name__ == "__main__":
    main()
