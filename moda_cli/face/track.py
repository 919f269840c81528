"""One person's face followed through a video: a mesh per frame, cuts found, identity kept.

MediaPipe's mesh runs in video mode (it tracks from frame to frame, which is steadier and
about a third cheaper than detecting every frame) on a square crop that follows the face,
so a small face in a large frame is seen at the mesh model's own resolution and another
person elsewhere in the frame is never picked up. Identity: at the start of each shot the
largest face the full-range detector finds; after a frame without a face, the face whose
box is nearest the last one in position and size. A cut (the frame's thumbnail changes
abruptly, or the face jumps) ends the shot and restarts tracking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..video.source import rgb_at, rgb_box
from ..video.yuv import Yuv420Frame
from . import landmarks as lm
from .detect import MediaPipeBoxes
from .mediapipe_import import import_mediapipe

CROP_SIZE = 256  # the mesh's input: its model works at 192 px
CROP_MARGIN = 1.6  # crop side / the mesh's extent in the previous frame
DETECT_SIDE = 640  # frames are shrunk to at most this for the (rare) detector runs
THUMB_STEP = 16  # pixels between the samples of the scene-change thumbnail
CUT_DIFF = 30.0  # mean absolute thumbnail change (0..255) that is a cut, not motion
JUMP = 0.5  # the face moving this many eye spans in one frame is a cut
SCALE_JUMP = 1.35  # or changing size by this factor
REACQUIRE = 1.5  # a face found after a gap must lie within this many face sizes of the last
# Eye spans a frame: the mesh is smoothed over time below about this speed, not above
# (its jitter, a frame's second difference, is 0.010-0.014 at the median on two 30 fps
# test sources whose heads move 0.006 a frame, 0.016 at the 99th percentile; a head
# turning briskly moves about 0.05).
SMOOTH_SPEED = 0.02


@dataclass
class FaceTrackFrames:
    """Per-frame meshes of one video, as ``FaceTracker`` found them.

    points:  (T, 468, 3) float32 mesh in frame pixels (z scaled like x), NaN where no face.
    found:   (T,) bool.
    shots:   (T,) int32 shot number, one more after each cut.
    redness: (T,) float32 ``lip_redness`` of each frame with a face (NaN without).
    """

    points: np.ndarray
    found: np.ndarray
    shots: np.ndarray
    redness: np.ndarray

    def __len__(self) -> int:
        return len(self.found)


def _box(points: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) extent of a mesh."""
    return np.array([*points[:, :2].min(axis=0), *points[:, :2].max(axis=0)])


