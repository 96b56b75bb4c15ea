"""Load and validate the workflow configuration.

One function, :func:`validate_config`, serves the Snakefile (``workflow/rules/common.smk``) and the CLI, so a
config is judged the same way whether a stage runs inside Snakemake or on its own. It fills the schema's
defaults in place, then checks what a JSON Schema cannot express (k <= n, subset_size <= n, unique names).
"""

from __future__ import annotations

import copy
import difflib
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from policygradex.errors import ConfigError
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


def schema() -> dict[str, Any]:
    """The config schema (workflow/schemas/config.schema.yaml, shipped inside the package)."""
    text = resources.files("policygradex").joinpath("schemas/config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _with_defaults(validator_class: type[jsonschema.protocols.Validator]) -> type:
    """A validator that also writes each property's ``default`` into the instance (jsonschema FAQ recipe)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # jsonschema callback
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


def shipped_presets() -> dict[str, dict[str, Any]]:
    """The workflow's presets (src/policygradex/presets.yaml): what every benchmark can ask for, whatever file
    holds its settings."""
    text = resources.files("policygradex").joinpath("presets.yaml").read_text()
    return yaml.safe_load(text)


def validate_config(config: Config, cross_checks: bool = True) -> Config:
    """Validate ``config`` against the schema, fill its defaults in place and return it.

    The chosen preset is merged first (:func:`_apply_preset`); then the schema's defaults, then the defaults that
    follow the task set (:func:`resolve_defaults`: the subset size and count from n). ``cross_checks=False`` skips
    the checks that relate sections to each other (k <= n, ...) and the defaults that follow n: a stage view
    (:func:`stage_view`) holds only some sections, resolved when the workflow checked the whole config.

    :raises ConfigError: naming the first offending field and what is allowed there.
    """
    preset_keys: dict[str, set[str]] = {}
    if isinstance(config, dict):  # anything else fails the schema below, naming what is wrong
        preset = config.get("preset")
        shared = shipped_presets() | (config.get("presets") or {})  # a config's entry replaces the workflow's
        entries = [bench for bench in (config.get("benchmarks") or {}).values() if isinstance(bench, dict)]
        offered = _offered_presets(shared, entries)
        if preset is not None and preset not in offered:  # a typo would leave every benchmark out
            close = difflib.get_close_matches(str(preset), offered, n=1)
            raise ConfigError(
                f"config.preset: '{preset}' is offered by no benchmark"
                + (f" (did you mean '{close[0]}'?)" if close else "")
                + f"; their presets: {', '.join(offered)}"
            )
        for name, bench in (config.get("benchmarks") or {}).items():
            if isinstance(bench, dict):
                preset_keys[name] = _apply_preset(name, bench, preset, shared)
    _check_finite(config, [])
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema())
    errors = sorted(
        validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path)))
    )
    if errors:
        raise ConfigError(_schema_message(jsonschema.exceptions.best_match(errors)))
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
            resolve_defaults(name, bench, preset_keys.get(name, set()))
            _check_benchmark(name, bench)
    return config


def _schema_message(error: jsonschema.exceptions.ValidationError) -> str:
    """One line for a schema error: the field, what is wrong, what is allowed (close matches for a misspelt key,
    the schema's ``x-why`` where it gives the reason for a limit)."""
    field = _field(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [key for key in error.instance if key not in allowed]
        close = difflib.get_close_matches(extra[0], allowed, n=1) if extra else []
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{field}: {error.message}{hint}; allowed keys: {', '.join(allowed)}"
    if error.validator == "oneOf":
        allowed = " or ".join(_describe(option) for option in error.validator_value)
        return f"{field}: {error.instance!r} is not allowed; allowed: {allowed}"
    if error.validator == "enum":
        close = difflib.get_close_matches(str(error.instance), [str(v) for v in error.validator_value], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{field}: {error.message}{hint}"
    why = error.schema.get("x-why")
    if why and error.validator in ("pattern", "maxLength"):  # a name: the rule in words, not the regex
        text = str(error.instance)
        shown = repr(text) if len(text) <= 40 else f"'{text[:24]}...' ({len(text)} characters)"
        return f"{field}: {shown} is not allowed: {why}"
    return f"{field}: {error.message}" + (f" ({why})" if why else "")


def _offered_presets(shared: dict[str, Any], entries: list[Benchmark]) -> list[str]:
    """Every preset name the workflow or one of the benchmark ``entries`` offers, in order of first appearance."""
    names = dict.fromkeys(shared)
    for bench in entries:
        if isinstance(bench.get("presets"), dict):
            names |= dict.fromkeys(bench["presets"])
    return list(names)


def _apply_preset(name: str, bench: Benchmark, preset: str | None, shared: dict[str, Any]) -> set[str]:
    """Merge the chosen preset over a benchmark that offers it, section by section: first the shared entry of that
    name (the workflow's presets, or the config's own top-level entry), then the benchmark's own (its values win);
    drop ``presets`` and ``default_preset``, record the preset as ``preset``, and return the settings the preset
    set (``estimate.num_subsets``, ...: what :func:`resolve_defaults` may raise to the task set's minimum).

    The preset is ``preset`` (the command line's), else the benchmark's ``default_preset``, else smoke for a
    benchmark whose ``presets:`` name it; a benchmark that names no presets offers every shared preset, and one
    asked for none runs its own settings (no preset). A benchmark that does not offer the chosen preset keeps its
    ``presets``: it is left out of this run, and :func:`benchmark` refuses it, naming its presets
    (``--config preset=workstation`` runs MT10; asking for a robot's files then fails)."""
    own = bench.get("presets")
    if "preset" in bench:
        if "resolved_defaults" in bench and preset in (None, bench["preset"]):
            return set()  # resolved already: a validated config validated again
        raise ConfigError(
            f"config.benchmarks.{name}.preset: filled in by the preset merge; choose one with config.preset"
            " (--config preset=NAME) or the benchmark's default_preset"
        )
    offered = own if isinstance(own, dict) else dict.fromkeys(shared, {})
    default = bench.get("default_preset", "smoke" if "smoke" in (own or ()) else None)
    if default is not None and default not in offered:
        raise ConfigError(
            f"config.benchmarks.{name}.default_preset: '{default}' is not one of its presets: {', '.join(offered)}"
        )
    chosen = preset or default
    if chosen is None:
        return set()
    if chosen not in offered:
        bench["presets"] = dict(offered)  # sits this run out; asking for its files names its presets
        return set()
    bench.pop("presets", None)
    bench.pop("default_preset", None)
    bench["preset"] = chosen
    keys: set[str] = set()
    for layer in (shared.get(chosen) or {}, offered[chosen] or {}):
        bench.update(merged(bench, layer))
        for key, value in layer.items():
            keys |= {f"{key}.{inner}" for inner in value} if isinstance(value, dict) else {key}
    return keys


def merged(settings: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with ``layer`` (a preset's entry, or settings changed on an evidence script's command line)
    merged over it, as a new dict (neither argument changes): a section the layer gives in part keeps the other
    keys of ``settings``' section, at every depth (``cluster.trust``); any other value of the layer replaces."""
    result = dict(settings)
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


#: The score a task set that names none is estimated with (measured against return scoring on four task sets with
#: planted groups, docs/own-tasks.md), and the step it takes by default with each score.
DEFAULT_SCORE = "surrogate"
DEFAULT_STEP = {"return": 0.02, "surrogate": 0.005, "first_order": 0.005, "second_order": 0.005}
#: Fewest estimation subsets by default, whatever n: the trust check's power grows with m (docs/own-tasks.md).
MIN_DEFAULT_SUBSETS = 100


def default_subset_size(n: int) -> int:
    """Tasks per subset when the config names none: about n/2 (what every shipped task set chose by hand), at
    least 2 and at most n - 1, so that subsets differ (n = 2 has no such size: refused)."""
    return max(2, min(n - 1, n // 2))


def resolve_defaults(name: str, bench: Benchmark, preset_keys: set[str] = frozenset()) -> None:
    """Fill the settings whose defaults follow the task set, and record each in ``resolved_defaults`` (printed by
    ``policygradex check`` and at the start of a run, and kept in provenance.json):

    - ``estimate.subset_size``: :func:`default_subset_size` of n; a size of n or more is refused (every subset
      would be the whole task set);
    - ``estimate.num_subsets``: at least what the trust check's two halves need to cover every task pair, and
      at least :data:`MIN_DEFAULT_SUBSETS`; a preset's fixed count below that minimum, or below the subsets the
      benchmark's own settings fine-tune (``full_training.num_subsets``), is raised to it;
    - ``estimate.score`` and ``step_size``: :data:`DEFAULT_SCORE`, and the step :data:`DEFAULT_STEP` gives the
      score.
    """
    from policygradex.subsets import min_covering_count  # numpy, only when a config is resolved

    where, estimate, notes = f"config.benchmarks.{name}", bench["estimate"], {}
    n = len(bench["tasks"])
    if n < 3:
        raise ConfigError(
            f"{where}.tasks: n = {n} tasks leave nothing to estimate: every subset of 2 tasks is the whole set, so"
            " the affinity is one number per task; train the two together and apart and compare, or add tasks"
        )
    if "subset_size" not in estimate:
        estimate["subset_size"] = default_subset_size(n)
        notes["estimate.subset_size"] = f"{estimate['subset_size']} (about n/2 of n = {n} tasks)"
    size = estimate["subset_size"]
    if size >= n:
        raise ConfigError(
            f"{where}.estimate.subset_size: {size} tasks per subset of n = {n}: every subset would be the whole task"
            " set, every task's affinity row one number repeated, and the groups arbitrary; use 2 to"
            f" {n - 1} (leave it out for about n/2: {default_subset_size(n)})"
        )
    need = 2 * min_covering_count(n, size, bench["seed"])
    if "num_subsets" not in estimate:
        estimate["num_subsets"] = max(MIN_DEFAULT_SUBSETS, need)
        notes["estimate.num_subsets"] = (
            f"{estimate['num_subsets']} (at least {MIN_DEFAULT_SUBSETS}, and the {need} the trust check's halves"
            f" need to cover every pair of {n} tasks in subsets of {size})"
        )
    elif "estimate.num_subsets" in preset_keys:
        full = bench["full_training"]
        fine_tuned = full["num_subsets"] if full["enabled"] and "full_training.num_subsets" not in preset_keys else None
        least = max(need, fine_tuned or 0)
        if estimate["num_subsets"] < least:
            why = (
                f"the trust check's halves need {need} subsets of {size} to cover every pair of {n} tasks"
                if least == need
                else f"the benchmark fine-tunes the first {fine_tuned} of them (full_training.num_subsets)"
            )
            notes["estimate.num_subsets"] = f"{least} (the preset's {estimate['num_subsets']} raised: {why})"
            estimate["num_subsets"] = least
    if "score" not in estimate:
        estimate["score"] = DEFAULT_SCORE
        notes["estimate.score"] = f"{DEFAULT_SCORE} (the default)"
    if "step_size" not in estimate:
        estimate["step_size"] = DEFAULT_STEP[estimate["score"]]
        notes["estimate.step_size"] = f"{estimate['step_size']} (the default of score {estimate['score']})"
    bench["resolved_defaults"] = {**bench.get("resolved_defaults", {}), **notes}


def _fill_env_defaults(name: str, bench: Benchmark, check: bool) -> None:
    """The defaults that need the environment package: a Meta-World suite's tasks, and the episode length of a
    gymnasium or mo_gymnasium environment (its own limit); after checking that the family's package is installed
    and its task settings fit (:func:`families.settings_errors`)."""
    from policygradex.families import (  # imported when a config is resolved
        GYM_FAMILIES,
        episode_length,
        meta_world_suite,
        settings_errors,
    )

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
    from policygradex.subsets import draw_subsets, min_covering_count, uncovered_pairs

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


def section_defaults(section: str) -> dict[str, Any]:
    """A benchmark's ``section`` as the schema fills it when the config names nothing there (the one home of the
    defaults, for code that judges data outside a run, such as the synthetic null benchmarks)."""
    tasks = [{"name": "a", "goal": [1.0, 0.0]}, {"name": "b", "goal": [0.0, 1.0]}]
    config = validate_config({"benchmarks": {"defaults": {"env": "pointmass", "tasks": tasks}}}, cross_checks=False)
    return config["benchmarks"]["defaults"][section]


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
    except yaml.YAMLError as err:
        raise ConfigError(yaml_error(path, err)) from None
    if not isinstance(config, dict):
        raise ConfigError(f"config file {path} must hold a mapping with a `benchmarks:` key")
    return validate_config(config)


def yaml_error(path: Path, err: yaml.YAMLError) -> str:
    """A YAML syntax error in one line: file, line and column (1-based), and what the parser expected."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = " ".join(str(part) for part in (getattr(err, "context", None), getattr(err, "problem", None)) if part)
    return f"{where}: not valid YAML: {problem or err}"


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
    """The part of a benchmark's settings that ``stage`` reads (see STAGE_SECTIONS): whole sections, and single
    keys of a section written ``section.key`` (the cluster stage reads ``estimate.score`` only, so that no other
    estimate setting reruns it)."""
    keys = SHARED_KEYS + STAGE_SECTIONS[stage]
    if bench["env"] != "pointmass":
        keys = tuple(key for key in keys if key not in POINTMASS_KEYS)
    keys = tuple(key for key in keys if key not in TRAINERS or key == bench["trainer"])
    view: Benchmark = {}
    for key in keys:
        section, _, inner = key.partition(".")
        if inner and inner in bench.get(section, {}):
            view.setdefault(section, {})[inner] = bench[section][inner]
        elif not inner and key in bench:
            view[key] = bench[key]
    return view


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
