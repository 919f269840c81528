"""Terminal output for the CLI: progress bars on a terminal, plain lines otherwise.

Names, paths and messages are printed literally: Rich would read ``[x]`` in a file name,
or ``moda-cli[ray]`` in a hint, as markup and drop it, so every such text is escaped
(``escape``, ``_cells``) or printed with ``markup=False``.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from .batch.jobs import BatchEvents, JobRecord, Status
from .batch.run import BatchOutcome

SUMMARY_ROWS = 30  # larger batches list only failed or warned jobs in the final table
_STAGE_LABEL = {
    "face": "finding the face",
    "audio": "reading audio",
    "motion": "sampling motion",
    "render": "rendering",
    "encode": "encoding",
}


def _cells(*texts: str) -> list[str]:
    """A table row shown as written (table cells are markup too)."""
    return [escape(t) for t in texts]


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


class JobBar:
    """One job's stages as a single bar; a no-op when disabled (pipes, --quiet)."""

    def __init__(self, enabled: bool, console: Console):
        self.enabled = enabled
        self.progress = _bar(console)
        self.task: TaskID | None = None

    def __enter__(self) -> JobBar:
        if self.enabled:
            self.progress.start()
            self.task = self.progress.add_task("starting", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.stop()

    def update(self, stage: str, done: int, total: int) -> None:
        if self.task is not None:
            self.progress.update(
                self.task, description=_STAGE_LABEL.get(stage, stage), completed=done, total=total
            )


class BatchDisplay(BatchEvents):
    """On a terminal: an overall bar plus the running job's bar in one Live group. Elsewhere
    (a pipe, a log file): one plain line per finished job. ``quiet`` keeps only failures."""

    def __init__(self, console: Console, live: bool, quiet: bool):
        self.console, self.live_enabled, self.quiet = console, live, quiet
        self.overall = _bar(console)
        self.current = _bar(console)
        self.overall_task: TaskID | None = None
        self.job_tasks: dict[str, TaskID] = {}
        self.rendering = False
        self.live = Live(Group(self.overall, self.current), console=console, transient=True)

    def __enter__(self) -> BatchDisplay:
        if self.live_enabled:
            self.overall_task = self.overall.add_task("checking inputs", total=None)
            self.live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live_enabled:
            self.live.stop()

    def checking(self, done: int, total: int) -> None:
        if self.overall_task is not None:
            self.overall.update(self.overall_task, completed=done, total=total)
        elif done == 1 and not self.quiet:
            self.console.print(f"checking the inputs of {total} job(s)", highlight=False)

    def batch_started(self, total: int) -> None:
        self.rendering = True
        if self.overall_task is not None:
            self.overall.update(self.overall_task, description="jobs", completed=0, total=total)
        elif not self.quiet:
            self.console.print(f"rendering {total} job(s)", highlight=False)

    def job_started(self, record: JobRecord) -> None:
        # Only jobs running in this process report stages; pool and Ray jobs just finish.
        if self.overall_task is not None:
            self.job_tasks[record.name] = self.current.add_task(escape(record.name), total=None)

    def job_progress(self, record: JobRecord, stage: str, done: int, total: int) -> None:
        task = self.job_tasks.get(record.name)
        if task is not None:
            label = escape(f"{record.name}: {_STAGE_LABEL.get(stage, stage)}")
            self.current.update(task, description=label, completed=done, total=total)

    def job_finished(self, record: JobRecord) -> None:
        task = self.job_tasks.pop(record.name, None)
        if task is not None:
            self.current.remove_task(task)
        if record.status == "busy":
            return  # another process has it; the batch comes back to it at the end
        if self.overall_task is not None and self.rendering:  # not for preflight failures
            self.overall.advance(self.overall_task)
        if record.status == "failed":
            self.console.print(
                f"[red]failed[/] {escape(f'{record.name}: {record.error}')}",
                highlight=False,
                soft_wrap=True,
            )
        elif not self.quiet:
            rtf = record.realtime_factor
            rtf_text = "" if rtf is None else f" realtime x{rtf:.2f}"
            self.console.print(
                f"{record.status:8} {record.name} -> {record.output}{rtf_text}",
                highlight=False,
                markup=False,
            )


def print_plan(console: Console, outcome: BatchOutcome) -> None:
    """The dry-run plan: every job with its output, preset, seed and estimated frames."""
    table = Table("job", "portrait", "audio", "output", "preset", "seed", "frames", "status")
    for r in outcome.records:
        preset = str((r.preset or {}).get("name", ""))
        seed_text, frames_text = ("" if v is None else str(v) for v in (r.seed, r.frames))
        status = r.status if not r.error else f"{r.status}: {r.error}"
        if console.is_terminal:
            table.add_row(
                *_cells(
                    r.name,
                    r.portrait or "",
                    r.audio or "",
                    r.output or "",
                    preset,
                    seed_text,
                    frames_text,
                    status,
                )
            )
        else:  # a pipe or a log: one whole line per job, never wrapped or cut
            console.print(
                f"{r.status:8} {r.name}: {r.portrait} + {r.audio} -> {r.output} "
                f"preset={preset} seed={seed_text} frames={frames_text}"
                + (f" ({r.error})" if r.error else ""),
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
    if table.rows:
        console.print(table)
    for path in outcome.unpaired:
        console.print(f"unpaired: {path}", highlight=False, markup=False)
    todo = [r for r in outcome.records if r.status == "planned"]
    frames = sum(r.frames or 0 for r in todo)
    seconds = sum(r.audio_seconds or 0.0 for r in todo)
    console.print(
        f"would render {len(todo)} job(s): {frames} frames, {seconds:.1f}s of video",
        highlight=False,
    )


def print_summary(console: Console, outcome: BatchOutcome, verbose: bool) -> None:
    if verbose:
        table = Table("job", "status", "frames", "realtime", "detail")
        rows = outcome.records
        if len(rows) > SUMMARY_ROWS:  # thousands of jobs: the lines above listed them all
            rows = [r for r in rows if r.status not in ("done", "skipped") or r.warnings]
        for r in rows:
            rtf = f"x{r.realtime_factor:.2f}" if r.realtime_factor is not None else ""
            table.add_row(
                *_cells(
                    r.name, r.status, str(r.frames or ""), rtf, r.error or "; ".join(r.warnings)
                )
            )
        if rows:
            console.print(table)
    statuses: tuple[Status, ...] = ("done", "skipped", "failed", "busy", "interrupted", "planned")
    parts = [f"{outcome.count(s)} {s}" for s in statuses if outcome.count(s)]
    if outcome.unpaired:
        parts.append(f"{len(outcome.unpaired)} unpaired file(s)")
    done = ", ".join(parts) or "nothing to do"
    console.print(f"{len(outcome.records)} jobs: {done} in {outcome.seconds:.1f}s", highlight=False)
