"""The ARKit shapes the core channels do not drive (``basis.FIELDS`` holds those): one
displacement field per shape on the 478 landmarks, merged by ``basis.shape_fields``.

Every field is a pure function ``f (478, 3) -> (478, 3)``: face-frame landmarks in, the
displacement of ARKit's full action (coefficient 1.0) out, in the frame and unit of
``basis.py`` (x towards the subject's left = image right, y towards the chin, z away from
the camera, unit = outer eye-corner distance, about 90 mm in adults, so 0.011 is 1 mm).
Left and Right are the subject's own sides, as in ARKit.

Magnitudes are those of a full action in FACS terms; the main ones, in eye spans:

===================  =====  =========================================================
shape                move   what moves
===================  =====  =========================================================
mouthLeft/Right      0.06   both lips sideways, the skin around following
mouthDimple*         0.04   one corner out and back (AU14)
mouthRollUpper       50 %   the upper lip's red band rolls in over the teeth
mouthShrugLower      0.045  chin boss up, both lips pushed up 0.02 (AU17)
mouthShrugUpper      0.03   upper lip's edge up, turned out; the lips stay sealed
mouthLowerDown*      0.05   one side of the lower lip down, showing teeth (AU16)
mouthUpperUp*        0.05   one side of the upper lip up, showing teeth (AU10)
mouthFunnel          0.06   lips everted and parted into an O, pushed forward (AU22)
eyeSquint*           0.04   lower lid up (AU7), upper lid 0.01 down, each at most
                            0.3 of the eye's opening
eyeWide*             0.045  upper lid up (AU5), lower lid 0.01 down
eyeLook*             0.067  the iris (468-477) turned ``arkit.EYE_LOOK_DEG`` (30 degrees),
                            the lids following up and down; the iris stays in the opening
                            (the warp cannot show it: ``render/iris.py`` paints it)
cheekSquint*         0.045  cheek under the eye up, lower lid 0.02 up (AU6)
cheekPuff            0.05   cheeks out beside the mouth, the face's outline widening
noseSneer*           0.07   one nostril wing and the nose's side up, the upper lip's edge
                            0.035 up there (sealed), the inner brow 0.015 down (AU9)
jawLeft/Right        0.06   the lower face sideways, more and more from the lips' seam
                            down, the sealed lips half-way together: an approximation,
                            a shift and no rotation
jawForward           0.08   the lower face forward and 0.015 down (the condyles ride
                            down as the jaw protrudes), the lips half-way together;
                            head-on only the drop shows
===================  =====  =========================================================

Fields change gently across the skin: the warp inverts them by fixed-point steps, which
fail where a field compresses the skin faster than it is long (see ``basis._blink``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from ..face import landmarks as lm
from .arkit import EYE_LOOK_DEG
from .basis import (
    _LIP_ROW_CORNERS,
    _LOWER_LIP_ROW,
    _UPPER_LIP_ROW,
    ShapeField,
    Side,
    _corners,
    _gauss,
    _mouth_centre,
    _smoothstep,
    side_weight,
)

Look = Literal["up", "down", "in", "out"]
# Every point of each lip, the corners both share included (62, 292 too: left to the skin
# around them, they folded against their rows).
_ROWS = (*_LIP_ROW_CORNERS,)
_UPPER_LIP = (*lm.UPPER_OUTER_LIP, *lm.UPPER_LIP_MID, *_UPPER_LIP_ROW, *lm.UPPER_INNER_LIP, *_ROWS)
_LOWER_LIP = (*lm.LOWER_OUTER_LIP, *lm.LOWER_LIP_MID, *_LOWER_LIP_ROW, *lm.LOWER_INNER_LIP, *_ROWS)
# (corners outer, inner; upper lid; lower lid; iris) of each eye
_EYES = {
    "left": (lm.LEFT_EYE_CORNERS, lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID, lm.LEFT_IRIS),
    "right": (lm.RIGHT_EYE_CORNERS, lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID, lm.RIGHT_IRIS),
}
_ALAE = {"left": 294, "right": 64}  # the nostril wings
_INNER_BROWS = {"left": lm.LEFT_BROW_INNER, "right": lm.RIGHT_BROW_INNER}


def _sign(side: Side) -> float:
    return 1.0 if side == "left" else -1.0  # the subject's left is +x


def _span(f: np.ndarray, x: np.ndarray, ends: tuple[int, int]) -> np.ndarray:
    """sin(pi u), u = where ``x`` lies between the landmarks ``ends``: 1 mid-way, 0 at and
    beyond them (a lid's or lip's share of a move that its corners do not make)."""
    a, b = f[list(ends), 0]
    return np.sin(np.pi * np.clip((x - a) / (b - a), 0.0, 1.0))


def _skin_follows(
    f: np.ndarray, contour: tuple[int, ...], move: np.ndarray, reach: float, away: int
) -> np.ndarray:
    """(N, 3): the landmarks ``contour`` (ordered along x) move by ``move`` (K, 2); the skin
    on its ``away`` side (-1 above, +1 below) follows the contour at its own x, less and
    less over ``reach`` eye spans. Nothing beyond the contour's ends, nothing on its other
    side (an eye's or mouth's opening) moves."""
    idx = list(contour)
    order = np.argsort(f[idx, 0])
    xs, ys = f[idx, 0][order], f[idx, 1][order]
    beyond = away * (f[:, 1] - np.interp(f[:, 0], xs, ys))
    w = np.where(beyond >= 0, 1.0 - _smoothstep(0.0, reach, beyond), 0.0)
    d = np.zeros_like(f)
    for c in range(2):
        d[:, c] = w * np.interp(f[:, 0], xs, move[order, c], left=0.0, right=0.0)
    d[idx, :2] = move
    return d


def _lid(
    f: np.ndarray, side: Side, lid: Literal["upper", "lower"], lift: float, share: float = 0.3
) -> np.ndarray:
    """One eyelid margin up by ``lift`` mid-lid (down if negative), tapering to 0 at the
    eye's corners, its skin following; a lid never covers more than ``share`` of the
    opening, so narrowed (smiling) eyes are not shut."""
    corners, upper, lower, _ = _EYES[side]
    # The upper lid's skin takes up its move over more of itself: lifted over less, it
    # folded under the crease.
    margin, away, reach = (upper, -1, 0.18) if lid == "upper" else (lower, 1, 0.1)
    gap = np.maximum(f[list(lower), 1] - f[list(upper), 1], 0.0)  # (K,) the opening per column
    closes = lift if lid == "lower" else -lift  # > 0: towards the other lid
    amount = np.minimum(abs(lift), share * gap) if closes > 0 else np.full(len(gap), abs(lift))
    dy = -np.sign(lift) * amount * _span(f, f[list(margin), 0], corners)
    contour = (corners[0], *margin, corners[1])
    move = np.zeros((len(contour), 2))
    move[1:-1, 1] = dy
    return _skin_follows(f, contour, move, reach, away)


def _eye_wide(f: np.ndarray, side: Side) -> np.ndarray:
    return _lid(f, side, "upper", 0.045) + _lid(f, side, "lower", -0.01)


def _eye_squint(f: np.ndarray, side: Side) -> np.ndarray:
    return _lid(f, side, "lower", 0.04) + _lid(f, side, "upper", -0.01)


# Gaze: an eyeLook shape at 1.0 turns the eye EYE_LOOK_DEG, which moves the iris by the
# sine of that on an eyeball 12 mm in radius (in eye spans). Looking up or down the lids
# follow the eye (the upper lid most: it keeps covering about as much of the iris), the
# upper one closing at most LOOK_LID_SHARE of the opening when looking down.
EYEBALL_RADIUS = 12.0 / 90.0
LOOK = EYEBALL_RADIUS * float(np.sin(np.radians(EYE_LOOK_DEG)))
LIDS_FOLLOW = (0.7, 0.2)  # upper, lower lid: their share of the iris's vertical move
LOOK_LID_SHARE = 0.5
IRIS_ROOM = 0.1  # of the opening: how close the iris centre may come to a lid margin


def _iris_radius(f: np.ndarray, iris: tuple[int, ...]) -> float:
    return float(np.linalg.norm(f[list(iris[1:]), :2] - f[iris[0], :2], axis=1).max())


def _look(f: np.ndarray, side: Side, way: Look) -> np.ndarray:
    """The iris of the subject's ``side`` eye moves ``way`` (in = towards the nose), kept
    inside the eye's opening; looking up or down the lids follow part of the way."""
    corners, upper, lower, iris = _EYES[side]
    d = np.zeros_like(f)
    c = f[iris[0]]
    if way in ("in", "out"):
        out = _sign(side) * (1.0 if way == "out" else -1.0)  # +x is the subject's left
        corner = f[corners[0] if way == "out" else corners[1], 0]
        room = max(abs(corner - c[0]) - _iris_radius(f, iris), 0.0)
        d[list(iris), 0] = out * min(LOOK, room)
        return d
    up = LOOK if way == "up" else -LOOK
    d += _lid(f, side, "upper", LIDS_FOLLOW[0] * up, LOOK_LID_SHARE)
    d += _lid(f, side, "lower", LIDS_FOLLOW[1] * up, LOOK_LID_SHARE)
    # The opening at the iris's column after the lids moved, and the centre kept inside it.
    at = np.argmin(np.abs(f[list(upper), 0] - c[0]))
    top = f[upper[at], 1] + d[upper[at], 1]
    bottom = f[lower[at], 1] + d[lower[at], 1]
    room = IRIS_ROOM * max(bottom - top, 0.0)
    goal = c[1] - up
    d[list(iris), 1] = np.clip(goal, top + room, max(bottom - room, top + room)) - c[1]
    return d


