"""The `moda` command: thin Typer commands over the library API.

Printing and progress live here only. Errors from the library are turned into one line
and an exit code in one place (``_reports_errors``): 0 success, 1 a job failed (an
output that cannot be written included), 2 usage or configuration error, 130
interrupted, 70 an internal error (a bug: the traceback with --debug). Choices and
bounds live in the option types (``choices.py``), so Typer checks them and ``--help``
lists them; the root options reach the commands through the context (``ctx.obj``).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import inspect
import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast, get_args

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .batch.executors import EXECUTORS
from .batch.plan import DEFAULT_TEMPLATE
from .choices import Device, EvalSuite, Fit, KeepAudio, Pool, ReportFormat
from .errors import INTERNAL_ERROR, ModaError, UsageError, output_error
from .face.detectors import DETECTORS, Detector
from .motion.generators import GENERATORS
from .motion.solvers import SOLVERS
from .presets import DEFAULT_PRESET, available_presets, load_preset, preset_to_yaml
from .video.formats import OUTPUT_FORMATS

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Talking-head videos from portraits and speech.")
presets_app = typer.Typer(no_args_is_help=True, help="List and show motion presets.")
app.add_typer(presets_app, name="presets")

out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """What the root options decide for every command: Typer's ``ctx.obj``."""

    debug: bool = False


def _reports_errors(fn: F) -> F:
    """Turn ``fn``'s errors into one line and an exit code.

    The wrapper takes Typer's context as ``ctx`` (added to the signature Typer reads), so
    the commands need not declare it to honour --debug.
    """

    @functools.wraps(fn)
    def wrapper(ctx: typer.Context, *args: Any, **kwargs: Any) -> Any:
        debug = ctx.ensure_object(CliState).debug
        # SIGTERM stops like Ctrl-C: writers delete their temporary files on the way out.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            return fn(*args, **kwargs)
        except ModaError as exc:
            raise _fail(exc, exc.exit_code, debug) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]: no partial output was left behind")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.ClickException,
                click.exceptions.Abort):
            raise  # the commands' own exits, and usage errors
        except OSError as exc:  # the disk or the system, not moda: a job that failed
            raise _fail(output_error(exc, exc.filename or "moda", "failed"), 1, debug) from None
        except Exception as exc:
            raise _fail(exc, INTERNAL_ERROR, debug) from None

    signature = inspect.signature(fn, eval_str=True)
    ctx = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                            annotation=typer.Context)
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[ctx, *signature.parameters.values()])
    return cast(F, wrapper)


def _fail(exc: BaseException, code: int, debug: bool) -> typer.Exit:
    """Print one line for ``exc`` (its traceback too with --debug); the exit to raise."""
    if debug:
        err.print_exception()
    if code == INTERNAL_ERROR:
        cause = escape(f"{type(exc).__name__}: {str(exc)[:300]}")
        line = f"[bold red]internal error:[/] {cause} (a bug in moda; --debug shows the traceback)"
    else:
        line = f"[bold red]error:[/] {escape(str(exc))}"
    err.print(line, highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    ctx.obj = CliState(debug=debug)


# Help panels: `--help` groups the options of `render` and `batch` under these.
INPUTS, MOTION, RENDER, MODELS = "Inputs", "Motion", "Render", "Models"
OUTPUT, BATCH, DUB = "Output", "Batch", "Dubbing a video"

# The names registered when this module loads, as Literals that Typer checks and lists
# in --help: a CLI built after a late registration (a plugin, a test's toy) has it too.
if TYPE_CHECKING:
    DetectorName = str
    GeneratorName = str
    SolverName = str
    FormatName = str
    ExecutorName = str
else:
    DetectorName, GeneratorName, SolverName, FormatName, ExecutorName = (
        r.literal() for r in (DETECTORS, GENERATORS, SOLVERS, OUTPUT_FORMATS, EXECUTORS))

# Options shared by `render` and `batch`.
PresetOpt = Annotated[str, typer.Option(
    "--preset", "-p", rich_help_panel=RENDER,
    help="Preset name (see `moda presets list`) or a YAML file.")]
SeedOpt = Annotated[int | None, typer.Option(
    "--seed", rich_help_panel=MOTION,
    help="Random seed (default: the preset's, 42).")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", rich_help_panel=RENDER,
    help="Override a preset key, e.g. --set motion.head=0.5 (repeatable).")]
