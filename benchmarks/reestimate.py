"""Does the task id make PolicyGradEx's affinity blind to partners? Gradient features over the shared parameters.

The reading of README "PolicyGradEx against gradient similarity": when the policy sees a one-hot task id, the
first layer's weights on that id's input are a task's own parameters. In the projected gradients they give each
task a direction of its own, so the logistic fit of a subset can raise every task through its own weights, and a
task's score says little about its partners (pointmass with task ids: rows of T flat; MT10: T uncorrelated with
the first-order model). The test: the same run again with the rows of the Rademacher matrix R that belong to
those weights set to 0, so the features see (R^T g) and the steps move (R w) only the parameters every task
shares. Everything else is the workflow's own code: features.compute_features and SubsetEstimator, with the
projection they build masked (a patch of this process only; the workflow has no such option yet).

For a finished run (``--run``, e.g. a ``claims.py`` seed folder) and the settings it was made with (``--benchmark
--preset --seed --set``, as in claims.py), in this process: the shared-parameter features of every task (same
rollouts: same seeds), the estimate of the run's own subsets, the affinity T_shared; against the run's affinity T
and the cosine of the shared features' mean gradients: the row-wise Spearman, the clusters' ARI against the
planted groups (at the run's k), and the Spearman of estimated against really fine-tuned scores on the validation
subsets of the run's approx_error.csv and of ``--real`` (first_order.py's csv, kind ``score``), before and after.

    python benchmarks/shared_features.py --benchmark metaworld --preset workstation --seed 0 \\
        --run benchmarks/out/mt10/tune-146379d/seed-0 \\
        --real docs/results/first_order_mt10_tuning_seed0_n2048_556a139.csv
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from claims import commit, load_bench, markdown_table, run_label, write_rows  # noqa: E402
from first_order_vs_cosine import linear_affinity  # noqa: E402

import policygradex.estimator as estimator_module  # noqa: E402
import policygradex.features as features_module  # noqa: E402
from policygradex.artifacts import FEATURE_KEYS  # noqa: E402
from policygradex.baselines import gradient_similarity, mean_policy_gradient  # noqa: E402
from policygradex.clustering import cluster  # noqa: E402
from policygradex.config import planted_groups, task_names  # noqa: E402
from policygradex.gradients import make_projection  # noqa: E402
from policygradex.io import read_affinity, read_npz, read_subset_scores, write_npz  # noqa: E402
from policygradex.subsets import subset_affinity  # noqa: E402
from policygradex.trust import adjusted_rand, row_spearman  # noqa: E402

FIRST_LAYER = "mlp_extractor.policy_net.0.weight"  # SB3's actor MLP: its first layer reads the observation


def shared_only(num_tasks: int):
    """make_projection, with R's rows of the first layer's weights on the last ``num_tasks`` inputs (the one-hot
    task id) set to 0: projected gradients and lifted steps then see only the parameters the tasks share."""

    def make(kind, module, params, dim, seed):
        if kind != "dense":
            raise SystemExit(f"features.projection {kind}: this experiment masks the dense projection only")
        projection = make_projection(kind, module, params, dim, seed)
        offset = 0
        for name, value in params.items():
            if name.endswith(FIRST_LAYER):
                rows, inputs = value.shape
                columns = np.arange(inputs - num_tasks, inputs)
                flat = offset + (np.arange(rows)[:, None] * inputs + columns[None, :]).ravel()
                projection.matrix[flat] = 0
                return projection
            offset += value.numel()
        raise SystemExit(f"no actor parameter named *{FIRST_LAYER}: {list(params)}")

    return make


def score_spearmans(estimator, bench: dict, real: pd.DataFrame) -> tuple[float, float]:
    """Spearman of the run's estimated scores and of this estimator's against the real ones (rows of kind score:
    subset_id, task, the estimate as ``estimated`` (approx_error.csv) or ``predicted`` (first_order.py), ``actual``)
    over all (subset, task) pairs."""
    from policygradex.estimator import chunk_subsets  # noqa: PLC0415

    names = task_names(bench)
    subsets = chunk_subsets(bench, int(real["subset_id"].max()) + 1, 1, 0)
    ours = {(sid, names[t]): s for sid, subset in subsets.items() for t, s in estimator.estimate(subset).items()}
    mine = [ours[(sid, task)] for sid, task in zip(real["subset_id"], real["task"], strict=True)]
    estimated = real["estimated"] if "estimated" in real else real["predicted"]
    return float(spearmanr(estimated, real["actual"]).statistic), float(spearmanr(mine, real["actual"]).statistic)


def measure(bench: dict, run: Path, real_path: Path | None, out: Path) -> dict:
    name = next(p.name for p in (run / "results").iterdir() if p.is_dir())
    results = run / "results" / name
    names = task_names(bench)
    patched = shared_only(len(names))
    features_module.make_projection = estimator_module.make_projection = patched
    paths = []
    for task in names:
        features = features_module.compute_features(bench, results / "meta" / "policy.pt", task)
        paths.append(out / "features" / f"{task}.npz")
        write_npz(paths[-1], **features)
        print(
            f"{task}: shared-parameter gradient consistency {float(features['gradient_consistency']):.2f}", flush=True
        )
    estimator = estimator_module.SubsetEstimator(bench, results / "meta" / "policy.pt", paths)
    scores, members = read_subset_scores(sorted((results / "subsets").glob("chunk_*.csv")), names)
    shared = np.full(members.shape, np.nan)
    for row, holds in enumerate(members):
        for task, score in estimator.estimate(tuple(np.flatnonzero(holds))).items():
            shared[row, task] = score
    t_shared = subset_affinity(shared, members)
    pd.DataFrame(t_shared, index=names, columns=names).to_csv(out / "affinity_shared.csv")
    affinity = read_affinity(results / "affinity.csv", names).to_numpy()
    grads = np.array([mean_policy_gradient(read_npz(p, FEATURE_KEYS)) for p in paths])
    cosine = gradient_similarity(grads)
    quality = json.loads((results / "cluster_quality.json").read_text())
    k, method = int(quality["k"]), bench["cluster"]["method"]
    row = {
        "run": run_label(run),
        "benchmark": name,
        "seed": bench["seed"],
        "commit": commit(),
        "k": k,
        "gradient_consistency_median_shared": float(np.median([np.load(p)["gradient_consistency"] for p in paths])),
        "row_spearman_T_shared_vs_T": row_spearman(t_shared, affinity),
        "row_spearman_T_shared_vs_cosine_shared": row_spearman(t_shared, cosine),
        "row_spearman_T_shared_vs_linear_shared": row_spearman(t_shared, linear_affinity(grads, members)),
        "affinity_row_spread_T": float(np.nanmax(np.nanmax(affinity, 1) - np.nanmin(affinity, 1))),
        "affinity_row_spread_T_shared": float(np.nanmax(np.nanmax(t_shared, 1) - np.nanmin(t_shared, 1))),
    }
    planted = planted_groups(bench)
    if planted is not None:
        row |= {
            "ari_T": adjusted_rand(np.array(planted), cluster(affinity, k, method)),
            "ari_T_shared": adjusted_rand(np.array(planted), cluster(t_shared, k, method)),
            "ari_cosine_shared": adjusted_rand(np.array(planted), cluster(cosine, k, method)),
        }
    for label, path in (("run", results / "approx_error.csv"), ("first_order", real_path)):
        if path is not None and path.exists():
            table = pd.read_csv(path)
            table = table[table["kind"] == "score"]
            for budget, part in table.groupby("budget") if "budget" in table else [("approx_error", table)]:
                before, after = score_spearmans(estimator, bench, part)
                row |= {f"score_spearman_{label}_{budget}": before, f"score_spearman_{label}_{budget}_shared": after}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", required=True)
    parser.add_argument("--preset", default="smoke")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE", help="config overrides")
    parser.add_argument("--run", type=Path, required=True, help="the finished run folder (results/<benchmark>/)")
    parser.add_argument("--real", type=Path, help="first_order.py's csv: really fine-tuned scores per budget")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "shared_features")
    args = parser.parse_args()
    bench = load_bench(args.benchmark, args.preset, args.set, args.seed)
    if bench["observe_task"] != "onehot":
        raise SystemExit(f"observe_task is {bench['observe_task']!r}: no task-id weights to leave out")
    row = measure(bench, args.run.resolve(), args.real, args.out / f"{args.benchmark}-seed-{args.seed}")
    write_rows([row], args.out, f"shared_features_{args.benchmark}_seed{args.seed}")
    print(markdown_table(pd.DataFrame([row]).T.reset_index()))


if __name__ == "__main__":
    main()
