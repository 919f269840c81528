"""The face model run backwards: tracked meshes of a video -> rows of the core channels.

The forward model is the head rig (``facemodel.head``) and the expression blendshapes
(``facemodel.basis``); this reads a clip's MediaPipe meshes back through them:

1. the clip's most neutral frame (closest to the median head pose, mouth closed, eyes
   open) is the reference: "the photo" of the renderer's conventions;
2. head pose: a similarity fit of the rigid ``STABLE`` points, reference -> frame, read as
   the rig's rotation about its pivot, then scale about the face centre, then shift;
3. expressions: the pose removed, scalar measurements in the reference's face frame
   (unit = eye-corner distance), turned into core coefficients with the per-unit
   sensitivities of their fields (``basis.core_basis``) on this face. jaw_open is
   absolute (the inner-lip gap through ``basis.jaw_for_gap``, the inverse of the
   renderer's ``lip_gap``); blinks are relative to the clip's open-eye level; the other
   coefficients are relative to the clip's median, so an expression held through the
   whole clip is not seen.

The calibration constants below are measured on MediaPipe's mesh, not on the face model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..face import landmarks as lm
from ..face.measure import eye_opening
from ..face.pose import euler_from_matrix, fit_similarity
from .basis import core_basis, face_frame, jaw_for_gap, lip_gap
from .core import CORE_EXPRESSION_NAMES, CORE_HIGH, CORE_LOW
from .head import HeadGeometry

# MediaPipe never reports a shut eye as shut: its lid gap stays near 0.6 x the open gap
# (see tests/test_render.py). Closure 1 - gap / open_gap is therefore mapped from
# BLINK_DEAD (lid jitter, ignored) .. BLINK_FULL (shut as far as the mesh can tell) to 0..1.
BLINK_DEAD, BLINK_FULL = 0.10, 0.42
# The open-eye level: a percentile of the clip's lid gap. Not a high one: raised brows make
# the mesh read the eyes as wider, and a level taken from those frames turns every
# ordinary frame into a small blink. Eyes are shut in well under 40 % of the frames.
OPEN_PERCENTILE = 60
# Coefficients measured relative to the clip's median see the mesh's jitter as small
# expressions in half the frames; values below this are taken as zero (soft threshold).
EXPRESSION_DEAD = 0.08


@dataclass
class PoseFit:
    """Similarity fits reference -> frame: X -> scale R X + shift, per frame (T)."""

    scale: np.ndarray  # (T,)
    rot: np.ndarray  # (T, 3, 3)
    shift: np.ndarray  # (T, 3)


@dataclass
class InverseMotion:
    """motion: (T, 17) clipped core channels (``core.py``); neutral: the reference frame;
    ref: its (468, 3) mesh."""

    motion: np.ndarray
    neutral: int
    ref: np.ndarray


# ----------------------------------------------------------------------------- 1-2. reference, pose


def fit_poses(points: np.ndarray, detected: np.ndarray, ref: np.ndarray) -> PoseFit:
    """(T, 468, 3) meshes, (T,) found, (468, 3) reference -> the rigid fit of each found frame."""
    n = len(points)
    fit = PoseFit(np.ones(n), np.tile(np.eye(3), (n, 1, 1)), np.zeros((n, 3)))
    idx = list(lm.STABLE)
    for t in np.nonzero(detected)[0]:
        s, r, sh = fit_similarity(ref[idx].astype(np.float64), points[t, idx].astype(np.float64))
        fit.scale[t], fit.rot[t], fit.shift[t] = s, r, sh
    return fit


def neutral_frame(points: np.ndarray, detected: np.ndarray) -> int:
    """The found frame closest to the clip's median head pose, mouth closed and eyes open."""
    frames = np.nonzero(detected)[0]
    rot = fit_poses(points, detected, points[frames[0]]).rot[frames]
    angles = np.array([euler_from_matrix(r) for r in rot])  # (T, 3) pitch, yaw, roll
    turn = np.abs(angles - np.median(angles, axis=0)).sum(axis=1) / 3.0  # ~1 per 3 degrees
    gap = np.array(
        [
            np.linalg.norm(points[t, 13, :2] - points[t, 14, :2]) / lm.eye_span(points[t])
            for t in frames
        ]
    )
    eyes = np.array(
        [(eye_opening(points[t], "left") + eye_opening(points[t], "right")) / 2 for t in frames]
    )
    closed = np.clip(1.0 - eyes / (np.percentile(eyes, 90) + 1e-6), 0.0, 1.0)
    score = turn + gap / 0.05 + closed / 0.2
    return int(frames[np.argmin(score)])


