"""Numbers shared by training and inference: motion normalisation, intensity statistics,
and silence features for padding.

Intensity statistics (the IF-MDM idea: motion statistics as a condition) are measured on
a motion window itself, so at training time they describe the target and at inference a
preset can ask for a calmer or livelier window than the data's typical one:

    0  head-rotation spread: mean over pitch/yaw/roll of the std in degrees
    1  expression spread:    mean over the brow, smile and frown shapes of the std
    2  blink rate:           blinks per minute (closings of the more-closed eye past 0.5)

The model sees them as ``(log(stat + eps) - centre) / spread`` with centre and spread
taken from the training windows and stored in the checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..facemodel.params import ROTATION_SLICE, indices

STAT_NAMES = ("head_rotation_std_deg", "expression_std", "blinks_per_minute")
# The joint columns each statistic reads (also what a given channel must cover to be
# measured instead of asked for, ``generate.given_intensity``): the shapes of the core's
# brow_raise, brow_furrow, smile and frown (``core.LINKS``), and the two blinks.
EXPRESSION_COLS = indices(
    (
        "browInnerUp",
        "browOuterUpLeft",
        "browOuterUpRight",
        "browDownLeft",
        "browDownRight",
        "mouthSmileLeft",
        "mouthSmileRight",
        "mouthFrownLeft",
        "mouthFrownRight",
    )
)
BLINK_COLS = indices(("eyeBlinkLeft", "eyeBlinkRight"))
STAT_COLS = (list(range(ROTATION_SLICE.stop)), EXPRESSION_COLS, BLINK_COLS)
_LOG_EPS = np.array([0.05, 0.003, 1.0], dtype=np.float32)  # floors below which stats are "none"
STD_FLOOR = 1e-3


def blink_count(motion: np.ndarray) -> np.ndarray:
    """(..., T, 58) joint motion -> (...) blinks: closings of the more-closed eye past 0.5 (an eye
    already shut in the first frame counts as one). The one count of blinks in motion."""
    closed = motion[..., BLINK_COLS].max(axis=-1) > 0.5  # (..., T)
    return (closed[..., 1:] & ~closed[..., :-1]).sum(axis=-1) + closed[..., 0]


def motion_stats(motion: np.ndarray, fps: float) -> np.ndarray:
    """(..., T, 58) joint motion -> (..., 3) raw statistics (units in the module docstring)."""
    rot = motion[..., ROTATION_SLICE].std(axis=-2).mean(axis=-1)
    expr = motion[..., EXPRESSION_COLS].std(axis=-2).mean(axis=-1)
    onsets = blink_count(motion)
    minutes = motion.shape[-2] / fps / 60.0
    return np.stack([rot, expr, onsets / minutes], axis=-1).astype(np.float32)


@dataclass
class Normalization:
    """Per-parameter motion mean/std and the statistics condition's reference values.

    motion_mean, motion_std: (D,) over all training frames.
    stats_centre, stats_spread: (3,) of log(stat + eps) over training windows.
    stats_reference: (3,) raw statistics of a typical ("natural") window: the median.
    stats_low, stats_high: (3,) raw 2nd / 98th percentiles: what the model has seen.
    """

    motion_mean: np.ndarray
    motion_std: np.ndarray
    stats_centre: np.ndarray
    stats_spread: np.ndarray
    stats_reference: np.ndarray
    stats_low: np.ndarray
    stats_high: np.ndarray

    def __post_init__(self) -> None:
        for k, v in asdict(self).items():
            setattr(self, k, np.asarray(v, dtype=np.float32))

    @staticmethod
    def fit(motion_frames: np.ndarray, window_stats: np.ndarray) -> Normalization:
        """From (N, 58) joint training frames and (M, 3) raw statistics of training windows."""
        logs = np.log(window_stats + _LOG_EPS)
        return Normalization(
            motion_mean=motion_frames.mean(0),
            motion_std=np.maximum(motion_frames.std(0), STD_FLOOR),
            stats_centre=logs.mean(0),
            stats_spread=np.maximum(logs.std(0), 1e-2),
            stats_reference=np.median(window_stats, 0),
            stats_low=np.percentile(window_stats, 2, axis=0),
            stats_high=np.percentile(window_stats, 98, axis=0),
        )

    def normalize(self, motion: np.ndarray) -> np.ndarray:
        return (motion - self.motion_mean) / self.motion_std

    def denormalize(self, motion: np.ndarray) -> np.ndarray:
        return motion * self.motion_std + self.motion_mean

    def stats_input(self, stats: np.ndarray) -> np.ndarray:
        """Raw statistics (..., 3) -> the model's normalised condition (..., 3)."""
        return (
            (np.log(np.maximum(stats, 0.0) + _LOG_EPS) - self.stats_centre) / self.stats_spread
        ).astype(np.float32)

    def to_json(self) -> dict:
        return {k: np.asarray(v).tolist() for k, v in asdict(self).items()}

    @staticmethod
    def from_json(data: dict) -> Normalization:
        return Normalization(**{k: np.asarray(v, dtype=np.float32) for k, v in data.items()})


def silence_frame(mel: np.ndarray, envelope: np.ndarray) -> tuple[np.ndarray, float]:
    """The clip's own silence: its quietest frame's mel (K, M) and loudness 0.

    Whisper's log-mel is scaled relative to the clip's loudest frame, so a constant floor
    would not match every clip; the quietest real frame does.
    """
    if len(envelope) == 0:
        raise ValueError("cannot take silence features from an empty clip")
    energy = mel.mean(axis=(1, 2))  # (T,)
    quiet = int(np.argmin(energy + envelope))
    return mel[quiet].astype(np.float32), 0.0


def pad_audio(
    mel: np.ndarray, envelope: np.ndarray, start: int, stop: int, silence: tuple[np.ndarray, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Frames [start, stop) of (mel, envelope); frames outside the clip are silence."""
    T = len(envelope)
    n = stop - start
    out_mel = np.broadcast_to(silence[0], (n, *silence[0].shape)).copy()
    out_env = np.full(n, silence[1], dtype=np.float32)
    a, b = max(start, 0), min(stop, T)
    if b > a:
        out_mel[a - start : b - start] = mel[a:b]
        out_env[a - start : b - start] = envelope[a:b]
    return out_mel.astype(np.float32), out_env
