"""Issue 15: every shape of ``facemodel/shapes.py``, driven alone at 1.0, moves its own
landmarks and no far-away ones, as a fresh face mesh reads the rendered frame.

One portrait (a smiling man cropped from the group photo inside insightface,
``data/images/t1.jpg``), one frame per shape. Motion is read in the face frame of the
neutral frame's own mesh (eye spans), so it does not depend on the renderer's numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import pytest

from moda_cli.face import landmarks as lm
from moda_cli.face.detect import FaceDetector
from moda_cli.face.measure import eye_opening
from moda_cli.face.mediapipe_import import import_mediapipe
from moda_cli.face.types import Portrait
from moda_cli.facemodel.basis import face_frame
from moda_cli.facemodel.params import NUM_PARAMS, index
from moda_cli.facemodel.shapes import SHAPES
from moda_cli.render.renderer import Renderer
from moda_cli.render.settings import RenderSettings

T1_BOX = (358, 179, 310)  # (x, y, side) of the face in t1.jpg, a fixed file
FAR = 0.025  # eye spans: what a far-away landmark may move (the mesh's own jitter)
# per side: (upper outer lip beside the middle, nostril wing, mouth corner, cheek below the eye)
_SIDE = {"Left": (267, 294, 291, 330), "Right": (37, 64, 61, 101)}
# per side: (the eye as measure.eye_opening names it, its iris centre, its corners)
_EYE: dict[str, tuple[Literal["left", "right"], int, tuple[int, int]]] = {
    "Left": ("left", 473, lm.LEFT_EYE_CORNERS),
    "Right": ("right", 468, lm.RIGHT_EYE_CORNERS),
}
_BROWS_EYES = (*lm.LEFT_BROW, *lm.RIGHT_BROW, *lm.LEFT_EYE, *lm.RIGHT_EYE)
_MOUTH_CHIN = (*lm.UPPER_OUTER_LIP, *lm.LOWER_OUTER_LIP, lm.CHIN)

Reading = Callable[[np.ndarray, np.ndarray], float]


def _side(name: str) -> str:
    return "Left" if name.endswith("Left") else "Right"


def _out(name: str) -> float:
    """+1 where the subject's side is +x in the face frame (their left)."""
    return 1.0 if _side(name) == "Left" else -1.0


def _opening(name: str) -> Reading:
    eye = _EYE[_side(name)][0]
    return lambda a, b: float(eye_opening(b, eye) - eye_opening(a, eye))


def _iris(name: str, axis: int) -> Reading:
    _, centre, corners = _EYE[_side(name)]

    def rel(f: np.ndarray) -> float:  # the iris centre from the middle of the eye
        return float(f[centre, axis] - f[list(corners), axis].mean())

    return lambda a, b: rel(b) - rel(a)


def _y(idx: tuple[int, ...]) -> Reading:
    return lambda a, b: float((b[list(idx), 1] - a[list(idx), 1]).mean())


def _gap(top: int, bottom: int) -> Reading:
    return lambda a, b: float((b[bottom, 1] - b[top, 1]) - (a[bottom, 1] - a[top, 1]))


def _width(a: np.ndarray, b: np.ndarray) -> float:
    left, right = lm.MOUTH_CORNERS[1], lm.MOUTH_CORNERS[0]
    return float((b[left, 0] - b[right, 0]) - (a[left, 0] - a[right, 0]))


