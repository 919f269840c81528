"""Run a planned batch: resolve settings, preflight, then render on an executor.

Executors: ``local`` with one worker renders in this process; with N workers it runs N
jobs at once, either in a process pool whose workers each load the models once, or in
N threads of this process that share one engine (``pool``; by default threads on a GPU,
where the jobs' motion windows are then sampled in one batch, and processes on a CPU).
``ray`` sends one task per job to a Ray cluster (a local one unless an address is
given); Ray worker processes keep their engine between tasks. Every executor calls the
same ``execute_job``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
import time
from concurrent.futures import (
    FIRST_COMPLETED,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from concurrent.futures import wait as wait_futures
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

from ..audio.decode import load_audio
from ..audio.features import num_video_frames
from ..choices import Executor, Pool
from ..errors import MissingDependency, ModaError, UsageError, missing_file_error, output_error
from ..pipeline import Engine, EngineOptions, Job, JobProgress, check_job, resolve_device
from ..presets import DEFAULT_PRESET, load_preset
from ..video.ffmpeg import ffmpeg_exe
from ..video.writer import temp_path_for
from .plan import DEFAULT_TEMPLATE, BatchPlan, JobSpec, assign_outputs
from .state import (
    JobBusy,
    file_digest,
    is_done,
    job_key,
    job_lock,
    remove_leftovers,
    sidecar_path,
    write_sidecar,
)

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
    executor: Executor = "local"
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


@dataclass
class ResolvedJob:
    """A job ready to run anywhere: paths, validated settings, and its resume key."""

    job: Job
    record: JobRecord
    force: bool
    qc: bool = False


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
        parts.append(f"whisper:{file_digest(whisper)[:16]}" if whisper.is_file() else "whisper:missing")
    return "+".join(parts)


def _checkpoint(engine_options: EngineOptions) -> Path:
    from ..motion.checkpoint import default_checkpoint_path

    return engine_options.motion_checkpoint or default_checkpoint_path()


def _resolve(spec: JobSpec, options: BatchOptions, engine_options: EngineOptions, models: dict[str, str]) -> ResolvedJob | JobRecord:
    record = JobRecord(spec.name, _str(spec.portrait), _str(spec.audio), _str(spec.output), "planned")
    if spec.error:
        record.status, record.error = "failed", spec.error
        return record
    assert spec.portrait and spec.audio and spec.output
    try:
        for label, path in (("portrait", spec.portrait), ("audio", spec.audio)):
            if not path.is_file():  # before hashing it for the resume key
                raise missing_file_error(label, path)
        preset = load_preset(spec.preset or options.preset, [*options.overrides, *spec.overrides])
        seed = spec.seed if spec.seed is not None else options.seed
        if seed is not None:
            preset = preset.model_copy(update={"seed": seed})
        generator = preset.motion.generator
        if generator not in models:
            models[generator] = model_id(engine_options, generator)
        if "learned:missing" in models[generator]:  # every such job would fail at its motion stage
            raise MissingDependency("motion checkpoint not found", path=_checkpoint(engine_options),
                                    hint="pass --motion-checkpoint FILE, or --generator baseline")
        record.preset, record.seed, record.model = preset.model_dump(), preset.seed, models[generator]
        record.key = job_key(spec.portrait, spec.audio, record.preset, record.model)
    except (ModaError, OSError) as exc:
        record.status, record.error = "failed", _reason(exc, spec)
        return record
    job = Job(spec.portrait, spec.audio, spec.output, preset)
    return ResolvedJob(job, record, options.force, options.qc)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _reason(exc: BaseException, spec: JobSpec | None = None) -> str:
    if isinstance(exc, ModaError):
        return str(exc)
    if isinstance(exc, OSError):
        return str(output_error(exc, exc.filename or (spec and spec.name) or "?", "failed"))
    return f"internal error: {type(exc).__name__}: {exc}"


_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


def _engine(options: EngineOptions, concurrent_jobs: int = 1) -> Engine:
    """One engine per process: models load once per worker, not once per job."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None or (_ENGINE.options, _ENGINE.concurrent_jobs) != (options, concurrent_jobs):
            _ENGINE = Engine(options, concurrent_jobs)
        return _ENGINE


