"""The batch report: report.json (or JSONL), written atomically at the end of a run.

A report that cannot be written (no space, read-only) raises OutputError and leaves no
temp file; the CLI then says so and exits non-zero.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__
from ..atomic import atomic_write
from ..choices import ReportFormat
from ..errors import output_error
from .run import BatchOutcome


def summary(outcome: BatchOutcome) -> dict[str, Any]:
    done = [r for r in outcome.records if r.status == "done"]
    rtf = [r.realtime_factor for r in done if r.realtime_factor is not None]
    return {
        "jobs": len(outcome.records),
        "done": len(done),
        "skipped": outcome.count("skipped"),
        "failed": outcome.count("failed"),
        "busy": outcome.count("busy"),
        "interrupted": outcome.count("interrupted"),
        "planned": outcome.count("planned"),
        "unpaired": len(outcome.unpaired),
        "seconds": round(outcome.seconds, 2),
        "phase_seconds": {k: round(v, 2) for k, v in outcome.phase_seconds.items()},
        "qc_flagged": sum(1 for r in done if r.qc is not None and not r.qc["passed"]),
        "mean_realtime_factor": round(sum(rtf) / len(rtf), 4) if rtf else None,
        "exit_code": outcome.exit_code,
    }


def build_report(outcome: BatchOutcome, settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "moda_version": __version__,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "settings": settings,
        "summary": summary(outcome),
        "unpaired": outcome.unpaired,
        "jobs": [asdict(r) for r in outcome.records],
    }


def write_report(report: dict[str, Any], path: Path, fmt: ReportFormat) -> None:
    if fmt == "json":
        text = json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"
    else:
        head = {k: v for k, v in report.items() if k != "jobs"}
        rows = [{"type": "job", **job} for job in report["jobs"]] + [{"type": "summary", **head}]
        text = "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, path) from None
    atomic_write(path, text)
