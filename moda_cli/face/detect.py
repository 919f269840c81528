"""Face detection and the 478-point mesh, then the square working crop.

Detection and the mesh are separate steps on purpose: MediaPipe's mesh misses small faces
in large photos, but its full-range detector finds them. So boxes come from a detector
(MediaPipe or, optionally, InsightFace), and the mesh runs on a generous square crop
around the chosen box, resized to a size the mesh model likes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..errors import MissingDependency, NoFaceFound
from .detectors import DETECTORS
from .landmarks import NUM_MESH_POINTS, pad_iris
from .mediapipe_import import import_mediapipe
from .types import NUM_LANDMARKS, CropTransform, Face, Portrait

MESH_INPUT = 384  # side of the square crop the mesh sees; its model works at 192 px
MESH_MARGIN = 2.2  # mesh crop side / detected box side: room for the whole head
MIN_CROP_SIZE = 256  # smallest paste-back crop, unless settings.size is smaller


class CropSettings(Protocol):
    """What the working crop is made from (``render.settings.RenderSettings`` is one)."""

    @property
    def size(self) -> int: ...  # crop side in pixels (the most, for paste-back)
    @property
    def crop_scale(self) -> float: ...  # crop side / landmark box side
    @property
    def crop_offset_y(self) -> float: ...  # crop centre shift in box heights, < 0 = up
    @property
    def output(self) -> str: ...  # "pasteback" or "crop"


@dataclass(frozen=True)
class Crop:
    """Crop settings on their own; the defaults are the preset schema's (a test checks)."""

    size: int = 512
    crop_scale: float = 2.3
    crop_offset_y: float = -0.125
    output: str = "pasteback"


class FaceBoxDetector(Protocol):
    def boxes(self, image: np.ndarray) -> list[np.ndarray]:
        """(H, W, 3) RGB -> face boxes (x0, y0, x1, y1) in pixels, largest first."""
        ...


class MeshRunner:
    """MediaPipe's face mesh on still images, with the refine -> plain fallback."""

    def __init__(self) -> None:
        import_mediapipe()
        from mediapipe.python.solutions import face_mesh

        # refine_landmarks=True sometimes finds nothing where False finds the face.
        self._refined = face_mesh.FaceMesh(
            static_image_mode=True, refine_landmarks=True, max_num_faces=1
        )
        self._plain = face_mesh.FaceMesh(
            static_image_mode=True, refine_landmarks=False, max_num_faces=1
        )

    def run(self, rgb: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) RGB -> (478, 3) points in its pixels (z scaled like x), or None."""
        for mesh in (self._refined, self._plain):
            result = mesh.process(rgb)
            if result.multi_face_landmarks:
                pts = result.multi_face_landmarks[0].landmark
                arr = np.array([(p.x, p.y, p.z) for p in pts], np.float64)
                arr *= (rgb.shape[1], rgb.shape[0], rgb.shape[1])
                return pad_iris(arr) if len(arr) <= NUM_MESH_POINTS else arr[:NUM_LANDMARKS]
        return None

    def run_in_box(self, image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """Mesh on a square crop around ``box``; points returned in ``image`` pixels."""
        centre = 0.5 * (box[:2] + box[2:])
        side = MESH_MARGIN * float(max(box[2] - box[0], box[3] - box[1]))
        s = MESH_INPUT / max(side, 1.0)
        origin = centre - side / 2
        m = np.array([[s, 0, -origin[0] * s], [0, s, -origin[1] * s]])
        crop = crop_image(image, CropTransform(matrix=m, size=MESH_INPUT))
        pts = self.run(crop)
        if pts is None:
            return None
        pts[:, :2] = pts[:, :2] / s + origin
        pts[:, 2] /= s
        return pts

    def close(self) -> None:
        self._refined.close()
        self._plain.close()


class MediaPipeBoxes:
    """MediaPipe's full-range face detector (model_selection=1): boxes only."""

    def __init__(self, min_confidence: float = 0.5) -> None:
        import_mediapipe()
        from mediapipe.python.solutions import face_detection

        self._det = face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min_confidence
        )

    def boxes(self, image: np.ndarray) -> list[np.ndarray]:
        found = self._detect(image)
        # The detector sees a 192 px version of its input, so a small face in a large
        # photo vanishes; then look again in overlapping tiles, coarse to fine.
        short = min(image.shape[:2])
        for tile in (short // 2, short // 4):
            if found or tile < MIN_TILE:
                break
            found = _nms(self._tiled(image, tile))
        return _largest_first(found)

    def _detect(self, image: np.ndarray) -> list[np.ndarray]:
        h, w = image.shape[:2]
        result = self._det.process(np.ascontiguousarray(image))
        out = []
        for d in result.detections or []:
            b = d.location_data.relative_bounding_box
            out.append(
                np.array([b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h])
            )
        return out

    def _tiled(self, image: np.ndarray, tile: int) -> list[np.ndarray]:
        h, w = image.shape[:2]
        step = tile // 2
        out = []
        for y in range(0, max(h - step, 1), step):
            for x in range(0, max(w - step, 1), step):
                for b in self._detect(image[y : y + tile, x : x + tile]):
                    out.append(b + np.array([x, y, x, y], np.float64))
        return out


MIN_TILE = 160


def _nms(boxes: list[np.ndarray], iou_limit: float = 0.3) -> list[np.ndarray]:
    """Drop boxes that overlap a larger kept one (the same face seen from two tiles)."""
    kept: list[np.ndarray] = []
    for b in _largest_first(boxes):
        if all(_iou(b, k) < iou_limit for k in kept):
            kept.append(b)
    return kept


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / max(union, 1e-9))


