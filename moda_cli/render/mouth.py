"""The mouth interior, painted into the opening between the target inner lips.

The warp can only stretch what the photo shows, and between closed lips that is a thin
seam. So wherever the target inner lips part, the opening is painted, and only inside
them: its soft edge lies within the inner-lip contour, so the lips' own pixels frame it
and keep their colour. What it shows comes from the photo (``mouth_source.MouthLook``):
a cavity of the lip colour darkened, deeper towards the throat and the corners, a hint
of tongue low in a wide mouth, the upper teeth rigid with the skull (carried by the nose
base), the lower teeth with the jaw (carried by the chin), soft shadows under both lips.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face import landmarks as lm
from ..face.appearance import GRAIN_TILE, fill_polygon
from .mouth_source import (
    LOWER_ANCHORS,
    LOWER_SHADOW,
    UPPER_ANCHORS,
    UPPER_SHADOW,
    Layer,
    MouthLook,
    contour_at,
    mid_gap,
)

MIN_GAP_PX = 1.0  # below this (in working-crop pixels) the lips touch: nothing to paint
# Synthesized lower teeth sit behind the lower lip; as the opening passes REVEAL_FROM eye
# spans the lip is drawn down off them (by REVEAL_RATE of the excess, at most REVEAL_MAX,
# ~2.4 mm): lower teeth show only in wide openings, and less than the upper ones.
REVEAL_FROM, REVEAL_RATE, REVEAL_MAX = 0.1, 0.5, 0.025
_UPPER, _LOWER = np.array(lm.UPPER_INNER_LIP), np.array(lm.LOWER_INNER_LIP)
_UPPER_ANCHORS, _LOWER_ANCHORS = np.array(UPPER_ANCHORS), np.array(LOWER_ANCHORS)
_F32 = np.float32


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) least-squares rotation, scale and shift taking (N, 2) ``src`` to ``dst``."""
    zs, zd = src[:, 0] + 1j * src[:, 1], dst[:, 0] + 1j * dst[:, 1]  # points as complex
    ms, md = zs.mean(), zd.mean()
    a = np.vdot(zs - ms, zd - md) / max(float(np.vdot(zs - ms, zs - ms).real), 1e-12)
    t = md - a * ms
    return np.array([[a.real, -a.imag, t.real], [a.imag, a.real, t.imag]])


def _teeth_motion(
    points: np.ndarray, look: MouthLook, unit: float
) -> tuple[np.ndarray, np.ndarray]:
    """(2, 3) image -> image motions of the upper and lower teeth this frame."""
    upper = _similarity(look.upper_anchors, points[_UPPER_ANCHORS])
    lower = _similarity(look.lower_anchors, points[_LOWER_ANCHORS])
    if look.lower_behind_lip:
        gap = mid_gap(points)
        reveal = min(REVEAL_RATE * max(gap - REVEAL_FROM * unit, 0.0), REVEAL_MAX * unit)
        across = points[lm.INNER_MOUTH_CORNERS[1]] - points[lm.INNER_MOUTH_CORNERS[0]]
        up = np.array([across[1], -across[0]]) / max(float(np.linalg.norm(across)), 1e-6)
        lower[:, 2] += reveal * up
    return upper, lower


def _warp_layer(
    layer: Layer, motion: np.ndarray, x0: int, y0: int, size: tuple[int, int]
) -> np.ndarray:
    """(h, w, 4) the layer moved by ``motion`` (2, 3, image -> image), seen in the box of
    ``size`` (w, h) at (x0, y0)."""
    m = motion.copy()
    m[:, 2] += motion[:, :2] @ layer.origin - (x0, y0)
    return cv2.warpAffine(
        layer.rgba, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )


@dataclass(frozen=True)
class _Opening:
    """The opening in a box of pixels: columns xs (w,), per-column contours yu, yl (w,),
    and each pixel's distance below the upper lip and above the lower one (h, w)."""

    xs: np.ndarray
    yu: np.ndarray
    yl: np.ndarray
    below: np.ndarray
    above: np.ndarray


def _opening(
    upper: np.ndarray, lower: np.ndarray, x0: int, y0: int, size: tuple[int, int]
) -> _Opening:
    xs = np.arange(x0, x0 + size[0], dtype=_F32)
    ys = np.arange(y0, y0 + size[1], dtype=_F32)[:, None]
    yu, yl = contour_at(xs, upper).astype(_F32), contour_at(xs, lower).astype(_F32)
    return _Opening(xs, yu, yl, ys - yu, yl - ys)


