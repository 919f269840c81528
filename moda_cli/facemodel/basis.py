"""Expression blendshapes on MediaPipe's 478-landmark topology, built per portrait.

Each ARKit blendshape of the joint space (``params.py``) that moda renders has a field:
per-landmark 3D displacements per unit of the coefficient, registered by its ARKit name
(``FIELDS`` here, and ``shapes.SHAPES`` beside them, ``shape_fields``). A field is a pure
function ``(478, 3) face-frame landmarks -> (478, 3)``, designed in a face-normalised
frame (origin between the outer eye corners, x towards the subject's left = image right,
y towards the chin, z away from the camera, unit = outer eye-corner distance) and turned
into crop pixels with the face's own rotation and size, so a tilted or turned face
deforms along its own axes. One-sided shapes (mouthSmileLeft, ...) are a two-sided field
split across the face's midline by ``side_weight``, so Left and Right at one value add up
to the whole field, which is what a lifted core coefficient drives (``core.py``).

jawOpen is absolute: its field opens the inner-lip gap by one eye span per unit, and the
renderer sets its weight to ``lip_gap(jawOpen / JAW_GAIN, press) - rest_gap`` (press:
``core.lip_press`` of mouthPress and mouthClose), so 0 closes a photo's parted lips.
``lip_gap`` is where the lips meet as lips do: pressed lips seal over a jaw that is still
a little open, and lips part a little behind the jaw (see ``lip_gap``). The lower lip
moves as lip tissue: its inner, middle and outer contours all follow the jaw fully, so its
band keeps its thickness and texture; the upper lip does not follow the jaw.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from ..face import landmarks as lm
from .arkit import BLENDSHAPE_NAMES
from .core import CORE_EXPRESSION_NAMES, JAW_FULL_GAP, JAW_GAIN, LINKS, lip_press

# A shape's field: (478, 3) face-frame landmarks -> (478, 3) displacement per unit.
ShapeField = Callable[[np.ndarray], np.ndarray]
Side = Literal["left", "right"]
# MediaPipe's lips have a fourth row of points each, between the inner contour and the
# middle one (``landmarks.py`` names the other three), corner to corner; both rows end in
# 62 and 292 beside the mouth corners.
_UPPER_LIP_ROW = (183, 42, 41, 38, 12, 268, 271, 272, 407)
_LOWER_LIP_ROW = (96, 89, 179, 86, 15, 316, 403, 319, 325)
_LIP_ROW_CORNERS = (62, 292)


@dataclass(frozen=True)
class FaceFrame:
    """Face-normalised frame: face = (crop - origin) @ axes / unit."""

    origin: np.ndarray  # (3,) crop pixels
    axes: np.ndarray  # (3, 3) columns = face x, y, z in crop coordinates
    unit: float  # eye-corner distance in crop pixels

    def to_face(self, pts: np.ndarray) -> np.ndarray:
        return (pts - self.origin) @ self.axes / self.unit

    def vectors_to_crop(self, vecs: np.ndarray) -> np.ndarray:
        return vecs @ self.axes.T * self.unit


def face_frame(points: np.ndarray) -> FaceFrame:
    """Estimate the face's orientation from its mesh (crop pixels, z scaled like x)."""
    pts = points.astype(np.float64)
    right, left = pts[lm.EYE_CORNERS[0]], pts[lm.EYE_CORNERS[1]]
    x = left - right
    unit = float(np.linalg.norm(x))
    x /= unit
    down = pts[lm.CHIN] - pts[lm.FOREHEAD]
    y = down - x * (down @ x)  # Gram-Schmidt: the vertical axis orthogonal to the eye line
    y /= np.linalg.norm(y)
    z = np.cross(x, y)  # x right, y down -> z away from the camera
    return FaceFrame(origin=0.5 * (right + left), axes=np.stack([x, y, z], axis=1), unit=unit)


