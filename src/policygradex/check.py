"""``policygradex check``: build one environment of each kind a config names, and say before any job what does
not fit, naming the field.

The schema and :func:`policygradex.families.settings_errors` judge a config without an environment; what only an
environment can say is judged here, for the families built from environment ids (gymnasium, mo_gymnasium) and
for Meta-World: that the benchmark's ``imports`` are installed, that each ``env_id`` is registered (with the close
matches when it is not), that the environment takes the task's keyword arguments (with those it does take when
it does not), that its spaces are ones the policy supports (Box or Discrete actions; Box or Discrete
observations), that every task has the same spaces, and that a weight vector has one entry per component of the
reward vector; each environment is reset and stepped once with a sampled action (a keyword argument of the
wrong type often fails only there), and a ``success_key`` must be a key of the step's ``info``. One environment
is built per distinct (env_id, kwargs), so a hundred tasks that differ only by their weights cost one build, and
one per Meta-World suite (its tasks share their spaces; their names are checked without building).

The Snakefile runs the same check when it loads, remembered under ``.snakemake/policygradex-check/`` by a hash of
the benchmark's settings and the versions of the packages involved, so a rerun that changes nothing does not
build environments again. No torch and no stable-baselines3 here: the check takes seconds.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from policygradex import provenance
from policygradex.config import Benchmark, Config, running_benchmarks
from policygradex.errors import ConfigError
from policygradex.families import (
    GYM_FAMILIES,
    find_spec,
    import_errors,
    is_mo,
    register_family,
    task_env_id,
    task_kwargs,
)

#: Where the Snakefile remembers the benchmarks that passed (relative to its working directory).
CACHE_DIR = Path(".snakemake") / "policygradex-check"


def accepted_kwargs(spec: Any) -> list[str]:
    """The keyword arguments the environment's constructor names (its entry point's signature)."""
    entry = spec.entry_point
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        entry = getattr(importlib.import_module(module), attribute)
    target = entry.__init__ if inspect.isclass(entry) else entry
    return [
        name
        for name, p in inspect.signature(target).parameters.items()
        if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def space_error(space: Any, role: str) -> str | None:
    """Why the policy cannot take this observation or action space, or None when it can (Box or Discrete; a
    Box of observations must be one vector)."""
    from gymnasium import spaces

    if isinstance(space, spaces.Discrete):
        return None
    if isinstance(space, spaces.Box):
        if role == "observation" and len(space.shape) > 1:
            return f"a {len(space.shape)}-dimensional Box {space.shape} (images and other arrays are not supported)"
        return None
    return f"{type(space).__name__} is not supported (only Box or Discrete {role}s)"


def _build(bench: Benchmark, task: dict[str, Any]) -> Any:
    """One raw environment of ``task`` (no wrappers), as the jobs make it."""
    if bench["env"] == "metaworld":
        import metaworld

        return metaworld.make_mt_envs(task["name"], seed=0, **bench.get("env_kwargs", {}))
    return _build_with(bench, task, task_kwargs(bench, task))


def _build_with(bench: Benchmark, task: dict[str, Any], kwargs: dict[str, Any]) -> Any:
    """The environment of a gymnasium-family task with these keyword arguments."""
    import gymnasium as gym

    return gym.make(task_env_id(bench, task), disable_env_checker=True, **kwargs)


def benchmark_errors(name: str, bench: Benchmark, warnings: list[str] | None = None) -> list[str]:
    """Every problem an environment of benchmark ``name`` shows, as ``config.benchmarks.<name>.<field>: ...``;
    what will run but cannot work well (:func:`score_warnings`) is appended to ``warnings`` when given."""
    where = f"config.benchmarks.{name}"
    if bench["env"] not in (*GYM_FAMILIES, "metaworld"):
        return []
    errors = import_errors(bench, where)
    if errors:
        return errors
    register_family(bench)
    built: dict[str, Any] = {}  # (env_id, kwargs) -> its environment, built once
    spaces_of: list[tuple[int, Any, Any]] = []
    for i, task in enumerate(bench["tasks"]):
        env_id = task["name"] if bench["env"] == "metaworld" else task_env_id(bench, task)
        kwargs = task_kwargs(bench, task) if bench["env"] != "metaworld" else {}
        # One build per distinct (env_id, kwargs); Meta-World's tasks share one observation and action space by
        # design and their names are checked without building (families.settings_errors), so one build serves a
        # whole suite (each costs a second: MT50's check took 64 s building all 50)
        family_id = "metaworld" if bench["env"] == "metaworld" else env_id
        key = json.dumps([family_id, kwargs], sort_keys=True, default=str)
        if key not in built:
            spec = None
            if bench["env"] != "metaworld":
                try:
                    spec = find_spec(env_id)
                except ConfigError as err:
                    field = f"{where}.tasks[{i}].env_id" if "env_id" in task else f"{where}.env_id"
                    errors.append(f"{field}: {err}")
                    continue
            try:
                env = _build(bench, task)
            except TypeError as err:
                if spec is None or "argument" not in str(err):
                    raise
                unknown = [k for k in kwargs if k not in accepted_kwargs(spec)]
                origin = "kwargs" if any(k in task.get("kwargs", {}) for k in unknown) else "env_kwargs"
                place = f"{where}.tasks[{i}].kwargs" if origin == "kwargs" else f"{where}.env_kwargs"
                errors.append(
                    f"{place}.{(unknown or list(kwargs) or ['?'])[0]}: {env_id} does not take it ({err}); it takes:"
                    f" {', '.join(accepted_kwargs(spec))}"
                )
                continue
            except Exception as err:  # the environment's own constructor refused: its words, and where
                errors.append(
                    f"{where}.tasks[{i}]: building {env_id} with {kwargs} failed: {type(err).__name__}: {err}"
                )
                continue
            problem, stepped = _step_error(bench, task, env, where, i, kwargs)
            errors += [problem] if problem else []
            if not stepped:
                env.close()
                continue
            built[key] = env
        env = built[key]
        for role, space in (("observation", env.observation_space), ("action", env.action_space)):
            problem = space_error(space, role)
            if problem:
                errors.append(f"{where}.tasks[{i}]: {env_id}'s {role} space: {problem}")
        if bench.get("trainer") == "sac" and type(env.action_space).__name__ == "Discrete":
            errors.append(f"{where}.trainer: sac needs continuous (Box) actions; {env_id}'s are Discrete: use ppo")
        if is_mo(bench):
            errors += _weight_errors(f"{where}.tasks[{i}].weights", env_id, env, task.get("weights"))
        spaces_of.append((i, env.observation_space, env.action_space))
    errors += _mismatch_errors(where, bench, spaces_of)
    if warnings is not None and spaces_of:
        warnings += score_warnings(name, bench, type(spaces_of[0][2]).__name__ == "Discrete")
    for env in built.values():
        env.close()
    return list(dict.fromkeys(errors))


def _reset_and_step(env: Any, success_key: str | None) -> list[str] | None:
    """Reset ``env`` and take one sampled action; the keys of the step's ``info`` when ``success_key`` is not among
    them, else None. Raises whatever the environment raises."""
    env.action_space.seed(0)
    env.reset(seed=0)
    info = env.step(env.action_space.sample())[4]
    return sorted(info) if success_key is not None and success_key not in info else None


def _step_error(
    bench: Benchmark, task: dict[str, Any], env: Any, where: str, i: int, kwargs: dict
) -> tuple[str | None, bool]:
    """Reset the task's environment and take one sampled action, as every job will: a keyword argument of the
    wrong type often fails only here (Pendulum-v1 takes ``g: heavy`` and fails at its first step). The field named
    is the keyword argument without which the step works, found by building the environment again without each;
    a ``success_key`` must be a key of the step's ``info``. Returns the problem (None when there is none) and
    whether the environment stepped."""
    success_key = bench.get("success_key") if bench["env"] in GYM_FAMILIES else None
    try:
        keys = _reset_and_step(env, success_key)
    except Exception as err:  # the environment's own failure: its words, and the setting that caused it
        for key in kwargs:
            try:
                trial = _build_with(bench, task, {k: v for k, v in kwargs.items() if k != key})
                _reset_and_step(trial, None)
                trial.close()
            except Exception:  # still failing without this key: not the culprit
                continue
            place = f"tasks[{i}].kwargs" if key in task.get("kwargs", {}) else "env_kwargs"
            return (
                f"{where}.{place}.{key}: {kwargs[key]!r} makes the environment fail at its first step:"
                f" {type(err).__name__}: {err}"
            ), False
        return f"{where}.tasks[{i}]: resetting or stepping the environment failed: {type(err).__name__}: {err}", False
    if keys is not None:
        return (
            f"{where}.success_key: '{success_key}' is not a key of the step's info, so success would read 0 forever;"
            f" info has: {', '.join(keys) or 'no keys'}"
        ), True
    return None, True


def score_warnings(name: str, bench: Benchmark, discrete: bool) -> list[str]:
    """What the check says of a benchmark that will run but whose score cannot see the step: return scoring of
    Discrete actions (greedy rollouts change only where a step flips an argmax, and a small step flips few)."""
    estimate = bench["estimate"]
    if discrete and estimate["score"] == "return":
        return [
            f"config.benchmarks.{name}.estimate.score: return scores greedy rollouts, and with Discrete actions a step"
            f" of {estimate['step_size']} x ||theta*|| changes them only where it flips an argmax: often no score"
            " moves and every affinity row is flat; set estimate.score: surrogate (docs/own-tasks.md)"
        ]
    return []


def _weight_errors(field: str, env_id: str, env: Any, weights: list[float] | None) -> list[str]:
    reward_space = getattr(env.unwrapped, "reward_space", None)
    if reward_space is None:
        field = field.rsplit(".tasks[", 1)[0] + ".env"
        return [f"{field}: {env_id} has no reward_space: not a multi-objective (MO-Gymnasium) environment; use env"
                " gymnasium for a single reward"]  # fmt: skip
    count = int(reward_space.shape[0])
    if weights is None or len(weights) != count:
        return [f"{field}: {env_id}'s reward has {count} components, so a task needs {count} weights; got {weights}"]
    return []


def _mismatch_errors(where: str, bench: Benchmark, spaces_of: list[tuple[int, Any, Any]]) -> list[str]:
    """One policy serves every task: their observation and action spaces must be the same."""
    if not spaces_of:
        return []
    first, obs0, act0 = spaces_of[0]
    names = [t["name"] for t in bench["tasks"]]
    errors = []
    for i, obs, act in spaces_of[1:]:
        for role, mine, theirs in (("observation", obs, obs0), ("action", act, act0)):
            if mine != theirs:
                errors.append(
                    f"{where}.tasks[{i}]: task {names[i]}'s {role} space {mine} differs from task {names[first]}'s"
                    f" {theirs}; one policy serves every task, so their spaces must be the same"
                )
    return errors


def package_versions(bench: Benchmark) -> dict[str, str]:
    """The versions of the packages a run records (provenance), and the file times of the benchmark's
    ``imports``: what decides whether a remembered check still holds."""
    versions = provenance.package_versions()
    for module in bench.get("imports", []):
        spec = importlib.util.find_spec(module.split(".")[0])
        origin = spec.origin if spec is not None and spec.origin else None
        versions[module] = str(Path(origin).stat().st_mtime_ns) if origin else "absent"
    return versions


def _fingerprint(name: str, bench: Benchmark) -> str:
    keys = ("env", "env_id", "env_kwargs", "imports", "success_key", "tasks", "trainer", "observe_task")
    settings = {key: bench.get(key) for key in keys} | {"score": bench["estimate"]["score"]}
    text = json.dumps([name, settings, package_versions(bench)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def environment_benchmarks(config: Config) -> list[str]:
    """The benchmarks of a validated config whose environments come from ids and keyword arguments (gymnasium,
    mo_gymnasium): what the Snakefile checks when it loads (Meta-World's names are checked by the schema step)."""
    return [name for name in running_benchmarks(config) if config["benchmarks"][name]["env"] in GYM_FAMILIES]


def check_config(config: Config, names: Iterable[str] | None = None, cache_dir: Path | None = None) -> list[str]:
    """Check the environments of the benchmarks ``names`` (all that run, by default) of a validated config, and
    return the warnings (:func:`score_warnings`) of those that pass.

    ``cache_dir``: remember each benchmark that passed there, with its warnings, and skip building it again while
    its settings and package versions are unchanged. :raises ConfigError: every problem found, one per line.
    """
    errors: list[str] = []
    warnings: list[str] = []
    running = running_benchmarks(config)
    for name in [name for name in names or running if name in running]:
        bench = config["benchmarks"][name]
        stamp = cache_dir / _fingerprint(name, bench) if cache_dir is not None else None
        if stamp is not None and stamp.exists():
            warnings += [line for line in stamp.read_text().splitlines() if line]
            continue
        found: list[str] = []
        errors += (problems := benchmark_errors(name, bench, found))
        warnings += found
        if stamp is not None and not problems:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text("".join(f"{line}\n" for line in found))
    if errors:
        raise ConfigError("\n".join(errors))
    return warnings
