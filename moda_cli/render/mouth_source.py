"""The photo's own mouth appearance, analysed once per portrait for the mouth painter.

Everything the painted mouth interior shows comes from the photo, so it has the photo's
colours, light, sharpness and grain:

- the photo's own teeth, where its parted lips show them (bright, less saturated than
  its lips), split into the upper row (rigid with the skull) and the lower row (with the
  jaw);
- otherwise teeth synthesized along the dental arch from the photo's whites: the sclera
  (where it is seen; else the skin and the specular highlights) sets their white balance,
  the highlights their brightness, the cheeks' brightness on either side the direction
  of the light;
- cavity, throat and tongue: the photo's lip colour, darkened;
- the photo's blur and grain (``face.appearance``), applied to what is synthesized so it
  is never sharper or cleaner than the photo.

Teeth are layers of premultiplied RGBA in the analysed image's pixels; the painter maps
them each frame with the motion of their anchor landmarks (nose base for the upper row,
chin for the lower one).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face import landmarks as lm
from ..face.appearance import (
    blur_sigma,
    fill_polygon,
    grain_tile,
    inner_lip_polygon,
    light_slope,
    lip_colour,
    median_rgb,
    teeth_white,
    to_lab,
    whiteness,
)

# Anchors whose motion carries the teeth: the nose base moves only with the head, the chin
# only with the head and the jaw. The nose sits in front of the teeth, so a turning head
# slides them a little against the lips (2-3.5 px at 15 degrees of yaw, 512 px): MARGIN.
UPPER_ANCHORS = (2, 164, 97, 326, 98, 327, 94, 1, 4, 5)
LOWER_ANCHORS = (152, 175, 199, 200, 18, 83, 313, 201, 421)

# Dental anatomy in eye spans (outer eye-corner distance, ~95 mm in adults): visible upper
# incisor below the relaxed upper lip ~2-3.5 mm (Vig and Brundo, J Prosthet Dent 1978),
# more in speech as the lip rises (~4.5 mm taken: less hid the teeth in a photo's blur);
# an upper central incisor crown ~10.5 mm tall; upper teeth widths along the arch 8.5,
# 6.5, 7.5, 7, 7 mm and lower ones 5.4, 5.9, 7, 7, 7 mm (textbook means), on arches of ~25
# and ~22 mm radius.
UPPER_SHOW = 0.05
CROWN = 0.11
UPPER_ARCH = np.cumsum([0.0, 8.5, 6.5, 7.5, 7.0, 7.0]) / 25.0  # tooth boundaries, radians
LOWER_ARCH = np.cumsum([0.0, 5.4, 5.9, 7.0, 7.0, 7.0]) / 22.0
UPPER_LENGTH = np.array([1.0, 0.8, 0.95, 0.75, 0.7])  # crown shown, relative to the centrals
CORNER_ANGLE = np.radians(60.0)  # the arch angle seen at the inner mouth corners
LOWER_LIGHT = 0.85  # light on the lower teeth relative to the upper ones
BUCCAL = 0.2  # share of the half mouth width, at each corner, where teeth fade into shadow
# Shadows the lips cast into the opening: (darkening at the lip, reach in eye spans).
UPPER_SHADOW = (0.3, 0.012)
LOWER_SHADOW = (0.25, 0.012)
MIN_WHITER = 8.0  # least lead of the skin's CIELAB whiteness (L* - chroma) over the lips
MARGIN = 0.04  # eye spans by which the photo's teeth continue past its inner lips
RIM = 0.012  # eye spans of the photo's inner-lip rim that belong to the lips, not the teeth
MIN_TEETH_AREA = 0.008  # eye spans squared of teeth pixels below which a row is synthesized
# Light reaching into the mouth through an opening a eye spans tall: about a / (a + SLIT),
# the share of the front's light a point a few mm inside still sees (a slit's view factor).
# So a 1-2 mm opening shows a dark line and wide ones their teeth lit; LIT_GAP is the
# opening at which synthesized teeth get the photo's full light (wide speech, ~11 mm).
SLIT = 0.04
LIT_GAP = 0.12
MIN_LIT_GAP = 0.03  # a photo whose teeth show through a slit is taken as lit at 3 mm


@dataclass(frozen=True)
class Layer:
    """Teeth as a texture: rgba (h, w, 4) float32, colour premultiplied by alpha (so a
    bilinear warp blends the edges right); ``origin`` (2,) is the image pixel of rgba[0, 0]."""

    rgba: np.ndarray
    origin: np.ndarray


@dataclass(frozen=True)
class MouthLook:
    """One portrait's mouth interior, in the analysed image's pixels.

    upper, lower: teeth rows, carried by ``upper_anchors`` / ``lower_anchors`` (N, 2): the
        photo positions of UPPER_ANCHORS / LOWER_ANCHORS.
    lower_behind_lip: the lower row is synthesized and sits behind the lower lip; the
        painter lifts it into view only at wide openings.
    cavity, throat, tongue: (3,) float32 RGB.
    grain: (N, N) float32 luminance noise with the photo's grain, repeating every
        GRAIN_TILE pixels, larger than any mouth.
    blur: the photo's blur, a Gaussian sigma in image pixels.
    teeth_in_photo: whether the photo's own teeth are kept.
    lit_gap: the opening (eye spans) at which the interior is lit as painted: the photo's
        own where its teeth are kept (they carry its light), else LIT_GAP.
    """

    upper: Layer
    lower: Layer
    lower_behind_lip: bool
    cavity: np.ndarray
    throat: np.ndarray
    tongue: np.ndarray
    grain: np.ndarray
    blur: float
    upper_anchors: np.ndarray
    lower_anchors: np.ndarray
    teeth_in_photo: bool
    lit_gap: float

    def light(self, gap: float) -> float:
        """Share of the painted interior's light that an opening of ``gap`` eye spans lets in."""
        a, b = max(gap, 0.0), max(self.lit_gap, 1e-3)
        return min(a / (a + SLIT) * (b + SLIT) / b, 1.0)


