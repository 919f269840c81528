"""The one interface every motion generator implements (learned model, baseline)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..audio.types import AudioFeatures
from ..facemodel.core import NUM_CORE
from ..facemodel.params import MotionSeq
from .settings import MotionSettings

# Called with (done, total) as work advances: frames sampled, clips or videos made into a
# dataset (motion.train).
ProgressFn = Callable[[int, int], None]


@dataclass
class GivenMotion:
    """Motion channels taken as given per frame instead of sampled (a pose reference, a
    dubbed video's own head): the generator samples the rest coherent with them.

    values: (T, 17) float32 in the core channels the generators sample
            (``facemodel.core``) for the request's T frames, NaN where they sample.
    """

    values: np.ndarray

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, np.float32)
        if self.values.ndim != 2 or self.values.shape[1] != NUM_CORE:
            raise ValueError(f"given motion must be (T, {NUM_CORE}), got {self.values.shape}")

    @property
    def mask(self) -> np.ndarray:
        """(T, 17) bool: True where a value is given."""
        return np.isfinite(self.values)


@dataclass
class MotionRequest:
    """Everything a generator needs for one job.

    features: frame-aligned audio features (T frames).
    identity: (IDENTITY_DIM,) float32 descriptor from ``face.identity.identity_features``.
    settings: the preset's motion section (amplitudes, blink rate, steps, guidance, emotion).
    seed:     the same seed and inputs must give identical motion.
    given:    channels to keep as they are (``GivenMotion``, T rows); None samples all.
    """

    features: AudioFeatures
    identity: np.ndarray
    settings: MotionSettings
    seed: int
    given: GivenMotion | None = None


class MotionGenerator(Protocol):
    name: str

    def generate(self, request: MotionRequest, progress: ProgressFn | None = None) -> MotionSeq:
        """Return a MotionSeq with exactly ``request.features.num_frames`` rows."""
        ...

    def stream(
        self, request: MotionRequest, progress: ProgressFn | None = None
    ) -> Iterator[np.ndarray]:
        """The same rows as ``generate``, in order, as (n, 58) chunks of joint motion
        (``params.py``) as soon as each is final.

        Rendering can start on the first chunk while later ones are still being sampled.
        """
        ...
