"""Environment families: the package each needs, where a task's environment comes from, and the checks of a
benchmark's settings that need no environment built.

Kept free of the ML stack (torch, stable-baselines3) so the Snakefile can validate a config in a blink; the
environments themselves are built by :mod:`policygradex.envs`, and :mod:`policygradex.check` builds one of each
kind to check what only an environment can say (its id, its keyword arguments, its spaces).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from typing import Any

from policygradex.errors import ConfigError

#: The Python package each environment family needs (installed by ``pip install -e .``).
FAMILIES: dict[str, str | None] = {
    "pointmass": None,
    "gymnasium": "gymnasium",
    "mo_gymnasium": "mo_gymnasium",
    "mo_mujoco": "mo_gymnasium",  # the MO-Gymnasium family under its first name (the robots' entries)
    "metaworld": "metaworld",
}

#: Families whose tasks are weight vectors over an MO-Gymnasium environment's reward components.
MO_FAMILIES = ("mo_gymnasium", "mo_mujoco")

#: Families whose environments come from ``gymnasium.make(env_id, **kwargs)``: a task may carry its own env_id and
#: kwargs, and a benchmark may import modules that register its environments.
GYM_FAMILIES = ("gymnasium", *MO_FAMILIES)

#: The names of the reward components of the MO-Gymnasium environments that have no names of their own.
MO_COMPONENTS: dict[str, tuple[str, ...]] = {
    "mo-halfcheetah-v5": ("x_velocity", "energy"),
    "mo-hopper-v5": ("x_velocity", "height", "energy"),
    "mo-ant-v5": ("x_velocity", "y_velocity", "energy"),
}

#: The ``info`` terms MO-Gymnasium adds to *every* reward component of the MuJoCo robots (a survival bonus, the
#: ant's contact cost): a part of the reward common to all objectives rather than an objective of its own. Other
#: environments have none.
MO_SHARED_TERMS: dict[str, tuple[str, ...]] = {
    "mo-halfcheetah-v5": (),
    "mo-hopper-v5": ("reward_survive",),
    "mo-ant-v5": ("reward_survive", "reward_contact"),
}

#: ``suite`` -> (metaworld.env_dict attribute, the part of a meta-learning set, or None for a multitask set).
META_WORLD_SUITES: dict[str, tuple[str, str | None]] = {
    "MT10": ("MT10_V3", None),
    "MT25": ("MT25_V3", None),
    "MT50": ("MT50_V3", None),
    **{f"ML{n}-{part}": (f"ML{n}_V3", part) for n in (10, 25, 45) for part in ("train", "test")},
}

#: Settings that only the families built by gymnasium.make read.
GYM_ONLY_FIELDS = ("env_id", "imports", "success_key")


def is_mo(bench: dict[str, Any]) -> bool:
    """Whether the benchmark's tasks are weight vectors over an MO-Gymnasium reward (mo_gymnasium, mo_mujoco)."""
    return bench["env"] in MO_FAMILIES


def task_env_id(bench: dict[str, Any], task: dict[str, Any]) -> str:
    """The environment id of a task of a gymnasium or mo_gymnasium benchmark: its own, else the benchmark's."""
    return task.get("env_id", bench.get("env_id"))


