"""Dubbing: a source frame's lower face warped from its own mouth shape to another.

The renderer's mouth fields of the core lip coefficients (``facemodel.basis.core_basis``:
jaw, rounding, spreading, pressing, tucking) are built once per shot on the shot's
reference face, in face units.
Each frame they are turned into that frame's pixels with its own face frame (rotation and
size), so a coefficient change moves the landmarks as it would on that face, and a
piecewise-affine warp (``warp.MeshWarp``) through the frame's own mesh moves the pixels.
Everything above the nose base is held still, and so is a ring around the lower face:
every pixel outside the warp's box is the source frame's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.sparse import csr_matrix

from ..face import landmarks as lm
from ..face.appearance import fill_polygon, inner_lip_polygon
from ..facemodel.basis import core_basis, face_frame, lip_gap
from ..facemodel.core import CORE_EXPRESSION_NAMES, LIP_NAMES
from ..video.source import rgb_box
from ..video.yuv import Yuv420Frame
from .mouth import paint_mouth
from .mouth_source import MouthLook, analyse_mouth
from .rig import face_triangles
from .warp import MeshWarp, Region

_MOUTH = [CORE_EXPRESSION_NAMES.index(n) for n in LIP_NAMES]  # jaw, round, spread, press, tuck
_JAW, _PRESS = LIP_NAMES.index("jaw_open"), LIP_NAMES.index("lip_press")
# Face units (eye spans, y down from the eye line): the still upper face ends at the nose
# base, the warp's full motion starts at the top of the upper lip.
STILL_ABOVE, MOVING_BELOW = 0.05, 0.16  # below the nose base (landmark 2)
RING_SCALE = 1.35  # the still ring: the lower face oval grown about the face's centre
FIELD_STEP_EYE = 0.04  # the warp field's grid step in eye spans (~2 crop px in the renderer)
_LOWER_OVAL = tuple(lm.FACE_OVAL[8:29])  # 454 round the chin to 234


def mouth_coefficients(lips: np.ndarray) -> np.ndarray:
    """(..., 5) LIP_NAMES params -> blend weights: jaw as the inner-lip gap in eye spans
    (``lip_gap``: pressed lips sealing it, lips parting behind the jaw, as the renderer
    and ``facemodel.inverse``'s reading of the source agree), the others as they are
    (``ExpressionBasis.coefficients``; its rest gap cancels in a change of shape)."""
    c = np.clip(np.asarray(lips, np.float64), 0.0, 1.0)
    out = c.copy()
    out[..., _JAW] = lip_gap(c[..., _JAW], c[..., _PRESS])
    return out


class TriangleWarp(MeshWarp):
    """``MeshWarp`` over a given triangle list, built in about a millisecond.

    MeshWarp triangulates its points and rasterizes triangle by triangle once per
    portrait; a video's mesh moves every frame, so here the grid nodes of all triangles
    are found in one vectorised pass, and only triangles that move are given (a node no
    triangle covers stays still). The field, its inversion and the remap are MeshWarp's.
    """

    def __init__(
        self, source: np.ndarray, triangles: np.ndarray, region: Region, step: int
    ) -> None:
        self.region, self.step = region, step
        gw = (region.x1 - region.x0 + step - 1) // step + 1
        gh = (region.y1 - region.y0 + step - 1) // step + 1
        self.grid_shape = (gh, gw)
        node, tri, weights = _rasterized(source, triangles, region, step, gw, gh)
        verts = triangles[tri]  # (N, 3)
        rows = np.repeat(node, 3)
        cols, vals = verts.ravel(), weights.ravel().astype(np.float32)
        self._interp = csr_matrix(
            (np.tile(vals, 2), (np.r_[2 * rows, 2 * rows + 1], np.r_[2 * cols, 2 * cols + 1])),
            shape=(2 * gw * gh, 2 * len(source)),
        )
        self.upsampled_size = ((gw - 1) * step + 1, (gh - 1) * step + 1)
        self._to_offsets = np.array([[step, 0, region.x0], [0, step, region.y0]], np.float32)


def _rasterized(
    source: np.ndarray, triangles: np.ndarray, region: Region, step: int, gw: int, gh: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid nodes inside the triangles: (node index (N,), its triangle (N,), barycentric
    weights (N, 3)), one triangle per node (the last one listed wins on shared edges)."""
    corners = source[triangles]  # (T, 3, 2)
    edges = np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=2)
    det = edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]
    origin = np.array([region.x0, region.y0], np.float64)
    lo = np.maximum(np.ceil((corners.min(axis=1) - origin) / step), 0).astype(np.int64)
    hi = np.minimum(np.floor((corners.max(axis=1) - origin) / step) + 1, (gw, gh)).astype(np.int64)
    span = np.maximum(hi - lo, 0)
    count = np.where(np.abs(det) > 1e-9, span[:, 0] * span[:, 1], 0)
    tri = np.repeat(np.arange(len(triangles)), count)
    k = np.arange(len(tri)) - np.repeat(np.cumsum(count) - count, count)
    nx = span[tri, 0]
    j, i = lo[tri, 0] + k % nx, lo[tri, 1] + k // nx
    rel = origin + step * np.stack([j, i], axis=1) - corners[tri, 0]  # (M, 2)
    e = edges[tri]
    d = det[tri]
    l1 = (e[:, 1, 1] * rel[:, 0] - e[:, 0, 1] * rel[:, 1]) / d
    l2 = (e[:, 0, 0] * rel[:, 1] - e[:, 1, 0] * rel[:, 0]) / d
    inside = (l1 >= -1e-6) & (l2 >= -1e-6) & (l1 + l2 <= 1 + 1e-6)
    winner = np.full(gw * gh, -1, np.int64)
    node = i * gw + j
    hits = np.flatnonzero(inside)
    winner[node[hits]] = hits
    chosen = winner[winner >= 0]
    weights = np.stack([1.0 - l1[chosen] - l2[chosen], l1[chosen], l2[chosen]], axis=1)
    return node[chosen], tri[chosen], weights


