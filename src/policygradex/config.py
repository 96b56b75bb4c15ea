"""Load and validate the workflow configuration.

One function, :func:`validate_config`, serves the Snakefile (``workflow/rules/common.smk``) and the CLI, so a
config is judged the same way whether a stage runs inside Snakemake or on its own. It fills the schema's
defaults in place, then checks what a JSON Schema cannot express (k <= n, subset_size <= n, unique names).
"""

from __future__ import annotations

import copy
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from policygradex.stages import STAGES, TRAINERS

Config = dict[str, Any]
Benchmark = dict[str, Any]

#: Keys every stage reads; a change to one of them invalidates every artifact of the benchmark.
SHARED_KEYS = (
    "env",
    "env_id",
    "env_kwargs",
    "imports",
    "success_key",
    "tasks",
    "observe_task",
    "episode_length",
    "max_speed",
    "success_radius",
    "seed",
    "device",
    "trainer",
    "policy",
)

#: Settings of the pointmass environment only; left out of the other families' stage views.
POINTMASS_KEYS = ("max_speed", "success_radius")

#: The config sections each stage reads besides SHARED_KEYS (the stage contract, :mod:`policygradex.stages`).
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {stage.name: stage.sections for stage in STAGES}


class ConfigError(ValueError):
    """A configuration value is missing or not allowed; the message names the field."""


