"""The reader registry: advertised suffixes equal what the readers read, named readers,
plugins that fail to load."""

from __future__ import annotations

from importlib.metadata import EntryPoint

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
    monkeypatch.setattr(registry, "entry_points", lambda group: [broken])
    registry._plugin_readers.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="broken.*failed to load"):
            found = registry.readers()
        assert [r.name for r in found] == [r.name for r in registry.BUILTIN_READERS]
    finally:
        registry._plugin_readers.cache_clear()


def test_identify_tells_afm_from_fluorescence():
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "sample_data"
    assert identify(sample / "sample.jpk-force-map") == "afm"
    assert identify(sample / "sample.ome.tif") == "fluorescence"
