"""The names a user chooses between, each list written once.

The library's option types (``EngineOptions``, ``BatchOptions``, the preset schema) and the
CLI's Typer signatures both annotate with these, so the types, the checks and ``--help``
agree. Importing this module costs nothing: the CLI reads it before any model code loads.
"""

from __future__ import annotations

from typing import Literal

Device = Literal["auto", "cpu", "cuda"]
Detector = Literal["mediapipe", "insightface"]
Generator = Literal["learned", "baseline"]
Pool = Literal["auto", "processes", "threads"]  # how local batch workers run
Executor = Literal["local", "ray"]
ReportFormat = Literal["json", "jsonl"]
EvalSuite = Literal["espeak", "real", "both"]