# ----------------------------------------------------------------------------- 3. expressions

FEATURES = (
    "gap",
    "width",
    "corner",
    "upper_lip",
    "lower_lip",
    "eye_left",
    "eye_right",
    "brow_height",
    "brow_gap",
)


def face_features(f: np.ndarray) -> np.ndarray:
    """(..., 468, 3) face-frame points (x right, y down, eye-span units) -> (..., 9) FEATURES."""
    up, lo = lm.INNER_LIP_MID
    mid_y = 0.5 * (f[..., up, 1] + f[..., lo, 1])
    brow_idx = [*lm.RIGHT_BROW, *lm.LEFT_BROW]
    eye_idx = [*lm.RIGHT_EYE, *lm.LEFT_EYE]
    return np.stack(
        [
            f[..., lo, 1] - f[..., up, 1],  # inner-lip gap
            f[..., lm.MOUTH_CORNERS[1], 0] - f[..., lm.MOUTH_CORNERS[0], 0],  # mouth width
            f[..., list(lm.MOUTH_CORNERS), 1].mean(axis=-1) - mid_y,  # corners below the centre
            f[..., up, 1] - f[..., 0, 1],  # upper lip thickness at the middle
            f[..., 17, 1] - f[..., lo, 1],  # lower lip thickness
            eye_opening(f, "left"),
            eye_opening(f, "right"),
            f[..., eye_idx, 1].mean(axis=-1)
            - f[..., brow_idx, 1].mean(axis=-1),  # brows above the eyes
            f[..., list(lm.LEFT_BROW_INNER), 0].mean(axis=-1)
            - f[..., list(lm.RIGHT_BROW_INNER), 0].mean(axis=-1),
        ],
        axis=-1,
    )


def sensitivities(f_ref: np.ndarray) -> np.ndarray:
    """(11, 9): change of each feature per unit of each core coefficient on this face."""
    basis = core_basis(lm.pad_iris(f_ref))[:, : lm.NUM_MESH_POINTS]  # (11, 468, 3) face units
    return face_features(f_ref[None] + basis) - face_features(f_ref)[None]


