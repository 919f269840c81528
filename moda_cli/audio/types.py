"""Values the audio stage hands to the motion generator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000  # Whisper's rate; every decoder output is resampled to it
N_MELS = 80
MEL_HOP_S = 0.01  # Whisper's log-mel hop: 100 mel frames per second
MEL_PER_FRAME = 4  # mel sub-frames kept per video frame (exactly 4 at 25 fps)


@dataclass
class Audio:
    """Decoded speech: (N,) float32 mono samples in [-1, 1] at ``SAMPLE_RATE``."""

    samples: np.ndarray
    path: Path | None = None
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass
class AudioFeatures:
    """Audio features aligned to video frames.

    mel:       (T, MEL_PER_FRAME, N_MELS) float32 Whisper log-mel (its own scaling,
               roughly -1..1 relative to the clip's loudest frame), the sub-frames of
               video frame t sampled at times (t + (k + 0.5) / MEL_PER_FRAME) / fps.
    envelope:  (T,) float32 speech loudness in 0..1 (0 = silence floor, 1 = the clip's
               loud speech), smoothed over about 40 ms.
    embedding: (T, E) float32 Whisper encoder states when a local checkpoint was given,
               else None.
    fps:       video frame rate; T = round(duration_s * fps).
    """

    mel: np.ndarray
    envelope: np.ndarray
    fps: float
    duration_s: float
    embedding: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return int(self.mel.shape[0])