@dataclass(frozen=True)
class _MouthFrame:
    """Mouth coordinates: u along the inner corners 78 -> 308, v down, both in pixels,
    origin at the upper inner-lip middle (13)."""

    origin: np.ndarray
    axes: np.ndarray  # (2, 2) rows: e_u, e_v in image pixels
    left: float  # u of the inner corners
    right: float

    def uv(self, pts: np.ndarray) -> np.ndarray:
        return (pts - self.origin) @ self.axes.T


def _mouth_frame(points: np.ndarray) -> _MouthFrame:
    a, b = points[lm.INNER_MOUTH_CORNERS[0]], points[lm.INNER_MOUTH_CORNERS[1]]
    e_u = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
    axes = np.array([e_u, [-e_u[1], e_u[0]]])
    origin = points[lm.INNER_LIP_MID[0]]
    left, right = ((np.array([a, b]) - origin) @ axes.T)[:, 0]
    return _MouthFrame(origin, axes, float(left), float(right))


@dataclass(frozen=True)
class _Box:
    """The pixels around the mouth where teeth textures live, with their mouth coordinates."""

    x0: int
    y0: int
    u: np.ndarray  # (h, w) float64 mouth coordinates of each pixel
    v: np.ndarray
    v_upper: np.ndarray  # (h, w) the upper / lower inner lip's v in each pixel's u
    v_lower: np.ndarray
    u_norm: np.ndarray  # (h, w) u over the half mouth width on its side, -1..1

    def slices(self) -> tuple[slice, slice]:
        h, w = self.u.shape
        return slice(self.y0, self.y0 + h), slice(self.x0, self.x0 + w)


def mid_gap(points: np.ndarray) -> float:
    """The inner-lip gap at the middle of the mouth (13 to 14), in ``points``' pixels."""
    return float(np.linalg.norm(points[lm.INNER_LIP_MID[1], :2] - points[lm.INNER_LIP_MID[0], :2]))


