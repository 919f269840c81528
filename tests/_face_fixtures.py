"""Images for the face and renderer tests, built from the committed sample portrait."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from moda_cli.facemodel.core import NUM_CORE, core_index, lift

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "astronaut.png"
CANVAS_SIZE = (1600, 1200)  # (w, h)
CANVAS_OFFSET = (900, 500)  # where the face-sized patch is pasted (x, y)


def astronaut() -> np.ndarray:
    """(512, 512, 3) uint8 RGB."""
    return np.asarray(Image.open(SAMPLE).convert("RGB"))


def small_face_canvas() -> np.ndarray:
    """The portrait shrunk to 256 px and pasted into a large, plain 1600x1200 canvas."""
    w, h = CANVAS_SIZE
    canvas = np.zeros((h, w, 3), np.uint8)
    canvas[:] = np.linspace(60, 200, w, dtype=np.uint8)[None, :, None]  # a gradient, not flat
    small = np.asarray(Image.fromarray(astronaut()).resize((256, 256), Image.Resampling.LANCZOS))
    x, y = CANVAS_OFFSET
    canvas[y : y + 256, x : x + 256] = small
    return canvas


def params(**core: float) -> np.ndarray:
    """(58,) joint row with the named core channels set (the rest 0), lifted as the
    generators lift what they sample."""
    p = np.zeros(NUM_CORE, np.float32)
    for name, v in core.items():
        p[core_index(name)] = v
    return lift(p)