def _thumbnail(frame: Yuv420Frame) -> np.ndarray:
    """(h, w) float32 mean of RGB at every THUMB_STEP-th pixel."""
    grid = np.arange(THUMB_STEP // 2, frame.width, THUMB_STEP)
    rows = np.arange(THUMB_STEP // 2, frame.height, THUMB_STEP)
    xx, yy = np.meshgrid(grid, rows)
    small = rgb_at(frame, np.stack([xx.ravel(), yy.ravel()], axis=1))
    return small.astype(np.float32).mean(axis=1).reshape(xx.shape)


class FaceTracker:
    """Call ``update`` with every frame in order; it returns that frame's mesh or None.

    Frames come in yuv420p as decoded (``video.source.read_yuv``): only the crop the mesh
    runs on is converted to RGB, not the whole frame."""

    def __init__(self) -> None:
        import_mediapipe()
        self._boxes = MediaPipeBoxes()
        self._mesh = self._new_mesh()
        self._last: np.ndarray | None = None  # mesh of the previous frame, if it had one
        self._known: np.ndarray | None = None  # box of the last face seen in this shot
        self._thumb: np.ndarray | None = None
        self.shot = -1

    @staticmethod
    def _new_mesh() -> Any:  # mediapipe ships no types
        from mediapipe.python.solutions import face_mesh

        return face_mesh.FaceMesh(static_image_mode=False, refine_landmarks=True, max_num_faces=1)

    def _restart(self) -> None:
        self._mesh.close()
        self._mesh = self._new_mesh()
        self._last = self._known = None
        self.shot += 1

    def update(self, frame: Yuv420Frame) -> np.ndarray | None:
        """A frame -> (468, 3) mesh in its pixels, or None."""
        thumb = _thumbnail(frame)
        if self._thumb is None or float(np.abs(thumb - self._thumb).mean()) > CUT_DIFF:
            self._restart()
        self._thumb = thumb
        box = _box(self._last) if self._last is not None else self._find(frame)
        points = None if box is None else self._mesh_in(frame, box)
        if points is not None and self._last is not None and self._jumped(points):
            self._restart()  # a cut the thumbnail missed: look for the shot's face afresh
            box = self._find(frame)
            points = None if box is None else self._mesh_in(frame, box)
        self._last = points
        if points is not None:
            self._known = _box(points)
        return points

    def _jumped(self, points: np.ndarray) -> bool:
        assert self._last is not None
        span, before = lm.eye_span(points), lm.eye_span(self._last)
        stable = list(lm.STABLE)
        moved = np.linalg.norm(points[stable, :2].mean(0) - self._last[stable, :2].mean(0))
        return bool(moved > JUMP * before or max(span / before, before / span) > SCALE_JUMP)

    def _find(self, frame: Yuv420Frame) -> np.ndarray | None:
        """A face box: the largest at a shot's start, else the one nearest the last face."""
        h, w = frame.height, frame.width
        s = min(1.0, DETECT_SIDE / max(h, w))
        area = cv2.INTER_AREA
        rgb = rgb_box(frame, 0, 0, w, h)
        small = rgb if s >= 1 else cv2.resize(rgb, None, fx=s, fy=s, interpolation=area)
        boxes = [b / s for b in self._boxes.boxes(np.ascontiguousarray(small))]
        if not boxes:
            return None
        if self._known is None:
            return boxes[0]  # largest first
        size = float(np.ptp(self._known.reshape(2, 2), axis=0).max())
        centre = self._known.reshape(2, 2).mean(0)

        def distance(b: np.ndarray) -> float:
            side = float(np.ptp(b.reshape(2, 2), axis=0).max())
            apart = float(np.linalg.norm(b.reshape(2, 2).mean(0) - centre)) / size
            return apart + abs(float(np.log(side / size)))

        best = min(boxes, key=distance)
        return best if distance(best) < REACQUIRE else None

    def _mesh_in(self, frame: Yuv420Frame, box: np.ndarray) -> np.ndarray | None:
        """The mesh in a square crop around ``box``, returned in frame pixels."""
        side = max(int(round(CROP_MARGIN * float(max(box[2] - box[0], box[3] - box[1])))), 8)
        x0, y0 = (int(v) for v in np.round(0.5 * (box[:2] + box[2:]) - side / 2))
        h, w = frame.height, frame.width
        left, top = max(x0, 0), max(y0, 0)
        right, bottom = min(max(x0 + side, 0), w), min(max(y0 + side, 0), h)
        if right <= left or bottom <= top:
            return None
        crop = (CROP_SIZE, CROP_SIZE)
        if right - left == bottom - top == side:  # inside the frame: resized before RGB
            result = self._mesh.process(rgb_box(frame, left, top, right, bottom, crop))
        else:  # past the frame's edge: its border replicated
            roi = rgb_box(frame, left, top, right, bottom)
            top, left = max(-y0, 0), max(-x0, 0)
            bottom, right = side - top - roi.shape[0], side - left - roi.shape[1]
            if min(bottom, right) < 0:
                return None
            roi = cv2.copyMakeBorder(roi, top, bottom, left, right, cv2.BORDER_REPLICATE)
            shrink = cv2.INTER_AREA if side > CROP_SIZE else cv2.INTER_LINEAR
            result = self._mesh.process(cv2.resize(roi, crop, interpolation=shrink))
        if not result.multi_face_landmarks:
            return None
        found = result.multi_face_landmarks[0].landmark[: lm.NUM_MESH_POINTS]
        pts = np.array([(p.x, p.y, p.z) for p in found], np.float64) * side  # frame pixels
        pts[:, :2] += (x0, y0)
        return pts

    def close(self) -> None:
        self._mesh.close()


class TrackRecorder:
    """Collects ``FaceTracker``'s meshes frame by frame into a ``FaceTrackFrames``."""

    def __init__(self, expected_frames: int) -> None:
        n = max(expected_frames, 1)
        self._points = np.full((n, lm.NUM_MESH_POINTS, 3), np.nan, np.float32)
        self._found = np.zeros(n, bool)
        self._shots = np.zeros(n, np.int32)
        self._redness = np.full(n, np.nan, np.float32)
        self.count = 0

    def add(self, frame: Yuv420Frame, points: np.ndarray | None, shot: int) -> None:
        if self.count == len(self._found):  # the header's count was short: grow
            self._points = np.concatenate([self._points, np.full_like(self._points, np.nan)])
            self._found = np.concatenate([self._found, np.zeros_like(self._found)])
            self._shots = np.concatenate([self._shots, np.zeros_like(self._shots)])
            self._redness = np.concatenate([self._redness, np.full_like(self._redness, np.nan)])
        if points is not None:
            self._points[self.count] = points
            self._found[self.count] = True
            self._redness[self.count] = lip_redness(frame, points)
        self._shots[self.count] = shot
        self.count += 1

    def result(self) -> FaceTrackFrames:
        n = self.count
        return FaceTrackFrames(
            self._points[:n], self._found[:n], self._shots[:n], self._redness[:n]
        )


# Lip bands (between the outer and inner contours) and skin below the lower lip.
_LIP_SAMPLES = (*lm.UPPER_LIP_MID[2:-2], *lm.LOWER_LIP_MID[2:-2])
_CHIN_SAMPLES = (152, 175, 199, 200, 208, 428, 32, 262)


def lip_redness(frame: Yuv420Frame, points: np.ndarray) -> float:
    """How much redder (CIELAB a*) the lips are than the chin below them, from a few
    pixels at the mesh's points. A hand over the mouth (the mesh still places lips there)
    or a microphone takes it to about 0."""
    at = np.round(points[[*_LIP_SAMPLES, *_CHIN_SAMPLES], :2]).astype(int)
    at = np.clip(at, 0, (frame.width - 1, frame.height - 1))
    rgb = rgb_at(frame, at).astype(np.float32)[None] / np.float32(255)
    a = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[0, :, 1]
    n = len(_LIP_SAMPLES)
    return float(np.median(a[:n]) - np.median(a[n:]))


def smooth_points(track: FaceTrackFrames) -> None:
    """Take the mesh's frame-to-frame jitter out, in place: each mesh moves towards the
    mean of its neighbours ([1, 2, 1] / 4 over three frames of one shot, all with a face),
    fully when the face is still, not at all when it moves fast (speed over SMOOTH_SPEED
    eye spans a frame), so a turn of the head is never smeared. One frame's copy is held."""
    stable = list(lm.STABLE)
    pts, found, shots = track.points, track.found, track.shots
    before = None  # the previous frame's mesh as it was before smoothing
    for t in range(1, len(found) - 1):
        here = pts[t].copy()
        if found[t - 1] and found[t] and found[t + 1] and shots[t - 1] == shots[t + 1]:
            prev = before if before is not None else pts[t - 1]
            moved = np.linalg.norm(pts[t + 1, stable, :2] - prev[stable, :2], axis=1).mean()
            speed = moved / (2 * lm.eye_span(here))
            keep = 1.0 - np.exp(-((speed / SMOOTH_SPEED) ** 2))  # 0 still .. 1 fast
            mean = 0.25 * prev + 0.5 * here + 0.25 * pts[t + 1]
            pts[t] = here + (1.0 - keep) * (mean - here)
        before = here
