"""The SLURM execution profile, for real: `.ci/slurm/local-cluster.sh up` starts a single-node SLURM cluster
(slurmctld, slurmd, and slurmdbd + mariadb so that `sacct` works), and the tiny DAG runs through
`workflow/profiles/slurm` exactly as a user would run it, every job submitted with sbatch.

One run covers the profile's promises: a SLURM job cancelled while it runs is resubmitted with twice the memory
(`retries` + `attempt`), the per-task `features` and per-chunk `estimate` jobs go to SLURM as one group job each,
an interrupted Snakemake (Ctrl-C while a finetune job runs) resumes without redoing the jobs that had finished, and
the clustering equals that of a local run.

Needs root on Debian (the script apt-installs slurm-wlm, munge and mariadb and starts their daemons); skipped
otherwise, or when apt-get cannot install the packages. About 5 minutes on 2 cores; leave it out locally with
`pytest --ignore tests/test_slurm.py`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.helpers import tiny_config

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "slurm" / "local-cluster.sh"
PROFILE = ROOT / "workflow" / "profiles" / "slurm"
ACCOUNT = "pgx_ci"  # created by the fixture, so that the override of the profile's placeholder is visible in sacct
PARTITION = "debug"  # the partition local-cluster.sh defines
TASKS = ["east-0.5", "east-1.0", "west-0.5", "west-1.0"]
TARGETS = [
    f"results/tiny/{f}" for f in ("meta/policy.pt", "affinity.csv", "clusters.csv", "evaluation.csv", "report.html")
]
SNAKEMAKE_TIMEOUT = 420  # seconds for one Snakemake run; a hung run fails the test instead of blocking CI


def _environment_problem() -> str | None:
    if sys.platform != "linux":
        return "needs Linux"
    if os.geteuid() != 0:
        return "needs root: .ci/slurm/local-cluster.sh apt-installs SLURM and starts its daemons"
    os_release = Path("/etc/os-release")
    fields = dict(
        line.split("=", 1)
        for line in (os_release.read_text().splitlines() if os_release.exists() else [])
        if "=" in line
    )
    if fields.get("ID", "").strip('"') != "debian":
        return "needs Debian: .ci/slurm/local-cluster.sh installs Debian's slurm-wlm, munge and mariadb packages"
    return None


pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(_environment_problem() is not None, reason=str(_environment_problem())),
]


@dataclass
class Cluster:
    base: Path
    env: dict[str, str]  # environment for SLURM commands and Snakemake: SLURM_CONF and the venv on PATH

    def run(self, *cmd: str) -> str:
        result = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{' '.join(cmd)}: {result.stderr}"
        return result.stdout

    def logs(self) -> str:
        """Tails of the daemons' logs, for assertion messages."""
        parts = []
        for name in ("slurmctld.log", "slurmd.log", "slurmdbd.log"):
            path = self.base / "log" / name
            if path.exists():
                parts.append(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-15:]))
        return "\n".join(parts)


@dataclass
class Run:
    """One Snakemake invocation: its log, its SLURM run id (the job name of all its sbatch jobs) and the SLURM job
    ids it submitted, each with the rule or group it ran (from the SLURM log path Snakemake prints)."""

    log: str
    returncode: int
    run_id: str = ""
    jobs: dict[str, str] = field(default_factory=dict)  # SLURM job id -> "rule_meta_train", "group_features_batch..."

    @classmethod
    def parse(cls, log: str, returncode: int) -> Run:
        run_id = re.search(r"SLURM run ID: (\S+)", log)
        jobs = {
            jobid: path.split("/slurm_logs/")[1].split("/")[0]
            for jobid, path in re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+?)\)", log)
        }
        return cls(log, returncode, run_id.group(1) if run_id else "", jobs)

    def of(self, label: str) -> list[str]:
        return [jobid for jobid, what in self.jobs.items() if what.startswith(label)]


