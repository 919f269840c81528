"""Run a planned batch: resolve settings, preflight, then render on an executor.

Executors: ``local`` with one worker renders in this process; with N workers it uses a
process pool whose workers each load the models once. ``ray`` sends one task per job to
a Ray cluster (a local one unless an address is given); Ray worker processes keep their
engine between tasks. Every executor calls the same ``execute_job``.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

from ..audio.features import num_video_frames
from ..errors import ModaError, UsageError
from ..pipeline import Engine, EngineOptions, Job, JobProgress
from ..presets import DEFAULT_PRESET, load_preset
from .plan import DEFAULT_TEMPLATE, BatchPlan, JobSpec, assign_outputs
from .state import JobBusy, file_digest, is_done, job_key, job_lock, write_sidecar

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
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    dry_run: bool = False


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
    realtime_factor: float | None = None
    peak_rss_mb: float | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class ResolvedJob:
    """A job ready to run anywhere: paths, validated settings, and its resume key."""

    job: Job
    record: JobRecord
    force: bool


class BatchEvents:
    """Hooks the CLI overrides to show progress; the defaults do nothing."""

    def job_started(self, record: JobRecord) -> None: ...
    def job_progress(self, record: JobRecord, stage: str, done: int, total: int) -> None: ...
    def job_finished(self, record: JobRecord) -> None: ...


def model_id(engine_options: EngineOptions, generator: str) -> str:
    """What identifies the motion model in resume keys and reports."""
    if generator != "learned":
        return generator
    from ..motion.checkpoint import default_checkpoint_path

    path = engine_options.motion_checkpoint or default_checkpoint_path()
    return f"learned:{file_digest(path)[:16]}" if path.is_file() else "learned:missing"


def _resolve(spec: JobSpec, options: BatchOptions, engine_options: EngineOptions, models: dict[str, str]) -> ResolvedJob | JobRecord:
    record = JobRecord(spec.name, _str(spec.portrait), _str(spec.audio), _str(spec.output), "planned")
    if spec.error:
        record.status, record.error = "failed", spec.error
        return record
    assert spec.portrait and spec.audio and spec.output
    try:
        preset = load_preset(spec.preset or options.preset, [*options.overrides, *spec.overrides])
        seed = spec.seed if spec.seed is not None else options.seed
        if seed is not None:
            preset = preset.model_copy(update={"seed": seed})
        generator = preset.motion.generator
        if generator not in models:
            models[generator] = model_id(engine_options, generator)
        record.preset, record.seed, record.model = preset.model_dump(), preset.seed, models[generator]
        record.key = job_key(spec.portrait, spec.audio, record.preset, record.model)
    except (ModaError, OSError) as exc:
        record.status, record.error = "failed", _reason(exc, spec)
        return record
    return ResolvedJob(Job(spec.portrait, spec.audio, spec.output, preset), record, options.force)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _reason(exc: BaseException, spec: JobSpec | None = None) -> str:
    if isinstance(exc, ModaError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.filename or (spec and spec.name)}: {exc.strerror or exc}"
    return f"internal error: {type(exc).__name__}: {exc}"


_ENGINE: Engine | None = None


def _engine(options: EngineOptions) -> Engine:
    """One engine per process: models load once per worker, not once per job."""
    global _ENGINE
    if _ENGINE is None or _ENGINE.options != options:
        _ENGINE = Engine(options)
    return _ENGINE


def execute_job(resolved: ResolvedJob, engine_options: EngineOptions, progress: JobProgress | None = None) -> JobRecord:
    """Render one job unless it is already done or held by another process. Never raises
    for a job's own failure: the record says what went wrong."""
    record, job = resolved.record, resolved.job
    assert record.key is not None
    try:
        with job_lock(job.output):
            if not resolved.force and is_done(job.output, record.key):
                record.status = "skipped"
                return record
            result = _engine(engine_options).render(job, progress)
            record.status = "done"
            record.frames, record.audio_seconds = result.frames, round(result.audio_seconds, 3)
            record.stage_seconds = {k: round(v, 3) for k, v in result.stage_seconds.items()}
            record.realtime_factor = round(result.realtime_factor, 4)
            record.peak_rss_mb = round(result.peak_rss_mb, 1)
            record.warnings = result.warnings
            write_sidecar(job.output, record.key, _public(record))
    except JobBusy:
        record.status, record.error = "busy", "another moda process is rendering this output"
    except KeyboardInterrupt:
        record.status, record.error = "interrupted", "stopped before the video was complete"
        raise
    except Exception as exc:  # one job's failure must never stop the batch
        record.status, record.error = "failed", _reason(exc)
    return record


def _public(record: JobRecord) -> dict[str, Any]:
    return asdict(record)


