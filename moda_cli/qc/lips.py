"""Lip colour and dark mouth pixels of one frame, from a face mesh fitted to that frame.

The lip bands are the polygons between the mesh's outer and inner lip contours: what a
viewer sees as lips. They are eroded by about half a percent of the face height before
their colour is taken, so that a contour a pixel off does not mix in skin or mouth.
Colours are CIELAB (D65, OpenCV's float conversion: L* 0..100); a band's colour is its
pixels' median, robust to a few specular or shadowed pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face.landmarks import (
    CHIN,
    FOREHEAD,
    LOWER_INNER_LIP,
    LOWER_OUTER_LIP,
    UPPER_INNER_LIP,
    UPPER_OUTER_LIP,
    eye_span,
)

ERODE = 0.005  # lip band erosion, in face heights (about 1 px on a 512 px portrait)
BELOW_LIP = 0.02  # margin under the lower lip where a cavity must not spill, in face heights
DARK_FRACTION = 0.5  # "dark": L* below this fraction of the reference lips' median L*
_SHIFT = 4  # fillPoly's fixed-point bits: polygons placed to 1/16 px


@dataclass(frozen=True)
class LipReference:
    """The lips as they should look: CIELAB medians of the upper and lower band, (3,) each,
    the L* below which a pixel counts as dark, and the bands' thickness (2,)."""

    upper: np.ndarray
    lower: np.ndarray
    dark_below: float
    thickness: np.ndarray


@dataclass(frozen=True)
class LipSample:
    """One frame's lips: band colours (3,) CIELAB (NaN where a band has no pixels) and the
    dark pixels outside the inner lips over the lip band area (NaN without a reference),
    and the (upper, lower) band thickness (``lip_thickness``)."""

    upper: np.ndarray
    lower: np.ndarray
    dark_outside: float
    thickness: np.ndarray


def face_height(pts: np.ndarray) -> float:
    """Forehead (10) to chin (152) distance in pixels: the unit of every QC length."""
    return float(np.linalg.norm(pts[FOREHEAD, :2] - pts[CHIN, :2])) + 1e-6


def lip_thickness(pts: np.ndarray) -> np.ndarray:
    """(2,) upper and lower lip band thickness at the middle of the mouth (mean of three
    outer-to-inner contour distances) over the eye-corner distance, which the jaw never moves."""
    pairs = (
        (UPPER_OUTER_LIP[4:7], UPPER_INNER_LIP[4:7]),
        (LOWER_OUTER_LIP[4:7], LOWER_INNER_LIP[4:7]),
    )
    out = [
        np.linalg.norm(pts[list(outer), :2] - pts[list(inner), :2], axis=1).mean()
        for outer, inner in pairs
    ]
    return np.array(out) / eye_span(pts)


def _poly(pts: np.ndarray, *contours: tuple[int, ...]) -> np.ndarray:
    """Contours joined into one closed polygon (the later ones reversed), (N, 2) float."""
    rings = [pts[list(c if k == 0 else c[::-1]), :2] for k, c in enumerate(contours)]
    return np.concatenate(rings)


def _mask(shape: tuple[int, int], poly: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """(h, w) bool: the polygon (frame pixels) filled into a crop whose corner is ``origin``."""
    mask = np.zeros(shape, np.uint8)
    fixed = np.round((poly - origin) * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [fixed], (1,), lineType=cv2.LINE_8, shift=_SHIFT)
    return mask.astype(bool)


def _morph(mask: np.ndarray, radius: int, op: int) -> np.ndarray:
    if radius <= 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.morphologyEx(mask.astype(np.uint8), op, kernel).astype(bool)


def _median_lab(lab: np.ndarray, band: np.ndarray, radius: int) -> np.ndarray:
    """Median CIELAB (3,) of the eroded band (the band itself if erosion empties it)."""
    eroded = _morph(band, radius, cv2.MORPH_ERODE)
    pick = eroded if eroded.any() else band
    if not pick.any():
        return np.full(3, np.nan)
    return np.median(lab[pick], axis=0)


def measure_lips(frame: np.ndarray, pts: np.ndarray, ref: LipReference | None) -> LipSample:
    """(H, W, 3) uint8 RGB frame and its (468, 3) mesh in pixels -> the frame's LipSample.

    Only a box around the mouth is converted to CIELAB (a few thousand pixels).
    """
    fh = face_height(pts)
    radius = max(1, round(ERODE * fh))
    below = np.array([0.0, BELOW_LIP * fh])
    outer = _poly(pts, UPPER_OUTER_LIP, LOWER_OUTER_LIP)
    lo = np.floor(outer.min(axis=0) - 2 * radius).clip(0)
    hi = np.ceil(outer.max(axis=0) + below + 2 * radius)
    hi = np.minimum(hi, [frame.shape[1] - 1, frame.shape[0] - 1])
    x0, y0, x1, y1 = (int(v) for v in (*lo, *hi))
    crop = np.ascontiguousarray(frame[y0 : y1 + 1, x0 : x1 + 1]).astype(np.float32) / 255.0
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB)  # (h, w, 3): L* 0..100, a*, b*
    shape = (lab.shape[0], lab.shape[1])
    upper = _mask(shape, _poly(pts, UPPER_OUTER_LIP, UPPER_INNER_LIP), lo)
    lower = _mask(shape, _poly(pts, LOWER_OUTER_LIP, LOWER_INNER_LIP), lo)
    dark_outside = float("nan")
    if ref is not None:
        # The outer lips with the lower contour lowered by the margin, minus the inner
        # lips grown by the erosion radius (a contour a pixel off is not a spill).
        lowered = np.concatenate(
            [pts[list(UPPER_OUTER_LIP), :2], pts[list(LOWER_OUTER_LIP[::-1]), :2] + below]
        )
        inner = _morph(
            _mask(shape, _poly(pts, UPPER_INNER_LIP, LOWER_INNER_LIP), lo), radius, cv2.MORPH_DILATE
        )
        region = _mask(shape, lowered, lo) & ~inner
        area = max(int((upper | lower).sum()), 1)
        dark_outside = float((region & (lab[..., 0] < ref.dark_below)).sum()) / area
    return LipSample(
        _median_lab(lab, upper, radius),
        _median_lab(lab, lower, radius),
        dark_outside,
        lip_thickness(pts),
    )


def lip_reference(samples: list[LipSample]) -> LipReference:
    """The reference from one or more frames of the person at rest (portrait, first frames)."""
    upper = np.nanmedian(np.stack([s.upper for s in samples]), axis=0)
    lower = np.nanmedian(np.stack([s.lower for s in samples]), axis=0)
    lip_l = float(np.nanmean([upper[0], lower[0]]))
    thickness = np.median(np.stack([s.thickness for s in samples]), axis=0)
    return LipReference(upper, lower, DARK_FRACTION * lip_l, thickness)


def delta_e76(lab: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """CIE76 colour difference: Euclidean distance in CIELAB; (..., 3), (3,) -> (...)."""
    return np.linalg.norm(np.asarray(lab) - ref, axis=-1)
