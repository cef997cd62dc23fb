"""Run ``cellmech batch`` on a SLURM cluster with dask-jobqueue (``pip install dask-jobqueue``).

The scheduler runs in this process (start it on a login node or in a small job); every SLURM
job started by ``cluster.scale`` runs ``--cores`` Dask worker processes of one thread each, and
each worker runs one sample at a time. Workers open the input files and write ``OUT/<sample>/``
themselves, so INPUT_DIR and OUT must be on a file system every node mounts at the same path
(home, project or scratch space; not a node-local /tmp). For PBS use ``PBSCluster`` with the
same arguments (``account`` is ``-A``, ``queue`` is ``-q``).

    python examples/slurm_batch.py /project/afm/2024-05-13 -o /project/afm/results --jobs 4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import dask
from dask_jobqueue import SLURMCluster

from cellmech.batch import run_batch
from cellmech.config import load_config
from cellmech.pairing import pair_folder, read_pairs_csv
from cellmech.pipeline import STAGES, make_settings


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input_dir", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--pairs", type=Path, help="pairs CSV (default: pair by file name)")
    p.add_argument("--config", type=Path, help="cellmech TOML configuration")
    p.add_argument("--jobs", type=int, default=4, help="SLURM jobs (nodes) to start")
    p.add_argument("--cores", type=int, default=16, help="cores per job = samples at once")
    p.add_argument("--memory", default="64GB", help="memory per job (a 64x64 map: ~2 GB)")
    p.add_argument("--walltime", default="04:00:00")
    p.add_argument("--account", default=None)
    p.add_argument("--queue", default=None)
    args = p.parse_args()

    settings = make_settings(*([load_config(args.config, STAGES)] if args.config else []))
    if args.pairs:
        pairing = read_pairs_csv(args.pairs, args.input_dir)
    else:
        pairing = pair_folder(args.input_dir)
    # a worker killed by SLURM (memory, walltime) fails its sample after one retry elsewhere
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = SLURMCluster(
            cores=args.cores,
            processes=args.cores,  # one single-threaded worker process per core
            memory=args.memory,
            walltime=args.walltime,
            account=args.account,
            queue=args.queue,
            job_script_prologue=["export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1"],
        )
    try:
        cluster.scale(jobs=args.jobs)
        result = run_batch(
            pairing,
            args.output,
            settings,
            scheduler=cluster.scheduler_address,
            threads_per_worker=1,
            meta={"command": sys.argv, "input_dir": str(args.input_dir.resolve())},
        )
    finally:
        cluster.close()
    for outcome in result.outcomes:
        if outcome.status == "failed":
            print(f"failed {outcome.sample}: {outcome.error}", file=sys.stderr)
    print(f"report: {args.output / 'batch_report.html'}")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
