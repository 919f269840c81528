"""The person as a layer over a still scene: what the warp moves, and what shows behind it.

Per portrait (``person_alpha``, then ``scene_layer``):

1. the person's alpha in the working crop: MediaPipe's selfie segmentation, only the
   person whose outline holds the face (not a neighbour in a group photo), and always the
   face itself;
2. the plate: the scene with that person and a thin fringe around them inpainted away
   (OpenCV's Telea fill): an estimate of the background, which shows wherever head motion
   uncovers it. Fringe pixels join the person with the least alpha that explains their
   colour over it (hair the mask's soft edge left out). Strands further out stay in the
   scene: a detector of thin lines near the outline also took a neighbour's earring or a
   bottle's edge for hair, and moved them with the head;
3. the layer: RGBA, premultiplied: A the alpha and RGB the person's colour times A, i.e.
   the photo with the plate's share (255 - A) / 255 taken out, so that over the plate it
   gives back the photo to the byte. A is never below what explains a pixel's colour over
   the plate (dark hair at the mask's soft edge is the person's, whatever the mask says).

Per frame (``composite``): the warp samples the layer (colour and A in one 4-channel
remap, no dearer than the 3 channels it would otherwise sample) and the frame is the
warped layer plus the still plate times (255 - A) / 255. Where the warped A is 0 that is
the plate, which is the photo's own bytes wherever the person was not: the scene is never
warped. Premultiplied colour interpolates cleanly: a faint edge pixel carries little
colour, so bilinear sampling never smears an edge's colour into a solid pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face.segment import person_mask
from ..face.types import CropTransform
from .warp import Region

FRINGE = 0.006  # share of the crop side just outside the mask where every pixel may be hair
SEGMENT_CONTEXT = 0.25  # the segmented window: the crop's square grown by this share a side
MIN_FACE_COVER = 0.5  # a segmentation covering less of the face oval failed: all of it moves
INPAINT_RADIUS = 5  # crop pixels each filled pixel takes colour from
EDGE = 2  # canvas pixels past the box where the layer is split too


def person_alpha(image: np.ndarray, crop: CropTransform, oval: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 photo, its working crop and (K, 2) face-oval points in the crop ->
    (S, S) float32 alpha in crop pixels, 1 on the person whose face it is (hair, neck,
    shoulders, glasses, hat), 0 on the scene (a neighbour in a group photo included).

    The photo itself is segmented (around the crop, never the crop's padding past the
    photo's edge, which the model may take for a body). If the segmentation misses the face
    (a drawing, a statue), the alpha is 1 everywhere: everything the warp reaches moves,
    as it would without a layer.
    """
    side = crop.size
    face = np.zeros((side, side), np.uint8)
    cv2.fillPoly(face, [np.rint(oval).astype(np.int32)], (1,))
    x0, y0, x1, y1 = _around_crop(crop, image.shape[1], image.shape[0])
    to_crop = crop.matrix.copy()
    to_crop[:, 2] += to_crop[:, :2] @ (x0, y0)  # from the window's pixels
    mask = cv2.warpAffine(
        person_mask(image[y0:y1, x0:x1]),
        to_crop,
        (side, side),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )
    _, labels = cv2.connectedComponents((mask > 0.5).astype(np.uint8))
    owners = np.unique(labels[(face > 0) & (labels > 0)])
    own = np.isin(labels, owners).astype(np.uint8)
    if (own & face).sum() < MIN_FACE_COVER * face.sum():
        return np.ones((side, side), np.float32)
    near_own = cv2.dilate(own, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))) > 0
    alpha = np.where(near_own, mask, 0.0).astype(np.float32)  # the owner's soft edge, kept
    return np.maximum(alpha, face.astype(np.float32))


def _around_crop(crop: CropTransform, width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) photo pixels: the crop's square grown by SEGMENT_CONTEXT a side,
    inside the photo. The model sees the person in context, at a resolution that follows
    the face's size rather than the photo's."""
    corners = cv2.transform(np.array([[[0.0, 0.0], [crop.size, crop.size]]]), crop.inverse())[0]
    grow = SEGMENT_CONTEXT * (corners[1] - corners[0])
    (x0, y0), (x1, y1) = np.floor(corners[0] - grow), np.ceil(corners[1] + grow)
    return max(int(x0), 0), max(int(y0), 0), min(int(x1), width), min(int(y1), height)


@dataclass(frozen=True)
class SceneLayer:
    """layer: (H, W, 4) uint8, the canvas as the warp samples it: premultiplied (colour, A)
    in and just around ``box``, the canvas itself with A = 255 further out. plate: (h, w, 3)
    uint8, the box's still scene."""

    layer: np.ndarray
    plate: np.ndarray


