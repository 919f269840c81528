"""`moda qc`: a rendered video measured with a fresh face mesh."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .root import _reports_errors, app, out


@app.command()
@_reports_errors
def qc(
    video: Annotated[Path, typer.Argument(help="Rendered talking-head video.")],
    portrait: Annotated[
        Path | None,
        typer.Option(
            "--portrait", help="The portrait it animates (lip colour and scene reference)."
        ),
    ] = None,
    audio: Annotated[
        Path | None,
        typer.Option("--audio", help="The speech (default: none; speech/silence then unknown)."),
    ] = None,
    sheet: Annotated[
        Path | None, typer.Option("--sheet", help="Write a contact sheet PNG here.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the figures and flags as JSON here.")
    ] = None,
) -> None:
    """Measure a rendered video with a fresh face mesh; exit 1 when a figure is off its
    threshold."""
    from ..face.image_io import load_portrait
    from ..qc import run_qc
    from ..qc.report import summary_rows

    image = None if portrait is None else load_portrait(portrait).image
    report = run_qc(video, portrait=image, audio=audio, sheet=sheet)
    if json_path is not None:
        json_path.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    table = Table("figure", "value", title=str(video))
    for name, value in summary_rows(report):
        table.add_row(name, value)
    out.print(table)
    for flag in report.flags:
        out.print(
            f"[yellow]flag[/] {flag.name} = {flag.value:g} (want {flag.limit}): {flag.message}",
            highlight=False,
        )
    out.print("[green]passed[/]" if report.passed else f"[red]{len(report.flags)} flag(s)[/]")
    raise typer.Exit(0 if report.passed else 1)
