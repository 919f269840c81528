"""Face box detectors by name: what finds the faces before MediaPipe's mesh runs.

A detector is a factory ``(model_root) -> FaceBoxDetector`` registered in ``DETECTORS``;
``--detector`` and ``EngineOptions.detector`` choose among the names. Each factory
imports its detector when it is used, so listing the names loads no model library.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from ..errors import MissingDependency
from ..registry import Registry

if TYPE_CHECKING:
    from .detect import FaceBoxDetector

# model_root: the detector's local model folder (--insightface-root), None when not given
BoxDetectorFactory = Callable[[Path | None], "FaceBoxDetector"]
DETECTORS: Registry[BoxDetectorFactory] = Registry("detector")
Detector = Annotated[str, DETECTORS]  # a detector's name (``EngineOptions.detector``)


@DETECTORS.decorator("mediapipe")
def _mediapipe(model_root: Path | None) -> FaceBoxDetector:
    from .detect import MediaPipeBoxes

    return MediaPipeBoxes()  # bundled with the mediapipe wheel


@DETECTORS.decorator("insightface")
def _insightface(model_root: Path | None) -> FaceBoxDetector:
    if model_root is None:
        raise MissingDependency(
            "the insightface detector needs a local model folder",
            hint="give the folder that contains models/buffalo_l/*.onnx",
        )
    from .detect import InsightFaceBoxes

    return InsightFaceBoxes(Path(model_root))
