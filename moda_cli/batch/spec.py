"""A batch's planned jobs, as ``plan`` (a folder), ``manifest`` (a manifest file) and
``outputs`` (the output names) fill them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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
