"""Which pixels of a photo are the person: MediaPipe's selfie segmentation.

The renderer moves only the person (face, hair, neck, shoulders) and keeps every pixel of
the scene as photographed; ``moda qc`` measures the scene's stillness outside the same
kind of mask. The model ships inside the pinned mediapipe wheel, so nothing is fetched.

The general model (``model_selection=0``) works on a 256 x 256 view of the whole photo;
its mask is soft at the edges (hair) and is returned at the photo's resolution.
"""

from __future__ import annotations

import numpy as np

from .mediapipe_import import import_mediapipe


def person_mask(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) float32 in 0..1: 1 on the person, 0 on the scene."""
    import_mediapipe()
    from mediapipe.python.solutions import selfie_segmentation

    with selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter:
        result = segmenter.process(np.ascontiguousarray(image[..., :3]))
    mask = result.segmentation_mask
    if mask is None:  # MediaPipe returns no mask only for an empty image
        return np.zeros(image.shape[:2], np.float32)
    return np.clip(np.asarray(mask, np.float32), 0.0, 1.0)
