"""Values the face stage hands to the renderer and the motion generator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

NUM_LANDMARKS = 478  # MediaPipe face mesh with iris refinement (468 without: padded)


@dataclass(frozen=True)
class CropTransform:
    """Similarity transform from the original photo to the square working crop.

    matrix: (2, 3) float64, maps original pixel coords (x, y, 1) -> crop pixel coords.
    size:   the crop is ``size`` x ``size`` pixels.
    """

    matrix: np.ndarray
    size: int

    def inverse(self) -> np.ndarray:
        """(2, 3) matrix mapping crop pixel coords back to the original photo."""
        full = np.vstack([self.matrix, [0.0, 0.0, 1.0]])
        return np.linalg.inv(full)[:2]


@dataclass
class Portrait:
    """A decoded portrait: (H, W, 3) uint8 RGB with EXIF orientation already applied."""

    image: np.ndarray
    path: Path | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass
class Face:
    """The face chosen in a portrait, in the coordinates of its working crop.

    landmarks: (478, 3) float32 MediaPipe mesh in crop pixels; z has the same scale as
               x and grows away from the camera (MediaPipe's convention).
    box:       (4,) float32 face box x0, y0, x1, y1 in ORIGINAL photo pixels.
    crop:      transform from the original photo to the crop.
    num_faces: how many faces the detector found (the largest is used).
    """

    landmarks: np.ndarray
    box: np.ndarray
    crop: CropTransform
    num_faces: int = 1
