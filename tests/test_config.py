"""The TOML config, the command-line flags and the options dataclasses agree (one source)."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from cellmech.config import check_section, dump_defaults, load_config, merge_settings
from cellmech.errors import ConfigError
from cellmech.fit import FitOptions
from cellmech.flags import cli_flags
from cellmech.io.options import ReadOptions
from cellmech.pipeline import FIT_SECTIONS as SECTIONS
from cellmech.pipeline import stage_table
from cellmech.preprocess import PreprocessOptions
from cellmech.runtime import RunOptions

TABLE = stage_table(SECTIONS)

CLASSES = {
    "read": ReadOptions,
    "preprocess": PreprocessOptions,
    "fit": FitOptions,
    "run": RunOptions,
}


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init and f.name != "geometry"]


def _write(tmp_path, text: str):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_dump_holds_every_field_with_its_default_and_help():
    text = dump_defaults(TABLE)
    data = tomllib.loads(text)
    assert set(data) == set(SECTIONS)
    for section, cls in CLASSES.items():
        defaults = cls()
        for f in dataclasses.fields(cls):
            if not f.init or f.name == "geometry":
                continue
            value = getattr(defaults, f.name)
            if value is None:
                assert f"# {f.name} =" in text  # unset keys are written commented out
            else:
                got = data[section][f.name]
                assert (tuple(got) if isinstance(got, list) else got) == value, f.name
            assert f"# {f.metadata['help']}" in text, f.name
    assert data["fit"]["geometry"] == dict(FitOptions().geometry)
    assert "[m]" in text  # units are stated


def test_dump_round_trips_to_the_defaults(tmp_path):
    settings = merge_settings(TABLE, load_config(_write(tmp_path, dump_defaults(TABLE)), TABLE))
    assert settings == merge_settings(TABLE)
    assert settings.fit == FitOptions() and settings.preprocess == PreprocessOptions()


@pytest.mark.parametrize("section", SECTIONS)
def test_unknown_key_fails_listing_the_valid_ones(tmp_path, section):
    path = _write(tmp_path, f"[{section}]\nnot_a_key = 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, TABLE)
    msg = str(err.value)
    assert str(path) in msg and "not_a_key" in msg
    assert all(name in msg for name in _fields(CLASSES[section]))


def test_unknown_section_and_geometry_key_fail(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) fitting.*valid keys: read"):
        load_config(_write(tmp_path, "[fitting]\nmodel = 'x'\n"), TABLE)
    with pytest.raises(ConfigError, match=r"tip_radius_um.*valid keys:.*tip_radius_m"):
        load_config(_write(tmp_path, "[fit.geometry]\ntip_radius_um = 10\n"), TABLE)


def test_wrong_types_and_values_fail_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"\[preprocess\] smooth_window='3': must be an int"):
        load_config(_write(tmp_path, "[preprocess]\nsmooth_window = '3'\n"), TABLE)
    with pytest.raises(ConfigError, match="contact_method"):
        load_config(_write(tmp_path, "[preprocess]\ncontact_method = 'guess'\n"), TABLE)
    with pytest.raises(ConfigError, match=r"c.toml \[fit.geometry\] tip_radius_m=-1.*outside"):
        load_config(_write(tmp_path, "[fit.geometry]\ntip_radius_m = -1.0\n"), TABLE)
    with pytest.raises(ConfigError, match="not a valid TOML"):
        load_config(_write(tmp_path, "[fit\n"), TABLE)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml", TABLE)


def test_precedence_defaults_file_flags(tmp_path):
    path = _write(
        tmp_path,
        "[fit]\npoisson_ratio = 0.3\n[fit.geometry]\ntip_radius_m = 5e-6\n"
        "[run]\nworkers = 3\nchunks = [4, 8]\n",
    )
    from_file = merge_settings(TABLE, load_config(path, TABLE))
    assert from_file.fit.poisson_ratio == 0.3
    assert from_file.fit.geometry["tip_radius_m"] == 5e-6
    assert from_file.run == RunOptions(workers=3, chunks=(4, 8))
    assert from_file.preprocess == PreprocessOptions()  # untouched section keeps defaults
    cli = {
        "fit": check_section(TABLE, "fit", {"geometry": {"tip_radius_m": 2e-6}}, "command line"),
        "run": {"workers": 1},
    }
    both = merge_settings(TABLE, load_config(path, TABLE), cli)
    assert both.fit.geometry["tip_radius_m"] == 2e-6  # flag beats file
    assert both.fit.poisson_ratio == 0.3  # file beats default
    assert both.run.workers == 1 and both.run.chunks == (4, 8)


def test_model_change_drops_geometry_the_new_model_does_not_take(tmp_path):
    path = _write(
        tmp_path, "[fit]\nmodel = 'hertz_paraboloidal'\n[fit.geometry]\ntip_radius_m = 5e-6\n"
    )
    cli = {"fit": check_section(TABLE, "fit", {"model": "hertz_conical"}, "command line")}
    settings = merge_settings(TABLE, load_config(path, TABLE), cli)
    assert settings.fit.model == "hertz_conical"
    assert "tip_radius_m" not in settings.fit.geometry
    same = merge_settings(TABLE, load_config(path, TABLE))
    assert same.fit.geometry["tip_radius_m"] == 5e-6


def test_run_and_read_options_validate():
    with pytest.raises(ConfigError, match="scheduler"):
        RunOptions(scheduler="gpu")
    with pytest.raises(ConfigError, match="workers"):
        RunOptions(workers=0)
    with pytest.raises(ConfigError, match="chunks"):
        RunOptions(chunks=(0, 3))
    assert RunOptions(scheduler="tcp://10.0.0.1:8786").scheduler.startswith("tcp")
    with pytest.raises(ConfigError, match="spring_constant_n_per_m"):
        ReadOptions(spring_constant_n_per_m=-1.0)


def test_cli_flags_cover_every_field_once():
    specs = cli_flags(TABLE, reserved={"--config"})
    keys = {(s.section, s.key) for s in specs if not s.geometry}
    for section, cls in CLASSES.items():
        assert {(section, k) for k in _fields(cls)} <= keys
    flags = [s.flag for s in specs]
    assert len(flags) == len(set(flags)) and "--config" not in flags
    by_flag = {s.flag: s for s in specs}
    assert by_flag["--tip-radius"].geometry and "[m, SI]" in by_flag["--tip-radius"].help
    assert by_flag["--half-angle"].geometry and "[deg]" in by_flag["--half-angle"].help
    assert by_flag["--spring-constant"].key == "spring_constant_n_per_m"
    assert by_flag["--chunks"].nargs == 2
    assert by_flag["--contact-method"].choices == tuple(
        dataclasses.fields(PreprocessOptions)[
            [f.name for f in dataclasses.fields(PreprocessOptions)].index("contact_method")
        ].metadata["choices"]
    )


def test_settings_to_dict_is_plain():
    d = merge_settings(TABLE).to_dict()
    assert set(d) == set(SECTIONS)
    assert d["fit"]["model"] == FitOptions().model
    assert d["fit"]["geometry"] == {"tip_radius_m": 10e-6}
    assert d["run"] == {
        "scheduler": "threads",
        "workers": None,
        "chunks": None,
        "threads_per_worker": None,
    }