def _cheek_squint(f: np.ndarray, side: Side) -> np.ndarray:
    """AU6: the cheek under the eye rises and pushes the lower lid up."""
    corners = _EYES[side][0]
    under_eye = f[list(corners)].mean(axis=0) + np.array([0.0, 0.3, 0.0])
    d = np.zeros_like(f)
    d[:, 1] = -0.045 * _gauss(f, under_eye, 0.15) * side_weight(f, side)
    return d + _lid(f, side, "lower", 0.02)


def _cheek_puff(f: np.ndarray) -> np.ndarray:
    """Both cheeks out beside the closed mouth; the lips and the folds beside them stay,
    the outline widens. (Nearer the mouth, the far cheek of a turned head, squeezed
    between the nose and the outline in the picture, tore.)"""
    c = _mouth_centre(f)
    half = 0.5 * abs(f[lm.MOUTH_CORNERS[1], 0] - f[lm.MOUTH_CORNERS[0], 0])
    beside = _smoothstep(half + 0.05, half + 0.35, np.abs(f[:, 0] - c[0]))
    d = np.zeros_like(f)
    for sign in (-1.0, 1.0):
        g = _gauss(f, np.array([c[0] + sign * 0.65, c[1] - 0.05, 0.0]), 0.22) * beside
        d[:, 0] += sign * 0.05 * g
        d[:, 2] -= 0.03 * g
    return d


