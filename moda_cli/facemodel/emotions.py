"""The emotion vocabulary: the labels a preset may ask for and the rows of the model's table.

The order is the contract. A label's position is its class index in every checkpoint and
dataset, so it is written out here once, by hand: a new label goes at the END of
``Emotion`` (never in alphabetical order, which would shift every label after it), and a
checkpoint trained on the old list refuses to load (``motion.checkpoint``) instead of
reading the wrong rows.

``"none"`` is not an emotion but the null class of classifier-free guidance and of
training clips without one; it is the table's last row, after the emotions.
"""

from __future__ import annotations

from typing import Literal, get_args

Emotion = Literal[
    "anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"
]
EMOTIONS: tuple[str, ...] = get_args(Emotion)  # class 0..7, in this order
NO_EMOTION = "none"
EmotionChoice = Literal["none", Emotion]  # what a preset's ``motion.emotion`` may be
EMOTION_LABELS: tuple[str, ...] = (*EMOTIONS, NO_EMOTION)  # the model's table, row by row
EMOTION_NONE = EMOTION_LABELS.index(NO_EMOTION)  # class index of "none"
NUM_EMOTION_CLASSES = len(EMOTION_LABELS)


def emotion_index(name: str) -> int:
    """'happiness' -> 4, 'none' -> 8: the label's row in ``EMOTION_LABELS``."""
    try:
        return EMOTION_LABELS.index(name)
    except ValueError:
        raise ValueError(f"unknown emotion {name!r}; valid: {', '.join(EMOTION_LABELS)}") from None