DeviceOpt = Annotated[Device, typer.Option(
    "--device", rich_help_panel=MODELS,
    help="Where the models run.")]
DetectorOpt = Annotated[DetectorName, typer.Option(
    "--detector", rich_help_panel=MODELS,
    help="Face detector: mediapipe (bundled) or insightface (local models).")]
InsightRootOpt = Annotated[Path | None, typer.Option(
    "--insightface-root", rich_help_panel=MODELS,
    help="Folder holding models/buffalo_l/*.onnx.")]
CheckpointOpt = Annotated[Path | None, typer.Option(
    "--motion-checkpoint", rich_help_panel=MODELS,
    help="Motion model .safetensors (default: the bundled one).")]
WhisperOpt = Annotated[Path | None, typer.Option(
    "--whisper-checkpoint", rich_help_panel=MODELS,
    help="Local Whisper .pt file: adds encoder features.")]
GeneratorOpt = Annotated[GeneratorName | None, typer.Option(
    "--generator", rich_help_panel=MOTION,
    help="Motion generator (default: the preset's, learned).")]
SolverOpt = Annotated[SolverName | None, typer.Option(
    "--solver", rich_help_panel=MOTION,
    help="Flow-matching ODE solver (default: the preset's, euler).")]
FormatOpt = Annotated[FormatName | None, typer.Option(
    "--format", rich_help_panel=OUTPUT,
    help="Codecs and container (default: the preset's, mp4); --output ends in its extension.")]


def _engine_options(device: Device, detector: Detector, insightface_root: Path | None,
                    motion_checkpoint: Path | None, whisper_checkpoint: Path | None) -> Any:
    from .pipeline import EngineOptions

    return EngineOptions(device, detector, insightface_root, motion_checkpoint, whisper_checkpoint)


def _overrides(overrides: list[str] | None, generator: str | None, *, solver: str | None = None,
               video_format: str | None = None) -> list[str]:
    """--set's overrides, then the options that set one preset key each (given ones only)."""
    keys = {"motion.generator": generator, "motion.solver": solver, "video.format": video_format}
    return [*(overrides or []), *(f"{key}={value}" for key, value in keys.items() if value)]


