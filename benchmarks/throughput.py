"""Throughput of each benchmark on this machine: env-steps/second of meta-training and seconds per estimation
subset, with the settings of a config preset (smoke by default: the budgets differ, the per-step costs not).

Per benchmark, in this process (torch on ``--threads`` threads):

- ``meta_train_steps_per_s``: multitask PPO (the meta_train stage's learner, every task in one vector env)
  over ``--steps`` env steps, median of ``--repeats`` runs;
- ``features_s_per_task``: the features stage of one task (rollouts of theta*, per-sample gradients,
  projection), median over the tasks;
- ``estimate_s_per_subset_return`` / ``_surrogate``: the estimate stage's cost of one subset (logistic fit,
  then scoring every task of the subset by rollouts or by the surrogate), median over ``--subsets`` subsets.

Writes throughput.csv and throughput.json under ``--out`` and prints a markdown table.

With ``--gradients``, instead: the gradient features' own rate against its physical limit, per benchmark and
``--devices``. On the same ``--samples`` random (observation, action) pairs of the benchmark's network (the
preset's ``net_arch``), in batches of the features stage's ``batch_size``:

- ``plain_samples_per_s``: one batched forward + backward of the summed log pi (one gradient per batch), the
  least any gradient of these samples can cost (ratio 1.0);
- ``unprojected_samples_per_s``: the per-sample gradients alone (vmap of grad), not projected;
- ``per_sample_samples_per_s``: the features stage's per-sample gradients projected to d by P;
- ``ratio``: per-sample over plain;
- ``kronecker_samples_per_s`` / ``kronecker_ratio``: the same with ``features.projection: kronecker`` (each
  layer's gradient projected by a Kronecker product from one batched backward; its d in ``kronecker_dim``).
  Median of ``--repeats`` runs after one warm-up. Beside it
  ``gradient_gb_per_s``: the per-sample gradients written per second (D floats a sample, where the plain
  backward writes D a batch), the memory traffic that grows with the network and that a plain backward lacks.
  Writes gradient_throughput.csv / .json.

    python -m benchmarks.throughput --benchmarks pointmass halfcheetah hopper ant metaworld
    python -m benchmarks.throughput --gradients --benchmarks ant metaworld --preset full --devices cpu cuda
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from benchmarks.common import load_bench, markdown_table, read_rows, script_parser, write_rows
from policygradex.config import task_names
from policygradex.estimator import SubsetEstimator
from policygradex.features import compute_features
from policygradex.gradients import KroneckerProjection, per_sample_grads, projected_grads, projection_matrix
from policygradex.io import write_npz
from policygradex.policy import ActorLogProb, actor_params, build_policy, flatten, save_policy
from policygradex.subsets import draw_subsets
from policygradex.training import make_learner


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def write_features(bench: dict, policy_path: Path, task: str, path: Path) -> None:
    write_npz(path, **compute_features(bench, policy_path, task))


def measure(name: str, preset: str, steps: int, repeats: int, subsets: int, workdir: Path) -> dict:
    bench = load_bench(name, preset)
    n = len(bench["tasks"])
    learn_seconds = []
    for repeat in range(repeats):
        model = make_learner(bench, range(n), seed=repeat)
        learn_seconds.append(timed(model.learn, total_timesteps=steps))
        model.get_env().close()
    policy_path = workdir / name / "policy.pt"
    model.policy.to("cpu")
    save_policy(model.policy, policy_path)

    feature_paths, feature_seconds = [], []
    for task in task_names(bench):
        path = workdir / name / f"{task}.npz"
        feature_seconds.append(timed(write_features, bench, policy_path, task, path))
        feature_paths.append(path)

    row = {
        "benchmark": name,
        "preset": preset,
        "tasks": n,
        "episode_length": bench["episode_length"],
        "meta_train_steps_per_s": steps / statistics.median(learn_seconds),
        "features_s_per_task": statistics.median(feature_seconds),
    }
    cfg = bench["estimate"]
    for score in ("return", "surrogate"):
        scored = copy.deepcopy(bench)
        scored["estimate"]["score"] = score
        estimator = SubsetEstimator(scored, policy_path, feature_paths)
        drawn = draw_subsets(n, cfg["subset_size"], subsets, seed=0)
        seconds = [timed(estimator.estimate, subset) for subset in drawn]
        row[f"estimate_s_per_subset_{score}"] = statistics.median(seconds)
    row["subset_size"] = cfg["subset_size"]
    row["score_episodes"] = cfg["score_episodes"]
    return row


def synchronised(device: torch.device):
    """A function that waits for the device's queued work (CUDA runs asynchronously), so timings are real."""
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def median_seconds(fn, sync, repeats: int) -> float:
    fn()  # warm-up: allocations, kernel selection
    sync()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def gradient_rate(name: str, preset: str, device_name: str, samples: int, repeats: int) -> dict:
    """Per-sample gradient + projection against a plain batched forward + backward (module docstring)."""
    bench = load_bench(name, preset)
    device = torch.device(device_name)
    module = ActorLogProb(build_policy(bench)).to(device)
    params = actor_params(module)
    num_params = int(flatten(params).numel())
    generator = torch.Generator().manual_seed(0)
    obs = torch.randn((samples, *module.policy.observation_space.shape), generator=generator).to(device)
    actions = torch.randn((samples, *module.policy.action_space.shape), generator=generator).to(device)
    batch = bench["features"]["batch_size"]
    projection = projection_matrix(num_params, bench["features"]["projection_dim"], seed=0, device=device)
    live = [module.get_parameter(n) for n in params]

    def plain() -> None:
        for start in range(0, samples, batch):
            torch.autograd.grad(module(obs[start : start + batch], actions[start : start + batch]).sum(), live)

    def unprojected() -> None:
        for start in range(0, samples, batch):
            per_sample_grads(module, params, obs[start : start + batch], actions[start : start + batch], batch)

    def per_sample() -> None:
        projected_grads(module, params, obs, actions, projection, batch)

    kronecker = KroneckerProjection(module, params, bench["features"]["projection_dim"], seed=0)

    def kronecker_projected() -> None:
        kronecker.project(obs, actions, batch)

    sync = synchronised(device)
    plain_s = median_seconds(plain, sync, repeats)
    unprojected_s = median_seconds(unprojected, sync, repeats)
    per_sample_s = median_seconds(per_sample, sync, repeats)
    kronecker_s = median_seconds(kronecker_projected, sync, repeats)
    row = {
        "benchmark": name,
        "preset": preset,
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"cpu ({torch.get_num_threads()} threads)",
        "net_arch": "x".join(map(str, bench["policy"]["net_arch"])),
        "actor_params": num_params,
        "projection_dim": projection.shape[1],
        "batch_size": batch,
        "samples": samples,
        "plain_samples_per_s": samples / plain_s,
        "unprojected_samples_per_s": samples / unprojected_s,
        "per_sample_samples_per_s": samples / per_sample_s,
        "ratio": plain_s / per_sample_s,
        "kronecker_dim": kronecker.dim,
        "kronecker_samples_per_s": samples / kronecker_s,
        "kronecker_ratio": plain_s / kronecker_s,
    }
    row["gradient_gb_per_s"] = gradient_traffic(row)
    return row


