"""The batch executor contract: one registration adds an executor to `moda batch`, and an
interruption is handled once around whichever executor runs (the executor itself only
stops its own workers)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from typing import Any

import pytest
from _media import FAST, job_folder
from typer.testing import CliRunner

import moda_cli.cli
from moda_cli.batch.execute import execute_job
from moda_cli.batch.executors import (
    EXECUTORS,
    ExecutorContext,
    ExecutorFactory,
    OnDone,
    run_on,
)
from moda_cli.batch.executors.base import run_futures
from moda_cli.batch.jobs import BatchEvents, JobRecord, ResolvedJob


class InlineExecutor:
    """Every job in turn in this thread, no progress shown: the smallest executor."""

    runs: list[list[str]] = []  # the job names of each run, for the test to read

    def __init__(self, context: ExecutorContext):
        self.engine_options = context.engine_options

    def run(self, jobs: Sequence[ResolvedJob], on_done: OnDone) -> None:
        self.runs.append([job.record.name for job in jobs])
        for job in jobs:
            on_done(job, execute_job(job, self.engine_options))


class StopsAfterOne(InlineExecutor):
    """Renders the first job, then Ctrl-C arrives; it has no interrupt handling of its own."""

    def run(self, jobs: Sequence[ResolvedJob], on_done: OnDone) -> None:
        on_done(jobs[0], execute_job(jobs[0], self.engine_options))
        raise KeyboardInterrupt


@contextlib.contextmanager
def cli_with(name: str, executor: ExecutorFactory) -> Iterator[Any]:
    """The CLI built with ``executor`` registered as ``name``: one registration."""
    EXECUTORS.register(name, executor)
    try:
        yield moda_cli.cli.rebuild()  # Typer reads the choices as the CLI builds
    finally:
        EXECUTORS.unregister(name)
        moda_cli.cli.rebuild()


def _batch(app: Any, *args: object) -> Any:
    return CliRunner().invoke(app, ["batch", *map(str, args)], catch_exceptions=False)


def test_a_registered_executor_is_listed_and_renders_a_batch(tmp_path, small_portrait):
    src, out = job_folder(tmp_path / "in", small_portrait, 2, 0.4, 160.0, 30.0), tmp_path / "out"
    InlineExecutor.runs.clear()
    with cli_with("inline", InlineExecutor) as app:
        assert "local|ray|inline" in CliRunner().invoke(app, ["batch", "--help"]).output
        result = _batch(app, src, "-o", out, "-q", "--executor", "inline", *FAST)
        report = json.loads((out / "report.json").read_text())
        again = _batch(app, src, "-o", out, "-q", "--executor", "inline", *FAST)
    assert result.exit_code == 0, result.output
    assert InlineExecutor.runs == [["p0", "p1"]]
    assert report["settings"]["executor"] == "inline"
    assert [(j["status"], j["worker"]) for j in report["jobs"]] == [("done", os.getpid())] * 2
    assert all((out / f"p{i}__p{i}.mp4.moda.json").is_file() for i in range(2))
    assert again.exit_code == 0 and InlineExecutor.runs == [["p0", "p1"]]  # all skipped


def test_an_interrupt_is_handled_around_any_executor(tmp_path, small_portrait):
    src, out = job_folder(tmp_path / "in", small_portrait, 3, 0.4, 160.0, 30.0), tmp_path / "out"
    with cli_with("stops-after-one", StopsAfterOne) as app:
        result = _batch(app, src, "-o", out, "--executor", "stops-after-one", *FAST)
    assert result.exit_code == 130, result.output
    jobs = json.loads((out / "report.json").read_text())["jobs"]
    assert [j["status"] for j in jobs] == ["done", "interrupted", "interrupted"], jobs[0]["error"]
    assert sorted(p.name for p in out.iterdir()) == [
        "p0__p0.mp4",
        "p0__p0.mp4.moda.json",
        "report.json",
    ]


def test_an_unknown_executor_is_a_usage_error_naming_the_choices(tmp_path):
    result = CliRunner().invoke(
        moda_cli.cli.app,
        ["batch", str(tmp_path), "-o", str(tmp_path / "o"), "--executor", "inline"],
    )
    assert result.exit_code == 2 and "--executor" in result.output
    assert "'inline' is not one of 'local'," in result.output
    assert EXECUTORS.names() == ("local", "ray")  # the toys are gone


# -- the contract without rendering --------------------------------------------------------


def _jobs(*names: str) -> list[ResolvedJob]:
    """Jobs as an executor sees them; these never render, so they need no ``Job``."""
    return [ResolvedJob(None, JobRecord(n, None, None, None, "planned"), False) for n in names]


class Finished(BatchEvents):
    def __init__(self) -> None:
        self.names: list[str] = []

    def job_finished(self, record: JobRecord) -> None:
        self.names.append(record.name)


def test_run_on_settles_records_from_other_processes_and_lost_workers():
    a, b, c = _jobs("a", "b", "c")

    class Remote:
        def run(self, jobs: Sequence[ResolvedJob], on_done: OnDone) -> None:
            copy = JobRecord("a", None, None, None, "done", frames=12)  # unpickled from a worker
            on_done(a, copy)
            on_done(b, MemoryError("killed"))
            raise KeyboardInterrupt

    events = Finished()
    with pytest.raises(KeyboardInterrupt):
        run_on(Remote(), [a, b, c], events)
    assert (a.record.status, a.record.frames) == ("done", 12)
    assert (b.record.status, b.record.error) == ("failed", "worker failed: MemoryError: killed")
    assert (c.record.status, c.record.error) == (
        "interrupted",
        "stopped before the video was complete",
    )
    assert events.names == ["a", "b"]


def test_run_futures_stops_the_workers_and_still_reports_the_jobs_that_ended():
    jobs = _jobs("a", "b", "c")
    futures: dict[str, Future[JobRecord]] = {j.record.name: Future() for j in jobs}
    for name in ("a", "b"):
        futures[name].set_result(JobRecord(name, None, None, None, "done"))
    reported: list[str] = []
    stopped: list[bool] = []

    def on_done(job: ResolvedJob, final: JobRecord | BaseException) -> None:
        reported.append(job.record.name)
        if len(reported) == 1:
            raise KeyboardInterrupt  # Ctrl-C while the first ended job is shown

    def stop() -> None:
        stopped.append(True)
        futures["c"].cancel()

    with pytest.raises(KeyboardInterrupt):
        run_futures(jobs, lambda job: futures[job.record.name], on_done, stop)
    assert stopped == [True] and sorted(reported) == ["a", "b"]
