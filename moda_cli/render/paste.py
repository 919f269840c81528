"""Pasting the animated crop back into the full-resolution portrait.

The crop is a resampled copy of the photo, so only where the face can move is it worth
using: a fixed feathered mask, 1 around the head and 0 from the outer anchor ring on
(where the warp is exactly still), blends it in. Where the mask is 0 the result is the
portrait byte for byte, and only the mask's bounding box is produced per frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..face.types import CropTransform
from .warp import Region


def feather_mask(size: int, outer_ring: np.ndarray, feather_px: float) -> np.ndarray:
    """(size, size) float32 mask: 0 outside ``outer_ring`` and at the crop border, rising to 1."""
    inside = np.zeros((size, size), np.uint8)
    cv2.fillPoly(inside, [np.round(outer_ring).astype(np.int32)], (1,))
    inside[[0, -1], :] = 0  # the crop's edge counts as outside: the warp is still there too
    inside[:, [0, -1]] = 0
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    ramp = np.clip(dist / max(feather_px, 1.0), 0.0, 1.0)
    return (ramp * ramp * (3 - 2 * ramp)).astype(np.float32)


class PasteBack:
    """Blends the animated part of size x size crops into ``image`` through a precomputed mask.

    source: the part of the crop that ``paste`` is given (the warp's region); the mask is
    cut to it, so nothing outside it is needed, and nothing shared is written per frame.
    """

    def __init__(self, image: np.ndarray, crop: CropTransform, mask: np.ndarray, source: Region) -> None:
        h, w = image.shape[:2]
        inside = np.zeros_like(mask)
        inside[source.slices] = mask[source.slices]
        mask = inside
        ys, xs = np.nonzero(mask > 0)
        if len(xs) == 0:
            raise ValueError("paste mask is empty")
        corners = np.array([[xs.min(), ys.min(), 1.0], [xs.max() + 1.0, ys.max() + 1.0, 1.0]])
        box = corners @ crop.inverse().T  # crop -> original pixels
        x0, y0 = np.maximum(np.floor(box.min(axis=0)).astype(int) - 1, 0)
        x1, y1 = np.minimum(np.ceil(box.max(axis=0)).astype(int) + 1, (w, h))
        self.box = Region(int(x0), int(y0), int(x1), int(y1)).even(w, h)  # every pixel that can change
        x0, y0, x1, y1 = self.box.x0, self.box.y0, self.box.x1, self.box.y1
        # ROI pixel (u, v) -> crop coordinates, for warpAffine's inverse-map mode.
        m = crop.matrix.astype(np.float64).copy()
        m[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)
        self._shape = (int(x1 - x0), int(y1 - y0))
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        self.mask = cv2.warpAffine(mask, m, self._shape, flags=flags, borderValue=(0.0,))
        m[:, 2] -= (source.x0, source.y0)  # ROI pixel -> source pixel
        self._roi_to_source = m
        self._keep = np.ascontiguousarray(1.0 - self.mask, dtype=np.float32)
        self._base = np.ascontiguousarray(image[y0:y1, x0:x1])

    def paste(self, source_image: np.ndarray) -> np.ndarray:
        """The crop's ``source`` part, (h, w, 3) uint8 -> the frame's ``box`` pixels (a new array).

        Outside ``box`` the frame is ``image`` unchanged.
        """
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        warped = cv2.warpAffine(
            source_image, self._roi_to_source, self._shape, flags=flags, borderMode=cv2.BORDER_REPLICATE
        )
        # Per-pixel weights on uint8 in one OpenCV call; weight (1, 0) returns the
        # portrait's own byte exactly, so unmoved pixels stay byte-identical.
        return cv2.blendLinear(self._base, warped, self._keep, self.mask)
