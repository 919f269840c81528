"""`moda batch`: every job of a folder or manifest, with a report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..batch.outputs import DEFAULT_TEMPLATE, TEMPLATE_FIELDS
from ..choices import Pool, ReportFormat
from ..errors import ModaError
from ..presets import DEFAULT_PRESET, load_preset
from .root import (
    BATCH,
    INPUTS,
    OUTPUT,
    CheckpointOpt,
    DetectorOpt,
    DeviceOpt,
    ExecutorName,
    GeneratorOpt,
    InsightRootOpt,
    PresetOpt,
    SeedOpt,
    SetOpt,
    WhisperOpt,
    _engine_options,
    _native_logs_silenced,
    _overrides,
    _reports_errors,
    app,
    err,
    out,
)


@app.command()
@_reports_errors
def batch(
    source: Annotated[
        Path,
        typer.Argument(
            rich_help_panel=INPUTS, help="Input folder, or a manifest (.csv, .jsonl, .yaml)."
        ),
    ],
    output_dir: Annotated[
        Path, typer.Option("--output", "-o", rich_help_panel=OUTPUT, help="Output folder.")
    ],
    preset: PresetOpt = DEFAULT_PRESET,
    seed: SeedOpt = None,
    overrides: SetOpt = None,
    generator: GeneratorOpt = None,
    template: Annotated[
        str,
        typer.Option(
            "--template",
            rich_help_panel=OUTPUT,
            help=f"Output names: fields {TEMPLATE_FIELDS}.",
        ),
    ] = DEFAULT_TEMPLATE,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            rich_help_panel=BATCH,
            help="Jobs rendered at once (local: models load once per worker).",
        ),
    ] = 1,
    pool: Annotated[
        Pool,
        typer.Option(
            "--pool",
            rich_help_panel=BATCH,
            help="How local workers run: processes, threads (one engine, motion windows batched "
            "across jobs), or auto (threads on a GPU).",
        ),
    ] = "auto",
    executor: Annotated[
        ExecutorName,
        typer.Option(
            "--executor",
            rich_help_panel=BATCH,
            help="Where the jobs run: this machine or a Ray cluster.",
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            rich_help_panel=BATCH,
            help="Ray cluster address (default: start a local one).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            rich_help_panel=OUTPUT,
            help="Render again even when a finished output matches.",
        ),
    ] = False,
    allow_outside_output: Annotated[
        bool,
        typer.Option(
            "--allow-outside-output",
            rich_help_panel=OUTPUT,
            help="Let a manifest's output (or --template) name a file outside --output: '..', "
            "absolute paths, symlinked folders. Without it such a row fails.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            rich_help_panel=BATCH,
            help="Check inputs and print the plan; render nothing.",
        ),
    ] = False,
    qc: Annotated[
        bool,
        typer.Option(
            "--qc",
            rich_help_panel=BATCH,
            help="Measure each rendered video with `moda qc`: its figures go in the report, "
            "its flags in the job's warnings.",
        ),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", rich_help_panel=OUTPUT, help="Report path (default: OUTPUT/report.json)."
        ),
    ] = None,
    report_format: Annotated[
        ReportFormat,
        typer.Option("--report-format", rich_help_panel=OUTPUT, help="Report file format."),
    ] = "json",
    json_out: Annotated[
        bool,
        typer.Option("--json", rich_help_panel=OUTPUT, help="Print the report as JSON on stdout."),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", rich_help_panel=OUTPUT, help="Print only errors and the summary line."
        ),
    ] = False,
    device: DeviceOpt = "auto",
    detector: DetectorOpt = "mediapipe",
    insightface_root: InsightRootOpt = None,
    motion_checkpoint: CheckpointOpt = None,
    whisper_checkpoint: WhisperOpt = None,
) -> None:
    """Render every job of a folder or manifest; failed jobs do not stop the others."""
    from ..batch.jobs import BatchOptions
    from ..batch.outputs import output_name
    from ..batch.plan import plan_inputs
    from ..batch.report import build_report, write_report
    from ..batch.run import run_batch
    from ..progress import BatchDisplay, print_plan, print_summary

    load_preset(
        preset, _overrides(overrides, generator)
    )  # a bad preset is a usage error before any work
    output_name(template, "portrait", "audio", "job")  # so is a malformed --template
    engine_options = _engine_options(
        device, detector, insightface_root, motion_checkpoint, whisper_checkpoint
    )
    options = BatchOptions(
        output_dir,
        preset,
        _overrides(overrides, generator),
        seed,
        template,
        force,
        workers,
        pool,
        executor,
        ray_address,
        dry_run,
        allow_outside_output=allow_outside_output,
        qc=qc,
    )
    plan = plan_inputs(source)
    console = err if json_out else out  # with --json, stdout carries the JSON document only
    with (
        _native_logs_silenced(quiet),
        BatchDisplay(console, live=console.is_terminal and not quiet, quiet=quiet) as display,
    ):
        outcome = run_batch(plan, options, engine_options, display)
    settings = {
        "source": str(source),
        "output": str(output_dir),
        "preset": preset,
        "overrides": options.overrides,
        "seed": seed,
        "workers": workers,
        "pool": pool,
        "executor": executor,
        "force": force,
        "dry_run": dry_run,
        "qc": qc,
    }
    doc = build_report(outcome, settings)
    exit_code = outcome.exit_code
    if dry_run:
        print_plan(console, outcome)
    else:
        report_path = report or output_dir / f"report.{report_format}"
        try:
            write_report(doc, report_path, report_format)
        except ModaError as exc:  # the outcome still reaches the terminal; the exit says it failed
            err.print(
                f"[bold red]error:[/] the report was not written: {escape(str(exc))}",
                highlight=False,
                soft_wrap=True,
            )
            exit_code = exit_code or 1
    if json_out:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
    print_summary(console, outcome, verbose=not quiet and not dry_run)
    raise typer.Exit(exit_code)
