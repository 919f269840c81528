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
CLOSING = 0.75  # ... and closing below this one: the other eye of a blink needs only that
PAIRED = 1  # frames around a closure where the other eye's closing counts as together
# An open eye's lid gap over its width: outside this range the mesh does not see the eye
# (turned away in a profile, foreshortened to nothing; or downcast, lids nearly shut).
OPEN_RANGE = (0.12, 0.6)


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
    return max(
        _pearson(gap[mask], np.roll(loud, -lag)[mask]) for lag in range(-MAX_LAG, MAX_LAG + 1)
    )


def mouth_qc(series: FrameSeries, loudness: np.ndarray | None) -> MouthQC:
    """Gap percentiles in speech (all frames without audio), and how it follows the sound."""
    face = series.detected
    if loudness is None:
        speech = face
        return MouthQC(
            _pct(series.gap[speech], 95), _pct(series.gap[speech], 50), int(speech.sum())
        )
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
        _pct(series.gap[speech], 95),
        _pct(series.gap[speech], 50),
        int(speech.sum()),
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
        thickness_lower=_pct(series.lip_thickness[face][widest, 1], 50)
        / float(refs.lips.thickness[1]),
        reference=refs.lips_from,
    )


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a (T,) bool mask, in order."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def eye_ratio(opening: np.ndarray) -> np.ndarray | None:
    """(T,) opening over the eye's median (its open state; NaN where no face), or None
    when the eye cannot be measured (median outside OPEN_RANGE)."""
    median = float(np.nanmedian(opening)) if np.isfinite(opening).any() else float("nan")
    if not OPEN_RANGE[0] <= median <= OPEN_RANGE[1]:
        return None
    return opening / median


def blink_qc(series: FrameSeries) -> BlinkQC:
    """Closures: runs where a measurable eye is shut (below SHUT of its median). With both
    eyes measurable, a closure is a blink when the other eye closes too (below CLOSING
    within PAIRED frames), else a wink; with one, every closure counts as a blink."""
    eyes = [r for r in (eye_ratio(series.eye_left), eye_ratio(series.eye_right)) if r is not None]
    if not eyes:
        return BlinkQC(None, 0, 0, eyes_measured=0)
    shut = np.logical_or.reduce([r < SHUT for r in eyes])  # NaN compares False
    durations, winks = [], 0
    for a, b in runs(shut):
        around = slice(max(0, a - PAIRED), b + PAIRED)
        if all(np.nanmin(r[around]) < CLOSING for r in eyes):
            durations.append(int(b - a))
        else:
            winks += 1
    minutes = len(series) / series.fps / 60.0
    rate = len(durations) / minutes if minutes > 0 else 0.0
    return BlinkQC(rate, len(durations), winks, durations, eyes_measured=len(eyes))


def background_qc(series: FrameSeries, refs: References) -> BackgroundQC | None:
    if series.scene_db is None or refs.scene is None or refs.still_db is None:
        return None
    mean_db = float(np.nanmean(series.scene_db))
    return BackgroundQC(
        round(mean_db, 3),
        round(float(np.nanmin(series.scene_db)), 3),
        round(refs.still_db, 3),
        round(refs.still_db - mean_db, 3),
        round(refs.scene.area, 4),
    )
