"""Motion generators by name: the learned model and the baseline.

A generator is a factory ``(GeneratorSetup) -> MotionGenerator`` registered in
``GENERATORS``; ``motion.generator`` in the presets and ``--generator`` choose among the
names. Each factory imports its generator when it is used, so listing the names loads
no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from ..registry import Registry

if TYPE_CHECKING:
    from .generator import MotionGenerator


@dataclass(frozen=True)
class GeneratorSetup:
    """What the engine builds a generator from, once per engine."""

    checkpoint: Path | None  # model weights (None: the packaged ones)
    device: str  # a resolved torch device: "cpu", "cuda"
    concurrent_jobs: int = 1  # threads that may stream from the generator at once


GeneratorFactory = Callable[[GeneratorSetup], "MotionGenerator"]
GENERATORS: Registry[GeneratorFactory] = Registry("generator")
Generator = Annotated[str, GENERATORS]  # a generator's name (``motion.generator``)


@GENERATORS.decorator("learned")
def _learned(setup: GeneratorSetup) -> MotionGenerator:
    from .batching import WindowBatcher
    from .generate import LearnedGenerator

    # Concurrent jobs sample their windows together in one batch (``batching.py``).
    jobs = setup.concurrent_jobs
    batcher = WindowBatcher(max_batch=jobs) if jobs > 1 else None
    return LearnedGenerator(setup.checkpoint, setup.device, batcher=batcher)


@GENERATORS.decorator("baseline")
def _baseline(setup: GeneratorSetup) -> MotionGenerator:
    from .baseline import BaselineGenerator

    return BaselineGenerator()
