"""The conda env of the rules pins exactly what pyproject.toml pins."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_conda_env_pins_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "envs" / "policygradex.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(pip) == sorted(project)
    assert all("==" in pin for pin in project)
    assert "python=3.11" in env["dependencies"]


def test_rule_memory_covers_the_measured_peaks():
    """The rules' mem_mb (the only place it is set; the SLURM profile adds site settings) of the two stages whose
    memory grew with the data is at least 1.5x the largest peak RSS that benchmarks/memory.py measured at the full
    presets' sizes (docs/results/memory_*.csv); read from the jobs a dry run of the ant's full preset plans."""
    import re
    import subprocess
    import sys

    import pandas as pd

    targets = ["results/ant/features/east-345.npz", "results/ant/approx_error.json"]
    command = [
        str(Path(sys.executable).parent / "snakemake"),
        "-n",
        "--cores",
        "2",
        *targets,
        "--config",
        "preset=full",
    ]
    dry = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr[-2000:]
    measured = pd.concat(pd.read_csv(path) for path in sorted((ROOT / "docs" / "results").glob("memory_*.csv")))
    for stage in ("features", "approx_error"):
        block = dry.stdout[dry.stdout.index(f"rule {stage}:") :]
        mem_mb = int(re.search(r"resources: .*?\bmem_mb=(\d+)", block).group(1))  # the first attempt's
        peak = measured.loc[measured["stage"] == stage, "peak_rss_mb"].max()
        assert peak > 0 and mem_mb >= 1.5 * peak, f"{stage}: mem_mb {mem_mb} for a measured peak of {peak:.0f} MB"


def test_no_stage_module_imports_another_stage():
    """Stages (the modules of policygradex.stages, one per rule) share the library modules below them (artifacts,
    io, estimator, clustering, ...), never each other: a stage is one rule and one sub-command, and the seams
    between them are the artifacts."""
    import ast

    from policygradex.stages import BY_NAME

    stages = set(BY_NAME)
    assert {"estimate", "cluster", "report", "full_training", "baselines"} <= stages
    package = ROOT / "src" / "policygradex"
    assert sorted(p.stem for p in (package / "stages").glob("*.py") if p.stem != "__init__") == sorted(stages)
    for stage in sorted(stages):
        tree = ast.parse((package / "stages" / f"{stage}.py").read_text())
        froms = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        modules = {node.module for node in froms if (node.module or "").startswith("policygradex.")}
        imported = {module.split(".")[-1] for module in modules}
        imported |= {alias.name for node in froms if node.module in ("policygradex", "policygradex.stages")
                     for alias in node.names}  # fmt: skip
        assert not imported & (stages - {stage}), f"{stage}.py imports the stages {imported & (stages - {stage})}"
