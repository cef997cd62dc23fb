"""Benchmark: fitting a 64x64 force map with cellmech versus nanite (a script, not a test).

Builds (once, cached in ``--workdir``) a realistic force map in real JPK format: 4096 curves
of ~10 000 approach + ~10 000 retract points, channels height, vDeflection and
capacitiveSensorHeight (Hertz paraboloid, R = 10 µm, k = 0.02 N/m, cantilever in series,
20 pN deflection noise, baseline offset and tilt, 2 nN setpoint, curves of different lengths),
then times, each in a fresh subprocess on this machine:

- floor: inflating and decoding every zip member, nothing else (2 threads);
- nanite (GPL-3, used here only as the reference): afmformats load + nanite's standard
  preprocessing + Hertz fit, one process, on every curve (``--nanite-curves`` limits it to
  a subset for a quick look; the ratios are then printed for that subset only, never
  extrapolated);
- cellmech fit stage alone: preprocess + fit of in-memory curves (loading not timed);
- cellmech end to end: ``read_force_map`` + preprocess + fit, through the NumPy path and the
  Dask path (threads, ``--workers``);
- scaling of the end-to-end NumPy path with the number of curves;
- the whole process: ``cellmech fit MAP -o OUT`` on one core versus nanite on every curve,
  each in its own timed process, on synthetic and real-derived maps of ``--e2e-sizes`` curves
  (:mod:`bench_process`; ``--e2e-only`` skips everything else).

It prints curves/s, the ratios to nanite and the peak RSS of every subprocess.

    python benchmarks/bench_fit.py --workdir /tmp/cellmech-bench
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

SPRING_N_PER_M = 0.02
SENSITIVITY_M_PER_V = 50e-9
TIP_RADIUS_M = 10e-6
POISSON = 0.5
SETPOINT_N = 2e-9
NOISE_N = 20e-12
SENSOR_GAIN = 0.998  # measured (capacitive sensor) height per piezo height


# ---------------------------------------------------------------------------------------------
# synthetic map


def _indentation(travel_m: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Solve d + a d^1.5 = travel for the indentation d >= 0 (cantilever in series), Newton."""
    s = np.clip(travel_m, 0.0, None)
    d = np.minimum(s, (s / a) ** (2 / 3))
    for _ in range(30):
        r = np.sqrt(d)
        d = np.clip(d - (d + a * d * r - s) / (1 + 1.5 * a * r), 0.0, s)
    return d


