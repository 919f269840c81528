"""Frame-aligned audio features: Whisper's log-mel (no weights needed) and a loudness envelope.

Importing ``whisper`` runs its package ``__init__``, which loads the whole model, the
decoder and numba (about a second, and ~100 MB); the features need only its mel filter
bank, a data file. So the log-mel is computed here with the same torch operations
(bit-identical to ``whisper.log_mel_spectrogram``), in blocks so that its memory does not
grow with the length of the audio, and torch is imported only when a log-mel is made.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from .types import MEL_HOP_S, MEL_PER_FRAME, N_MELS, Audio, AudioFeatures

N_FFT = 400  # Whisper's STFT: 25 ms Hann window, 10 ms hop at 16 kHz
HOP_LENGTH = 160
MEL_BLOCK = (
    1000  # STFT frames per block (10 s): bounds the complex STFT to ~2 MB and the heap's growth
)
ENVELOPE_BLOCK = 3000  # hops per block of the loudness envelope (30 s: a 4 MB float64 block)


def num_video_frames(duration_s: float, fps: float) -> int:
    """Frames that cover the audio: the video's duration equals the audio's within one frame."""
    return max(1, int(round(duration_s * fps)))


def _resample_rows(
    rows: np.ndarray, hop_s: float, times_s: np.ndarray, block: int = 1500
) -> np.ndarray:
    """Linear interpolation of (N, C) rows sampled every hop_s (row i at its centre) at times_s.

    Computed ``block`` leading entries of ``times_s`` at a time into one output array, so the
    temporaries stay small however long the clip (each is the output's size otherwise).
    """
    pos = np.clip(times_s / hop_s - 0.5, 0.0, len(rows) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(rows) - 1)
    w = (pos - lo)[..., None].astype(np.float32)
    out_dtype = np.result_type(rows.dtype, w.dtype)
    out = np.empty((*times_s.shape, *rows.shape[1:]), out_dtype)
    for a in range(0, len(times_s), block):
        b = a + block
        out[a:b] = rows[lo[a:b]] * (1.0 - w[a:b]) + rows[hi[a:b]] * w[a:b]
    return out


@lru_cache(maxsize=2)
def mel_filters(n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, N_FFT // 2 + 1) float32: the filter bank shipped inside openai-whisper."""
    spec = importlib.util.find_spec("whisper")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("openai-whisper is not installed (its mel filter bank is needed)")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "mel_filters.npz"
    with np.load(path, allow_pickle=False) as f:
        return np.ascontiguousarray(f[f"mel_{n_mels}"])


def _reflect_padded(x: np.ndarray, start: int, stop: int, pad: int) -> np.ndarray:
    """``padded[start:stop]`` of x reflect-padded by ``pad`` on both sides (as torch's
    "reflect": the edge sample is not repeated), without building the padded signal."""
    if start >= pad and stop - pad <= len(x):
        return x[start - pad : stop - pad]  # no edge inside: a view
    idx = np.abs(np.arange(start - pad, stop - pad))  # left edge: x[-i] for i < 0
    last = len(x) - 1
    idx = np.where(idx > last, 2 * last - idx, idx)  # right edge
    return x[idx]


def log_mel(audio: Audio, block: int = MEL_BLOCK) -> np.ndarray:
    """(N_mel, 80) float32 Whisper log-mel at 100 frames per second.

    Same result as ``whisper.log_mel_spectrogram`` (centred STFT with reflect padding,
    power, mel, log10, 8-decade floor below the peak, scaled), computed ``block`` STFT
    frames at a time: each frame's FFT and mel product does not depend on its neighbours,
    and only the (N_mel, 80) result, never the whole complex STFT, is held.
    """
    import torch

    samples = np.asarray(audio.samples, dtype=np.float32)
    n = samples.shape[0]
    pad = N_FFT // 2
    if n <= pad:
        raise ValueError(f"audio too short for a log-mel: {n} samples")
    num = n // HOP_LENGTH + 1  # torch.stft(center=True) frame count; the last is dropped
    window = torch.hann_window(N_FFT)
    filters = torch.from_numpy(mel_filters(N_MELS))
    out = torch.empty((num - 1, N_MELS), dtype=torch.float32)  # (N_mel, 80), filled per block
    for a in range(0, num - 1, block):
        b = min(a + block, num - 1)
        chunk = torch.from_numpy(
            _reflect_padded(samples, a * HOP_LENGTH, (b - 1) * HOP_LENGTH + N_FFT, pad)
        )
        stft = torch.stft(
            chunk, N_FFT, HOP_LENGTH, window=window, center=False, return_complex=True
        )
        out[a:b] = torch.clamp(filters @ (stft.abs() ** 2), min=1e-10).log10().T
    # In place (same arithmetic): floor 8 decades below the peak, then Whisper's scaling.
    out.clamp_(min=float(out.max()) - 8.0).add_(4.0).div_(4.0)
    return out.numpy()


def loudness_envelope(audio: Audio, hop_s: float = MEL_HOP_S) -> np.ndarray:
    """(N_hop,) float32 loudness in 0..1 per hop: 0 at the clip's noise floor, 1 at loud speech.

    Both ends come from the clip's own level distribution, so the envelope does not depend
    on recording gain; a 40 ms moving average removes pitch-period ripple.
    """
    hop = int(round(hop_s * audio.sample_rate))
    n = max(1, len(audio.samples) // hop)
    frames = (
        audio.samples[: n * hop].reshape(n, hop)
        if len(audio.samples) >= hop
        else audio.samples[None]
    )
    # Rows in blocks: a float64 copy of a whole 10-minute clip would be 77 MB.
    power = np.concatenate(
        [
            np.mean(frames[i : i + ENVELOPE_BLOCK].astype(np.float64) ** 2, axis=1)
            for i in range(0, len(frames), ENVELOPE_BLOCK)
        ]
    )
    db = 10.0 * np.log10(power + 1e-10)
    floor = np.percentile(db, 10)
    loud = np.percentile(db, 95)
    # A floor below loud-60 dB is digital silence; measure speech against a sane range.
    floor = max(floor, loud - 60.0)
    env = np.clip((db - floor - 6.0) / max(loud - floor - 6.0, 6.0), 0.0, 1.0)
    kernel = np.ones(4) / 4.0
    return np.convolve(env, kernel, mode="same").astype(np.float32)


def compute_features(
    audio: Audio, fps: float, embedding: np.ndarray | None = None
) -> AudioFeatures:
    """Align log-mel sub-frames and the envelope to ``fps`` video frames.

    ``embedding`` (N_enc, E) at 50 Hz (Whisper encoder rate) is resampled to (T, E) too.
    """
    num_frames = num_video_frames(audio.duration_s, fps)
    mel = log_mel(audio)
    sub_t = (
        np.arange(num_frames)[:, None] + (np.arange(MEL_PER_FRAME)[None] + 0.5) / MEL_PER_FRAME
    ) / fps
    mel_frames = _resample_rows(mel, MEL_HOP_S, sub_t)  # (T, K, 80)
    env = loudness_envelope(audio)
    frame_t = (np.arange(num_frames) + 0.5) / fps
    envelope = _resample_rows(env[:, None], MEL_HOP_S, frame_t)[:, 0]
    emb = None
    if embedding is not None:
        emb = _resample_rows(embedding.astype(np.float32), 0.02, frame_t).astype(np.float32)
    return AudioFeatures(
        mel=mel_frames.astype(np.float32, copy=False),
        envelope=envelope.astype(np.float32),
        fps=fps,
        duration_s=audio.duration_s,
        embedding=emb,
    )
