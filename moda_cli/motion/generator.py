"""The one interface every motion generator implements (learned model, baseline)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..audio.types import AudioFeatures
from ..facemodel.params import NUM_PARAMS, MotionSeq
from .settings import MotionSettings

# Called with (done, total) as work advances: frames sampled, clips or videos made into a
# dataset (motion.train).
ProgressFn = Callable[[int, int], None]


@dataclass
class GivenMotion:
    """Motion channels taken as given per frame instead of sampled (a pose reference, a
    dubbed video's own head): the generator samples the rest coherent with them.

    values: (T, D) float32 in the joint space (``params.py``) for the request's T frames,
            NaN where the generator samples.
    """

    values: np.ndarray

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, np.float32)
        if self.values.ndim != 2 or self.values.shape[1] != NUM_PARAMS:
            raise ValueError(f"given motion must be (T, {NUM_PARAMS}), got {self.values.shape}")

    @property
    def mask(self) -> np.ndarray:
        """(T, D) bool: True where a value is given."""
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
        """The same rows as ``generate``, in order, as (n, NUM_PARAMS) chunks as soon as
        each is final.

        Rendering can start on the first chunk while later ones are still being sampled.
        """
        ...