@app.command()
@_reports_errors
def render(
    portrait: Annotated[Path, typer.Argument(rich_help_panel=INPUTS, help="Portrait image.")],
    audio: Annotated[Path, typer.Argument(
        rich_help_panel=INPUTS,
        help="Speech recording (any format ffmpeg reads).")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", rich_help_panel=OUTPUT,
        help="Output video (.mp4, or the extension of --format).")],
    preset: PresetOpt = DEFAULT_PRESET,
    seed: SeedOpt = None,
    overrides: SetOpt = None,
    generator: GeneratorOpt = None,
    pose_from: Annotated[Path | None, typer.Option(
        "--pose-from", rich_help_panel=MOTION,
        help="Reference video: the portrait takes its head pose, blinks and brows (played "
             "back and forth, or cut, to the audio's length); the mouth follows the audio.",
    )] = None,
    motion_in: Annotated[Path | None, typer.Option(
        "--motion-in", rich_help_panel=MOTION,
        help="Render this motion file instead of sampling: moda's .json or a Live Link Face "
             ".csv (resampled to the video's fps, cut or held to the audio's length).",
    )] = None,
    motion_out: Annotated[Path | None, typer.Option(
        "--motion-out", rich_help_panel=OUTPUT,
        help="Also write the motion that was rendered: .json (moda's, exact) or .csv "
             "(Live Link Face's ARKit layout).",
    )] = None,
    solver: SolverOpt = None,
    video_format: FormatOpt = None,
    device: DeviceOpt = "auto",
    detector: DetectorOpt = "mediapipe",
    insightface_root: InsightRootOpt = None,
    motion_checkpoint: CheckpointOpt = None,
    whisper_checkpoint: WhisperOpt = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", rich_help_panel=OUTPUT,
        help="Print only errors.")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", rich_help_panel=OUTPUT,
        help="Also write the job's figures (stage times, CPU, memory) as JSON here.")] = None,
    fit: Annotated[Fit, typer.Option(
        "--fit", rich_help_panel=DUB,
        help="The output lasts as long as the audio (the video cut, or played forward then "
             "backward while shorter) or as the video (the mouth closed after the speech).")
    ] = "audio",
    keep_audio: Annotated[KeepAudio, typer.Option(
        "--keep-audio", rich_help_panel=DUB,
        help="The video's own sound mixed under the new audio (-6 dB), or none.")] = "none",
) -> None:
    """Render one portrait speaking one recording, or dub a video (PORTRAIT may be a video:
    its mouth then speaks AUDIO, everything else stays the video's)."""
    from .pipeline import Engine, Job, check_job

    settings = load_preset(preset, _overrides(overrides, generator, solver=solver,
                                              video_format=video_format))
    if seed is not None:
        settings = settings.model_copy(update={"seed": seed})
    if pose_from is not None:
        from .motion.reference import with_reference

        motion = with_reference(settings.motion, pose_from)
        settings = settings.model_copy(update={"motion": motion})
    options = _engine_options(device, detector, insightface_root, motion_checkpoint,
                              whisper_checkpoint)
    from .video.source import is_video

    if is_video(portrait):  # by its content, not its name
        from .dub import DubJob

        if motion_in is not None or motion_out is not None:
            raise UsageError("--motion-in and --motion-out take a portrait, not a video to dub",
                             path=portrait)

        _dub(DubJob(portrait, audio, output, settings, fit, keep_audio), options, quiet, report)
        return
    job = Job(portrait, audio, output, settings, motion_in=motion_in, motion_out=motion_out)
    check_job(job)
    with _native_logs_silenced(quiet), _job_bar(not quiet and out.is_terminal) as bar:
        result = Engine(options).render(job, bar.update)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if report is not None:
        from .atomic import atomic_write

        atomic_write(report, json.dumps(result.to_json(), indent=2))
    if not quiet:
        stages = ", ".join(
            f"{k} {v:.2f}s/{result.stage_cpu_seconds.get(k, 0.0):.1f}cpu/{result.stage_peak_rss_mb.get(k, 0.0):.0f}MB"
            for k, v in result.stage_seconds.items()
        )
        out.print(
            f"{result.output}  {result.frames} frames, {result.audio_seconds:.2f}s audio, "
            f"realtime x{result.realtime_factor:.2f} (wall/cpu/peak: {stages}), peak {result.peak_rss_mb:.0f} MB",
            highlight=False, markup=False,
        )


def _dub(job: Any, options: Any, quiet: bool, report: Path | None) -> None:
    """`moda render VIDEO AUDIO`: the video dubbed (``moda_cli.dub``)."""
    from .dub import Dubber, check_dub
    from .pipeline import Engine

    check_dub(job)
    with _native_logs_silenced(quiet), _job_bar(not quiet and out.is_terminal) as bar:
        result = Dubber(Engine(options)).dub(job, bar.update)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if report is not None:
        from .atomic import atomic_write

        atomic_write(report, json.dumps(result.to_json(), indent=2))
    if not quiet:
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in result.stage_seconds.items())
        out.print(f"{result.output}  {result.frames} frames, {result.audio_seconds:.2f}s, "
                  f"{result.dubbed:.0%} dubbed, {result.shots} shot(s), realtime "
                  f"x{result.realtime_factor:.2f} ({stages}), peak {result.peak_rss_mb:.0f} MB",
                  highlight=False, markup=False)


