"""Whole-process wall time of ``cellmech fit MAP -o OUT`` versus nanite, both in full.

Used by ``bench_fit.py`` (``--e2e``), runnable alone:

    python benchmarks/bench_process.py --workdir /tmp/cellmech-bench --sizes 1024,4096

Each measurement is one fresh process timed from its start to its exit by the parent:

- cellmech: ``python -m cellmech fit MAP -o OUT -q --workers 1 --threads-per-worker 1`` with
  ``NUMBA_NUM_THREADS=1`` (one core: one worker, numba pinned to one thread), compiled kernels
  already cached (one untimed run first); such a run uses the native kernels
  (:mod:`cellmech.kernels.native`), and the "(JIT s)" column times it with numba's JIT
  (``CELLMECH_NATIVE_KERNELS=0``) for comparison;
- nanite (GPL-3, the reference only): ``nanite.load_group`` (afmformats) + nanite's standard
  preprocessing + Hertz fit of **every** curve (nothing extrapolated), one process.

Maps: the synthetic JPK maps of ``bench_fit.py`` (Hertz curves, ~10 000 points per segment)
and maps built from the real JPK recordings in ../shared/data/real-afm: every good curve of
every JPK file (the bad recording left out), repeated to fill the map, each copy with its own
small extra force noise (5 pN) so no two curves are identical.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[i]) for i in (1, 0)]  # a checkout

REAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-afm"
#: real recordings left out of the real-derived maps (the README's bad recording)
REAL_EXCLUDED = ("fmt-jpk-fd_single_bad_2017-01-16_1.jpk-force",)
REAL_SPRING_N_PER_M = 0.02
REAL_SENSITIVITY_M_PER_V = 50e-9
COPY_NOISE_N = 5e-12
STEPS = [
    "compute_tip_position",
    "correct_force_offset",
    "correct_tip_offset",
    "correct_split_approach_retract",
]


def _real_segments() -> list[dict]:
    """Approach and retract (piezo height, measured height, force) of every good real curve."""
    from cellmech.io import read_force_map

    curves = []
    for path in sorted(REAL_DIR.glob("*.jpk*")):
        if path.name in REAL_EXCLUDED:
            continue
        block = read_force_map(path).curves()
        for i in range(block.approach.n_curves):
            curves.append(
                {
                    key: tuple(
                        np.asarray(getattr(seg, f)[i, : seg.n_points[i]], float)
                        for f in ("height_m", "measured_height_m", "force_n")
                    )
                    for key, seg in (("approach", block.approach), ("retract", block.retract))
                }
            )
    return curves


def _padded(parts: list[tuple], rng: np.random.Generator):
    """CurveSegment of ``parts`` (height, measured height, force) padded with NaN."""
    from cellmech.containers import CurveSegment

    n_points = np.array([p[0].size for p in parts])
    out = np.full((3, len(parts), n_points.max()), np.nan)
    for i, part in enumerate(parts):
        for a, values in enumerate(part):
            out[a, i, : values.size] = values
    out[2] += rng.normal(0.0, COPY_NOISE_N, out[2].shape)
    return CurveSegment(
        height_m=out[0], measured_height_m=out[1], force_n=out[2], n_points=n_points
    )


def build_real_map(path: Path, side: int, seed: int = 0) -> Path:
    """Write a ``side`` x ``side`` map of the real curves repeated (skipped when it exists)."""
    if path.exists():
        return path
    from cellmech.containers import GridGeometry
    from cellmech.io.jpk.writer import write_jpk_force_map

    rng = np.random.default_rng(seed)
    real = _real_segments()
    pick = [real[i % len(real)] for i in range(side * side)]
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_jpk_force_map(
        path,
        grid=GridGeometry(shape=(side, side), center_m=(0.0, 0.0), size_m=(side * 1.5e-6,) * 2),
        position_index=np.arange(side * side),
        approach=_padded([c["approach"] for c in pick], rng),
        retract=_padded([c["retract"] for c in pick], rng),
        spring_constant_n_per_m=REAL_SPRING_N_PER_M,
        sensitivity_m_per_v=REAL_SENSITIVITY_M_PER_V,
    )


def nanite_in_full(path: str) -> None:
    """Load, preprocess and fit every curve with nanite (run in the timed subprocess)."""
    import nanite

    moduli = []
    for idnt in nanite.load_group(path):
        idnt.apply_preprocessing(STEPS)
        idnt.fit_model(model_key="hertz_para")
        moduli.append(idnt.fit_properties["params_fitted"]["E"].value)
    print(json.dumps({"curves": len(moduli), "median_e_pa": float(np.nanmedian(moduli))}))


def read_floor(path: str) -> None:
    """What cellmech's ``fit`` process does before it decodes anything (run in the timed
    subprocess): start Python with NumPy, inflate every header and, in the approach and
    retract folders (segments 0 and 1, as the benchmark maps are written), the force and the
    height channel a fit reads (the measured height where recorded; libdeflate through
    cellmech's archive reader, nothing decoded or parsed), and record the file's SHA-256 for
    provenance (a fitter without provenance would skip the hash)."""
    from cellmech.io.jpk.archive import Archive
    from cellmech.io.jpk.properties import CHANNEL_CANDIDATES, find_channel
    from cellmech.outputs.files import file_sha256

    archive = Archive(Path(path))
    by_dir: dict[str, list[str]] = {}
    for name in archive.entries:
        folder, _, leaf = name.rpartition("/")
        by_dir.setdefault(folder, []).append(leaf)
    total = 0
    for folder, leaves in by_dir.items():
        wanted = [leaf for leaf in leaves if leaf.endswith(".properties")]
        if folder.endswith(("segments/0/channels", "segments/1/channels")):
            channels = [
                find_channel(leaves, CHANNEL_CANDIDATES[q][0])
                for q in ("force", "measured_height", "height")
            ]
            if channels[0] is None or channels[1:] == [None, None]:
                raise SystemExit(f"{path}: {folder} has no force or height channel")
            wanted += [f"{channels[0]}.dat", f"{channels[1] or channels[2]}.dat"]
        total += sum(len(archive.read(f"{folder}/{leaf}" if folder else leaf)) for leaf in wanted)
    print(json.dumps({"inflated_bytes": total, "sha256": file_sha256(path)}))


def _timed(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall time and CPU time (user + system, of the process and its children) of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def cellmech_process(path: Path, repeat: int = 1, native: bool = True) -> tuple[float, float]:
    """Fastest wall time and least CPU time of ``cellmech fit`` on one core (after an untimed
    cache-filling run), with the native kernels (the default of a one-worker run) or numba's
    JIT."""
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "CELLMECH_NATIVE_KERNELS": str(int(native))}
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "cellmech", "fit", str(path), "-o", f"{tmp}/out", "-q"]
        cmd += ["--workers", "1", "--threads-per-worker", "1"]
        _timed(cmd, env)  # kernels compiled/cached and the file in the page cache
        runs = [_timed(cmd, env) for _ in range(repeat)]
        return min(r[0] for r in runs), min(r[1] for r in runs)


def floor_process(path: Path, repeat: int = 1) -> float:
    """Fastest wall time of :func:`read_floor` on ``path`` (one core, file in the page cache)."""
    cmd = [sys.executable, __file__, "--floor", str(path)]
    return min(_timed(cmd)[0] for _ in range(repeat))


def nanite_process(path: Path) -> tuple[float, float]:
    """Wall and CPU time of one process running nanite on every curve of ``path``."""
    return _timed([sys.executable, __file__, "--nanite", str(path)])


def compare(maps: dict[str, Path], repeat: int = 1) -> list[str]:
    """Table lines: cellmech and nanite whole-process wall and CPU seconds and their ratios
    per map, with the read floor (:func:`read_floor`) and the wall time the target ratio
    allows. CPU time is the steadier measure on a machine shared with other work: wall
    times of the same command drift with the machine's load."""
    lines = [
        f"{'whole process, one core':<24} {'curves':>6} {'cellmech s':>10} {'cpu s':>6} "
        f"{'(JIT s)':>7} {'nanite s':>8} {'cpu s':>6} {'ratio':>6} {'cpu ratio':>9}  target"
        f" {'allows s':>8} {'floor s':>7}"
    ]
    print(lines[0], flush=True)
    for label, path in maps.items():
        from cellmech.io import read_force_map

        n = read_force_map(path).n_curves
        jit, _ = cellmech_process(path, repeat, native=False)
        ours, ours_cpu = cellmech_process(path, repeat)
        theirs, theirs_cpu = nanite_process(path)
        floor = floor_process(path, repeat)
        target = 20 if n <= 1024 else 100
        lines.append(
            f"{label:<24} {n:>6} {ours:>10.2f} {ours_cpu:>6.2f} {jit:>7.2f} {theirs:>8.1f} "
            f"{theirs_cpu:>6.1f} {theirs / ours:>5.1f}x {theirs_cpu / ours_cpu:>8.1f}x"
            f"  >= {target:>3}x {theirs / target:>8.2f} {floor:>7.2f}"
        )
        print(lines[-1], flush=True)
    return lines


def build_maps(workdir: Path, sizes: list[int], points: int) -> dict[str, Path]:
    """The synthetic and real-derived maps of every size (built once, cached in workdir)."""
    from bench_fit import build_map

    maps = {}
    for n in sizes:
        side = math.isqrt(n)
        syn = workdir / f"bench_fit_v2_{side}x{side}_{points}.jpk-force-map"
        maps[f"synthetic {side}x{side}"] = build_map(syn, side, points)
        real = workdir / f"bench_real_{side}x{side}.jpk-force-map"
        maps[f"real-derived {side}x{side}"] = build_real_map(real, side)
    return maps


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", type=Path, default=Path("/tmp/cellmech-bench"))
    p.add_argument("--sizes", default="1024,4096", help="curves per map (square grids)")
    p.add_argument("--points", type=int, default=10_000, help="points per synthetic segment")
    p.add_argument("--repeat", type=int, default=1, help="timed cellmech runs; fastest kept")
    p.add_argument("--nanite", help=argparse.SUPPRESS)
    p.add_argument("--floor", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.nanite:
        nanite_in_full(args.nanite)
        return
    if args.floor:
        read_floor(args.floor)
        return
    sizes = [int(v) for v in args.sizes.split(",") if v]
    compare(build_maps(args.workdir, sizes, args.points), args.repeat)


if __name__ == "__main__":
    main()
