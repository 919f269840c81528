"""A synthesised mouth interior for the gap between the target inner lips.

The warp can only stretch what the photo shows, and between closed lips that is a thin
seam. So wherever the target inner lips part, the opening is painted: a dark cavity that
darkens towards the throat and the corners, a band of upper teeth under the upper lip
(lit in the middle, shaded towards the corners), a hint of tongue low in the mouth, and
soft edges so the lips' own pixels frame it.
"""

from __future__ import annotations

import cv2
import numpy as np

CAVITY_RGB = np.array([70.0, 26.0, 22.0])
THROAT_RGB = np.array([22.0, 8.0, 7.0])
TEETH_RGB = np.array([236.0, 226.0, 206.0])
TONGUE_RGB = np.array([150.0, 62.0, 58.0])
TOOTH_WIDTH = 0.1  # upper incisor width in eye spans (faint gaps between teeth)
TEETH_HEIGHT = 0.085  # visible upper-teeth height, in eye spans (at most half the gap)
MIN_GAP_PX = 1.0  # below this the lips touch: nothing to paint


def _contour_y(xs: np.ndarray, contour: np.ndarray) -> np.ndarray:
    order = np.argsort(contour[:, 0])
    return np.interp(xs, contour[order, 0], contour[order, 1])


def _interior(
    xx: np.ndarray, yy: np.ndarray, upper: np.ndarray, lower: np.ndarray, unit: float
) -> np.ndarray:
    """Colour of the mouth interior at pixel centres (xx, yy): (h, w, 3) float."""
    yu = _contour_y(xx[0], upper)[None, :]
    yl = _contour_y(xx[0], lower)[None, :]
    gap = np.maximum(yl - yu, 1e-3)
    t = np.clip((yy - yu) / gap, 0.0, 1.0)  # 0 at the upper lip, 1 at the lower lip
    x_mid = 0.5 * (upper[0, 0] + upper[-1, 0])
    half = max(0.5 * abs(upper[-1, 0] - upper[0, 0]), 1.0)
    s = np.clip(np.abs(xx - x_mid) / half, 0.0, 1.0)  # 0 centre, 1 at the corners
    depth = np.clip(np.sin(np.pi * t) * (1.0 - s**2), 0.0, 1.0)
    colour = CAVITY_RGB + (THROAT_RGB - CAVITY_RGB) * depth[..., None]
    tongue = (
        np.clip((t - 0.6) / 0.4, 0.0, 1.0) * (1.0 - s**2) * np.clip(gap / (0.2 * unit), 0.0, 1.0)
    )
    colour += (TONGUE_RGB - colour) * (0.55 * tongue)[..., None]
    teeth_h = np.minimum(TEETH_HEIGHT * unit, 0.5 * gap)
    below = yy - yu
    teeth = np.clip((teeth_h - below) / 1.5 + 0.5, 0.0, 1.0) * np.clip(1.0 - 1.25 * s**2, 0.0, 1.0)
    lit = (0.55 + 0.45 * (1.0 - s**2)) * (
        1.0 - 0.2 * np.clip(below / np.maximum(teeth_h, 1e-3), 0, 1)
    )
    phase = (xx - x_mid) / (TOOTH_WIDTH * unit)  # gaps at the midline and every tooth width
    lit = lit * (
        1.0 - 0.22 * np.exp(-((((phase + 0.5) % 1.0 - 0.5) * TOOTH_WIDTH * unit / 0.8) ** 2))
    )
    colour += (TEETH_RGB * lit[..., None] - colour) * teeth[..., None]
    return colour


def paint_mouth(image: np.ndarray, upper: np.ndarray, lower: np.ndarray, unit: float) -> None:
    """Fill the opening between ``upper`` and ``lower`` inner-lip contours, in place.

    upper, lower: (K, 2) target contours in image pixels, corner to corner, same corners.
    unit: eye-corner distance in pixels (sets the teeth height and edge softness).
    """
    mid = len(upper) // 2
    if lower[mid, 1] - upper[mid, 1] < MIN_GAP_PX:
        return
    poly = np.vstack([upper, lower[::-1]])
    pad = 3
    x0, y0 = np.floor(poly.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + pad + 1
    h_img, w_img = image.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w_img), min(y1, h_img)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    sub = 4  # fillPoly's fractional bits: sub-pixel accurate edges
    pts = np.round((poly - (x0, y0)) * (1 << sub)).astype(np.int32)
    cv2.fillPoly(mask, [pts], (255,), lineType=cv2.LINE_AA, shift=sub)
    soft = max(0.35, 0.006 * unit)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), soft)[..., None]
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    colour = _interior(xx, yy, upper, lower, unit)
    roi = image[y0:y1, x0:x1].astype(np.float32)
    image[y0:y1, x0:x1] = np.clip(roi + (colour - roi) * alpha, 0, 255).astype(np.uint8)
