"""Optional Whisper encoder embeddings from a LOCAL openai-whisper checkpoint.

Model names ("tiny", "base") make whisper download weights, which fails offline, so only
a file path is accepted and it is passed on as an absolute path (never a model name).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
import whisper

from ..errors import MissingDependency, ModelLoadError
from .types import SAMPLE_RATE, Audio

ENCODER_HZ = 50  # Whisper's encoder: 100 mel frames/s, halved by its stride-2 convolution
SAMPLES_PER_STATE = SAMPLE_RATE // ENCODER_HZ  # 320
CHUNK_SAMPLES = whisper.audio.N_SAMPLES  # the encoder only accepts exactly 30 s windows
_BATCH = 2  # 30 s windows per forward: bounds memory on long clips

_HINT = "give the path of an openai-whisper .pt checkpoint (e.g. tiny.pt) copied to this machine"


def _load(path: Path, device: str | torch.device) -> whisper.model.Whisper:
    if not path.is_file():
        raise MissingDependency("Whisper checkpoint not found", path=path, hint=_HINT)
    try:
        return whisper.load_model(str(path.resolve()), device=device)
    except (RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"not an openai-whisper checkpoint ({first[:200]})", path=path, hint=_HINT
        ) from None


class WhisperEncoder:
    """Whisper's audio encoder as a feature extractor: ``encode(audio) -> (N, E)`` at 50 Hz."""

    def __init__(self, checkpoint: str | Path, device: str | torch.device = "cpu"):
        self.checkpoint = Path(checkpoint)
        model = _load(self.checkpoint, device)
        # Only the encoder is used: drop the text decoder's memory.
        self.encoder = model.encoder.eval()
        self.n_mels = model.dims.n_mels
        self.width = model.dims.n_audio_state
        self.device = next(self.encoder.parameters()).device
        del model

    def _windows(self, samples: np.ndarray) -> list[torch.Tensor]:
        """(n_mels, 3000) log-mel of each 30 s window, zero-padded like whisper's transcribe."""
        mels = []
        for start in range(0, max(len(samples), 1), CHUNK_SAMPLES):
            chunk = torch.from_numpy(np.ascontiguousarray(samples[start : start + CHUNK_SAMPLES]))
            chunk = whisper.pad_or_trim(chunk, CHUNK_SAMPLES)
            mels.append(whisper.log_mel_spectrogram(chunk, self.n_mels))
        return mels

    @torch.inference_mode()
    def encode(self, audio: Audio) -> np.ndarray:
        """(N, E) float32 encoder states at 50 Hz, N = ceil(samples / 320): only real audio."""
        if audio.sample_rate != SAMPLE_RATE:
            raise ValueError(f"Whisper needs {SAMPLE_RATE} Hz audio, got {audio.sample_rate} Hz")
        mels = self._windows(audio.samples)
        states = []
        for i in range(0, len(mels), _BATCH):
            batch = torch.stack(mels[i : i + _BATCH]).to(self.device)  # (B, n_mels, 3000)
            out = self.encoder(batch)  # (B, 1500, E)
            states.extend(out.float().cpu().numpy())
        n_states = -(-len(audio.samples) // SAMPLES_PER_STATE)
        # Windows after the first are zero-padded at the end: keep states that cover audio.
        return np.concatenate(states, axis=0)[:n_states].astype(np.float32)