def preflight(resolved: list[ResolvedJob], engine: Engine) -> list[JobRecord]:
    """Decode every pending job's portrait (face found) and audio before rendering any."""
    failed = []
    for item in resolved:
        if not item.force and item.record.key and is_done(item.job.output, item.record.key):
            continue
        try:
            inputs = engine.prepare(item.job)
            item.record.frames = num_video_frames(inputs.audio.duration_s, item.job.preset.video.fps)
            item.record.audio_seconds = round(inputs.audio.duration_s, 3)
            if inputs.face.num_faces > 1:
                item.record.warnings.append(f"{inputs.face.num_faces} faces found, animating the largest")
        except Exception as exc:
            item.record.status, item.record.error = "failed", _reason(exc)
            failed.append(item.record)
    return failed


def _run_serial(jobs: list[ResolvedJob], engine_options: EngineOptions, events: BatchEvents) -> None:
    for item in jobs:
        events.job_started(item.record)
        execute_job(item, engine_options, lambda s, d, t, r=item.record: events.job_progress(r, s, d, t))
        events.job_finished(item.record)


def _worker_init(threads: int) -> None:
    import signal

    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    # SIGTERM from the parent becomes KeyboardInterrupt, so the writer removes its temp file.
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def _run_pool(jobs: list[ResolvedJob], engine_options: EngineOptions, workers: int, events: BatchEvents) -> None:
    threads = max(1, (os.cpu_count() or 1) // workers)
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_init, initargs=(threads,))
    try:
        pending = {}
        for item in jobs:
            events.job_started(item.record)
            pending[pool.submit(execute_job, item, engine_options)] = item
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                item = pending.pop(future)
                _copy_result(item.record, future)
                events.job_finished(item.record)
    except BaseException:
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()  # SIGTERM: each worker deletes its partial file
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _copy_result(record: JobRecord, future: Any) -> None:
    try:
        done: JobRecord = future.result()
    except BaseException as exc:  # a worker that died (killed, out of memory)
        record.status, record.error = "failed", f"worker failed: {type(exc).__name__}: {exc}"
        return
    record.__dict__.update(done.__dict__)


def _run_ray(jobs: list[ResolvedJob], engine_options: EngineOptions, address: str | None, events: BatchEvents) -> None:
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray", hint="pip install 'moda-cli[ray]'") from None
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}} if address is None else None)
    remote = ray.remote(num_cpus=1, max_retries=0)(execute_job)
    refs = {}
    try:
        for item in jobs:
            events.job_started(item.record)
            refs[remote.remote(item, engine_options)] = item
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            item = refs.pop(ready[0])
            _copy_result(item.record, _RayFuture(ray, ready[0]))
            events.job_finished(item.record)
    except BaseException:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started_here:
            ray.shutdown()


class _RayFuture:
    def __init__(self, ray: Any, ref: Any):
        self._ray, self._ref = ray, ref

    def result(self) -> Any:
        return self._ray.get(self._ref)


@dataclass
class BatchOutcome:
    records: list[JobRecord]
    unpaired: list[str]
    seconds: float
    interrupted: bool = False

    def count(self, status: Status) -> int:
        return sum(r.status == status for r in self.records)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if any(r.status in ("failed", "busy") for r in self.records) else 0


def run_batch(plan: BatchPlan, options: BatchOptions, engine_options: EngineOptions,
              events: BatchEvents | None = None) -> BatchOutcome:
    """Resolve, preflight and render every job of ``plan``; never raises for a job."""
    events = events or BatchEvents()
    start = time.perf_counter()
    if options.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {options.workers}")
    assign_outputs(plan, options.out_dir, options.template)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    models: dict[str, str] = {}
    items = [_resolve(spec, options, engine_options, models) for spec in plan.jobs]
    records = [i.record if isinstance(i, ResolvedJob) else i for i in items]
    runnable = [i for i in items if isinstance(i, ResolvedJob)]
    engine = _engine(engine_options)
    preflight(runnable, engine)
    todo = [i for i in runnable if i.record.status == "planned"]
    outcome = BatchOutcome(records, [str(p) for p in plan.unpaired], 0.0)
    if options.dry_run:
        outcome.seconds = time.perf_counter() - start
        return outcome
    try:
        _dispatch(todo, options, engine_options, events)
    except KeyboardInterrupt:
        outcome.interrupted = True
        for r in records:
            if r.status == "planned":
                r.status, r.error = "interrupted", "batch stopped before this job ran"
    outcome.seconds = time.perf_counter() - start
    return outcome


def _dispatch(todo: list[ResolvedJob], options: BatchOptions, engine_options: EngineOptions, events: BatchEvents) -> None:
    if options.executor == "ray":
        _run_ray(todo, engine_options, options.ray_address, events)
    elif options.workers == 1 or len(todo) <= 1:
        _run_serial(todo, engine_options, events)
    else:
        _run_pool(todo, engine_options, min(options.workers, len(todo)), events)