def execute_job(resolved: ResolvedJob, engine_options: EngineOptions, progress: JobProgress | None = None,
                wait: bool = False, concurrent_jobs: int = 1) -> JobRecord:
    """Render one job unless it is already done or held by another process (with
    ``wait``, wait for that process and then look again). Never raises for a job's own
    failure: the record says what went wrong. ``concurrent_jobs``: how many threads of
    this process run jobs at once (they share the engine)."""
    record, job = resolved.record, resolved.job
    assert record.key is not None
    start = time.perf_counter()
    record.worker = os.getpid()
    try:
        with job_lock(job.output, wait=wait):
            if (not resolved.force or wait) and is_done(job.output, record.key):
                # (a forced job we waited for was just rendered by the other process)
                record.status, record.error = "skipped", None
                return record
            check_job(job)  # before deleting anything at the output's name
            remove_leftovers(job.output)
            result = _engine(engine_options, concurrent_jobs).render(job, progress)
            record.status, record.error = "done", None
            record.frames, record.audio_seconds = result.frames, round(result.audio_seconds, 3)
            record.stage_seconds = {k: round(v, 3) for k, v in result.stage_seconds.items()}
            record.stage_peak_rss_mb = {k: round(v, 1) for k, v in result.stage_peak_rss_mb.items()}
            record.stage_cpu_seconds = {k: round(v, 3) for k, v in result.stage_cpu_seconds.items()}
            record.realtime_factor = round(result.realtime_factor, 4)
            record.peak_rss_mb = round(result.peak_rss_mb, 1)
            record.warnings = result.warnings
            if resolved.qc:
                _quality_check(job, record)
            record.seconds = round(time.perf_counter() - start, 3)
            _record_or_discard(job, record)
    except JobBusy:
        record.status, record.error = "busy", "another moda process is rendering this output"
    except KeyboardInterrupt:
        record.status, record.error = "interrupted", "stopped before the video was complete"
        raise
    except Exception as exc:  # one job's failure must never stop the batch
        record.status, record.error = "failed", _reason(exc)
    record.seconds = round(time.perf_counter() - start, 3)
    return record


def _record_or_discard(job: Job, record: JobRecord) -> None:
    """Write the finished video's record; if that fails (no space, a failing disk), the
    job failed: its video goes too, so no unrecorded output is left to look finished."""
    assert record.key is not None
    try:
        write_sidecar(job.output, record.key, asdict(record))
    except BaseException:
        for path in (job.output, sidecar_path(job.output)):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        raise


def _quality_check(job: Job, record: JobRecord) -> None:
    """`moda qc` on the rendered video: its figures go in the record, each flag in the
    warnings. A check that cannot run is a warning: the video itself is fine."""
    from ..qc import run_qc

    try:
        report = run_qc(job.output, portrait=job.portrait, audio=job.audio,
                        max_side=job.preset.render.max_side)
    except Exception as exc:
        record.warnings.append(f"qc could not run: {_reason(exc)}")
        return
    record.qc = report.to_json()
    record.warnings += [f"qc: {f.name} = {f.value:g} (want {f.limit}): {f.message}"
                        for f in report.flags]


PREFLIGHT_THREADS = min(8, 2 * (os.cpu_count() or 1))


def preflight(resolved: list[ResolvedJob], engine: Engine, events: BatchEvents | None = None) -> list[JobRecord]:
    """Decode every pending job's portrait (face found) and audio before rendering any.

    Jobs already done are marked skipped. A portrait shared by many jobs is checked once
    per render setting, in this thread (the detector is not thread-safe); audio decoding
    runs ffmpeg in child processes, so a few threads overlap it. Returns the failures.
    """
    events = events or BatchEvents()
    faces: dict[tuple[str, str], tuple[int, BaseException | None]] = {}
    checked, total = 0, len(resolved)
    pool = ThreadPoolExecutor(PREFLIGHT_THREADS, thread_name_prefix="moda-preflight")
    try:
        futures = []
        for item in resolved:
            if _preflight_portrait(item, engine, faces):
                futures.append(pool.submit(_preflight_audio, item))
            else:
                checked += 1
                events.checking(checked, total)
        for future in as_completed(futures):
            future.result()
            checked += 1
            events.checking(checked, total)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: do not decode the rest
        raise
    pool.shutdown()
    return [item.record for item in resolved if item.record.status == "failed"]


