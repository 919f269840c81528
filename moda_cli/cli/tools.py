"""`moda presets` and `moda doctor`: what is installed, and whether it works."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..presets import available_presets, load_preset, preset_to_yaml
from .root import (
    CheckpointOpt,
    InsightRootOpt,
    SetOpt,
    WhisperOpt,
    _reports_errors,
    app,
    out,
    presets_app,
)


@presets_app.command("list")
@_reports_errors
def presets_list() -> None:
    """List the installed presets."""
    table = Table("name", "head", "expression", "lips", "blinks/min", "description")
    for name in available_presets():
        p = load_preset(name)
        motion = p.motion
        table.add_row(
            escape(name),
            f"{motion.head:g}",
            f"{motion.expression:g}",
            f"{motion.lips:g}",
            f"{motion.blink_rate:g}",
            escape(p.description),
        )
    out.print(table)


@presets_app.command("show")
@_reports_errors
def presets_show(
    name: Annotated[str, typer.Argument(help="Preset name or YAML file.")], overrides: SetOpt = None
) -> None:
    """Print a preset with every setting resolved (extends and --set applied)."""
    out.print(preset_to_yaml(load_preset(name, overrides or [])), highlight=False, markup=False)


@app.command()
@_reports_errors
def doctor(
    insightface_root: InsightRootOpt = None,
    whisper_checkpoint: WhisperOpt = None,
    motion_checkpoint: CheckpointOpt = None,
) -> None:
    """Check what moda needs: ffmpeg, face models, motion checkpoint, torch, optional models."""
    from ..doctor import run_checks

    table = Table("check", "status", "detail")
    checks = run_checks(insightface_root, whisper_checkpoint, motion_checkpoint)
    colours = {"ok": "green", "missing": "red", "optional": "yellow"}
    for c in checks:
        table.add_row(escape(c.name), f"[{colours[c.status]}]{c.status}[/]", escape(c.detail))
    out.print(table)
    raise typer.Exit(1 if any(c.status == "missing" for c in checks) else 0)
