"""`moda render`: one portrait speaking one recording, or a video dubbed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ..choices import Fit, KeepAudio
from ..errors import UsageError
from ..presets import DEFAULT_PRESET, load_preset
from .root import (
    DUB,
    INPUTS,
    MOTION,
    OUTPUT,
    CheckpointOpt,
    DetectorOpt,
    DeviceOpt,
    FormatOpt,
    GeneratorOpt,
    InsightRootOpt,
    PresetOpt,
    SeedOpt,
    SetOpt,
    SolverOpt,
    WhisperOpt,
    _engine_options,
    _job_bar,
    _native_logs_silenced,
    _overrides,
    _reports_errors,
    app,
    err,
    out,
)


@app.command()
@_reports_errors
def render(
    portrait: Annotated[Path, typer.Argument(rich_help_panel=INPUTS, help="Portrait image.")],
    audio: Annotated[
        Path,
        typer.Argument(rich_help_panel=INPUTS, help="Speech recording (any format ffmpeg reads)."),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            rich_help_panel=OUTPUT,
            help="Output video (.mp4, or the extension of --format).",
        ),
    ],
    preset: PresetOpt = DEFAULT_PRESET,
    seed: SeedOpt = None,
    overrides: SetOpt = None,
    generator: GeneratorOpt = None,
    pose_from: Annotated[
        Path | None,
        typer.Option(
            "--pose-from",
            rich_help_panel=MOTION,
            help="Reference video: the portrait takes its head pose, blinks and brows (played "
            "back and forth, or cut, to the audio's length); the mouth follows the audio.",
        ),
    ] = None,
    motion_in: Annotated[
        Path | None,
        typer.Option(
            "--motion-in",
            rich_help_panel=MOTION,
            help="Render this motion file instead of sampling: moda's .json or a Live Link Face "
            ".csv (resampled to the video's fps, cut or held to the audio's length).",
        ),
    ] = None,
    motion_out: Annotated[
        Path | None,
        typer.Option(
            "--motion-out",
            rich_help_panel=OUTPUT,
            help="Also write the motion that was rendered: .json (moda's, exact) or .csv "
            "(Live Link Face's ARKit layout).",
        ),
    ] = None,
    solver: SolverOpt = None,
    video_format: FormatOpt = None,
    device: DeviceOpt = "auto",
    detector: DetectorOpt = "mediapipe",
    insightface_root: InsightRootOpt = None,
    motion_checkpoint: CheckpointOpt = None,
    whisper_checkpoint: WhisperOpt = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", rich_help_panel=OUTPUT, help="Print only errors.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            rich_help_panel=OUTPUT,
            help="Also write the job's figures (stage times, CPU, memory) as JSON here.",
        ),
    ] = None,
    fit: Annotated[
        Fit,
        typer.Option(
            "--fit",
            rich_help_panel=DUB,
            help="The output lasts as long as the audio (the video cut, or played forward then "
            "backward while shorter) or as the video (the mouth closed after the speech).",
        ),
    ] = "audio",
    keep_audio: Annotated[
        KeepAudio,
        typer.Option(
            "--keep-audio",
            rich_help_panel=DUB,
            help="The video's own sound mixed under the new audio (-6 dB), or none.",
        ),
    ] = "none",
) -> None:
    """Render one portrait speaking one recording, or dub a video (PORTRAIT may be a video:
    its mouth then speaks AUDIO, everything else stays the video's)."""
    from ..pipeline import Engine, Job, check_job

    settings = load_preset(
        preset, _overrides(overrides, generator, solver=solver, video_format=video_format)
    )
    if seed is not None:
        settings = settings.model_copy(update={"seed": seed})
    if pose_from is not None:
        from ..motion.reference import with_reference

        motion = with_reference(settings.motion, pose_from)
        settings = settings.model_copy(update={"motion": motion})
    options = _engine_options(
        device, detector, insightface_root, motion_checkpoint, whisper_checkpoint
    )
    from ..video.source import is_video

    if is_video(portrait):  # by its content, not its name
        from ..dub import DubJob

        if motion_in is not None or motion_out is not None:
            raise UsageError(
                "--motion-in and --motion-out take a portrait, not a video to dub", path=portrait
            )

        _dub(DubJob(portrait, audio, output, settings, fit, keep_audio), options, quiet, report)
        return
    job = Job(portrait, audio, output, settings, motion_in=motion_in, motion_out=motion_out)
    check_job(job)
    with _native_logs_silenced(quiet), _job_bar(not quiet and out.is_terminal) as bar:
        result = Engine(options).render(job, bar.update)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if report is not None:
        from ..atomic import atomic_write

        atomic_write(report, json.dumps(result.to_json(), indent=2))
    if not quiet:
        cpu, rss = result.stage_cpu_seconds, result.stage_peak_rss_mb
        stages = ", ".join(
            f"{k} {v:.2f}s/{cpu.get(k, 0.0):.1f}cpu/{rss.get(k, 0.0):.0f}MB"
            for k, v in result.stage_seconds.items()
        )
        out.print(
            f"{result.output}  {result.frames} frames, {result.audio_seconds:.2f}s audio, "
            f"realtime x{result.realtime_factor:.2f} (wall/cpu/peak: {stages}), "
            f"peak {result.peak_rss_mb:.0f} MB",
            highlight=False,
            markup=False,
        )


def _dub(job: Any, options: Any, quiet: bool, report: Path | None) -> None:
    """`moda render VIDEO AUDIO`: the video dubbed (``moda_cli.dub``)."""
    from ..dub import Dubber, check_dub
    from ..pipeline import Engine

    check_dub(job)
    with _native_logs_silenced(quiet), _job_bar(not quiet and out.is_terminal) as bar:
        result = Dubber(Engine(options)).dub(job, bar.update)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if report is not None:
        from ..atomic import atomic_write

        atomic_write(report, json.dumps(result.to_json(), indent=2))
    if not quiet:
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in result.stage_seconds.items())
        out.print(
            f"{result.output}  {result.frames} frames, {result.audio_seconds:.2f}s, "
            f"{result.dubbed:.0%} dubbed, {result.shots} shot(s), realtime "
            f"x{result.realtime_factor:.2f} ({stages}), peak {result.peak_rss_mb:.0f} MB",
            highlight=False,
            markup=False,
        )
