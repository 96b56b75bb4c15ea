"""Environment families: the package each needs, its standard horizon, and the checks of a benchmark's tasks.

Kept free of the ML stack (torch, stable-baselines3) so the Snakefile can validate a config in a blink; the
environments themselves are built by :mod:`policygradex.envs`.
"""

from __future__ import annotations

import importlib.util
from typing import Any

#: The Python package each environment family needs (installed by ``pip install -e .``).
FAMILIES: dict[str, str | None] = {"pointmass": None, "mo_mujoco": "mo_gymnasium", "metaworld": "metaworld"}

#: The MO-Gymnasium environments a benchmark's ``env_id`` may name, with the names of their reward components.
MO_COMPONENTS: dict[str, tuple[str, ...]] = {
    "mo-halfcheetah-v5": ("x_velocity", "energy"),
    "mo-hopper-v5": ("x_velocity", "height", "energy"),
    "mo-ant-v5": ("x_velocity", "y_velocity", "energy"),
}

#: The ``info`` terms MO-Gymnasium adds to *every* reward component of each environment (a survival bonus, the
#: ant's contact cost): a part of the reward common to all objectives rather than an objective of its own.
MO_SHARED_TERMS: dict[str, tuple[str, ...]] = {
    "mo-halfcheetah-v5": (),
    "mo-hopper-v5": ("reward_survive",),
    "mo-ant-v5": ("reward_survive", "reward_contact"),
}


def meta_world_suite(suite: str) -> list[str]:
    """The task names of a Meta-World suite, in Meta-World's order."""
    from metaworld import env_dict  # noqa: PLC0415 - an optional dependency, imported only when used

    return list({"MT10": env_dict.MT10_V3, "MT50": env_dict.MT50_V3}[suite])


def meta_world_tasks() -> list[str]:
    """Every Meta-World v3 task name (imported lazily: metaworld is only needed when a benchmark uses it)."""
    from metaworld import env_dict  # noqa: PLC0415

    return list(env_dict.ALL_V3_ENVIRONMENTS)


def settings_errors(bench: dict[str, Any]) -> list[str]:
    """What is wrong with a benchmark's environment settings, as ``field: message`` lines (empty if nothing).

    Checked before any job runs: the family's package is installed, Meta-World task names exist, weight
    vectors have one entry per reward component, and each task carries what its family needs.
    """
    family = bench["env"]
    package = FAMILIES[family]
    if package is not None and importlib.util.find_spec(package) is None:
        return [f"env: '{family}' needs the Python package '{package}', which is not installed (run `make venv`)"]
    errors = []
    if family == "pointmass":
        errors += [
            f"tasks[{i}].goal: pointmass tasks need a goal [x, y]"
            for i, t in enumerate(bench["tasks"])
            if "goal" not in t
        ]
    if family == "mo_mujoco":
        env_id = bench.get("env_id")
        if env_id not in MO_COMPONENTS:
            return [f"env_id: {env_id!r} is not one of {', '.join(MO_COMPONENTS)}"]
        components = MO_COMPONENTS[env_id]
        for i, task in enumerate(bench["tasks"]):
            weights = task.get("weights")
            if weights is None or len(weights) != len(components):
                errors.append(
                    f"tasks[{i}].weights: {env_id} needs {len(components)} weights, one per reward component"
                    f" ({', '.join(components)}), got {weights}"
                )
    elif bench["observe_task"] == "weights":
        errors.append(f"observe_task: 'weights' needs weight-vector tasks (env mo_mujoco), not env '{family}'")
    if family == "metaworld":
        known = meta_world_tasks()
        for i, task in enumerate(bench["tasks"]):
            if task["name"] not in known:
                errors.append(f"tasks[{i}].name: '{task['name']}' is not a Meta-World task; known: {', '.join(known)}")
    return errors
