"""The renderer: one row of the joint motion space -> one RGB frame.

Everything that depends only on the portrait (crop pixels, blendshapes, triangulation,
barycentric maps, paste mask) is computed once in ``Renderer.__init__``; a frame is a
few array operations and a handful of OpenCV calls on the box around the face.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from .grid_warp import GridWarp

# (expression column, upper lid landmarks, lower lid landmarks), as index arrays once.
_EYELIDS = tuple(
    (EXPRESSION_NAMES.index(name), np.array(upper), np.array(lower))
    for name, upper, lower in (
        ("blink_right", (33, *lm.RIGHT_UPPER_LID, 133), (33, *lm.RIGHT_LOWER_LID, 133)),
        ("blink_left", (263, *lm.LEFT_UPPER_LID, 362), (263, *lm.LEFT_LOWER_LID, 362)),
    )
)
_UPPER_INNER_LIP, _LOWER_INNER_LIP = np.array(lm.UPPER_INNER_LIP), np.array(lm.LOWER_INNER_LIP)
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

    A frame is ``background`` everywhere but ``patch_box``, whose pixels ``render_patch``
    returns: the full portrait and the pasted face's box with ``settings.output ==
    "pasteback"``, else the ``settings.size`` square crop and the box the warp can move.
    Streaming only the box is what keeps a 1080p frame as cheap as a 512 px one.

    Frames take one (17,) row in ``motion.params.PARAM_NAMES`` order. Parameters outside
    the documented ranges are clipped (expressions to 0..1, pose to 1.5 x its range) so
    the mesh cannot fold.
    """

    def __init__(
        self, portrait: Portrait, face: Face, settings: RenderSettings | None = None, device: str | None = None
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
        region = _moving_region(src, simplices, moving, size).even(size, size)
        self.warp = MeshWarp(src, size, region, preferred=self.rig.control.face_triangles)
        self.unit_px = self.rig.basis.frame.unit
        # device (e.g. "cuda"): warp batches of frames there as sampled grids (grid_warp.py);
        # None: OpenCV on the CPU, a frame at a time, the faster choice on a CPU.
        self._grid: GridWarp | None = None
        if device is not None:
            from .grid_warp import GridWarp

            self._grid = GridWarp(self.warp, self.crop, device)
        self._origin = np.array([region.x0, region.y0], np.float64)
        self._paste: PasteBack | None = None
        if self.settings.output == "pasteback":
            mask = feather_mask(size, self.rig.outer_ring_full, PASTE_FEATHER * self.rig.box_width)
            self._paste = PasteBack(portrait.image, face.crop, mask, region)
            self.background: np.ndarray = portrait.image
            self.patch_box: Region = self._paste.box
        else:
            self.background = self.crop
            self.patch_box = region

    @property
    def output_size(self) -> tuple[int, int]:
        """(width, height) of the frames ``render`` returns."""
        return self.background.shape[1], self.background.shape[0]

    @property
    def batch_size(self) -> int:
        """Frames worth rendering in one ``render_patches`` call."""
        return 1 if self._grid is None else 32

    def _finish(self, region: np.ndarray, targets: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Paint the mouth and eyelids into a warped region (in place); paste it if pasting."""
        at = targets[:, :2] - self._origin  # landmarks in region pixels
        if self.settings.mouth_interior:
            paint_mouth(region, at[_UPPER_INNER_LIP], at[_LOWER_INNER_LIP], self.unit_px)
        expr = np.asarray(params, np.float64)[EXPRESSION_SLICE]
        for column, upper_idx, lower_idx in _EYELIDS:
            paint_eyelid(region, at[upper_idx], at[lower_idx], float(expr[column]), self.unit_px)
        return region if self._paste is None else self._paste.paste(region)

    def render_patches(self, params: np.ndarray) -> list[np.ndarray]:
        """(B, 17) params -> B frames' ``patch_box`` pixels, (h, w, 3) uint8 RGB arrays.

        Writes nothing shared, so batches may render in several threads at once.
        """
        targets = [self.rig.face_targets(p) for p in params]
        disps = [self.rig.displacements(t) for t in targets]
        if self._grid is not None:
            regions = list(self._grid.apply(np.stack(disps)))
        else:
            regions = [self.warp.apply(self.crop, d) for d in disps]
        return [self._finish(r, t, p) for r, t, p in zip(regions, targets, params, strict=True)]

    def render_patch(self, params: np.ndarray) -> np.ndarray:
        """(17,) params -> the frame's ``patch_box`` pixels, a new (h, w, 3) uint8 RGB array."""
        return self.render_patches(np.asarray(params)[None])[0]

    def render(self, params: np.ndarray) -> np.ndarray:
        """(17,) params -> the whole (H, W, 3) uint8 RGB frame (a new array)."""
        frame = self.background.copy()
        frame[self.patch_box.slices] = self.render_patch(params)
        return frame
