"""How still the scene behind the person stays: PSNR against the portrait outside the person.

The person is segmented on the portrait (``face.segment.person_mask``) and the mask grown
by a tenth of the face height, so that the person's own motion (a nod, hair at the edge)
is not counted; every other pixel is scene and should keep the photo's value. A video is
also lossy, so its PSNR is compared with the portrait re-encoded as a still clip through
moda's encoder (default settings): that PSNR is what a perfectly still scene scores.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..face.segment import person_mask
from ..presets import VideoSettings
from ..video.writer import VideoWriter, read_frames

GROW = 0.1  # person mask dilation, in face heights
STILL_FRAMES = 10  # frames of the still re-encode (the first is an I-frame, the rest P)
PEAK_DB = 99.0  # PSNR of identical pixels, instead of infinity


@dataclass(frozen=True)
class Scene:
    """The portrait's scene pixels: ``index`` (N,) flat pixel indices outside the grown
    person mask, ``pixels`` (N, 3) float32 their RGB values, on a (height, width) frame."""

    index: np.ndarray
    pixels: np.ndarray
    height: int
    width: int

    @property
    def area(self) -> float:
        return len(self.index) / float(self.height * self.width)


def scene_of(portrait: np.ndarray, face_height_px: float) -> Scene:
    """(H, W, 3) uint8 RGB portrait and its face height in pixels -> its Scene."""
    radius = max(1, round(GROW * face_height_px))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    person = cv2.dilate((person_mask(portrait) > 0.5).astype(np.uint8), kernel)
    index = np.flatnonzero(person.ravel() == 0)
    pixels = portrait.reshape(-1, 3)[index].astype(np.float32)
    return Scene(index, pixels, portrait.shape[0], portrait.shape[1])


def scene_psnr(frame: np.ndarray, scene: Scene) -> float:
    """PSNR in dB of a frame's scene pixels (frame cropped to the portrait's size)."""
    if len(scene.index) == 0:
        return float("nan")
    flat = np.ascontiguousarray(frame[: scene.height, : scene.width]).reshape(-1, 3)
    mse = float(np.mean((flat[scene.index].astype(np.float32) - scene.pixels) ** 2))
    return PEAK_DB if mse <= 0 else min(PEAK_DB, 10.0 * np.log10(255.0**2 / mse))


def still_psnr(portrait: np.ndarray, scene: Scene, settings: VideoSettings | None = None) -> float:
    """Mean scene PSNR of the portrait re-encoded as a still clip: a still scene's score."""
    with tempfile.TemporaryDirectory(prefix="moda-qc-") as tmp:
        path = Path(tmp) / "still.mp4"
        with VideoWriter(path, settings=settings or VideoSettings()) as writer:
            for _ in range(STILL_FRAMES):
                writer.write(portrait, copy=False)
        return float(np.mean([scene_psnr(f, scene) for f in read_frames(path)]))
