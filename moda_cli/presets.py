"""Presets: one validated settings schema for a job, composed of the stages' own settings.

Precedence, lowest to highest: the schema's defaults < the preset file (after resolving
its ``extends:`` chain) < ``--set key=value`` overrides < explicit CLI options. Unknown
keys and wrong types are errors that name the file, the key and what was expected.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import PresetError, excerpt
from .motion.settings import MotionSettings
from .render.settings import RenderSettings
from .safe_yaml import load_yaml
from .strict import StrictModel
from .video.settings import VideoSettings


class Preset(StrictModel):
    """Every setting of a job; the YAML files in ``presets/`` fill part of it."""

    name: str = "custom"
    description: str = ""
    seed: int = 42
    # One section per stage, each the stage's own type (its settings.py).
    motion: MotionSettings = MotionSettings()
    render: RenderSettings = RenderSettings()
    video: VideoSettings = VideoSettings()


DEFAULT_PRESET = "natural"


def preset_dirs() -> list[Path]:
    """Where named presets are looked up: $MODA_PRESETS_DIR, the source tree, the install."""
    dirs = []
    if env := os.environ.get("MODA_PRESETS_DIR"):
        dirs.append(Path(env))
    dirs.append(Path(__file__).resolve().parent.parent / "presets")
    dirs.append(Path(sys.prefix) / "share" / "moda" / "presets")
    return [d for d in dirs if d.is_dir()]


def available_presets() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in reversed(preset_dirs()):  # earlier directories win
        for f in sorted(d.glob("*.yaml")):
            found[f.stem] = f
    return dict(sorted(found.items()))


def _locate(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise PresetError("preset file not found", path=path)
        return path
    presets = available_presets()
    if str(name_or_path) not in presets:
        raise PresetError(
            f"unknown preset {str(name_or_path)!r}",
            hint=f"choose one of {', '.join(presets) or '(none installed)'} or give a .yaml path",
        )
    return presets[str(name_or_path)]


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PresetError(f"cannot read preset: {exc}", path=path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PresetError("a preset must be a mapping of settings", path=path)
    return data


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _raw_preset(
    name_or_path: str | Path, seen: tuple[Path, ...] = ()
) -> tuple[dict[str, Any], Path]:
    path = _locate(name_or_path).resolve()
    if path in seen:
        chain = " -> ".join(p.stem for p in (*seen, path))
        raise PresetError(f"'extends' forms a cycle: {chain}", path=path)
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    data.setdefault("name", path.stem)
    if parent is None:
        return data, path
    # Relative parent paths resolve against the child file's folder.
    parent_ref: str | Path = parent
    if str(parent).endswith((".yaml", ".yml")):
        parent_ref = path.parent / str(parent)
    base, _ = _raw_preset(parent_ref, (*seen, path))
    return _merge(base, data), path


def parse_override(text: str) -> tuple[list[str], Any]:
    """``motion.head=0.5`` -> (["motion", "head"], 0.5); the value is parsed as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise PresetError(
            f"--set expects key=value, got {excerpt(text)}", hint="e.g. --set motion.head=0.5"
        )
    try:
        parsed = load_yaml(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip().split("."), parsed


def overrides_to_dict(overrides: Iterable[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for text in overrides:
        keys, value = parse_override(text)
        node = tree
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise PresetError(f"--set {excerpt(text)}: {excerpt(k)} is a value, not a section")
        node[keys[-1]] = value
    return tree


def _describe(exc: ValidationError, source: str) -> PresetError:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        msg = f"unknown key {excerpt(key)}"
    else:
        msg = f"key {excerpt(key)}: {first['msg']} (got {excerpt(first.get('input'))})"
    more = len(exc.errors()) - 1
    if more:
        msg += f" and {more} more problem(s)"
    return PresetError(msg, path=source)


def load_preset(name_or_path: str | Path = DEFAULT_PRESET, overrides: Iterable[str] = ()) -> Preset:
    """Resolve a named preset or YAML file, apply ``--set`` overrides, validate once."""
    raw, path = _raw_preset(name_or_path)
    try:
        preset = Preset.model_validate(raw)
    except ValidationError as exc:
        raise _describe(exc, str(path)) from None
    extra = overrides_to_dict(overrides)
    if not extra:
        return preset
    try:
        return Preset.model_validate(_merge(preset.model_dump(), extra))
    except ValidationError as exc:
        raise _describe(exc, "--set") from None


def preset_to_yaml(preset: Preset) -> str:
    return yaml.safe_dump(preset.model_dump(), sort_keys=False)
