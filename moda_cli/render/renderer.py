"""The renderer: one row of the joint motion space -> one RGB frame.

Everything that depends only on the portrait (crop pixels, blendshapes, triangulation,
barycentric maps, paste mask) is computed once in ``Renderer.__init__``; ``render`` is a
few array operations and three OpenCV calls per frame.
"""

from __future__ import annotations

import numpy as np

from ..face import landmarks as lm
from ..face.detect import crop_image
from ..face.types import Face, Portrait
from ..motion.params import EXPRESSION_SLICE
from ..presets import RenderSettings
from .blendshapes import EXPRESSION_NAMES
from .eyes import paint_eyelid
from .mouth import paint_mouth
from .paste import PasteBack, feather_mask
from .rig import HeadRig
from .warp import MeshWarp, Region

_EYELIDS = (
    ("blink_right", (33, *lm.RIGHT_UPPER_LID, 133), (33, *lm.RIGHT_LOWER_LID, 133)),
    ("blink_left", (263, *lm.LEFT_UPPER_LID, 362), (263, *lm.LEFT_LOWER_LID, 362)),
)
PASTE_FEATHER = 0.2  # mask ramp width, in face-box widths


def _moving_region(
    warp_source: np.ndarray, simplices: np.ndarray, num_moving: int, size: int
) -> Region:
    """Bounding box of every triangle that has a vertex which can move."""
    moving = (simplices < num_moving).any(axis=1)
    pts = warp_source[np.unique(simplices[moving])]
    x0, y0 = np.maximum(np.floor(pts.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(pts.max(axis=0)).astype(int) + 1, size)
    return Region(int(x0), int(y0), int(x1), int(y1))


class Renderer:
    """Renders frames of ``portrait`` animated through ``face``'s mesh.

    render(params) takes one (17,) row in ``motion.params.PARAM_NAMES`` order and returns
    an (H, W, 3) uint8 RGB frame: the full portrait with ``settings.output == "pasteback"``,
    else the ``settings.size`` square crop. Parameters outside the documented ranges are
    clipped (expressions to 0..1, pose to 1.5 x its range) so the mesh cannot fold.
    """

    def __init__(
        self, portrait: Portrait, face: Face, settings: RenderSettings | None = None
    ) -> None:
        self.settings = settings or RenderSettings.model_validate({})
        size = face.crop.size
        self.portrait = portrait
        self.face = face
        self.crop = crop_image(portrait.image, face.crop)
        self.rig = HeadRig(face.landmarks, size)
        src = self.rig.control.source
        moving = self.rig.control.num_face + self.rig.control.num_ring
        simplices = MeshWarp(src, size, Region(0, 0, 2, 2)).delaunay.simplices
        region = _moving_region(src, simplices, moving, size)
        self.warp = MeshWarp(src, size, region, preferred=self.rig.control.face_triangles)
        self.unit_px = self.rig.basis.frame.unit
        self._paste: PasteBack | None = None
        if self.settings.output == "pasteback":
            mask = feather_mask(size, self.rig.outer_ring_full, PASTE_FEATHER * self.rig.box_width)
            self._paste = PasteBack(portrait.image, face.crop, mask)

    @property
    def output_size(self) -> tuple[int, int]:
        """(width, height) of the frames ``render`` returns."""
        if self._paste is not None:
            return self.portrait.size
        return self.face.crop.size, self.face.crop.size

    def render_crop(self, params: np.ndarray) -> np.ndarray:
        """(17,) params -> (size, size, 3) uint8 animated crop."""
        targets = self.rig.face_targets(params)
        frame = self.warp.apply(self.crop, self.rig.displacements(targets))
        if self.settings.mouth_interior:
            upper = targets[list(lm.UPPER_INNER_LIP), :2]
            lower = targets[list(lm.LOWER_INNER_LIP), :2]
            paint_mouth(frame, upper, lower, self.unit_px)
        expr = np.asarray(params, np.float64)[EXPRESSION_SLICE]
        for name, upper_idx, lower_idx in _EYELIDS:
            closure = float(expr[EXPRESSION_NAMES.index(name)])
            upper = targets[list(upper_idx), :2]
            lower = targets[list(lower_idx), :2]
            paint_eyelid(frame, upper, lower, closure, self.unit_px)
        return frame

    def render(self, params: np.ndarray) -> np.ndarray:
        crop = self.render_crop(params)
        return crop if self._paste is None else self._paste.paste(crop)