def _nose_sneer(f: np.ndarray, side: Side) -> np.ndarray:
    """AU9 on one side: the nostril wing and the side of the nose rise, the upper lip
    turns up with them there (one muscle lifts both; the lips stay sealed), the inner
    brow comes down."""
    ala = f[_ALAE[side]] - np.array([0.0, 0.03, 0.0])  # centred above it: the lip stays more
    nose_side = 0.5 * (ala + f[_EYES[side][0][1]])  # half-way up to the inner eye corner
    d = np.zeros_like(f)
    d[:, 1] -= 0.07 * _gauss(f, ala, 0.09) + 0.02 * _gauss(f, nose_side, 0.1)
    brow = f[list(_INNER_BROWS[side])].mean(axis=0)
    d[:, 1] += 0.015 * _gauss(f, brow, 0.08)
    d[list(_UPPER_LIP + _LOWER_LIP)] = 0.0  # the lips move as lips, below
    lip = _everted_upper(f, 0.035) * side_weight(f, side)[:, None]
    return d * side_weight(f, side)[:, None] + _lips(f, lip, np.zeros_like(lip), 0.15)


def _lips(f: np.ndarray, upper: np.ndarray, lower: np.ndarray, reach: float) -> np.ndarray:
    """Each lip's points move by (N, 2) ``upper`` / ``lower`` (read at the lip's own
    points), the skin above the upper and below the lower lip following over ``reach``."""
    d = np.zeros_like(f)
    d[list(_UPPER_LIP), :2] = upper[list(_UPPER_LIP)]
    d[list(_LOWER_LIP), :2] = lower[list(_LOWER_LIP)]
    outer_up, outer_low = lm.UPPER_OUTER_LIP, lm.LOWER_OUTER_LIP
    d += _skin_follows(f, outer_up, upper[list(outer_up)], reach, -1) * _not(f, _UPPER_LIP)
    d += _skin_follows(f, outer_low, lower[list(outer_low)], reach, 1) * _not(f, _LOWER_LIP)
    return d