def contour_at(u: np.ndarray, contour: np.ndarray) -> np.ndarray:
    """The contour (K, 2), a function of its first coordinate, at ``u`` (any shape)."""
    order = np.argsort(contour[:, 0])
    return np.interp(u, contour[order, 0], contour[order, 1])


def _mouth_box(shape: tuple[int, ...], points: np.ndarray, unit: float) -> _Box:
    frame = _mouth_frame(points)
    lips = points[[*lm.UPPER_OUTER_LIP, *lm.LOWER_OUTER_LIP]]
    h, w = shape[:2]
    x0, y0 = np.clip(np.floor(lips.min(axis=0) - 0.15 * unit).astype(int), 0, None)
    x1, y1 = np.minimum(np.ceil(lips.max(axis=0) + 0.15 * unit).astype(int) + 1, (w, h))
    xx, yy = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    uv = frame.uv(np.stack([xx, yy], axis=-1))
    u, v = uv[..., 0], uv[..., 1]
    half = np.where(u < 0, max(-frame.left, 1.0), max(frame.right, 1.0))
    return _Box(
        int(x0),
        int(y0),
        u,
        v,
        contour_at(u, frame.uv(points[list(lm.UPPER_INNER_LIP)])),
        contour_at(u, frame.uv(points[list(lm.LOWER_INNER_LIP)])),
        np.clip(u / half, -1.0, 1.0),
    )


def _split_rows(mask: np.ndarray, box: _Box, unit: float) -> float:
    """Depth below the upper lip where the photo's upper teeth end and the lower ones start.

    The occlusal line is where, in the middle half of the mouth, the share of teeth pixels
    per row has a clear valley; without one the teeth are taken as upper teeth a crown deep.
    """
    depth = box.v - box.v_upper
    rows = int(CROWN * unit) + 1
    sel = (np.abs(box.u_norm) < 0.5) & (depth >= 0) & (depth < rows)
    row = depth[sel].astype(int)
    count = np.bincount(row, minlength=rows)
    share = np.bincount(row, weights=mask[sel], minlength=rows) / np.maximum(count, 1)
    first = int(0.03 * unit)  # an occlusal line no closer to the lip than ~3 mm
    if rows - first < 3:
        return CROWN * unit
    k = first + int(np.argmin(share[first:-1]))
    if share[k] < 0.5 * min(share[:k].max(initial=0.0), share[k + 1 :].max(initial=0.0)):
        return float(k)
    return CROWN * unit


def _synthesized(
    box: _Box,
    colour: np.ndarray,
    cavity: np.ndarray,
    light: float,
    upper: bool,
    unit: float,
    px: float,
) -> np.ndarray:
    """(h, w, 4) straight-alpha RGBA of a row of teeth along the arch, sharp.

    Upper teeth hang ``UPPER_SHOW`` below the photo's upper inner lip (longest at the
    centrals, corners rounded); lower teeth stand with their edge on its lower inner lip.
    Each tooth is lit by its facing (the arch turns away towards the corners) and the
    photo's light, with faint gaps between teeth and a translucent, darker incisal edge.
    """
    arch = UPPER_ARCH if upper else LOWER_ARCH
    angle = np.abs(np.arcsin(box.u_norm * np.sin(CORNER_ANGLE)))
    k = np.clip(np.searchsorted(arch, angle) - 1, 0, len(arch) - 2)
    phase = (angle - arch[k]) / (arch[k + 1] - arch[k])
    radius = np.abs(box.u / np.maximum(np.sin(angle), 1e-6))  # arch radius in pixels
    sin = np.sin(angle)
    gap_px = radius * np.minimum(sin - np.sin(arch[k]), np.sin(arch[k + 1]) - sin)  # to a gap
    shade = (0.8 + 0.2 * np.cos(angle)) * (1.0 - 0.08 * (2 * phase - 1) ** 2)  # facing, rounding
    shade *= (1.0 + 0.5 * light * box.u_norm) * (1.0 - 0.35 * np.exp(-((gap_px / (0.7 * px)) ** 2)))
    rounded = 1.0 - 0.3 * (2 * phase - 1) ** 6
    if upper:
        inside = box.v_upper + UPPER_SHOW * unit * UPPER_LENGTH[k] * rounded - box.v
        dark, reach = UPPER_SHADOW
        shade *= 1.0 - dark * np.exp(-np.maximum(box.v - box.v_upper, 0.0) / (reach * unit))
    else:  # the lower row stands deeper in the mouth, shaded by the upper teeth and lip
        inside = box.v - box.v_lower - 0.2 * UPPER_SHOW * unit * (1.0 - rounded)
        shade *= LOWER_LIGHT
    # The arch turns away into the cheeks' shadow: teeth darken towards the corners and
    # give way to the dark of the buccal corridor before them.
    corner = np.abs(box.u_norm)
    shade *= 1.0 - 0.35 * corner**3
    alpha = np.clip(inside / px + 0.5, 0.0, 1.0) * np.clip((1.0 - corner) / BUCCAL, 0.0, 1.0)
    edge = 0.12 * np.exp(-np.maximum(inside, 0.0) / (0.006 * unit))  # translucent enamel
    rgb = colour * shade[..., None]
    rgb += (cavity - rgb) * edge[..., None]
    return np.dstack([rgb, alpha]).astype(np.float32)


