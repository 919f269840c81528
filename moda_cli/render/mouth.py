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
MIN_GAP_PX = 1.0  # below this (in working-crop pixels) the lips touch: nothing to paint


def _contour_y(xs: np.ndarray, contour: np.ndarray) -> np.ndarray:
    order = np.argsort(contour[:, 0])
    return np.interp(xs, contour[order, 0], contour[order, 1])


def _interior(
    x: np.ndarray, y: np.ndarray, upper: np.ndarray, lower: np.ndarray, unit: float, px: float
) -> np.ndarray:
    """Colour of the mouth interior at pixel centres x (w,) by y (h, 1): (h, w, 3) float32.

    Terms that vary only along x (contours, the corner falloff, the tooth gaps) are
    computed once per column; only the blends are per pixel.
    """
    f32 = np.float32
    yu = _contour_y(x, upper).astype(f32)
    gap = np.maximum(_contour_y(x, lower).astype(f32) - yu, f32(1e-3))
    x_mid = 0.5 * (upper[0, 0] + upper[-1, 0])
    half = max(0.5 * abs(upper[-1, 0] - upper[0, 0]), 1.0)
    s2 = (np.clip(np.abs(x - x_mid) / half, 0.0, 1.0) ** 2).astype(f32)  # 0 centre, 1 at the corners
    phase = (x - x_mid) / (TOOTH_WIDTH * unit)  # gaps at the midline and every tooth width
    tooth_gaps = (1.0 - 0.22 * np.exp(-((((phase + 0.5) % 1.0 - 0.5) * TOOTH_WIDTH * unit / 0.8) ** 2))).astype(f32)
    teeth_h = np.minimum(f32(TEETH_HEIGHT * unit), 0.5 * gap)

    below = y.astype(f32) - yu  # (h, w) depth under the upper lip
    t = np.clip(below / gap, 0.0, 1.0)  # 0 at the upper lip, 1 at the lower lip
    depth = np.clip(np.sin(np.float32(np.pi) * t) * (1.0 - s2), 0.0, 1.0)
    tongue = 0.55 * np.clip((t - 0.6) / 0.4, 0.0, 1.0) * ((1.0 - s2) * np.clip(gap / f32(0.2 * unit), 0.0, 1.0))
    teeth = np.clip((teeth_h - below) / f32(1.5 * px) + 0.5, 0.0, 1.0) * np.clip(1.0 - 1.25 * s2, 0.0, 1.0)
    lit = ((0.55 + 0.45 * (1.0 - s2)) * tooth_gaps) * (1.0 - 0.2 * np.clip(below / np.maximum(teeth_h, 1e-3), 0, 1))

    colour = np.empty((*below.shape, 3), f32)
    for c in range(3):  # per channel: (h, w) float32 planes instead of (h, w, 3) float64 broadcasts
        cavity = f32(CAVITY_RGB[c]) + f32(THROAT_RGB[c] - CAVITY_RGB[c]) * depth
        cavity += (f32(TONGUE_RGB[c]) - cavity) * tongue
        colour[..., c] = cavity + (f32(TEETH_RGB[c]) * lit - cavity) * teeth
    return colour


def paint_mouth(image: np.ndarray, upper: np.ndarray, lower: np.ndarray, unit: float, px: float) -> None:
    """Fill the opening between ``upper`` and ``lower`` inner-lip contours, in place.

    upper, lower: (K, 2) target contours in image pixels, corner to corner, same corners.
    unit: eye-corner distance in pixels (sets the teeth height and edge softness).
    px: image pixels per working-crop pixel (the size the painting's fixed lengths are in).
    """
    mid = len(upper) // 2
    if lower[mid, 1] - upper[mid, 1] < MIN_GAP_PX * px:
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
    soft = max(0.35 * px, 0.006 * unit)
    alpha = cv2.GaussianBlur(mask, (0, 0), soft).astype(np.float32) * np.float32(1 / 255)
    colour = _interior(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64)[:, None], upper, lower, unit, px)
    roi = image[y0:y1, x0:x1].astype(np.float32)
    image[y0:y1, x0:x1] = np.clip(roi + (colour - roi) * alpha[..., None], 0, 255).astype(np.uint8)
