"""From one row of the joint motion space to target 2D positions of the warp's control points.

Control points: the 468 mesh landmarks (the iris points are left out: they would fold
against the lids in a blink), then two rings that carry the head's rigid motion into the
hair, ears, hats and neck, then a still ring and the crop border, which never move.

The rings follow the segmented person (``person``, see render/layer.py): the "near ring"
hugs the face oval, the "head ring" lies just outside the person's outline (hair
included), and the still ring a gap further out, so the whole head moves as one and the
field bends only over the scene, which the renderer does not warp. Below the chin the
rings follow less and less: the neck twists, the shoulders stay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..face import landmarks as lm
from ..face.mediapipe_import import import_mediapipe
from ..facemodel.basis import ExpressionBasis, build_basis
from ..facemodel.head import HeadGeometry
from ..facemodel.params import EXPRESSION_SLICE, HIGH, LOW, NUM_PARAMS

# Ring sizes are in oval radii: a ring point sits at centre + scale * (oval point - centre).
NEAR_RING_SCALE = 1.3
NEAR_RING_SCALE_CHIN = 1.5  # further below the chin, so an open jaw does not fold the neck
HEAD_MARGIN = 0.15  # head ring outside the person's outline: the silhouette moves rigidly
HEAD_RING_MIN_GAP = 0.2  # head ring at least this far outside the near ring
HEAD_RING_MAX = 2.2  # hair further out than this bends with the field instead
STILL_GAP = 0.35  # still ring outside the head ring: room for the head to move without folding
BODY_DIRECTION = 0.6  # rays this close to straight down the face meet the body, not an outline
ROOM = 0.7  # a ring point moves at most this share of its distance to the nearest still point
RING_SMOOTH = 2  # neighbours on each side a ring point takes its extent from (no sharp spikes)
EXTENT_STEP = 0.05  # outline search step along each ray
NECK_FADE = 0.8  # face heights below the chin over which the rings' rigid motion fades to 0
BORDER_INSET = 8  # pixels: ring points stay this far inside the crop
BORDER_STEP = 64  # crop-border anchor spacing in pixels
POSE_LIMIT = 1.5  # pose params are clipped to 1.5 x their documented range


@dataclass(frozen=True)
class ControlPoints:
    """source: (V, 2) crop pixels; the first ``num_face`` are landmarks, then ``num_ring``
    ring points that move with the head, then still anchors.

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


def _chin_scale(rays: np.ndarray, down: np.ndarray, low: float, high: float) -> np.ndarray:
    """Per-ray scale: ``high`` straight down the face, ``low`` elsewhere."""
    below = np.clip(rays @ down / np.linalg.norm(rays, axis=1), 0.0, 1.0) ** 2
    return low + (high - low) * below


def _outline_scale(person: np.ndarray, centre: np.ndarray, rays: np.ndarray) -> np.ndarray:
    """Per ray (K, 2) from ``centre``: the scale where the person mask (S, S) first ends."""
    scales = np.arange(1.0, HEAD_RING_MAX + EXTENT_STEP, EXTENT_STEP)
    pts = np.rint(centre + scales[None, :, None] * rays[:, None]).astype(int)  # (K, n, 2)
    size = person.shape[0]
    inside = (pts >= 0).all(axis=2) & (pts < size).all(axis=2)
    on = np.zeros(inside.shape, bool)
    on[inside] = person[pts[inside][:, 1], pts[inside][:, 0]] > 0.5
    first_off = np.where(on.all(axis=1), len(scales) - 1, np.argmin(on, axis=1))
    return scales[first_off]


def _border_scale(centre: np.ndarray, rays: np.ndarray, size: int) -> np.ndarray:
    """Per ray: the scale at which it comes within BORDER_INSET pixels of the crop border."""
    lo, hi = BORDER_INSET - centre, size - 1 - BORDER_INSET - centre  # (2,) each
    with np.errstate(divide="ignore"):
        t = np.where(rays > 0, hi / rays, np.where(rays < 0, lo / rays, np.inf))
    return t.min(axis=1)


def _circular_max(values: np.ndarray, radius: int) -> np.ndarray:
    return np.max([np.roll(values, k) for k in range(-radius, radius + 1)], axis=0)


def _border(size: int) -> np.ndarray:
    ticks = np.arange(0, size, BORDER_STEP, dtype=np.float64)
    last = float(size - 1)
    pts = [(t, 0.0) for t in ticks] + [(last, t) for t in ticks]
    pts += [(last - t, last) for t in ticks] + [(0.0, last - t) for t in ticks]
    return np.array(pts)


