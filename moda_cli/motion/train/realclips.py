"""Training speech from recorded prompts (``realspeech``), aligned (``align``).

A real clip is built like a synthetic one (``clip._speech``): prompts of one speaker
joined with pauses until the clip's target length, with their phoneme timings shifted to
the joined time. Only prompts on the *train* side of ``realspeech``'s split and with a
transcript are used; English is force-aligned by pocketsphinx, other languages by
espeak + DTW against the recording. Prompts that fail to align are left out (the same
ones every time: alignment is deterministic).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from ...audio.types import SAMPLE_RATE
from . import align, realspeech
from .augment import silence
from .speech import PhonemeEvent, SpeechClip


@cache
def train_prompts(source: str, folder: Path) -> tuple[realspeech.Prompt, ...]:
    """Prompts of ``source`` usable for training: train split, with a transcript."""
    return tuple(
        p for p in realspeech.prompts(source, folder) if p.split == "train" and p.text is not None
    )


@cache
def aligned(prompt: realspeech.Prompt) -> SpeechClip | None:
    """The prompt's samples and phoneme timings; None when it cannot be aligned."""
    samples = realspeech.decode(prompt)
    src = realspeech.SOURCES[prompt.source]
    try:
        if src.language == "en":
            return align.english_aligner().align(samples, prompt.text or "")
        return align.dtw_align(samples, prompt.text or "", src.voice)
    except align.AlignError:
        return None


def check_sources(sources: Sequence[str], folder: Path, download: bool = False) -> dict[str, int]:
    """Usable prompts per source; raises RealSpeechMissing (with the fix) when absent."""
    counts = {}
    for s in sources:
        realspeech.prompts(s, folder, download)  # unpacks, or fails naming the package
        counts[s] = len(train_prompts(s, Path(folder)))
        if counts[s] == 0:
            raise ValueError(f"real-speech source {s} has no training prompt with a transcript")
    return counts


def real_speech(
    sources: Sequence[str],
    folder: Path,
    target_s: float,
    pause_s: tuple[float, float],
    edge_s: tuple[float, float],
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[PhonemeEvent], dict]:
    """Prompts of one speaker with pauses: samples (N,), shifted phonemes, description."""
    source = str(rng.choice(list(sources)))
    pool = train_prompts(source, Path(folder))
    parts = [silence(rng.uniform(*edge_s))]
    t = len(parts[0]) / SAMPLE_RATE
    phonemes: list[PhonemeEvent] = []
    keys: list[str] = []
    for _ in range(8 * len(pool)):  # bounded: prompts that fail to align are drawn again
        if t >= target_s - edge_s[1] and keys:
            break
        clip = aligned(pool[int(rng.integers(len(pool)))])
        if clip is None:
            continue
        if keys:
            gap = silence(rng.uniform(*pause_s))
            parts.append(gap)
            t += len(gap) / SAMPLE_RATE
        phonemes += [PhonemeEvent(p.ipa, p.start_s + t, p.end_s + t) for p in clip.phonemes]
        parts.append(clip.samples)
        keys.append(clip.text)
        t += clip.duration_s
    parts.append(silence(rng.uniform(*edge_s)))
    src = realspeech.SOURCES[source]
    meta = {"language": src.language, "voice": source, "sentences": keys, "real": True}
    return np.concatenate(parts).astype(np.float32), phonemes, meta
