"""A batch's jobs: the options, one report record per job, and the resolving of a planned
job (paths, validated settings, resume key) into one ready to run anywhere."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..choices import Pool
from ..errors import MissingDependency, ModaError, UsageError, missing_file_error, output_error
from ..pipeline import EngineOptions, Job, JobResult
from ..presets import DEFAULT_PRESET, load_preset
from .executors import ExecutorName
from .outputs import DEFAULT_TEMPLATE
from .spec import JobSpec
from .state import file_digest, job_key
from .videos import is_video_input

Status = Literal["done", "skipped", "failed", "busy", "planned", "interrupted"]


@dataclass
class BatchOptions:
    out_dir: Path
    preset: str = DEFAULT_PRESET
    overrides: list[str] = field(default_factory=list)
    seed: int | None = None
    template: str = DEFAULT_TEMPLATE
    force: bool = False
    workers: int = 1
    pool: Pool = "auto"  # how the local executor runs several workers
    executor: ExecutorName = "local"
    ray_address: str | None = None
    dry_run: bool = False
    qc: bool = False  # measure each rendered video with `moda qc` (moda_cli.qc)
    allow_outside_output: bool = False  # manifest outputs may name any folder


@dataclass
class JobRecord:
    """One row of the batch report."""

    name: str
    portrait: str | None
    audio: str | None
    output: str | None
    status: Status
    error: str | None = None
    preset: dict[str, Any] | None = None
    seed: int | None = None
    model: str | None = None
    key: str | None = None
    frames: int | None = None
    audio_seconds: float | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_peak_rss_mb: dict[str, float] = field(default_factory=dict)
    stage_cpu_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float | None = None  # wall time of the job in its worker, lock and sidecar included
    worker: int | None = None  # process id that rendered it
    realtime_factor: float | None = None
    peak_rss_mb: float | None = None
    warnings: list[str] = field(default_factory=list)
    qc: dict[str, Any] | None = None  # `moda qc`'s figures and flags (batch --qc)

    def rendered(self, result: JobResult) -> None:
        """The job is done: its figures from the engine's result, rounded for the report
        (the one place a ``JobResult`` becomes a record)."""
        self.status, self.error = "done", None
        self.frames, self.audio_seconds = result.frames, round(result.audio_seconds, 3)
        self.stage_seconds = _rounded(result.stage_seconds, 3)
        self.stage_peak_rss_mb = _rounded(result.stage_peak_rss_mb, 1)
        self.stage_cpu_seconds = _rounded(result.stage_cpu_seconds, 3)
        self.realtime_factor = round(result.realtime_factor, 4)
        self.peak_rss_mb = round(result.peak_rss_mb, 1)
        self.warnings = result.warnings

    def settle(self, final: JobRecord | BaseException) -> None:
        """Take the record a job's worker returned (a copy, from another process), or fail
        the job when its worker died (killed, out of memory) and returned nothing."""
        if isinstance(final, BaseException):
            self.status, self.error = "failed", f"worker failed: {type(final).__name__}: {final}"
        elif final is not self:
            self.__dict__.update(final.__dict__)


def _rounded(values: dict[str, float], digits: int) -> dict[str, float]:
    return {k: round(v, digits) for k, v in values.items()}


@dataclass
class ResolvedJob:
    """A job ready to run anywhere (it pickles): paths, validated settings, its resume key,
    and its record, which the job fills in wherever it runs."""

    job: Job
    record: JobRecord
    force: bool
    qc: bool = False
    # Another process held this job: wait for its lock, then look again (skipped if it
    # rendered the job, ours to render if not).
    wait: bool = False
    video: bool = False  # the visual input is a video: the job dubs it (``batch.videos``)


class BatchEvents:
    """Hooks the CLI overrides to show progress; the defaults do nothing."""

    def checking(self, done: int, total: int) -> None:
        """Preflight progress: ``done`` of ``total`` pending jobs' inputs decoded."""

    def batch_started(self, total: int) -> None:
        """Rendering starts with ``total`` jobs to run."""

    def job_started(self, record: JobRecord) -> None:
        """A job starts in this process (per-job progress follows)."""

    def job_progress(self, record: JobRecord, stage: str, done: int, total: int) -> None: ...

    def job_finished(self, record: JobRecord) -> None:
        """A job's record is final: done, skipped, failed (preflight included), busy."""


