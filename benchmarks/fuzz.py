"""Random fuzzing of the cellmech command line: seeded mutations of the sample and the shared
real files (tests/fuzz_cases.py), each run in a subprocess with a timeout; prints a table of
category x runs, clean errors, tracebacks, hangs, wrong successes and valid inputs rejected.

    python benchmarks/fuzz.py --minutes 10 [--seed 0] [--timeout 120]

Failing cases are listed after the table with the command to reproduce them.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz_cases import GENERATORS, outcome  # noqa: E402

COLUMNS = ("runs", "clean", "ok", "traceback", "hang", "wrong success", "rejected")


def run_one(case, out: Path, timeout: float) -> tuple[int | None, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "cellmech", *case.argv]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None, ""
    return done.returncode, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per run")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    table = collections.defaultdict(collections.Counter)
    failures = []
    deadline = time.monotonic() + args.minutes * 60
    names = list(GENERATORS)
    i = 0
    while time.monotonic() < deadline:
        category = names[i % len(names)]
        i += 1
        with tempfile.TemporaryDirectory(prefix="cellmech-fuzz-") as tmp:
            case = GENERATORS[category](rng, Path(tmp))
            code, stderr = run_one(case, Path(tmp), args.timeout)
            result = outcome(case, code, stderr, Path(tmp) / "out")
        table[category]["runs"] += 1
        table[category][result] += 1
        if result not in ("clean", "ok"):
            failures.append((category, case.name, result, stderr.strip()[-300:]))
    print(f"{'category':16s}" + "".join(f"{c:>15s}" for c in COLUMNS))
    total = collections.Counter()
    for category in names:
        total.update(table[category])
        print(f"{category:16s}" + "".join(f"{table[category][c]:15d}" for c in COLUMNS))
    print(f"{'total':16s}" + "".join(f"{total[c]:15d}" for c in COLUMNS))
    for failure in failures:
        print("FAIL", *failure, sep=" | ")


if __name__ == "__main__":
    main()
