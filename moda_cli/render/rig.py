"""From one row of the joint motion space to target 2D positions of the warp's control points.

Control points: the 468 mesh landmarks (the iris points are left out: they would fold
against the lids in a blink), then a "head ring" around the face oval that carries part
of the face's motion into the hair and neck, then an "outer ring" and the crop border,
which never move, so the background stays still.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..face import landmarks as lm
from ..face.mediapipe_import import import_mediapipe
from ..face.pose import rotation_matrix
from ..motion.params import EXPRESSION_SLICE, HIGH, LOW, NUM_PARAMS
from .blendshapes import ExpressionBasis, build_basis

HEAD_RING_SCALE = 1.3  # head ring = face oval scaled about the face centre
HEAD_RING_SCALE_CHIN = 1.5  # further below the chin, so an open jaw does not fold the neck
HEAD_RING_FOLLOW = 0.75  # fraction of the nearest oval point's motion the ring follows
OUTER_RING_SCALE = 2.0
BORDER_STEP = 64  # crop-border anchor spacing in pixels
POSE_LIMIT = 1.5  # pose params are clipped to 1.5 x their documented range
# Depth relief kept when rotating: MediaPipe's cheeks fall away steeply at the face's
# side, and rotating the full relief folds the mesh there (a warp cannot occlude).
ROTATION_RELIEF = 0.55


@dataclass(frozen=True)
class ControlPoints:
    """source: (V, 2) crop pixels; the first ``num_face`` are landmarks, then the head ring.

    face_triangles: (T, 3) the mesh's own triangles (eye and mouth openings filled), which
    the warp prefers over its Delaunay triangulation: Delaunay edges may cross an eyelid
    or lip line, and such a triangle folds as soon as the lid or lip moves.
    """

    source: np.ndarray
    num_face: int
    num_ring: int
    face_triangles: np.ndarray


def _strip(upper: tuple[int, ...], lower: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """Triangles filling the opening between two contours that share their end points."""
    tris = []
    for i in range(len(upper) - 1):
        for tri in ((upper[i], upper[i + 1], lower[i + 1]), (upper[i], lower[i + 1], lower[i])):
            if len(set(tri)) == 3:
                tris.append(tri)
    return tris


def face_triangles() -> np.ndarray:
    """(T, 3) MediaPipe's tesselation as triangles, plus the eye and mouth openings."""
    import_mediapipe()
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    adj: dict[int, set[int]] = {}
    for a, b in FACEMESH_TESSELATION:
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    tris = {tuple(sorted((a, b, c))) for a, b in FACEMESH_TESSELATION for c in adj[a] & adj[b]}
    eye_r = _strip((33, *lm.RIGHT_UPPER_LID, 133), (33, *lm.RIGHT_LOWER_LID, 133))
    eye_l = _strip((263, *lm.LEFT_UPPER_LID, 362), (263, *lm.LEFT_LOWER_LID, 362))
    mouth = _strip(lm.UPPER_INNER_LIP, lm.LOWER_INNER_LIP)
    return np.array(sorted(tris) + eye_r + eye_l + mouth, np.int64)


def _ring(centre: np.ndarray, oval: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return centre + (oval - centre) * scale[:, None]


def _chin_scale(oval: np.ndarray, centre: np.ndarray, low: float, high: float) -> np.ndarray:
    """Per-oval-point ring scale: ``high`` straight below the centre, ``low`` elsewhere."""
    direction = (oval - centre) / (np.linalg.norm(oval - centre, axis=1, keepdims=True) + 1e-9)
    below = np.clip(direction[:, 1], 0.0, 1.0) ** 2
    return low + (high - low) * below


def _border(size: int) -> np.ndarray:
    ticks = np.arange(0, size, BORDER_STEP, dtype=np.float64)
    last = float(size - 1)
    pts = [(t, 0.0) for t in ticks] + [(last, t) for t in ticks]
    pts += [(last - t, last) for t in ticks] + [(0.0, last - t) for t in ticks]
    return np.array(pts)


class HeadRig:
    """Precomputed per portrait: the expression basis, pivot and control points."""

    def __init__(self, landmarks: np.ndarray, crop_size: int) -> None:
        self.points = landmarks[: lm.NUM_MESH_POINTS].astype(np.float64)
        self.basis: ExpressionBasis = build_basis(landmarks)
        oval = self.points[list(lm.FACE_OVAL)]
        self.centre = oval.mean(axis=0)
        self.box_width = float(np.ptp(self.points[:, 0]))
        fr = self.basis.frame
        # The head turns about a point behind the face (the head's middle) and towards the neck.
        self.pivot = self.centre + fr.vectors_to_crop(np.array([0.0, 0.3, 0.35]))
        self.mean_z = float(self.points[:, 2].mean())
        c2 = self.centre[:2]
        head = _ring(
            c2, oval[:, :2], _chin_scale(oval[:, :2], c2, HEAD_RING_SCALE, HEAD_RING_SCALE_CHIN)
        )
        outer = _ring(c2, oval[:, :2], np.full(len(oval), OUTER_RING_SCALE))
        inside = np.all((outer > 8) & (outer < crop_size - 9), axis=1)
        self.outer_ring = outer[inside]  # in the crop only; otherwise the border anchors hold it
        self.head_ring = head
        fixed = np.vstack([self.outer_ring, _border(crop_size)])
        self.control = ControlPoints(
            source=np.vstack([self.points[:, :2], head, fixed]),
            num_face=len(self.points),
            num_ring=len(head),
            face_triangles=face_triangles(),
        )

    def face_targets(self, params: np.ndarray) -> np.ndarray:
        """(17,) params -> (468, 3) target landmark positions in crop pixels."""
        p = np.clip(np.asarray(params, np.float64), LOW * POSE_LIMIT, HIGH * POSE_LIMIT)
        if p.shape != (NUM_PARAMS,):
            raise ValueError(f"params must have shape ({NUM_PARAMS},), got {p.shape}")
        moved = self.points + self.basis.displace(p[EXPRESSION_SLICE])[: lm.NUM_MESH_POINTS]
        rot = rotation_matrix(p[0], p[1], p[2])
        rel = moved - self.pivot
        rel[:, 2] = (moved[:, 2] - self.mean_z) * ROTATION_RELIEF + (self.mean_z - self.pivot[2])
        moved = self.pivot + rel @ rot.T
        moved = self.centre + (1.0 + p[5]) * (
            moved - self.centre
        )  # scale about the face, not the pivot
        moved[:, 0] += p[3] * self.box_width
        moved[:, 1] += p[4] * self.box_width
        return moved

    def displacements(self, targets: np.ndarray) -> np.ndarray:
        """(468, 3) face targets -> (V, 2) displacement of every control point."""
        face = targets[:, :2] - self.points[:, :2]
        ring = HEAD_RING_FOLLOW * face[list(lm.FACE_OVAL)]
        fixed = np.zeros((len(self.control.source) - len(face) - len(ring), 2))
        return np.vstack([face, ring, fixed])