def _not(f: np.ndarray, idx: tuple[int, ...]) -> np.ndarray:
    w = np.ones((len(f), 1))
    w[list(idx)] = 0.0
    return w


def _one_sided(f: np.ndarray, side: Side) -> np.ndarray:
    """(N,) a lip's share of a one-sided move: most at mid-side, 0 at the corner and across
    the midline, 1 at its largest."""
    w = _span(f, f[:, 0], lm.MOUTH_CORNERS) * side_weight(f, side)
    return w / w[list(_UPPER_LIP + _LOWER_LIP)].max()


def _upper_up(f: np.ndarray, side: Side) -> np.ndarray:
    """AU10 on one side: the upper lip rises there as a band, showing the teeth."""
    up = np.zeros((len(f), 2))
    up[:, 1] = -0.05 * _one_sided(f, side)
    return _lips(f, up, np.zeros_like(up), 0.15)


def _lower_down(f: np.ndarray, side: Side) -> np.ndarray:
    """AU16 on one side: the lower lip drops there as a band, showing the teeth."""
    down = np.zeros((len(f), 2))
    down[:, 1] = 0.05 * _one_sided(f, side)
    return _lips(f, np.zeros_like(down), down, 0.2)


def _rows(f: np.ndarray, amounts: dict[tuple[int, ...], float]) -> np.ndarray:
    """(N, 2) vertical moves: each lip row's points by its amount, tapering to 0 at the
    row's own corners (which both lips share)."""
    m = np.zeros((len(f), 2))
    for row, amount in amounts.items():
        ends = _LIP_ROW_CORNERS if row in (_UPPER_LIP_ROW, _LOWER_LIP_ROW) else (row[0], row[-1])
        m[list(row), 1] = amount * _span(f, f[list(row), 0], ends)
    return m


# How far each upper-lip row goes when the lip turns out: its outer edge all the way, its
# inner edge (where it meets the lower lip) not at all, so closed lips stay sealed.
_EVERT_UPPER = {lm.UPPER_OUTER_LIP: 1.0, lm.UPPER_LIP_MID: 0.66, _UPPER_LIP_ROW: 0.33}


def _everted_upper(f: np.ndarray, lift: float) -> np.ndarray:
    """(N, 2) the upper lip turned out: its rows up by their share of ``lift``."""
    return _rows(f, {row: -lift * share for row, share in _EVERT_UPPER.items()})


def _shrug_upper(f: np.ndarray) -> np.ndarray:
    """The upper lip pushed up and turned out, its edge on the lower lip staying."""
    up = _everted_upper(f, 0.03)
    return _lips(f, up, np.zeros_like(up), 0.15)


def _shrug_lower(f: np.ndarray) -> np.ndarray:
    """AU17: the chin boss rises and pushes both lips up together (they stay sealed)."""
    boss = 0.5 * (f[lm.LOWER_OUTER_LIP[5]] + f[lm.CHIN])
    d = np.zeros_like(f)
    d[:, 1] = -0.045 * _gauss(f, boss, 0.18)
    d[list(_UPPER_LIP + _LOWER_LIP), 1] = -0.02
    return d


def _roll_upper(f: np.ndarray) -> np.ndarray:
    """The upper lip rolls in over the teeth: its red band thins by 40 % from the outside
    (the contact line stays), the skin above following its edge down."""
    inner = list(lm.UPPER_INNER_LIP)
    band = f[inner, 1] - f[list(lm.UPPER_OUTER_LIP), 1]  # (K,) the band's height per column
    down = np.zeros((len(f), 2))
    down[list(lm.UPPER_OUTER_LIP), 1] = 0.5 * band
    down[list(lm.UPPER_LIP_MID), 1] = 0.3 * band
    down[list(_UPPER_LIP_ROW), 1] = 0.12 * band[1:-1]
    return _lips(f, down, np.zeros_like(down), 0.12)