def scene_layer(
    canvas: np.ndarray, box: Region, crop: np.ndarray, alpha: np.ndarray, crop_to_canvas: np.ndarray
) -> SceneLayer:
    """The canvas (H, W, 3) uint8 split into a person layer and a still plate inside ``box``.

    crop: (S, S, 3) uint8 working crop and alpha its (S, S) ``person_alpha``;
    crop_to_canvas: (2, 3) similarity from crop pixels to the canvas's. The fill is made at
    the crop's resolution (at most ``render.size``), which bounds its cost on large photos.
    The layer is split a few pixels past the box too: the warp's bilinear taps at the box's
    edge must see the scene there as scene.
    """
    height, width = canvas.shape[:2]
    outer = Region(
        max(box.x0 - EDGE, 0),
        max(box.y0 - EDGE, 0),
        min(box.x1 + EDGE, width),
        min(box.y1 + EDGE, height),
    )
    to_outer = crop_to_canvas - np.array([[0.0, 0.0, outer.x0], [0.0, 0.0, outer.y0]])

    def resampled(image: np.ndarray) -> np.ndarray:  # crop pixels -> outer's pixels
        return cv2.warpAffine(
            image,
            to_outer,
            (outer.x1 - outer.x0, outer.y1 - outer.y0),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )

    hole = _person_and_fringe(alpha)
    fill = cv2.inpaint(crop, hole, INPAINT_RADIUS, cv2.INPAINT_TELEA)
    fill = cv2.cvtColor(resampled(fill), cv2.COLOR_RGB2RGBA)
    photo = cv2.cvtColor(canvas[outer.slices], cv2.COLOR_RGB2RGBA)
    # Each pixel of the hole gets at least the alpha that explains its colour over the fill.
    a = np.maximum(np.rint(resampled(alpha) * 255), _fitting_alpha(photo, fill))
    a = np.where(resampled(hole.astype(np.float32)) > 0, a, 0).astype(np.uint8)
    plate = np.where(a[..., None] > 0, fill, photo)
    layer = cv2.cvtColor(canvas, cv2.COLOR_RGB2RGBA)
    layer[outer.slices] = cv2.subtract(photo, _behind(plate, a))  # the photo less the plate's share
    layer[outer.slices][..., 3] = a
    inner = plate[box.y0 - outer.y0 : box.y1 - outer.y0, box.x0 - outer.x0 : box.x1 - outer.x0]
    return SceneLayer(layer, np.ascontiguousarray(inner[..., :3]))


def _person_and_fringe(alpha: np.ndarray) -> np.ndarray:
    """(S, S) uint8, 1 where the person may be: the alpha's support and a fringe around it
    (the mask's edge lies a pixel or two inside the hair's)."""
    radius = max(1, round(FRINGE * alpha.shape[0]))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate((alpha > 0).astype(np.uint8), disk)


def _fitting_alpha(photo: np.ndarray, plate: np.ndarray) -> np.ndarray:
    """(h, w) float32 in 0..255: the least A at which the photo is some colour over the plate."""
    p, b = photo[..., :3].astype(np.float32), plate[..., :3].astype(np.float32)
    darker = (b - p) / np.maximum(b, 1.0)  # the colour is black at this alpha
    lighter = (p - b) / np.maximum(255.0 - b, 1.0)  # the colour is white at this alpha
    return np.ceil(np.clip(np.maximum(darker, lighter).max(axis=2), 0.0, 1.0) * 255.0)


def _behind(plate: np.ndarray, a: np.ndarray) -> np.ndarray:
    """(h, w, C) uint8: the plate's share (255 - a) / 255 of every pixel (C = 3 or 4)."""
    gray_to = cv2.COLOR_GRAY2RGBA if plate.shape[2] == 4 else cv2.COLOR_GRAY2RGB
    share = cv2.cvtColor(cv2.bitwise_not(a), gray_to)  # 255 - a in every channel
    return cv2.multiply(plate, share, scale=1.0 / 255.0)


def composite(warped: np.ndarray, plate: np.ndarray) -> np.ndarray:
    """(h, w, 4) uint8 warped premultiplied layer over the (h, w, 3) plate -> (h, w, 3) RGB."""
    # Three channels from the start: the plate's share is the dearest step, and A needs none.
    behind = _behind(plate, cv2.extractChannel(warped, 3))
    return cv2.add(cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB), behind)
