"""Curves with extra segments (pauses, modulations): approach = the first extend segment,
retract = the last retract segment after it, the others listed, never fitted; files without
any extend segment refused with one line (exit 2)."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from cellmech.cli import EXIT_BAD_INPUT, main
from cellmech.containers import CurveStatus
from cellmech.errors import CorruptFileError, NoCurvesError
from cellmech.io import read_force_map
from cellmech.io.jpk import properties as jp
from cellmech.io.jpk.segments import choose_segments
from cellmech.io.jpk.writer import ExtraSegment, write_jpk_force_map
from cellmech.synthetic.segments import dwell_segment, modulation_segment
from tests.conftest import real_afm_file
from tests.helpers import GRID, POSITIONS, SENS, K, synthetic_block, synthetic_map
from tests.helpers import synthetic_segments as two_segments
from tests.mutate import rewrite_zip, set_property

READERS = ["jpk", "afmformats"]
FIELDS = ("force_n", "height_m", "measured_height_m")


def _pause(app, index=1, kind="constant-height-pause", duration_s=2.0):
    return ExtraSegment(index, dwell_segment(app), "pause", kind, duration_s)


def _modulation(app, index=1):
    return ExtraSegment(index, modulation_segment(app), "modulation", "sine-modulation", 1.5)


def _write(path, app, ret, extra=(), **kwargs):
    return write_jpk_force_map(
        path,
        grid=GRID,
        position_index=POSITIONS,
        approach=app,
        retract=ret,
        spring_constant_n_per_m=K,
        sensitivity_m_per_v=SENS,
        approach_duration_s=0.5,
        retract_duration_s=0.7,
        extra_segments=extra,
        **kwargs,
    )


def _assert_same_curves(block, ref, rel=0.0):
    """Equal curves, to ``rel`` of each channel's largest magnitude (0: bit for bit)."""
    for seg in ("approach", "retract"):
        a, b = getattr(block, seg), getattr(ref, seg)
        np.testing.assert_array_equal(a.n_points, b.n_points)
        for field in FIELDS:
            want = getattr(b, field)
            atol = rel * np.nanmax(np.abs(want))
            np.testing.assert_allclose(getattr(a, field), want, rtol=0, atol=atol)


