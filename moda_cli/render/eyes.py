"""Finishing a closing eyelid.

The warp slides the upper lid down over the eye, but it can only stretch the photo's
own pixels: the thin strip between the lid crease and the lid margin (lid skin, the
lash line, the top of the iris) is pulled over the whole eye, a dark smear, and the
eye itself is squeezed into a band on the closing line that the inverse map cannot
resolve. A face tracker reads such an eye as half open. So while a lid is closing, the
strip from the crease to the margin is repainted as lid skin, and the squeezed band is
covered once the eye is nearly shut:

* skin: the photo's own lid skin, per column, from about the crease (lower down the warp
  shows lashes and iris), so tone, shading and a grey photo's greys are kept; its grain
  comes back as the fine detail of the skin above the crease, mirrored about it;
* an arch above the crease too, where the lid unfolds in a real blink but the warp drags
  the brow's dark edge down onto the lid (read as an open eye's upper lash line);
* a slight darkening towards the margin, where the lid turns away from the light;
* a lash line along the margin, its colour the darkest of the photo's own lash pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

CLOSE_START = 0.45  # lid closure where the repainting starts to show
CLOSE_FULL = 0.85  # fully repainted from here on
BAND_START, BAND_FULL = 0.75, 0.92  # the squeezed eye band is covered over this range
MARGIN_SHADE = 0.12  # lid skin darkens by this fraction towards the margin
# Lengths in eye-corner distances (``unit``), so they follow the face's size.
GRAIN_ROWS = 0.1  # the skin above the crease that lends its grain
LASH_WIDTH = 0.025
# The skin is sampled from SKIN_ABOVE (eye-corner distances) above the crease down to
# LID_SAMPLE of the way to the lid's edge.
SKIN_ABOVE, LID_SAMPLE = 0.02, 0.15
# The lid's tone is this percentile of that band: the crease's shadow, lashes and a dragged
# brow are all darker than the lid skin, so the median of a deep-set eye is a shadow.
SKIN_LEVEL = 75.0
GRAIN_MAX = 6.0  # grey levels: the borrowed grain, never the brows' or lashes' edges
FADE = 0.2  # of the lid's height below the crease over which the repainting fades in
# A closing lid also covers up to COVER eye-corner distances above the crease: the warp
# cannot unfold the lid there and drags the brow's lower edge (its shadow, a glasses
# frame's) down onto the lid, which a face tracker reads as the upper lash line of an eye
# still open. Glasses frames sit further up (about 0.2 above the margin).
COVER = 0.08
# Fractions of the eye's width over which the lid and its lash line thin out at the corners.
CORNER_TAPER, LASH_TAPER = 0.1, 0.03


def _curve(xs: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """(K, 2) points -> their y interpolated at columns xs (ends held)."""
    order = np.argsort(pts[:, 0])
    return np.interp(xs, pts[order, 0], pts[order, 1])


def _skin(
    roi: np.ndarray, rows: np.ndarray, top: np.ndarray, edge: np.ndarray, unit: float
) -> np.ndarray:
    """(w, 3) lid skin per column: a light pixel (SKIN_LEVEL) of a band about the crease, smoothed.

    Only there is the warp's picture of the lid reliable: towards the closing line its
    field (sampled FIELD_STEP pixels apart) cannot follow the collapsed eye and shows
    bits of the iris."""
    band = (rows >= top - SKIN_ABOVE * unit) & (rows <= top + LID_SAMPLE * (edge - top))  # (h, w)
    band[np.clip(np.round(top).astype(np.int64), 0, len(rows) - 1), np.arange(roi.shape[1])] = True
    # Per column, the band's pixel at that percentile of brightness (outside it: -inf, first).
    order = np.argsort(np.where(band, roi.sum(axis=2), -np.inf), axis=0)
    count = band.sum(axis=0)
    pick = len(rows) - count + np.round(SKIN_LEVEL / 100 * (count - 1)).astype(np.int64)
    cols = np.arange(roi.shape[1])
    light = roi[order[pick, cols], cols]
    return cv2.GaussianBlur(light[None], (0, 0), max(0.04 * unit, 1.0))[0]


def _grain(roi: np.ndarray, rows: np.ndarray, top: np.ndarray, unit: float) -> np.ndarray:
    """(h, w, 3) the skin's detail above the crease, mirrored below it."""
    detail = roi - cv2.GaussianBlur(roi, (0, 0), max(0.02 * unit, 1.0))
    mirror = np.clip(np.round(2 * top - rows), 0, roi.shape[0] - 1).astype(np.int64)
    return np.clip(detail[mirror, np.arange(roi.shape[1])[None]], -GRAIN_MAX, GRAIN_MAX)


