"""Importing MediaPipe without matplotlib and sounddevice.

``import mediapipe`` imports every legacy solution, drawing utilities included, and those
import matplotlib's pyplot: 0.35 s of a CLI run that needs none of it. Its audio tasks
import sounddevice, which loads PortAudio (0.045 s) for microphone recording. While
MediaPipe imports, bare placeholders stand in for both (only the plotting helpers and
the recorder, which moda never calls, keep a reference to them); then the placeholders
are removed, so a real import of either later in the process works as usual.
"""

from __future__ import annotations

import sys
import types


def import_mediapipe() -> None:
    """Import MediaPipe once; call before ``from mediapipe.python.solutions import ...``."""
    if "mediapipe" in sys.modules:
        return
    placeholders = {}
    if "matplotlib" not in sys.modules:
        placeholders = {
            name: types.ModuleType(name) for name in ("matplotlib", "matplotlib.pyplot")
        }
        placeholders["matplotlib"].pyplot = placeholders["matplotlib.pyplot"]  # type: ignore[attr-defined]
    if "sounddevice" not in sys.modules:
        placeholders["sounddevice"] = types.ModuleType("sounddevice")
    sys.modules.update(placeholders)
    try:
        import mediapipe  # noqa: F401
    finally:
        for name, module in placeholders.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
