"""Does MT10's answer depend on the code or on the machine? The start of its meta-training at two checkouts and two
sets of CPU kernels.

The design brief's command (`snakemake --cores 16 results/metaworld/clusters.csv`) gave two groups with the verdict
`structure` at c90904e and three with `no_reliable_structure` at 577cfaf. For each checkout of ``--checkouts`` (a
folder holding src/, e.g. a git worktree) and each value of torch's ``ATEN_CPU_CAPABILITY`` in ``--capabilities``
(``native``: the machine's best kernels, as every run uses; ``default``: the portable ones, as a machine without AVX
would run), a fresh process trains the `metaworld` benchmark's meta-policy at ``--preset`` (the workstation preset
the command runs) for ``--steps`` environment steps (one torch thread, as the meta_train job) and reports a hash of
the parameters and the training curve. Same hash: same code path bit for bit; a curve that parts with the kernels
alone says that the machine's floating point steers PPO on MT10. Writes mt10_drift.csv (one row per logged step of
each run) under --out and prints the last row of each run.

    python -m benchmarks.mt10_drift --checkouts /tmp/wt-c90904e . --steps 25600
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from benchmarks.common import script_parser, write_rows
from policygradex.provenance import checkout_commit

#: Run in a fresh interpreter (the kernels are chosen when torch is imported): train and print the outcome.
CHILD = """
import hashlib, json, sys, tempfile
import numpy as np, torch, yaml
from policygradex.config import benchmark, validate_config
from policygradex.training import train_policy
torch.set_num_threads(1)
steps, preset = int(sys.argv[1]), sys.argv[2]
config = yaml.safe_load(open("config.yaml"))
config["preset"] = preset
bench = benchmark(validate_config(config), "metaworld")
with tempfile.TemporaryDirectory() as tmp:
    model = train_policy(bench, range(len(bench["tasks"])), steps, seed=bench["seed"], output=tmp + "/policy.pt",
                         log_csv=tmp + "/log.csv", desc="mt10_drift")
    log = open(tmp + "/log.csv").read()
params = torch.cat([v.flatten().float() for v in model.policy.state_dict().values()]).numpy()
print(json.dumps({"param_hash": hashlib.sha1(np.ascontiguousarray(params).tobytes()).hexdigest()[:10], "log": log}))
"""


def run(checkout: Path, capability: str, steps: int, preset: str) -> list[dict]:
    """One training run at ``checkout`` with torch's CPU kernels ``capability``: a row per logged step."""
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    env.pop("ATEN_CPU_CAPABILITY", None)
    if capability != "native":
        env["ATEN_CPU_CAPABILITY"] = capability
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(steps), preset],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    log = pd.read_csv(io.StringIO(result["log"]))
    commit, dirty = checkout_commit(checkout, short=True)
    label = commit + ("+dirty" if dirty else "")
    return [
        {"checkout_commit": label, "cpu_capability": capability, "steps": int(row.steps),
         "mean_return": row.mean_return, "success_rate": getattr(row, "success_rate", float("nan")),
         "param_hash": result["param_hash"]}
        for row in log.itertuples()
    ]  # fmt: skip


def main() -> None:
    parser = script_parser(__doc__, "mt10_drift", table="mt10_drift.csv")
    parser.add_argument("--checkouts", type=Path, nargs="+", default=[Path(".")], help="folders holding src/")
    parser.add_argument("--capabilities", nargs="+", default=["native", "default"], help="ATEN_CPU_CAPABILITY values")
    parser.add_argument("--steps", type=int, default=25600, help="environment steps of meta-training")
    parser.add_argument("--preset", default="workstation", help="the metaworld preset (default: %(default)s)")
    args = parser.parse_args()
    rows = []
    for checkout in args.checkouts:
        for capability in args.capabilities:
            rows += run(checkout.resolve(), capability, args.steps, args.preset)
            print(json.dumps(rows[-1]), flush=True)
    write_rows(rows, args.out, "mt10_drift")


if __name__ == "__main__":
    main()
