"""The reader registry: advertised suffixes equal what the readers read, named readers,
plugins that fail to load."""

from __future__ import annotations

import importlib.metadata
from importlib.metadata import EntryPoint
from pathlib import Path

import afmformats.formats
import pytest

from cellmech.errors import ConfigError
from cellmech.io import identify, registry


def test_afmformats_suffixes_are_exactly_what_afmformats_reads():
    spec = next(r for r in registry.readers("afm") if r.name == "afmformats")
    assert set(spec.suffixes) == set(afmformats.formats.supported_extensions)


def test_unknown_reader_name_is_a_config_error_listing_the_valid_ones(tmp_path):
    path = tmp_path / "m.jpk-force-map"
    path.write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"unknown afm reader 'nope'; valid readers: jpk, afmf"):
        registry.find_reader(path, "afm", "nope")


def test_a_broken_plugin_entry_point_is_skipped_with_a_warning(monkeypatch):
    broken = EntryPoint("broken", "cellmech_no_such_module:READER", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken])
    registry._plugin_readers.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="broken.*failed to load"):
            found = registry.readers()
        assert [r.name for r in found] == [r.name for r in registry.BUILTIN_READERS]
    finally:
        registry._plugin_readers.cache_clear()


def test_a_file_a_built_in_reader_reads_never_scans_the_installed_plugins(monkeypatch):
    """Scanning every installed distribution's entry points costs ~30 ms of each run."""

    def scan(group):
        raise AssertionError(f"entry points of {group} scanned")

    monkeypatch.setattr(importlib.metadata, "entry_points", scan)
    registry._plugin_readers.cache_clear()
    sample = Path(__file__).resolve().parents[2] / "sample_data"
    try:
        assert registry.find_reader(sample / "sample.jpk-force-map", "afm").name == "jpk"
        assert registry.find_reader(sample / "sample.ome.tif", "fluorescence").name == "tiff"
        assert registry.find_reader(sample / "sample.jpk-force-map", "afm", "afmformats").name == (
            "afmformats"
        )
        with pytest.raises(AssertionError, match="scanned"):
            registry.readers()
    finally:
        registry._plugin_readers.cache_clear()


def test_identify_tells_afm_from_fluorescence():
    sample = Path(__file__).resolve().parents[2] / "sample_data"
    assert identify(sample / "sample.jpk-force-map") == "afm"
    assert identify(sample / "sample.ome.tif") == "fluorescence"