def gradient_traffic(row) -> float:
    """GB/s of per-sample gradients the per-sample path writes (D floats a sample; the plain backward writes D
    a batch): traffic that no per-sample method avoids and a plain backward never has."""
    return row["per_sample_samples_per_s"] * row["actor_params"] * 4 / 1e9


def gradient_table(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a gradient_throughput.csv as the pages show them, with the per-sample gradients' traffic."""
    columns = ["benchmark", "preset", "device", "net_arch", "actor_params", "projection_dim", "batch_size",
               "plain_samples_per_s", "per_sample_samples_per_s", "ratio", "gradient_gb_per_s"]  # fmt: skip
    table = table.assign(gradient_gb_per_s=table.apply(gradient_traffic, axis=1))
    kronecker = ["kronecker_dim", "kronecker_samples_per_s", "kronecker_ratio"]  # files of later commits
    return table[columns + [c for c in kronecker if c in table]]


def main() -> None:
    parser = script_parser(
        __doc__,
        "throughput",
        table="gradient_throughput.csv",
        show=lambda path: markdown_table(gradient_table(read_rows(path))),
    )
    parser.add_argument("--benchmarks", nargs="+", default=["pointmass", "halfcheetah", "hopper", "ant", "metaworld"])
    parser.add_argument("--preset", default="smoke", help="the preset whose settings are measured (default smoke)")
    parser.add_argument("--steps", type=int, default=8192, help="env steps of each meta-training measurement")
    parser.add_argument("--repeats", type=int, default=3, help="meta-training measurements (median)")
    parser.add_argument("--subsets", type=int, default=3, help="estimation subsets timed (median)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--gradients", action="store_true", help="measure the gradient features' rate (docstring)")
    parser.add_argument("--devices", nargs="+", default=["cpu"], help="with --gradients: torch devices to measure")
    parser.add_argument("--samples", type=int, default=8192, help="with --gradients: samples per measurement")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.gradients:
        rows = []
        for name in args.benchmarks:
            for device in args.devices:
                rows.append(gradient_rate(name, args.preset, device, args.samples, args.repeats))
                print(f"{name} {device}: {rows[-1]}", flush=True)
        write_rows(rows, args.out, "gradient_throughput")
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.benchmarks:
            rows.append(measure(name, args.preset, args.steps, args.repeats, args.subsets, Path(tmp)))
            print(f"{name}: {rows[-1]}", flush=True)
    write_rows(rows, args.out, "throughput")


if __name__ == "__main__":
    main()
