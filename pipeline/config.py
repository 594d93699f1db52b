"""One config loader: typed sections (default, check and help beside each key), then the user's YAML
file, then `--set a.b=VALUE` overrides.

The resolved configuration is plain data: a nested dict that is hashed per stage, written to
`DIR/config.yaml` and shipped to workers. Each section has a pydantic model (next to its stage, e.g.
`filters/dedup/config.py`) that fills the defaults, checks types and ranges, and gives a stage typed
attributes (`self.settings.threshold`). An unknown or mistyped key is one error line naming it.
`python -m pipeline config` prints every key with its default and help.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from pipeline.errors import ConfigError


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# Input globs/paths: a list, or one string (`--set dedup.inputs=data/*.parquet`); null = the default.
InputList = Annotated[list[str] | None, BeforeValidator(_one_or_many)]


class Section(BaseModel):
    """Base of every config model: strict types, no unknown keys, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    renamed: ClassVar[dict[str, str]] = {}  # old key → new key (a one-line error says the new name)


class SparkConfig(Section):
    master: str | None = Field(None, description="spark://HOST:PORT for engine=spark; local[*] otherwise")
    driver_memory: str = "4g"
    conf: dict[str, Any] = Field({}, description="extra spark conf, e.g. {spark.executor.memory: 8g}")
    class_archive_dir: str | None = Field(
        "~/.cache/crawl-to-tokens/spark-cds",
        description="driver JVM class archive (built once, ~15 s, ~120 MB; halves start-up); null: none")


class RayConfig(Section):
    address: str | None = Field(None, description='null: a local Ray; "auto" or "HOST:PORT" for a running cluster')
    num_cpus: int | None = Field(None, ge=1)


class RunConfig(Section):
    rejects_per_reason: int = Field(20, ge=0, description="dropped rows sampled into _rejects/ per reason and partition")
    progress: bool = Field(True, description="progress bars on a terminal")


class RootConfig(Section):
    """Top-level keys: which engine moves batches, the seed everything derives from, engine settings."""

    engine: Literal["local", "spark", "ray"] = Field(
        "local", description="local (Spark local[*], embedded) | spark (cluster at spark.master) | ray")
    seed: int = 1234
    spark: SparkConfig = SparkConfig()
    ray: RayConfig = RayConfig()
    run: RunConfig = RunConfig()


def section_models() -> dict[str, type[Section]]:
    """Every stage's section name → its model (light modules, imported by path from the registry)."""
    from pipeline.registry import SECTIONS, load

    return {name: load(target) for name, target in SECTIONS.items()}


def validate_section(model: type[Section], data: Any, where: str) -> Section:
    """`data` as a `model`, or a ConfigError naming the first bad key (`where` is its dotted prefix)."""
    prefix = f"{where}." if where else ""
    if not isinstance(data, dict):
        raise ConfigError(f"config key '{where}' must be a mapping, got {data!r}")
    for old, new in model.renamed.items():
        if old in data:
            raise ConfigError(f"config key '{prefix}{old}' was renamed to '{prefix}{new}'")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = prefix + ".".join(str(part) for part in error["loc"]) if error["loc"] else where
        if error["type"] == "extra_forbidden":
            raise ConfigError(f"unknown config key {key!r}") from None
        raise ConfigError(f"config key {key!r}: {error['msg']} (got {error.get('input')!r})") from None


def parse_set(item: str) -> dict[str, Any]:
    """`a.b=VALUE` → {"a": {"b": VALUE}}, with VALUE parsed as YAML."""
    if "=" not in item:
        raise ConfigError(f"--set expects key=value, got {item!r}")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {key}: value is not valid YAML ({exc.__class__.__name__})") from None
    nested: dict[str, Any] = {}
    cursor = nested
    parts = key.strip().split(".")
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = value
    return nested


def _deep_update(base: dict, new: dict) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value


def resolve(user: dict[str, Any]) -> dict[str, Any]:
    """The user's keys over every default, validated section by section, as plain data."""
    sections = section_models()
    root_keys = set(RootConfig.model_fields)
    for key in user:
        if key not in root_keys and key not in sections:
            raise ConfigError(f"unknown config key {key!r}")
    config = validate_section(RootConfig, {k: v for k, v in user.items() if k in root_keys}, "").model_dump()
    for name, model in sections.items():
        config[name] = validate_section(model, user.get(name) or {}, name).model_dump()
    return config


def load_config(config_file: str | Path | None = None, overrides: list[str] | None = None) -> dict:
    """Resolve defaults + file + overrides into one validated nested dict."""
    user: dict[str, Any] = {}
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            user = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(user, dict):
            raise ConfigError(f"config file {path} must hold a mapping of sections")
    for item in overrides or []:
        _deep_update(user, parse_set(item))
    return resolve(copy.deepcopy(user))


def config_sha256(config: dict, sections: tuple[str, ...]) -> str:
    """Hash of what a stage's output depends on: its sections (or dotted keys) and the seed.

    The engine is left out on purpose: every engine gives the same output.
    """
    relevant: dict[str, Any] = {}
    for name in sorted(sections):
        value: Any = config
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        relevant[name] = value
    relevant["seed"] = config.get("seed")
    blob = json.dumps(relevant, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def dump_config(config: dict) -> str:
    return yaml.safe_dump(config, sort_keys=False)


def describe_defaults() -> str:
    """Every key with its default and help, as commented YAML (`python -m pipeline config`)."""
    lines: list[str] = []
    _describe(RootConfig, 0, lines)
    for name, model in section_models().items():
        lines.append(f"{name}:" + (f"  # {model.__doc__.strip().splitlines()[0]}" if model.__doc__ else ""))
        _describe(model, 1, lines)
    return "\n".join(lines) + "\n"


def _describe(model: type[Section], depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    for name, field in model.model_fields.items():
        default = field.get_default(call_default_factory=True)
        note = f"  # {field.description}" if field.description else ""
        if isinstance(default, Section):
            lines.append(f"{pad}{name}:{note}")
            _describe(type(default), depth + 1, lines)
            continue
        value = yaml.safe_dump(default, default_flow_style=True, width=10**6).strip()
        value = value.removesuffix("\n...").removesuffix("...").strip()
        lines.append(f"{pad}{name}: {value}{note}")