def _curves(n: int, points: int, rng: np.random.Generator) -> dict:
    """Approach and retract of ``n`` Hertz curves (heights decreasing during the approach),
    as CurveSegment keyword dicts padded to ``points`` columns."""
    e_pa = rng.uniform(1e3, 10e3, n)
    cp_m = rng.uniform(0.0, 5e-6, n)  # topography: contact height above the substrate
    c = 4 / 3 / (1 - POISSON**2) * np.sqrt(TIP_RADIUS_M)
    a = (e_pa * c / SPRING_N_PER_M)[:, None]
    depth = (SETPOINT_N / (e_pa * c)) ** (2 / 3) + SETPOINT_N / SPRING_N_PER_M
    npts = points - rng.integers(0, points // 10, n)
    frac = np.arange(points)[None, :] / (npts[:, None] - 1)
    start = cp_m + 3e-6
    height = start[:, None] - frac * (start - cp_m + depth)[:, None]
    force = SPRING_N_PER_M * a * _indentation(cp_m[:, None] - height, a) ** 1.5
    tilt = rng.normal(0, 5e-5, n)[:, None] * (height - start[:, None])  # N/m baseline tilt
    force = force + rng.normal(0, 50e-12, n)[:, None] + tilt
    valid = frac <= 1.0
    height = np.where(valid, height, np.nan)

    def seg(h: np.ndarray, f: np.ndarray) -> dict:
        noisy = f + rng.normal(0, NOISE_N, f.shape)
        return {
            "height_m": h,
            "force_n": np.where(valid, noisy, np.nan),
            "measured_height_m": SENSOR_GAIN * h,  # capacitive sensor (nanite needs it)
            "n_points": npts,
        }

    rev = np.where(valid, npts[:, None] - 1 - np.arange(points)[None, :], 0)
    return {
        "approach": seg(height, force),
        "retract": seg(
            np.where(valid, np.take_along_axis(height, rev, 1), np.nan),
            np.take_along_axis(force, rev, 1),
        ),
    }


def build_map(path: Path, side: int, points: int, seed: int = 0) -> Path:
    """Write the ``side`` x ``side`` benchmark map to ``path`` (skipped when it exists)."""
    if path.exists():
        return path
    from cellmech.containers import CurveSegment, GridGeometry
    from cellmech.io.jpk.writer import write_jpk_force_map

    rng = np.random.default_rng(seed)
    n = side * side
    parts = [_curves(min(256, n - s), points, rng) for s in range(0, n, 256)]
    joined = {
        key: CurveSegment(**{f: np.concatenate([p[key][f] for p in parts]) for f in parts[0][key]})
        for key in ("approach", "retract")
    }
    del parts
    grid = GridGeometry(
        shape=(side, side),
        center_m=(0.0, 0.0),
        size_m=(side * 1.5e-6,) * 2,
        xy_scanner="tip-scanner",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_jpk_force_map(
        path,
        grid=grid,
        position_index=np.arange(n),
        approach=joined["approach"],
        retract=joined["retract"],
        spring_constant_n_per_m=SPRING_N_PER_M,
        sensitivity_m_per_v=SENSITIVITY_M_PER_V,
    )


# ---------------------------------------------------------------------------------------------
# measurements (each runs in its own subprocess)


def _floor(path: str, args: argparse.Namespace) -> dict:
    with zipfile.ZipFile(path) as zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]

    def work(part: list[str]) -> int:
        total = 0
        with zipfile.ZipFile(path) as zf:
            for name in part:
                raw = zf.read(name)
                if name.endswith(".dat"):
                    total += np.frombuffer(raw, ">i4").astype(np.float64).size
        return total

    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        n_values = sum(pool.map(work, [names[0::2], names[1::2]]))
    return {"seconds": time.perf_counter() - t0, "curves": args.total, "values": n_values}


def _nanite(path: str, args: argparse.Namespace) -> dict:
    import nanite

    steps = [
        "compute_tip_position",
        "correct_force_offset",
        "correct_tip_offset",
        "correct_split_approach_retract",
    ]
    t0 = time.perf_counter()
    group = nanite.load_group(path)  # afmformats underneath
    t_open = time.perf_counter() - t0
    subset = [group[i] for i in range(min(args.nanite_curves or len(group), len(group)))]
    t0 = time.perf_counter()
    for idnt in subset:
        _ = idnt["force"], idnt["height (piezo)"]  # load the curve
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    moduli = []
    for idnt in subset:
        idnt.apply_preprocessing(steps)
        idnt.fit_model(model_key="hertz_para")
        moduli.append(idnt.fit_properties["params_fitted"]["E"].value)
    t_fit = time.perf_counter() - t0
    return {
        "seconds": t_fit,
        "curves": len(subset),
        "open_s": t_open,
        "load_s": t_load,
        "total_curves": len(group),
        "median_e_pa": float(np.median(moduli)),
    }


def _stage(path: str, args: argparse.Namespace) -> dict:
    from cellmech.fit import FitOptions, fit_curves
    from cellmech.io import read_force_map
    from cellmech.preprocess import PreprocessOptions, preprocess

    fm = read_force_map(path)
    pre, fit = PreprocessOptions(), FitOptions()
    k = fm.spring_constant_n_per_m
    t0 = time.perf_counter()
    fit_curves(preprocess(fm.curves([0, 1]), k, pre), fit)  # load the compiled code once
    warmup = time.perf_counter() - t0
    seconds, moduli = 0.0, []
    for block in fm.iter_blocks(args.block):
        t0 = time.perf_counter()
        res = fit_curves(preprocess(block, k, pre), fit)
        seconds += time.perf_counter() - t0
        moduli.append(res.youngs_modulus_pa)
    e = np.concatenate(moduli)
    return {
        "seconds": seconds,
        "curves": fm.n_curves,
        "warmup_s": warmup,
        "median_e_pa": float(np.nanmedian(e)),
        "median_e_subset_pa": float(np.nanmedian(e[: args.nanite_curves or None])),
    }


def _numpy(path: str, args: argparse.Namespace) -> dict:
    from cellmech.io import read_force_map
    from cellmech.mapfit import fit_block

    t0 = time.perf_counter()
    fm = read_force_map(path)
    n = min(args.limit or fm.n_curves, fm.n_curves)
    res = [
        fit_block(fm, np.arange(s, min(s + args.block, n)), *_options())
        for s in range(0, n, args.block)
    ]
    seconds = time.perf_counter() - t0
    e = np.concatenate([r.youngs_modulus_pa for r in res])
    return {"seconds": seconds, "curves": n, "median_e_pa": float(np.nanmedian(e))}


def _dask(path: str, args: argparse.Namespace) -> dict:
    from cellmech.parallel import fit_force_map

    t0 = time.perf_counter()
    pre, fit = _options()
    res = fit_force_map(
        path,
        preprocess_options=pre,
        fit_options=fit,
        chunks=args.block,
        scheduler="threads",
        workers=args.workers,
    )
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "curves": res.n_curves,
        "median_e_pa": float(np.nanmedian(res.youngs_modulus_pa)),
    }


def _options() -> tuple:
    from cellmech.fit import FitOptions
    from cellmech.preprocess import PreprocessOptions

    return PreprocessOptions(), FitOptions()


MEASUREMENTS = {"floor": _floor, "nanite": _nanite, "stage": _stage, "numpy": _numpy, "dask": _dask}


def _measure_here(args: argparse.Namespace) -> None:
    out = MEASUREMENTS[args.measure](args.file, args)
    usage = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    out["peak_rss_mb"] = usage / 1024
    print(json.dumps(out))


