"""`cellmech run` and `cellmech demo` end to end: files, per-cell accuracy against the truth,
the 'needs review' path, and one-line errors for bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cellmech.cli import EXIT_BAD_INPUT, EXIT_NEEDS_REVIEW, main
from cellmech.io import read_fluorescence
from cellmech.synthetic.fluo import FluoGeometry, write_ome_tiff

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
AFM, FLUO = SAMPLE / "sample.jpk-force-map", SAMPLE / "sample.ome.tif"
TIP = ["--tip-radius", "2.5um"]  # the tip the sample was recorded with
OUTPUTS = {
    "cells.csv",
    "cells.parquet",
    "curves.csv",
    "curves.parquet",
    "maps",
    "labels.ome.tif",
    "labels.csv",
    "overlay.png",
    "registration.json",
    "registration_overlay.png",
    "report.html",
    "run.json",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "-o", str(out), "-q"]) == 0
    return out


def _matched(cells: pd.DataFrame) -> pd.DataFrame:
    """Truth cells inside the map joined to the measured cell at their centroid."""
    truth = pd.read_csv(SAMPLE / "truth_cells.csv")
    truth = truth[truth["in_map"]]
    rows = []
    for _, t in truth.iterrows():
        d = np.hypot(
            cells["centroid_row_px"] - t["centroid_row_px"],
            cells["centroid_col_px"] - t["centroid_col_px"],
        )
        assert d.min() < 5, f"truth cell {t['label']} was not found"
        rows.append(
            {**cells.iloc[int(np.argmin(d))].to_dict(), **{f"true_{k}": v for k, v in t.items()}}
        )
    return pd.DataFrame(rows)


def test_demo_writes_every_output_and_run_json_lists_them(demo):
    assert {p.name for p in demo.iterdir()} == OUTPUTS
    assert {p.name for p in (demo / "maps").iterdir()} == {
        "afm_grid.ome.tif",
        "fluorescence_frame.ome.tif",
    }
    report = json.loads((demo / "run.json").read_text())
    assert set(report["sha256"]) == {
        str(p.relative_to(demo)) for p in demo.rglob("*") if p.is_file() and p.name != "run.json"
    }
    assert report["registration"]["accepted"] is True
    assert set(report["timing_s"]) >= {"read", "fit", "segment", "register", "measure", "write"}


def test_demo_cells_match_the_truth(demo):
    """Per-compartment median E within 5 %, height within 10 %, volume within 15 % of the
    truth, on the sample's three cells inside the map (default options of cellmech run)."""
    m = _matched(pd.read_csv(demo / "cells.csv"))
    e_nuc = m["youngs_modulus_nucleus_median_pa"] / m["true_nucleus_modulus_pa"] - 1
    e_cyt = m["youngs_modulus_cytoplasm_median_pa"] / m["true_cytoplasm_modulus_pa"] - 1
    compartments = pd.concat([e_nuc, e_cyt]).dropna()
    assert len(compartments) >= 5  # a small cell may have no cytoplasm curve off its edge
    assert (compartments.abs() <= 0.05).mean() >= 0.8, compartments.to_list()
    assert ((m["height_max_m"] / m["true_height_max_m"] - 1).abs() <= 0.10).all()
    assert ((m["volume_m3"] / m["true_volume_m3"] - 1).abs() <= 0.15).mean() >= 0.66
    assert m["registration_accepted"].all()


def test_curves_carry_cell_and_compartment(demo):
    curves = pd.read_csv(demo / "curves.csv")
    truth = pd.read_csv(SAMPLE / "truth_curves.csv")
    assert {"cell_id", "compartment", "edge_distance_m", "height_above_substrate_m"} <= set(curves)
    assert set(curves["compartment"]) <= {
        "nucleus",
        "cytoplasm",
        "edge",
        "substrate",
        "outside_image",
    }
    on_dish = truth["label"].to_numpy() == 0
    assert (curves["cell_id"].to_numpy()[on_dish] == 0).mean() > 0.95


def test_fluorescence_that_does_not_overlap_needs_review(tmp_path, capsys):
    """The stack placed 1 mm away: every output is written, flagged, exit 3."""
    stack = read_fluorescence(FLUO)
    _, nz, ny, nx = stack.shape
    far = tmp_path / "far.ome.tif"
    x0, y0 = stack.stage_position_m
    geo = FluoGeometry((nz, ny, nx), stack.pixel_size_m[0], stack.z_step_m, (x0, y0), 0.0)
    write_ome_tiff(far, np.asarray(stack.data), channel_names=stack.channel_names, geo=geo,
                   stage_origin_m=(x0 + 1e-3, y0 + 1e-3))  # fmt: skip
    out = tmp_path / "out"
    argv = ["run", "--afm", str(AFM), "--fluorescence", str(far), "-o", str(out), "-q", *TIP]
    assert main(argv) == EXIT_NEEDS_REVIEW
    assert "not accepted" in capsys.readouterr().err
    assert {p.name for p in out.iterdir()} == OUTPUTS
    cells = pd.read_csv(out / "cells.csv")
    assert not cells["registration_accepted"].any()
    assert "not accepted" in (out / "report.html").read_text().lower()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--nucleus-channel", "DAPI"], "DAPI"),
        (["--labels", str(SAMPLE / "truth_labels.tif"), "--pixel-size", "0.3um"], "labels"),
    ],
)
def test_bad_inputs_are_one_line_errors(tmp_path, capsys, extra, needle):
    out = tmp_path / "out"
    argv = ["run", "--afm", str(AFM), "--fluorescence", str(FLUO), "-o", str(out), *TIP, *extra]
    if "--labels" in extra:  # a label image of the wrong shape
        import tifffile

        bad = tmp_path / "bad_labels.tif"
        tifffile.imwrite(bad, np.ones((10, 12), np.uint16))
        argv[argv.index("--labels") + 1] = str(bad)
        argv = argv[: argv.index("--pixel-size")]
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1
        and err[0].startswith("cellmech: error:")
        and needle in err[0].lower() + err[0]
    )
    assert not out.exists()


def test_the_report_plots_the_curves_of_the_compartment_medians():
    """The report's per-cell boxes hold exactly the curves the table's compartment medians
    use: same median, and no box where the table has none (the sample's cell 3, whose
    cytoplasm curves all lie within the tip flank's reach of its nucleus)."""
    from cellmech.outputs.report_views import cell_moduli
    from cellmech.pipeline import make_settings, run_sample
    from cellmech.synthetic import sample_tip

    result = run_sample(AFM, FLUO, make_settings({"fit": sample_tip()}))
    table = result.cells.to_frame().set_index("cell_id")
    empty = 0
    for cell in cell_moduli(result):
        for name, values in (("nucleus", cell.nucleus_pa), ("cytoplasm", cell.cytoplasm_pa)):
            median = table.loc[cell.cell_id, f"youngs_modulus_{name}_median_pa"]
            if values.size:
                assert np.median(values) == pytest.approx(median, rel=1e-12)
            else:
                assert np.isnan(median)
                empty += 1
    assert empty >= 1
