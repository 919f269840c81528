"""Audio augmentation, so the model learns speech and not espeak's clean timbre.

Each function takes and returns (N,) float32 samples at 16 kHz; randomness comes only from
the Generator passed in. ``augment`` applies a random chain with the probabilities of an
``AugmentConfig``. Pitch and speaking rate are varied at synthesis (espeak parameters),
and pauses are inserted when clips are assembled (``silence``), not here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

from ...audio.types import SAMPLE_RATE


@dataclass(frozen=True)
class AugmentConfig:
    p_noise: float = 0.5
    snr_db: tuple[float, float] = (5.0, 35.0)
    p_reverb: float = 0.3
    rt60_s: tuple[float, float] = (0.15, 0.7)
    p_phone: float = 0.15  # 300-3400 Hz band (telephone)
    p_8k: float = 0.15  # down to 8 kHz and back (codec-like loss of highs)
    gain_db: tuple[float, float] = (-18.0, 6.0)  # always applied; peaks over 1 clip


def silence(seconds: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    return np.zeros(max(0, int(round(seconds * sample_rate))), np.float32)


def _power(x: np.ndarray) -> float:
    """Mean power of the louder half of 20 ms frames: speech power, ignoring pauses."""
    hop = SAMPLE_RATE // 50
    n = len(x) // hop
    if n == 0:
        return float(np.mean(x**2) + 1e-12)
    frames = np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1)
    return float(np.mean(np.sort(frames)[n // 2 :]) + 1e-12)


def add_noise(
    x: np.ndarray, snr_db: float, rng: np.random.Generator, colour: float = 0.0
) -> np.ndarray:
    """Stationary noise at ``snr_db`` below the speech; colour 0 = white, 1 = pink-ish,
    2 = brown-ish."""
    noise = rng.standard_normal(len(x))
    if colour > 0:
        spec = np.fft.rfft(noise)
        f = np.maximum(np.fft.rfftfreq(len(x), 1.0 / SAMPLE_RATE), 20.0)
        noise = np.fft.irfft(spec / f ** (colour / 2.0), n=len(x))
    noise *= np.sqrt(_power(x) / (np.mean(noise**2) + 1e-12) / 10 ** (snr_db / 10.0))
    return (x + noise).astype(np.float32)


def reverb(x: np.ndarray, rt60_s: float, rng: np.random.Generator, wet: float = 0.5) -> np.ndarray:
    """Convolve with a synthetic room: direct path plus exponentially decaying noise
    (-60 dB after rt60_s), mixed at ``wet``; level matched to the input."""
    n = int(rt60_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.91 * t / rt60_s)
    tail[: int(0.003 * SAMPLE_RATE)] = 0.0  # first reflections arrive a few ms late
    tail /= np.sqrt(np.sum(tail**2)) + 1e-12
    ir = np.concatenate([[1.0 - wet], wet * tail])
    y = fftconvolve(x, ir)[: len(x)]
    return (y * np.sqrt(_power(x) / _power(y))).astype(np.float32)


def set_gain(x: np.ndarray, gain_db: float) -> np.ndarray:
    """Scale the level; anything beyond full scale clips, as a hot recording would."""
    return np.clip(x * 10 ** (gain_db / 20.0), -1.0, 1.0).astype(np.float32)


def telephone(x: np.ndarray, low_hz: float = 300.0, high_hz: float = 3400.0) -> np.ndarray:
    sos = butter(4, [low_hz, high_hz], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return sosfilt(sos, x).astype(np.float32)


def via_8k(x: np.ndarray) -> np.ndarray:
    """Down to 8 kHz and back up: everything above 4 kHz is lost."""
    return resample_poly(resample_poly(x, 1, 2), 2, 1)[: len(x)].astype(np.float32)


def augment(
    x: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig()
) -> np.ndarray:
    """A random chain: room, channel (phone / 8 kHz), noise, then level. Draw order is fixed."""
    draws = rng.random(4)
    if draws[0] < cfg.p_reverb:
        x = reverb(x, rng.uniform(*cfg.rt60_s), rng, wet=rng.uniform(0.2, 0.6))
    if draws[1] < cfg.p_phone:
        x = telephone(x)
    if draws[2] < cfg.p_8k:
        x = via_8k(x)
    if draws[3] < cfg.p_noise:
        x = add_noise(x, rng.uniform(*cfg.snr_db), rng, colour=float(rng.choice([0.0, 1.0, 2.0])))
    peak = float(np.max(np.abs(x))) + 1e-9
    x = x * (0.7 / peak)  # a common reference before the random level
    return set_gain(x, rng.uniform(*cfg.gain_db))