class InsightFaceBoxes:
    """InsightFace's SCRFD detector from a local ``buffalo_l`` model folder: boxes only."""

    def __init__(self, root: Path) -> None:
        check_insightface_root(root)
        try:
            from insightface.app import FaceAnalysis
        except ImportError as exc:
            raise MissingDependency(
                f"insightface is not installed ({exc})", hint="pip install 'moda-cli[insightface]'"
            ) from None
        self._app = FaceAnalysis(
            name="buffalo_l",
            root=str(root),
            allowed_modules=["detection"],
            providers=["CPUExecutionProvider"],
        )
        self._app.prepare(ctx_id=-1, det_size=(640, 640))

    def boxes(self, image: np.ndarray) -> list[np.ndarray]:
        faces = self._app.get(np.ascontiguousarray(image[:, :, ::-1]))  # insightface wants BGR
        return _largest_first([np.asarray(f.bbox[:4], np.float64) for f in faces])


def check_insightface_root(root: Path) -> None:
    """Fail clearly before insightface asserts or tries to download."""
    root = Path(root)
    folder = root / "models" / "buffalo_l"
    hint = f"expected {root}/models/buffalo_l/*.onnx"
    if not root.is_dir():
        raise MissingDependency("InsightFace model folder not found", path=root, hint=hint)
    if not folder.is_dir():
        raise MissingDependency(
            "InsightFace model folder has no models/buffalo_l", path=root, hint=hint
        )
    if not any(folder.glob("*.onnx")):
        raise MissingDependency(
            "InsightFace model folder contains no .onnx files", path=folder, hint=hint
        )


