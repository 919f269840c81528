"""The emotion vocabulary: the labels a preset may ask for and the rows of the model's table.

The order is the contract. A label's position is its class index in every checkpoint and
dataset, so it is written out here once, by hand: a new label goes at the END of
``Emotion`` (never in alphabetical order, which would shift every label after it), and a
checkpoint trained on the old list refuses to load (``motion.checkpoint``) instead of
reading the wrong rows.

``"none"`` is not an emotion but the null class of classifier-free guidance and of
training clips without one; it is the table's last row, after the emotions.

A preset asks for a MIXTURE (``parse_mix``): ``"happiness:0.6,surprise:0.2"``, each label
with an intensity 0..1; a plain label is intensity 1 and ``"none"`` alone is the neutral
face with no emotion asked. The motion model is conditioned on the mixture's weights over
its table's rows (``mix_weights``) and draws the emotion's facial actions, which its
training data holds (``motion/expression.py``, FACS); the baseline adds that layer itself.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np

Emotion = Literal[
    "anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"
]
EMOTIONS: tuple[str, ...] = get_args(Emotion)  # class 0..7, in this order
NO_EMOTION = "none"
EMOTION_LABELS: tuple[str, ...] = (*EMOTIONS, NO_EMOTION)  # the model's table, row by row
EMOTION_NONE = EMOTION_LABELS.index(NO_EMOTION)  # class index of "none"
NUM_EMOTION_CLASSES = len(EMOTION_LABELS)


def emotion_index(name: str) -> int:
    """'happiness' -> 4, 'none' -> 8: the label's row in ``EMOTION_LABELS``."""
    try:
        return EMOTION_LABELS.index(name)
    except ValueError:
        raise ValueError(f"unknown emotion {name!r}; valid: {', '.join(EMOTION_LABELS)}") from None


EmotionMix = dict[str, float]  # label of EMOTIONS -> intensity 0..1, in the order asked


def parse_mix(text: str) -> EmotionMix:
    """``"happiness:0.6,surprise:0.2"`` -> {'happiness': 0.6, 'surprise': 0.2}.

    A plain label is intensity 1; ``"none"`` (alone) is {}. ValueError names the bad part:
    an unknown label, an intensity that is not a number in 0..1, a label given twice."""
    mix: EmotionMix = {}
    if text.strip() == NO_EMOTION:
        return mix
    for part in text.split(","):
        label, sep, value = (s.strip() for s in part.partition(":"))
        if label == NO_EMOTION:
            raise ValueError(f"{NO_EMOTION!r} stands alone (no emotion); drop it from {text!r}")
        if label not in EMOTIONS:
            valid = ", ".join(EMOTIONS)
            raise ValueError(
                f"unknown emotion {label!r} in {text!r}; valid: {valid} (or none alone)"
            )
        if label in mix:
            raise ValueError(f"emotion {label!r} is given twice in {text!r}")
        mix[label] = _intensity(label, value) if sep else 1.0
    return mix


def _intensity(label: str, value: str) -> float:
    try:
        intensity = float(value)
    except ValueError:
        intensity = math.nan
    if not 0.0 <= intensity <= 1.0:  # NaN fails too
        raise ValueError(
            f"emotion {label!r}: intensity {value!r} is not a number from 0 to 1 (e.g. {label}:0.6)"
        )
    return intensity


def format_mix(mix: EmotionMix) -> str:
    """The canonical text of a mixture: ``parse_mix(format_mix(m)) == m``; {} is "none"."""
    parts = [label if w == 1.0 else f"{label}:{w!r}" for label, w in mix.items()]
    return ",".join(parts) or NO_EMOTION


def mix_weights(mix: EmotionMix) -> np.ndarray:
    """(NUM_EMOTION_CLASSES,) float32 the motion model's emotion condition for a mixture:
    each label's intensity on its row and the rest of 1 on none's, so intensities are
    points between none and the emotions' rows (intensities summing past 1 are scaled to
    sum to 1; the training data's never do)."""
    out = np.zeros(NUM_EMOTION_CLASSES, np.float32)
    for label, weight in mix.items():
        out[EMOTION_LABELS.index(label)] = weight
    total = float(out.sum())
    if total > 1.0:
        out /= total
    out[EMOTION_NONE] = max(0.0, 1.0 - float(out.sum()))
    return out
