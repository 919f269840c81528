"""Stage 5's finish of sampled motion, lifted into the joint space (``facemodel.core``):
the pose's moving average, blinks redrawn with a person's lid kinematics at the model's
blink instants (``FinishPlan``), the expression layers (``Layers``: the emotion mixture's
action units, the gaze), and the clip to the documented ranges, reading only a bounded
window of rows so that a stream finishes each row as the whole clip would."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..facemodel.params import EXPRESSION_SLICE, HIGH, LOW, POSE_SLICE, indices
from . import prior
from .expression import apply_emotion, emotion_curves
from .gaze import apply_gaze, eye_look, gaze_angles
from .settings import MotionSettings
from .smoothing import moving_average

_BLINK_COLS = indices(("eyeBlinkLeft", "eyeBlinkRight"))
BLINK = prior.BlinkKinematics()  # the generator's blinks: the middle of a person's ranges
BLINK_THRESHOLD = 0.4  # a model blink: both lids' mean closure peaks over this
BLINK_GAP = 0.35  # of the asked mean interval between blinks: weaker peaks closer are dropped
MAX_BLINK_GAP_S = 2.0  # so that a low rate does not hold frames back for long
FILL = 1.5  # of the asked mean interval: a stretch this long without a blink gets one


@dataclass(frozen=True)
class Layers:
    """The expression layers over one clip's T frames, made once for the whole clip (so a
    stream's chunks get what the whole clip gets) and added to finished rows.

    emotion: (T, 52) the emotion mixture's blendshapes (``expression.emotion_curves``), or
             None where the generator drew the emotion itself (the learned model)
    look:    (T, 8) the gaze's eyeLook shapes (``gaze.eye_look``)
    """

    emotion: np.ndarray | None
    look: np.ndarray

    @staticmethod
    def for_clip(
        settings: MotionSettings, envelope: np.ndarray, fps: float, seed: int, emotion: bool
    ) -> Layers:
        """The layers a preset's ``motion.emotion`` and ``motion.gaze`` ask for, over a clip
        whose speech loudness is ``envelope`` (T,); ``emotion``: whether to draw the emotion
        (False where the generator was conditioned on it)."""
        activity = prior.speech_activity(envelope, fps)
        return Layers(
            emotion_curves(settings.emotion_mix, len(envelope), fps, seed) if emotion else None,
            eye_look(gaze_angles(settings.gaze, activity, fps, seed)),
        )

    def apply(self, rows: np.ndarray, start: int) -> np.ndarray:
        """(n, 58) joint rows start .. start + n with the layers added (a new array)."""
        rows = rows.copy()
        at = slice(start, start + len(rows))
        shapes = rows[:, EXPRESSION_SLICE]
        if self.emotion is not None:
            shapes = apply_emotion(shapes, self.emotion[at])
        rows[:, EXPRESSION_SLICE] = apply_gaze(shapes, self.look[at])
        return rows


@dataclass(frozen=True)
class FinishPlan:
    """What ``finish`` does to post-processed rows: the pose's moving average over
    ``smoothing`` frames, blinks redrawn with a person's lid kinematics, and the
    expression ``layers`` added (None: none).

    The model decides when to blink, but its blink channels learned the one-frame shape of
    older training targets and sample the two eyes apart. Its blinks are taken as events
    (peaks of both lids' mean closure over BLINK_THRESHOLD) and both lids are redrawn with
    ``prior.draw_blinks``, the shape the prior trains on. The model's rate follows its
    condition loosely: it fires in clusters of peaks close together, and it can go quiet
    for many seconds. A peak that has a stronger one within ``blink_gap`` frames
    (BLINK_GAP of the asked mean interval) is dropped; and every stretch of ``fill``
    frames (counted from the clip's start, FILL of the asked mean interval) without a blink
    gets one, where the model came closest to blinking. Both rules read a bounded number
    of rows, so a stream finishes the same rows as the whole clip.
    """

    smoothing: int
    fps: float
    blink_gap: int  # frames
    fill: int  # frames; 0: the preset asks for no blinks, none are drawn
    layers: Layers | None = None

    @staticmethod
    def for_settings(
        settings: MotionSettings, fps: float, layers: Layers | None = None
    ) -> FinishPlan:
        if settings.blink_rate <= 0:
            return FinishPlan(settings.smoothing, fps, 0, 0, layers)
        mean_s = 60.0 / settings.blink_rate
        gap, fill = (
            round(min(BLINK_GAP * mean_s, MAX_BLINK_GAP_S) * fps),
            round(FILL * mean_s * fps),
        )
        return FinishPlan(settings.smoothing, fps, gap, fill, layers)

    @property
    def reach(self) -> tuple[int, int]:
        """(behind, ahead): rows before and after the finished ones that finishing reads."""
        left = (self.smoothing - 1) // 2
        right = self.smoothing - 1 - left
        before, after = (math.ceil(s * self.fps) for s in BLINK.reach_s)
        context = self.fill + 2 * self.blink_gap  # a stretch and its neighbours' peaks
        return max(left, after + context), max(right, before + context)


def blink_events(closure: np.ndarray, gap: int) -> np.ndarray:
    """Frames where (T,) ``closure`` peaks over BLINK_THRESHOLD with nothing higher within
    ``gap`` frames either side (the first of equal values): int64 indices."""
    padded = np.pad(closure, gap, constant_values=-np.inf)
    first_max = np.lib.stride_tricks.sliding_window_view(padded, 2 * gap + 1).argmax(axis=1)
    return np.nonzero((first_max == gap) & (closure > BLINK_THRESHOLD))[0]


def filled_events(
    closure: np.ndarray, events: np.ndarray, lo: int, total: int, plan: FinishPlan
) -> np.ndarray:
    """Blinks for the stretches (frames k * fill .. (k + 1) * fill of the clip) that hold
    none of ``events``: each at the stretch's highest ``closure`` at least ``blink_gap``
    frames from every event. closure, events: rows lo .. lo + len(closure) of a clip of
    ``total`` frames, in row indices; returns row indices. A stretch cut short by the
    clip's end gets one only if it is at least half as long."""
    first, last = -(-lo // plan.fill), (lo + len(closure)) // plan.fill  # whole stretches here
    near = np.zeros(len(closure), bool)
    for e in events:
        near[max(e - plan.blink_gap, 0) : e + plan.blink_gap + 1] = True
    out = []
    for k in range(first, last + 1):
        a, b = k * plan.fill - lo, min((k + 1) * plan.fill, total) - lo
        if b - a < plan.fill / 2 or b > len(closure) or a < 0 or near[a:b].all():
            continue
        if not np.any((events >= a) & (events < b)):
            out.append(a + int(np.argmax(np.where(near[a:b], -np.inf, closure[a:b]))))
    return np.array(out, np.int64)


def redraw_blinks(rows: np.ndarray, lo: int, total: int, plan: FinishPlan) -> np.ndarray:
    """(T,) closure of both lids for (T, 58) rows lo .. lo + T of a clip of ``total`` frames:
    the model's blinks, with a person's shape."""
    if plan.fill <= 0:
        return np.zeros(len(rows), np.float32)
    closure = rows[:, _BLINK_COLS].mean(axis=1)
    events = blink_events(closure, plan.blink_gap)
    events = np.concatenate([events, filled_events(closure, events, lo, total, plan)])
    return prior.draw_blinks(np.arange(len(rows)), plan.fps, events, [BLINK] * len(events))


def finish(motion: np.ndarray, start: int, stop: int, plan: FinishPlan) -> np.ndarray:
    """Rows start:stop of the post-processed, lifted (T, 58) motion, finished (``FinishPlan``) and
    clipped to range.

    Only the rows ``plan.reach`` names are read, so a stream can finish the frames that
    are final while later windows are still being sampled, and any split into chunks gives
    the rows finishing the whole clip at once gives.
    """
    behind, ahead = plan.reach
    lo, hi = max(start - behind, 0), min(stop + ahead, len(motion))
    rows = motion[lo:hi].copy()
    rows[:, POSE_SLICE] = moving_average(rows[:, POSE_SLICE], plan.smoothing)
    rows[:, _BLINK_COLS] = redraw_blinks(rows, lo, len(motion), plan)[:, None]
    out = rows[start - lo : stop - lo]
    if plan.layers is not None:
        out = plan.layers.apply(out, start)
    return np.clip(out, LOW, HIGH).astype(np.float32)
