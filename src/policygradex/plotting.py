"""Every plot of the workflow, and the one place that sets matplotlib up: a non-interactive backend (the jobs run
without a display, on SLURM nodes too) and the atomic PNG writer every plot goes through. The stages call these
with the tables they read; the evidence scripts draw their figures with the same functions."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from policygradex.config import Benchmark  # noqa: E402
from policygradex.diagnosis import NOISY_CONSISTENCY  # noqa: E402
from policygradex.families import is_mo, mo_component_names, task_env_id  # noqa: E402
from policygradex.io import atomic_path  # noqa: E402


def save_figure(fig: plt.Figure, path: str | Path) -> None:
    """Write ``fig`` to ``path`` as PNG (temporary file renamed into place) and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_hessian(table: pd.DataFrame, path: str | Path) -> None:
    """Bar plot of each policy's Hessian bound beside its observed generalization gap (log scale)."""
    labels = [f"{m} {g}" for m, g in zip(table["method"], table["group"], strict=True)]
    x = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(1.5 + 0.9 * len(table), 3.8))
    ax.bar(x - 0.2, table["bound"], width=0.4, label="Hessian bound sqrt(r^2 Tr(H) / N)")
    ax.bar(x + 0.2, table["observed_gap"].abs(), width=0.4, label="|observed gap| (test - train loss)")
    ax.set_xticks(x, labels, rotation=30)
    ax.set_yscale("log")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    ax.set_title("Generalization: Hessian measure vs observed gap")
    save_figure(fig, path)


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


def plot_comparison(table: pd.DataFrame, path: str | Path) -> None:
    """Bar plot of each method's mean return (PolicyGradEx in red) with its spread over runs."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    colours = ["tab:red" if m == "policygradex" else "tab:gray" for m in table["method"]]
    ax.bar(table["method"], table["mean_return"], yerr=table["return_std"], color=colours, capsize=4)
    ax.set_ylabel("mean return over tasks")
    ax.set_title("Grouping quality (same budget per group, deterministic evaluation)")
    ax.tick_params(axis="x", rotation=30)
    save_figure(fig, path)