@dataclass(frozen=True)
class ShotMouth:
    """One shot's mouth blendshapes: (5, 468, 3) face units, each landmark's share of the
    motion (468,) (0 above the nose base), and the warp's triangles (T, 3) over the mesh
    and the still ring (indices 468 on), those with a vertex that can move."""

    shapes: np.ndarray
    share: np.ndarray
    triangles: np.ndarray


def shot_mouth(reference: np.ndarray, triangles: np.ndarray | None = None) -> ShotMouth:
    """Blendshapes built on a shot's reference mesh (468 or 478, 3) in frame pixels."""
    ref = lm.pad_iris(np.asarray(reference, np.float64))
    f = face_frame(ref).to_face(ref)
    shapes = core_basis(f)[_MOUTH, : lm.NUM_MESH_POINTS]
    below = f[: lm.NUM_MESH_POINTS, 1] - f[2, 1]
    share = np.clip((below - STILL_ABOVE) / (MOVING_BELOW - STILL_ABOVE), 0.0, 1.0)
    share = share * share * (3 - 2 * share)
    mesh = face_triangles() if triangles is None else triangles
    moving = np.r_[share > 0, np.zeros(len(_LOWER_OVAL), bool)]
    tris = np.vstack([mesh, _ring_strip()])
    return ShotMouth(shapes, share, tris[moving[tris].any(axis=1)])


def _ring_strip() -> np.ndarray:
    """(2(K - 1), 3) triangles between the lower oval and the still ring outside it."""
    oval = np.array(_LOWER_OVAL)
    ring = lm.NUM_MESH_POINTS + np.arange(len(oval))
    a, b, c, d = oval[:-1], oval[1:], ring[:-1], ring[1:]
    return np.vstack([np.stack([a, b, d], axis=1), np.stack([a, d, c], axis=1)])


