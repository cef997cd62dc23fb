"""Benchmark: loading a large JPK force map with cellmech's fast reader vs afmformats.

Builds (once, cached in ``--workdir``) a 64x64 force map of realistic noisy synthetic curves
(Hertz indentation of a sphere on a sloped baseline with thermal deflection noise and
height-sensor noise; approach and retract
of ``--points`` points each, piezo height, vDeflection and capacitive-sensor height) through
:func:`cellmech.io.jpk.writer.write_jpk_force_map`, then times, each in a fresh subprocess
that reports its peak RSS:

* afmformats: ``load_data`` + access every curve's force, piezo height and measured height;
* cellmech: ``read_force_map`` + load every block (``--block-size`` curves; force, heights,
  time);
* floor: inflating and decoding the same channel members with NumPy, on every core.

Run: ``python benchmarks/bench_io.py [--curves 4096] [--points 10000] [--workdir DIR]``.
A script, not a test: it prints times, the speed-up ratio, curves/s and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

CHILD_AFMFORMATS = """
import afmformats
data = afmformats.load_data(PATH)
for d in data:
    d["force"]; d["height (piezo)"]; d["height (measured)"]
print(len(data))
"""

CHILD_CELLMECH = """
from cellmech.io import read_force_map
fm = read_force_map(PATH)
n = 0
for block in fm.iter_blocks(BLOCK):
    n += block.n_curves
    block.approach.force_n.sum(); block.retract.height_m.sum()
print(n)
"""

CHILD_FLOOR = """
import os, zipfile, numpy as np
from concurrent.futures import ThreadPoolExecutor
wanted = ("height.dat", "vDeflection.dat", "capacitiveSensorHeight.dat")
names = [n for n in zipfile.ZipFile(PATH).namelist() if n.endswith(wanted)]
workers = len(os.sched_getaffinity(0))
def work(chunk):
    with zipfile.ZipFile(PATH) as zf:
        for n in chunk:
            np.frombuffer(zf.read(n), ">i4").astype(float)
with ThreadPoolExecutor(workers) as pool:
    list(pool.map(work, [names[i::workers] for i in range(workers)]))
print(len(names))
"""

TIMED = """
import time
PATH = {path!r}
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
import json
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")][0]
print(json.dumps({{"seconds": elapsed, "peak_rss_mb": int(hwm.split()[1]) / 1024}}))
"""


def synthetic_segments(n_curves: int, n_points: int, seed: int = 0):
    """Approach and retract segments of Hertzian indentation curves with noise.

    Returns
    -------
    approach, retract : CurveSegment
        ``n_curves`` curves of ``n_points`` points (retract ragged by up to 5 %).
    """
    from cellmech.containers import CurveSegment

    rng = np.random.default_rng(seed)
    radius, e_mod, nu = 5e-6, rng.uniform(0.5e3, 5e3, n_curves), 0.5
    contact = rng.uniform(1e-6, 3e-6, n_curves)
    z = np.linspace(5e-6, 0.0, n_points)

    def adc(x, bits=16):
        """Quantise like a 16-bit ADC over the map's range (real files compress so)."""
        lo, hi = np.nanmin(x), np.nanmax(x)
        step = (hi - lo) / 2**bits
        return lo + np.round((x - lo) / step) * step

    def curves(height):
        delta = np.clip(contact[:, None] - height, 0, None)
        force = 4 / 3 * e_mod[:, None] / (1 - nu**2) * math.sqrt(radius) * delta**1.5
        force += 2e-11 * rng.standard_normal(height.shape) + 1e-4 * height * 1e-2
        measured = height + 2e-10 * rng.standard_normal(height.shape)
        return adc(height), adc(force), adc(measured)

    h = np.repeat(z[None, :], n_curves, axis=0)  # the commanded piezo ramp is smooth
    a_h, a_f, a_m = curves(h)
    approach = CurveSegment(a_h, a_f, np.full(n_curves, n_points), measured_height_m=a_m)
    r_h, r_f, r_m = curves(h[:, ::-1].copy())
    n_ret = rng.integers(int(0.95 * n_points), n_points + 1, n_curves)
    pad = np.arange(n_points)[None, :] >= n_ret[:, None]
    for arr in (r_h, r_f, r_m):
        arr[pad] = np.nan
    retract = CurveSegment(r_h, r_f, n_ret, measured_height_m=r_m)
    return approach, retract


def build_map(path: Path, n_curves: int, n_points: int) -> Path:
    """Write the synthetic map to ``path`` unless it exists."""
    from cellmech.containers import GridGeometry
    from cellmech.io.jpk.writer import write_jpk_force_map

    if path.exists():
        return path
    side = math.isqrt(n_curves - 1) + 1
    grid = GridGeometry(
        (side, side), (0.0, 0.0), (50e-6, 50e-6), back_and_forth=True, xy_scanner="tip"
    )
    approach, retract = synthetic_segments(n_curves, n_points)
    print(f"writing {path} ({n_curves} curves x {n_points} points) ...", flush=True)
    return write_jpk_force_map(
        path,
        grid=grid,
        position_index=np.arange(n_curves),
        approach=approach,
        retract=retract,
        spring_constant_n_per_m=0.02,
        sensitivity_m_per_v=5e-8,
        approach_duration_s=1.0,
        retract_duration_s=1.0,
    )


def run_child(body: str, path: Path, block: int = 64) -> dict:
    """Run ``body`` in a fresh interpreter; returns its seconds and peak RSS in MB."""
    code = TIMED.format(path=str(path), body=body.replace("BLOCK", str(block)))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curves", type=int, default=4096)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--block-size", type=int, default=64, help="curves per cellmech block")
    parser.add_argument("--skip-afmformats", action="store_true", help="time cellmech only")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = build_map(
        args.workdir / f"bench_{args.curves}x{args.points}.jpk-force-map", args.curves, args.points
    )
    size_mb = path.stat().st_size / 1e6
    cores = len(os.sched_getaffinity(0))
    print(f"file        {path} ({size_mb:.0f} MB, {args.curves} curves, cores {cores})")
    floor = run_child(CHILD_FLOOR, path)
    fast = run_child(CHILD_CELLMECH, path, args.block_size)
    print(
        f"floor       {floor['seconds']:8.2f} s  (inflate+decode only, "
        f"peak RSS {floor['peak_rss_mb']:.0f} MB)"
    )
    print(
        f"cellmech    {fast['seconds']:8.2f} s  {args.curves / fast['seconds']:8.0f} curves/s  "
        f"peak RSS {fast['peak_rss_mb']:.0f} MB  ({fast['seconds'] / floor['seconds']:.2f}x floor, "
        f"blocks of {args.block_size})"
    )
    if not args.skip_afmformats:
        ref = run_child(CHILD_AFMFORMATS, path)
        print(
            f"afmformats  {ref['seconds']:8.2f} s  {args.curves / ref['seconds']:8.0f} curves/s  "
            f"peak RSS {ref['peak_rss_mb']:.0f} MB"
        )
        print(f"speed-up    {ref['seconds'] / fast['seconds']:8.1f}x (afmformats / cellmech)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
