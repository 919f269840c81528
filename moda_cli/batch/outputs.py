"""Output names of a batch's jobs: the template filled in, the video format's extension,
every output inside the output folder unless allowed, no two jobs writing one file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import ModaError, UsageError
from ..presets import DEFAULT_PRESET, load_preset
from ..video.formats import OUTPUT_FORMATS
from ..video.settings import VideoSettings
from .spec import BatchPlan, JobSpec

# {ext}: the extension of the job's video.format (".mp4")
DEFAULT_TEMPLATE = "{portrait}__{audio}{ext}"
TEMPLATE_FIELDS = "{portrait}, {audio}, {job}, {ext}"


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