def _preflight_portrait(item: ResolvedJob, engine: Engine, faces: dict[tuple[str, str], tuple[int, BaseException | None]]) -> bool:
    """Skip a finished job, check paths and the face; True if its audio needs checking."""
    job, record = item.job, item.record
    try:
        if not item.force and record.key and is_done(job.output, record.key):
            record.status = "skipped"
            return False
        check_job(job)
        num_faces = _check_face(engine, job, faces)
        if num_faces > 1:
            record.warnings.append(f"{job.portrait}: {num_faces} faces found, animating the largest")
        return True
    except Exception as exc:
        record.status, record.error = "failed", _reason(exc)
        return False


def _preflight_audio(item: ResolvedJob) -> None:
    job, record = item.job, item.record
    try:
        audio = load_audio(job.audio)
        record.frames = num_video_frames(audio.duration_s, job.preset.video.fps)
        record.audio_seconds = round(audio.duration_s, 3)
    except Exception as exc:
        record.status, record.error = "failed", _reason(exc)


def _check_face(engine: Engine, job: Job, seen: dict[tuple[str, str], tuple[int, BaseException | None]]) -> int:
    key = (file_digest(job.portrait), job.preset.render.model_dump_json())
    if key not in seen:
        try:
            seen[key] = (engine.load_face(job)[1].num_faces, None)
        except Exception as exc:
            seen[key] = (0, exc)
    num_faces, error = seen[key]
    if error is None:
        return num_faces
    if isinstance(error, ModaError) and error.path not in (None, job.portrait):
        # The same bytes under another name: the same cause, naming this job's file.
        raise ModaError(error.args[0], path=job.portrait, hint=error.hint)
    raise error


def _run_serial(jobs: list[ResolvedJob], engine_options: EngineOptions, events: BatchEvents, wait: bool = False) -> None:
    for item in jobs:
        events.job_started(item.record)
        execute_job(item, engine_options, functools.partial(events.job_progress, item.record), wait)
        events.job_finished(item.record)


# -- process pool ---------------------------------------------------------------------

_IN_JOB = False  # in a pool worker: is a job running (so SIGTERM must clean up)?


def _worker_init(threads: int) -> None:
    _set_threads(threads)
    # The parent decides when to stop: Ctrl-C on the terminal reaches the whole process
    # group, so workers ignore SIGINT and wait for the parent's SIGTERM instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_sigterm)


def _set_threads(threads: int) -> None:
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


def _worker_sigterm(signum: int, frame: Any) -> None:
    if _IN_JOB:
        raise KeyboardInterrupt  # unwinds the job: the video writer deletes its temp file
    os._exit(130)  # idle: nothing to clean up, and no traceback from the pool's internals


def _pool_job(resolved: ResolvedJob, engine_options: EngineOptions, wait: bool) -> JobRecord:
    global _IN_JOB
    _IN_JOB = True
    try:
        return execute_job(resolved, engine_options, None, wait)
    except KeyboardInterrupt:
        # Stopped by the parent and cleaned up: exit now rather than take the next
        # queued job. The parent reads the broken future as "interrupted".
        os._exit(130)
    finally:
        _IN_JOB = False


def _run_pool(jobs: list[ResolvedJob], engine_options: EngineOptions, workers: int, events: BatchEvents,
              wait: bool = False) -> None:
    threads = max(1, (os.cpu_count() or 1) // workers)
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_init, initargs=(threads,))
    pending: dict[Any, ResolvedJob] = {}
    try:
        pending = {pool.submit(_pool_job, item, engine_options, wait): item for item in jobs}
        _report_as_finished(pending, events)
    except BaseException:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()  # SIGTERM: a worker in a job deletes its partial file and exits
        pool.shutdown(wait=True, cancel_futures=True)
        _collect_finished(pending, events)
        raise
    pool.shutdown(wait=True)


