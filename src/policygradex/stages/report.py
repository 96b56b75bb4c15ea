"""Stage 8, report: the affinity heatmap, the clusters and the evaluation as plots, in one HTML page.

The plots are also written as PNG files beside the page so that Snakemake's ``--report`` can show them.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from policygradex.artifacts import EVALUATION_COLUMNS, FEATURE_KEYS, HESSIAN_COLUMNS, LOG_COLUMNS
from policygradex.clustering import similarity
from policygradex.config import Benchmark, task_names
from policygradex.diagnosis import consistency_of
from policygradex.io import atomic_path, read_affinity, read_clusters, read_csv, read_npz
from policygradex.plotting import (
    plot_affinity,
    plot_clusters,
    plot_evaluation,
    plot_gradient_consistency,
    plot_k_scores,
    plot_train_curves,
)
from policygradex.provenance import read_runs
from policygradex.summary import advice


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