def crop_image(image: np.ndarray, crop: CropTransform) -> np.ndarray:
    """The crop's pixels: area-filtered when shrinking (no aliasing), bilinear otherwise."""
    s = float(crop.matrix[0, 0])
    size = (crop.size, crop.size)
    if s >= 1.0:
        return cv2.warpAffine(
            image, crop.matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    # warpAffine has no area filter: shrink the image first, then only translate.
    small = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    m = crop.matrix.copy()
    m[:, :2] = np.eye(2)
    m[:, 2] -= 0.5 * s - 0.5  # resize maps x -> s * x + (0.5 * s - 0.5) (pixel centres)
    return cv2.warpAffine(small, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _largest_first(boxes: Sequence[np.ndarray]) -> list[np.ndarray]:
    return sorted(boxes, key=lambda b: -float((b[2] - b[0]) * (b[3] - b[1])))


class FaceDetector:
    """Create once, call ``detect`` per portrait. MediaPipe boxes unless ``boxes`` is given."""

    def __init__(self, boxes: FaceBoxDetector | None = None) -> None:
        self._boxes = boxes if boxes is not None else MediaPipeBoxes()
        self._mesh = MeshRunner()

    def detect(self, portrait: Portrait, render_settings: CropSettings | None = None) -> Face:
        """The largest face's mesh in working-crop coordinates; NoFaceFound when none."""
        settings = render_settings or Crop()
        image = portrait.image
        boxes = self._boxes.boxes(image)
        points = None
        for box in boxes:  # largest first; a smaller face only if the mesh rejects it
            points = self._mesh.run_in_box(image, box)
            if points is not None:
                break
        if points is None:
            points = self._mesh.run(image)  # the detector can miss faces the mesh finds
        if points is None:
            raise NoFaceFound(
                "no face found in the portrait",
                path=portrait.path,
                hint="use a photo with one clearly visible, roughly frontal face",
            )
        return build_face(points, max(len(boxes), 1), settings)


class InsightFaceDetector(FaceDetector):
    """Same API as FaceDetector, with InsightFace (buffalo_l from ``root``) for the boxes."""

    def __init__(self, root: Path) -> None:
        super().__init__(boxes=InsightFaceBoxes(Path(root)))


def make_detector(kind: str = "mediapipe", insightface_root: Path | None = None) -> FaceDetector:
    """A FaceDetector with the box detector registered as ``kind`` (``detectors.py``)."""
    try:
        boxes = DETECTORS.get(kind)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    return FaceDetector(boxes(insightface_root))


def working_crop(points: np.ndarray, settings: CropSettings) -> tuple[CropTransform, np.ndarray]:
    """Square crop around the landmark extent -> (transform, box x0 y0 x1 y1 in the original).

    The crop is settings.size pixels, or for paste-back the crop's size in the photo when
    that is smaller (but at least MIN_CROP_SIZE: small faces get a finer warp field).
    """
    box = np.array([*points[:, :2].min(axis=0), *points[:, :2].max(axis=0)], np.float64)
    box_size = float(max(box[2] - box[0], box[3] - box[1]))
    centre = 0.5 * (box[:2] + box[2:])
    centre[1] += settings.crop_offset_y * box_size  # negative moves the crop up (more hair)
    side = settings.crop_scale * box_size
    size = settings.size
    if settings.output == "pasteback":
        # Pasted back, the photo itself is warped (render/renderer.py) and the crop is only
        # the motion's frame: its size sets the warp field's grid (2 crop pixels). At the
        # photo's own resolution (up to settings.size) that is 2 photo pixels; but at least
        # MIN_CROP_SIZE, since a small face's lips need a finer grid to close (measured: at
        # 128 px the lips of a 55 px face stayed 1 px apart).
        native = int(2 * np.ceil(side / 2))  # the crop's side in photo pixels, even
        size = min(settings.size, max(MIN_CROP_SIZE, native))
        if size == native:
            side = float(native)  # grown by under 2 px: one crop pixel is one photo pixel
    s = size / side
    origin = centre - side / 2
    matrix = np.array([[s, 0.0, -origin[0] * s], [0.0, s, -origin[1] * s]])
    return CropTransform(matrix=matrix, size=size), box


def build_face(points: np.ndarray, num_faces: int, settings: CropSettings) -> Face:
    """Original-pixel mesh -> Face in working-crop pixels."""
    crop, box = working_crop(points, settings)
    s = crop.matrix[0, 0]
    lm = np.empty_like(points)
    lm[:, :2] = points[:, :2] @ crop.matrix[:, :2].T + crop.matrix[:, 2]
    lm[:, 2] = points[:, 2] * s
    return Face(
        landmarks=lm.astype(np.float32), box=box.astype(np.float32), crop=crop, num_faces=num_faces
    )
