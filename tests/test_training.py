"""Resumable training (PPO and SAC): a run interrupted after a checkpoint and restarted ends where an
uninterrupted run ends."""

import pandas as pd
import pytest
import torch

import policygradex.training as training
from policygradex.config import validate_config
from policygradex.errors import ArtifactError
from policygradex.training import checkpoint_path, train_policy
from tests.helpers import tiny_config

STEPS = 8 * 64 * 8  # PPO: 8 updates of 64 steps x 8 environments; SAC: 1024 steps of 4 environments
OFF_POLICY_STEPS = 1000 * 4 + 96  # SAC: a log row after 1000 steps x 4 environments, and one at the end


@pytest.fixture(params=["ppo", "sac"])
def bench(request):
    config = tiny_config(
        trainer=request.param,
        sac={"learning_starts": 128, "batch_size": 64, "train_freq": 4, "buffer_size": 10000},
        checkpoint={"every": 2 * 64 * 8},
        **({"vec_env": {"envs_per_task": 1}} if request.param == "sac" else {}),
    )
    return validate_config(config)["benchmarks"]["tiny"]


class Crash(RuntimeError):
    pass


def _train(bench, out, callback_crash_at=None, monkeypatch=None):
    if callback_crash_at is not None:
        original = training.save_checkpoint

        def save_then_crash(model, rows, path):
            original(model, rows, path)
            if model.num_timesteps >= callback_crash_at:
                raise Crash(f"killed at {model.num_timesteps}")

        monkeypatch.setattr(training, "save_checkpoint", save_then_crash)
    steps = STEPS if bench["trainer"] == "ppo" else OFF_POLICY_STEPS
    return train_policy(bench, [0, 1, 2, 3], steps, seed=3, output=out / "policy.pt", log_csv=out / "log.csv")


def test_resume_reaches_the_same_steps_and_parameters(bench, tmp_path, monkeypatch, capsys):
    straight = _train(bench, tmp_path / "straight")
    crashed = tmp_path / "crashed"
    with pytest.raises(Crash):
        _train(bench, crashed, callback_crash_at=4 * 64 * 8, monkeypatch=monkeypatch)
    assert checkpoint_path(crashed / "policy.pt").exists()
    assert not (crashed / "policy.pt").exists()
    monkeypatch.undo()
    resumed = _train(bench, crashed)
    assert "resuming from checkpoint" in capsys.readouterr().err
    assert resumed.num_timesteps == straight.num_timesteps == (STEPS if bench["trainer"] == "ppo" else OFF_POLICY_STEPS)
    for (name, a), b in zip(straight.policy.state_dict().items(), resumed.policy.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=f"parameter {name} differs after resuming")
    log = pd.read_csv(crashed / "log.csv")
    assert list(log["steps"]) == list(pd.read_csv(tmp_path / "straight" / "log.csv")["steps"])
    assert not checkpoint_path(crashed / "policy.pt").exists()  # removed once the output is written


def test_corrupt_checkpoint_is_a_clear_error(bench, tmp_path):
    checkpoint_path(tmp_path / "policy.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ArtifactError, match="unreadable training checkpoint.*delete it to restart"):
        train_policy(bench, [0], 1024, seed=0, output=tmp_path / "policy.pt", log_csv=tmp_path / "log.csv")


def test_progress_counts_the_steps_training_really_takes(tmp_path, capsys):
    """PPO stops only after a whole rollout (64 steps x 8 environments here): asked for 1000 steps it takes 1024,
    and the progress lines count to 1024, ending at 100% (they used to read 1,024/1,000, 102%)."""
    bench = validate_config(tiny_config())["benchmarks"]["tiny"]
    model = train_policy(bench, [0, 1, 2, 3], 1000, seed=0, output=tmp_path / "policy.pt", log_csv=tmp_path / "log.csv")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("train: ")]
    assert model.num_timesteps == 1024
    assert lines and lines[-1].startswith("train: 1,024/1,024 steps (100%)")
    assert all("/1,024 steps" in line for line in lines)