class HeadRig:
    """Precomputed per portrait: the expression basis, the head's rig and control points.

    person: (crop_size, crop_size) float32, 1 on the person whose head moves (layer.py).
    """

    def __init__(self, landmarks: np.ndarray, crop_size: int, person: np.ndarray) -> None:
        self.points = landmarks[: lm.NUM_MESH_POINTS].astype(np.float64)
        self.basis: ExpressionBasis = build_basis(landmarks)
        oval = self.points[list(lm.FACE_OVAL)]
        fr = self.basis.frame
        self.head = HeadGeometry.of(self.points, fr)
        c2, rays = self.head.centre[:2], oval[:, :2] - self.head.centre[:2]
        down = fr.axes[:2, 1] / np.linalg.norm(fr.axes[:2, 1])
        near = _chin_scale(rays, down, NEAR_RING_SCALE, NEAR_RING_SCALE_CHIN)
        border = _border_scale(c2, rays, crop_size)
        head = np.maximum(_outline_scale(person, c2, rays) + HEAD_MARGIN, near + HEAD_RING_MIN_GAP)
        # Down the neck the person goes on into the body, which hardly follows the head.
        body = rays @ down > BODY_DIRECTION * np.linalg.norm(rays, axis=1)
        head[body] = near[body] + HEAD_RING_MIN_GAP
        head = _circular_max(np.minimum(head, HEAD_RING_MAX), RING_SMOOTH)
        head = np.minimum(head, border - STILL_GAP)
        still = _circular_max(head, RING_SMOOTH) + STILL_GAP
        near = np.minimum(near, border)
        apart = head >= near + 0.5 * HEAD_RING_MIN_GAP  # where the border squeezes them, one ring
        rings = np.vstack([c2 + near[:, None] * rays, (c2 + head[:, None] * rays)[apart]])
        # The rings move as rigid points of the head at their oval point's depth.
        self.rings = np.hstack([rings, np.vstack([oval[:, 2:], oval[apart, 2:]])])  # (R, 3)
        chin = self.points[lm.CHIN, :2]
        face_height = float(np.linalg.norm(chin - self.points[lm.FOREHEAD, :2]))
        below = np.maximum((rings - chin) @ down, 0.0) / face_height
        self.ring_follow = np.clip(1.0 - below / NECK_FADE, 0.0, 1.0)  # (R,)
        fixed = np.vstack([(c2 + still[:, None] * rays)[still < border], _border(crop_size)])
        # Past its room a ring point would fold the field against the still points (a pose
        # beyond natural motion): the outline then bends instead of tearing.
        self.ring_room = ROOM * np.linalg.norm(rings[:, None] - fixed[None], axis=2).min(axis=1)
        self.control = ControlPoints(
            source=np.vstack([self.points[:, :2], rings, fixed]),
            num_face=len(self.points),
            num_ring=len(rings),
            face_triangles=face_triangles(),
        )

    def _pose(self, params: np.ndarray) -> np.ndarray:
        """(58,) params -> the same, clipped so the mesh cannot fold."""
        p = np.asarray(params, np.float64)
        if p.shape != (NUM_PARAMS,):
            raise ValueError(f"params must have shape ({NUM_PARAMS},), got {p.shape}")
        return np.clip(p, LOW * POSE_LIMIT, HIGH * POSE_LIMIT)

    def face_targets(self, params: np.ndarray) -> np.ndarray:
        """(58,) params -> (468, 3) target landmark positions in crop pixels."""
        p = self._pose(params)
        moved = self.points + self.basis.displace(p[EXPRESSION_SLICE])[: lm.NUM_MESH_POINTS]
        return self.head.move(moved, p)

    def displacements(self, targets: np.ndarray, params: np.ndarray) -> np.ndarray:
        """(468, 3) face targets and their (58,) params -> (V, 2) displacement of every
        control point: the rings follow the head's pose (no expression), faded below the chin."""
        face = targets[:, :2] - self.points[:, :2]
        rings = self.head.move(self.rings, self._pose(params))[:, :2] - self.rings[:, :2]
        rings *= self.ring_follow[:, None]
        length = np.linalg.norm(rings, axis=1)
        rings *= np.minimum(1.0, self.ring_room / np.maximum(length, 1e-9))[:, None]
        fixed = np.zeros((len(self.control.source) - len(face) - len(rings), 2))
        return np.vstack([face, rings, fixed])