@pytest.fixture(scope="module")
def cluster(local_run):  # local_run: started first, to run while the cluster comes up
    if Path("/etc/slurm/slurm.conf").exists() and not Path("/etc/slurm/slurm.conf").is_symlink():
        pytest.skip("this machine has its own /etc/slurm/slurm.conf; local-cluster.sh would replace it")
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6817)) == 0:
            pytest.fail("a slurmctld already listens on port 6817: stop it (BASE=... local-cluster.sh down) first")
    base = Path(tempfile.mkdtemp(prefix="pgx-slurm-"))
    base.chmod(0o755)  # munged and mariadbd run as their own users and must reach their folders below it
    mem_total_mb = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    script_env = {**os.environ, "BASE": str(base), "ACCOUNTING": "1", "MEM_MB": str(int(0.8 * mem_total_mb))}

    def script(action: str) -> tuple[int, str]:
        log = base / f"{action}.log"
        with open(log, "w") as out:  # a file, not a pipe: the daemons it starts must not hold our pipe open
            rc = subprocess.run(
                ["bash", str(SCRIPT), action], env=script_env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, timeout=900,
            ).returncode  # fmt: skip
        return rc, "\n".join(log.read_text().splitlines()[-25:])

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    env.pop("SNAKEMAKE_PROFILE", None)  # no user profile on top of the one under test
    env.update(SLURM_CONF=str(base / "etc" / "slurm.conf"), PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    try:
        rc, out = script("up")
        if rc == 100:
            pytest.skip(f"apt-get could not install the SLURM packages:\n{out}")
        assert rc == 0, f"local-cluster.sh up failed ({rc}):\n{out}"
        slurm = Cluster(base, env)
        assert "idle" in slurm.run("sinfo", "-h", "-o", "%t"), f"the node is not idle:\n{out}\n{slurm.logs()}"
        slurm.run("sacctmgr", "-i", "add", "account", ACCOUNT, "Description=ci", "Organization=ci")
        slurm.run("sacctmgr", "-i", "add", "user", "root", f"account={ACCOUNT}")
        yield slurm
    finally:
        script("down")
        shutil.rmtree(base, ignore_errors=True)


def snakemake_command(workdir: Path, *targets: str, profile: bool = True) -> list[str]:
    snakefile = ROOT / "workflow" / "Snakefile"
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--directory", str(workdir), *targets]
    if not profile:
        return [*command, "--cores", "2"]
    # The profile as shipped; only the site's account and partition come from the command line, plus a short first
    # status check (the plugin's default, 40 s, is meant for busy production clusters).
    return command + [
        "--workflow-profile", str(PROFILE),
        "--default-resources", f"slurm_account={ACCOUNT}", f"slurm_partition={PARTITION}",
        "--slurm-init-seconds-before-status-checks", "2",
    ]  # fmt: skip


def squeue(cluster: Cluster) -> list[tuple[str, str, str]]:
    """(job id, comment, state) of every queued or running job; the plugin sets the comment to rule_<rule>_..."""
    out = cluster.run("squeue", "-h", "-o", "%i|%k|%T")
    return [tuple(line.split("|")) for line in out.splitlines() if line.strip()]


def wait_until_running(cluster: Cluster, proc: subprocess.Popen, comment: str, started, timeout=240) -> str:
    """Id of the first SLURM job whose comment starts with `comment` once it runs and its rule's command has
    started (the rule's log file, `started()`, exists)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"Snakemake exited ({proc.returncode}) before a {comment} job ran"
        running = [jobid for jobid, text, state in squeue(cluster) if text.startswith(comment) and state == "RUNNING"]
        if running and started():
            return running[0]
        time.sleep(0.2)
    raise AssertionError(f"no {comment} job ran within {timeout} s:\n{cluster.logs()}")


def sacct(cluster: Cluster, jobids) -> dict[str, dict[str, str]]:
    """Accounting records (slurmdbd) of the given jobs by job id."""
    columns = ["JobID", "JobName", "State", "Account", "Partition", "ReqMem", "Timelimit"]
    out = cluster.run("sacct", "-X", "-n", "-P", "-j", ",".join(jobids), "-o", ",".join(columns))
    rows = [dict(zip(columns, line.split("|"), strict=True)) for line in out.splitlines() if line.strip()]
    return {row["JobID"]: row for row in rows}


def mtimes(results: Path) -> dict[str, int]:
    return {str(p.relative_to(results)): p.stat().st_mtime_ns for p in results.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """A local (non-SLURM) run of the same config and seed up to clusters.csv, started in the background before the
    cluster so that it overlaps the cluster's start (apt-get, daemons)."""
    workdir = tmp_path_factory.mktemp("local")
    (workdir / "config.yaml").write_text(yaml.safe_dump(tiny_config()))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("SNAKEMAKE_PROFILE", None)
    with open(workdir / "local-run.log", "w") as out:
        proc = subprocess.Popen(
            snakemake_command(workdir, "results/tiny/clusters.csv", profile=False), stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        try:
            yield proc, workdir
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def local_clusters(local_run) -> pd.DataFrame:
    """clusters.csv of the local run."""
    proc, workdir = local_run
    assert proc.wait(timeout=SNAKEMAKE_TIMEOUT) == 0, (workdir / "local-run.log").read_text()[-3000:]
    return pd.read_csv(workdir / "results" / "tiny" / "clusters.csv")


def interrupted_then_resumed(cluster: Cluster, workdir: Path) -> dict:
    """The tiny DAG through the SLURM profile, with two mishaps on the way:
    1. the meta_train SLURM job is scancel'ed while it runs: Snakemake must resubmit it (retries: 1);
    2. Snakemake itself is interrupted (SIGINT, i.e. Ctrl-C) while a finetune job runs: it cancels its jobs and stops.
    Then Snakemake is run again and must finish the DAG. Returns the two runs, the mtimes of the outputs that existed
    after the interruption, the two cancelled job ids and the working directory."""
    # Fine-tuning long enough (seconds, not the tiny config's fraction of one) that the interruption surely lands
    # while a finetune job runs, however fast the machine.
    (workdir / "config.yaml").write_text(yaml.safe_dump(tiny_config(finetune={"total_steps": 64 * 8 * 120})))
    results = workdir / "results" / "tiny"
    first_log = workdir / "first-run.log"
    with open(first_log, "w") as out:
        proc = subprocess.Popen(
            snakemake_command(workdir, *TARGETS), stdout=out, stderr=subprocess.STDOUT, env=cluster.env,
            stdin=subprocess.DEVNULL,
            # A command started in the background by a non-interactive shell (CI runners, `cmd &`) inherits
            # SIGINT ignored, and Python then never turns SIGINT into KeyboardInterrupt: restore the default.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        try:
            meta_log = workdir / "logs" / "tiny" / "meta_train.log"
            meta_job = wait_until_running(cluster, proc, "rule_meta_train", meta_log.exists)
            cluster.run("scancel", meta_job)
            finetune_logs = workdir / "logs" / "tiny" / "finetune"
            finetune_job = wait_until_running(cluster, proc, "rule_finetune", lambda: any(finetune_logs.glob("*.log")))
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    first = Run.parse(first_log.read_text(), proc.returncode)
    after_interrupt = mtimes(results)
    result = subprocess.run(
        snakemake_command(workdir, *TARGETS), capture_output=True, text=True, env=cluster.env,
        timeout=SNAKEMAKE_TIMEOUT,
    )  # fmt: skip
    second = Run.parse(result.stdout + result.stderr, result.returncode)
    (workdir / "second-run.log").write_text(second.log)
    assert second.returncode == 0, f"the resumed run failed:\n{second.log[-4000:]}\n{cluster.logs()}"
    return {
        "first": first, "second": second, "after_interrupt": after_interrupt, "meta_job": meta_job,
        "finetune_job": finetune_job, "workdir": workdir,
    }  # fmt: skip


@pytest.fixture(scope="module")
def slurm_runs(cluster, tmp_path_factory):
    return interrupted_then_resumed(cluster, tmp_path_factory.mktemp("slurm"))


def test_every_artifact_is_written_through_slurm(slurm_runs):
    results = slurm_runs["workdir"] / "results" / "tiny"
    for task in TASKS:
        with np.load(results / "features" / f"{task}.npz") as f:
            assert str(f["task"]) == task
            assert f["projected_grad"].shape == (len(f["advantage"]), 16)
    chunks = pd.concat(pd.read_csv(results / "subsets" / f"chunk_{c}.csv") for c in range(2))
    assert sorted(chunks["subset_id"].unique()) == list(
        range(tiny_config()["benchmarks"]["tiny"]["estimate"]["num_subsets"])
    )
    affinity = pd.read_csv(results / "affinity.csv", index_col=0)
    assert list(affinity.index) == TASKS and list(affinity.columns) == TASKS
    clusters = pd.read_csv(results / "clusters.csv")
    assert list(clusters["task"]) == TASKS and set(clusters["group"]) == {0, 1}
    assert (results / "cluster_quality.json").exists() and (results / "meta" / "train_log.csv").exists()
    for group in (0, 1):
        assert (results / "groups" / str(group) / "policy.pt").exists()
    evaluation = pd.read_csv(results / "evaluation.csv")
    assert set(evaluation["method"]) == {"single", "policygradex"} and len(evaluation) == 2 * len(TASKS)
    assert "<img" in (results / "report.html").read_text()
    for plot in ("affinity", "clusters", "evaluation"):
        assert (results / "plots" / f"{plot}.png").stat().st_size > 0


def test_every_job_went_through_sbatch_with_the_profiles_resources(cluster, slurm_runs):
    first, second = slurm_runs["first"], slurm_runs["second"]
    for run in (first, second):
        assert run.run_id and run.jobs, run.log[-3000:]
        records = sacct(cluster, run.jobs)
        assert set(records) == set(run.jobs), f"sacct lacks jobs: {set(run.jobs) - set(records)}"
        for record in records.values():
            assert record["JobName"] == run.run_id  # the plugin names every job of a run after the run id
            assert (record["Account"], record["Partition"]) == (ACCOUNT, PARTITION), record
    # Both runs together ran the whole DAG on SLURM; per-task features and per-chunk estimate jobs as one group each.
    labels = {*first.jobs.values(), *second.jobs.values()}
    assert {f"rule_{r}" for r in ("meta_train", "affinity", "cluster", "finetune", "evaluate", "report")} <= labels
    assert len(first.of("group_features_batch")) == 1 and len(first.of("group_estimate_batch")) == 1, first.jobs
    assert not first.of("rule_features") and not first.of("rule_estimate"), first.jobs
    # Memory and time limits from the rules (the profile sets none: meta_train 240 min, 4000 MB), and
    # for a group the sum of its jobs' runtimes (4 features x 20 min, 2 estimate chunks x 30 min).
    jobs = {**first.jobs, **second.jobs}
    records = sacct(cluster, jobs)
    limits = {(what, records[jobid]["Timelimit"], records[jobid]["ReqMem"].rstrip("n")) for jobid, what in jobs.items()}
    assert {
        ("rule_meta_train", "04:00:00", "4000M"),
        ("group_features_batch_features", "01:20:00", "2000M"),
        ("group_estimate_batch_estimate", "01:00:00", "2000M"),
        ("rule_finetune", "02:00:00", "4000M"),
        ("rule_report", "00:05:00", "1000M"),
    } <= limits, limits
    # Every job of the resumed run completed.
    assert {records[jobid]["State"] for jobid in second.jobs} == {"COMPLETED"}, records


def test_a_cancelled_job_is_resubmitted_with_twice_the_memory(cluster, slurm_runs):
    first = slurm_runs["first"]
    meta_jobs = first.of("rule_meta_train")
    assert len(meta_jobs) == 2 and meta_jobs[0] == slurm_runs["meta_job"], first.jobs
    records = sacct(cluster, meta_jobs)
    cancelled, retried = records[meta_jobs[0]], records[meta_jobs[1]]
    assert cancelled["State"].startswith("CANCELLED"), cancelled  # sacct writes "CANCELLED by 0"
    assert retried["State"] == "COMPLETED", retried
    assert (cancelled["ReqMem"].rstrip("n"), retried["ReqMem"].rstrip("n")) == ("4000M", "8000M")


def test_an_interrupted_run_resumes_without_redoing_finished_jobs(cluster, slurm_runs):
    first, second = slurm_runs["first"], slurm_runs["second"]
    assert first.returncode != 0, first.log[-2000:]
    # The interruption came after clustering: everything up to clusters.csv had finished, no evaluation yet.
    before = slurm_runs["after_interrupt"]
    finished = {"meta/policy.pt", "affinity.csv", "clusters.csv", *(f"features/{t}.npz" for t in TASKS)}
    assert finished <= set(before) and "evaluation.csv" not in before, sorted(before)
    # Snakemake cancelled the running finetune job on Ctrl-C.
    state = sacct(cluster, [slurm_runs["finetune_job"]])[slurm_runs["finetune_job"]]["State"]
    assert state.startswith("CANCELLED"), state
    # The second run submitted only what was left and left every finished output untouched.
    assert set(second.jobs.values()) <= {"rule_finetune", "rule_evaluate", "rule_hessian", "rule_report"}, second.jobs
    assert second.of("rule_finetune") and second.of("rule_evaluate") and second.of("rule_report"), second.jobs
    after = mtimes(slurm_runs["workdir"] / "results" / "tiny")
    outputs = [name for name in before if name != "provenance.json"]  # each run appends its record there
    assert {name: after[name] for name in outputs} == {name: before[name] for name in outputs}
    runs = json.loads((slurm_runs["workdir"] / "results" / "tiny" / "provenance.json").read_text())["runs"]
    assert len(runs) == 2  # the interrupted run and the resumed one (the SLURM jobs record nothing: --no-hooks)
    assert "Nothing to be done" in subprocess.run(
        snakemake_command(slurm_runs["workdir"], *TARGETS) + ["--dry-run"],
        capture_output=True, text=True, env=cluster.env, timeout=120,
    ).stdout  # fmt: skip


def test_clusters_equal_those_of_a_local_run(slurm_runs, local_clusters):
    clusters = pd.read_csv(slurm_runs["workdir"] / "results" / "tiny" / "clusters.csv")
    pd.testing.assert_frame_equal(clusters, local_clusters)
