"""CPU seconds per Hutchinson probe (one Hessian-vector product) against the number of actor parameters.

Builds the pointmass actor at several widths, draws a batch of synthetic samples of the size the ``hessian``
stage uses, and times a fixed number of probes on one torch thread (CPU seconds of the process); the median of
``--repeats`` runs is reported. Prints a table and writes hessian_cost.csv and .json under ``--out``, so users can
budget ``hessian.max_probes``.

    python benchmarks/hessian_cost.py --widths 16 64 128 256 --samples 4000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from claims import markdown_table  # noqa: E402

from policygradex.config import load_config  # noqa: E402
from policygradex.hessian import Batch, hutchinson_trace, policy_loss  # noqa: E402
from policygradex.io import Stopwatch  # noqa: E402
from policygradex.policy import ActorLogProb, actor_params, build_policy  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 64, 128, 256])
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--commit", default="unknown", help="the commit measured (recorded in the outputs)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "hessian_cost")
    parser.add_argument("--table", type=Path, metavar="CSV", help="only print the table of a hessian_cost.csv")
    args = parser.parse_args()
    if args.table:
        print(markdown_table(pd.read_csv(args.table).drop(columns=["commit"], errors="ignore")))
        return
    torch.set_num_threads(1)
    bench = load_config(ROOT / "config.yaml")["benchmarks"]["pointmass"]
    rows = []
    for width in args.widths:
        bench["policy"]["net_arch"] = [width, width]
        torch.manual_seed(0)
        module = ActorLogProb(build_policy(bench))
        params = actor_params(module)
        batch = Batch(*(torch.randn(args.samples, 2) for _ in range(2)), *(torch.randn(args.samples) for _ in range(2)))
        times = []

        def loss(p, module=module, batch=batch):
            return policy_loss(module, p, batch)

        for repeat in range(args.repeats):
            clock = Stopwatch()
            hutchinson_trace(loss, params, args.probes, args.probes, 0.0, repeat)
            times.append(clock.cpu / args.probes)
        rows.append(
            {
                "width": width,
                "num_params": sum(p.numel() for p in params.values()),
                "samples": args.samples,
                "cpu_seconds_per_probe": statistics.median(times),
                "repeats": args.repeats,
                "commit": args.commit,
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "hessian_cost.csv", index=False)
    (args.out / "hessian_cost.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(markdown_table(table.drop(columns=["commit"])))


if __name__ == "__main__":
    main()
