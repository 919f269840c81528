"""The deterministic baseline generator: loudness drives the jaw, the prior does the rest.

This is the reference the learned model has to beat. It knows only how loud the speech
is, so the jaw opens with the envelope and never closes for p/b/m inside a word, and the
lips never round or spread with the vowels. Blinks, head sway and brows come from
``motion.prior`` driven by the envelope (speaking vs pauses, loudness peaks as stressed
syllables), seeded by ``request.seed``: the same request gives the same motion. It
samples the core channels, lifted into the joint space at the end (``facemodel.core``),
where the emotion's facial actions and the gaze are added as layers (``finish.Layers``);
the emotion's head bearing comes from the prior, as in the learned model's training data.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..facemodel.core import LIP_NAMES, lift, with_given
from ..facemodel.params import POSE_SLICE, MotionSeq
from . import prior
from .finish import Layers
from .generator import MotionRequest, ProgressFn
from .reference import request_given
from .smoothing import moving_average


def envelope_lips(envelope: np.ndarray, amplitude: float) -> np.ndarray:
    """(T, 5) lips from loudness alone: jaw ~ envelope^0.8, a touch of spread when loud."""
    env = np.clip(np.asarray(envelope, np.float64), 0.0, 1.0)
    lips = np.zeros((len(env), len(LIP_NAMES)))
    lips[:, 0] = np.clip(0.8 * env**0.8 * amplitude, 0.0, 1.0)
    lips[:, 2] = np.clip(0.15 * env * amplitude, 0.0, 1.0)
    return lips.astype(np.float32)


class BaselineGenerator:
    """MotionGenerator with no weights: envelope jaw + stochastic prior."""

    name = "baseline"

    def stream(
        self, request: MotionRequest, progress: ProgressFn | None = None
    ) -> Iterator[np.ndarray]:
        """All of ``generate`` as one chunk: the baseline costs milliseconds."""
        yield self.generate(request, progress).params

    def generate(self, request: MotionRequest, progress: ProgressFn | None = None) -> MotionSeq:
        feats, s = request.features, request.settings
        num_frames, fps = feats.num_frames, feats.fps
        rng = np.random.default_rng(request.seed)
        env = feats.envelope
        activity = prior.speech_activity(env, fps)
        nonlip = prior.sample_nonlip_motion(
            num_frames,
            fps,
            rng,
            head=s.head,
            expression=s.expression,
            blink_rate=s.blink_rate,
            emotion=s.emotion_mix,
            activity=activity,
            accents=prior.accents_from_envelope(env, fps),
            pauses=prior.pause_onsets(activity, fps),
        )
        motion = prior.compose(nonlip, envelope_lips(env, s.lips))
        motion[:, POSE_SLICE] = moving_average(motion[:, POSE_SLICE], s.smoothing)
        joint = Layers.for_clip(s, env, fps, request.seed, emotion=True).apply(lift(motion), 0)
        given = request_given(request)  # taken as they are: the baseline cannot adapt to them
        if given is not None:
            joint = with_given(joint, given.values)
        if progress is not None:
            progress(num_frames, num_frames)
        return MotionSeq(joint, fps)
