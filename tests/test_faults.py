"""Fault injection through Snakemake: SIGKILL meta_train midway, rerun, and check it resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from benchmarks.common import snakemake_command
from tests.helpers import snakemake, tiny_config

STEPS = 64 * 8 * 20  # 20 PPO updates of the tiny config
EVERY = 64 * 8 * 5


def test_sigkill_during_meta_train_resumes_from_the_checkpoint(tmp_path):
    config = tiny_config(meta_train={"total_steps": STEPS})
    config["benchmarks"]["tiny"]["checkpoint"] = {"every": EVERY}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    checkpoint = tmp_path / "results" / "tiny" / "meta" / "policy.pt.ckpt"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    job = subprocess.Popen(
        snakemake_command(tmp_path, 2, "results/tiny/meta/policy.pt"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # its own process group: the kill reaches Snakemake and the training job
    )
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert checkpoint.exists(), "no checkpoint appeared before the job ended"
    # killed as soon as the first checkpoint is there (written atomically), 15 of 20 updates before the end
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    assert not (tmp_path / "results" / "tiny" / "meta" / "policy.pt").exists()

    # A killed Snakemake leaves its lock: the user's next two commands.
    assert snakemake(tmp_path, "--unlock").returncode == 0
    result = snakemake(tmp_path, "--rerun-incomplete", "results/tiny/meta/policy.pt")
    assert result.returncode == 0, result.stderr[-3000:]
    log = (tmp_path / "logs" / "tiny" / "meta_train.log").read_text()
    resumed_at = int(log.split("resuming from checkpoint")[1].split("at step ")[1].split()[0])
    assert 0 < resumed_at < STEPS  # fewer steps redone than a restart
    train_log = pd.read_csv(tmp_path / "results" / "tiny" / "meta" / "train_log.csv")
    assert train_log["steps"].iloc[-1] == STEPS
    assert train_log["steps"].is_monotonic_increasing
    assert not checkpoint.exists()
