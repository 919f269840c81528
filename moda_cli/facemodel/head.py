"""The head rig: how pitch, yaw, roll, tx, ty, scale move a face's points, and back.

Forward (the renderer, ``render.rig``): a point X of the head moves to

    centre + (1 + scale) * (pivot + R (X' - pivot) - centre) + box_width * (tx, ty, 0)

with R = ``face.pose.rotation_matrix(pitch, yaw, roll)`` about a pivot behind the face and
towards the neck, and X' = X with its depth relief flattened to ``ROTATION_RELIEF``.
Inverse (``facemodel.inverse``): a similarity fit s R X + shift of a tracked face's rigid
points is read back as the same pose (the relief is the renderer's, not the face's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..face import landmarks as lm
from ..face.pose import euler_from_matrix, rotation_matrix

if TYPE_CHECKING:
    from .basis import FaceFrame

# Where the head turns, in face units (eye spans; x right, y down, z away from the camera):
# behind the face, in the head's middle, and towards the neck.
PIVOT_FACE = np.array([0.0, 0.3, 0.35])
# Depth relief kept when rotating: MediaPipe's cheeks fall away steeply at the face's
# side, and rotating the full relief folds the mesh there (a warp cannot occlude).
ROTATION_RELIEF = 0.55


@dataclass(frozen=True)
class HeadGeometry:
    """One face's rig, in its crop pixels (z scaled like x).

    centre:    (3,) mean of the face oval: scale is about this point.
    pivot:     (3,) where the head turns (``PIVOT_FACE`` in this face's frame).
    box_width: the mesh's extent in x: the unit of tx and ty.
    mean_z:    the mesh's mean depth, the level the relief is flattened towards.
    """

    centre: np.ndarray
    pivot: np.ndarray
    box_width: float
    mean_z: float

    @staticmethod
    def of(points: np.ndarray, frame: FaceFrame) -> HeadGeometry:
        """(468, 3) float64 mesh and its face frame -> its rig."""
        centre = points[list(lm.FACE_OVAL)].mean(axis=0)
        return HeadGeometry(
            centre=centre,
            pivot=centre + frame.vectors_to_crop(PIVOT_FACE),
            box_width=float(np.ptp(points[:, 0])),
            mean_z=float(points[:, 2].mean()),
        )

    def move(self, pts: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """(N, 3) points of the head -> where ``pose`` (pitch, yaw, roll, tx, ty, scale, ...)
        puts them."""
        rot = rotation_matrix(pose[0], pose[1], pose[2])
        rel = pts - self.pivot
        rel[:, 2] = (pts[:, 2] - self.mean_z) * ROTATION_RELIEF + (self.mean_z - self.pivot[2])
        moved = self.pivot + rel @ rot.T
        moved = self.centre + (1.0 + pose[5]) * (moved - self.centre)  # about the face
        moved[:, 0] += pose[3] * self.box_width
        moved[:, 1] += pose[4] * self.box_width
        return moved

    def pose_of(self, scale: np.ndarray, rot: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """Similarity fits X -> s R X + shift, (T,), (T, 3, 3), (T, 3) -> (T, 6) pose.

        The rig moves X to centre + (1 + scale) (pivot + R (X - pivot) - centre) + T, so
        scale = s - 1 and T = shift + s R pivot - s pivot + (s - 1) centre.
        """
        s = scale[:, None]
        pivot, centre = self.pivot, self.centre
        shift = shift + s * np.einsum("tij,j->ti", rot, pivot) - s * pivot + (s - 1.0) * centre
        out = np.zeros((len(s), 6))
        out[:, :3] = [euler_from_matrix(r) for r in rot]
        out[:, 3:5] = shift[:, :2] / self.box_width
        out[:, 5] = scale - 1.0
        return out
