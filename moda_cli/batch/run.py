"""Run a planned batch: resolve every job, preflight the pending ones, then render them
on the chosen executor (``executors``), and come back for the jobs another process held.

Ctrl-C or SIGTERM at any point ends the batch with ``interrupted`` set, the finished
jobs' records kept, and no partial file left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from ..atomic import temp_path_for
from ..errors import UsageError
from ..ffmpeg import ffmpeg_exe
from ..pipeline import EngineOptions
from .execute import process_engine
from .executors import EXECUTORS, ExecutorContext, run_on
from .jobs import BatchEvents, BatchOptions, JobRecord, ResolvedJob, Status, resolve
from .outputs import assign_outputs
from .preflight import preflight
from .spec import BatchPlan
from .state import JobBusy, job_lock


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


def run_batch(
    plan: BatchPlan,
    options: BatchOptions,
    engine_options: EngineOptions,
    events: BatchEvents | None = None,
) -> BatchOutcome:
    """Resolve, preflight and render every job of ``plan``; never raises for a job.

    Raises UsageError (before any work) for bad options, a bad template, two jobs
    writing one file or a wrong MODA_FFMPEG. Ctrl-C or SIGTERM ends with ``interrupted``
    set and no partial file.
    """
    events = events or BatchEvents()
    start = time.perf_counter()
    _check_options(options)
    ffmpeg_exe()  # a missing ffmpeg or a wrong MODA_FFMPEG stops the batch, not each job
    assign_outputs(
        plan,
        options.out_dir,
        options.template,
        preset=options.preset,
        overrides=options.overrides,
        allow_outside=options.allow_outside_output,
    )
    models: dict[str, str] = {}
    items = [resolve(spec, options, engine_options, models) for spec in plan.jobs]
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
        for record in preflight(pending, process_engine(engine_options), events) if pending else []:
            events.job_finished(record)
        todo = [i for i in runnable if i.record.status == "planned"]
        phases["preflight"] = time.perf_counter() - start - phases["plan"]
        if not options.dry_run:
            options.out_dir.mkdir(parents=True, exist_ok=True)
            events.batch_started(len(todo))
            executor = EXECUTORS.get(options.executor)(
                ExecutorContext(options, engine_options, events)
            )
            run_on(executor, todo, events)
            # Jobs another process held: wait for it, then they are skipped (or ours to render).
            busy = [replace(i, wait=True) for i in todo if i.record.status == "busy"]
            run_on(executor, busy, events)
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


def _check_options(options: BatchOptions) -> None:
    if options.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {options.workers}")
    if options.executor not in EXECUTORS:
        raise UsageError(
            f"--executor {options.executor!r}: choose one of {', '.join(EXECUTORS.names())}"
        )


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
