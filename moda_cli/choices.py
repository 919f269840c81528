"""The fixed choices that belong to no stage, each list written once.

The library's option types (``EngineOptions``, ``BatchOptions``, ``DubJob``) and the CLI's
Typer signatures both annotate with these, so the types, the checks and ``--help`` agree.
A stage's own choices live with it: the extension points are registries (``registry.py``)
filled where their implementations live, each with its ``Annotated[str, REGISTRY]`` type
beside it (``motion.solvers.Solver``, ``face.detectors.Detector``,
``batch.executors.ExecutorName``, ...).
"""

from __future__ import annotations

from typing import Literal

Device = Literal["auto", "cpu", "cuda"]
Pool = Literal["auto", "processes", "threads"]  # how local batch workers run
ReportFormat = Literal["json", "jsonl"]
EvalSuite = Literal["espeak", "real", "both"]
Fit = Literal["audio", "video"]  # dubbing a video: whose length the output takes
KeepAudio = Literal["none", "mix"]  # dubbing a video: its own sound kept under the new