LAYOUTS = {
    "extend-pause-retract": (lambda a: [_pause(a)], ["extend", "pause", "retract"]),
    "extend-modulation-retract": (
        lambda a: [_modulation(a)],
        ["extend", "modulation", "retract"],
    ),
    "pause-extend-pause-retract": (
        lambda a: [_pause(a, 0, duration_s=0.25), _pause(a, 2)],
        ["pause", "extend", "pause", "retract"],
    ),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_writer_round_trip_of_multi_segment_maps(tmp_path, layout):
    app, ret = two_segments()
    extra, styles = LAYOUTS[layout]
    path = _write(tmp_path / "multi.jpk-force-map", app, ret, extra(app))
    ref = read_force_map(_write(tmp_path / "two.jpk-force-map", app, ret)).curves()
    fm = read_force_map(path)
    block = fm.curves()
    # the modulation widens the height encoder's range: a few quanta of 2**-32 of it
    _assert_same_curves(block, ref, rel=1e-9 if "modulation" in layout else 0.0)
    segments = fm.metadata["segments"]
    assert len(segments) == fm.n_curves
    for c, layout_c in enumerate(segments):
        assert [i.style for i in layout_c] == styles
        roles = {i.role: i.index for i in layout_c if i.role}
        assert roles == {"approach": styles.index("extend"), "retract": len(styles) - 1}
        assert layout_c[roles["approach"]].n_points == app.n_points[c]
        others = [i for i in layout_c if not i.role]
        assert all(i.n_points in (64, 128) and i.duration_s > 0 for i in others)
    # time from the start of the approach: the retract starts after everything between
    between = sum(i.duration_s for i in segments[0][styles.index("extend") : -1])
    assert block.retract.time_s[0, 0] == pytest.approx(between)
    assert block.approach.time_s[0, 0] == 0.0
    with zipfile.ZipFile(path) as zf:
        shared = jp.parse_properties(zf.read("shared-data/header.properties"))
    assert shared["force-segment-header-infos.count"] == str(len(styles))
    info = "force-segment-header-info.{}.settings.style"
    assert [shared[info.format(s)] for s in range(len(styles))] == styles


def test_the_first_extend_is_the_approach(tmp_path):
    app, ret = two_segments()
    second = ExtraSegment(2, modulation_segment(app), "extend", "z-extend-height", 0.3)
    path = _write(tmp_path / "epe.jpk-force-map", app, ret, [_pause(app), second])
    fm = read_force_map(path)
    assert [i.style for i in fm.metadata["segments"][0]] == [
        "extend",
        "pause",
        "extend",
        "retract",
    ]
    ref = read_force_map(_write(tmp_path / "two.jpk-force-map", app, ret)).curves()
    _assert_same_curves(fm.curves(), ref, rel=1e-9)


def test_extend_and_pause_without_retract(tmp_path):
    app, _ = two_segments()
    fm = read_force_map(_write(tmp_path / "ep.jpk-force-map", app, None, [_pause(app)]))
    block = fm.curves()
    assert block.retract is None
    np.testing.assert_array_equal(block.approach.n_points, app.n_points)


def test_fit_of_extend_pause_retract_equals_two_segment_fit(tmp_path, capsys):
    block, truth = synthetic_block(6, youngs_modulus_pa=np.linspace(1e3, 8e3, 6), seed=3)
    grid_positions = np.arange(6)
    common = dict(
        grid=GRID,
        position_index=grid_positions,
        approach=block.approach,
        retract=block.retract,
        spring_constant_n_per_m=0.02,
        sensitivity_m_per_v=SENS,
    )
    two = write_jpk_force_map(tmp_path / "two.jpk-force-map", **common)
    multi = write_jpk_force_map(
        tmp_path / "multi.jpk-force-map",
        **common,
        extra_segments=[_pause(block.approach, kind="constant-force-pause")],
    )
    results = {}
    for name, path in (("two", two), ("multi", multi)):
        assert main(["fit", str(path), "-o", str(tmp_path / name)]) == 0
        results[name] = pd.read_csv(tmp_path / name / "curves.csv")
    capsys.readouterr()
    e_two, e_multi = (results[n]["youngs_modulus_pa"].to_numpy() for n in ("two", "multi"))
    assert np.isfinite(e_two).all()
    np.testing.assert_allclose(e_multi, e_two, rtol=1e-9)
    np.testing.assert_allclose(e_two, truth["youngs_modulus_pa"], rtol=0.1)


def test_info_lists_the_pause_segment(tmp_path, capsys):
    app, ret = two_segments()
    path = _write(tmp_path / "epr.jpk-force-map", app, ret, [_pause(app)])
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "segments           extend, pause, retract: 5 curve(s)" in out
    assert "pause (constant-height-pause), 64 points, 2 s (not fitted)" in out
    assert "extend (z-extend-height), 100 points, 0.5 s -> approach" in out


def _restyle(src, dst, styles):
    """``src`` (a map written by the writer) with segment ``s`` given style ``styles[s]``."""
    shared = "shared-data/header.properties"

    def edit(name, data):
        if name != shared:
            return data
        for s, style in enumerate(styles):
            for key in ("settings.style", "settings.segment-settings.style"):
                data = set_property(data, f"force-segment-header-info.{s}.{key}", style)
        return data

    return rewrite_zip(src, dst, edit)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("styles", [("retract", "retract"), ("pause", "retract")])
def test_files_without_extend_are_refused(tmp_path, reader, styles):
    src, _, _ = synthetic_map(tmp_path / "src.jpk-force-map")
    path = _restyle(src, tmp_path / "noext.jpk-force-map", styles)
    with pytest.raises(NoCurvesError, match=r"noext\.jpk-force-map.*no extend"):
        read_force_map(path, reader=reader)


def test_cli_refuses_retract_only_with_one_line(tmp_path, capsys):
    src, _, _ = synthetic_map(tmp_path / "src.jpk-force-map")
    path = _restyle(src, tmp_path / "retract-only.jpk-force-map", ("retract", "retract"))
    assert main(["info", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "retract-only.jpk-force-map" in err[0] and "extend" in err[0]


def _insert_pause(src, dst, pause_type):
    """``src`` with a copy of each curve's extend segment inserted as a pause (segment 1),
    the retract renumbered to 2; the pause's style is set in its own header and, in files
    whose headers reference shared blocks (maps), in a new ``force-segment-header-info``."""
    shared_name = "shared-data/header.properties"
    ref = "force-segment-header.force-segment-header-info.*"
    style = {
        "settings.style": "pause",
        "settings.segment-settings.style": "pause",
        "settings.segment-settings.type": pause_type,
    }
    members = {}
    with zipfile.ZipFile(src) as zf:
        names = zf.namelist()
        shared = jp.parse_properties(zf.read(shared_name)) if shared_name in names else {}
        new = int(shared.get("force-segment-header-infos.count", 0))
        for name in names:  # directory entries too (afmformats needs them)
            head, sep, rest = name.partition("segments/")
            if not sep or rest[:2] not in ("0/", "1/"):
                continue
            data = zf.read(name)
            if rest[:2] == "1/":
                members[f"{head}segments/2/{rest[2:]}"] = data
                continue
            if name.endswith("segment-header.properties"):
                props = jp.parse_properties(data)
                props.update({f"force-segment-header.{k}": v for k, v in style.items()})
                if ref in props:
                    props[ref] = str(new)
                data = jp.format_properties(props)
            members[f"{head}segments/1/{rest[2:]}"] = data
    if new:
        info0 = {k: v for k, v in shared.items() if k.startswith("force-segment-header-info.0.")}
        shared.update({k.replace(".0.", f".{new}.", 1): v for k, v in info0.items()})
        shared.update({f"force-segment-header-info.{new}.{k}": v for k, v in style.items()})
        shared["force-segment-header-infos.count"] = str(new + 1)
        members[shared_name] = jp.format_properties(shared)

    def edit(name, data):
        return None if name in members or "segments/1/" in name else data

    return rewrite_zip(src, dst, edit, members)


REAL = {
    "fmt-jpk-fd_spot3-0192.jpk-force": "constant-force-pause",
    "fmt-jpk-fd_map2x2_extracted.jpk-force-map": "constant-force-pause",
}


@pytest.mark.parametrize("name", list(REAL))
@pytest.mark.parametrize("reader", READERS)
def test_real_file_with_an_inserted_pause_reads_as_the_original(tmp_path, name, reader):
    src = real_afm_file(name)
    path = _insert_pause(src, tmp_path / f"pause{src.suffix}", REAL[name])
    ref = read_force_map(src, reader=reader)
    fm = read_force_map(path, reader=reader)
    assert [i.style for i in fm.metadata["segments"][0]] == ["extend", "pause", "retract"]
    block, good = fm.curves(), ref.curves()
    _assert_same_curves(block, good)
    pause = np.array([layout[1].duration_s for layout in fm.metadata["segments"]])
    np.testing.assert_allclose(
        block.retract.time_s, good.retract.time_s + pause[:, None], rtol=1e-12
    )


def test_real_file_with_a_constant_height_pause(tmp_path):
    """A layout afmformats cannot load (its stress-relaxation needs a pre-pause): the JPK
    reader reads it, the afmformats path refuses it in one sentence naming the way out."""
    src = real_afm_file("fmt-jpk-fd_spot3-0192.jpk-force")
    path = _insert_pause(src, tmp_path / "hold.jpk-force", "constant-height-pause")
    _assert_same_curves(read_force_map(path).curves(), read_force_map(src).curves())
    with pytest.raises(NoCurvesError, match=r"hold\.jpk-force.*reader='jpk'"):
        read_force_map(path, reader="afmformats")


def _keep_segments(src, dst, keep):
    """``src`` with curve ``c``'s segments reduced to ``keep[c]`` (old numbers, in order),
    renumbered from 0; their headers (and shared references) unchanged."""
    members, drop = {}, set()
    with zipfile.ZipFile(src) as zf:
        for name in zf.namelist():
            head, sep, rest = name.partition("segments/")
            if not sep or not head.startswith("index/") or not rest[:1].isdigit():
                continue
            curve = int(head.split("/")[1])
            if curve not in keep:
                continue
            drop.add(name)
            old, tail = rest.split("/", 1)
            if int(old) in keep[curve]:
                members[f"{head}segments/{keep[curve].index(int(old))}/{tail}"] = zf.read(name)
    return rewrite_zip(src, dst, lambda name, data: None if name in drop else data, members)


def test_curves_with_different_segments_in_one_map(tmp_path):
    """Curves of one map may differ in their segments; a curve without an extend segment is
    CORRUPT, the others read as in a two-segment map."""
    app, ret = two_segments()
    path = _write(tmp_path / "multi.jpk-force-map", app, ret, [_pause(app)])
    ref = read_force_map(_write(tmp_path / "two.jpk-force-map", app, ret)).curves()
    # curve 1: extend, retract; curve 3: pause, retract
    mixed = _keep_segments(path, tmp_path / "mixed.jpk-force-map", {1: [0, 2], 3: [1, 2]})
    fm = read_force_map(mixed)
    styles = [[i.style for i in layout] for layout in fm.metadata["segments"]]
    assert styles == [
        ["extend", "pause", "retract"],
        ["extend", "retract"],
        ["extend", "pause", "retract"],
        [],
        ["extend", "pause", "retract"],
    ]
    block = fm.curves()
    assert block.status.tolist() == [0, 0, 0, CurveStatus.CORRUPT, 0]
    good = [0, 1, 2, 4]
    _assert_same_curves(block.take(good), ref.take(good))


def test_a_recorded_retract_missing_from_the_file_is_damage(tmp_path):
    """Fewer segments than the header declares and no retract: damaged, not approach-only."""
    src = real_afm_file("fmt-jpk-fd_spot3-0192.jpk-force")
    path = rewrite_zip(
        src, tmp_path / "cut.jpk-force", lambda n, d: None if n.startswith("segments/1/") else d
    )
    with pytest.raises(CorruptFileError, match=r"cut\.jpk-force.*declares"):
        read_force_map(path)


@pytest.mark.parametrize(
    ("styles", "roles"),
    [
        (["extend", "retract"], (0, 1)),
        (["extend", "pause", "extend", "retract"], (0, 3)),
        (["pause", "extend", "pause", "retract", "retract"], (1, 4)),
        (["retract", "extend"], (1, None)),
        (["extend"], (0, None)),
        (["retract"], (None, None)),
        (["", ""], (0, 1)),  # no style recorded: JPK's positional force-distance layout
        (["", "", ""], (None, None)),
    ],
)
def test_choose_segments(styles, roles):
    assert choose_segments(styles) == roles
