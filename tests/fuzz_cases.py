"""File and option fuzz cases: seeded mutations of the bundled sample and the shared real files,
each with the outcome it must have (see tests/fuzz_case.py for the outcomes); the path,
process and environment faults are in tests/fuzz_faults.py. Used by tests/test_fuzz.py (a fixed
set) and benchmarks/fuzz.py (random draws, in subprocesses).
"""

from __future__ import annotations

import random
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import tifffile

from tests.fuzz_case import IBW, MAP2X2, SAMPLE, Case, afm_source
from tests.fuzz_faults import FAULT_GENERATORS
from tests.mutate import edit_member, flip_byte, rewrite_zip, truncate

GRID = "force-scan-map.position-pattern.grid"


def igor_record_size(path: Path) -> int:
    """Bytes of the Igor binary wave (version 5) record at the start of ``path``: the headers,
    wave data, formula, note, units, labels and string indices its BinHeader5 declares.
    Asylum force files append a preview footer (thumbnails of each channel) after it."""
    with path.open("rb") as f:
        sizes = struct.unpack("<2h15l", f.read(64))[2:]  # wfm, formula, note, units, labels...
    return 64 + sum(sizes[:13])


def truncation(rng: random.Random, tmp: Path) -> Case:
    """A cut file is an error, except an .ibw cut only inside the preview footer after its
    Igor record (nothing read from it: success with unchanged results)."""
    src = rng.choice([afm_source(), SAMPLE / "sample.ome.tif", *([IBW] if IBW.exists() else [])])
    frac = rng.choice([0.0, 0.01, 0.3, 0.5, 0.9, 0.999])
    dst = truncate(src, tmp / f"cut{''.join(src.suffixes)}", frac)
    intact = src == IBW and dst.stat().st_size >= igor_record_size(src)
    return Case(
        "truncation", f"{src.name}[:{frac}]", ["info", str(dst)], "ok" if intact else "error"
    )


def byte_flip(rng: random.Random, tmp: Path) -> Case:
    src = rng.choice([afm_source(), SAMPLE / "sample.ome.tif"])
    size = src.stat().st_size
    offset = rng.randrange(size)
    dst = flip_byte(src, tmp / f"flip{''.join(src.suffixes)}", offset)
    cmd = "fit" if src.suffix != ".tif" else "info"
    argv = [cmd, str(dst)] + (["-o", str(tmp / "out"), "-q"] if cmd == "fit" else [])
    return Case("byte flip", f"{src.name}@{offset}", argv, "any")


def missing_member(rng: random.Random, tmp: Path) -> Case:
    src = afm_source()
    essential = ["header.properties", "shared-data/header.properties"]
    member = rng.choice(essential)
    dst = rewrite_zip(src, tmp / "nomember.jpk-force-map", lambda n, d: None if n == member else d)
    return Case("missing member", member, ["info", str(dst)], "error")


HEADER_EDITS = [
    (f"{GRID}.ilength", None),
    (f"{GRID}.jlength", "garbage"),
    (f"{GRID}.jlength", "1e30"),
    (f"{GRID}.ulength", "nan"),
    (f"{GRID}.vlength", "-1"),
    (f"{GRID}.ilength", "100000"),
    ("type", "garbage"),
    ("type", None),
]
SHARED_EDITS = [
    ("lcd-info.1.conversion-set.conversion.force.scaling.multiplier", v)
    for v in ("0", "-0.02", "inf")
] + [
    ("lcd-info.1.conversion-set.conversion.distance.scaling.multiplier", v)
    for v in ("0", "-1e-8", "Infinity")
]


def header_value(rng: random.Random, tmp: Path) -> Case:
    src = afm_source()
    member, (key, value) = rng.choice(
        [("header.properties", e) for e in HEADER_EDITS]
        + ([("shared-data/header.properties", e) for e in SHARED_EDITS] if src == MAP2X2 else [])
    )
    dst = rewrite_zip(src, tmp / "header.jpk-force-map", edit_member(member, key, value))
    return Case("header value", f"{key}={value}", ["info", str(dst)], "error")


