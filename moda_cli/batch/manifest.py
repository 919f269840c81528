"""Turn a manifest into a list of jobs, one per row, before any work starts.

Manifests (CSV with a header, JSONL, or YAML list) have one job per row: ``portrait``
(an image or a video) or ``video``, and ``audio`` (required), ``output``, ``preset``,
``seed``, ``set`` (overrides, as a list, a mapping, or ``key=value`` pairs separated by
``;``), ``motion_in`` and ``motion_out`` (motion files, ``motion.motionfile``). Relative
portrait (or video), audio and motion_in paths resolve against the manifest's folder; a
relative output or motion_out against the batch's output folder, and every output must
stay inside that folder (``..``, an absolute path or a symlinked folder leading out fail
the row) unless the caller allows it.
A value of the wrong type (``seed: 1.7``, ``output: {...}``) fails its row.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError, excerpt
from ..safe_yaml import load_yaml
from .spec import BatchPlan, JobSpec

MANIFEST_EXTS = {".csv", ".jsonl", ".yaml", ".yml"}
MANIFEST_KEYS = {
    "portrait",
    "video",
    "audio",
    "output",
    "preset",
    "seed",
    "set",
    "motion_in",
    "motion_out",
}


def _overrides(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        return [
            f"{k}={json.dumps(v) if isinstance(v, (list, dict)) else v}" for k, v in value.items()
        ]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(";") if part.strip()]


class _RowError(ValueError):
    """A manifest row's value has the wrong type or form."""


def _text(row: dict[Any, Any], key: str) -> str | None:
    """A row's text value (a path or a name), None when absent; a number or mapping is an error."""
    value = row.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _RowError(f"{key} must be text, got {excerpt(value)}")
    return value


def _seed(value: Any) -> int | None:
    """An integer, or its digits as text (CSV); 1.7 or true is an error, not a rounded seed."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        if isinstance(value, str):
            return int(value)
    except ValueError:
        pass
    raise _RowError(f"seed {excerpt(value)} is not an integer")


def _row_to_job(row: Any, index: int, base: Path) -> JobSpec:
    name = f"row{index + 1}"
    if not isinstance(row, dict):
        return JobSpec(name, None, None, error=f"row {index + 1}: expected a mapping of columns")
    unknown = set(row) - MANIFEST_KEYS - {None}
    visual = "video" if row.get("video") else "portrait"  # the column naming the image or video
    missing = [k for k in (visual, "audio") if not row.get(k)]
    if unknown or missing or (row.get("video") and row.get("portrait")):
        listed = ", ".join(sorted(str(k)[:30] for k in unknown))
        what = f"unknown column(s) {listed}"
        if missing:
            what = f"missing column(s) {', '.join(missing)}"
        elif not unknown:
            what = "give a portrait or a video, not both"
        return JobSpec(name, None, None, error=f"row {index + 1}: {what}")

    def resolve(value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else base / path

    try:
        portrait, audio = resolve(str(_text(row, visual))), resolve(str(_text(row, "audio")))
        output, preset, seed = _text(row, "output"), _text(row, "preset"), _seed(row.get("seed"))
        motion_in, motion_out = _text(row, "motion_in"), _text(row, "motion_out")
    except _RowError as exc:
        return JobSpec(name, None, None, error=f"row {index + 1}: {exc}")
    return JobSpec(
        name=f"{name}:{portrait.stem}__{audio.stem}",
        portrait=portrait,
        audio=audio,
        # A relative output goes under --output, where the rest of the batch goes.
        output=Path(output).expanduser() if output else None,
        preset=_preset_ref(preset, base),
        seed=seed,
        overrides=_overrides(row.get("set")),
        motion_in=resolve(motion_in) if motion_in else None,
        motion_out=Path(motion_out).expanduser() if motion_out else None,  # like output
    )


def _preset_ref(text: str | None, base: Path) -> str | None:
    """A preset name as is; a preset file relative to the manifest's folder."""
    if text is None:
        return None
    if Path(text).suffix.lower() in (".yaml", ".yml") and not Path(text).expanduser().is_absolute():
        return str(base / text)
    return text


def _clean_csv_row(row: dict[Any, Any]) -> dict[Any, Any]:
    """Spreadsheets write ``portrait, audio`` with spaces: strip names and values."""
    return {_strip(k): _strip(v) for k, v in row.items()}


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _read_rows(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8-sig")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return [_clean_csv_row(row) for row in csv.DictReader(text.splitlines())]
    if suffix == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    rows.append(f"line {n}: {exc.msg}")
        return rows
    data = load_yaml(text)
    if isinstance(data, dict) and "jobs" in data:
        data = data["jobs"]
    if not isinstance(data, list):
        raise UsageError(
            "a YAML manifest must be a list of jobs (or have a 'jobs:' list)", path=path
        )
    return data


def plan_manifest(path: Path) -> BatchPlan:
    if not path.is_file():
        raise UsageError("manifest not found", path=path)
    if path.suffix.lower() not in MANIFEST_EXTS:
        raise UsageError(
            f"unknown manifest type {path.suffix!r}", path=path, hint="use .csv, .jsonl or .yaml"
        )
    try:
        rows = _read_rows(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, csv.Error) as exc:
        raise UsageError(f"cannot read manifest: {exc}", path=path) from None
    base = path.parent.resolve()
    return BatchPlan([_row_to_job(row, i, base) for i, row in enumerate(rows)], [], path)