def _lashes(roi: np.ndarray, rows: np.ndarray, margin: np.ndarray, reach: float) -> np.ndarray:
    """(3,) lash colour: the median over columns of the darkest pixel near the margin."""
    luma = np.where(np.abs(rows - margin) <= reach, roi.mean(axis=2), np.inf)
    return np.median(roi[luma.argmin(axis=0), np.arange(roi.shape[1])], axis=0)


def paint_eyelid(
    image: np.ndarray,
    crease: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    closure: float,
    unit: float,
    px: float,
) -> None:
    """Repaint a closing upper lid, in place.

    crease: (C, 2) target lid-crease points; upper, lower: (K, 2) target lid margins,
    corner to corner (same corners); all in image pixels.
    closure: the blink coefficient (0 open .. 1 closed); below CLOSE_START nothing is drawn.
    unit: eye-corner distance in image pixels; px: image pixels per working-crop pixel.
    """
    t = np.clip((closure - CLOSE_START) / (CLOSE_FULL - CLOSE_START), 0.0, 1.0)
    if t <= 0.0:
        return
    band = np.clip((closure - BAND_START) / (BAND_FULL - BAND_START), 0.0, 1.0)
    h, w = image.shape[:2]
    lash_w = max(0.8 * px, 0.9, LASH_WIDTH * unit)
    x0 = max(int(np.floor(min(upper[:, 0].min(), lower[:, 0].min()))), 0)
    x1 = min(int(np.ceil(max(upper[:, 0].max(), lower[:, 0].max()))) + 1, w)
    y0 = max(int(np.floor(crease[:, 1].min() - (GRAIN_ROWS + COVER) * unit)), 0)
    y1 = min(int(np.ceil(lower[:, 1].max() + 3 * lash_w)), h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    # Curves per column, in the box's own pixels: (w,) each; rows (h, 1).
    xs, rows = np.arange(x0, x1, dtype=np.float64), np.arange(y1 - y0, dtype=np.float64)[:, None]
    margin, low = _curve(xs, upper) - y0, _curve(xs, lower) - y0
    top = np.minimum(_curve(xs, crease) - y0, margin)
    closing = margin + band * np.maximum(low - margin, 0.0)  # the lid's edge
    height = np.maximum(closing - top, px)
    roi = image[y0:y1, x0:x1].astype(np.float32)
    span = max(float(upper[:, 0].max() - upper[:, 0].min()), 1.0)
    ends = np.minimum(xs - upper[:, 0].min(), upper[:, 0].max() - xs) / span  # 0 .. 0.5
    # Above the crease the lid's skin unfolds as the eye closes: covered over an arch,
    # highest mid-eye, nothing at the corners.
    lift = COVER * unit * t * np.sin(0.5 * np.pi * np.clip(2.0 * ends, 0.0, 1.0))
    # Lid skin from above the crease down to the edge, faded in over its top to meet the warp.
    depth = np.clip((rows - top) / height, 0.0, 1.0)
    colour = _skin(roi, rows, top, closing, unit)[None] * (1.0 - MARGIN_SHADE * depth**2)[..., None]
    colour += _grain(roi, rows, top, unit)
    fade_in = np.clip((rows - top + lift) / (lift + FADE * height), 0.0, 1.0)
    inside = fade_in**2 * (3 - 2 * fade_in) * np.clip((closing - rows) / px + 0.5, 0.0, 1.0)
    lash = np.exp(-(((rows - closing - 0.3 * lash_w) / lash_w) ** 2))
    colour += (_lashes(roi, rows, margin, 2.0 * lash_w) - colour) * (0.85 * lash)[..., None]
    lid_taper, lash_taper = (np.clip(ends / f, 0.0, 1.0) for f in (CORNER_TAPER, LASH_TAPER))
    alpha = (t * np.maximum(inside * lid_taper, lash * lash_taper))[..., None]
    image[y0:y1, x0:x1] = np.clip(roi + (colour - roi) * alpha, 0, 255).astype(np.uint8)
