"""Turn a folder or a manifest into a list of jobs, before any work starts.

Folder rules (documented in the README):
  * ``anna.jpg`` + ``anna.wav``: one job.
  * ``anna.jpg`` + ``anna__en.wav`` + ``anna__de.wav``: one portrait, several audios
    (the part before the first ``__`` names the portrait).
  * a subfolder holding one portrait and one or more audio files: one job per audio,
    whatever the names. A subfolder with several portraits follows the stem rules.
  * files that pair with nothing are listed in the plan and the report as unpaired.
  * two portraits with one stem (``anna.webp``, ``anna.tiff``): their jobs fail, naming
    both files, rather than one being picked silently.
  * a video pairs like a portrait (``anna.mp4`` + ``anna__de.wav``) and its job dubs it.
    Whether a ``.mp4``/``.mov``/``.mkv``/``.webm`` file is a video (more than one frame)
    or only sound, its content decides (``batch.videos``).

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
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ModaError, UsageError, excerpt
from ..presets import DEFAULT_PRESET, load_preset
from ..safe_yaml import load_yaml
from ..video.formats import OUTPUT_FORMATS
from ..video.settings import VideoSettings
from .videos import VIDEO_EXTS, is_video_input

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
AUDIO_EXTS = {
    ".wav",
    ".mp3",
    ".ogg",
    ".oga",
    ".opus",
    ".m4a",
    ".aac",
    ".flac",
    ".mp4",
    ".mov",
    ".mkv",
    ".webm",
}
MANIFEST_EXTS = {".csv", ".jsonl", ".yaml", ".yml"}
# {ext}: the extension of the job's video.format (".mp4")
DEFAULT_TEMPLATE = "{portrait}__{audio}{ext}"
TEMPLATE_FIELDS = "{portrait}, {audio}, {job}, {ext}"
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


@dataclass
class JobSpec:
    """One planned job. ``error`` is set when the row itself is unusable (it fails alone)."""

    name: str
    portrait: Path | None
    audio: Path | None
    output: Path | None = None
    preset: str | None = None
    seed: int | None = None
    overrides: list[str] = field(default_factory=list)
    error: str | None = None
    motion_in: Path | None = None  # a motion file rendered instead of sampling
    motion_out: Path | None = None  # where the rendered motion is written


@dataclass
class BatchPlan:
    jobs: list[JobSpec]
    unpaired: list[Path] = field(default_factory=list)
    source: Path | None = None


def _safe_entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        raise UsageError(f"cannot list folder: {exc.strerror}", path=folder) from None


def _is_kind(path: Path, exts: set[str]) -> bool:
    if path.name.startswith(".") or path.suffix.lower() not in exts:
        return False  # hidden files include moda's own temp files and locks
    try:
        # A video with a moda sidecar is an earlier batch's output (the output folder can
        # be the input folder): taking its sound as speech would render it again.
        return path.is_file() and not path.with_name(path.name + ".moda.json").exists()
    except OSError:  # e.g. a symlink loop: not a usable file
        return False


def _pair_by_stem(
    images: list[Path], audios: list[Path], group: str
) -> tuple[list[JobSpec], list[Path]]:
    by_stem: dict[str, list[Path]] = {}
    for image in images:
        by_stem.setdefault(image.stem, []).append(image)
    if len(images) == 1 and group:
        # A subfolder with a single portrait: every audio in it belongs to that portrait.
        jobs = [JobSpec(f"{group}/{a.stem}", images[0], a) for a in audios]
        return jobs, ([] if audios else images)
    jobs, used = [], set()
    unpaired: list[Path] = []
    for audio in audios:
        stem = audio.stem if audio.stem in by_stem else audio.stem.split("__", 1)[0]
        portraits = by_stem.get(stem, [])
        if not portraits:
            unpaired.append(audio)
            continue
        used.update(portraits)
        name = f"{group}/{audio.stem}" if group else audio.stem
        if len(portraits) > 1:
            names = " and ".join(p.name for p in portraits)
            error = f"{audio}: portraits {names} share the name {stem!r}; keep one, rename the rest"
            jobs.append(JobSpec(name, None, audio, error=error))
        else:
            jobs.append(JobSpec(name, portraits[0], audio))
    unpaired += [p for p in images if p not in used]
    return jobs, unpaired


def _visuals_and_audios(entries: list[Path]) -> tuple[list[Path], list[Path]]:
    """A folder's images and videos (by content: an .mp4 of sound alone is audio), and its
    other audio files."""
    videos = [p for p in entries if _is_kind(p, VIDEO_EXTS) and is_video_input(p)]
    visuals = sorted([p for p in entries if _is_kind(p, IMAGE_EXTS)] + videos)
    return visuals, [p for p in entries if _is_kind(p, AUDIO_EXTS) and p not in videos]


def plan_folder(folder: Path) -> BatchPlan:
    """Pair portraits and audio in ``folder`` and its immediate subfolders."""
    if not folder.is_dir():
        raise UsageError("input folder not found", path=folder)
    seen = {folder.resolve()}
    jobs, unpaired, subdirs = [], [], []
    entries = _safe_entries(folder)
    found, left = _pair_by_stem(*_visuals_and_audios(entries), "")
    jobs += found
    unpaired += left
    for sub in entries:
        try:
            real = sub.resolve(strict=True)
            if not sub.is_dir() or real in seen or sub.name.startswith("."):
                continue
        except (OSError, RuntimeError):  # dangling link or symlink loop
            continue
        seen.add(real)
        subdirs.append(sub)
    for sub in subdirs:
        sub_entries = _safe_entries(sub)
        found, left = _pair_by_stem(*_visuals_and_audios(sub_entries), sub.name)
        jobs += found
        unpaired += left
    return BatchPlan(jobs, unpaired, folder)


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


def plan_inputs(source: Path) -> BatchPlan:
    """A folder or a manifest file."""
    return plan_folder(source) if source.is_dir() else plan_manifest(source)


def output_name(template: str, portrait: str, audio: str, job: str, ext: str = ".mp4") -> str:
    """Fill the output template (``ext``: the video format's extension); a malformed one
    is a usage error naming the fields."""
    try:
        name = template.format(portrait=portrait, audio=audio, job=job, ext=ext)
    except KeyError as exc:
        raise UsageError(
            f"output template {template!r} uses unknown field {exc}",
            hint=f"fields: {TEMPLATE_FIELDS}",
        ) from None
    except (IndexError, ValueError, AttributeError, TypeError) as exc:
        raise UsageError(
            f"output template {template!r} is malformed: {exc}",
            hint=f"fields: {TEMPLATE_FIELDS}; write a literal brace as {{{{ or }}}}",
        ) from None
    if not name.strip() or name.endswith(("/", os.sep)):
        raise UsageError(f"output template {template!r} gives an empty file name")
    return name


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` would be written inside ``folder``: its parent resolved (``..``
    and every symlink followed, as far as they exist) is ``folder`` or under it."""
    root, parent = os.path.realpath(folder), os.path.realpath(path.parent)
    return os.path.commonpath([root, parent]) == root


def output_extension(preset: str, overrides: tuple[str, ...]) -> str:
    """The extension of ``preset``'s ``video.format`` under ``overrides`` (".mp4"). A
    preset that does not load gives the default format's: its job fails when resolved."""
    try:
        name = load_preset(preset, list(overrides)).video.format
    except ModaError:
        name = VideoSettings().format
    return OUTPUT_FORMATS.get(name).extension


def assign_outputs(
    plan: BatchPlan,
    out_dir: Path,
    template: str = DEFAULT_TEMPLATE,
    *,
    preset: str = DEFAULT_PRESET,
    overrides: Sequence[str] = (),
    allow_outside: bool = False,
) -> None:
    """Fill in outputs from the template; two jobs writing one file is a usage error.

    Each output ends with the extension of its job's video format (the job's preset and
    overrides over the batch's ``preset`` and ``overrides``). An output that would land
    outside ``out_dir`` fails its row (a template that does is a usage error), unless
    ``allow_outside``.
    """
    extensions: dict[tuple[str, tuple[str, ...]], str] = {}  # a preset loads once a batch

    def extension(name: str, changes: tuple[str, ...]) -> str:
        if (name, changes) not in extensions:
            extensions[name, changes] = output_extension(name, changes)
        return extensions[name, changes]

    ext = extension(preset, tuple(overrides))
    sample = output_name(template, "portrait", "audio", "job", ext)  # malformed: fail now
    if not allow_outside and not inside(out_dir / sample, out_dir):
        raise UsageError(
            f"output template {template!r} writes outside the output folder",
            hint="pass --allow-outside-output to allow it",
        )
    owners: dict[str, str] = {}
    for job in plan.jobs:
        if job.error:
            continue
        ext = extension(job.preset or preset, (*overrides, *job.overrides))
        if job.output is None:
            assert job.portrait is not None and job.audio is not None
            name = output_name(
                template, job.portrait.stem, job.audio.stem, job.name.replace("/", "_"), ext
            )
            job.output = out_dir / name
        elif not job.output.is_absolute():
            job.output = out_dir / job.output
        if job.output.suffix.lower() != ext:
            job.output = job.output.with_suffix(job.output.suffix + ext)
        if job.motion_out is not None and not job.motion_out.is_absolute():
            job.motion_out = out_dir / job.motion_out
        outside = [
            f"{label} {path}"
            for label, path in (("output", job.output), ("motion_out", job.motion_out))
            if path is not None and not allow_outside and not inside(path, out_dir)
        ]
        if outside:
            job.error = (
                f"{outside[0]} is outside the output folder {out_dir} "
                "(pass --allow-outside-output to allow it)"
            )
            continue
        key = os.path.normcase(os.path.realpath(job.output))
        if key in owners:
            raise UsageError(
                f"jobs {owners[key]} and {_describe(job)} would both write {job.output}",
                hint="change the output template (e.g. add {job}) or the manifest's output column",
            )
        owners[key] = _describe(job)


def _describe(job: JobSpec) -> str:
    portrait = job.portrait.name if job.portrait else "?"
    audio = job.audio.name if job.audio else "?"
    return f"{job.name!r} ({portrait} + {audio})"