@app.command()
@_reports_errors
def batch(
    source: Annotated[Path, typer.Argument(
        rich_help_panel=INPUTS,
        help="Input folder, or a manifest (.csv, .jsonl, .yaml).")],
    output_dir: Annotated[Path, typer.Option(
        "--output", "-o", rich_help_panel=OUTPUT,
        help="Output folder.")],
    preset: PresetOpt = DEFAULT_PRESET,
    seed: SeedOpt = None,
    overrides: SetOpt = None,
    generator: GeneratorOpt = None,
    template: Annotated[str, typer.Option(
        "--template", rich_help_panel=OUTPUT,
        help="Output names: fields {portrait}, {audio}, {job}.")] = DEFAULT_TEMPLATE,
    workers: Annotated[int, typer.Option(
        "--workers", "-w", min=1, rich_help_panel=BATCH,
        help="Jobs rendered at once (local: models load once per worker).")] = 1,
    pool: Annotated[Pool, typer.Option(
        "--pool", rich_help_panel=BATCH,
        help="How local workers run: processes, threads (one engine, motion windows batched "
             "across jobs), or auto (threads on a GPU).")] = "auto",
    executor: Annotated[ExecutorName, typer.Option(
        "--executor", rich_help_panel=BATCH,
        help="Where the jobs run: this machine or a Ray cluster.")] = "local",
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", rich_help_panel=BATCH,
        help="Ray cluster address (default: start a local one).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", rich_help_panel=OUTPUT,
        help="Render again even when a finished output matches.")] = False,
    allow_outside_output: Annotated[bool, typer.Option(
        "--allow-outside-output", rich_help_panel=OUTPUT,
        help="Let a manifest's output (or --template) name a file outside --output: '..', "
             "absolute paths, symlinked folders. Without it such a row fails.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", rich_help_panel=BATCH,
        help="Check inputs and print the plan; render nothing.")] = False,
    qc: Annotated[bool, typer.Option(
        "--qc", rich_help_panel=BATCH,
        help="Measure each rendered video with `moda qc`: its figures go in the report, "
             "its flags in the job's warnings.")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", rich_help_panel=OUTPUT,
        help="Report path (default: OUTPUT/report.json).")] = None,
    report_format: Annotated[ReportFormat, typer.Option(
        "--report-format", rich_help_panel=OUTPUT,
        help="Report file format.")] = "json",
    json_out: Annotated[bool, typer.Option(
        "--json", rich_help_panel=OUTPUT,
        help="Print the report as JSON on stdout.")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", rich_help_panel=OUTPUT,
        help="Print only errors and the summary line.")] = False,
    device: DeviceOpt = "auto",
    detector: DetectorOpt = "mediapipe",
    insightface_root: InsightRootOpt = None,
    motion_checkpoint: CheckpointOpt = None,
    whisper_checkpoint: WhisperOpt = None,
) -> None:
    """Render every job of a folder or manifest; failed jobs do not stop the others."""
    from .batch.jobs import BatchOptions
    from .batch.plan import output_name, plan_inputs
    from .batch.report import build_report, write_report
    from .batch.run import run_batch
    from .progress import BatchDisplay, print_plan, print_summary

    load_preset(preset, _overrides(overrides, generator))  # a bad preset is a usage error before any work
    output_name(template, "portrait", "audio", "job")  # so is a malformed --template
    engine_options = _engine_options(device, detector, insightface_root, motion_checkpoint, whisper_checkpoint)
    options = BatchOptions(output_dir, preset, _overrides(overrides, generator), seed, template, force,
                           workers, pool, executor, ray_address, dry_run,
                           allow_outside_output=allow_outside_output, qc=qc)
    plan = plan_inputs(source)
    console = err if json_out else out  # with --json, stdout carries the JSON document only
    with (_native_logs_silenced(quiet),
          BatchDisplay(console, live=console.is_terminal and not quiet, quiet=quiet) as display):
        outcome = run_batch(plan, options, engine_options, display)
    settings = {"source": str(source), "output": str(output_dir), "preset": preset, "overrides": options.overrides,
                "seed": seed, "workers": workers, "pool": pool, "executor": executor, "force": force, "dry_run": dry_run,
                "qc": qc}
    doc = build_report(outcome, settings)
    exit_code = outcome.exit_code
    if dry_run:
        print_plan(console, outcome)
    else:
        report_path = report or output_dir / f"report.{report_format}"
        try:
            write_report(doc, report_path, report_format)
        except ModaError as exc:  # the outcome still reaches the terminal; the exit says it failed
            err.print(f"[bold red]error:[/] the report was not written: {escape(str(exc))}",
                      highlight=False, soft_wrap=True)
            exit_code = exit_code or 1
    if json_out:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
    print_summary(console, outcome, verbose=not quiet and not dry_run)
    raise typer.Exit(exit_code)


