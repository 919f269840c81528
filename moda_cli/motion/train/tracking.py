"""A video's face, frame by frame: decode (at most ``MAX_SIDE`` pixels), resample to the
motion's frame rate by nearest frame, and run MediaPipe's mesh (video mode) on each frame,
its iris points kept (the gaze is read from them)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...face.types import NUM_LANDMARKS
from ...ffmpeg import count_video_frames, probe, read_frames

MAX_SIDE = 640  # frames are decoded at most this large: the mesh model works at 192 px


@dataclass
class FaceTrack:
    """Meshes resampled to ``fps``: points (T, 478, 3) source pixels (468 and the irises),
    NaN where no face, the iris rows NaN too where the mesh found the face without them."""

    points: np.ndarray
    detected: np.ndarray  # (T,) bool
    fps: float
    source_fps: float


def _frame_size(width: int, height: int) -> tuple[int, int]:
    s = min(1.0, MAX_SIDE / max(width, height))
    return max(2, int(round(width * s / 2)) * 2), max(2, int(round(height * s / 2)) * 2)


def _source_fps(path: Path, reported: float | None, duration_s: float | None) -> float:
    if reported and reported > 0:
        return float(reported)
    if duration_s:  # no rate in the header: count the frames instead of guessing one
        return count_video_frames(path) / duration_s
    raise InputError("the video reports neither a frame rate nor a duration", path=path)


def _resampled(
    frames: Iterator[np.ndarray], source_fps: float, fps: float
) -> Iterator[tuple[int, np.ndarray]]:
    """(source index, frame) for each output frame k: source frame round(k * source_fps / fps)."""
    k = 0
    for i, frame in enumerate(frames):
        while int(np.floor(k * source_fps / fps + 0.5)) == i:
            yield i, frame
            k += 1


def track_faces(video_path: str | Path, fps: float = 25.0) -> FaceTrack:
    """Decode ``video_path`` (at most MAX_SIDE pixels) and run the mesh on every output frame."""
    from ...face.measure import FaceMeter

    path = Path(video_path)
    info = probe(path)
    if not info.has_video or info.width is None or info.height is None:
        raise InputError("no video stream", path=path)
    source_fps = _source_fps(path, info.fps, info.duration_s)
    meter = FaceMeter(static=False, iris=True)
    points: list[np.ndarray | None] = []
    last: tuple[int, np.ndarray | None] = (-1, None)
    try:
        for i, frame in _resampled(
            read_frames(path, _frame_size(info.width, info.height)), source_fps, fps
        ):
            if i != last[0]:  # a slower source repeats frames: one mesh each
                last = (i, meter.landmarks(frame))
            points.append(last[1])
    finally:
        meter.close()
    out = np.full((len(points), NUM_LANDMARKS, 3), np.nan, np.float32)
    for t, p in enumerate(points):
        if p is not None:
            out[t] = p
    return FaceTrack(out, np.array([p is not None for p in points], bool), fps, source_fps)
