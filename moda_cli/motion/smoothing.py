"""Smoothing motion over time (the pose after sampling, in every generator)."""

from __future__ import annotations

import numpy as np


def moving_average(x: np.ndarray, frames: int) -> np.ndarray:
    """Centred moving average over time of (T, C), edges padded by repetition (length kept).

    The pose is smoothed this way after sampling; ``frames`` is the preset's ``smoothing``.
    """
    if frames <= 1 or len(x) < 2:
        return x
    left = (frames - 1) // 2
    padded = np.concatenate([np.repeat(x[:1], left, 0), x, np.repeat(x[-1:], frames - 1 - left, 0)])
    csum = np.cumsum(np.concatenate([np.zeros_like(x[:1]), padded]), axis=0, dtype=np.float64)
    return ((csum[frames:] - csum[:-frames]) / frames).astype(np.float32)