def _photo_teeth(
    image: np.ndarray, box: _Box, points: np.ndarray, lip: float, skin: float, px: float
) -> np.ndarray:
    """(h, w) 0..1: pixels inside the photo's inner lips that are whiter than its lips.

    lip, skin: the lips' and the skin's whiteness; teeth are whiter than the lips by half
    of the skin's lead over them (lips are the most saturated part of a face).
    """
    sub = image[box.slices()]
    inner = fill_polygon(sub.shape, inner_lip_polygon(points) - (box.x0, box.y0))
    inner = np.clip(2.0 * inner - 1.0, 0.0, 1.0)  # pixels half on the lip are lip
    margin = 0.5 * max(skin - lip, MIN_WHITER)
    whiter = (np.clip((whiteness(to_lab(sub)) - lip) / margin, 0.0, 1.0) * inner).astype(np.float32)
    # A little blur and gain close the speckle and take in the teeth's edges.
    return np.clip(1.5 * cv2.GaussianBlur(whiter, (0, 0), 0.7 * px), 0.0, 1.0)


def _px(length: float) -> int:
    return max(1, round(length))


def _photo_row(
    photo: np.ndarray, row: np.ndarray, inner: np.ndarray, away: np.ndarray, unit: float
) -> np.ndarray:
    """(h, w, 4) premultiplied RGBA of a row of the photo's teeth, (h, w, 3) uint8 ``photo``.

    row: (h, w) its share of each pixel; inner: the photo's inner lips' coverage; away:
    (h, w) bool, the side of the photo's mouth the row may grow into (its own lip's, not
    the other row's). Beyond the photo's inner lips the row is continued with its own edge
    colours for ``MARGIN`` eye spans, so when the head turns and the teeth slide a little
    against the lips (they sit deeper than the anchors), the opening's corners still show
    teeth and shade, not a sliver of cavity. The photo's rim pixels (the lips' edge and
    the shadow line under them) are continued from inside too: the lips move off them.
    """
    rim = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _px(RIM * unit) + 1,) * 2)
    known = cv2.erode((inner >= 0.5).astype(np.uint8), rim)
    continued = cv2.inpaint(photo, 1 - known, 3, cv2.INPAINT_TELEA).astype(np.float32)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _px(MARGIN * unit) + 1,) * 2)
    grown = cv2.dilate(row.astype(np.float32), disc) * (1.0 - inner) * away
    return _premultiplied(continued, np.minimum(row + grown, 1.0))  # no seam at the old rim