def _report_as_finished(pending: dict[Any, ResolvedJob], events: BatchEvents) -> None:
    """Wait for every future of ``pending``, removing each as its job's record is final."""
    while pending:
        finished, _ = wait_futures(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            item = pending.pop(future)
            _copy_result(item.record, future)
            events.job_finished(item.record)


def _collect_finished(pending: dict[Any, ResolvedJob], events: BatchEvents) -> None:
    """After an interruption: record the jobs that completed meanwhile (their videos and
    sidecars exist, so the report must say done); the others were interrupted."""
    for future, item in pending.items():
        try:
            done = future.done() and not future.cancelled() and future.exception() is None
        except BaseException:
            done = False
        if done:
            _copy_result(item.record, future)
            events.job_finished(item.record)
        elif item.record.status == "planned":
            item.record.status, item.record.error = "interrupted", "stopped before the video was complete"


def _copy_result(record: JobRecord, future: Any) -> None:
    try:
        done: JobRecord = future.result()
    except BaseException as exc:  # a worker that died (killed, out of memory)
        record.status, record.error = "failed", f"worker failed: {type(exc).__name__}: {exc}"
        return
    record.__dict__.update(done.__dict__)


# -- threads --------------------------------------------------------------------------


def _run_threads(jobs: list[ResolvedJob], engine_options: EngineOptions, workers: int, events: BatchEvents,
                 wait: bool = False) -> None:
    """``workers`` jobs at a time in threads of this process, sharing one engine: the
    models load once, and the learned generator samples the jobs' windows together."""
    stop = threading.Event()

    def stop_when_asked(stage: str, done: int, total: int) -> None:
        if stop.is_set():  # Ctrl-C or SIGTERM reached the main thread
            raise KeyboardInterrupt  # unwinds the job: its writer deletes the temp file

    pool = ThreadPoolExecutor(workers, thread_name_prefix="moda-job")
    pending: dict[Any, ResolvedJob] = {}
    try:
        pending = {pool.submit(execute_job, item, engine_options, stop_when_asked, wait, workers): item for item in jobs}
        _report_as_finished(pending, events)
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        _collect_finished(pending, events)
        raise
    pool.shutdown(wait=True)


# -- Ray ------------------------------------------------------------------------------


def _ray_job(resolved: ResolvedJob, engine_options: EngineOptions, wait: bool, threads: int) -> JobRecord:
    _set_threads(threads)
    return execute_job(resolved, engine_options, None, wait)


def _start_ray(address: str | None, workers: int) -> tuple[Any, bool]:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # read when Ray starts; no token prompts
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray", hint="pip install 'moda-cli[ray]'") from None
    if ray.is_initialized():
        return ray, False
    if address is None:
        cpus = workers if workers > 1 else (os.cpu_count() or 1)
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "disabled"}})
    else:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    return ray, True


def _run_ray(jobs: list[ResolvedJob], engine_options: EngineOptions, options: BatchOptions, events: BatchEvents,
             wait: bool = False) -> None:
    ray, started_here = _start_ray(options.ray_address, options.workers)
    remote = ray.remote(num_cpus=1, max_retries=0)(_ray_job)
    refs: dict[Any, ResolvedJob] = {}
    try:
        refs = {remote.remote(item, engine_options, wait, 1): item for item in jobs}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            item = refs.pop(ready[0])
            _copy_result(item.record, _RayFuture(ray, ready[0]))
            events.job_finished(item.record)
    except BaseException:
        for ref in refs:
            ray.cancel(ref)  # KeyboardInterrupt in the task: its writer deletes the temp file
        if refs:
            ray.wait(list(refs), num_returns=len(refs), timeout=10)
        _collect_finished({_RayFuture(ray, ref): item for ref, item in refs.items()}, events)
        raise
    finally:
        if started_here:
            ray.shutdown()


class _RayFuture:
    """Just enough of a concurrent.futures.Future over a Ray object ref."""

    def __init__(self, ray: Any, ref: Any):
        self._ray, self._ref = ray, ref

    def result(self) -> Any:
        return self._ray.get(self._ref)

    def done(self) -> bool:
        return bool(self._ray.wait([self._ref], timeout=0)[0])

    def cancelled(self) -> bool:
        return False

    def exception(self) -> BaseException | None:
        try:
            self.result()
        except BaseException as exc:
            return exc
        return None


# -- the batch ------------------------------------------------------------------------


