"""Identity condition: a face's neutral shape as a small scale-free descriptor.

MoDA conditions on the source face's canonical keypoints. Our equivalent is a vector of
landmark distances divided by the outer eye-corner distance, so it depends on the
person's proportions (mouth width, lip thickness, jaw, resting mouth gap) and not on the
photo's size or the face's position.
"""

from __future__ import annotations

import numpy as np

# Pairs of MediaPipe mesh indices whose distance, over the eye-corner span, describes the face.
_PAIRS: tuple[tuple[int, int], ...] = (
    (234, 454),  # face width at the cheeks
    (10, 152),  # forehead to chin
    (61, 291),  # mouth width
    (0, 13),  # upper lip thickness
    (14, 17),  # lower lip thickness
    (13, 14),  # resting inner-lip gap
    (168, 1),  # nose bridge to tip
    (1, 0),  # nose tip to upper lip
    (17, 152),  # lower lip to chin
    (159, 145),  # right eye opening
    (386, 374),  # left eye opening
    (105, 159),  # right brow height over the lid
    (334, 386),  # left brow height over the lid
    (133, 362),  # inner eye corners
    (172, 397),  # jaw width
)
_EYE_CORNERS = (33, 263)
IDENTITY_DIM = len(_PAIRS) + 1  # + nose depth

# Descriptor of NASA's public-domain astronaut portrait (samples/astronaut.png), a typical
# adult face; synthetic training identities are drawn around it.
REFERENCE_IDENTITY = np.array(
    [
        1.501,
        1.746,
        0.713,
        0.046,
        0.074,
        0.113,
        0.488,
        0.173,
        0.378,
        0.111,
        0.117,
        0.189,
        0.169,
        0.391,
        1.255,
        1.050,
    ],
    dtype=np.float32,
)


def identity_features(landmarks: np.ndarray) -> np.ndarray:
    """(478 or 468, 3) mesh in any pixel units -> (IDENTITY_DIM,) float32 descriptor."""
    pts = landmarks[:, :3].astype(np.float64)
    span = np.linalg.norm(pts[_EYE_CORNERS[0], :2] - pts[_EYE_CORNERS[1], :2]) + 1e-9
    dists = [np.linalg.norm(pts[a, :2] - pts[b, :2]) / span for a, b in _PAIRS]
    depth = (0.5 * (pts[234, 2] + pts[454, 2]) - pts[1, 2]) / span
    return np.array([*dists, depth], dtype=np.float32)
