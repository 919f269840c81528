"""The face model run backwards: tracked meshes of a video -> rows of the motion spaces.

The forward model is the head rig (``facemodel.head``) and the expression blendshapes
(``facemodel.basis``, ``facemodel.shapes``); this reads a clip's MediaPipe meshes back
through them:

1. the clip's most neutral frame (closest to the median head pose, mouth closed, eyes
   open) is the reference: "the photo" of the renderer's conventions;
2. head pose: a similarity fit of the rigid ``STABLE`` points, reference -> frame, read as
   the rig's rotation about its pivot, then scale about the face centre, then shift;
3. the core path: the pose removed, scalar measurements in the reference's face frame
   (unit = eye-corner distance), turned into the 11 core coefficients with the per-unit
   sensitivities of their fields (``basis.core_basis``) on this face. jaw_open is
   absolute (the inner-lip gap through ``basis.jaw_for_gap``, the inverse of the
   renderer's ``lip_gap``); blinks are relative to the clip's open-eye level; the other
   coefficients are relative to the clip's median, so an expression held through the
   whole clip is not seen. The dub and ``--pose-from`` read these (``InverseMotion.motion``);
4. the joint path (``InverseMotion.joint``, what ``--from-videos`` trains on): the core
   path's robust readings of jawOpen, the blinks and the lips' press, lifted
   (``core.lift``: jawOpen, mouthClose, mouthPressLeft/Right, eyeBlinkLeft/Right), and
   the ``FITTED`` shapes from a per-frame non-negative least-squares fit (``fit_shapes``)
   of the pose-removed displacement of the contour landmarks (``FIT_POINTS``) from the
   clip's median mesh, in the reference's face frame, against the shapes' fields
   evaluated on the reference (``basis.shape_fields``) times how much of each a mesh
   reads back (``READ_GAIN``). The core path's shapes and those a mesh confuses with the
   jaw are in the fit too (``ABSORBED``), so that what they move is not read as another
   shape; their fitted values are dropped. What the coefficients follow over the clip
   without the face making them is taken off (``_confounds``: the head's turn, the jaw
   and the blinks, as a mesh misreads them), then a running median (MEDIAN_FRAMES) takes
   out the misreadings of a frame or two. The fitted shapes are relative like the
   core's: the clip's median taken off, then a soft threshold (SHAPE_DEAD);
5. the gaze (``InverseMotion.gaze``, where the track kept the 10 iris points): each
   eye's iris centre against its corners in the pose-removed mesh, relative to where
   it rests over the clip, in degrees through the renderer's eyeball (``gaze_angles``).
   It is kept as the eyes' yaw and pitch, not as eyeLook columns: ``motion.gaze.eye_look``
   turns angles into the eight shapes, and this layer cannot import it (``--from-videos``
   writes ``eye_look(gaze)`` into the joint rows).

Only x and y are fitted: the renderer warps the picture in its plane, and a mesh's depth
on a picture is the network's guess from shading, not a measurement (a pucker's forward
push is not there to read). A fresh mesh reads back 0.25-0.6 of a field's in-plane move
at the contours and next to nothing of the skin between them, and it reads some shapes
as others. What it tells apart was measured: each shape rendered alone on two faces (t1
of tests/test_shapes.py, the sample portrait), 2 s at 25 fps, the head nodding and
turning 1-2 degrees throughout and the shape at 1.0 over the last 0.8 s, a fresh mesh
tracking the frames, this module reading them. "Read" is the joint rows' mean of that
shape over the held frames (t1 / sample); over the frames before it, no coefficient's
mean passed 0.12 on either face:

====================  ===========  =======================================================
shape                 joint rows   read (t1 / sample), and what else it reads as
====================  ===========  =======================================================
jawOpen               core         the inner-lip gap, absolute (``basis.jaw_for_gap``)
mouthClose            core         lift: jawOpen x lip_press
mouthPressLeft/Right  core         the lips' thinning (the core's lip_press, both sides)
eyeBlinkLeft/Right    core         lid gap against the open level (1.00 / 1.00)
mouthSmileLeft/Right  fit          0.82 / 0.05, 0.60 / 0.38 (the sample's left smile read
                                   as mouthStretchRight 0.77 and mouthFrownRight 0.58)
mouthFrownLeft/Right  fit          0.39 / 0.20, 0.60 / 0.67
mouthLeft/Right       fit          0.87 / 1.00, 0.74 / 0.96 (and mouthFrownRight 0.53)
mouthPucker           fit          0.26 / 0.54 (and mouthRollUpper 0.89 on t1)
mouthStretchLeft/     fit          0.39 / 0.19, 0.16 / 0.32: most of a stretch reads as a
Right                              smile and a frown together (the corner out)
mouthRollLower/Upper  fit          0.17 / 0.00, 0.02 / 0.90
browInnerUp           fit          0.47 / 1.00
browOuterUpLeft/Right fit          0.28 / 1.00, 0.72 / 1.00 (the sample's brow raises read
                                   as mouthStretch 0.3-1.0 too: raised brows move the
                                   forehead points of the rigid fit, which then scales)
browDownLeft/Right    fit          0.74 / 0.02, 0.60 / 0.09
eyeSquintLeft/Right   fit          0.52 / 1.00, 0.32 / 1.00; not while the eye blinks (a
                                   mesh reads a closing lid as both lids meeting)
mouthLowerDown*,      0            fitted but dropped (``ABSORBED``): a mesh reads the
mouthShrugLower                    jaw's opening partly as these
mouthDimpleLeft/Right 0            its in-plane move is a stretch's at the corner
mouthFunnel           0            read as mouthRollUpper + mouthPucker
mouthUpperUp*,        0            read below 0.35, as frowns and sideways lips
mouthShrugUpper
eyeWideLeft/Right     0            read at 0.05-0.2 of the field, below the neutral
                                   face's noise (the lid's crease hides the margin's move)
cheekSquint*,         0            skin the mesh barely moves (0.02-0.17 of the field):
cheekPuff,                         cheeks, the outline, the nose's side
noseSneer*
eyeLook*              gaze         both eyes' yaw and pitch (``gaze_angles``), as
                                   ``motion.gaze.eye_look`` reads them. Driven 20
                                   degrees (sample): left 22, right 16, down 19, up 19;
                                   10 degrees: 8, 4, 7, 11 (a mesh reads small turns
                                   less); looking sideways reads 1.5-3 degrees of pitch.
                                   Read from the irises (478-point tracks only; 0
                                   otherwise), held through blinks
jawForward            0            head-on only a 0.015 drop shows, the rest is depth
jawLeft/Right         0            the chin's shift is what a similarity fit's small turn
                                   leaves below the upper face; the lips' part is
                                   mouthLeft/Right's
tongueOut             0            no field, no landmark on the tongue
====================  ===========  =======================================================

The calibration constants below are measured on MediaPipe's mesh, not on the face model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from ..face import landmarks as lm
from ..face.measure import eye_opening
from ..face.pose import euler_from_matrix, fit_similarity
from .arkit import BLENDSHAPE_NAMES, EYE_LOOK_DEG
from .basis import (
    _LOWER_LIP_ROW,
    _UPPER_LIP_ROW,
    core_basis,
    face_frame,
    jaw_for_gap,
    lip_gap,
    shape_fields,
)
from .core import CORE_EXPRESSION_NAMES, CORE_HIGH, CORE_LOW, lift
from .head import HeadGeometry
from .params import HIGH, LOW, index, indices
from .shapes import LOOK

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

# The joint path's shapes (the module doc says why each is read, or not), with how much of
# its field's in-plane move a fresh mesh reads back at FIT_POINTS: measured on renders of
# each shape alone at 1.0 on the t1 face of tests/test_shapes.py (mean of 7 frames against
# 12 of a neutral face nodding and turning 1-2 degrees), floored at 0.25 so that no
# coefficient's noise is amplified more than 4x. The fitted coefficient is of the field
# times its gain: the shape as the mesh reads it.
READ_GAIN: dict[str, float] = {
    "eyeSquintLeft": 0.36,
    "eyeSquintRight": 0.28,
    "mouthPucker": 0.38,
    "mouthLeft": 0.36,
    "mouthRight": 0.40,
    "mouthSmileLeft": 0.32,
    "mouthSmileRight": 0.41,
    "mouthFrownLeft": 0.52,
    "mouthFrownRight": 0.47,
    "mouthStretchLeft": 0.39,
    "mouthStretchRight": 0.29,
    "mouthRollLower": 0.60,
    "mouthRollUpper": 0.41,
    "browDownLeft": 0.47,
    "browDownRight": 0.31,
    "browInnerUp": 0.25,
    "browOuterUpLeft": 0.26,
    "browOuterUpRight": 0.42,
}
FITTED = tuple(n for n in BLENDSHAPE_NAMES if n in READ_GAIN)  # in ARKit's order
# Fitted beside them so that what they move is not read as a FITTED shape, their values
# dropped: the core path reads the first five; a mesh places the opened jaw's lower lip and
# chin where the jaw's field does not, which the last three take up (left out, that
# difference read as both mouthLowerDowns at 1.0 at every opening of speech).
ABSORBED = (
    "jawOpen",
    "mouthPressLeft",
    "mouthPressRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthShrugLower",
)
# The landmarks fitted: the contours a mesh places from what it sees (lips, lid margins,
# brows, the nose's wings), not the smooth skin between them, which it fills in from its
# prior and barely moves (a smile's cheek: 0.008 of the field's 0.12 eye spans), nor the
# face's outline, which a head turn moves beyond what a similarity fit takes out.
FIT_POINTS = tuple(
    sorted(
        {
            *lm.UPPER_OUTER_LIP,
            *lm.LOWER_OUTER_LIP,
            *lm.UPPER_LIP_MID,
            *lm.LOWER_LIP_MID,
            *lm.UPPER_INNER_LIP,
            *lm.LOWER_INNER_LIP,
            *_UPPER_LIP_ROW,
            *_LOWER_LIP_ROW,
            *lm.RIGHT_EYE,
            *lm.LEFT_EYE,
            *lm.RIGHT_BROW,
            *lm.LEFT_BROW,
            *(64, 294, 98, 327, 48, 278, 129, 358, 2, 1),  # nostril wings, base and tip
        }
    )
)
# The fitted shapes' soft threshold: on the renders behind READ_GAIN, 95 % of a neutral
# nodding face's coefficients stay below 0.2-0.6 (EXPRESSION_DEAD is the core's, whose
# measures are single distances).
SHAPE_DEAD = 0.3
# The fitted shapes' running median (frames, odd): at 25 fps 0.28 s, shorter than a smile
# or a brow's raise, longer than the 1-3 frames a mesh misreads corners as the jaw moves
# fast (the lips' contour points lag the inner lips' by a frame or two) and than the odd
# first two frames of a track (detected, not yet tracked).
MEDIAN_FRAMES = 7
# Of the fit's normal equations' mean diagonal: keeps the Cholesky factor finite where two
# fields are near-parallel, without pulling a coefficient.
RIDGE = 1e-6

# Gaze (``gaze_angles``). How much of an iris's turn a fresh mesh reads back, per
# direction: measured on renders of the sample portrait, the head nodding, the eyes looking
# 20 degrees one way for 18 of 50 frames (the renderer moves the iris landmark by exactly
# its field): sideways 0.65 to the subject's left and 0.49 to the right, up 0.41, down 0.28
# (the lids following the eye cover the iris's top). At 10 degrees a mesh reads less
# (0.56, 0.32, 0.47, 0.25). The reading is divided by these.
GAZE_GAIN_SIDEWAYS, GAZE_GAIN_UP, GAZE_GAIN_DOWN = 0.57, 0.41, 0.28
# An eye whose core blink reads above this shows too little of its iris: its gaze is not
# read there, nor in the frames either side (a mesh places a half-hidden iris anywhere:
# 15-20 degrees off in a blink, 4-8 as the lid starts to close, which the core's blink
# reads as 0.0-0.3).
GAZE_BLINK = 0.3
# The gaze's running median (frames, odd): shorter than the other shapes' so that a
# saccade's step stays a step and a 0.3 s glance survives.
GAZE_MEDIAN_FRAMES = 5
# Degrees, a soft dead zone: the mesh's jitter of a gaze held at the camera, after the
# median, measured on the sample portrait: a still head 0.6 / 0.9 degrees sd in yaw /
# pitch (95 % under 0.9 / 1.5), a head nodding and turning 1-2 degrees 1.0 / 0.9 (95 %
# under 2.1 / 1.7).
GAZE_DEAD = 2.0
# Degrees as the mesh reads them (before GAZE_GAIN_*): how far from an eye's median its
# reading still counts as resting (``_rest``): 3-5 x the raw jitter of the steadier eye
# (0.5-0.8 degrees sd), under what a 10-degree glance reads (3-6).
GAZE_REST = 2.5
# Squared degrees: the least jitter an eye is weighted by (two near-steady eyes weigh
# the same, not as the ratio of their tiny jitters).
GAZE_JITTER_FLOOR = 0.1


@dataclass
class PoseFit:
    """Similarity fits reference -> frame: X -> scale R X + shift, per frame (T)."""

    scale: np.ndarray  # (T,)
    rot: np.ndarray  # (T, 3, 3)
    shift: np.ndarray  # (T, 3)


@dataclass
class InverseMotion:
    """A clip's motion read back, one row per frame (T), both clipped to their ranges.

    joint:   (T, 58) float32 joint motion in ``params.PARAM_NAMES`` order: pose,
             jawOpen, mouthClose, mouthPressLeft/Right and eyeBlinkLeft/Right as
             ``core.lift`` of ``motion``; the ``FITTED`` shapes from the shape fit; the
             shapes no path reads 0 (the module doc's table), the eyeLook shapes too
             (``gaze`` holds what the irises say).
    motion:  (T, 17) float32 core channels (``core.py``), the core path's reading (the
             dub's mouth and ``--pose-from`` read these).
    neutral: the reference frame; ref: its (P, 3) mesh, as tracked.
    gaze:    (T, 2) float32 the eyes' yaw and pitch in degrees (``gaze_angles``), in
             ``motion.gaze.eye_look``'s terms, which turns them into the eyeLook columns;
             zeros where the track has no irises.
    """

    joint: np.ndarray
    motion: np.ndarray
    neutral: int
    ref: np.ndarray
    gaze: np.ndarray


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
    out[:, relative] = _soft(out[:, relative])
    for name, feat in (("blink_left", "eye_left"), ("blink_right", "eye_right")):
        closure = 1.0 - feats[:, c[feat]] / max(
            float(np.percentile(feats[:, c[feat]], OPEN_PERCENTILE)), 1e-6
        )
        out[:, e[name]] = (closure - BLINK_DEAD) / (BLINK_FULL - BLINK_DEAD)
    return out


def _soft(x: np.ndarray, dead: float = EXPRESSION_DEAD) -> np.ndarray:
    """A soft threshold: values below ``dead`` 0, 1 stays 1."""
    return np.clip(x - dead, 0.0, None) / (1.0 - dead)


# ----------------------------------------------------------------------------- 4. the shape fit


def shape_basis(f_ref: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """(>= 468, 3) reference in its face frame -> (K, len(FIT_POINTS), 2) the in-plane
    fields of ``names`` at FIT_POINTS, each times its READ_GAIN (1 if it has none)."""
    fields, f = shape_fields(), lm.pad_iris(f_ref)
    gain = [READ_GAIN.get(n, 1.0) for n in names]
    return np.stack(
        [g * fields[n](f)[list(FIT_POINTS), :2] for n, g in zip(names, gain, strict=True)]
    )


def fit_shapes(disp: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """(T, P, 2) displacements, (K, P, 2) fields -> (T, K) coefficients x >= 0 minimising
    |sum_k x_k basis_k - disp| per frame. Solved on the K x K normal equations through
    their Cholesky factor L (|L^T x - L^-1 A b| has the same minimiser as the 2P rows)."""
    a = basis.reshape(len(basis), -1)  # (K, 2P)
    gram = a @ a.T
    gram += RIDGE * float(np.trace(gram)) / len(gram) * np.eye(len(gram))
    chol = np.linalg.cholesky(gram)  # gram = L L^T
    rhs = np.linalg.solve(chol, a @ disp.reshape(len(disp), -1).T)  # (K, T)
    return np.stack([nnls(chol.T, rhs[:, t])[0] for t in range(rhs.shape[1])])


def shape_params(local: np.ndarray, f_ref: np.ndarray, core: np.ndarray) -> np.ndarray:
    """(T, >= 468, 3) pose-removed meshes and the reference, in its face frame, and the
    (T, 17) core rows read from them -> (T, K) coefficients of FITTED, relative to the
    clip's median and soft-thresholded (SHAPE_DEAD; 0..1 before clipping).

    The displacement fitted is each frame's from the clip's median mesh, not from the
    reference: the reference is chosen for its pose, mouth and eyes, and may hold a smile
    that half the clip does not. The jaw moves both ways about a speaking clip's median
    (its field is fitted with either sign). Then what rises and falls with the jaw, the
    blinks and the head's turn is taken off (``_confounds``)."""
    basis = shape_basis(f_ref, (*FITTED, *ABSORBED))
    pts = local[:, list(FIT_POINTS), :2]
    opens = -basis[len(FITTED) + ABSORBED.index("jawOpen")]
    x = fit_shapes(pts - np.median(pts, axis=0), np.concatenate([basis, opens[None]]))
    x = x[:, : len(FITTED)]
    z = _confounds(core)
    z -= z.mean(axis=0)
    x -= x.mean(axis=0)
    for k, name in enumerate(FITTED):  # least squares x_k ~ z b over the clip, per shape
        c = _CONFOUND_COLUMNS[name.startswith("mouth"), name.startswith("brow")]
        # each confound's floor spread added to its own: a still jaw's or head's chance
        # correlations take nothing away
        gram = z[:, c].T @ z[:, c] + len(z) * np.diag(CONFOUND_SPREAD[c] ** 2)
        x[:, k] -= z[:, c] @ np.linalg.solve(gram, z[:, c].T @ x[:, k])
    return _soft(_running_median(x - np.median(x, axis=0)), SHAPE_DEAD)


def _running_median(x: np.ndarray, frames: int = MEDIAN_FRAMES) -> np.ndarray:
    """(T, K) -> the median of each ``frames`` (odd) frames about each frame, the clip
    mirrored at its ends (a mesh's first frame, detected rather than tracked, is often
    the odd one out, and held as the edge it would be half of its windows)."""
    half = frames // 2
    padded = np.pad(x, ((half, half), (0, 0)), mode="reflect" if len(x) > half else "edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, frames, axis=0)
    return np.median(windows, axis=-1)  # (T, K)


def _confounds(core: np.ndarray) -> np.ndarray:
    """(T, 17) core rows -> (T, 11) what a mesh's reading of the fitted shapes follows
    without the face making them, on the renders behind READ_GAIN and on the sample
    portrait speaking: the head's pitch, yaw, roll and their sizes (the rig's flattened
    relief is no rigid turn); jaw_open and its speed (openings read as corners moving:
    0.3-0.6 of a smile or frown, most while the jaw moves fast); the blinks (a closing lid
    read as the outer brow rising, r = 0.9)."""
    e = {n: 6 + i for i, n in enumerate(CORE_EXPRESSION_NAMES)}
    jaw = core[:, e["jaw_open"]]
    speed = np.gradient(jaw) if len(jaw) > 1 else np.zeros(len(jaw))
    blinks = core[:, [e["blink_left"], e["blink_right"]]]
    return np.column_stack([core[:, :3], np.abs(core[:, :3]), jaw, speed, np.abs(speed), blinks])


# Each confound's floor spread (``_confounds``'s order: degrees, then jaw_open and its
# speed per frame, blinks 0..1; a speaker's yaw spreads a few degrees, speech's jaw 0.2-0.3).
CONFOUND_SPREAD = np.array([2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 0.1, 0.05, 0.05, 0.1, 0.1])
# The confounds taken off a shape, by (is a mouth shape, is a brow shape): the pose from
# every shape, the jaw from the mouth's, the blinks from the brows' (not from a squint,
# which the core's lid gap reads as part of a blink).
_CONFOUND_COLUMNS = {
    (False, False): np.arange(6),
    (True, False): np.arange(9),
    (False, True): np.r_[np.arange(6), 9, 10],
}


def joint_motion(core: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """(T, 17) core rows and (T, K) FITTED coefficients -> (T, 58) clipped joint rows.

    A closing lid is read as both lids meeting, so a squint is not read while its eye
    blinks: it keeps all of what the fit found up to a core blink of 0.5 (a squint reads
    as up to about 0.4 of one), nothing at 1."""
    joint = lift(core)
    joint[:, indices(FITTED)] = shapes
    for side in ("Left", "Right"):
        blink = joint[:, index(f"eyeBlink{side}")]
        joint[:, index(f"eyeSquint{side}")] *= np.clip(2.0 * (1.0 - blink), 0.0, 1.0)
    return np.clip(joint, LOW, HIGH)


# ----------------------------------------------------------------------------- 5. gaze

# Per eye, the subject's right then left: its corners, the one on the subject's right
# first, and its iris centre.
_GAZE_EYES = (
    ((lm.RIGHT_EYE_CORNERS[0], lm.RIGHT_EYE_CORNERS[1]), lm.RIGHT_IRIS[0]),
    ((lm.LEFT_EYE_CORNERS[1], lm.LEFT_EYE_CORNERS[0]), lm.LEFT_IRIS[0]),
)


def iris_offsets(f: np.ndarray) -> np.ndarray:
    """(T, P, 3) pose-removed meshes in the face frame -> (T, 2, 2): each eye's (right,
    left) iris centre from the middle of its corners, in the eye's own frame: along the
    corners' line (towards the subject's left) and across it (down), in face units. NaN
    where the mesh has no irises (P = 468, or NaN rows)."""
    out = np.full((len(f), 2, 2), np.nan)
    if f.shape[1] <= max(iris for _, iris in _GAZE_EYES):
        return out
    for k, ((a, b), iris) in enumerate(_GAZE_EYES):
        along = f[:, b, :2] - f[:, a, :2]
        along /= np.linalg.norm(along, axis=-1, keepdims=True)
        across = np.stack([-along[:, 1], along[:, 0]], axis=-1)  # a quarter turn: down
        v = f[:, iris, :2] - 0.5 * (f[:, a, :2] + f[:, b, :2])
        out[:, k] = np.stack([(v * along).sum(axis=-1), (v * across).sum(axis=-1)], axis=-1)
    return out


def _rest(x: np.ndarray) -> np.ndarray:
    """(N, 2) one eye's iris offsets -> (2,) where it rests: the median, then (a few times)
    the median of the values within GAZE_REST of it. The plain median is pulled towards
    the frames that look away (held for 40 % of a clip, it read the frames at the camera
    as looking 2-6 degrees the other way); a noisy gaze that never looks away keeps it."""
    c = np.median(x, axis=0)
    reach = GAZE_REST * LOOK / EYE_LOOK_DEG
    for _ in range(3):
        c = np.array([np.median(v[np.abs(v - m) <= reach]) for v, m in zip(x.T, c, strict=True)])
    return c


def _jitter(deg: np.ndarray, seen: np.ndarray) -> float:
    """(T, 2) one eye's degrees and (T,) where seen -> the variance of its frame-to-frame
    change (a robust one: a saccade is a rare large change), at least GAZE_JITTER_FLOOR."""
    both = seen[1:] & seen[:-1]
    if not both.any():
        return 1.0
    step = np.diff(deg, axis=0)[both]
    mad = np.median(np.abs(step - np.median(step, axis=0)), axis=0)
    return max(float((1.4826 * mad) ** 2 @ np.ones(2)), GAZE_JITTER_FLOOR)


def gaze_angles(offsets: np.ndarray, blinks: np.ndarray) -> np.ndarray:
    """(T, 2, 2) ``iris_offsets`` and (T, 2) core blinks (right, left) -> (T, 2) float64 yaw
    (towards the subject's left) and pitch (down) of both eyes, degrees.

    Each eye's offset is taken relative to where it rests over the clip (``_rest``:
    people look at the camera most of the time; the photo's own gaze is the renderer's
    zero too) and turned into degrees through the renderer's eyeball (``shapes.LOOK``: an
    eyeLook shape's 1.0, ``EYE_LOOK_DEG``, moves the iris LOOK face units), divided by
    what a mesh reads back (GAZE_GAIN_*). The eyes turn together (``motion.gaze``): the
    gaze is the mean of the eyes open and seen (GAZE_BLINK; a wink leaves the other),
    each weighted by the inverse of its jitter (``_jitter``: on the sample portrait a
    mesh reads the left eye's iris 2-3 times as unsteadily as the right's, following the
    head's turn), held through frames where neither is (a blink: its last open value),
    then a running median (GAZE_MEDIAN_FRAMES) and a soft dead zone (GAZE_DEAD, 30
    degrees staying 30)."""
    closed = blinks >= GAZE_BLINK  # (T, 2)
    shut = closed.copy()  # and a frame either side: the lid on its way
    shut[1:] |= closed[:-1]
    shut[:-1] |= closed[1:]
    seen = np.isfinite(offsets).all(axis=-1) & ~shut
    known = seen.any(axis=1)
    if not known.any():
        return np.zeros((len(offsets), 2))
    deg = np.zeros(offsets.shape)
    for k in range(2):
        if seen[:, k].any():
            rel = offsets[seen[:, k], k] - _rest(offsets[seen[:, k], k])
            deg[seen[:, k], k] = EYE_LOOK_DEG / LOOK * rel
    deg[..., 0] /= GAZE_GAIN_SIDEWAYS
    deg[..., 1] /= np.where(deg[..., 1] > 0.0, GAZE_GAIN_DOWN, GAZE_GAIN_UP)
    weight = seen / np.array([_jitter(deg[:, k], seen[:, k]) for k in range(2)])
    both = (deg * weight[..., None]).sum(axis=1) / np.maximum(weight.sum(axis=1), 1e-12)[:, None]
    # Each frame takes the last frame seen at or before it (the first seen, before that).
    last = np.maximum.accumulate(np.where(known, np.arange(len(known)), np.argmax(known)))
    held = _running_median(both[last], GAZE_MEDIAN_FRAMES)
    dead = np.clip(np.abs(held) - GAZE_DEAD, 0.0, None) * EYE_LOOK_DEG / (EYE_LOOK_DEG - GAZE_DEAD)
    return np.sign(held) * dead


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
    """(T, >= 468, 3) meshes in pixels (NaN where ``detected`` (T,) is False) -> the motion.

    Frames without a face are interpolated from their neighbours; at least one is needed.
    The gaze is read where the meshes have irises (478 points), from the same pose fit;
    the rest reads only the 468.
    """
    n = lm.NUM_MESH_POINTS
    neutral = neutral_frame(points, detected)
    ref = points[neutral].astype(np.float64)
    mesh = ref[:n]
    frame = face_frame(ref)
    fit = fit_poses(points, detected, ref)
    pose = HeadGeometry.of(mesh, frame).pose_of(fit.scale, fit.rot, fit.shift)
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
    f_local, f_ref = frame.to_face(local), frame.to_face(mesh)
    expr = np.zeros((len(detected), len(CORE_EXPRESSION_NAMES)))
    expr[det] = expression_params(face_features(f_local[:, :n]), sensitivities(f_ref))
    motion = _interpolate(np.concatenate([pose, expr], axis=1), detected)
    motion[:, :6] = _smooth3(motion[:, :6])
    core = np.clip(motion, CORE_LOW, CORE_HIGH)
    shapes = np.zeros((len(detected), len(FITTED)))
    shapes[det] = shape_params(f_local[:, :n], f_ref, core[det])
    joint = joint_motion(core, _interpolate(shapes, detected))
    offsets = np.full((len(detected), 2, 2), np.nan)
    offsets[det] = iris_offsets(f_local)
    e = {name: 6 + i for i, name in enumerate(CORE_EXPRESSION_NAMES)}
    gaze = gaze_angles(offsets, core[:, [e["blink_right"], e["blink_left"]]])
    return InverseMotion(
        joint.astype(np.float32),
        core.astype(np.float32),
        neutral,
        ref,
        gaze.astype(np.float32),
    )
