"""The names a user chooses between, each list written once.

The library's option types (``EngineOptions``, ``BatchOptions``, the preset schema) and the
CLI's Typer signatures both annotate with these, so the types, the checks and ``--help``
agree. Importing this module costs nothing: the CLI reads it before any model code loads.

Fixed lists are Literals. The extension points are registries (``registry.py``), each
filled where its implementations live: ``Annotated[str, REGISTRY]`` is checked by pydantic
against the names registered when a value is validated, and the CLI builds its Literals
from the same registries (``Registry.literal``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from .batch.executors import EXECUTORS
from .face.detectors import DETECTORS
from .motion.generators import GENERATORS
from .motion.solvers import SOLVERS
from .video.formats import OUTPUT_FORMATS

Device = Literal["auto", "cpu", "cuda"]
Detector = Annotated[str, DETECTORS]  # face box detectors
Generator = Annotated[str, GENERATORS]  # motion generators
Solver = Annotated[str, SOLVERS]  # flow-matching ODE solvers
VideoFormat = Annotated[str, OUTPUT_FORMATS]  # output codecs and containers
Pool = Literal["auto", "processes", "threads"]  # how local batch workers run
Executor = Annotated[str, EXECUTORS]  # where batch jobs run
ReportFormat = Literal["json", "jsonl"]
EvalSuite = Literal["espeak", "real", "both"]
Fit = Literal["audio", "video"]  # dubbing a video: whose length the output takes
KeepAudio = Literal["none", "mix"]  # dubbing a video: its own sound kept under the new
