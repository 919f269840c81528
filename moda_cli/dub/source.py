"""4. The source read back per shot: which frames can be dubbed (a face large enough,
facing the camera, its mouth not covered), how much of the dub each takes, and its own
motion from its meshes (the face model run backwards, ``facemodel.inverse``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..face import landmarks as lm
from ..face.track import FaceTrackFrames
from ..facemodel.basis import face_frame
from ..facemodel.core import LIP_NAMES, NUM_CORE, core_indices
from ..facemodel.inverse import invert_meshes
from ..motion.smoothing import moving_average
from ..render.dub import ShotMouth, shot_mouth

RAMP_FRAMES = 4  # frames over which the dub fades in and out beside frames without one
MIN_EYE_SPAN_PX = 12.0  # smaller faces pass through untouched
MAX_TURN_DEG = 60.0  # faces turned further from the camera (a profile) pass through
# A shot's lips at least this much redder than its chin (CIELAB a*) can tell a covered
# mouth: one below COVERED_SHARE of that (measured: 9.9-16 on a face with red lips,
# 0.6-7.9 on paler ones, where a hand could not be told from the lips).
CLEAR_REDNESS, COVERED_SHARE = 8.0, 0.3
INVERT_BLOCK = 1800  # frames read back at once (a minute at 30 fps: ~60 MB of float64 meshes)
LIPS = np.array(core_indices(LIP_NAMES))  # the core's mouth channels, all a dub uses


@dataclass
class SourceMotion:
    """4. The source read back, per source frame (T)."""

    track: FaceTrackFrames  # its meshes and shots
    motion: np.ndarray  # (T, 17) its own core motion (NaN without a usable face), lips smoothed
    weight: np.ndarray  # (T,) 0..1 share of the dub each frame takes
    mouths: list[ShotMouth]  # blendshapes per block of a shot with a usable face
    block_of: np.ndarray  # (T,) each frame's block in ``mouths`` (-1: none)
    reference: np.ndarray  # (468, 3) the first block's neutral face (else the first face)


def usable(track: FaceTrackFrames) -> np.ndarray:
    """(T,) bool: a face large enough, turned towards the camera enough, and its mouth
    not covered, to dub."""
    ok = track.found.copy()
    for t in np.flatnonzero(ok):
        pts = track.points[t].astype(np.float64)
        facing = abs(face_frame(lm.pad_iris(pts)).axes[2, 2])  # cos of the turn from the camera
        ok[t] = lm.eye_span(pts) >= MIN_EYE_SPAN_PX and facing >= np.cos(np.radians(MAX_TURN_DEG))
    return ok & ~covered(track)


def covered(track: FaceTrackFrames) -> np.ndarray:
    """(T,) bool: frames whose lips are no redder than the chin, in shots whose lips
    clearly are (median ``lip_redness`` at least CLEAR_REDNESS): a hand, a microphone.
    Pale lips, whose redness is within the mesh's noise, are never called covered."""
    out = np.zeros(len(track), bool)
    for shot in np.unique(track.shots[track.found]):
        frames = np.flatnonzero(track.found & (track.shots == shot))
        typical = float(np.median(track.redness[frames]))
        if typical >= CLEAR_REDNESS:
            out[frames] = track.redness[frames] < COVERED_SHARE * typical
    return out


def ramp(ok: np.ndarray, frames: int = RAMP_FRAMES) -> np.ndarray:
    """(T,) 0..1: 0 where not ``ok``, rising smoothly to 1 over ``frames`` frames away."""
    far = np.full(len(ok), float(frames + 1))
    last = -np.inf
    for t in range(len(ok)):  # distance to the nearest frame that is not ok, both ways
        last = t if not ok[t] else last
        far[t] = min(far[t], t - last)
    last = np.inf
    for t in range(len(ok) - 1, -1, -1):
        last = t if not ok[t] else last
        far[t] = min(far[t], last - t)
    x = np.clip(far / (frames + 1), 0.0, 1.0)
    return x * x * (3 - 2 * x)


def read_source(track: FaceTrackFrames) -> SourceMotion:
    """The source's own motion read back from its meshes per shot (a long shot in blocks
    of INVERT_BLOCK frames, so that the inversion's arrays stay small), and the mouth
    blendshapes built on each block's most neutral face."""
    ok = usable(track)
    motion = np.full((len(track), NUM_CORE), np.nan, np.float32)
    mouths: list[ShotMouth] = []
    block_of = np.full(len(track), -1, np.int32)
    reference = track.points[int(np.argmax(track.found))]
    for shot in np.unique(track.shots[ok]):
        in_shot = np.flatnonzero(ok & (track.shots == shot))
        for start in range(0, len(in_shot), INVERT_BLOCK):
            frames = in_shot[start : start + INVERT_BLOCK]
            inverse = invert_meshes(track.points[frames], np.ones(len(frames), bool))
            motion[frames] = inverse.motion
            # The mesh's jitter would make the replaced mouth twitch: a 3-frame mean.
            motion[np.ix_(frames, LIPS)] = moving_average(inverse.motion[:, LIPS], 3)
            reference = inverse.ref if not mouths else reference
            block_of[frames] = len(mouths)
            mouths.append(shot_mouth(inverse.ref))
    return SourceMotion(track, motion, ramp(ok), mouths, block_of, reference)
