"""Stage 8, report: the affinity heatmap, the clusters and the evaluation as plots, in one HTML page.

The plots are also written as PNG files beside the page so that Snakemake's ``--report`` can show them.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from policygradex.artifacts import EVALUATION_COLUMNS, FEATURE_KEYS, HESSIAN_COLUMNS, LOG_COLUMNS
from policygradex.clustering import similarity
from policygradex.config import Benchmark, task_names
from policygradex.diagnosis import NOISY_CONSISTENCY
from policygradex.families import is_mo, mo_component_names, task_env_id
from policygradex.gradients import consistency_of
from policygradex.io import atomic_path, read_affinity, read_clusters, read_csv, read_npz
from policygradex.plotting import plt, save_figure
from policygradex.provenance import read_runs
from policygradex.summary import advice


def plot_affinity(affinity: pd.DataFrame, clusters: pd.DataFrame, path: Path, label: str, title: str) -> None:
    """Heatmap of a task x task matrix with tasks ordered by group (config order within one) and borders drawn."""
    order = clusters.sort_values("group", kind="stable")["task"].tolist()
    t = affinity.loc[order, order].to_numpy()
    fig, ax = plt.subplots(figsize=(1 + 0.45 * len(order), 0.8 + 0.4 * len(order)))
    image = ax.imshow(t, cmap="viridis")
    ax.set_xticks(range(len(order)), order, rotation=90)
    ax.set_yticks(range(len(order)), order)
    ax.set_xlabel("co-trained task j")
    ax.set_ylabel("scored task i")
    sizes = clusters.groupby("group").size().to_numpy()
    for edge in np.cumsum(sizes)[:-1]:
        ax.axhline(edge - 0.5, color="white", lw=2)
        ax.axvline(edge - 0.5, color="white", lw=2)
    fig.colorbar(image, ax=ax, label=label)
    ax.set_title(title)
    save_figure(fig, path)


def plot_k_scores(quality: dict, path: Path) -> None:
    """Per candidate k: z against the permutation null and split-half stability (what ``k: auto`` reads: the
    largest k near the best stability; with the verdict's threshold); the chosen k marked on both."""
    scores = pd.DataFrame(quality["k_scores"])
    threshold = quality["thresholds"]["min_stability"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    left.plot(scores["k"], scores["z"], "o-", color="tab:green")
    left.set_ylabel("z: groups against the permutation null")
    right.plot(scores["k"], scores["stability"], "o-")
    right.axhline(threshold, color="black", lw=1, ls=":", label=f"threshold {threshold}")
    right.set_ylabel("split-half stability (ARI)")
    right.set_ylim(min(-0.1, scores["stability"].min() - 0.05), 1.05)
    right.legend(fontsize=7, loc="lower left")
    for ax in (left, right):
        ax.axvline(quality["k"], color="tab:red", lw=1)
        ax.set_xlabel("k (number of groups)")
        ax.set_xticks(scores["k"])
    fig.suptitle(f"How many groups do the data support? k = {quality['k']} ({quality['k_selection']})", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def provenance_html(path: Path) -> str:
    """The runs that built the folder (provenance.json): when, from which commit, with which settings."""
    if not path.exists():
        return ""
    rows = [
        f"<li>{html.escape(run['started'])}: commit {html.escape(run['commit'][:10])}"
        f"{' with uncommitted changes' if run['dirty'] else ''}, settings {run['settings_sha256'][:12]},"
        f" torch {html.escape(run['packages'].get('torch', '?'))}</li>"
        for run in read_runs(path)
    ]
    return (
        f"<h2>What made this</h2><p>Every run that built in this folder (provenance.json):</p><ul>{''.join(rows)}</ul>"
    )


def verdict_html(quality: dict) -> str:
    """The trust verdict in words, first on the page."""
    reliability = quality["reliability"]
    if quality["verdict"] == "structure":
        head = "<p><b>The groups are reliable.</b>"
    else:
        what = advice(quality.get("diagnoses", []), quality.get("gradient_consistency"))
        head = f"<p style='color:#a00'><b>No reliable structure</b>: {html.escape(what)}."
    return (
        f"{head} Why: {html.escape(quality['reason'])}.</p><ul>"
        f"<li>k = {quality['k']} ({html.escape(quality['k_selection'])})"
        + "".join(
            f"; k = {o['k']} is also supported (stability {o['stability']:.2f}, p = {o['p_value']:.3g})"
            for o in quality.get("also_supported", [])
        )
        + "</li>"
        f"<li>Permutation test: p = {quality['p_value']:.3g} (the groups of each half of the subsets judged on the"
        f" other half, against {quality['permutation']['permutations']} row-permuted affinities)</li>"
        f"<li>Two random halves of the {2 * reliability['half_subsets']} subsets ({reliability['splits']} splits):"
        f" their clusterings agree at ARI {reliability['stability']:.2f}; their affinities' row-wise Spearman is"
        f" {reliability['row_spearman_half']:.2f} ({reliability['row_spearman']:.2f} corrected to all subsets)</li>"
        + (f"<li>Against the planted groups: ARI {quality['ari']:.2f}, NMI {quality['nmi']:.2f}</li>"
           if "ari" in quality else "")
        + "</ul>"
    )  # fmt: skip


def task_coordinates(bench: Benchmark) -> tuple[np.ndarray, str, str] | None:
    """Where to draw each task: pointmass goals, or the first two preference weights of an MO task; None for
    tasks without a geometry (Meta-World, Gymnasium tasks)."""
    if bench["env"] == "pointmass":
        return np.array([t["goal"] for t in bench["tasks"]], dtype=float), "goal x", "goal y"
    if is_mo(bench) and all(len(t["weights"]) >= 2 for t in bench["tasks"]):
        components = mo_component_names(task_env_id(bench, bench["tasks"][0]), len(bench["tasks"][0]["weights"]))
        weights = np.array([t["weights"][:2] for t in bench["tasks"]], dtype=float)
        return weights, f"weight of {components[0]}", f"weight of {components[1]}"
    return None


def plot_clusters(bench: Benchmark, clusters: pd.DataFrame, path: Path) -> None:
    """Each task coloured by its group (marker by its planted label when there is one), placed by its goal or
    preference weights; tasks without a geometry are listed in one column per group."""
    group_of = dict(zip(clusters["task"], clusters["group"], strict=True))
    coordinates = task_coordinates(bench)
    if coordinates is None:
        groups = sorted(clusters["group"].unique())
        tallest = clusters.groupby("group").size().max()
        fig, ax = plt.subplots(figsize=(2.2 * len(groups), 0.9 + 0.3 * tallest))
        for column, group in enumerate(groups):
            members = clusters.loc[clusters["group"] == group, "task"].tolist()
            ax.text(column, 0, f"group {group}", ha="center", weight="bold", color=plt.cm.tab10(group % 10))
            for row, task in enumerate(members, start=1):
                ax.text(column, row, task, ha="center", fontsize=9)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_ylim(tallest + 0.6, -0.6)
        ax.axis("off")
        ax.set_title("Tasks by cluster")
        save_figure(fig, path)
        return
    xy, xlabel, ylabel = coordinates
    fig, ax = plt.subplots(figsize=(5, 5))
    planted = sorted({t.get("group", "") for t in bench["tasks"]})
    markers = "os^Dvp*hX"
    for task, (x, y) in zip(bench["tasks"], xy, strict=True):
        marker = markers[planted.index(task.get("group", "")) % len(markers)]
        ax.scatter(x, y, s=120, marker=marker, color=plt.cm.tab10(group_of[task["name"]] % 10))
        ax.annotate(task["name"], (x, y), textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.scatter(0, 0, marker="+", color="black", s=100)
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title("Tasks: colour = cluster, marker = planted group")
    save_figure(fig, path)


def plot_gradient_consistency(names: list[str], consistency: list[float], path: Path) -> None:
    """Each task's gradient consistency (features.py) against the level below which estimate warns."""
    fig, ax = plt.subplots(figsize=(1.5 + 0.45 * len(names), 3.5))
    ax.bar(
        range(len(names)), consistency, color=["tab:red" if c < NOISY_CONSISTENCY else "tab:blue" for c in consistency]
    )
    ax.axhline(NOISY_CONSISTENCY, color="black", ls="--", lw=1, label=f"{NOISY_CONSISTENCY}: mostly noise below")
    ax.set_xticks(range(len(names)), names, rotation=90)
    ax.set_ylim(-1, 1)
    ax.set_ylabel("cos(fitted, held-out gradient)")
    ax.set_title("Gradient consistency of the features per task")
    ax.legend(loc="lower right", fontsize=8)
    save_figure(fig, path)


def plot_evaluation(evaluation: pd.DataFrame, names: list[str], path: Path) -> None:
    """Mean return per task (config order) of each method, the legend beside the bars."""
    table = evaluation.pivot(index="task", columns="method", values="mean_return").reindex(names)
    fig, ax = plt.subplots(figsize=(2.5 + 0.5 * len(table), 4))
    table.plot.bar(ax=ax)
    ax.set_xlabel("task")
    ax.set_ylabel("mean return (deterministic)")
    ax.legend(title="method", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    means = evaluation.groupby("method")["mean_return"].mean()
    ax.set_title("Mean over tasks: " + ", ".join(f"{m} {v:.2f}" for m, v in means.items()), fontsize=9)
    save_figure(fig, path)


def plot_train_curves(meta_log: pd.DataFrame | None, group_logs: list[pd.DataFrame], path: Path) -> None:
    """Mean return of the recent episodes against environment steps: meta-training (left) and each group's
    fine-tuning from theta* (right)."""
    fig, (meta, groups) = plt.subplots(1, 2, figsize=(9, 3.4))
    if meta_log is not None:
        meta.plot(meta_log["steps"], meta_log["mean_return"])
    for group, log in enumerate(group_logs):
        groups.plot(log["steps"], log["mean_return"], label=f"group {group}")
    meta.set_title("Meta-training (all tasks)", fontsize=9)
    groups.set_title("Fine-tuning from theta*, one policy per group", fontsize=9)
    for ax in (meta, groups):
        ax.set_xlabel("environment steps")
        ax.set_ylabel("mean return of recent episodes")
    if group_logs:
        groups.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def in_short(quality: dict, clusters: pd.DataFrame, means: pd.Series) -> str:
    """The first paragraph of the report: the groups, whether to trust them, and what they gained (``means``: the
    mean return over tasks of each method)."""
    groups = "; ".join(
        f"{group}: {', '.join(members['task'])}" for group, members in clusters.groupby("group", sort=True)
    )
    trust = "reliable" if quality["verdict"] == "structure" else "<b>not reliable</b> (see below)"
    text = f"<p><b>In short.</b> {clusters['group'].nunique()} groups ({html.escape(groups)}); they are {trust}."
    if "ari" in quality:
        text += f" Against the planted groups: ARI {quality['ari']:.2f}."
    if {"single", "policygradex"} <= set(means.index):
        gain = 100 * (means["policygradex"] - means["single"]) / max(abs(means["single"]), 1e-12)
        text += (
            f" One policy per group reaches a mean return of {means['policygradex']:.3g} against"
            f" {means['single']:.3g} for the one meta-policy on every task ({gain:+.0f}%)."
        )
    return text + "</p>"


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(path.stem)}">'


def run(
    bench: Benchmark,
    affinity: str | Path,
    clusters: str | Path,
    quality: str | Path,
    evaluation: str | Path,
    hessian: str | Path,
    features: Sequence[str | Path],
    plots_dir: str | Path,
    output: str | Path,
    train_logs: Sequence[str | Path] = (),
    title: str = "",
) -> None:
    """Write the plots into ``plots_dir`` and the report to ``output``. ``features``: every task's npz in config
    order; ``train_logs``: meta/train_log.csv, then each group's in order; ``title``: the benchmark's name."""
    names = task_names(bench)
    consistency = [consistency_of(read_npz(path, FEATURE_KEYS)) for path in features]
    affinity = read_affinity(affinity, names)
    clusters = read_clusters(clusters, names)
    evaluation = read_csv(evaluation, EVALUATION_COLUMNS)
    quality = json.loads(Path(quality).read_text())
    hessian = read_csv(hessian, HESSIAN_COLUMNS)
    plots = Path(plots_dir)
    plot_affinity(
        affinity, clusters, plots / "affinity.png", "T[i, j]: mean score of i over subsets with i and j",
        "Estimated task affinity, grouped by cluster",
    )  # fmt: skip
    sim = pd.DataFrame(similarity(affinity.to_numpy()), index=affinity.index, columns=affinity.columns)
    plot_affinity(
        sim, clusters, plots / "similarity.png", "similarity (row ranks, symmetrised)",
        "What the clustering sees: each task's ranking of its partners",
    )  # fmt: skip
    plot_k_scores(quality, plots / "k_scores.png")
    plot_clusters(bench, clusters, plots / "clusters.png")
    plot_evaluation(evaluation, names, plots / "evaluation.png")
    logs = [read_csv(path, LOG_COLUMNS) for path in train_logs]
    plot_train_curves(logs[0] if logs else None, logs[1:], plots / "train_curves.png")
    plot_gradient_consistency(names, consistency, plots / "gradient_consistency.png")
    summary = evaluation.groupby("method")[["mean_return", "success_rate"]].mean()
    heading = html.escape(title)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>PolicyGradEx: {heading}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}} img{{max-width:100%}}
td,th{{padding:2px 8px}}</style>
</head><body><h1>PolicyGradEx report: {heading}</h1>
{in_short(quality, clusters, summary["mean_return"])}
<h2>Can the groups be trusted?</h2>{verdict_html(quality)}{_img(plots / "k_scores.png")}
<h2>Clusters</h2>{_img(plots / "clusters.png")}
<p>Table: each task's group (and its planted label when the config has one).</p>
{clusters.to_html(index=False)}
<h2>Affinity</h2><p>Left: the estimated affinity (each row on its task's own scale, so rows differ more than
columns). Right: the matrix the clustering sees, each task's ranking of its partners, symmetrised; groups are the
bright blocks on the diagonal.</p>{_img(plots / "affinity.png")}{_img(plots / "similarity.png")}
<p>Gradient consistency: the cosine between each task's policy gradient on the fitted and on the held-out
episodes. Near 1 the rollouts determine the gradient; near 0 it is noise, and so is the affinity (raise
features.episodes).</p>{_img(plots / "gradient_consistency.png")}
<h2>Evaluation</h2><p>Table: mean over tasks per method (policygradex: each task under its group's policy;
single: the meta-policy on every task), deterministic episodes.</p>{summary.to_html(float_format="%.3f")}
{_img(plots / "evaluation.png")}
<p>Table: every task under every method (group: the policy that played it).</p>
{evaluation.to_html(index=False, float_format="%.3f")}
<h2>Training curves</h2>{_img(plots / "train_curves.png")}
<h2>Generalization (Hessian trace)</h2><p>Table: per policy, the trace of the loss Hessian on its own training set,
the observed gap between fresh and training episodes, and the bound sqrt(distance^2 Tr(H) / N).</p>
{_img(plots / "hessian.png")}
{hessian.to_html(index=False, float_format="%.4g")}
{provenance_html(Path(output).parent / "provenance.json")}
</body></html>"""
    with atomic_path(output) as tmp:
        tmp.write_text(page)
