"""Importing MediaPipe without matplotlib.

``import mediapipe`` imports every legacy solution, drawing utilities included, and those
import matplotlib's pyplot: 0.35 s of a CLI run that needs none of it. While MediaPipe
imports, a bare placeholder stands in for matplotlib (only its plotting helpers, which
moda never calls, keep a reference to it); then the placeholder is removed, so a real
``import matplotlib`` later in the process works as usual.
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
        placeholders = {name: types.ModuleType(name) for name in ("matplotlib", "matplotlib.pyplot")}
        placeholders["matplotlib"].pyplot = placeholders["matplotlib.pyplot"]  # type: ignore[attr-defined]
        sys.modules.update(placeholders)
    try:
        import mediapipe  # noqa: F401
    finally:
        for name, module in placeholders.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
