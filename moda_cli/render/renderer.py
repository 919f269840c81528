"""The renderer: one row of the joint motion space -> one RGB frame.

Everything that depends only on the portrait (blendshapes, triangulation, barycentric
maps) is computed once in ``Renderer.__init__``; a frame is a few array operations and a
handful of OpenCV calls on the box around the face.

Motion lives in the working crop's pixels (the rig's frame); the pixels are warped on a
canvas: the crop itself for ``output == "crop"``, the photo for paste-back. Paste-back
warps the photo directly, with the crop's control points mapped into it, so the face is
resampled once, at the photo's own resolution, and every pixel the warp leaves still is
the photo's own byte: there is no crop to resample back.

Only the person moves (layer.py): the warp samples the segmented person as a layer and
lays it over a still plate of the scene, so the scene keeps the photo's bytes and head
motion uncovers an inpainted background instead of dragging the scene along.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import Delaunay

from ..face import landmarks as lm
from ..face.detect import crop_image
from ..face.types import Face, Portrait
from ..facemodel.params import EXPRESSION_SLICE, index
from .eyes import paint_eyelid
from .iris import analyse_irises, paint_irises
from .layer import composite, person_alpha, scene_layer
from .mouth import paint_mouth
from .mouth_source import MouthLook, analyse_mouth
from .rig import HeadRig
from .settings import RenderSettings
from .warp import FIELD_STEP, MeshWarp, Region

if TYPE_CHECKING:
    from .grid_warp import GridWarp

# (joint column, lid crease, upper lid, lower lid landmarks), as index arrays once.
_EYELIDS = tuple(
    (index(name), np.array(crease), np.array(upper), np.array(lower))
    for name, crease, upper, lower in (
        (
            "eyeBlinkRight",
            lm.RIGHT_UPPER_CREASE,
            (33, *lm.RIGHT_UPPER_LID, 133),
            (33, *lm.RIGHT_LOWER_LID, 133),
        ),
        (
            "eyeBlinkLeft",
            lm.LEFT_UPPER_CREASE,
            (263, *lm.LEFT_UPPER_LID, 362),
            (263, *lm.LEFT_LOWER_LID, 362),
        ),
    )
)


def _moving_region(
    warp_source: np.ndarray, simplices: np.ndarray, num_moving: int, width: int, height: int
) -> Region:
    """Bounding box of every triangle that has a vertex which can move, inside the canvas."""
    moving = (simplices < num_moving).any(axis=1)
    pts = warp_source[np.unique(simplices[moving])]
    x0, y0 = np.maximum(np.floor(pts.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(pts.max(axis=0)).astype(int) + 1, (width, height))
    return Region(int(x0), int(y0), int(x1), int(y1))


class Renderer:
    """Renders frames of ``portrait`` animated through ``face``'s mesh.

    A frame is ``background`` (the photo for ``settings.output == "pasteback"``, else the
    ``settings.size`` square crop) everywhere but ``patch_box``, the box the warp can move,
    whose pixels ``render_patch`` returns. Streaming only the box is what keeps a 1080p
    frame as cheap as a 512 px one.

    Frames take one (58,) row in ``facemodel.params.PARAM_NAMES`` order. Parameters outside
    the documented ranges are clipped (expressions to 0..1, pose to 1.5 x its range) so
    the mesh cannot fold.
    """

    def __init__(
        self,
        portrait: Portrait,
        face: Face,
        settings: RenderSettings | None = None,
        device: str | None = None,
    ) -> None:
        self.settings = settings or RenderSettings.model_validate({})
        crop = crop_image(portrait.image, face.crop)
        # Only the person moves: the rig's rings hug their outline, the scene stays.
        person = person_alpha(portrait.image, face.crop, face.landmarks[list(lm.FACE_OVAL), :2])
        self.rig = HeadRig(face.landmarks, face.crop.size, person)
        # Canvas pixel = crop pixel * scale + offset.
        if self.settings.output == "pasteback":
            self.background: np.ndarray = portrait.image
            to_photo = face.crop.inverse()  # a similarity without rotation: (s, 0, tx), (0, s, ty)
            self._scale, self._offset = float(to_photo[0, 0]), to_photo[:, 2].copy()
        else:
            self.background = crop
            self._scale, self._offset = 1.0, np.zeros(2)
        height, width = self.background.shape[:2]
        src = self.rig.control.source * self._scale + self._offset
        moving = self.rig.control.num_face + self.rig.control.num_ring
        region = _moving_region(src, Delaunay(src).simplices, moving, width, height).even(
            width, height
        )
        # The field's grid is about FIELD_STEP crop pixels apart (whole canvas pixels), so
        # its cost follows the crop's size; only the final resampling is at the canvas's
        # own resolution.
        step = max(1, round(FIELD_STEP * self._scale))
        self.warp = MeshWarp(
            src, region, step, preferred=self.rig.control.face_triangles, still_from=moving
        )
        self.patch_box: Region = region
        self.unit_px = self.rig.basis.frame.unit * self._scale  # eye-corner distance on the canvas
        self._to_region = self._offset - (region.x0, region.y0)
        crop_to_canvas = np.hstack([np.eye(2) * self._scale, self._offset[:, None]])
        self._scene = scene_layer(self.background, region, crop, person, crop_to_canvas)
        # The photo's mouth interior (its own teeth, or teeth from its whites), region pixels.
        landmarks = face.landmarks[:, :2] * self._scale + self._to_region
        self.mouth: MouthLook | None = None
        if self.settings.mouth_interior:
            self.mouth = analyse_mouth(
                self.background[region.slices], landmarks, self.unit_px, self._scale
            )
        # The irises, painted where the eyeLook shapes turn the eyes (the warp cannot).
        self.irises = analyse_irises(
            self.background[region.slices], landmarks, self.rig.basis, self._scale
        )
        # device (e.g. "cuda"): warp batches of frames there as sampled grids (grid_warp.py);
        # None: OpenCV on the CPU, a frame at a time, the faster choice on a CPU.
        self._grid: GridWarp | None = None
        if device is not None:
            from .grid_warp import GridWarp

            self._grid = GridWarp(self.warp, self._scene, device)

    @property
    def output_size(self) -> tuple[int, int]:
        """(width, height) of the frames ``render`` returns."""
        return self.background.shape[1], self.background.shape[0]

    @property
    def batch_size(self) -> int:
        """Frames worth rendering in one ``render_patches`` call."""
        return 1 if self._grid is None else 32

    def _finish(self, region: np.ndarray, targets: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Paint the mouth, irises and eyelids into a warped region, in place; returns it."""
        at = targets[:, :2] * self._scale + self._to_region  # crop pixels -> region pixels
        if self.mouth is not None:
            paint_mouth(region, at, self.mouth, self.unit_px, self._scale)
        row = np.asarray(params, np.float64)
        paint_irises(region, self.irises, at, row[EXPRESSION_SLICE])  # under closing lids
        for column, crease, upper, lower in _EYELIDS:
            paint_eyelid(
                region,
                at[crease],
                at[upper],
                at[lower],
                float(row[column]),
                self.unit_px,
                self._scale,
            )
        return region

    def render_patches(self, params: np.ndarray) -> list[np.ndarray]:
        """(B, 58) params -> B frames' ``patch_box`` pixels, (h, w, 3) uint8 RGB arrays.

        Writes nothing shared, so batches may render in several threads at once.
        """
        targets = [self.rig.face_targets(p) for p in params]
        disps = [
            self.rig.displacements(t, p) * self._scale  # canvas pixels
            for t, p in zip(targets, params, strict=True)
        ]
        if self._grid is not None:
            regions = list(self._grid.apply(np.stack(disps)))
        else:  # the person layer warped (colour and alpha in one RGBA remap) over the plate
            layer, plate = self._scene.layer, self._scene.plate
            regions = [composite(self.warp.apply(layer, d), plate) for d in disps]
        return [self._finish(r, t, p) for r, t, p in zip(regions, targets, params, strict=True)]

    def render_patch(self, params: np.ndarray) -> np.ndarray:
        """(58,) params -> the frame's ``patch_box`` pixels, a new (h, w, 3) uint8 RGB array."""
        return self.render_patches(np.asarray(params)[None])[0]

    def render(self, params: np.ndarray) -> np.ndarray:
        """(58,) params -> the whole (H, W, 3) uint8 RGB frame (a new array)."""
        frame = self.background.copy()
        frame[self.patch_box.slices] = self.render_patch(params)
        return frame