def model_id(engine_options: EngineOptions, generator: str) -> str:
    """What identifies the models in resume keys and reports: the motion generator (a
    learned one by its checkpoint's hash), plus the detector and any Whisper checkpoint,
    since each changes the video."""
    if generator != "learned":
        motion = generator
    else:
        path = _checkpoint(engine_options)
        motion = f"learned:{file_digest(path)[:16]}" if path.is_file() else "learned:missing"
    parts = [motion]
    if engine_options.detector != "mediapipe":
        parts.append(f"detector:{engine_options.detector}")
    whisper = engine_options.whisper_checkpoint
    if whisper is not None:
        digest = f"whisper:{file_digest(whisper)[:16]}" if whisper.is_file() else "whisper:missing"
        parts.append(digest)
    return "+".join(parts)


def _checkpoint(engine_options: EngineOptions) -> Path:
    from ..motion.checkpoint import default_checkpoint_path

    return engine_options.motion_checkpoint or default_checkpoint_path()


def resolve(
    spec: JobSpec, options: BatchOptions, engine_options: EngineOptions, models: dict[str, str]
) -> ResolvedJob | JobRecord:
    """``spec`` ready to run, or its failed record (a bad row, a missing input, a bad
    setting). ``models`` caches ``model_id`` by generator across the batch's jobs."""
    record = JobRecord(
        spec.name, _str(spec.portrait), _str(spec.audio), _str(spec.output), "planned"
    )
    if spec.error:
        record.status, record.error = "failed", spec.error
        return record
    assert spec.portrait and spec.audio and spec.output
    try:
        for label, path in (("portrait", spec.portrait), ("audio", spec.audio)):
            if not path.is_file():  # before hashing it for the resume key
                raise missing_file_error(label, path)
        overrides = [*options.overrides, *spec.overrides]
        preset = load_preset(spec.preset or options.preset, overrides)
        seed = spec.seed if spec.seed is not None else options.seed
        if seed is not None:
            preset = preset.model_copy(update={"seed": seed})
        generator = preset.motion.generator
        if generator not in models:
            models[generator] = model_id(engine_options, generator)
        if "learned:missing" in models[generator]:  # every such job would fail at its motion stage
            raise MissingDependency(
                "motion checkpoint not found",
                path=_checkpoint(engine_options),
                hint="pass --motion-checkpoint FILE, or --generator baseline",
            )
        record.preset, record.seed = preset.model_dump(), preset.seed
        record.model = models[generator]
        motion = _motion_files(spec)
        record.key = job_key(spec.portrait, spec.audio, {**record.preset, **motion}, record.model)
    except (ModaError, OSError) as exc:
        record.status, record.error = "failed", failure_reason(exc, spec)
        return record
    job = Job(
        spec.portrait,
        spec.audio,
        spec.output,
        preset,
        motion_in=spec.motion_in,
        motion_out=spec.motion_out,
    )
    video = is_video_input(spec.portrait)
    return ResolvedJob(job, record, options.force, options.qc, video=video)


def _motion_files(spec: JobSpec) -> dict[str, str]:
    """What a job's motion files add to its resume key: the digest of the one it reads
    (read now: a bad file fails its row) and the name of the one it writes."""
    from ..motion.motionfile import check_motion_path, read_motion

    files = {}
    wanted = spec.motion_in or spec.motion_out
    if wanted and spec.portrait is not None and is_video_input(spec.portrait):
        raise UsageError(
            "motion_in and motion_out take a portrait, not a video to dub", path=spec.portrait
        )
    if spec.motion_in is not None:
        read_motion(spec.motion_in)
        files["motion_in"] = file_digest(spec.motion_in)
    if spec.motion_out is not None:
        check_motion_path(spec.motion_out, "out")
        files["motion_out"] = str(spec.motion_out)
    return files


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def failure_reason(exc: BaseException, spec: JobSpec | None = None) -> str:
    """A failed job's ``error``: moda's own message, the file an OS error names, or (a bug)
    the exception's type."""
    if isinstance(exc, ModaError):
        return str(exc)
    if isinstance(exc, OSError):
        return str(output_error(exc, exc.filename or (spec and spec.name) or "?", "failed"))
    return f"internal error: {type(exc).__name__}: {exc}"
