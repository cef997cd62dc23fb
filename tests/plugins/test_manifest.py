"""The npe2 manifest validates and points at importable callables."""

from __future__ import annotations

from pathlib import Path

import pytest

npe2 = pytest.importorskip("npe2")
MANIFEST = Path(__file__).resolve().parents[2] / "plugins" / "napari_cellmech" / "napari.yaml"


def test_manifest_validates_with_imports():
    manifest = npe2.PluginManifest.from_file(MANIFEST)
    manifest.validate_imports()
    assert {r.command for r in manifest.contributions.readers} == {"napari-cellmech.get_reader"}
    assert manifest.contributions.sample_data[0].key == "sample"
    assert manifest.contributions.widgets[0].display_name == "CellMech"


def test_entry_point_and_package_data_are_declared():
    text = (MANIFEST.parents[2] / "pyproject.toml").read_text()
    assert 'napari-cellmech = "napari_cellmech:napari.yaml"' in text
    assert 'napari_cellmech = ["napari.yaml"]' in text
