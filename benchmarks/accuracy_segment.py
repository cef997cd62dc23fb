"""Accuracy of :func:`cellmech.segment.segment` with its defaults, on synthetic and real images.

Synthetic: the sample generator (:mod:`cellmech.synthetic`) over several seeds, in a normal
field (4 cells in the map + 2 outside, 2 µm apart) and a crowded one (7 + 2 cells whose
footprints may overlap by 1.5 µm, so many touch); scored against the exact truth labels. Also
the same score for each plane reduction (the justification of the default ``plane``).

Real: the images in ``../shared/data/real-fluo`` (see its README) with the pixel sizes below
(files without a usable one get an assumed one, stated in the table); nuclei only, against the
weak (workflow-made) or sparse (hand-drawn, some nuclei unlabelled: recall only) labels; and,
when the ``stardist`` package is installed (it is found, not imported), the 512 x 512 crop of
the 2018 Data Science Bowl (Caicedo et al., Nat. Methods 16, 1247 (2019)) with expert instance
labels that it ships (``stardist/data/images/img2d.tif``, ``mask2d.tif``; BSD-3-Clause): dense,
unevenly bright nuclei, an independent expert check of the annotation convention.
The area ratio found/labelled of the matched nuclei shows whether the boundaries sit
systematically outside (> 1) or inside (< 1) the labels' (a 1-pixel rim is 25 % of the area of
a 16-pixel nucleus); the labelled diameter is that of a circle of the median labelled area at the
assumed pixel size (to judge the assumption against the cell type). Then the same at 0.75x and
1.33x the assumed pixel size, to show how much the µm defaults depend on it.

Edge convention (synthetic and real): the median over objects of where a label set draws the
edge relative to each object's own half-maximum (``tests/segment_scoring.edge_offset``; px, > 0
outside), for the reference labels and for the found nuclei: it tells a boundary error from a
difference of annotation convention, without trusting either label set.

Objects are matched one-to-one (Hungarian on IoU, match at IoU >= 0.5) by
``tests/segment_scoring.py``, which does not use cellmech's segmentation code.

Run: ``python benchmarks/accuracy_segment.py [--seeds 5]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from cellmech.io import read_fluorescence  # noqa: E402
from cellmech.segment import SegmentOptions, segment  # noqa: E402
from cellmech.synthetic import SampleOptions, generate_sample  # noqa: E402
from tests.segment_scoring import edge_offset, match_labels  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real-fluo"
#: small stacks: the AFM part is irrelevant here, keep it cheap
BASE = SampleOptions(grid_shape=(4, 4), approach_points=20, retract_points=2, fluo_z_planes=6)
FIELDS = {
    "normal": {"n_cells": 4, "n_cells_outside": 2},
    "crowded": {"n_cells": 7, "n_cells_outside": 2, "min_cell_gap_m": -1.5e-6},
}
#: image set -> (folder, files, labels: suffix or file name, nucleus channel, pixel size m,
#:               why that size, sparse)
REAL_SETS = {
    "bbbc007": (
        REAL, "bbbc007_*_D_1UL.tif", "_sparse_nuclei_labels.tif", "0", 0.5e-6,
        "assumed (none in file)", True,
    ),
    "mitocheck": (
        REAL, "neubias_mitocheck_incenp_t1.tif", "_labels.tif", "0", 0.5e-6,
        "assumed (file: 0.1 um, implausible for HeLa nuclei ~30 px)", False,
    ),
    "neubias_tubulin": (
        REAL, "neubias_xyc_16bit__nuclei_tubulin.tif", "neubias_xy_8bit_labels__nuclei.tif",
        "1", 0.35e-6, "assumed (none in file)", False,
    ),
}  # fmt: skip


def _stardist_images() -> Path | None:
    """Folder of the sample images shipped in the ``stardist`` package, or None."""
    spec = importlib.util.find_spec("stardist")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0]) / "data" / "images"
    return folder if (folder / "img2d.tif").is_file() else None


if _stardist_images() is not None:
    REAL_SETS["dsb2018_stardist"] = (
        _stardist_images(), "img2d.tif", "mask2d.tif", "0", 0.5e-6,
        "assumed (none in file; nuclei ~23 px)", False,
    )  # fmt: skip


def synthetic(field: str, seed: int):
    return generate_sample(replace(BASE, seed=seed, **FIELDS[field]))


def synthetic_table(seeds: int) -> None:
    print("## Synthetic (defaults)\n")
    print("| field | seed | cells true/found | cell F1 | cell median IoU "
          "| nuclei true/found | nucleus F1 | nucleus median IoU "
          "| nucleus edge vs half-max, truth / found (px) |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for field in FIELDS:
        for seed in range(seeds):
            s = synthetic(field, seed)
            seg = segment(s.stack)
            c = match_labels(s.labels[0], seg.cell_labels)
            n = match_labels(s.labels[1], seg.nucleus_labels)
            plane = np.asarray(s.stack.data[1]).max(axis=0)
            edges = [
                np.nanmedian(edge_offset(plane, lab)) for lab in (s.labels[1], seg.nucleus_labels)
            ]
            print(
                f"| {field} | {seed} | {c['n_true']}/{c['n_pred']} | {c['f1']:.3f} "
                f"| {c['median_iou']:.3f} | {n['n_true']}/{n['n_pred']} | {n['f1']:.3f} "
                f"| {n['median_iou']:.3f} | {edges[0]:+.2f} / {edges[1]:+.2f} |"
            )


def plane_table(seeds: int) -> None:
    print("\n## Plane reduction (all seeds, both fields; min over images / median)\n")
    print("| plane | cell F1 min | cell median IoU min | nucleus F1 min | nucleus IoU median |")
    print("| --- | --- | --- | --- | --- |")
    samples = [synthetic(f, s) for f in FIELDS for s in range(seeds)]
    for plane in ("max", "mean", "best_focus", "0", "2"):
        scores = []
        for s in samples:
            seg = segment(s.stack, SegmentOptions(plane=plane))
            c = match_labels(s.labels[0], seg.cell_labels)
            n = match_labels(s.labels[1], seg.nucleus_labels)
            scores.append((c["f1"], c["median_iou"], n["f1"], n["median_iou"]))
        a = np.array(scores)
        print(
            f"| {plane} | {a[:, 0].min():.3f} | {a[:, 1].min():.3f} | {a[:, 2].min():.3f} "
            f"| {np.median(a[:, 3]):.3f} |"
        )


def real_scores(name: str, factor: float = 1.0) -> dict:
    folder, pattern, labels, channel, pixel, _, sparse = REAL_SETS[name]
    totals = {"n_true": 0, "n_pred": 0, "tp": 0}
    ious, ratios, areas, edges_true, edges_found = [], [], [], [], []
    for path in sorted(folder.glob(pattern)):
        label_path = (
            path.with_name(path.name.replace(".tif", labels))
            if labels.startswith("_")
            else folder / labels
        )
        stack = read_fluorescence(path, pixel_size_m=pixel * factor)
        seg = segment(stack, SegmentOptions(nucleus_channel=channel))
        truth = tifffile.imread(label_path)
        plane = np.asarray(stack.data[int(channel)]).max(axis=0)
        edges_true += list(edge_offset(plane, truth))
        edges_found += list(edge_offset(plane, seg.nucleus_labels))
        score = match_labels(truth, seg.nucleus_labels, sparse=sparse)
        t_area, p_area = np.bincount(truth.ravel()), np.bincount(seg.nucleus_labels.ravel())
        ratios += [p_area[p] / t_area[t] for t, p, _ in score["pairs"]]
        areas += list(t_area[np.unique(truth[truth > 0])] * (pixel * factor) ** 2)
        for key in totals:
            totals[key] += score[key]
        ious.append(score["median_iou"])
    recall = totals["tp"] / totals["n_true"]
    f1 = np.nan if sparse else 2 * totals["tp"] / (totals["n_true"] + totals["n_pred"])
    return {
        **totals,
        "recall": recall,
        "f1": f1,
        "median_iou": float(np.median(ious)),
        "area_ratio": np.percentile(ratios, [25, 50, 75]),
        "diameter_m": 2 * np.sqrt(np.median(areas) / np.pi),
        "edges": (np.nanmedian(edges_true), np.nanmedian(edges_found)),
    }


def real_table() -> None:
    if not REAL.is_dir():
        print(f"\n(real images not available: {REAL})")
        return
    if "dsb2018_stardist" not in REAL_SETS:
        print("\n(stardist not installed: no DSB 2018 expert-labelled crop)")
    print("\n## Real nuclei (defaults; F1 n/a where labels are sparse)\n")
    print(
        "| image set | pixel size | labelled diameter | labelled/found | recall | F1 "
        "| median IoU | area found/labelled: median [IQR] "
        "| edge vs half-max, labels / found (px) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, spec in REAL_SETS.items():
        r = real_scores(name)
        q25, q50, q75 = r["area_ratio"]
        print(
            f"| {name} | {spec[4] * 1e6:.2f} µm {spec[5]} | {r['diameter_m'] * 1e6:.1f} µm "
            f"| {r['n_true']}/{r['n_pred']} | {r['recall']:.2f} | {r['f1']:.2f} "
            f"| {r['median_iou']:.2f} | {q50:.2f} [{q25:.2f}, {q75:.2f}] "
            f"| {r['edges'][0]:+.2f} / {r['edges'][1]:+.2f} |"
        )
    print("\n## Real nuclei vs assumed pixel size (recall / F1 / median IoU)\n")
    print("| image set | 0.75x | 1x | 1.33x |")
    print("| --- | --- | --- | --- |")
    for name in REAL_SETS:
        cells = [real_scores(name, f) for f in (0.75, 1.0, 4 / 3)]
        text = [f"{r['recall']:.2f} / {r['f1']:.2f} / {r['median_iou']:.2f}" for r in cells]
        print(f"| {name} | {' | '.join(text)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    synthetic_table(args.seeds)
    plane_table(args.seeds)
    real_table()


if __name__ == "__main__":
    main()
