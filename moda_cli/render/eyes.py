"""Finishing a closed eyelid.

The warp slides the upper lid's skin down over the eye, but it squeezes the eye's own
pixels into a thin band on the closing line, where the inverse map cannot resolve them.
When a lid is nearly shut, that band is covered with the lid skin found just above it
(per column, so shading and skin tone match) and a soft lash line along its lower edge.
"""

from __future__ import annotations

import cv2
import numpy as np

CLOSE_START = 0.55  # lid closure where the finishing starts to show
CLOSE_FULL = 0.9
LASH_RGB = np.array([45.0, 32.0, 30.0])
# Lengths below are in working-crop pixels (``px`` scales them to the image's).
BAND_ABOVE = 2.0  # how far the band reaches above the upper margin
BAND_BELOW = 1.0


def paint_eyelid(
    image: np.ndarray, upper: np.ndarray, lower: np.ndarray, closure: float, unit: float, px: float
) -> None:
    """Cover a nearly closed eye, in place.

    upper, lower: (K, 2) target lid margins in image pixels, corner to corner (same corners).
    closure: the blink coefficient (0 open .. 1 closed); below CLOSE_START nothing is drawn.
    unit: eye-corner distance in image pixels; px: image pixels per working-crop pixel.
    """
    t = np.clip((closure - CLOSE_START) / (CLOSE_FULL - CLOSE_START), 0.0, 1.0)
    if t <= 0.0:
        return
    order = np.argsort(upper[:, 0])
    ux, uy = upper[order, 0], upper[order, 1]
    order = np.argsort(lower[:, 0])
    lx, ly = lower[order, 0], lower[order, 1]
    h, w = image.shape[:2]
    x0 = max(int(np.floor(min(ux.min(), lx.min()))), 0)
    x1 = min(int(np.ceil(max(ux.max(), lx.max()))) + 1, w)
    y0 = max(int(np.floor(uy.min() - (BAND_ABOVE + 4) * px)), 0)
    y1 = min(int(np.ceil(ly.max() + (BAND_BELOW + 2) * px)), h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    xs = np.arange(x0, x1, dtype=np.float64)
    top = np.interp(xs, ux, uy) - BAND_ABOVE * px
    bottom = np.maximum(np.interp(xs, lx, ly), top + BAND_ABOVE * px) + BAND_BELOW * px
    yy = np.arange(y0, y1, dtype=np.float64)[:, None]
    # Inside the band (soft top and bottom), tapering to nothing at the corners.
    taper = np.clip(np.minimum(xs - ux.min(), ux.max() - xs) / (0.12 * unit), 0.0, 1.0)
    inside = np.clip((yy - top) / px + 0.5, 0, 1) * np.clip((bottom - yy) / px + 0.5, 0, 1) * taper
    roi = image[y0:y1, x0:x1].astype(np.float32)
    skin_row = np.clip(np.round(top - 2 * px).astype(int) - y0, 0, y1 - y0 - 1)
    skin = roi[skin_row, np.arange(x1 - x0)]  # (w, 3) lid skin just above the band
    skin = cv2.GaussianBlur(skin[None], (0, 0), 1.5 * px)[0]
    colour = np.broadcast_to(skin[None], roi.shape).copy()
    lash_w = max(0.8 * px, 0.012 * unit)
    lash = np.exp(-(((yy - (bottom - BAND_BELOW * px)) / lash_w) ** 2)) * taper
    colour += (LASH_RGB - colour) * (0.8 * lash)[..., None]
    alpha = (t * np.maximum(inside, lash))[..., None]
    image[y0:y1, x0:x1] = np.clip(roi + (colour - roi) * alpha, 0, 255).astype(np.uint8)
