"""Per-frame measurements of a rendered video with a fresh MediaPipe face mesh.

The mesh runs in video mode (it tracks from frame to frame, as a viewer's eye does), so
short lid closures are judged the way an independent tracker sees them. Nothing here
knows how the video was made: only its pixels, and the portrait it claims to animate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, NoFaceFound
from ..face.landmarks import INNER_LIP_MID, MOUTH_CORNERS
from ..face.measure import FaceMeter, measure_points
from ..ffmpeg import probe, read_frames
from .background import Scene, scene_of, scene_psnr, still_psnr
from .lips import LipReference, LipSample, face_height, lip_reference, measure_lips

FIRST_FRAMES = 5  # frames whose lips are the reference when no portrait is given


@dataclass
class References:
    """What the frames are compared with: the lips' colour, the scene and its still PSNR.

    ``lips_from`` says where the lip colour came from: "portrait" or "first frames".
    ``scene`` is None without a portrait, or when the video's shape is not the portrait's.
    ``image`` and ``mesh``: the reference picture (H, W, 3) and its (468, 3) mesh.
    """

    lips: LipReference
    lips_from: str
    image: np.ndarray
    mesh: np.ndarray
    scene: Scene | None = None
    still_db: float | None = None


@dataclass
class FrameSeries:
    """Per-frame figures of one video; floats are NaN where no face was found.

    detected:       (T,) bool, a face mesh was fitted.
    gap:            (T,) inner-lip gap (13-14) / face height (10-152).
    eye_left/right: (T,) the subject's lid gap / that eye's width (``face.measure``).
    lip_upper/lower:(T, 3) median CIELAB of each lip band.
    dark_outside:   (T,) dark pixels outside the inner lips / lip band area.
    lip_thickness:  (T, 2) upper, lower lip band thickness / eye-corner distance.
    scene_db:       (T,) PSNR of the scene against the portrait, or None (no scene).
    anchors:        (T, 5) mouth centre x, y; face centre x, y; face height (pixels).
    """

    fps: float
    detected: np.ndarray
    gap: np.ndarray
    eye_left: np.ndarray
    eye_right: np.ndarray
    lip_upper: np.ndarray
    lip_lower: np.ndarray
    dark_outside: np.ndarray
    lip_thickness: np.ndarray
    scene_db: np.ndarray | None
    anchors: np.ndarray

    def __len__(self) -> int:
        return int(self.detected.shape[0])


def _static_mesh(images: list[np.ndarray]) -> list[np.ndarray | None]:
    meter = FaceMeter(static=True)
    try:
        return [meter.landmarks(img) for img in images]
    finally:
        meter.close()


def _fit_portrait(portrait: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """The portrait at the video's frame size, or None when the shapes differ.

    The encoder pads odd sides by one pixel; a render scaled down (``render.max_side``)
    keeps the aspect ratio, so it is compared with the portrait scaled the same way. Any
    other size (a face crop, ``render.output: crop``) is not the portrait's scene.
    """
    h, w = portrait.shape[:2]
    if width - w in (0, 1) and height - h in (0, 1):
        return portrait
    if max(width, height) < max(w, h) and abs(width / height - w / h) < 0.01:
        return cv2.resize(portrait, (width, height), interpolation=cv2.INTER_AREA)
    return None


def references(video: Path, portrait: np.ndarray | None) -> tuple[References, Iterator[np.ndarray]]:
    """The references for ``video`` and its frames as an iterator (decoding has started)."""
    info = probe(video)
    if not info.has_video or not info.width or not info.height:
        raise InputError("no video stream", path=video)
    frames = read_frames(video)
    if portrait is None:
        head = list(islice(frames, FIRST_FRAMES))
        found = [(f, p) for f, p in zip(head, _static_mesh(head), strict=True) if p is not None]
        if not found:
            raise NoFaceFound(f"no face in the first {FIRST_FRAMES} frames", path=video)
        lips = lip_reference([measure_lips(f, p, None) for f, p in found])
        return References(lips, "first frames", *found[0]), chain(head, frames)
    fitted = _fit_portrait(portrait, info.width, info.height)
    image = portrait if fitted is None else fitted
    (pts,) = _static_mesh([image])
    if pts is None:
        raise NoFaceFound("no face in the portrait", hint="pass the portrait the video animates")
    refs = References(lip_reference([measure_lips(image, pts, None)]), "portrait", image, pts)
    if fitted is not None:
        refs.scene = scene_of(fitted, face_height(pts))
        refs.still_db = still_psnr(fitted, refs.scene)
    return refs, frames


def measure_video(
    video: str | Path, portrait: np.ndarray | None = None
) -> tuple[FrameSeries, References]:
    """Decode ``video`` once and measure every frame; ``portrait`` (H, W, 3) RGB if known."""
    video = Path(video)
    fps = probe(video).fps or 25.0
    refs, frames = references(video, portrait)
    rows: list[tuple[np.ndarray | None, LipSample | None, float]] = []
    meter = FaceMeter(static=False)
    try:
        for frame in frames:
            pts = meter.landmarks(frame)
            lips = None if pts is None else measure_lips(frame, pts, refs.lips)
            db = float("nan") if refs.scene is None else scene_psnr(frame, refs.scene)
            rows.append((pts, lips, db))
    finally:
        meter.close()
    return _series(fps, rows, refs.scene is not None), refs


def anchors_of(pts: np.ndarray) -> np.ndarray:
    """(5,) where a mesh's face is: mouth centre x, y; face centre x, y; face height."""
    mouth = pts[list(MOUTH_CORNERS), :2].mean(axis=0)
    return np.array([*mouth, *pts[:, :2].mean(axis=0), face_height(pts)])


def _series(
    fps: float, rows: list[tuple[np.ndarray | None, LipSample | None, float]], has_scene: bool
) -> FrameSeries:
    t = len(rows)
    nan = np.full(t, np.nan)
    gap, eye_l, eye_r, dark = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    upper, lower, anchors = (
        np.full((t, 3), np.nan),
        np.full((t, 3), np.nan),
        np.full((t, 5), np.nan),
    )
    thickness = np.full((t, 2), np.nan)
    for i, (pts, lips, _) in enumerate(rows):
        if pts is None or lips is None:
            continue
        fh = face_height(pts)
        gap[i] = np.linalg.norm(pts[INNER_LIP_MID[0], :2] - pts[INNER_LIP_MID[1], :2]) / fh
        eyes = measure_points(pts, None)
        eye_l[i], eye_r[i] = eyes["eye_open_left"], eyes["eye_open_right"]
        upper[i], lower[i], dark[i], thickness[i] = (
            lips.upper,
            lips.lower,
            lips.dark_outside,
            lips.thickness,
        )
        anchors[i] = anchors_of(pts)
    detected = np.array([pts is not None for pts, _, _ in rows], bool)
    scene = np.array([db for _, _, db in rows]) if has_scene else None
    return FrameSeries(
        fps, detected, gap, eye_l, eye_r, upper, lower, dark, thickness, scene, anchors
    )