def landmark_motion(mouth: ShotMouth, points: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """(468, 2) pixel displacements of a frame's mesh ``points`` (468, 3) for a change of
    mouth blend weights ``delta`` (5,)."""
    frame = face_frame(points)
    d = np.einsum("k,kpc->pc", delta, mouth.shapes) * mouth.share[:, None]
    return frame.vectors_to_crop(d)[:, :2]


def _still_ring(points: np.ndarray) -> np.ndarray:
    oval = points[list(_LOWER_OVAL), :2]
    centre = points[list(lm.FACE_OVAL), :2].mean(axis=0)
    return centre + RING_SCALE * (oval - centre)


def lower_face_region(points: np.ndarray, mouth: ShotMouth, size: tuple[int, int]) -> Region | None:
    """The box ``warp_lower_face`` may change in a frame of ``size`` (w, h) with mesh
    ``points``: the moving landmarks and the still ring, even corners; None when too small."""
    w, h = size
    box = np.vstack([points[mouth.share > 0, :2], _still_ring(points)])
    x0, y0 = np.maximum(np.floor(box.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(box.max(axis=0)).astype(int) + 1, (w, h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    return Region(int(x0), int(y0), int(x1), int(y1)).even(w, h)


def warp_lower_face(
    image: np.ndarray, points: np.ndarray, motion: np.ndarray, mouth: ShotMouth
) -> tuple[np.ndarray, Region] | None:
    """The lower face of ``image`` (H, W, 3) moved by ``motion`` (468, 2) at ``points``:
    (the warped box's pixels, the box), or None when nothing moves."""
    if not np.abs(motion).max() > 0.05:
        return None
    h, w = image.shape[:2]
    region = lower_face_region(points, mouth, (w, h))
    if region is None:
        return None
    ring = _still_ring(points)
    src = np.vstack([points[:, :2], ring])  # the mesh, then the still ring
    disp = np.vstack([motion, np.zeros((len(ring), 2))])
    step = max(1, int(round(FIELD_STEP_EYE * lm.eye_span(points))))
    warp = TriangleWarp(src, mouth.triangles, region, step)
    return warp.apply(image, disp), region


# ----------------------------------------------------------------------------- the mouth inside

# Lower edges of the library's bins of inner-lip gap, in eye spans: one source mouth each.
GAP_BINS = np.array([0.03, 0.045, 0.06, 0.08, 0.1, 0.125, 0.15, 0.18])
FILL_FROM, FILL_FULL = 0.005, 0.025  # target gap beyond the source's (eye spans): blend range
CROP_MARGIN = 0.3  # eye spans kept around the outer lips of a library mouth
RIM = 0.012  # eye spans of lip edge at the inner-lip contour (``mouth_source.RIM``)
# The portrait renderer's working crop (``face.detect.working_crop``): 2.3 face sizes, 256
# to 512 px; the painter's fixed lengths are in its pixels.
PAINT_CROP_SCALE, PAINT_CROP_MIN, PAINT_CROP_MAX = 2.3, 256, 512
LIGHT_GAIN = (0.6, 1.6)  # per channel, the most a source mouth's light is changed by
_LIGHT_POINTS = (*lm.UPPER_LIP_MID[2:-2], *lm.LOWER_LIP_MID[2:-2], 152, 175, 199, 200)
_UPPER, _LOWER = np.array(lm.UPPER_INNER_LIP), np.array(lm.LOWER_INNER_LIP)
_CORNERS = lm.INNER_MOUTH_CORNERS


@dataclass(frozen=True)
class _Opening:
    """The opening between the inner lips in mouth coordinates: ``origin`` the left inner
    corner, ``along`` the corner-to-corner vector, ``down`` its unit normal, and the upper
    and lower contours as (11, 2) (u in 0..1 along, y in pixels down)."""

    origin: np.ndarray
    along: np.ndarray
    down: np.ndarray
    upper: np.ndarray
    lower: np.ndarray


def _opening(points: np.ndarray) -> _Opening:
    a, b = points[_CORNERS[0], :2], points[_CORNERS[1], :2]
    along = b - a
    length2 = max(float(along @ along), 1e-6)
    down = np.array([-along[1], along[0]]) / np.sqrt(length2)

    def uy(idx: np.ndarray) -> np.ndarray:
        rel = points[idx, :2] - a
        return np.stack([rel @ along / length2, rel @ down], axis=1)

    return _Opening(a, along, down, uy(_UPPER), uy(_LOWER))


def _contour(c: np.ndarray, u: np.ndarray) -> np.ndarray:
    order = np.argsort(c[:, 0])
    return np.interp(u, c[order, 0], c[order, 1])


@dataclass(frozen=True)
class _SourceMouth:
    """A source frame's open mouth: ``pixels`` (h, w, 3) around it, its mesh (468, 2) in
    those pixels, its inner-lip gap in eye spans, and how squarely it faced the camera."""

    pixels: np.ndarray
    points: np.ndarray
    gap: float
    facing: float


def mouth_gap(points: np.ndarray) -> float:
    """Inner-lip gap (13-14) in eye spans."""
    a, b = lm.INNER_LIP_MID
    return float(np.linalg.norm(points[b, :2] - points[a, :2])) / lm.eye_span(points)


class MouthLibrary:
    """The source's own open mouths (teeth, tongue, the dark inside, in its light), one per
    bin of opening, the most frontal seen; ``offer`` every tracked frame, then ``fill``
    a warped frame whose mouth opens wider than its source frame's with the mouth of the
    nearest opening, mapped column by column from its opening onto the target's."""

    def __init__(self) -> None:
        self.mouths: dict[int, _SourceMouth] = {}
        self._face: _SourceMouth | None = None  # the most frontal face, for painting
        self._look: MouthLook | None = None
        self._px = 1.0

    def offer(self, frame: Yuv420Frame, points: np.ndarray) -> None:
        """A tracked frame and its mesh (468, 3): kept if it is the most frontal
        mouth of its opening seen so far (and the most frontal face, for ``finish``)."""
        gap = mouth_gap(points)
        facing = abs(float(face_frame(lm.pad_iris(points)).axes[2, 2]))
        if self._face is None or facing > self._face.facing:
            self._face = _crop(frame, points, range(lm.NUM_MESH_POINTS), 0.2, gap, facing)
        if gap < GAP_BINS[0]:
            return
        k = int(np.searchsorted(GAP_BINS, gap, side="right")) - 1
        if k not in self.mouths or self.mouths[k].facing < facing:
            lips = [*lm.UPPER_OUTER_LIP, *lm.LOWER_OUTER_LIP]
            self.mouths[k] = _crop(frame, points, lips, CROP_MARGIN, gap, facing)

    def finish(self) -> None:
        """After the last ``offer``: a source that never opens its mouth gets the painted
        interior of the portrait renderer (``mouth.paint_mouth``), from its most frontal
        face: its lip colour, light, blur and grain, teeth from its whites."""
        self._face, face = None, self._face
        if self.mouths or face is None:
            return
        side = PAINT_CROP_SCALE * float(np.ptp(face.points, axis=0).max())
        self._px = side / min(PAINT_CROP_MAX, max(PAINT_CROP_MIN, side))  # as the renderer's
        unit = lm.eye_span(face.points)
        self._look = analyse_mouth(face.pixels, lm.pad_iris(face.points), unit, self._px)

    def fill(
        self,
        patch: np.ndarray,
        origin: tuple[int, int],
        points: np.ndarray,
        motion: np.ndarray,
        weight: float,
    ) -> None:
        """Blend a source mouth into the target opening of ``patch`` (a warped box at
        ``origin`` in the frame), in place, where the target opens wider than the source."""
        target = points[:, :2] + motion
        excess = mouth_gap(target) - mouth_gap(points)
        alpha = weight * float(np.clip((excess - FILL_FROM) / (FILL_FULL - FILL_FROM), 0.0, 1.0))
        if alpha <= 0.0 or not (self.mouths or self._look):
            return
        poly = inner_lip_polygon(target) - origin
        h, w = patch.shape[:2]
        x0, y0 = np.maximum(np.floor(poly.min(axis=0)).astype(int) - 1, 0)
        x1, y1 = np.minimum(np.ceil(poly.max(axis=0)).astype(int) + 2, (w, h))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        box = patch[y0:y1, x0:x1]
        if self._look is not None:  # painted: the source never opens its mouth
            painted = np.array(patch)
            unit = lm.eye_span(points)
            paint_mouth(painted, lm.pad_iris(target) - origin, self._look, unit, self._px)
            box[...] = np.clip(
                box + (painted[y0:y1, x0:x1].astype(np.float32) - box) * alpha, 0, 255
            ).astype(np.uint8)
            return
        gap = mouth_gap(target)
        # The nearest opening at least as wide: squeezing a wider mouth keeps its teeth,
        # stretching a narrower one turns them into a grey grille.
        best = min(self.mouths.values(), key=lambda m: (m.gap < gap, abs(m.gap - gap)))
        span = lm.eye_span(points)
        mapped = _map_opening(best, target - origin, x0, y0, (x1 - x0, y1 - y0))
        # In this frame's light: the lips' and chin's colour here over theirs there (a
        # camera's exposure and white balance drift; a lamp moves).
        gain = _light(patch, target - origin) / np.maximum(_light(best.pixels, best.points), 1.0)
        mapped *= np.clip(gain, *LIGHT_GAIN).astype(np.float32)
        # The warped lips keep the opening's rim: the source mouth fills it from a little
        # inside, feathered, so no second lip edge shows within the first.
        inside = fill_polygon(box.shape, poly - (x0, y0))
        rim = max(RIM * span, 0.5)
        inside = np.clip(cv2.GaussianBlur(inside, (0, 0), rim) * 2.0 - 1.0, 0.0, 1.0)
        blend = (inside * np.float32(alpha))[..., None]
        box[...] = np.clip(box + (mapped - box) * blend, 0, 255).astype(np.uint8)


def _light(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(3,) median RGB of ``image`` at the lips' middle rows and the chin of ``points``."""
    h, w = image.shape[:2]
    at = np.clip(np.round(points[list(_LIGHT_POINTS), :2]).astype(int), 0, (w - 1, h - 1))
    return np.median(image[at[:, 1], at[:, 0]].astype(np.float32), axis=0)


def _crop(
    frame: Yuv420Frame,
    points: np.ndarray,
    around: Sequence[int],
    margin: float,
    gap: float,
    facing: float,
) -> _SourceMouth:
    """The frame's pixels around landmarks ``around`` (``margin`` eye spans more), in RGB."""
    pts = points[list(around), :2]
    pad = margin * lm.eye_span(points)
    w, h = frame.width, frame.height
    x0, y0 = (int(v) for v in np.clip(np.floor(pts.min(axis=0) - pad), 0, (w - 1, h - 1)))
    x1, y1 = (
        int(v)
        for v in np.maximum(np.minimum(np.ceil(pts.max(axis=0) + pad), (w, h)), (x0 + 1, y0 + 1))
    )
    return _SourceMouth(rgb_box(frame, x0, y0, x1, y1), points[:, :2] - (x0, y0), gap, facing)


def _map_opening(
    mouth: _SourceMouth, target: np.ndarray, x0: int, y0: int, size: tuple[int, int]
) -> np.ndarray:
    """(h, w, 3) float32: ``mouth``'s opening resampled onto the target opening in the box
    of ``size`` (w, h) at (x0, y0) of the target's pixels: each pixel's place along the
    corners and between the inner lips is found in the source mouth's opening."""
    t, s = _opening(target), _opening(mouth.points)
    xx, yy = np.meshgrid(
        np.arange(x0, x0 + size[0], dtype=np.float64), np.arange(y0, y0 + size[1], dtype=np.float64)
    )
    rel = np.stack([xx, yy], axis=-1) - t.origin
    u = rel @ t.along / max(float(t.along @ t.along), 1e-6)
    y = rel @ t.down
    top, bottom = _contour(t.upper, u), _contour(t.lower, u)
    v = (y - top) / np.maximum(bottom - top, 0.5)
    s_top, s_bottom = _contour(s.upper, u), _contour(s.lower, u)
    # The mesh's inner lip lies on the lip, a little outside the dark: inset by RIM.
    inset = np.minimum(RIM * lm.eye_span(mouth.points), 0.25 * (s_bottom - s_top))
    s_top, s_bottom = s_top + inset, s_bottom - inset
    ys = s_top + v * (s_bottom - s_top)
    src = s.origin + u[..., None] * s.along + ys[..., None] * s.down
    maps = src.astype(np.float32)
    return cv2.remap(
        mouth.pixels,
        maps,
        None,
        cv2.INTER_LINEAR,  # type: ignore[call-overload]
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)