@dataclass
class BatchOutcome:
    records: list[JobRecord]
    unpaired: list[str]
    seconds: float
    interrupted: bool = False
    phase_seconds: dict[str, float] = field(default_factory=dict)  # plan, preflight, render

    def count(self, status: Status) -> int:
        return sum(r.status == status for r in self.records)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if any(r.status in ("failed", "busy") for r in self.records) else 0


def run_batch(plan: BatchPlan, options: BatchOptions, engine_options: EngineOptions,
              events: BatchEvents | None = None) -> BatchOutcome:
    """Resolve, preflight and render every job of ``plan``; never raises for a job.

    Raises UsageError (before any work) for bad options, a bad template, two jobs
    writing one file or a wrong MODA_FFMPEG. Ctrl-C or SIGTERM ends with ``interrupted``
    set and no partial file.
    """
    events = events or BatchEvents()
    start = time.perf_counter()
    if options.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {options.workers}")
    ffmpeg_exe()  # a missing ffmpeg or a wrong MODA_FFMPEG stops the batch, not each job
    assign_outputs(plan, options.out_dir, options.template,
                   allow_outside=options.allow_outside_output)
    models: dict[str, str] = {}
    items = [_resolve(spec, options, engine_options, models) for spec in plan.jobs]
    records = [i.record if isinstance(i, ResolvedJob) else i for i in items]
    runnable = [i for i in items if isinstance(i, ResolvedJob)]
    outcome = BatchOutcome(records, [str(p) for p in plan.unpaired], 0.0)
    for record in records:
        if record.status == "failed":
            events.job_finished(record)
    phases = outcome.phase_seconds
    phases["plan"] = time.perf_counter() - start
    try:
        pending = [i for i in runnable if i.record.status == "planned"]
        for record in preflight(pending, _engine(engine_options), events) if pending else []:
            events.job_finished(record)
        todo = [i for i in runnable if i.record.status == "planned"]
        phases["preflight"] = time.perf_counter() - start - phases["plan"]
        if not options.dry_run:
            options.out_dir.mkdir(parents=True, exist_ok=True)
            events.batch_started(len(todo))
            _dispatch(todo, options, engine_options, events)
            # Jobs another process held: wait for it, then they are skipped (or ours to render).
            _dispatch([i for i in todo if i.record.status == "busy"], options, engine_options, events, wait=True)
    except KeyboardInterrupt:
        outcome.interrupted = True
        for r in records:
            if r.status == "planned":
                r.status, r.error = "interrupted", "batch stopped before this job ran"
        remove_partial_files(runnable)
    outcome.seconds = time.perf_counter() - start
    if "preflight" in phases and not options.dry_run:
        phases["render"] = outcome.seconds - phases["plan"] - phases["preflight"]
    return outcome


def remove_partial_files(jobs: list[ResolvedJob]) -> None:
    """After an interruption: delete temp videos no live process is writing.

    Writers delete their own temp files on the way out; this catches one whose process
    was killed first. A job whose lock someone holds is left alone.
    """
    for item in jobs:
        tmp = temp_path_for(item.job.output)
        if item.record.status == "done" or not tmp.exists():
            continue
        try:
            with job_lock(item.job.output):
                tmp.unlink(missing_ok=True)
        except (JobBusy, OSError):
            pass


def _dispatch(todo: list[ResolvedJob], options: BatchOptions, engine_options: EngineOptions, events: BatchEvents,
              wait: bool = False) -> None:
    if not todo:
        return
    if options.executor == "ray":
        _run_ray(todo, engine_options, options, events, wait)
    elif options.workers == 1 or len(todo) == 1:
        _run_serial(todo, engine_options, events, wait)
    elif _in_threads(options, engine_options):
        _run_threads(todo, engine_options, min(options.workers, len(todo)), events, wait)
    else:
        _run_pool(todo, engine_options, min(options.workers, len(todo)), events, wait)


def _in_threads(options: BatchOptions, engine_options: EngineOptions) -> bool:
    """Threads on a GPU: one CUDA context, one copy of the models, and the jobs' windows
    batched into each forward. Processes on a CPU: no GIL between the jobs' Python parts."""
    if options.pool != "auto":
        return options.pool == "threads"
    return resolve_device(engine_options.device) != "cpu"