def expectations(name: str) -> tuple[Reading, float, tuple[int, ...]]:
    """(reading, least signed value it must reach, far landmarks) for one shape."""
    side, out = _side(name), _out(name)
    upper, ala, corner, cheek = _SIDE[side]
    other_eye = lm.RIGHT_EYE if side == "Left" else lm.LEFT_EYE
    eye_far = (*other_eye, *_MOUTH_CHIN)
    if name in ("mouthLeft", "mouthRight"):
        return (lambda a, b: out * float((b - a)[[0, 17, 13, 14], 0].mean())), 0.01, _BROWS_EYES
    table: dict[str, tuple[Reading, float, tuple[int, ...]]] = {
        "mouthDimple": (
            (lambda a, b: out * float(b[corner, 0] - a[corner, 0])),
            0.005,
            _BROWS_EYES,
        ),
        "mouthRollUpper": (_y((0, 37, 267)), 0.006, _BROWS_EYES),
        "mouthShrugLower": (lambda a, b: -_y((199, 175))(a, b), 0.015, _BROWS_EYES),
        "mouthShrugUpper": (lambda a, b: -_y((0,))(a, b), 0.004, _BROWS_EYES),
        "mouthLowerDown": (
            _y(tuple(lm.LOWER_OUTER_LIP[6:9] if side == "Left" else lm.LOWER_OUTER_LIP[2:5])),
            0.009,
            _BROWS_EYES,
        ),
        "mouthUpperUp": (lambda a, b: -_y((upper,))(a, b), 0.005, _BROWS_EYES),
        "mouthFunnel": (lambda a, b: -_width(a, b), 0.04, _BROWS_EYES),
        "eyeSquint": (lambda a, b: -_opening(name)(a, b), 0.01, eye_far),
        "eyeWide": (_opening(name), 0.015, eye_far),
        "eyeLookUp": (lambda a, b: -_iris(name, 1)(a, b), 0.003, eye_far),
        "eyeLookDown": (_iris(name, 1), 0.003, eye_far),
        "eyeLookIn": (lambda a, b: -out * _iris(name, 0)(a, b), 0.02, eye_far),
        "eyeLookOut": (lambda a, b: out * _iris(name, 0)(a, b), 0.02, eye_far),
        "cheekSquint": (lambda a, b: -_y((cheek,))(a, b), 0.003, (*other_eye, *_MOUTH_CHIN)),
        "cheekPuff": (
            (lambda a, b: float((b[397, 0] - b[172, 0]) - (a[397, 0] - a[172, 0]))),
            0.02,
            _BROWS_EYES,
        ),
        "noseSneer": (lambda a, b: -_gap(ala, upper)(a, b), 0.002, (lm.CHIN, *other_eye)),
        "jaw": ((lambda a, b: out * float(b[lm.CHIN, 0] - a[lm.CHIN, 0])), 0.02, _BROWS_EYES),
        "jawForward": (_y((lm.CHIN,)), 0.015, _BROWS_EYES),
    }
    stem = name if name in table else name.removesuffix(side)
    return table[stem]


class FreshMesh:
    """MediaPipe's refined mesh (478 points: the irises too), re-detected every frame."""

    def __init__(self) -> None:
        import_mediapipe()
        from mediapipe.python.solutions import face_mesh

        self._mesh = face_mesh.FaceMesh(
            static_image_mode=True, refine_landmarks=True, max_num_faces=1
        )

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        found = self._mesh.process(np.ascontiguousarray(frame)).multi_face_landmarks
        assert found, "no face read in a rendered frame"
        pts = np.array([(p.x, p.y, p.z) for p in found[0].landmark], np.float64)
        return pts * (frame.shape[1], frame.shape[0], frame.shape[1])


@pytest.fixture(scope="module")
def readings() -> dict[str, np.ndarray]:
    """Each shape's frame read by a fresh mesh, in the neutral reading's face frame."""
    insightface = pytest.importorskip("insightface")
    t1 = cv2.imread(str(Path(insightface.__file__).parent / "data" / "images" / "t1.jpg"))
    x, y, side = T1_BOX
    crop = cv2.resize(t1[y : y + side, x : x + side], (512, 512), interpolation=cv2.INTER_CUBIC)
    portrait = Portrait(np.ascontiguousarray(crop[..., ::-1]))
    settings = RenderSettings(output="crop")
    renderer = Renderer(portrait, FaceDetector().detect(portrait, settings), settings)
    rows = np.zeros((1 + len(SHAPES), NUM_PARAMS), np.float32)
    for k, name in enumerate(SHAPES, start=1):
        rows[k, index(name)] = 1.0
    mesh = FreshMesh()
    meshes = [mesh(renderer.render(row)) for row in rows]
    frame = face_frame(meshes[0])
    return dict(zip(["neutral", *SHAPES], (frame.to_face(m) for m in meshes), strict=True))


@pytest.mark.parametrize("name", list(SHAPES))
def test_shape_moves_its_landmarks_and_no_far_ones(readings, name):
    reading, least, far = expectations(name)
    rest, moved = readings["neutral"], readings[name]
    assert reading(rest, moved) > least, f"{name}: {reading(rest, moved):.4f} <= {least}"
    drift = float(np.abs(moved[list(far), :2] - rest[list(far), :2]).max())
    assert drift < FAR, f"{name} moves far landmarks by {drift:.4f} eye spans"