def _cavity(op: _Opening, look: MouthLook, unit: float) -> np.ndarray:
    """(h, w, 3) float32: the dark of the mouth, deeper towards the throat and the
    corners, tongue low in a wide mouth, shaded by the lips. Terms that vary only along x
    are computed once per column; only the blends are per pixel."""
    gap = np.maximum(op.yl - op.yu, _F32(1e-3))
    x_mid, half = 0.5 * (op.xs[0] + op.xs[-1]), max(0.5 * float(op.xs[-1] - op.xs[0]), 1.0)
    centre = 1.0 - np.minimum(np.abs(op.xs - x_mid) / _F32(half), 1.0) ** 2  # 1 middle, 0 corners
    t = np.clip(op.below / gap, 0.0, 1.0)  # 0 at the upper lip, 1 at the lower lip
    depth = np.sin(_F32(np.pi) * t) * centre
    wide = np.clip(gap / _F32(0.2 * unit), 0.0, 1.0)
    tongue = np.clip(t * _F32(2.5) - _F32(1.5), 0.0, 1.0) * (0.55 * centre * wide)  # low, mid
    colour = look.cavity + depth[..., None] * (look.throat - look.cavity)
    colour += (look.tongue - colour) * tongue[..., None]
    (du, ru), (dl, rl) = UPPER_SHADOW, LOWER_SHADOW
    shade = 1.0 - du * np.exp(np.maximum(op.below, 0.0) * _F32(-1 / (ru * unit)))
    shade -= dl * np.exp(np.maximum(op.above, 0.0) * _F32(-1 / (rl * unit)))
    return colour * shade[..., None]


def _lips_into_edge(colour: np.ndarray, image: np.ndarray, op: _Opening, soft: float) -> None:
    """Blend the lips' own edge pixels into the opening's rim, in place: the photo's
    softness, on the inside of the contour only (the pixels outside are left alone)."""
    cols = op.xs.astype(np.int64)
    last = image.shape[0] - 1
    for dist, rows in ((op.below, np.floor(op.yu - 0.5)), (op.above, np.ceil(op.yl + 0.5))):
        lip = image[np.clip(rows.astype(np.int64), 0, last), cols].astype(_F32)  # (w, 3) outside
        weight = 0.5 * np.clip(1.0 - dist * _F32(0.5 / soft), 0.0, 1.0) ** 2  # a blurred step
        colour += (lip - colour) * weight[..., None]


def paint_mouth(
    image: np.ndarray, points: np.ndarray, look: MouthLook, unit: float, px: float
) -> None:
    """Paint the opening between the target inner lips of ``points``, in place.

    points: (>=468, 2) target landmarks in image pixels; look: the portrait's mouth,
    analysed in the same image pixels; unit: eye-corner distance in image pixels;
    px: image pixels per working-crop pixel (the size the painting's fixed lengths are in).
    """
    upper, lower = points[_UPPER], points[_LOWER]
    mid = len(upper) // 2
    if lower[mid, 1] - upper[mid, 1] < MIN_GAP_PX * px:
        return
    poly = np.vstack([upper, lower[::-1]])
    x0, y0 = np.floor(poly.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 2
    h_img, w_img = image.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w_img), min(y1, h_img)
    if x1 <= x0 or y1 <= y0:
        return
    size = (x1 - x0, y1 - y0)
    op = _opening(upper, lower, x0, y0, size)
    colour = _cavity(op, look, unit)
    gx, gy = x0 % GRAIN_TILE, y0 % GRAIN_TILE  # it repeats, and has room for a face-wide box
    colour += look.grain[gy : gy + size[1], gx : gx + size[0], None]
    upper_motion, lower_motion = _teeth_motion(points, look, unit)
    for layer, motion in ((look.lower, lower_motion), (look.upper, upper_motion)):  # upper in front
        teeth = _warp_layer(layer, motion, x0, y0, size)
        colour = colour * (1.0 - teeth[..., 3:]) + teeth[..., :3]
    colour *= _F32(look.light(mid_gap(points) / unit))  # a narrow opening lets little light in
    _lips_into_edge(colour, image, op, float(np.clip(0.5 * look.blur, 0.5 * px, px)))
    inside = fill_polygon((size[1], size[0]), poly - (x0, y0))[..., None]
    roi = image[y0:y1, x0:x1].astype(_F32)
    image[y0:y1, x0:x1] = np.clip(roi + (colour - roi) * inside, 0, 255).astype(np.uint8)
