"""The irises, moved where the eyeLook shapes turn the eyes.

The warp cannot turn an eye: its control points are the lid margins (the iris points
would fold against the lids in a blink), and a warp that dragged the iris would shear it
against the margins, which stay. So an eye that looks away is painted: once per portrait
the photo's iris is cut out as a disk (its parts hidden under the lids filled from the
visible ones, mirrored about the iris's middle row) and the eye without it is made by
inpainting the disk from the white around it; per frame, where the eye's gaze moves the
iris, the old disk is covered with that white and the iris is laid at its new place, both
clipped to the target lids, so a lid still covers what it covered and a closing lid
covers the iris. An eye whose eyeLook shapes are all 0 is left to the warp, as before.

Both layers follow the eye's corners (a similarity: the head's turn, tilt and size), and
the iris moves by its landmark's eyeLook displacement on top.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face import landmarks as lm
from ..facemodel.arkit import BLENDSHAPE_NAMES
from ..facemodel.basis import ExpressionBasis

# (corners outer, inner; the opening's contour; iris centre then ring) per eye
_EYES = (
    (lm.RIGHT_EYE_CORNERS, lm.RIGHT_EYE, lm.RIGHT_IRIS),
    (lm.LEFT_EYE_CORNERS, lm.LEFT_EYE, lm.LEFT_IRIS),
)
# A smaller gaze offset leaves the eye to the warp: under a quarter pixel a move does not
# show, while repainting costs ~0.3 ms a frame and resamples the iris (a 1-3 degree
# saccade moves a 45 px wide eye's iris 0.1-0.3 px).
MIN_SHIFT_PX = 0.25
# An iris less visible than this share of its disk (a closed or downcast eye), or in an
# eye narrower than MIN_WIDTH radii (the far eye of a turned head), is not moved: there is
# too little of it to cut out, or no room to move it in.
MIN_VISIBLE, MIN_WIDTH = 0.25, 3.0
WHITE_MARGIN = 1.2  # the old disk is covered this far out (of the radius): its dark rim too
EDGE_PX = 0.75  # soft edge of the disk and of the lids' clip, in pixels
LID_SOFT = 0.7  # pixels: the blur of the lids' clip
IRIS_CUT = 0.9  # of the ring's radius: the iris cut out (the ring lies on its edge)


@dataclass(frozen=True)
class IrisLook:
    """One eye of the photo, in canvas pixels.

    corners: (2, 2) the eye's outer and inner corner at rest.
    centre:  (2,) the iris centre at rest; radius: its radius.
    origin:  (2,) where the patches' pixel (0, 0) lies.
    iris:    (s, s, 4) float32 RGBA: the iris, alpha a disk.
    white:   (s, s, 3) float32: the eye without its iris.
    """

    corners: np.ndarray
    centre: np.ndarray
    radius: float
    origin: np.ndarray
    iris: np.ndarray
    white: np.ndarray


def _disk(size: int | tuple[int, int], centre: np.ndarray, radius: float) -> np.ndarray:
    """(h, w) float32 soft disk (1 inside, a EDGE_PX ramp at the rim) in a square of
    ``size`` or a box of ``size`` = (w, h)."""
    w, h = (size, size) if isinstance(size, int) else size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dist = np.hypot(xx - centre[0], yy - centre[1])
    return np.clip((radius - dist) / EDGE_PX + 0.5, 0.0, 1.0)


def _polygon(shape: tuple[int, int], pts: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(h, w) float32 mask of the polygon ``pts`` (canvas px) shifted by -``offset``,
    anti-aliased at sub-pixel precision."""
    mask = np.zeros(shape, np.uint8)
    fixed = np.round((pts - offset) * 16).astype(np.int32)
    cv2.fillPoly(mask, [fixed], (255,), cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255.0


def _sclera(
    image: np.ndarray, contour: np.ndarray, centre: np.ndarray, radius: float
) -> np.ndarray:
    """(3,) the white of the eye: the lighter half of the opening's pixels off the iris
    (the darker ones are lashes and the lid's shadow)."""
    x0, y0 = np.floor(contour.min(axis=0)).astype(int)
    x1, y1 = np.ceil(contour.max(axis=0)).astype(int) + 1
    box = image[max(y0, 0) : y1, max(x0, 0) : x1].astype(np.float32)
    origin = np.array([max(x0, 0), max(y0, 0)], np.float64)
    inside = _polygon((box.shape[0], box.shape[1]), contour, origin) > 0.99
    yy, xx = np.mgrid[0 : box.shape[0], 0 : box.shape[1]]
    inside &= np.hypot(xx + origin[0] - centre[0], yy + origin[1] - centre[1]) > 1.1 * radius
    if inside.sum() < 4:
        return np.median(box.reshape(-1, 3), axis=0)
    pixels = box[inside]
    return np.median(pixels[pixels.sum(axis=1) >= np.median(pixels.sum(axis=1))], axis=0)


def analyse_iris(image: np.ndarray, points: np.ndarray, eye: int) -> IrisLook | None:
    """Cut eye ``eye`` (0 = the subject's right, 1 = left) out of ``image`` (H, W, 3)
    uint8, its 478 landmarks ``points`` (478, >=2) in its pixels; None when the eye
    shows too little iris to move (see MIN_VISIBLE) or lies at the image's edge."""
    corners, contour, iris = _EYES[eye]
    centre = points[iris[0], :2].astype(np.float64)
    radius = float(np.median(np.linalg.norm(points[list(iris[1:]), :2] - centre, axis=1)))
    width = float(np.linalg.norm(points[corners[0], :2] - points[corners[1], :2]))
    if radius < 1.5 or width < MIN_WIDTH * radius:
        return None
    half = int(np.ceil(WHITE_MARGIN * radius + 2 * EDGE_PX)) + 2
    origin = np.floor(centre) - half
    size = 2 * half + 1
    x0, y0 = int(origin[0]), int(origin[1])
    h, w = image.shape[:2]
    if x0 < 0 or y0 < 0 or x0 + size > w or y0 + size > h:
        return None
    patch = image[y0 : y0 + size, x0 : x0 + size]
    eye_pts = points[list(contour), :2].astype(np.float64)
    opening = _polygon((size, size), eye_pts, origin)
    disk = _disk(size, centre - origin, radius) > 0.5
    # A pixel inside the margins: the lash line's shadow is not iris.
    inside = cv2.erode((opening > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    visible = disk & inside
    if visible.sum() < MIN_VISIBLE * disk.sum():
        return None
    # The hidden rows of the disk from their mirror about its middle row, else the median.
    rgb = patch.astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    mirror_y = np.clip(np.round(2 * (centre[1] - origin[1]) - yy).astype(int), 0, size - 1)
    fill = np.where(visible[mirror_y, xx][..., None], rgb[mirror_y, xx], np.median(rgb[visible], 0))
    iris_rgb = np.where(visible[..., None], rgb, fill)
    # MediaPipe's ring lies on the iris's edge: a slightly smaller disk keeps the white
    # around it out of the cut.
    alpha = _disk(size, centre - origin, IRIS_CUT * radius)
    # The white where the iris was: inpainted from the eye's own white, the lids around it
    # taken half as that white (wholly theirs, skin and lashes bleed into the eye; wholly
    # white, the white lacks the shade the lids cast).
    lids = 0.5 * (rgb + _sclera(image, eye_pts, centre, radius))
    white_src = np.where(opening[..., None] > 0.5, rgb, lids)
    cover = (_disk(size, centre - origin, WHITE_MARGIN * radius) > 0).astype(np.uint8)
    white = cv2.inpaint(
        np.round(white_src).astype(np.uint8), cover * 255, max(radius / 2, 2.0), cv2.INPAINT_TELEA
    )
    return IrisLook(
        corners=points[list(corners), :2].astype(np.float64),
        centre=centre,
        radius=radius,
        origin=origin,
        iris=np.dstack([iris_rgb, alpha]).astype(np.float32),
        white=white.astype(np.float32),
    )


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) the rotation, scale and shift taking the two points ``src`` to ``dst``."""
    zs, zd = src[:, 0] + 1j * src[:, 1], dst[:, 0] + 1j * dst[:, 1]
    a = (zd[1] - zd[0]) / (zs[1] - zs[0])
    t = zd[0] - a * zs[0]
    return np.array([[a.real, -a.imag, t.real], [a.imag, a.real, t.imag]])


def paint_iris(
    image: np.ndarray,
    look: IrisLook,
    corners: np.ndarray,
    opening: np.ndarray,
    offset: np.ndarray,
) -> None:
    """Move one eye's iris in ``image`` (h, w, 3) uint8, in place.

    corners: (2, 2) the eye's target corners; opening: (16, 2) its target lid contour
    (``landmarks.RIGHT_EYE`` / ``LEFT_EYE`` order); offset: (2,) the iris centre's gaze
    displacement at rest scale and orientation; all in ``image``'s pixels, in which
    ``look`` was cut out at rest (the caller's region coordinates).
    """
    if float(np.hypot(*offset)) < MIN_SHIFT_PX:
        return
    s = _similarity(look.corners, corners)
    shift = s[:, :2] @ offset
    old = s[:, :2] @ look.centre + s[:, 2]
    reach = WHITE_MARGIN * look.radius * float(np.hypot(*s[:, 0])) + 2 * EDGE_PX + 1
    lo = np.floor(np.minimum(old, old + shift) - reach).astype(int)
    hi = np.ceil(np.maximum(old, old + shift) + reach).astype(int) + 1
    h, w = image.shape[:2]
    x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
    x1, y1 = min(int(hi[0]), w), min(int(hi[1]), h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    box = (x1 - x0, y1 - y0)
    # patch pixel -> rest canvas (origin) -> target (s) -> this box
    place = s.copy()
    place[:, 2] += s[:, :2] @ look.origin - (x0, y0)
    lids = _polygon((box[1], box[0]), opening, np.array([x0, y0], np.float64))
    # Softened over a pixel and ending inside the margins: the margin contour is coarse,
    # and a hard clip along it drew its polygon into the eye; the lash line stays the photo's.
    lids = cv2.GaussianBlur(lids, (0, 0), LID_SOFT)
    lids = np.clip((lids - 0.35) / 0.5, 0.0, 1.0)[..., None]
    roi = image[y0:y1, x0:x1].astype(np.float32)
    white = cv2.warpAffine(look.white, place, box, flags=cv2.INTER_LINEAR)
    scale = float(np.hypot(*s[:, 0]))
    gone = _disk(box, old - (x0, y0), WHITE_MARGIN * look.radius * scale)[..., None]
    roi += (white - roi) * (gone * lids)
    place[:, 2] += shift
    iris = cv2.warpAffine(look.iris, place, box, flags=cv2.INTER_LINEAR)
    roi += (iris[..., :3] - roi) * (iris[..., 3:] * lids)
    image[y0:y1, x0:x1] = np.clip(np.round(roi), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Irises:
    """Both eyes, right then left: the cut-out irises (None: left to the warp) and how far
    each of the eye's eyeLook shapes moves its iris centre.

    columns: per eye (K,) the eyeLook shapes' columns among the 52 blendshapes.
    shifts:  per eye (K, 2) the iris centre's displacement per unit of each, image pixels.
    """

    looks: tuple[IrisLook | None, IrisLook | None]
    columns: tuple[np.ndarray, np.ndarray]
    shifts: tuple[np.ndarray, np.ndarray]


def analyse_irises(
    image: np.ndarray, points: np.ndarray, basis: ExpressionBasis, px: float
) -> Irises:
    """Both eyes of ``image`` (H, W, 3), their 478 landmarks ``points`` in its pixels;
    ``basis``'s shapes are in working-crop pixels, ``px`` image pixels per crop pixel."""
    names = [BLENDSHAPE_NAMES[c] for c in basis.columns]
    columns, shifts = [], []
    for side, (_, _, iris) in zip(("Right", "Left"), _EYES, strict=True):
        slots = [k for k, n in enumerate(names) if n.startswith("eyeLook") and n.endswith(side)]
        columns.append(basis.columns[slots])
        shifts.append(basis.shapes[slots, iris[0], :2] * px)
    looks = (analyse_iris(image, points, 0), analyse_iris(image, points, 1))
    return Irises(looks, (columns[0], columns[1]), (shifts[0], shifts[1]))


def paint_irises(image: np.ndarray, irises: Irises, at: np.ndarray, expr: np.ndarray) -> None:
    """Move both irises in ``image`` in place for one frame: ``at`` (>=468, 2) the target
    landmarks in its pixels, ``expr`` (52,) the frame's blendshapes."""
    for look, columns, shifts, (corners, contour, _) in zip(
        irises.looks, irises.columns, irises.shifts, _EYES, strict=True
    ):
        if look is None:
            continue
        offset = np.clip(expr[columns], 0.0, 1.0) @ shifts
        paint_iris(image, look, at[list(corners)], at[list(contour)], offset)