def task_kwargs(bench: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """A task's constructor arguments: the benchmark's ``env_kwargs`` with the task's own ``kwargs`` over them."""
    return {**bench.get("env_kwargs", {}), **task.get("kwargs", {})}


def import_modules(modules: list[str]) -> None:
    """Import the benchmark's ``imports`` (modules that register environments), in order."""
    for module in modules:
        importlib.import_module(module)


def registered_id(env_id: str) -> str:
    """The id an environment is registered under: ``env_id`` less the module of a ``module:Env-vN`` id."""
    return env_id.rpartition(":")[2]


def mo_shared_terms(env_id: str) -> tuple[str, ...]:
    """The reward terms the environment adds to every component (only the MuJoCo robots have them)."""
    return MO_SHARED_TERMS.get(registered_id(env_id), ())


def mo_component_names(env_id: str, count: int) -> tuple[str, ...]:
    """Names of an MO-Gymnasium environment's ``count`` reward components: ours for the robots, else numbered."""
    names = MO_COMPONENTS.get(registered_id(env_id))
    return names if names is not None and len(names) == count else tuple(f"component_{i}" for i in range(count))


def meta_world_suite(suite: str) -> list[str]:
    """The task names of a Meta-World suite (META_WORLD_SUITES), in Meta-World's order."""
    from metaworld import env_dict  # an optional dependency, imported only when used

    attribute, part = META_WORLD_SUITES[suite]
    tasks = getattr(env_dict, attribute)
    return list(tasks if part is None else tasks[part])


def meta_world_tasks() -> list[str]:
    """Every Meta-World v3 task name (imported lazily: metaworld is only needed when a benchmark uses it)."""
    from metaworld import env_dict

    return list(env_dict.ALL_V3_ENVIRONMENTS)


def settings_errors(bench: dict[str, Any]) -> list[str]:
    """What is wrong with a benchmark's environment settings, as ``field: message`` lines (empty if nothing).

    Checked before any job runs, without building an environment: the family's package is installed, each task
    carries what its family needs and nothing it ignores, Meta-World task names exist, the robots' weight vectors
    have one entry per reward component. What needs an environment (its id, keyword arguments, spaces, reward
    dimension) is :mod:`policygradex.check`'s.
    """
    family = bench["env"]
    package = FAMILIES[family]
    if package is not None and importlib.util.find_spec(package) is None:
        return [
            f"env: '{family}' needs the Python package '{package}', which is not installed: install it into the"
            f" workflow's venv (`.venv/bin/pip install {package.replace('_', '-')}`, or `make venv` for every"
            " package the workflow ships with)"
        ]
    errors = []
    if family not in GYM_FAMILIES:
        refused = [field for field in GYM_ONLY_FIELDS if field in bench]
        refused += [f"tasks[{i}].{field}" for i, task in enumerate(bench["tasks"]) for field in ("env_id", "kwargs")
                    if field in task]  # fmt: skip
        errors += [f"{field}: only env gymnasium or mo_gymnasium reads it, not env '{family}'" for field in refused]
    else:
        errors += [
            f"tasks[{i}].env_id: required (the task's environment), as no benchmark-level env_id is given"
            for i, task in enumerate(bench["tasks"])
            if task_env_id(bench, task) is None
        ]
    if family == "pointmass":
        errors += [
            f"tasks[{i}].goal: pointmass tasks need a goal [x, y]"
            for i, t in enumerate(bench["tasks"])
            if "goal" not in t
        ]
    if family == "mo_mujoco" and bench.get("env_id") not in MO_COMPONENTS:
        errors.append(
            f"env_id: {bench.get('env_id')!r} is not one of the robots of env mo_mujoco ({', '.join(MO_COMPONENTS)});"
            " for another MO-Gymnasium environment use env mo_gymnasium"
        )
    if is_mo(bench):
        for i, task in enumerate(bench["tasks"]):
            weights, components = task.get("weights"), MO_COMPONENTS.get(task_env_id(bench, task) or "")
            if weights is None and components is None:
                errors.append(f"tasks[{i}].weights: required, one weight per reward component of the environment")
            elif components is not None and (weights is None or len(weights) != len(components)):
                errors.append(
                    f"tasks[{i}].weights: {task_env_id(bench, task)} needs {len(components)} weights, one per reward"
                    f" component ({', '.join(components)}), got {weights}"
                )
    else:
        if bench["observe_task"] == "weights":
            errors.append(f"observe_task: 'weights' needs weight-vector tasks (env mo_gymnasium), not env '{family}'")
        errors += [f"tasks[{i}].weights: only env mo_gymnasium reads weights, not env '{family}'"
                   for i, task in enumerate(bench["tasks"]) if "weights" in task]  # fmt: skip
    if family == "metaworld":
        known = meta_world_tasks()
        for i, task in enumerate(bench["tasks"]):
            if task["name"] not in known:
                close = difflib.get_close_matches(task["name"], known, n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                errors.append(
                    f"tasks[{i}].name: '{task['name']}' is not a Meta-World task{hint}; known: {', '.join(known)}"
                )
    return errors


# ---- What only an environment's spec can say (the check, and the episode length's default in config.py).


def _pip_hint(module: str) -> str:
    top = module.split(".")[0]
    return (
        f"install the package that provides it into the workflow's venv (`.venv/bin/pip install <package>`, e.g."
        f" `.venv/bin/pip install {top.replace('_', '-')}` or `.venv/bin/pip install -e path/to/your/package`;"
        " for --sdm conda, also add it to envs/policygradex.yaml)"
    )


def import_errors(bench: dict[str, Any], where: str) -> list[str]:
    """Import the benchmark's ``imports``; one message per module that cannot be imported."""
    errors = []
    for i, module in enumerate(bench.get("imports", [])):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            errors.append(f"{where}.imports[{i}]: module '{module}' is not installed ({err}); {_pip_hint(module)}")
        except Exception as err:  # the user's module raised while importing: say which and why
            errors.append(f"{where}.imports[{i}]: importing '{module}' failed: {type(err).__name__}: {err}")
    return errors


def episode_length(bench: dict[str, Any], where: str) -> int:
    """The default ``episode_length`` of a gymnasium or mo_gymnasium benchmark: its first task's environment's own
    limit (the spec's max_episode_steps), after the benchmark's ``imports``.

    :raises ConfigError: a module that cannot be imported, an unknown id, or an environment without a limit.
    """
    errors = import_errors(bench, where)
    if errors:
        raise ConfigError(errors[0])
    register_family(bench)
    env_id = task_env_id(bench, bench["tasks"][0])
    try:
        spec = find_spec(env_id)
    except ConfigError as err:
        field = "tasks[0].env_id" if "env_id" in bench["tasks"][0] else "env_id"
        raise ConfigError(f"{where}.{field}: {err}") from err
    if spec.max_episode_steps is None:
        raise ConfigError(f"{where}.episode_length: required, as {env_id} sets no max_episode_steps of its own")
    return int(spec.max_episode_steps)


def register_family(bench: dict[str, Any]) -> None:
    """Register the family's own environments with Gymnasium (MO-Gymnasium's on import)."""
    if is_mo(bench):
        import mo_gymnasium  # noqa: F401


def find_spec(env_id: str) -> Any:
    """Gymnasium's spec of ``env_id`` (importing the module of a ``module:Env-vN`` id first).

    :raises ConfigError: the id is not registered (with the registered ids closest to it) or its module is not
        installed (with the pip command).
    """
    import gymnasium as gym  # only the environment families need it

    module = env_id.split(":")[0] if ":" in env_id else None
    if module is not None:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            raise ConfigError(f"'{env_id}': module '{module}' is not installed ({err}); {_pip_hint(module)}") from err
    name = registered_id(env_id)
    try:
        return gym.spec(name)
    except gym.error.Error as err:
        close = difflib.get_close_matches(name, list(gym.registry), n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; is the module that registers it in `imports`?"
        raise ConfigError(f"'{env_id}' is not a registered environment ({type(err).__name__}){hint}") from err