@presets_app.command("list")
@_reports_errors
def presets_list() -> None:
    """List the installed presets."""
    table = Table("name", "head", "expression", "lips", "blinks/min", "description")
    for name in available_presets():
        p = load_preset(name)
        motion = p.motion
        table.add_row(escape(name), f"{motion.head:g}", f"{motion.expression:g}", f"{motion.lips:g}",
                      f"{motion.blink_rate:g}", escape(p.description))
    out.print(table)


@presets_app.command("show")
@_reports_errors
def presets_show(name: Annotated[str, typer.Argument(help="Preset name or YAML file.")],
                 overrides: SetOpt = None) -> None:
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
    from .doctor import run_checks

    table = Table("check", "status", "detail")
    checks = run_checks(insightface_root, whisper_checkpoint, motion_checkpoint)
    colours = {"ok": "green", "missing": "red", "optional": "yellow"}
    for c in checks:
        table.add_row(escape(c.name), f"[{colours[c.status]}]{c.status}[/]", escape(c.detail))
    out.print(table)
    raise typer.Exit(1 if any(c.status == "missing" for c in checks) else 0)


@app.command()
@_reports_errors
def train(
    data: Annotated[Path, typer.Option("--data", help="Dataset folder (built here unless it holds this recipe).")] = Path("moda-data"),
    output: Annotated[Path, typer.Option("--output", "-o", help="Checkpoint to write (.safetensors).")] = Path("motion.safetensors"),
    clips: Annotated[int, typer.Option(
        "--clips", min=1, help="Synthetic training clips (about 12 s each).")] = 1000,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Optimizer steps.")] = 3000,
    minutes: Annotated[float | None, typer.Option("--minutes", help="Stop by wall time too (the LR schedule follows).")] = None,
    from_videos: Annotated[Path | None, typer.Option("--from-videos", help="Train on your own talking-head videos instead.")] = None,
    real_speech: Annotated[Path | None, typer.Option("--real-speech", help="Folder of the Debian voice-prompt packages to mix in (README: 'Real speech').")] = None,
    real_fraction: Annotated[float, typer.Option("--real-fraction", min=0.0, max=1.0, help="Share of training clips from --real-speech.")] = 0.3,
    fetch: Annotated[bool, typer.Option("--fetch", help="apt-get download the packages --real-speech lacks.")] = False,
    flite_fraction: Annotated[float, typer.Option("--flite-fraction", min=0.0, max=1.0, help="Share of training clips spoken by flite voices (flite from --real-speech or PATH).")] = 0.0,
    voice_perturb: Annotated[float, typer.Option(
        "--voice-perturb", min=0.0, max=1.0,
        help="Share of training clips with formants, pitch and rate perturbed.")] = 0.0,
    threads: Annotated[int | None, typer.Option(
        "--threads", min=1, help="CPU threads for training (default: torch's).")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    device: DeviceOpt = "auto",
) -> None:
    """Build the training data (espeak-ng speech + viseme targets, or your videos) and train the motion model."""
    from .motion.train.trainer import TrainConfig, train_model
    from .pipeline import resolve_device

    dev = resolve_device(device)
    with _job_bar(out.is_terminal) as bar:
        summary: Any
        if from_videos is not None:
            from .motion.train.from_videos import build_from_videos

            summary = build_from_videos(from_videos, data, progress=lambda d, t: bar.update("data", d, t))
        else:
            from .motion.train.dataset import DataRecipe, build_dataset
            from .motion.train.perturb import VoicePerturbConfig

            recipe = DataRecipe(num_clips=clips, seed=seed, flite_fraction=flite_fraction,
                                real_fraction=real_fraction if real_speech is not None else 0.0,
                                voice=VoicePerturbConfig(p=voice_perturb))
            summary = build_dataset(recipe, data, progress=lambda d, t: bar.update("data", d, t),
                                    real_speech=real_speech, fetch=fetch)
        reused = ", reused" if summary.reused else ""
        out.print(f"data: {summary.clips} clips, {summary.hours} hours, in {summary.out_dir} "
                  f"(recipe {summary.recipe_hash}{reused})", highlight=False, markup=False)
        for name, reason in getattr(summary, "skipped", []):
            err.print(f"[yellow]skipped[/] {escape(f'{name}: {reason}')}", highlight=False)
        cfg = TrainConfig(steps=steps, max_minutes=minutes, seed=seed, threads=threads)
        result = train_model(data, cfg, output, device=dev,
                             progress=lambda s, t, info: bar.update("train", s, t))
    out.print(f"{result.checkpoint}: {result.steps} steps in {result.seconds:.0f}s, "
              f"{result.num_params / 1e6:.2f} M parameters, train loss {result.train_loss:.4f}, "
              f"held-out loss {result.val_loss:.4f}", highlight=False, markup=False)


@app.command("eval")
@_reports_errors
def eval_(
    data: Annotated[Path, typer.Option("--data", help="Dataset folder with a held-out split (see `moda train`).")] = Path("moda-data"),
    portrait: Annotated[Path, typer.Option("--portrait", help="Portrait to render the cases on.")] = Path("samples/astronaut.png"),
    clips: Annotated[int, typer.Option("--clips", min=1, help="Held-out clips to render.")] = 12,
    motion_checkpoint: CheckpointOpt = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the scores as JSON here.")] = None,
    overrides: SetOpt = None,
    learned_only: Annotated[bool, typer.Option("--learned-only", help="Skip the baseline (to compare settings).")] = False,
    # Checked below, not by Typer, to word the error as "choose espeak, real or both".
    suite: Annotated[str, typer.Option(
        "--suite", metavar="|".join(get_args(EvalSuite)),
        help="espeak (held-out synthetic clips of --data), real (held-out recordings in "
             "--real-speech) or both.")] = "espeak",
    real_speech: Annotated[Path | None, typer.Option("--real-speech", help="Folder of the Debian voice-prompt packages, .deb or unpacked (README: 'Real speech').")] = None,
    fetch: Annotated[bool, typer.Option("--fetch", help="apt-get download the packages --real-speech lacks.")] = False,
    real_clips: Annotated[int, typer.Option("--real-clips", min=1, help="Recorded clips (about 10 s) per group: English, other languages.")] = 6,
) -> None:
    """Render held-out cases with the learned model and the baseline; measure the frames.

    --set applies on top of every preset the evaluation uses (e.g. --set motion.steps=5).
    """
    from dataclasses import asdict

    from .errors import UsageError
    from .motion.generators import GeneratorSetup

    if suite not in get_args(EvalSuite):
        raise UsageError(f"--suite {suite!r}: choose {_either(get_args(EvalSuite))}")
    if suite != "espeak" and real_speech is None:
        raise UsageError(f"--suite {suite} needs --real-speech FOLDER (the Debian voice-prompt packages)")
    setup = GeneratorSetup(motion_checkpoint, "cpu")
    names = ("learned",) if learned_only else ("baseline", "learned")
    generators = {name: GENERATORS.get(name)(setup) for name in names}
    report: dict[str, Any] = {}
    with _job_bar(out.is_terminal) as bar:
        if suite != "real":
            from .evaluation import evaluate, markdown_table

            results = evaluate(generators, data, portrait, clips, progress=lambda text: bar.update(text, 0, 0),
                               overrides=overrides or ())
            out.print(markdown_table(results), highlight=False, markup=False)
            report["espeak"] = {k: asdict(v) for k, v in results.items()}
        if real_speech is not None and suite != "espeak":
            from . import evaluation_real

            real = evaluation_real.evaluate_real(generators, real_speech, portrait, real_clips, fetch,
                                                 progress=lambda text: bar.update(text, 0, 0),
                                                 overrides=overrides or ())
            out.print(evaluation_real.markdown_table(real), highlight=False, markup=False)
            report["real"] = {k: asdict(v) for k, v in real.items()}
    if json_path is not None:
        json_path.write_text(json.dumps(report if suite != "espeak" else report["espeak"], indent=2))


@app.command()
@_reports_errors
def qc(
    video: Annotated[Path, typer.Argument(help="Rendered talking-head video.")],
    portrait: Annotated[Path | None, typer.Option("--portrait", help="The portrait it animates (lip colour and scene reference).")] = None,
    audio: Annotated[Path | None, typer.Option("--audio", help="The speech (default: none; speech/silence then unknown).")] = None,
    sheet: Annotated[Path | None, typer.Option("--sheet", help="Write a contact sheet PNG here.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures and flags as JSON here.")] = None,
) -> None:
    """Measure a rendered video with a fresh face mesh; exit 1 when a figure is off its threshold."""
    from .face.image_io import load_portrait
    from .qc import run_qc
    from .qc.report import summary_rows

    image = None if portrait is None else load_portrait(portrait).image
    report = run_qc(video, portrait=image, audio=audio, sheet=sheet)
    if json_path is not None:
        json_path.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    table = Table("figure", "value", title=str(video))
    for name, value in summary_rows(report):
        table.add_row(name, value)
    out.print(table)
    for flag in report.flags:
        out.print(f"[yellow]flag[/] {flag.name} = {flag.value:g} (want {flag.limit}): {flag.message}", highlight=False)
    out.print("[green]passed[/]" if report.passed else f"[red]{len(report.flags)} flag(s)[/]")
    raise typer.Exit(0 if report.passed else 1)


def _either(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}"


def _native_logs_silenced(quiet: bool) -> contextlib.AbstractContextManager[None]:
    """With -q, MediaPipe's and TensorFlow Lite's C++ log lines go nowhere (see quiet.py)."""
    from .quiet import native_stderr_silenced

    return native_stderr_silenced() if quiet else contextlib.nullcontext()


def _job_bar(enabled: bool) -> Any:
    from .progress import JobBar

    return JobBar(enabled=enabled, console=err)


def main() -> None:
    """The console entry point.

    The exit status goes straight to the OS once every exit handler has run: tearing
    down the interpreter with torch and MediaPipe loaded takes another 0.5 s, for nothing.
    """
    atexit.register(_exit_now)  # registered first, so it runs after every other handler
    try:
        app()
    except SystemExit as exc:
        _exit_status[0] = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise
    except KeyboardInterrupt:
        _exit_status[0] = 130
        raise
    except BaseException:  # escaped every command's handler: never report success
        _exit_status[0] = INTERNAL_ERROR
        raise


_exit_status = [0]


def _exit_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status[0])


if __name__ == "__main__":
    main()