def schema() -> dict[str, Any]:
    """The config schema (workflow/schemas/config.schema.yaml, shipped inside the package)."""
    text = resources.files("policygradex").joinpath("schemas/config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _with_defaults(validator_class: type[jsonschema.protocols.Validator]) -> type:
    """A validator that also writes each property's ``default`` into the instance (jsonschema FAQ recipe)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # noqa: ANN001 - jsonschema callback
        """Fill each missing property with its schema default, then validate as usual."""
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _field(path: Any) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in path]
    return "config" + "".join(parts)


def _check_finite(node: Any, path: list[Any]) -> None:
    """JSON Schema's ``number`` admits NaN and infinity (YAML's .nan, .inf); no setting of ours means either."""
    if isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(f"{_field(path)}: {node} is not a finite number")
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        _check_finite(child, [*path, key])


def _describe(option: dict[str, Any]) -> str:
    """A schema alternative in words: ``{type: integer, minimum: 2}`` -> "an integer >= 2"."""
    if "const" in option:
        return repr(option["const"])
    kind = option.get("type", "value")
    text = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
    return text + (f" >= {option['minimum']}" if "minimum" in option else "")


def validate_config(config: Config, cross_checks: bool = True) -> Config:
    """Validate ``config`` against the schema, fill its defaults in place and return it.

    ``cross_checks=False`` skips the checks that relate sections to each other (k <= n, ...): a stage view
    (:func:`stage_view`) holds only some sections, and the workflow checked the whole config already.

    :raises ConfigError: naming the first offending field and what is allowed there.
    """
    if isinstance(config, dict):  # anything else fails the schema below, naming what is wrong
        entries = [bench for bench in (config.get("benchmarks") or {}).values() if isinstance(bench, dict)]
        preset = config.get("preset")
        offered = _offered_presets(entries)
        if preset is not None and offered and preset not in offered:  # a typo would leave every benchmark out
            raise ConfigError(
                f"config.preset: '{preset}' is offered by no benchmark; their presets: {', '.join(offered)}"
            )
        shared = config.get("presets") or {}
        for name, bench in (config.get("benchmarks") or {}).items():
            if isinstance(bench, dict):
                _apply_preset(name, bench, preset, shared)
    _check_finite(config, [])
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema())
    errors = sorted(
        validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path)))
    )
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            raise ConfigError(f"{_field(error.absolute_path)}: {error.message}; allowed keys: {', '.join(allowed)}")
        if error.validator == "oneOf":
            allowed = " or ".join(_describe(option) for option in error.validator_value)
            raise ConfigError(f"{_field(error.absolute_path)}: {error.instance!r} is not allowed; allowed: {allowed}")
        raise ConfigError(f"{_field(error.absolute_path)}: {error.message}")
    unknown = [name for name in config["default_benchmarks"] or () if name not in config["benchmarks"]]
    if unknown:
        raise ConfigError(
            f"config.default_benchmarks: {', '.join(unknown)} not configured; the benchmarks: "
            + ", ".join(config["benchmarks"])
        )
    for name, bench in config["benchmarks"].items():
        if "presets" in bench:
            continue  # left out of this run: it does not offer the chosen preset
        _fill_env_defaults(name, bench, check=cross_checks)
        if cross_checks:
            _check_benchmark(name, bench)
    return config


def _offered_presets(entries: list[Benchmark]) -> list[str]:
    """Every preset name some of the benchmark ``entries`` offers, in order of first appearance."""
    names: dict[str, None] = {}
    for bench in entries:
        if isinstance(bench.get("presets"), dict):
            names |= dict.fromkeys(bench["presets"])
    return list(names)


def _apply_preset(name: str, bench: Benchmark, preset: str | None, shared: dict[str, Any]) -> None:
    """Merge the chosen preset (``preset``, else the benchmark's ``default_preset``, else smoke) over a benchmark
    that offers it (names it under its own ``presets``), section by section: first the config's shared ``presets``
    entry of that name, then the benchmark's own (its values win); drop ``presets`` and ``default_preset``, and
    record the preset as ``preset``. A benchmark that does not offer it keeps its ``presets``: it is left out of
    this run, and :func:`benchmark` refuses it (``--config preset=workstation`` runs MT10 although the robots have
    no such preset; asking for a robot's files then fails, naming its presets)."""
    presets = bench.get("presets")
    if "preset" in bench and presets is not None:
        raise ConfigError(
            f"config.benchmarks.{name}.preset: filled in by the preset merge; choose one with config.preset or"
            f" the benchmark's default_preset"
        )
    if presets is None:
        return
    default = bench.get("default_preset", "smoke")
    if default not in presets:
        raise ConfigError(
            f"config.benchmarks.{name}.default_preset: '{default}' is not one of its presets: {', '.join(presets)}"
        )
    preset = preset or default
    if preset not in presets:
        return
    del bench["presets"]
    bench.pop("default_preset", None)
    bench["preset"] = preset
    for layer in (shared.get(preset), presets[preset]):
        for key, value in copy.deepcopy(layer or {}).items():  # the caller's config stays as it was
            if isinstance(value, dict) and isinstance(bench.get(key), dict):
                bench[key] = {**bench[key], **value}
            else:
                bench[key] = value


def _fill_env_defaults(name: str, bench: Benchmark, check: bool) -> None:
    """The defaults that need the environment package: a Meta-World suite's tasks, and the episode length of a
    gymnasium or mo_gymnasium environment (its own limit); after checking that the family's package is installed
    and its task settings fit (:func:`families.settings_errors`)."""
    from policygradex.families import GYM_FAMILIES, meta_world_suite, settings_errors  # noqa: PLC0415

    where = f"config.benchmarks.{name}"
    if "suite" in bench and bench["env"] != "metaworld":
        raise ConfigError(f"{where}.suite: only env metaworld reads a suite, not env '{bench['env']}'")
    if "tasks" not in bench:
        if bench["env"] != "metaworld" or "suite" not in bench:
            raise ConfigError(f"{where}.tasks: required (a list of tasks; env metaworld may give `suite` instead)")
        errors = settings_errors({**bench, "tasks": []})
        if errors:
            raise ConfigError(f"{where}.{errors[0]}")
        bench["tasks"] = [{"name": task} for task in meta_world_suite(bench["suite"])]
    if check:
        errors = settings_errors(bench)
        if errors:
            raise ConfigError(f"{where}.{errors[0]}")
    if "episode_length" not in bench and bench["env"] in GYM_FAMILIES:
        from policygradex.check import episode_length  # noqa: PLC0415 - imports gymnasium and the user's modules

        bench["episode_length"] = episode_length(bench, where)


def _check_benchmark(name: str, bench: Benchmark) -> None:
    where = f"config.benchmarks.{name}"
    names = [t["name"] for t in bench["tasks"]]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{where}.tasks: task names must be unique, repeated: {', '.join(duplicates)}")
    n = len(names)
    k = bench["cluster"]["k"]
    if k != "auto" and k > n:
        raise ConfigError(f"{where}.cluster.k: {k} groups asked for but there are only n = {n} tasks (need k <= n)")
    size = bench["estimate"]["subset_size"]
    if not 2 <= size <= n:
        raise ConfigError(f"{where}.estimate.subset_size: {size} must be between 2 and n = {n} tasks")
    subsets = bench["estimate"]["num_subsets"]
    _check_pair_coverage(where, names, size, subsets, bench["seed"])
    if bench["estimate"]["num_chunks"] > subsets:
        raise ConfigError(
            f"{where}.estimate.num_chunks: {bench['estimate']['num_chunks']} chunks for {subsets} subsets"
            " (need num_chunks <= num_subsets)"
        )
    validation = bench["approx_error"]["validation_subsets"]
    if validation > subsets:
        raise ConfigError(
            f"{where}.approx_error.validation_subsets: {validation} exceeds estimate.num_subsets = {subsets}"
        )
    full = bench["full_training"]["num_subsets"]
    if bench["full_training"]["enabled"] and full is not None:
        if not validation <= full <= subsets:
            raise ConfigError(
                f"{where}.full_training.num_subsets: {full} must lie between approx_error.validation_subsets ="
                f" {validation} (those are fine-tuned for the first-order error) and estimate.num_subsets = {subsets}"
            )
        _check_pair_coverage(where, names, size, full, bench["seed"], "full_training.num_subsets", halves=False)
    hessian = bench["hessian"]
    if hessian["min_probes"] > hessian["max_probes"]:
        raise ConfigError(
            f"{where}.hessian.min_probes: {hessian['min_probes']} exceeds max_probes = {hessian['max_probes']}"
        )
    ppo = bench["ppo"]
    rollout = ppo["n_steps"] * bench["vec_env"]["envs_per_task"] * n
    if bench["trainer"] == "ppo" and ppo["batch_size"] > rollout:
        raise ConfigError(f"{where}.ppo.batch_size: {ppo['batch_size']} exceeds one rollout of {rollout} samples")


def _check_pair_coverage(
    where: str,
    names: list[str],
    size: int,
    count: int,
    seed: int,
    field: str = "estimate.num_subsets",
    halves: bool = True,
) -> None:
    """Every pair of tasks must share a subset, or its affinity T[i, j] is undefined; and, with ``halves``, the
    trust check's split halves (trust.py) need room to cover every pair too: fail now, not in affinity or cluster.
    ``field`` names the setting that gave ``count`` (the estimate's subsets; or the first of them that full
    training fine-tunes, which no trust check splits)."""
    from policygradex.subsets import draw_subsets, min_covering_count, uncovered_pairs  # noqa: PLC0415

    missing = uncovered_pairs(len(names), draw_subsets(len(names), size, count, seed))
    need = min_covering_count(len(names), size, seed)
    if missing:
        i, j = missing[0]
        raise ConfigError(
            f"{where}.{field}: {count} subsets of {size} tasks leave {len(missing)} task pairs (first:"
            f" {names[i]} and {names[j]}) without a shared subset, so their affinity is undefined; at this seed"
            f" {need} subsets cover every pair, and the trust check's two halves need {2 * need}"
            " (or raise estimate.subset_size)"
        )
    if halves and count < 2 * need:
        raise ConfigError(
            f"{where}.estimate.num_subsets: {count} subsets cover every task pair, but the trust check splits them"
            f" into two halves that must each be able to: at this seed {need} subsets cover every pair, so"
            f" num_subsets must be at least {2 * need} (or raise estimate.subset_size)"
        )


def running_benchmarks(config: Config) -> list[str]:
    """The benchmarks of a validated config that run this time: all but those sitting the chosen preset out (they
    keep their ``presets``, see :func:`_apply_preset`)."""
    return [name for name, bench in config["benchmarks"].items() if "presets" not in bench]


def only_benchmark(config: Config, name: str) -> Config:
    """A copy of the raw ``config`` reduced to benchmark ``name`` (which a bare run then builds): how the tests and
    benchmark scripts run one benchmark of the shipped config.yaml."""
    reduced = copy.deepcopy(config)
    reduced["benchmarks"] = {name: reduced["benchmarks"][name]}
    reduced["default_benchmarks"] = [name]
    return reduced


def load_config(path: str | Path) -> Config:
    """Read a YAML config file and validate it (defaults filled)."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except FileNotFoundError as err:
        raise ConfigError(f"config file {path} does not exist") from err
    if not isinstance(config, dict):
        raise ConfigError(f"config file {path} must hold a mapping with a `benchmarks:` key")
    return validate_config(config)


def benchmark(config: Config, name: str) -> Benchmark:
    """The settings of benchmark ``name``; a clear error lists the configured ones otherwise, or the benchmark's
    presets when it does not offer the chosen one (see :func:`_apply_preset`)."""
    benchmarks = config["benchmarks"]
    if name not in benchmarks:
        raise ConfigError(f"unknown benchmark '{name}': config.benchmarks has {', '.join(sorted(benchmarks))}")
    presets = benchmarks[name].get("presets")
    if presets is not None:
        raise ConfigError(
            f"config.preset: '{config.get('preset')}' is not a preset of benchmark '{name}'; its presets: "
            f"{', '.join(presets)} (e.g. --config preset={next(iter(presets))})"
        )
    return benchmarks[name]


def stage_view(bench: Benchmark, stage: str) -> Benchmark:
    """The part of a benchmark's settings that ``stage`` reads (see STAGE_SECTIONS)."""
    keys = SHARED_KEYS + STAGE_SECTIONS[stage]
    if bench["env"] != "pointmass":
        keys = tuple(key for key in keys if key not in POINTMASS_KEYS)
    keys = tuple(key for key in keys if key not in TRAINERS or key == bench["trainer"])
    return {key: bench[key] for key in keys if key in bench}


def stage_view_json(bench: Benchmark, stage: str) -> str:
    """:func:`stage_view` as the JSON a rule passes to ``--settings`` (sorted keys: a stable rerun trigger)."""
    return json.dumps(stage_view(bench, stage), sort_keys=True)


def full_training_subsets(bench: Benchmark) -> int:
    """How many estimation subsets (the first ones) are really fine-tuned: ``full_training.num_subsets`` (all by
    default) when full training is on, else the validation ones."""
    if bench["full_training"]["enabled"]:
        return bench["full_training"]["num_subsets"] or bench["estimate"]["num_subsets"]
    return bench["approx_error"]["validation_subsets"]


def full_training_chunks(bench: Benchmark) -> int:
    """Jobs the really fine-tuned subsets are split in: ``full_training.num_chunks``, at most one per subset."""
    return min(bench["full_training"]["num_chunks"], full_training_subsets(bench))


def trainer_settings(bench: Benchmark) -> dict[str, Any]:
    """The settings section of the benchmark's trainer (``ppo`` or ``sac``)."""
    return bench[bench["trainer"]]


def task_names(bench: Benchmark) -> list[str]:
    """The benchmark's task names, in config order (the order of every per-task list and matrix)."""
    return [task["name"] for task in bench["tasks"]]


def planted_groups(bench: Benchmark) -> list[str] | None:
    """The planted labels when every task has one, else None."""
    labels = [task.get("group") for task in bench["tasks"]]
    return None if any(label is None for label in labels) else labels
