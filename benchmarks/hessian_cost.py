"""CPU seconds per Hutchinson probe (one Hessian-vector product) against the number of actor parameters.

Builds the pointmass actor at several widths, draws a batch of synthetic samples of the size the ``hessian``
stage uses, and times a fixed number of probes on one torch thread (CPU seconds of the process); the median of
``--repeats`` runs is reported. Prints a table and writes hessian_cost.csv and .json under ``--out``, so users can
budget ``hessian.max_probes``.

    python -m benchmarks.hessian_cost --widths 16 64 128 256 --samples 4000
"""

from __future__ import annotations

import statistics

import torch

from benchmarks.common import ROOT, rows_without, script_parser, write_rows
from policygradex.config import load_config
from policygradex.hessian import Batch, hutchinson_trace, policy_loss
from policygradex.io import Stopwatch
from policygradex.policy import ActorLogProb, actor_params, build_policy


def main() -> None:
    parser = script_parser(
        __doc__,
        "hessian_cost",
        table="hessian_cost.csv",
        show=rows_without("commit"),
        label=True,
    )
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 64, 128, 256])
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
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
    write_rows(rows, args.out, "hessian_cost", hide=("commit",))


if __name__ == "__main__":
    main()
