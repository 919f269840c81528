"""Named groups of MediaPipe face-mesh indices, defined once for every stage.

"Right" and "left" are the SUBJECT's: the subject's right eye (outer corner 33) appears on
the image's left in a frontal photo. Contours are ordered along the curve.
"""

from __future__ import annotations

import numpy as np

from .types import NUM_LANDMARKS

NUM_MESH_POINTS = 468  # without the iris refinement
EYE_CORNERS = (33, 263)  # outer corners: the face's unit of length everywhere
INNER_LIP_MID = (13, 14)  # upper, lower inner-lip centre
MOUTH_CORNERS = (61, 291)
INNER_MOUTH_CORNERS = (78, 308)
CHIN = 152
FOREHEAD = 10
NOSE_TIP = 1
CHEEKS = (234, 454)

# Inner lips, corner to corner (78 -> 308); with the lower one reversed they close a polygon.
UPPER_INNER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_INNER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
UPPER_OUTER_LIP = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LOWER_OUTER_LIP = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
# The ring between outer and inner contour (the lips' red part, midway).
UPPER_LIP_MID = (76, 184, 74, 73, 72, 11, 302, 303, 304, 408, 306)
LOWER_LIP_MID = (76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306)

# Eyelid margins, outer to inner corner, upper and lower paired point by point.
RIGHT_UPPER_LID = (246, 161, 160, 159, 158, 157, 173)
RIGHT_LOWER_LID = (7, 163, 144, 145, 153, 154, 155)
LEFT_UPPER_LID = (466, 388, 387, 386, 385, 384, 398)
LEFT_LOWER_LID = (249, 390, 373, 374, 380, 381, 382)
# The lid skin row above each upper margin (moves part of the way in a blink).
RIGHT_UPPER_CREASE = (247, 30, 29, 27, 28, 56, 190)
LEFT_UPPER_CREASE = (467, 260, 259, 257, 258, 286, 414)
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (263, 362)
RIGHT_EYE = (33, *RIGHT_UPPER_LID, 133, *reversed(RIGHT_LOWER_LID))
LEFT_EYE = (263, *LEFT_UPPER_LID, 362, *reversed(LEFT_LOWER_LID))

RIGHT_BROW = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)
LEFT_BROW = (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)
RIGHT_BROW_INNER = (55, 65, 107, 66)
LEFT_BROW_INNER = (285, 295, 336, 296)

FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)
# Points that barely move with expressions: used to fit the head's rigid pose.
STABLE = (
    10,
    151,
    9,
    8,
    168,
    6,
    197,
    195,
    5,
    4,
    1,
    33,
    133,
    263,
    362,
    127,
    356,
    234,
    454,
    98,
    327,
    2,
    129,
    358,
    67,
    297,
    109,
    338,
    103,
    332,
)

RIGHT_IRIS = tuple(range(468, 473))  # centre, then four ring points
LEFT_IRIS = tuple(range(473, 478))


def pad_iris(points: np.ndarray) -> np.ndarray:
    """(468, 3) mesh without iris -> (478, 3), iris points estimated at the eye centres.

    The ring points sit a small distance from the centre (not on it) so that nothing
    downstream sees duplicate points.
    """
    if points.shape[0] >= NUM_LANDMARKS:
        return points[:NUM_LANDMARKS]
    out = np.zeros((NUM_LANDMARKS, points.shape[1]), points.dtype)
    out[:NUM_MESH_POINTS] = points[:NUM_MESH_POINTS]
    for eye, corners, first in (
        (RIGHT_EYE, RIGHT_EYE_CORNERS, 468),
        (LEFT_EYE, LEFT_EYE_CORNERS, 473),
    ):
        centre = points[list(eye)].mean(axis=0)
        radius = 0.2 * float(np.linalg.norm(points[corners[0], :2] - points[corners[1], :2]))
        offsets = ((0, 0), (radius, 0), (0, -radius), (-radius, 0), (0, radius))
        for k, (dx, dy) in enumerate(offsets):
            out[first + k] = centre
            out[first + k, 0] += dx
            out[first + k, 1] += dy
    return out


def eye_span(points: np.ndarray) -> float:
    """Outer eye-corner distance in the points' 2D units (never zero)."""
    a, b = EYE_CORNERS
    return float(np.linalg.norm(points[a, :2] - points[b, :2])) + 1e-6
