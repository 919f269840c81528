"""From per-frame series to the report's figures: speech-aware mouth, lips, blinks, scene.

Speech and silence come from the audio's loudness envelope (``audio.features``: 0 at the
recording's noise floor, 1 at its loud speech), averaged over each video frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..audio.decode import load_audio
from ..audio.features import loudness_envelope
from ..audio.types import MEL_HOP_S
from .lips import delta_e76
from .measure import FrameSeries, References
from .report import BackgroundQC, BlinkQC, LipQC, MouthQC, Thresholds

SPEECH_LEVEL = 0.2  # loudness above which a frame is speech
SILENCE_GAP_S = 0.2  # silence: at least this far from any speech frame
MAX_LAG = 2  # frames the mouth may lead or trail the sound in the correlation (80 ms)
WIDEST = 95.0  # percentile of the gap above which an opening counts as one of the widest
SHUT = 0.5  # an eye is shut below this fraction of its open (median) opening
PAIRED = 1  # frames between the two eyes' closures that still make one blink


def frame_loudness(audio: str | Path, fps: float, num_frames: int) -> np.ndarray:
    """(T,) mean loudness (0..1) of the audio over each video frame's interval."""
    env = loudness_envelope(load_audio(audio)).astype(np.float64)
    edges = np.round(np.arange(num_frames + 1) / fps / MEL_HOP_S).astype(int).clip(0, len(env))
    sums = np.concatenate([[0.0], np.cumsum(env)])
    counts = np.maximum(np.diff(edges), 1)
    return (sums[edges[1:]] - sums[edges[:-1]]) / counts


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _best_r(gap: np.ndarray, loud: np.ndarray, mask: np.ndarray) -> float:
    """Largest Pearson r of gap[t] with loud[t + lag] over |lag| <= MAX_LAG, on ``mask``."""
    return max(_pearson(gap[mask], np.roll(loud, -lag)[mask]) for lag in range(-MAX_LAG, MAX_LAG + 1))


def mouth_qc(series: FrameSeries, loudness: np.ndarray | None) -> MouthQC:
    """Gap percentiles in speech (all frames without audio), and how it follows the sound."""
    face = series.detected
    if loudness is None:
        speech = face
        return MouthQC(_pct(series.gap[speech], 95), _pct(series.gap[speech], 50), int(speech.sum()))
    loud = loudness >= SPEECH_LEVEL
    speech = face & loud
    reach = max(1, round(SILENCE_GAP_S * series.fps))
    near = np.convolve(loud.astype(float), np.ones(2 * reach + 1), mode="same") > 0
    silence = face & ~near
    fps = max(1, round(series.fps))
    shifts = range(fps, len(series) - fps, max(1, len(series) // 50))  # at least 1 s away
    chance = [_best_r(series.gap, np.roll(loudness, s), speech) for s in shifts]
    mean_speech = float(np.mean(series.gap[speech])) if speech.any() else float("nan")
    ratio = float(np.mean(series.gap[silence])) / mean_speech if silence.any() else None
    return MouthQC(
        _pct(series.gap[speech], 95), _pct(series.gap[speech], 50), int(speech.sum()),
        corr=_best_r(series.gap, loudness, speech),
        corr_chance=float(np.percentile(chance, 95)) if chance else None,
        silence_ratio=ratio,
    )


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def lip_qc(series: FrameSeries, refs: References, thresholds: Thresholds) -> LipQC:
    face = series.detected
    de_up = delta_e76(series.lip_upper[face], refs.lips.upper)
    de_lo = delta_e76(series.lip_lower[face], refs.lips.lower)
    gap = series.gap[face]
    widest = gap >= np.percentile(gap, WIDEST) if len(gap) else gap.astype(bool)
    limit = thresholds.lip_delta_e_max
    return LipQC(
        held_upper=float(np.mean(de_up <= limit)) if len(de_up) else 0.0,
        held_lower=float(np.mean(de_lo <= limit)) if len(de_lo) else 0.0,
        delta_e_p95_upper=_pct(de_up[np.isfinite(de_up)], 95),
        delta_e_p95_lower=_pct(de_lo[np.isfinite(de_lo)], 95),
        dark_outside=float(np.nanmean(series.dark_outside[face][widest])) if widest.any() else 0.0,
        thickness_lower=_pct(series.lip_thickness[face][widest, 1], 50) / float(refs.lips.thickness[1]),
        reference=refs.lips_from,
    )


def shut_runs(opening: np.ndarray) -> np.ndarray:
    """(K, 2) [start, end) of the runs of frames where the eye is shut (NaN counts as open)."""
    shut = opening < SHUT * np.nanmedian(opening)  # NaN compares False
    edges = np.diff(np.concatenate([[0], shut.astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1)


def _together(run: np.ndarray, other: np.ndarray) -> bool:
    """Two [start, end) closures overlap, or are at most PAIRED frames apart."""
    return bool(other[0] <= run[1] - 1 + PAIRED and run[0] <= other[1] - 1 + PAIRED)


def blink_qc(series: FrameSeries) -> BlinkQC:
    """Blinks (both eyes shut together, within PAIRED frames) and winks (one eye alone)."""
    left, right = shut_runs(series.eye_left), shut_runs(series.eye_right)
    durations: list[int] = []
    free = list(range(len(right)))  # right-eye closures not yet paired
    for run in left:
        match = next((k for k in free if _together(run, right[k])), None)
        if match is not None:
            free.remove(match)
            durations.append(int(max(run[1], right[match][1]) - min(run[0], right[match][0])))
    winks = (len(left) - len(durations)) + len(free)
    minutes = len(series) / series.fps / 60.0
    return BlinkQC(len(durations) / minutes if minutes > 0 else 0.0, len(durations), winks, durations)


def background_qc(series: FrameSeries, refs: References) -> BackgroundQC | None:
    if series.scene_db is None or refs.scene is None or refs.still_db is None:
        return None
    mean_db = float(np.nanmean(series.scene_db))
    return BackgroundQC(round(mean_db, 3), round(float(np.nanmin(series.scene_db)), 3),
                        round(refs.still_db, 3), round(refs.still_db - mean_db, 3), round(refs.scene.area, 4))
