"""Voice perturbation of training speech: vocal-tract length, pitch and speaking rate.

espeak, flite and the recorded prompts are a handful of voices; the model must learn what
the mouth does, not what these voices sound like. Each perturbed clip gets three factors,
drawn log-uniformly:

* ``formant``: the spectral envelope (formants) scaled by the factor with the pitch kept:
  a longer or shorter vocal tract (VTLP; adult voices differ by about +-15 %);
* ``pitch``: f0 scaled with the formants kept;
* ``tempo``: speaking rate (duration divided by the factor) with pitch and formants kept;
  the phoneme events are rescaled with it, so the viseme targets stay on the sound.

Rubber Band (ffmpeg's ``rubberband`` filter, in imageio-ffmpeg's and Debian's ffmpeg)
changes tempo and pitch; its pitch shift moves the whole spectrum, formants too (its own
formant preservation moved a test vowel's envelope by a third of the pitch shift). The
formants are then put where ``formant`` says by ``warp_envelope``: each STFT frame's
cepstrally smoothed log spectrum (the envelope, below 2 ms of quefrency; pitch harmonics
lie above) is warped along frequency and the ratio of new to old envelope applied as a
gain, so the harmonics, their phases and the timing stay. The output starts with the
input (measured on recorded speech: within 10 ms). Training data only: inference never
perturbs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import istft, stft

from ...audio.types import SAMPLE_RATE
from ...ffmpeg import run_ffmpeg
from .speech import PhonemeEvent


@dataclass(frozen=True)
class VoicePerturbConfig:
    """Share of training clips perturbed, and the factors' ranges (log-uniform)."""

    p: float = 0.0  # 0: off (and left out of the recipe hash)
    formant: tuple[float, float] = (0.85, 1.18)
    pitch: tuple[float, float] = (0.75, 1.35)
    tempo: tuple[float, float] = (0.85, 1.2)


@dataclass(frozen=True)
class VoiceFactors:
    formant: float = 1.0
    pitch: float = 1.0
    tempo: float = 1.0


def draw_factors(cfg: VoicePerturbConfig, rng: np.random.Generator) -> VoiceFactors:
    """Three log-uniform factors; the draw order is fixed."""
    formant, pitch, tempo = (
        float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        for lo, hi in (cfg.formant, cfg.pitch, cfg.tempo)
    )
    return VoiceFactors(formant, pitch, tempo)


def tempo_and_pitch(samples: np.ndarray, tempo: float, pitch: float) -> np.ndarray:
    """Rubber Band: duration / ``tempo``, the whole spectrum (f0 and formants) * ``pitch``."""
    raw = np.ascontiguousarray(samples, dtype="<f4").tobytes()
    rate = str(SAMPLE_RATE)
    chain = f"rubberband=tempo={tempo:.6f}:pitch={pitch:.6f}"
    out = run_ffmpeg(
        [
            "-f",
            "f32le",
            "-ar",
            rate,
            "-ac",
            "1",
            "-i",
            "pipe:0",
            "-af",
            chain,
            "-f",
            "f32le",
            "-ar",
            rate,
            "pipe:1",
        ],
        input=raw,
    )
    return np.frombuffer(out, dtype="<f4").astype(np.float32)


N_FFT, HOP = 1024, 256  # 64 ms frames: harmonics of f0 >= 60 Hz resolved
LIFTER = 32  # quefrency bins (2 ms) kept as the envelope: below the period of f0 <= 500 Hz
GAIN_LIMITS = (np.log(0.01), np.log(10.0))  # -40..+20 dB: no floor bin blown up


def warp_envelope(samples: np.ndarray, ratio: float) -> np.ndarray:
    """(N,) -> (N,): the spectral envelope scaled along frequency by ``ratio`` (formants at
    f -> f * ratio), harmonics and phases kept (see the module doc)."""
    _, _, z = stft(samples, nperseg=N_FFT, noverlap=N_FFT - HOP)  # (F, T) complex
    log_mag = np.log(np.abs(z) + 1e-7)
    cep = np.fft.irfft(log_mag, axis=0)  # (N_FFT, T)
    cep[LIFTER : N_FFT - LIFTER + 1] = 0.0
    env = np.fft.rfft(cep, axis=0).real  # (F, T) smoothed log magnitude
    src = np.minimum(np.arange(env.shape[0]) / ratio, env.shape[0] - 1.0)  # bin k <- k / ratio
    lo = np.minimum(src.astype(np.int64), env.shape[0] - 2)
    w = (src - lo)[:, None]
    warped = env[lo] * (1.0 - w) + env[lo + 1] * w
    z = z * np.exp(np.clip(warped - env, *GAIN_LIMITS))
    _, y = istft(z, nperseg=N_FFT, noverlap=N_FFT - HOP)
    return y[: len(samples)].astype(np.float32)


def perturb_voice(samples: np.ndarray, f: VoiceFactors) -> np.ndarray:
    """(N,) float32 at 16 kHz -> (about N / f.tempo,) float32: the same speech, another voice."""
    y = tempo_and_pitch(samples, f.tempo, f.pitch)
    if abs(f.formant / f.pitch - 1.0) > 1e-3:
        y = warp_envelope(y, f.formant / f.pitch)
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def rescale_events(phonemes: Sequence[PhonemeEvent], tempo: float) -> list[PhonemeEvent]:
    """Phoneme times after a tempo change by ``tempo`` (faster > 1: earlier)."""
    return [PhonemeEvent(p.ipa, p.start_s / tempo, p.end_s / tempo) for p in phonemes]


def maybe_perturb(
    samples: np.ndarray,
    phonemes: Sequence[PhonemeEvent],
    cfg: VoicePerturbConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[PhonemeEvent], dict]:
    """With probability ``cfg.p``: the perturbed samples, rescaled phonemes and the factors
    (for the clip's description); else the inputs unchanged and an empty dict."""
    if cfg.p <= 0.0 or rng.random() >= cfg.p:
        return samples, list(phonemes), {}
    f = draw_factors(cfg, rng)
    meta = {
        "formant": round(f.formant, 4),
        "pitch_factor": round(f.pitch, 4),
        "tempo": round(f.tempo, 4),
    }
    return perturb_voice(samples, f), rescale_events(phonemes, f.tempo), meta
