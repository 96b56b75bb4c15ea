"""Re-estimate a finished run in this process with other estimate settings, or without the task id's own weights.

What in PolicyGradEx's estimate makes its affinity T differ from the first-order model T_lin and from gradient
similarity's cosine (README "PolicyGradEx against gradient similarity")? This script rebuilds T for the subsets of
a finished run (``--run``, e.g. a ``claims.py`` seed folder, with the settings it was made with: ``--benchmark
--preset --seed``) after one change, and compares the new affinity T_new with the run's T, with the cosine and T_lin
of the features it used, against the planted groups (clusters at the run's k), and against really fine-tuned scores
(the run's approx_error.csv and ``--real``, first_order.py's csv, kind ``score``: Spearman over (subset, task)).
The changes:

- ``--set estimate.KEY=VALUE``: any estimate setting, e.g. ``estimate.l2_inverse=1e-9``, which turns the Newton
  step's preconditioner (I + C/4 sum |A| x x^T)^-1 into the identity, so the step follows the subset's summed
  gradient as T_lin's does, and only the scoring differs from T_lin;
- ``--shared-only`` (one-hot task ids): the features are recomputed (same rollouts, same seeds) with the rows of
  the Rademacher matrix R that belong to the first layer's weights on the task-id inputs set to 0, so features
  and steps see only the parameters all tasks share (a patch of make_projection in this process; the workflow
  has no such option).

Everything else is the workflow's own code (features.compute_features, SubsetEstimator).

    python -m benchmarks.reestimate --benchmark metaworld --preset workstation --seed 0 \\
        --run benchmarks/out/mt10/tune-146379d/seed-0 --set estimate.l2_inverse=1e-9 \\
        --real docs/results/first_order-tuning_metaworld_146379d_seed0_n2048.csv --name no_preconditioner
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import adjusted_rand_score

import policygradex.estimator as estimator_module
import policygradex.features as features_module
from benchmarks.common import chunk_scores, commit, load_bench, run_label, script_parser, write_rows
from policygradex.artifacts import FEATURE_KEYS
from policygradex.baselines import gradient_similarity, mean_policy_gradient
from policygradex.clustering import cluster
from policygradex.config import planted_groups, task_names
from policygradex.gradients import make_projection
from policygradex.io import read_affinity, read_npz, write_npz
from policygradex.subsets import linear_affinity, subset_affinity
from policygradex.trust import row_spearman

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


def validation_scores(estimator, bench: dict, count: int) -> dict[tuple[int, str], float]:
    """This estimator's score of every task of the first ``count`` estimation subsets (the validation ones), by
    (subset id, task name): estimated once, compared with every table of real scores."""
    names = task_names(bench)
    subsets = estimator_module.chunk_subsets(bench, count, 1, 0)
    return {(sid, names[t]): s for sid, subset in subsets.items() for t, s in estimator.estimate(subset).items()}


def score_spearmans(ours: dict[tuple[int, str], float], real: pd.DataFrame) -> tuple[float, float]:
    """Spearman of the run's estimated scores and of ``ours`` (:func:`validation_scores`) against the real ones
    (rows of kind score: subset_id, task, the estimate as ``estimated`` (approx_error.csv) or ``predicted``
    (first_order.py), ``actual``) over all (subset, task) pairs."""
    mine = [ours[(sid, task)] for sid, task in zip(real["subset_id"], real["task"], strict=True)]
    estimated = real["estimated"] if "estimated" in real else real["predicted"]
    return float(spearmanr(estimated, real["actual"]).statistic), float(spearmanr(mine, real["actual"]).statistic)


def rescore(estimator, members: np.ndarray) -> np.ndarray:
    """The affinity of the run's subsets (``members``, m x n) under ``estimator``."""
    scores = np.full(members.shape, np.nan)
    for row, holds in enumerate(members):
        for task, score in estimator.estimate(tuple(np.flatnonzero(holds))).items():
            scores[row, task] = score
    return subset_affinity(scores, members)


