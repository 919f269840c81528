"""What a motion checkpoint's rows and columns mean: channel names and emotion labels.

A checkpoint stores the vocabulary it was trained with beside its weights (nanoGPT ships
its ``meta.pkl`` with the data for the same reason), and loading compares it with this
code's: a renamed, added, removed or reordered name would otherwise make the model read
the wrong column or the wrong row of its emotion table without any error.

A checkpoint without a stored vocabulary was written before vocabularies were stored; it
was trained on ``VOCABULARY_V1``, which is frozen here as it was then. Its motion, like
every checkpoint's before the joint space, is the 17 core channels (``core.py``): such a
checkpoint is refused with an error that says it is of the old space and must be
retrained (``OLD_SPACE``), not with a list of 58 added names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from .emotions import EMOTION_LABELS
from .params import PARAM_NAMES


@dataclass(frozen=True)
class Vocabulary:
    """param_names: the motion's columns in order (the joint space, ``params.py``);
    emotions: the emotion table's rows."""

    param_names: tuple[str, ...] = PARAM_NAMES
    emotions: tuple[str, ...] = EMOTION_LABELS

    def to_metadata(self) -> dict[str, str]:
        """The safetensors metadata entries (strings only)."""
        return {"param_names": json.dumps(self.param_names), "emotions": json.dumps(self.emotions)}

    @staticmethod
    def from_metadata(meta: Mapping[str, str]) -> Vocabulary:
        """The stored vocabulary, or ``VOCABULARY_V1`` for a file that stores none."""
        if "param_names" not in meta and "emotions" not in meta:
            return VOCABULARY_V1
        return Vocabulary(
            tuple(str(n) for n in json.loads(meta["param_names"])),
            tuple(str(n) for n in json.loads(meta["emotions"])),
        )

    def differences(self, expected: Vocabulary) -> list[str]:
        """What differs from ``expected`` (this code's), one line per list; empty if equal."""
        if self.param_names == OLD_SPACE and expected.param_names != OLD_SPACE:
            return [OLD_SPACE_MESSAGE]
        return [
            line
            for line in (
                _difference("motion parameters", self.param_names, expected.param_names),
                _difference("emotion labels", self.emotions, expected.emotions),
            )
            if line
        ]


def _difference(kind: str, stored: tuple[str, ...], expected: tuple[str, ...]) -> str:
    """'emotion labels: this code adds pride; drops fear' ... or '' when the lists are equal."""
    if stored == expected:
        return ""
    added = [n for n in expected if n not in stored]
    removed = [n for n in stored if n not in expected]
    parts = [f"this code adds {', '.join(added)}"] if added else []
    parts += [f"drops {', '.join(removed)}"] if removed else []
    common_stored = [n for n in stored if n in expected]
    common_expected = [n for n in expected if n in stored]
    if common_stored != common_expected:
        moved = [a for a, b in zip(common_stored, common_expected, strict=True) if a != b]
        parts.append(f"reorders {', '.join(moved)}")
    elif not parts:  # the same names, repeated differently
        parts.append(f"{list(stored)} vs {list(expected)}")
    return f"{kind}: {'; '.join(parts)} (checkpoint {list(stored)}, this code {list(expected)})"


# The vocabulary of every checkpoint written before vocabularies were stored: a record of
# that time, so it is written out, not derived from today's lists.
# fmt: off
VOCABULARY_V1 = Vocabulary(
    param_names=(
        "pitch", "yaw", "roll", "tx", "ty", "scale",
        "jaw_open", "lip_round", "lip_spread", "lip_press", "lip_tuck", "smile", "frown",
        "blink_left", "blink_right", "brow_raise", "brow_furrow",
    ),
    emotions=(
        "anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
        "none",
    ),
)
# fmt: on

# The motion columns of every checkpoint before the joint space: the 17 core channels.
OLD_SPACE = VOCABULARY_V1.param_names
OLD_SPACE_MESSAGE = (
    "it samples the old 17-channel motion space (head pose + 11 expression coefficients), "
    "not the joint space of head pose + ARKit's 52 blendshapes this code reads; retrain it "
    "with `moda train`"
)
