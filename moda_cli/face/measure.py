"""Measuring faces in RENDERED frames, from pixels only.

Tests and the evaluation judge videos with this, independently of how the frames were
made: mouth and eye openings as scale-free ratios, head rotation relative to a reference
mesh. All ratios divide by the outer eye-corner distance (or the eye's own width), so
they do not depend on the frame size or the face's distance from the camera.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .landmarks import (
    INNER_LIP_MID,
    LEFT_EYE_CORNERS,
    LEFT_LOWER_LID,
    LEFT_UPPER_LID,
    MOUTH_CORNERS,
    NUM_MESH_POINTS,
    RIGHT_EYE_CORNERS,
    RIGHT_LOWER_LID,
    RIGHT_UPPER_LID,
    STABLE,
    eye_span,
)
from .mediapipe_import import import_mediapipe
from .pose import euler_from_matrix, fit_similarity
from .types import NUM_LANDMARKS


@dataclass
class FaceMeasurements:
    """Per-frame measurements, each (T,); NaN where no face was detected.

    mouth_open:  inner-lip gap (13-14) / outer eye-corner distance (33-263).
    mouth_width: mouth corner distance (61-291) / eye-corner distance.
    eye_open_left, eye_open_right: subject's lid gap (middle three pairs) / that eye's width.
    pitch, yaw, roll: degrees relative to the reference mesh (``face.pose`` conventions).
    """

    detected: np.ndarray
    mouth_open: np.ndarray
    mouth_width: np.ndarray
    eye_open_left: np.ndarray
    eye_open_right: np.ndarray
    pitch: np.ndarray
    yaw: np.ndarray
    roll: np.ndarray

    def __len__(self) -> int:
        return int(self.detected.shape[0])


_FIELDS = ("mouth_open", "mouth_width", "eye_open_left", "eye_open_right", "pitch", "yaw", "roll")


_EYES: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, int]]] = {
    "left": (LEFT_UPPER_LID, LEFT_LOWER_LID, LEFT_EYE_CORNERS),
    "right": (RIGHT_UPPER_LID, RIGHT_LOWER_LID, RIGHT_EYE_CORNERS),
}


def eye_opening(pts: np.ndarray, eye: Literal["left", "right"]) -> np.ndarray:
    """The subject's ``eye``: lid gap over the eye's width, in the x-y plane.

    pts: (..., >=468, >=2) meshes -> (...) ratios. The gap is the mean of the middle three
    margin pairs, where it is largest; the one definition of an eye's opening for measuring
    rendered frames (qc, tests) and for reading blinks from videos (``facemodel.inverse``).
    """
    upper, lower, corners = _EYES[eye]
    gap = np.linalg.norm(
        pts[..., list(upper[2:5]), :2] - pts[..., list(lower[2:5]), :2], axis=-1
    ).mean(axis=-1)
    width = np.linalg.norm(pts[..., corners[0], :2] - pts[..., corners[1], :2], axis=-1) + 1e-6
    return np.asarray(gap / width)


def measure_points(pts: np.ndarray, reference: np.ndarray | None) -> dict[str, float]:
    """One (>=468, 3) mesh in pixels -> the scalar measurements (rotation vs ``reference``)."""
    span = eye_span(pts)
    out = {
        "mouth_open": float(
            np.linalg.norm(pts[INNER_LIP_MID[0], :2] - pts[INNER_LIP_MID[1], :2]) / span
        ),
        "mouth_width": float(
            np.linalg.norm(pts[MOUTH_CORNERS[0], :2] - pts[MOUTH_CORNERS[1], :2]) / span
        ),
        "eye_open_left": float(eye_opening(pts, "left")),
        "eye_open_right": float(eye_opening(pts, "right")),
        "pitch": 0.0,
        "yaw": 0.0,
        "roll": 0.0,
    }
    if reference is not None:
        idx = list(STABLE)
        _, rot, _ = fit_similarity(reference[idx].astype(np.float64), pts[idx].astype(np.float64))
        out["pitch"], out["yaw"], out["roll"] = euler_from_matrix(rot)
    return out


class FaceMeter:
    """MediaPipe's mesh in video mode on rendered frames.

    reference: (>=468, 3) mesh in pixels that defines zero rotation; by default the first
    frame where a face is found. ``static=True`` re-detects every frame (for unrelated
    frames, e.g. renders of different parameters) instead of tracking. ``iris=True``:
    ``landmarks`` keeps the refined model's 10 iris points (478 in all).
    """

    def __init__(
        self, reference: np.ndarray | None = None, static: bool = False, iris: bool = False
    ) -> None:
        import_mediapipe()
        from mediapipe.python.solutions import face_mesh

        # The attention (refined) model tracks lids and lips better; the plain one is the
        # fallback for frames where the refined model finds nothing.
        self._meshes = [
            face_mesh.FaceMesh(static_image_mode=static, refine_landmarks=refine, max_num_faces=1)
            for refine in (True, False)
        ]
        self.reference = (
            None if reference is None else np.asarray(reference, np.float64)[:NUM_MESH_POINTS]
        )
        self._points = NUM_LANDMARKS if iris else NUM_MESH_POINTS

    def landmarks(self, frame: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB -> (468, 3) mesh in pixels (z scaled like x), or None;
        (478, 3) with ``iris``, the iris rows NaN where only the plain model found the face."""
        frame = np.ascontiguousarray(frame)
        for mesh in self._meshes:
            result = mesh.process(frame)
            if result.multi_face_landmarks:
                lms = result.multi_face_landmarks[0].landmark[: self._points]
                pts = np.full((self._points, 3), np.nan)
                pts[: len(lms)] = [(p.x, p.y, p.z) for p in lms]
                return pts * (frame.shape[1], frame.shape[0], frame.shape[1])
        return None

    def measure_frames(self, frames: Iterable[np.ndarray]) -> FaceMeasurements:
        detected: list[bool] = []
        values: dict[str, list[float]] = {k: [] for k in _FIELDS}
        for frame in frames:
            pts = self.landmarks(frame)
            detected.append(pts is not None)
            if pts is None:
                for k in _FIELDS:
                    values[k].append(float("nan"))
                continue
            if self.reference is None:
                self.reference = pts
            for k, v in measure_points(pts, self.reference).items():
                values[k].append(v)
        arrays = {k: np.asarray(v, np.float64) for k, v in values.items()}
        return FaceMeasurements(detected=np.asarray(detected, bool), **arrays)

    def close(self) -> None:
        for mesh in self._meshes:
            mesh.close()