def one_bad_curve(rng: random.Random, tmp: Path) -> Case:
    src = afm_source()
    curve = rng.randrange(1, 4)
    part = rng.choice(
        [
            "segments/0/channels/vDeflection.dat",
            "segments/0/channels/height.dat",
            "segments/1/",
            "header.properties",
            "segments/0/segment-header.properties",
        ]
    )
    prefix = f"index/{curve}/{part}"
    dst = rewrite_zip(
        src, tmp / "onebad.jpk-force-map", lambda n, d: None if n.startswith(prefix) else d
    )
    argv = ["fit", str(dst), "-o", str(tmp / "out"), "-q"]
    return Case("one bad curve", prefix, argv, "corrupt")


def zip_bomb(rng: random.Random, tmp: Path) -> Case:
    src = afm_source()
    victim = f"index/{rng.randrange(1, 4)}/segments/0/channels/vDeflection.dat"
    dst = tmp / "bomb.jpk-force-map"
    chunk = bytes(2**22)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == victim:
                with zout.open(victim, "w", force_zip64=True) as out:
                    for _ in range(40):  # 160 MiB of zeros, ~160 kB deflated
                        out.write(chunk)
            else:
                zout.writestr(info, zin.read(info), compress_type=info.compress_type)
    argv = ["fit", str(dst), "-o", str(tmp / "out"), "-q"]
    return Case("zip bomb", victim, argv, "corrupt")


TIFF_EDITS = [
    ('SizeZ="8"', 'SizeZ="1000"'),
    ('SizeX="216"', 'SizeX="100000"'),
    ('SizeC="3"', 'SizeC="300000000"'),
    ('PhysicalSizeXUnit="µm"', 'PhysicalSizeXUnit="furlong"'),
    ('Type="uint16"', 'Type="garbage"'),
    ("<Pixels", "<Pixelz"),
]


def tiff_metadata(rng: random.Random, tmp: Path) -> Case:
    old, new = rng.choice(TIFF_EDITS)
    dst = tmp / "meta.ome.tif"
    dst.write_bytes((SAMPLE / "sample.ome.tif").read_bytes())
    xml = tifffile.tiffcomment(dst)
    tifffile.tiffcomment(dst, xml.replace(old, new, 1).encode())
    expect = "any" if "Unit" in new else "error"
    return Case("tiff metadata", new, ["info", str(dst)], expect)


TOML = [
    "[fit\nmodel = 1",
    "[fit]\ntip_radius_m = 'big'",
    "[fit]\npoisson_ratio = nan",
    "[nonsense]\nx = 1",
    "\x00\x01\x02",
    "[fit]\nmodel = 'no_such_model'",
    "[preprocess]\nbaseline_fraction = -1",
]


def config_toml(rng: random.Random, tmp: Path) -> Case:
    text = rng.choice(TOML)
    cfg = tmp / "bad.toml"
    cfg.write_text(text)
    argv = ["fit", str(afm_source()), "-o", str(tmp / "out"), "-q", "--config", str(cfg)]
    return Case("config toml", repr(text[:30]), argv, "error")


FLAGS = [
    ["--tip-radius", "nan"],
    ["--tip-radius", "-5um"],
    ["--tip-radius", "banana"],
    ["--min-r-squared", "nan"],
    ["--poisson-ratio", "0.7"],
    ["--model", "nope"],
    ["--spring-constant", "0"],
    ["--spring-constant", "inf"],
]


def cli_flags(rng: random.Random, tmp: Path) -> Case:
    flags = rng.choice(FLAGS)
    argv = ["fit", str(afm_source()), "-o", str(tmp / "out"), "-q", *flags]
    return Case("cli flags", " ".join(flags), argv, "error")


GENERATORS: dict[str, Callable[[random.Random, Path], Case]] = {
    "truncation": truncation,
    "byte flip": byte_flip,
    "missing member": missing_member,
    "header value": header_value,
    "one bad curve": one_bad_curve,
    "zip bomb": zip_bomb,
    "tiff metadata": tiff_metadata,
    "config toml": config_toml,
    "cli flags": cli_flags,
    **FAULT_GENERATORS,
}