def _premultiplied(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.dstack([rgb * alpha[..., None], alpha]).astype(np.float32)


def _like_photo(rgba: np.ndarray, blur: float, grain: np.ndarray) -> np.ndarray:
    """Straight RGBA -> premultiplied, blurred like the photo, with its grain."""
    out = np.asarray(cv2.GaussianBlur(_premultiplied(rgba[..., :3], rgba[..., 3]), (0, 0), blur))
    h, w = out.shape[:2]
    noise = grain[:h, :w, None] * out[..., 3:]  # the grain is larger than any mouth box
    return np.dstack([out[..., :3] + noise, out[..., 3]]).astype(np.float32)


def analyse_mouth(image: np.ndarray, points: np.ndarray, unit: float, px: float) -> MouthLook:
    """A portrait's mouth interior.

    image: (H, W, 3) uint8 RGB the renderer paints on; points: (>=468, 2) the photo's
    landmarks in its pixels; unit: outer eye-corner distance in its pixels; px: its pixels
    per working-crop pixel.
    """
    x0, y0 = np.clip(np.floor(points[:, :2].min(axis=0) - 0.1 * unit).astype(int), 0, None)
    face = image[y0:, x0:]  # everything below uses face-relative pixels; layers add (x0, y0)
    pts = points[:, :2] - (x0, y0)
    lab = to_lab(face)
    gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lip = lip_colour(face, pts)
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 1
    blur = blur_sigma(gray[:y1, :x1], px)
    grain = grain_tile(gray, pts, unit, blur, px)
    box = _mouth_box(face.shape, pts, unit)
    oval = fill_polygon(face.shape, pts[list(lm.FACE_OVAL)]) > 0.5
    skin = float(np.median(whiteness(lab)[oval]))
    lip_white = float(whiteness(to_lab(lip[None, None]))[0, 0])
    teeth = _photo_teeth(face, box, pts, lip_white, skin, px)
    below = np.clip(box.v - box.v_upper - _split_rows(teeth, box, unit) + 0.5, 0.0, 1.0)
    shown = [float((teeth * r).sum()) >= MIN_TEETH_AREA * unit**2 for r in (1.0 - below, below)]
    # A row of the photo's teeth carries all it shows between the lips (gums, the shadow
    # under the lip, dark corners), so at rest the mouth is the photo's own.
    inner = fill_polygon(teeth.shape, inner_lip_polygon(pts) - (box.x0, box.y0))
    inner = np.clip(2.0 * inner, 0.0, 1.0)
    rows = (inner * (1.0 - below), inner * below)
    photo = face[box.slices()]
    whites = median_rgb(photo, teeth) if any(shown) else teeth_white(lab, pts)
    # The mouth's inside is lip-coloured tissue in the lips' shade: a third of their light
    # in the cavity, a tenth down the throat, half on the tongue, which faces the opening.
    cavity, throat, tongue = (np.float32(k) * lip for k in (0.32, 0.1, 0.55))
    light = light_slope(lab, pts, unit)
    sides = (box.v < box.v_lower, box.v > box.v_upper)  # above the lower lip, below the upper
    layers = [
        _photo_row(photo, row, inner, side, unit)
        if keep
        else _like_photo(_synthesized(box, whites, cavity, light, upper, unit, px), blur, grain)
        for row, side, keep, upper in zip(rows, sides, shown, (True, False), strict=True)
    ]
    origin = np.array([box.x0 + x0, box.y0 + y0], np.float64)
    return MouthLook(
        upper=Layer(layers[0], origin),
        lower=Layer(layers[1], origin),
        lower_behind_lip=not shown[1],
        cavity=cavity.astype(np.float32),
        throat=throat.astype(np.float32),
        tongue=tongue.astype(np.float32),
        grain=grain,
        blur=blur,
        upper_anchors=points[list(UPPER_ANCHORS), :2].astype(np.float64),
        lower_anchors=points[list(LOWER_ANCHORS), :2].astype(np.float64),
        teeth_in_photo=shown[0],
        lit_gap=max(mid_gap(pts) / unit, MIN_LIT_GAP) if shown[0] else LIT_GAP,
    )
