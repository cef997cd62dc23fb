"""Random fuzzing of the cellmech command line: seeded mutations of the sample and the shared
real files, bad paths, options and environments, interrupts and concurrent runs
(tests/fuzz_cases.py, tests/fuzz_faults.py), each run in subprocesses; prints a table of
category x runs, clean errors, tracebacks, hangs, wrong successes and valid inputs rejected.

    python benchmarks/fuzz.py --minutes 10 [--seed 0] [--timeout 120] [--only CATEGORY ...]

A run past ``--timeout`` counts as a hang only if it is stuck (uses no CPU) or still runs at
three times the timeout. Failing cases are listed after the table.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz_case import outcome, run_case  # noqa: E402
from tests.fuzz_cases import GENERATORS  # noqa: E402
from tests.mutate import release  # noqa: E402

COLUMNS = ("runs", "clean", "ok", "traceback", "hang", "wrong success", "rejected")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per run")
    parser.add_argument("--only", nargs="+", choices=list(GENERATORS), metavar="CATEGORY")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    table = collections.defaultdict(collections.Counter)
    failures = []
    deadline = time.monotonic() + args.minutes * 60
    names = args.only or list(GENERATORS)
    i = 0
    while time.monotonic() < deadline:
        category = names[i % len(names)]
        i += 1
        with tempfile.TemporaryDirectory(prefix="cellmech-fuzz-") as tmp:
            try:
                case = GENERATORS[category](rng, Path(tmp))
                code, stderr = run_case(case, args.timeout)
                result = outcome(case, code, stderr, Path(tmp) / "out")
            finally:
                release(Path(tmp))
        table[category]["runs"] += 1
        table[category][result] += 1
        if result not in ("clean", "ok"):
            failures.append((category, case.name, result, code, stderr.strip()[-300:]))
    print(f"{'category':18s}" + "".join(f"{c:>14s}" for c in COLUMNS))
    total = collections.Counter()
    for category in names:
        total.update(table[category])
        print(f"{category:18s}" + "".join(f"{table[category][c]:14d}" for c in COLUMNS))
    print(f"{'total':18s}" + "".join(f"{total[c]:14d}" for c in COLUMNS))
    for failure in failures:
        print("FAIL", *failure, sep=" | ")


if __name__ == "__main__":
    main()