def _run(name: str, file: Path, args: argparse.Namespace, limit: int = 0) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--measure",
        name,
        "--file",
        str(file),
        "--nanite-curves",
        str(args.nanite_curves),
        "--block",
        str(args.block),
        "--workers",
        str(args.workers),
        "--limit",
        str(limit),
        "--total",
        str(args.total),
    ]
    runs = []
    for _ in range(args.repeat):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"{name} failed:\n{done.stderr}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return min(runs, key=lambda r: r["seconds"])  # the least disturbed run


def _line(label: str, r: dict, note: str = "") -> str:
    rate = r["curves"] / r["seconds"]
    return (
        f"{label:<34} {r['curves']:>5} curves {r['seconds']:9.2f} s {rate:9.1f} curves/s  "
        f"peak RSS {r['peak_rss_mb']:7.0f} MB{note}"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--side", type=int, default=64, help="grid side (side x side curves)")
    p.add_argument("--points", type=int, default=10_000, help="points per segment")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/cellmech-bench"))
    p.add_argument(
        "--nanite-curves", type=int, default=0, help="curves nanite fits (0 = all, the default)"
    )
    p.add_argument("--block", type=int, default=64, help="curves per block / Dask chunk")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--scaling", default="1024,2048,4096")
    p.add_argument("--repeat", type=int, default=1, help="runs per measurement; fastest kept")
    p.add_argument("--e2e-sizes", default="1024,4096", help="curves of the whole-process maps")
    p.add_argument("--e2e-only", action="store_true", help="only the whole-process table")
    p.add_argument("--measure", choices=list(MEASUREMENTS), help=argparse.SUPPRESS)
    p.add_argument("--file", help=argparse.SUPPRESS)
    p.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--total", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.measure:
        _measure_here(args)
        return
    args.total = args.side**2
    if not args.e2e_only:
        _classic(args)
    import bench_process

    sizes = [int(v) for v in args.e2e_sizes.split(",") if v]
    bench_process.compare(bench_process.build_maps(args.workdir, sizes, args.points), args.repeat)


def _classic(args: argparse.Namespace) -> None:
    """Stage, end-to-end (in-process) and scaling measurements on the ``--side`` map."""
    path = args.workdir / f"bench_fit_v2_{args.side}x{args.side}_{args.points}.jpk-force-map"
    t0 = time.perf_counter()
    build_map(path, args.side, args.points)
    print(
        f"map: {path} ({path.stat().st_size / 1e6:.0f} MB, {args.total} curves, "
        f"~{args.points} points per segment; ready in {time.perf_counter() - t0:.1f} s)"
    )
    _run("numpy", path, args, limit=2)  # warm-up: compiled code cached on disk before timing
    r = {name: _run(name, path, args) for name in ("floor", "nanite", "stage", "numpy", "dask")}
    nan = r["nanite"]
    full = nan["curves"] == nan["total_curves"]
    note = "" if full else f"  [subset of {nan['curves']} curves: no ratio printed]"
    nan_e2e = {
        "seconds": nan["open_s"] + nan["load_s"] + nan["seconds"],
        "curves": nan["curves"],
        "peak_rss_mb": nan["peak_rss_mb"],
    }
    print(_line("floor (inflate + decode, 2 thr)", r["floor"]))
    print(_line("nanite fit stage (in memory)", nan, note))
    print(_line("nanite + afmformats end to end", nan_e2e, note))
    print(
        _line(
            "cellmech fit stage (in memory)",
            r["stage"],
            f"  [+ {r['stage']['warmup_s']:.2f} s one-off loading of compiled code]",
        )
    )
    print(_line("cellmech end to end, NumPy path", r["numpy"]))
    print(_line(f"cellmech end to end, Dask {args.workers} thr", r["dask"]))
    best = min(r["numpy"]["seconds"], r["dask"]["seconds"])
    if full:  # both ran on every curve of the same map
        print(
            f"ratio fit stage vs nanite in-memory:        "
            f"{nan['seconds'] / r['stage']['seconds']:8.1f}x (target >= 50x)"
        )
        print(
            f"ratio end to end vs nanite+afmformats:      {nan_e2e['seconds'] / best:8.1f}x "
            "(in-process, numba on all cores; the one-core whole-process table follows)"
        )
    print(
        f"end to end vs floor (time ratio):           "
        f"{r['floor']['seconds'] / best:8.2f} (1.00 = at the floor)"
    )
    print(
        f"median E over the curves nanite fitted: nanite {nan['median_e_pa']:.1f} Pa, cellmech "
        f"{r['stage']['median_e_subset_pa']:.1f} Pa; over all curves: cellmech "
        f"{r['numpy']['median_e_pa']:.1f} Pa (NumPy), {r['dask']['median_e_pa']:.1f} Pa (Dask)"
    )
    for n in (int(v) for v in args.scaling.split(",") if v):
        print(_line(f"scaling: NumPy path, first {n}", _run("numpy", path, args, limit=n)))


if __name__ == "__main__":
    main()