def _solve2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 2) non-negative x with a @ x ~ b for a (2, 2) sensitivity matrix and (T, 2) changes."""
    x = np.linalg.lstsq(a, b.T, rcond=None)[0].T
    x = np.clip(x, 0.0, None)
    for k in range(2):  # where one came out negative, refit the other alone
        other = 1 - k
        alone = np.clip(b @ a[:, other] / max(float(a[:, other] @ a[:, other]), 1e-12), 0.0, None)
        x[:, other] = np.where(x[:, k] == 0.0, alone, x[:, other])
    return x


def expression_params(feats: np.ndarray, sens: np.ndarray) -> np.ndarray:
    """(T, 9) features -> (T, 11) coefficients in CORE_EXPRESSION_NAMES order (0..1 before
    clipping)."""
    e = {n: i for i, n in enumerate(CORE_EXPRESSION_NAMES)}
    c = {n: i for i, n in enumerate(FEATURES)}
    out = np.zeros((len(feats), len(e)))
    d = feats - np.median(feats, axis=0)
    jaw = np.clip(jaw_for_gap(feats[:, c["gap"]]), 0.0, 1.0)  # the renderer's lip_gap inverted
    out[:, e["jaw_open"]] = jaw
    # Jaw opening moves the corners too; take its share out (the basis unit is one eye span of gap).
    opened = lip_gap(jaw, 0.0)
    d[:, c["corner"]] -= sens[e["jaw_open"], c["corner"]] * (opened - np.median(opened))
    up = d[:, c["corner"]] / sens[e["smile"], c["corner"]]  # > 0 where corners rose
    down = d[:, c["corner"]] / sens[e["frown"], c["corner"]]
    out[:, e["smile"]] = np.clip(up, 0.0, None)
    out[:, e["frown"]] = np.clip(down, 0.0, None)
    width = (
        d[:, c["width"]]
        - out[:, [e["smile"], e["frown"]]] @ sens[[e["smile"], e["frown"]], c["width"]]
    )
    out[:, e["lip_round"]] = np.clip(width / sens[e["lip_round"], c["width"]], 0.0, None)
    out[:, e["lip_spread"]] = np.clip(width / sens[e["lip_spread"], c["width"]], 0.0, None)
    lips = [c["upper_lip"], c["lower_lip"]]
    press_tuck = _solve2(sens[[e["lip_press"], e["lip_tuck"]]][:, lips].T, d[:, lips])
    shut = np.clip(1.0 - jaw / 0.1, 0.0, 1.0)  # pressed or tucked lips are (nearly) shut
    out[:, e["lip_press"]] = press_tuck[:, 0] * shut
    out[:, e["lip_tuck"]] = press_tuck[:, 1] * shut
    brows = [c["brow_height"], c["brow_gap"]]
    out[:, [e["brow_raise"], e["brow_furrow"]]] = _solve2(
        sens[[e["brow_raise"], e["brow_furrow"]]][:, brows].T, d[:, brows]
    )
    relative = [i for n, i in e.items() if n not in ("jaw_open", "blink_left", "blink_right")]
    out[:, relative] = np.clip(out[:, relative] - EXPRESSION_DEAD, 0.0, None) / (
        1.0 - EXPRESSION_DEAD
    )
    for name, feat in (("blink_left", "eye_left"), ("blink_right", "eye_right")):
        closure = 1.0 - feats[:, c[feat]] / max(
            float(np.percentile(feats[:, c[feat]], OPEN_PERCENTILE)), 1e-6
        )
        out[:, e[name]] = (closure - BLINK_DEAD) / (BLINK_FULL - BLINK_DEAD)
    return out


# ----------------------------------------------------------------------------- a clip


def _interpolate(values: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """Rows of undetected frames linearly interpolated from detected ones (edges held)."""
    t, known = np.arange(len(values)), np.nonzero(detected)[0]
    return np.stack([np.interp(t, known, values[known, k]) for k in range(values.shape[1])], axis=1)


def _smooth3(x: np.ndarray) -> np.ndarray:
    """[1, 2, 1] / 4 along time: takes the mesh's frame-to-frame jitter out of the pose."""
    if len(x) < 3:
        return x
    p = np.pad(x, ((1, 1), (0, 0)), mode="edge")
    return 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]


def invert_meshes(points: np.ndarray, detected: np.ndarray) -> InverseMotion:
    """(T, 468, 3) meshes in pixels (NaN where ``detected`` (T,) is False) -> the motion.

    Frames without a face are interpolated from their neighbours; at least one is needed.
    """
    neutral = neutral_frame(points, detected)
    ref = points[neutral].astype(np.float64)
    frame = face_frame(ref)
    fit = fit_poses(points, detected, ref)
    pose = HeadGeometry.of(ref, frame).pose_of(fit.scale, fit.rot, fit.shift)
    det = np.nonzero(detected)[0]
    # The pose taken out: each frame's mesh mapped back onto the reference's, in face units.
    local = (
        np.einsum(
            "tij,tnj->tni",
            fit.rot[det].transpose(0, 2, 1),
            points[det].astype(np.float64) - fit.shift[det, None],
        )
        / fit.scale[det, None, None]
    )
    expr = np.zeros((len(detected), len(CORE_EXPRESSION_NAMES)))
    expr[det] = expression_params(
        face_features(frame.to_face(local)), sensitivities(frame.to_face(ref))
    )
    motion = _interpolate(np.concatenate([pose, expr], axis=1), detected)
    motion[:, :6] = _smooth3(motion[:, :6])
    return InverseMotion(np.clip(motion, CORE_LOW, CORE_HIGH).astype(np.float32), neutral, ref)
