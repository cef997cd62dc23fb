"""End-to-end accuracy of ``cellmech run`` on the synthetic dataset (a script, not a test).

For each seed: write a synthetic correlative sample (default :class:`SampleOptions`: 48x48 map,
1000-point approaches, four cells in the map, one outside, AFM/optical transform off by
4-8 µm, 2-5°, 1-3 % scale), run the whole pipeline with the defaults of ``cellmech run`` (only
the tip radius given), match the measured cells to the truth cells by centroid, and print the
per-seed table of the issue's targets:

- per-compartment median E (nucleus and cytoplasm) within 5 % of the truth for >= 90 % of cells,
- ``height_max_m`` within 10 % and ``volume_m3`` within 15 % for >= 80 % of cells,
- every truth cell inside the map found.

    python benchmarks/accuracy_pipeline.py --seeds 1:6
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from cellmech.pipeline import make_settings, run_sample
from cellmech.synthetic import SampleOptions, make_sample_data

TIP_RADIUS_M = 2.5e-6


def matched_cells(cells: pd.DataFrame, truth: pd.DataFrame, max_px: float = 10.0) -> pd.DataFrame:
    """Truth cells inside the map joined to the measured cell nearest to their centroid
    (fluorescence px), within ``max_px``; unmatched truth cells get NaN columns."""
    inside = truth[truth["in_map"]].reset_index(drop=True)
    rows = []
    for _, t in inside.iterrows():
        d = np.hypot(
            cells["centroid_row_px"] - t["centroid_row_px"],
            cells["centroid_col_px"] - t["centroid_col_px"],
        )
        best = cells.iloc[int(np.argmin(d))] if len(cells) and d.min() <= max_px else None
        rows.append(
            {**{f"true_{k}": t[k] for k in t.index}, **(best.to_dict() if best is not None else {})}
        )
    return pd.DataFrame(rows)


def relative_errors(m: pd.DataFrame) -> pd.DataFrame:
    """Relative errors of the headline per-cell quantities."""
    return pd.DataFrame(
        {
            "e_nucleus": m["youngs_modulus_nucleus_median_pa"] / m["true_nucleus_modulus_pa"] - 1,
            "e_cytoplasm": m["youngs_modulus_cytoplasm_median_pa"] / m["true_cytoplasm_modulus_pa"]
            - 1,
            "height_max": m["height_max_m"] / m["true_height_max_m"] - 1,
            "volume": m["volume_m3"] / m["true_volume_m3"] - 1,
        }
    )


def run_seed(seed: int, folder: Path, options: dict) -> dict:
    """Generate, run and score one seed."""
    paths = make_sample_data(folder / f"seed{seed}", SampleOptions(seed=seed, **options))
    settings = make_settings({"fit": {"geometry": {"tip_radius_m": TIP_RADIUS_M}}})
    t0 = time.perf_counter()
    result = run_sample(paths["force_map"], paths["fluorescence"], settings)
    seconds = time.perf_counter() - t0
    truth = pd.read_csv(paths["cells"])
    m = matched_cells(result.cells.to_frame(), truth)
    err = relative_errors(m).abs()
    compartments = pd.concat([err["e_nucleus"], err["e_cytoplasm"]])
    return {
        "seed": seed,
        "cells": int(truth["in_map"].sum()),
        "found": int(m["cell_id"].notna().sum()) if "cell_id" in m else 0,
        "E<=5%": float((compartments <= 0.05).mean()),
        "hmax<=10%": float((err["height_max"] <= 0.10).mean()),
        "vol<=15%": float((err["volume"] <= 0.15).mean()),
        "worst_E": float(compartments.max()),
        "reg_ok": bool(result.registration.accepted),
        "reg_err_um": result.registration.error_estimate_m * 1e6,
        "s": seconds,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="1:6", help="first:stop (Python range)")
    p.add_argument("--grid", type=int, default=48, help="grid side")
    args = p.parse_args()
    start, stop = (int(v) for v in args.seeds.split(":"))
    options = {"grid_shape": (args.grid, args.grid)}
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run_seed(seed, Path(tmp), options) for seed in range(start, stop)]
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    print(
        f"over {len(table)} seeds: cells found {table['found'].sum()}/{table['cells'].sum()}; "
        f"compartment E within 5 %: {np.average(table['E<=5%'], weights=table['cells']):.3f} "
        f"(target >= 0.90); height_max within 10 %: "
        f"{np.average(table['hmax<=10%'], weights=table['cells']):.3f}, volume within 15 %: "
        f"{np.average(table['vol<=15%'], weights=table['cells']):.3f} (targets >= 0.80)"
    )


if __name__ == "__main__":
    main()