def _smoothstep(lo: float, hi: float, v: np.ndarray) -> np.ndarray:
    t = np.clip((v - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _gauss(f: np.ndarray, centre: np.ndarray, sigma: float) -> np.ndarray:
    """(N,) weights falling off with in-plane distance from ``centre``."""
    d2 = ((f[:, :2] - centre[:2]) ** 2).sum(axis=1)
    return np.exp(-d2 / (2 * sigma**2))


def _near(f: np.ndarray, idx: tuple[int, ...], sigma: float) -> np.ndarray:
    """(N,) weight by distance to the nearest of the landmarks ``idx``."""
    d2 = ((f[:, None, :2] - f[None, list(idx), :2]) ** 2).sum(axis=2).min(axis=1)
    return np.exp(-d2 / (2 * sigma**2))


def _lower_face_weight(f: np.ndarray, hinge_y: float) -> np.ndarray:
    """How much each landmark follows the jaw: 1 on the lower lip and chin, 0 above the seam."""
    seam_y = 0.5 * (f[lm.INNER_LIP_MID[0], 1] + f[lm.INNER_LIP_MID[1], 1])
    corner_x = 0.5 * abs(f[lm.MOUTH_CORNERS[1], 0] - f[lm.MOUTH_CORNERS[0], 0])
    mouth_x = 0.5 * (f[lm.MOUTH_CORNERS[1], 0] + f[lm.MOUTH_CORNERS[0], 0])
    # Beside the mouth the dividing line rises towards the jaw hinge.
    side = np.clip((np.abs(f[:, 0] - mouth_x) - corner_x) / 0.45, 0.0, 1.0)
    div_y = seam_y + side * (hinge_y - seam_y)
    w = _smoothstep(-0.06, 0.22, f[:, 1] - div_y)
    # Every row of each lip, its interior rows included: a row left to the smoothstep
    # (weight ~0.3 just below the seam) lags its lip and folds the lower lip's texture
    # into a line of smeared dots when the jaw opens.
    w[[*lm.UPPER_INNER_LIP, *_UPPER_LIP_ROW, *lm.UPPER_LIP_MID, *lm.UPPER_OUTER_LIP]] = 0.0
    w[[*lm.LOWER_INNER_LIP, *_LOWER_LIP_ROW, *lm.LOWER_LIP_MID, *lm.LOWER_OUTER_LIP]] = 1.0
    # Corners stay near the upper lip so the opening closes smoothly at its ends.
    w[[*lm.INNER_MOUTH_CORNERS, *lm.MOUTH_CORNERS, *_LIP_ROW_CORNERS, 76, 306]] = 0.4
    return w


def _jaw(f: np.ndarray) -> np.ndarray:
    cheeks = list(lm.CHEEKS)
    hinge = np.array([0.0, f[cheeks, 1].mean() + 0.25, f[cheeks, 2].mean() + 0.15])
    rel = f - hinge
    # Small rotation about the hinge's x axis: chin goes down and back.
    d = np.stack([np.zeros(len(f)), -rel[:, 2], rel[:, 1]], axis=1)
    d *= _lower_face_weight(f, hinge[1])[:, None]
    lip = lm.INNER_LIP_MID[1]
    return d / max(d[lip, 1], 1e-6)  # one unit = one eye-span of extra inner-lip gap


# Lips aim past contact when they close (a "virtual target" beyond the other lip, Löfqvist
# and Gracco 1997, "Lip and jaw kinematics in bilabial stop consonant production", JSLHR
# 40): they meet compressed, so a press seals them even over a jaw that is still opening
# the mouth, and at rest they part only after the jaw has dropped a little. Contact is
# near all-or-nothing, not a blend: a press below PRESS_SEAL[0] (a lip on its way) leaves
# the opening as it is, one above PRESS_SEAL[1] shuts it whatever the jaw does.
# LIP_CONTACT (jaw_open units, ~0.75 mm): the lips stay together over the first
# 2 * LIP_CONTACT of the jaw's opening and then trail it by LIP_CONTACT, so a 1-2 mm
# opening shows as the thin line it is, not a parted mouth.
PRESS_SEAL = (0.6, 0.95)
LIP_CONTACT = 0.05


def lip_gap(jaw: np.ndarray | float, press: np.ndarray | float) -> np.ndarray:
    """jaw_open and lip_press (0..1, any shape) -> the inner-lip gap in eye spans."""
    j = np.clip(jaw, 0.0, 1.0) * (1.0 - _smoothstep(*PRESS_SEAL, np.clip(press, 0.0, 1.0)))
    k = LIP_CONTACT
    parted = np.where(j < 2 * k, j * j / (4 * k), j - k)  # C1: 0 at 0, slope 1 past 2k
    return JAW_FULL_GAP * parted


def jaw_for_gap(gap: np.ndarray | float) -> np.ndarray:
    """The jaw_open (no press) whose ``lip_gap`` is ``gap`` eye spans (any shape): lip_gap's
    inverse."""
    g, k = np.maximum(gap, 0.0) / JAW_FULL_GAP, LIP_CONTACT
    return np.where(g >= k, g + k, 2.0 * np.sqrt(k * g))


def _toward(f: np.ndarray, src: tuple[int, ...], dst: tuple[int, ...], frac: float) -> np.ndarray:
    d = np.zeros_like(f)
    d[list(src)] += frac * (f[list(dst)] - f[list(src)])
    return d


def _lip_press(f: np.ndarray) -> np.ndarray:
    # Pressed lips (every p, b, m) flatten a little against each other: their bands thin by
    # about a tenth, not more, or the lips would flicker thin at every bilabial; corners stay.
    d = _toward(f, lm.UPPER_OUTER_LIP[1:-1], lm.UPPER_INNER_LIP[1:-1], 0.12)
    d += _toward(f, lm.UPPER_LIP_MID[1:-1], lm.UPPER_INNER_LIP[1:-1], 0.08)
    d += _toward(f, lm.LOWER_OUTER_LIP[1:-1], lm.LOWER_INNER_LIP[1:-1], 0.14)
    d += _toward(f, lm.LOWER_LIP_MID[1:-1], lm.LOWER_INNER_LIP[1:-1], 0.1)
    d += _toward(f, _UPPER_LIP_ROW, lm.UPPER_INNER_LIP[1:-1], 0.04)
    d += _toward(f, _LOWER_LIP_ROW, lm.LOWER_INNER_LIP[1:-1], 0.05)
    d[:, 2] += 0.02 * _near(f, lm.UPPER_INNER_LIP, 0.08)
    return d


def _mouth_centre(f: np.ndarray) -> np.ndarray:
    return f[list(lm.INNER_LIP_MID)].mean(axis=0)


def _lip_round(f: np.ndarray) -> np.ndarray:
    c = _mouth_centre(f)
    g = _gauss(f, c, 0.28)
    d = np.zeros_like(f)
    half = 0.5 * abs(f[lm.MOUTH_CORNERS[1], 0] - f[lm.MOUTH_CORNERS[0], 0])
    lateral = np.clip(np.abs(f[:, 0] - c[0]) / half, 0.0, 1.0) ** 2
    d[:, 0] = -0.75 * (f[:, 0] - c[0]) * g  # corners towards the middle
    d[:, 1] = -0.8 * (f[:, 1] - c[1]) * g * lateral  # and to its height: an O, not a V
    d[:, 2] = -0.12 * g  # lips pushed forward
    d[list(lm.UPPER_OUTER_LIP[1:-1]), 1] -= 0.02  # rounded lips look fuller
    d[list(lm.LOWER_OUTER_LIP[1:-1]), 1] += 0.02
    return d


def _lip_spread(f: np.ndarray) -> np.ndarray:
    c = _mouth_centre(f)
    g = _gauss(f, c, 0.3)
    d = np.zeros_like(f)
    d[:, 0] = 0.3 * (f[:, 0] - c[0]) * g
    d[:, 2] = 0.03 * g
    d += _toward(f, lm.UPPER_OUTER_LIP[1:-1], lm.UPPER_INNER_LIP[1:-1], 0.15)
    d += _toward(f, lm.LOWER_OUTER_LIP[1:-1], lm.LOWER_INNER_LIP[1:-1], 0.15)
    return d


def _lip_tuck(f: np.ndarray) -> np.ndarray:
    # f, v: the lower lip rolls in under the upper teeth, so its visible band thins by about
    # a third (the one lip shape that may thin it that much); the upper lip stays.
    d = _toward(f, lm.LOWER_OUTER_LIP[1:-1], lm.LOWER_INNER_LIP[1:-1], 0.35)
    d += _toward(f, lm.LOWER_LIP_MID[1:-1], lm.LOWER_INNER_LIP[1:-1], 0.22)
    d += _toward(f, _LOWER_LIP_ROW, lm.LOWER_INNER_LIP[1:-1], 0.1)
    chin = _gauss(f, f[lm.LOWER_OUTER_LIP[5]], 0.2)
    d[:, 1] -= 0.03 * chin  # the skin under the lip follows it up
    d[list(lm.LOWER_INNER_LIP[1:-1]), 2] += 0.06  # and back, under the teeth
    return d


def _corners(f: np.ndarray, vec: tuple[float, float, float], sigma: float) -> np.ndarray:
    """Move each mouth corner by ``vec`` (x mirrored), the skin around following."""
    d = np.zeros_like(f)
    for k, corner in enumerate(lm.MOUTH_CORNERS):
        sign = -1.0 if k == 0 else 1.0  # 61 is on the image's left
        g = _gauss(f, f[corner], sigma)[:, None]
        d += g * np.array([sign * vec[0], vec[1], vec[2]])
    return d


def _smile(f: np.ndarray) -> np.ndarray:
    d = _corners(f, (0.07, -0.09, 0.04), 0.16)
    for cheek_x in (-0.42, 0.42):  # cheeks rise under the eyes
        centre = np.array([cheek_x, 0.62, 0.0]) + np.array([f[lm.NOSE_TIP, 0], 0, 0])
        d[:, 1] -= 0.04 * _gauss(f, centre, 0.18)
    lower_lids = [*lm.RIGHT_LOWER_LID, *lm.LEFT_LOWER_LID]
    d[lower_lids, 1] -= 0.012
    return d


def _frown(f: np.ndarray) -> np.ndarray:
    return _corners(f, (-0.015, 0.07, 0.0), 0.15)


LID_MEET = 0.85  # the lids meet this far down the opening: the lower lid rises a little
LID_SKIN_REACH = (0.14, 0.1)  # eye spans above / below the margins that the lid skin follows


def _blink(
    f: np.ndarray, corners: tuple[int, int], upper: tuple[int, ...], lower: tuple[int, ...]
) -> np.ndarray:
    """The upper lid closes over the eye and the lower one rises to meet it; the skin above
    and below follows, less and less over LID_SKIN_REACH.

    The displacement must change gently across the skin: the warp inverts it by fixed-point
    steps, which fail where it changes faster than the skin is long (a crease row dragged
    along as a step put bits of the iris on the closed lid)."""

    def along(lid: tuple[int, ...], values: np.ndarray) -> np.ndarray:
        """(K + 2, ...) values at the corners and a lid's points -> at every point's x."""
        xs = f[[*corners, *lid], 0]
        order = np.argsort(xs)
        columns = [np.interp(f[:, 0], xs[order], v[order], left=0.0, right=0.0) for v in values.T]
        return np.stack(columns, axis=-1)

    ends = np.zeros((2, 2))
    gap = np.concatenate([ends, f[list(lower), :2] - f[list(upper), :2]])  # (K + 2, 2)
    above = along(upper, f[[*corners, *upper], 1:2])[:, 0] - f[:, 1]
    below = f[:, 1] - along(lower, f[[*corners, *lower], 1:2])[:, 0]
    weight = np.where(above >= 0, LID_MEET * (1 - _smoothstep(0, LID_SKIN_REACH[0], above)), 0.0)
    weight -= np.where(
        below >= 0, (1 - LID_MEET) * (1 - _smoothstep(0, LID_SKIN_REACH[1], below)), 0.0
    )
    d = np.zeros_like(f)
    d[:, :2] = weight[:, None] * along(upper, gap)  # zero beyond the eye's corners
    d[list(upper), :2] = LID_MEET * gap[2:]
    d[list(lower), :2] = -(1 - LID_MEET) * gap[2:]
    return d


# The brows' lateral profile (|x| in eye spans). The frontalis ends at the temporal fusion
# line, about above the outer eye corner, so the brow's tail beyond it rises less than its
# lateral third (BROW_TAIL_RAISE of it at the tip): a raise tilts no tail up on its own.
# The corrugator inserts in the skin of the brow's medial half and pulls it down and towards
# the midline (AU4): the brow heads and the brow's middle move most, the tail follows less,
# and the skin between the heads bunches up (its move falls to zero at the midline, so the
# glabella compresses instead of folding over itself).
BROW_TAIL = (0.4, 0.65)
BROW_TAIL_RAISE = 0.6
BROW_HEAD = 0.14  # the glabella: inside it the medial pull fades to nothing at the midline
BROW_FURROW_LATERAL = (0.45, 0.8)  # where the corrugator's pull passes to the lateral brow
FURROW_PULL = (0.07, 0.06)  # medial, down at the medial brow (eye spans: ~6 and 5 mm)
FURROW_LATERAL = (0.7, 0.8)  # the lateral brow's share of each


def _brows_weight(f: np.ndarray) -> np.ndarray:
    """(N,) the brows and the skin next to them, the lid margins held."""
    w = _near(f, (*lm.RIGHT_BROW, *lm.LEFT_BROW), 0.09)
    w[[*lm.RIGHT_EYE, *lm.LEFT_EYE]] = 0.0  # the lid margins stay; the skin between stretches
    return w


def _brow_raise(f: np.ndarray) -> np.ndarray:
    tail = 1.0 - (1.0 - BROW_TAIL_RAISE) * _smoothstep(*BROW_TAIL, np.abs(f[:, 0]))
    d = np.zeros_like(f)
    d[:, 1] = -0.09 * tail * _brows_weight(f)
    return d


def _brow_furrow(f: np.ndarray) -> np.ndarray:
    a = np.abs(f[:, 0])
    lateral = _smoothstep(*BROW_FURROW_LATERAL, a)
    medial, down = (
        pull * (1.0 - (1.0 - share) * lateral)
        for pull, share in zip(FURROW_PULL, FURROW_LATERAL, strict=True)
    )
    w = _brows_weight(f)
    d = np.zeros_like(f)
    d[:, 0] = -np.sign(f[:, 0]) * medial * _smoothstep(0.0, BROW_HEAD, a) * w
    d[:, 1] = down * w
    return d


SIDE_BLEND = 0.1  # eye spans either side of the midline over which one side hands over
BROW_OUTER = (0.2, 0.45)  # |x| in eye spans where a brow passes from inner to outer part


def side_weight(f: np.ndarray, side: Side) -> np.ndarray:
    """(N,) how much each point belongs to the subject's ``side``: 1 beyond SIDE_BLEND of
    the midline, 0 on the other side; the two sides' weights add up to 1."""
    left = _smoothstep(-SIDE_BLEND, SIDE_BLEND, f[:, 0])
    return left if side == "left" else 1.0 - left


def _sided(field: ShapeField, side: Side) -> ShapeField:
    """``field`` on the subject's ``side`` of the face only."""
    return lambda f: side_weight(f, side)[:, None] * field(f)


def _brow_outer(f: np.ndarray) -> np.ndarray:
    """(N,) the share of a brow raise that is its outer part (1 - the inner part's)."""
    return _smoothstep(*BROW_OUTER, np.abs(f[:, 0]))


def _brow_inner_up(f: np.ndarray) -> np.ndarray:
    return (1.0 - _brow_outer(f))[:, None] * _brow_raise(f)


def _brow_outer_up(f: np.ndarray) -> np.ndarray:
    return _brow_outer(f)[:, None] * _brow_raise(f)


# The fields of the shapes the core channels drive (``core.LINKS``), by ARKit name; the
# linked shapes of one core coefficient add up to its field.
FIELDS: dict[str, ShapeField] = {
    "jawOpen": _jaw,  # one eye span of inner-lip gap per unit, driven through lip_gap
    "mouthPucker": _lip_round,
    "mouthStretchLeft": _sided(_lip_spread, "left"),
    "mouthStretchRight": _sided(_lip_spread, "right"),
    "mouthPressLeft": _sided(_lip_press, "left"),
    "mouthPressRight": _sided(_lip_press, "right"),
    "mouthRollLower": _lip_tuck,
    "mouthSmileLeft": _sided(_smile, "left"),
    "mouthSmileRight": _sided(_smile, "right"),
    "mouthFrownLeft": _sided(_frown, "left"),
    "mouthFrownRight": _sided(_frown, "right"),
    "eyeBlinkLeft": lambda f: _blink(f, lm.LEFT_EYE_CORNERS, lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID),
    "eyeBlinkRight": lambda f: _blink(
        f, lm.RIGHT_EYE_CORNERS, lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID
    ),
    "browInnerUp": _brow_inner_up,
    "browOuterUpLeft": _sided(_brow_outer_up, "left"),
    "browOuterUpRight": _sided(_brow_outer_up, "right"),
    "browDownLeft": _sided(_brow_furrow, "left"),
    "browDownRight": _sided(_brow_furrow, "right"),
}


@lru_cache(maxsize=1)
def shape_fields() -> dict[str, ShapeField]:
    """Every rendered shape's field by ARKit name: ``FIELDS`` and ``shapes.SHAPES`` (the
    other shapes' fields, once ``facemodel/shapes.py`` exists). Imported here, not at the
    top, because that module builds its fields with this one's helpers."""
    fields = dict(FIELDS)
    if importlib.util.find_spec(f"{__package__}.shapes") is not None:
        fields.update(importlib.import_module(f"{__package__}.shapes").SHAPES)
    return fields


def rendered_shapes() -> frozenset[str]:
    """The blendshapes the renderer shows: those with a field, and mouthClose (it seals
    the lips over jawOpen, ``core.lip_press``)."""
    return frozenset(shape_fields()) | {"mouthClose"}


def core_basis(f: np.ndarray) -> np.ndarray:
    """(478, 3) face-frame landmarks -> (11, 478, 3): each core expression coefficient's
    field in CORE_EXPRESSION_NAMES order, the sum of its linked shapes' fields (jaw_open:
    one eye span of inner-lip gap per unit, as ``lip_gap`` drives it)."""
    fields, links = shape_fields(), {link.core: link for link in LINKS}
    return np.stack([sum(fields[s](f) for s in links[n].shapes) for n in CORE_EXPRESSION_NAMES])


_EXPR = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}  # column among the 52
_JAW, _CLOSE = _EXPR["jawOpen"], _EXPR["mouthClose"]
_PRESS = [_EXPR["mouthPressLeft"], _EXPR["mouthPressRight"]]


@dataclass(frozen=True)
class ExpressionBasis:
    """Per-portrait blendshapes in crop pixels.

    shapes:   (K, 478, 3) displacement per unit coefficient of the K rendered shapes,
              crop pixels.
    columns:  (K,) each shape's column among the 52 blendshapes, ascending.
    jaw_slot: the position of jawOpen's field in ``shapes``.
    rest_gap: the photo's inner-lip gap in eye spans (jawOpen = 0 closes it).
    frame:    the face frame the shapes were designed in.
    """

    shapes: np.ndarray
    columns: np.ndarray
    jaw_slot: int
    rest_gap: float
    frame: FaceFrame

    @property
    def rest_jaw(self) -> float:
        """The core jaw_open (jawOpen / JAW_GAIN) that keeps the photo's own inner-lip gap."""
        return float(jaw_for_gap(self.rest_gap))

    def coefficients(self, expr: np.ndarray) -> np.ndarray:
        """(52,) blendshapes in 0..1 -> (K,) blend weights (jawOpen made the inner-lip
        gap, sealed by the lips' press)."""
        e = np.clip(np.asarray(expr, np.float64), 0.0, 1.0)
        press = lip_press(0.5 * (e[_PRESS[0]] + e[_PRESS[1]]), e[_CLOSE], e[_JAW])
        w = e[self.columns]
        w[self.jaw_slot] = lip_gap(e[_JAW] / JAW_GAIN, press) - self.rest_gap
        return w

    def displace(self, expr: np.ndarray) -> np.ndarray:
        """(52,) blendshapes -> (478, 3) landmark displacements in crop pixels."""
        w = self.coefficients(expr)
        moving = np.flatnonzero(w)  # a frame drives a few of the shapes; skip the rest
        # einsum, not tensordot: a BLAS call this small costs 50x more with its threads.
        return np.einsum("k,kpc->pc", w[moving], self.shapes[moving])


def build_basis(landmarks: np.ndarray) -> ExpressionBasis:
    frame = face_frame(landmarks)
    f = frame.to_face(landmarks.astype(np.float64))
    fields = shape_fields()
    names = [n for n in BLENDSHAPE_NAMES if n in fields]
    shapes = frame.vectors_to_crop(np.stack([fields[n](f) for n in names]))
    a, b = lm.INNER_LIP_MID
    rest_gap = max(float(f[b, 1] - f[a, 1]), 0.0)
    columns = np.array([_EXPR[n] for n in names])
    return ExpressionBasis(shapes, columns, names.index("jawOpen"), rest_gap, frame)