def _funnel(f: np.ndarray) -> np.ndarray:
    """AU22: the lips flare out and part into an O, pushed forward; the corners come in
    a little (less than in a pucker)."""
    c = _mouth_centre(f)
    g = _gauss(f, c, 0.28)
    m = {
        lm.UPPER_OUTER_LIP: -0.035,
        lm.UPPER_LIP_MID: -0.03,
        _UPPER_LIP_ROW: -0.025,
        lm.UPPER_INNER_LIP: -0.02,
        lm.LOWER_OUTER_LIP: 0.045,
        lm.LOWER_LIP_MID: 0.04,
        _LOWER_LIP_ROW: 0.035,
        lm.LOWER_INNER_LIP: 0.03,
    }
    rows = _rows(f, m)
    d = _lips(f, rows, rows, 0.15)
    d[:, 0] -= 0.25 * (f[:, 0] - c[0]) * g
    d[:, 2] -= 0.1 * g
    return d


def _mouth_sideways(f: np.ndarray, side: Side) -> np.ndarray:
    """Both lips move to the subject's ``side`` as one, the skin around following."""
    idx = list(_UPPER_LIP + _LOWER_LIP)
    d2 = ((f[:, None, :2] - f[None, idx, :2]) ** 2).sum(axis=2).min(axis=1)
    d = np.zeros_like(f)
    d[:, 0] = _sign(side) * 0.06 * np.exp(-d2 / (2 * 0.08**2))
    return d


def _dimple(f: np.ndarray, side: Side) -> np.ndarray:
    """AU14 on one side: the corner drawn back into the cheek and a little out."""
    return _corners(f, (0.04, -0.005, 0.03), 0.1) * side_weight(f, side)[:, None]


JAW_BAND = (-0.15, 0.35)  # eye spans about the lips' seam: where the jaw's share grows


def _jaw_shift(f: np.ndarray, move: tuple[float, float, float]) -> np.ndarray:
    """The lower face translated by ``move``: each point by a share growing from above the
    lips' seam to below the lower lip (JAW_BAND), a function of height alone, so a move
    sideways shears the skin and never squeezes it (the jaw opening's own weight,
    ``basis._lower_face_weight``, is steep beside the mouth). Both lips go half the way
    together, so they neither slide on each other nor part (in a turned or nodding face a
    depth difference between them would show as a gap)."""
    seam = 0.5 * (f[lm.INNER_LIP_MID[0], 1] + f[lm.INNER_LIP_MID[1], 1])
    d = _smoothstep(seam + JAW_BAND[0], seam + JAW_BAND[1], f[:, 1])[:, None] * np.array(move)
    d[list(_UPPER_LIP + _LOWER_LIP)] = 0.5 * np.array(move)
    return d


def _jaw_sideways(f: np.ndarray, side: Side) -> np.ndarray:
    return _jaw_shift(f, (_sign(side) * 0.06, 0.0, 0.0))


def _jaw_forward(f: np.ndarray) -> np.ndarray:
    return _jaw_shift(f, (0.0, 0.015, -0.08))


def _sides(make: Callable[[np.ndarray, Side], np.ndarray], stem: str) -> dict[str, ShapeField]:
    """``stemLeft`` and ``stemRight``: ``make`` on the subject's left and right side."""
    return {f"{stem}Left": lambda f: make(f, "left"), f"{stem}Right": lambda f: make(f, "right")}


def _looks(key: str, way: Look) -> dict[str, ShapeField]:
    return _sides(lambda f, side: _look(f, side, way), f"eyeLook{key}")


# ARKit name -> field, for the shapes ``basis.py`` does not derive from today's eleven.
SHAPES: dict[str, ShapeField] = {
    **_sides(_mouth_sideways, "mouth"),
    **_sides(_dimple, "mouthDimple"),
    "mouthRollUpper": _roll_upper,
    "mouthShrugLower": _shrug_lower,
    "mouthShrugUpper": _shrug_upper,
    **_sides(_lower_down, "mouthLowerDown"),
    **_sides(_upper_up, "mouthUpperUp"),
    "mouthFunnel": _funnel,
    **_sides(_eye_squint, "eyeSquint"),
    **_sides(_eye_wide, "eyeWide"),
    **_looks("Up", "up"),
    **_looks("Down", "down"),
    **_looks("In", "in"),
    **_looks("Out", "out"),
    **_sides(_cheek_squint, "cheekSquint"),
    "cheekPuff": _cheek_puff,
    **_sides(_nose_sneer, "noseSneer"),
    **_sides(_jaw_sideways, "jaw"),
    "jawForward": _jaw_forward,
}


def shape_fields(f: np.ndarray) -> dict[str, np.ndarray]:
    """(478, 3) face-frame landmarks -> each of SHAPES' (478, 3) displacement at 1.0."""
    return {name: fn(f) for name, fn in SHAPES.items()}