def shared_features(bench: dict, policy: Path, out: Path) -> list[Path]:
    """Every task's features recomputed with the task id's own weights left out (module docstring)."""
    patched = shared_only(len(task_names(bench)))
    features_module.make_projection = estimator_module.make_projection = patched
    paths = []
    for task in task_names(bench):
        features = features_module.compute_features(bench, policy, task)
        paths.append(out / "features" / f"{task}.npz")
        write_npz(paths[-1], **features)
        print(f"{task}: gradient consistency {float(features['gradient_consistency']):.2f}", flush=True)
    return paths


def spread(affinity: np.ndarray) -> float:
    """The largest range of a row of the affinity: how much a task's score depends on its partners at most."""
    return float(np.nanmax(np.nanmax(affinity, 1) - np.nanmin(affinity, 1)))


def measure(bench: dict, run: Path, real_path: Path | None, shared: bool, out: Path) -> dict:
    name = next(p.name for p in (run / "results").iterdir() if p.is_dir())
    results = run / "results" / name
    names = task_names(bench)
    policy = results / "meta" / "policy.pt"
    if shared:
        paths = shared_features(bench, policy, out)
    else:
        paths = [results / "features" / f"{task}.npz" for task in names]
    estimator = estimator_module.SubsetEstimator(bench, policy, paths)
    _, members = chunk_scores(results, "subsets", names)
    t_new = rescore(estimator, members)
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(t_new, index=names, columns=names).to_csv(out / "affinity_new.csv")
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
        "gradient_consistency_median": float(np.median([np.load(p)["gradient_consistency"] for p in paths])),
        "row_spearman_T_new_vs_T": row_spearman(t_new, affinity),
        "row_spearman_T_vs_linear": row_spearman(affinity, linear_affinity(grads, members)),
        "row_spearman_T_new_vs_linear": row_spearman(t_new, linear_affinity(grads, members)),
        "row_spearman_T_new_vs_cosine": row_spearman(t_new, cosine),
        "affinity_row_spread_T": spread(affinity),
        "affinity_row_spread_T_new": spread(t_new),
    }
    planted = planted_groups(bench)
    if planted is not None:
        row |= {
            "ari_T": adjusted_rand_score(np.array(planted), cluster(affinity, k, method)),
            "ari_T_new": adjusted_rand_score(np.array(planted), cluster(t_new, k, method)),
            "ari_cosine": adjusted_rand_score(np.array(planted), cluster(cosine, k, method)),
        }
    tables = {}  # label -> the real scores of a file that has them
    for label, path in (("run", results / "approx_error.csv"), ("first_order", real_path)):
        if path is not None and path.exists():
            table = pd.read_csv(path)
            tables[label] = table[table["kind"] == "score"]
    if tables:
        ours = validation_scores(estimator, bench, max(int(t["subset_id"].max()) for t in tables.values()) + 1)
    for label, table in tables.items():
        for budget, part in table.groupby("budget") if "budget" in table else [("approx_error", table)]:
            before, after = score_spearmans(ours, part)
            row |= {f"score_spearman_{label}_{budget}": before, f"score_spearman_{label}_{budget}_new": after}
    return row


def main() -> None:
    parser = script_parser(__doc__, "reestimate")
    parser.add_argument("--benchmark", required=True)
    parser.add_argument("--preset", default="smoke")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE", help="the run's settings, changed")
    parser.add_argument("--shared-only", action="store_true", help="leave the task id's own weights out")
    parser.add_argument("--run", type=Path, required=True, help="the finished run folder (results/<benchmark>/)")
    parser.add_argument("--real", type=Path, help="first_order.py's csv: really fine-tuned scores per budget")
    parser.add_argument("--name", required=True, help="file name stem of the outputs (what was changed)")
    args = parser.parse_args()
    bench = load_bench(args.benchmark, args.preset, args.set, args.seed)
    if args.shared_only and bench["observe_task"] != "onehot":
        raise SystemExit(f"observe_task is {bench['observe_task']!r}: no task-id weights to leave out")
    label = f"{args.name}_{args.benchmark}_seed{args.seed}"
    row = measure(bench, args.run.resolve(), args.real, args.shared_only, args.out / label)
    row |= {"change": " ".join([*args.set, *(["--shared-only"] if args.shared_only else [])])}
    write_rows([row], args.out, label)


if __name__ == "__main__":
    main()
