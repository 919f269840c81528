"""Frame-aligned audio features: Whisper's log-mel (no weights needed) and a loudness envelope."""

from __future__ import annotations

import numpy as np
import torch
import whisper

from .types import MEL_HOP_S, MEL_PER_FRAME, N_MELS, Audio, AudioFeatures


def num_video_frames(duration_s: float, fps: float) -> int:
    """Frames that cover the audio: the video's duration equals the audio's within one frame."""
    return max(1, int(round(duration_s * fps)))


def _resample_rows(rows: np.ndarray, hop_s: float, times_s: np.ndarray) -> np.ndarray:
    """Linear interpolation of (N, C) rows sampled every hop_s (row i at its centre) at times_s."""
    pos = np.clip(times_s / hop_s - 0.5, 0.0, len(rows) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(rows) - 1)
    w = (pos - lo)[..., None].astype(np.float32)
    return rows[lo] * (1.0 - w) + rows[hi] * w


def log_mel(audio: Audio) -> np.ndarray:
    """(N_mel, 80) float32 Whisper log-mel at 100 frames per second."""
    mel = whisper.log_mel_spectrogram(torch.from_numpy(np.ascontiguousarray(audio.samples)), N_MELS)
    return mel.T.numpy().astype(np.float32)


def loudness_envelope(audio: Audio, hop_s: float = MEL_HOP_S) -> np.ndarray:
    """(N_hop,) float32 loudness in 0..1 per hop: 0 at the clip's noise floor, 1 at loud speech.

    Both ends come from the clip's own level distribution, so the envelope does not depend
    on recording gain; a 40 ms moving average removes pitch-period ripple.
    """
    hop = int(round(hop_s * audio.sample_rate))
    n = max(1, len(audio.samples) // hop)
    frames = audio.samples[: n * hop].reshape(n, hop) if len(audio.samples) >= hop else audio.samples[None]
    db = 10.0 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-10)
    floor = np.percentile(db, 10)
    loud = np.percentile(db, 95)
    # A floor below loud-60 dB is digital silence; measure speech against a sane range.
    floor = max(floor, loud - 60.0)
    env = np.clip((db - floor - 6.0) / max(loud - floor - 6.0, 6.0), 0.0, 1.0)
    kernel = np.ones(4) / 4.0
    return np.convolve(env, kernel, mode="same").astype(np.float32)


def compute_features(audio: Audio, fps: float, embedding: np.ndarray | None = None) -> AudioFeatures:
    """Align log-mel sub-frames and the envelope to ``fps`` video frames.

    ``embedding`` (N_enc, E) at 50 Hz (Whisper encoder rate) is resampled to (T, E) too.
    """
    num_frames = num_video_frames(audio.duration_s, fps)
    mel = log_mel(audio)
    sub_t = (np.arange(num_frames)[:, None] + (np.arange(MEL_PER_FRAME)[None] + 0.5) / MEL_PER_FRAME) / fps
    mel_frames = _resample_rows(mel, MEL_HOP_S, sub_t)  # (T, K, 80)
    env = loudness_envelope(audio)
    frame_t = (np.arange(num_frames) + 0.5) / fps
    envelope = _resample_rows(env[:, None], MEL_HOP_S, frame_t)[:, 0]
    emb = None
    if embedding is not None:
        emb = _resample_rows(embedding.astype(np.float32), 0.02, frame_t).astype(np.float32)
    return AudioFeatures(
        mel=mel_frames.astype(np.float32),
        envelope=envelope.astype(np.float32),
        fps=fps,
        duration_s=audio.duration_s,
        embedding=emb,
    )
