"""Training data from real talking-head videos: the face mesh read back into the joint space.

``moda train --from-videos DIR`` lets users train or fine-tune on their own footage. Each
video becomes one clip in the dataset format of ``train.dataset`` (same shards, same
``load_split``), so the trainer needs no changes. Extraction is the inverse of rendering
(``render.rig`` and ``render.blendshapes``):

1. frames -> MediaPipe mesh per frame (video mode), resampled to 25 fps by nearest frame;
2. the clip's most neutral frame (closest to the median head pose, mouth closed, eyes open)
   is the reference: "the photo" of the renderer's conventions;
3. head pose: a similarity fit of the rigid ``STABLE`` points, reference -> frame, read
   as the rig's rotation about its pivot, then scale about the face centre, then shift;
4. expressions: the pose removed, scalar measurements in the reference's face frame
   (unit = eye-corner distance), turned into coefficients with the per-unit sensitivities
   of the renderer's own blendshapes on this face. jaw_open is absolute (inner-lip gap /
   ``JAW_FULL_GAP``); blinks are relative to the clip's open-eye level; the other
   coefficients are relative to the clip's median, so an expression held through the
   whole clip is not seen;
5. audio: ``load_audio`` + ``compute_features``; labels only silence / speech (phonemes
   are unknown); emotion "none"; identity from the neutral frame; per-clip conditions
   measured from the motion itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from ...audio.decode import load_audio
from ...audio.features import compute_features
from ...audio.types import Audio
from ...errors import InputError, ModaError, NoFaceFound, UsageError
from ...face import landmarks as lm
from ...face.identity import identity_features
from ...face.pose import euler_from_matrix, fit_similarity
from ...presets import EMOTIONS
from ...render.blendshapes import JAW_FULL_GAP, FaceFrame, face_basis, face_frame
from ...video.ffmpeg import count_video_frames, probe
from ...video.writer import read_frames
from .. import prior
from ..params import EXPRESSION_SLICE, HIGH, LOW, PARAM_NAMES, MotionSeq, index
from . import visemes
from .dataset import FORMAT, FORMAT_VERSION, Clip, DatasetInfo, _write_shard

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi")
EXTRACT_VERSION = 1  # part of the dataset hash: bump when extraction changes
MIN_FACE_FRACTION = 0.5  # a clip with faces in fewer frames is rejected
CLIPS_PER_SHARD = 200
MAX_SIDE = 640  # frames are decoded at most this large: the mesh model works at 192 px
EMOTION_NONE = len(EMOTIONS)  # 8
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
ProgressFn = Callable[[int, int], None]  # (videos done, videos total)

# Where the rig turns the head: behind the face and towards the neck (render.rig.HeadRig).
_PIVOT_FACE = np.array([0.0, 0.3, 0.35])


# ----------------------------------------------------------------------------- data types


@dataclass
class FaceTrack:
    """Meshes resampled to ``fps``: points (T, 468, 3) source pixels, NaN where no face."""

    points: np.ndarray
    detected: np.ndarray  # (T,) bool
    fps: float
    source_fps: float


@dataclass
class ExtractedClip:
    """One video in the dataset's terms; every per-frame array has the motion's T rows."""

    path: Path
    motion: MotionSeq  # (T, 17)
    mel: np.ndarray  # (T, 4, 80) float16
    envelope: np.ndarray  # (T,) float32
    labels: np.ndarray  # (T,) int8: 0 silence, 3 speech
    identity: np.ndarray  # (16,) float32
    conditions: dict[str, float]  # head, expression, lips, blink_rate
    detected: np.ndarray  # (T,) bool: False rows were interpolated
    neutral_frame: int
    emotion: int = EMOTION_NONE

    def to_clip(self) -> Clip:
        meta = {
            "source": self.path.name,
            "seconds": round(self.motion.num_frames / self.motion.fps, 3),
            "face_fraction": round(float(self.detected.mean()), 3),
            "neutral_frame": self.neutral_frame,
            "emotion": "none",
            **self.conditions,
        }
        return Clip(
            mel=self.mel.astype(np.float16),
            motion=self.motion.params,
            labels=self.labels,
            envelope=self.envelope.astype(np.float32),
            emotion=self.emotion,
            identity=self.identity,
            conditions=self.conditions,
            meta=meta,
        )


@dataclass
class VideoDatasetInfo(DatasetInfo):
    """``DatasetInfo`` plus the videos that were left out and why."""

    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)


# ----------------------------------------------------------------------------- 1. frames -> meshes


def _frame_size(width: int, height: int) -> tuple[int, int]:
    s = min(1.0, MAX_SIDE / max(width, height))
    return max(2, int(round(width * s / 2)) * 2), max(2, int(round(height * s / 2)) * 2)


def _source_fps(path: Path, reported: float | None, duration_s: float | None) -> float:
    if reported and reported > 0:
        return float(reported)
    if duration_s:  # no rate in the header: count the frames instead of guessing one
        return count_video_frames(path) / duration_s
    raise InputError("the video reports neither a frame rate nor a duration", path=path)


def _resampled(
    frames: Iterator[np.ndarray], source_fps: float, fps: float
) -> Iterator[tuple[int, np.ndarray]]:
    """(source index, frame) for each output frame k: source frame round(k * source_fps / fps)."""
    k = 0
    for i, frame in enumerate(frames):
        while int(np.floor(k * source_fps / fps + 0.5)) == i:
            yield i, frame
            k += 1


def track_faces(video_path: str | Path, fps: float = 25.0) -> FaceTrack:
    """Decode ``video_path`` (at most MAX_SIDE pixels) and run the mesh on every output frame."""
    from ...face.measure import FaceMeter

    path = Path(video_path)
    info = probe(path)
    if not info.has_video or info.width is None or info.height is None:
        raise InputError("no video stream", path=path)
    source_fps = _source_fps(path, info.fps, info.duration_s)
    meter = FaceMeter(static=False)
    points: list[np.ndarray | None] = []
    last: tuple[int, np.ndarray | None] = (-1, None)
    try:
        for i, frame in _resampled(
            read_frames(path, _frame_size(info.width, info.height)), source_fps, fps
        ):
            if i != last[0]:  # a slower source repeats frames: one mesh each
                last = (i, meter.landmarks(frame))
            points.append(last[1])
    finally:
        meter.close()
    out = np.full((len(points), lm.NUM_MESH_POINTS, 3), np.nan, np.float32)
    for t, p in enumerate(points):
        if p is not None:
            out[t] = p[: lm.NUM_MESH_POINTS]
    return FaceTrack(out, np.array([p is not None for p in points], bool), fps, source_fps)


# ----------------------------------------------------------------------------- 2-3. reference and pose


@dataclass
class _PoseFit:
    scale: np.ndarray  # (T,) similarity scale reference -> frame
    rot: np.ndarray  # (T, 3, 3)
    shift: np.ndarray  # (T, 3)


def _fit_poses(points: np.ndarray, detected: np.ndarray, ref: np.ndarray) -> _PoseFit:
    n = len(points)
    fit = _PoseFit(np.ones(n), np.tile(np.eye(3), (n, 1, 1)), np.zeros((n, 3)))
    idx = list(lm.STABLE)
    for t in np.nonzero(detected)[0]:
        s, r, sh = fit_similarity(ref[idx].astype(np.float64), points[t, idx].astype(np.float64))
        fit.scale[t], fit.rot[t], fit.shift[t] = s, r, sh
    return fit


def _eulers(rot: np.ndarray) -> np.ndarray:
    return np.array([euler_from_matrix(r) for r in rot])  # (T, 3) pitch, yaw, roll


def _raw_eye_open(pts: np.ndarray) -> float:
    """Mean lid gap / eye width of both eyes, straight from the 2D mesh."""
    total = 0.0
    for upper, lower, corners in (
        (lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID, lm.LEFT_EYE_CORNERS),
        (lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID, lm.RIGHT_EYE_CORNERS),
    ):
        gap = np.linalg.norm(pts[list(upper[2:5]), :2] - pts[list(lower[2:5]), :2], axis=1).mean()
        total += gap / (np.linalg.norm(pts[corners[0], :2] - pts[corners[1], :2]) + 1e-6)
    return total / 2


def neutral_frame(points: np.ndarray, detected: np.ndarray) -> int:
    """The detected frame closest to the clip's median head pose with the mouth closed and eyes open."""
    frames = np.nonzero(detected)[0]
    angles = _eulers(_fit_poses(points, detected, points[frames[0]]).rot[frames])
    turn = np.abs(angles - np.median(angles, axis=0)).sum(axis=1) / 3.0  # ~1 per 3 degrees
    gap = np.array(
        [
            np.linalg.norm(points[t, 13, :2] - points[t, 14, :2]) / lm.eye_span(points[t])
            for t in frames
        ]
    )
    eyes = np.array([_raw_eye_open(points[t]) for t in frames])
    closed = np.clip(1.0 - eyes / (np.percentile(eyes, 90) + 1e-6), 0.0, 1.0)
    score = turn + gap / 0.05 + closed / 0.2
    return int(frames[np.argmin(score)])


def pose_params(fit: _PoseFit, ref: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """(T, 6) pitch, yaw, roll, tx, ty, scale: the rig's head model solved for each frame.

    The rig moves a point X to  centre + (1 + scale) * (pivot + R (X - pivot) - centre) + T;
    the fit says  s R X + shift,  so scale = s - 1 and T = shift + s R pivot - s pivot + (s - 1) centre.
    """
    centre = ref[list(lm.FACE_OVAL)].astype(np.float64).mean(axis=0)
    pivot = centre + frame.vectors_to_crop(_PIVOT_FACE)
    s = fit.scale[:, None]
    shift = fit.shift + s * np.einsum("tij,j->ti", fit.rot, pivot) - s * pivot + (s - 1.0) * centre
    box_width = float(np.ptp(ref[:, 0]))
    out = np.zeros((len(s), 6))
    out[:, :3] = _eulers(fit.rot)
    out[:, 3:5] = shift[:, :2] / box_width
    out[:, 5] = fit.scale - 1.0
    return out


# ----------------------------------------------------------------------------- 4. expressions

_FEATURES = (
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


def _eye(
    f: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...], corners: tuple[int, int]
) -> np.ndarray:
    gap = (f[..., list(lower[2:5]), 1] - f[..., list(upper[2:5]), 1]).mean(axis=-1)
    return gap / (np.abs(f[..., corners[0], 0] - f[..., corners[1], 0]) + 1e-6)


def face_features(f: np.ndarray) -> np.ndarray:
    """(..., 468, 3) face-frame points (x right, y down, eye-span units) -> (..., 9) _FEATURES."""
    up, lo = lm.INNER_LIP_MID
    mid_y = 0.5 * (f[..., up, 1] + f[..., lo, 1])
    brow_idx = [*lm.RIGHT_BROW, *lm.LEFT_BROW]
    eye_idx = [*lm.RIGHT_EYE, *lm.LEFT_EYE]
    return np.stack(
        [
            f[..., lo, 1] - f[..., up, 1],  # inner-lip gap
            f[..., lm.MOUTH_CORNERS[1], 0] - f[..., lm.MOUTH_CORNERS[0], 0],  # mouth width
            f[..., list(lm.MOUTH_CORNERS), 1].mean(axis=-1) - mid_y,  # corners below the lip centre
            f[..., up, 1] - f[..., 0, 1],  # upper lip thickness at the middle
            f[..., 17, 1] - f[..., lo, 1],  # lower lip thickness
            _eye(f, lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID, lm.LEFT_EYE_CORNERS),
            _eye(f, lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID, lm.RIGHT_EYE_CORNERS),
            f[..., eye_idx, 1].mean(axis=-1)
            - f[..., brow_idx, 1].mean(axis=-1),  # brows above the eyes
            f[..., list(lm.LEFT_BROW_INNER), 0].mean(axis=-1)
            - f[..., list(lm.RIGHT_BROW_INNER), 0].mean(axis=-1),
        ],
        axis=-1,
    )


def sensitivities(f_ref: np.ndarray) -> np.ndarray:
    """(11, 9): change of each feature per unit of each blendshape on this face (the renderer's basis)."""
    basis = face_basis(lm.pad_iris(f_ref))[:, : lm.NUM_MESH_POINTS]  # (11, 468, 3) face units
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
    """(T, 9) features -> (T, 11) coefficients in EXPRESSION order (0..1 before clipping)."""
    e = {n: i for i, n in enumerate(PARAM_NAMES[EXPRESSION_SLICE])}
    c = {n: i for i, n in enumerate(_FEATURES)}
    out = np.zeros((len(feats), len(e)))
    med = np.median(feats, axis=0)
    d = feats - med
    jaw = np.clip(feats[:, c["gap"]] / JAW_FULL_GAP, 0.0, 1.0)
    out[:, e["jaw_open"]] = jaw
    # Jaw opening moves the corners too; take its share out (the basis unit is one eye span of gap).
    d[:, c["corner"]] -= sens[e["jaw_open"], c["corner"]] * JAW_FULL_GAP * (jaw - np.median(jaw))
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


# ----------------------------------------------------------------------------- 5. conditions


@cache
def _natural_levels() -> dict[str, float]:
    """The synthetic data's levels at condition 1 (fixed seed), to express a video's in the same units."""
    fps, n = 25.0, 6000
    rng = np.random.default_rng(0)
    accents = np.arange(5, n, 15)
    nonlip = prior.sample_nonlip_motion(
        n,
        fps,
        rng,
        head=1.0,
        expression=1.0,
        blink_rate=15.0,
        activity=np.ones(n, bool),
        accents=accents,
    )
    rot = nonlip[:, :3].std(axis=0)
    brows = nonlip[:, [index("brow_raise"), index("brow_furrow")]].sum(axis=1).mean()
    # Lips: a plain consonant-vowel stream through the viseme model at amplitude 1.
    cons, vows = "tnskmdlpbfrh", "aəɪeoiuæʌɛ"
    events, t = [], 0.0
    for k in range(400):
        for ipa, dur in ((cons[k % len(cons)], 0.07), (vows[k % len(vows)], 0.11)):
            events.append(visemes.PhonemeEvent(ipa, t, t + dur))
            t += dur
    jaw = visemes.lip_track(events, int(t * fps), fps).curves[:, 0]
    return {
        "pitch": float(rot[0]),
        "yaw": float(rot[1]),
        "roll": float(rot[2]),
        "brows": float(brows),
        "jaw_p90": float(np.percentile(jaw, 90)),
    }


def clip_conditions(motion: np.ndarray, speaking: np.ndarray, fps: float) -> dict[str, float]:
    """head, expression, lips, blink_rate measured from a clip's own motion (synthetic units)."""
    ref = _natural_levels()
    rot_std = motion[:, :3].std(axis=0)
    head = float(np.mean(rot_std / np.array([ref["pitch"], ref["yaw"], ref["roll"]])))
    brows = float(motion[:, [index("brow_raise"), index("brow_furrow")]].sum(axis=1).mean())
    jaw = motion[speaking, index("jaw_open")] if speaking.any() else motion[:, index("jaw_open")]
    blink = motion[:, [index("blink_left"), index("blink_right")]].mean(axis=1) > 0.5
    onsets = int(np.count_nonzero(blink[1:] & ~blink[:-1]) + int(blink[0]))
    minutes = len(motion) / fps / 60.0
    return {
        "head": round(head, 4),
        "expression": round(brows / ref["brows"], 4),
        "lips": round(float(np.percentile(jaw, 90)) / ref["jaw_p90"], 4),
        "blink_rate": round(onsets / max(minutes, 1e-6), 3),
    }


# ----------------------------------------------------------------------------- one video


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


def motion_from_track(track: FaceTrack, path: Path) -> tuple[np.ndarray, int, np.ndarray]:
    """(T, 17) clipped params, the neutral frame and its mesh; NoFaceFound if too few faces."""
    found = float(track.detected.mean()) if len(track.detected) else 0.0
    if found < MIN_FACE_FRACTION:
        raise NoFaceFound(
            f"a face was found in {found:.0%} of the frames; at least "
            f"{MIN_FACE_FRACTION:.0%} is needed",
            path=path,
            hint="use footage with one clearly visible face throughout",
        )
    neutral = neutral_frame(track.points, track.detected)
    ref = track.points[neutral].astype(np.float64)
    frame = face_frame(ref)
    fit = _fit_poses(track.points, track.detected, ref)
    pose = pose_params(fit, ref, frame)
    det = np.nonzero(track.detected)[0]
    # The pose taken out: each frame's mesh mapped back onto the reference's, in face units.
    local = (
        np.einsum(
            "tij,tnj->tni",
            fit.rot[det].transpose(0, 2, 1),
            track.points[det].astype(np.float64) - fit.shift[det, None],
        )
        / fit.scale[det, None, None]
    )
    f_local = frame.to_face(local)
    expr = np.zeros((len(track.detected), 11))
    expr[det] = expression_params(face_features(f_local), sensitivities(frame.to_face(ref)))
    motion = np.concatenate([pose, expr], axis=1)
    motion = _interpolate(motion, track.detected)
    motion[:, :6] = _smooth3(motion[:, :6])
    return np.clip(motion, LOW, HIGH).astype(np.float32), neutral, ref


def extract_motion(video_path: str | Path, fps: float = 25.0) -> ExtractedClip:
    """One talking-head video -> motion, audio features and conditions in the dataset's terms.

    Raises AudioDecodeError (no or silent sound track), NoFaceFound (a face in under half
    the frames), InputError / FFmpegError (unreadable file), each naming the file.
    """
    path = Path(video_path)
    audio: Audio = load_audio(path)  # first: the cheapest way to reject a file
    feats = compute_features(audio, fps)
    track = track_faces(path, fps)
    motion, neutral, ref = motion_from_track(track, path)
    num = min(len(motion), feats.num_frames)  # video and sound may differ by a frame or two
    if num < 2:
        raise InputError("too short to extract motion from", path=path)
    envelope = feats.envelope[:num]
    speaking = prior.speech_activity(envelope, fps, bridge_s=0.1)
    motion = motion[:num]
    return ExtractedClip(
        path=path,
        motion=MotionSeq(motion, fps),
        mel=feats.mel[:num].astype(np.float16),
        envelope=envelope.astype(np.float32),
        labels=np.where(speaking, visemes.LABEL_SPEECH, visemes.LABEL_SILENCE).astype(np.int8),
        identity=identity_features(ref),
        conditions=clip_conditions(motion, speaking, fps),
        detected=track.detected[:num],
        neutral_frame=min(neutral, num - 1),
    )


# ----------------------------------------------------------------------------- a folder


def find_videos(video_dir: str | Path) -> list[Path]:
    """Video files (VIDEO_EXTENSIONS, any case) directly in ``video_dir``, sorted by name."""
    folder = Path(video_dir)
    if not folder.is_dir():
        raise InputError(
            "not a folder of videos",
            path=folder,
            hint=f"give a folder with {', '.join(VIDEO_EXTENSIONS)} files",
        )
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
    )


def _heldout_names(names: list[str], fraction: float) -> set[str]:
    """A stable choice (by name hash, not by order) of round(fraction * n) files, at least one of two or more."""
    if fraction <= 0 or len(names) < 2:
        return set()
    count = min(len(names) - 1, max(1, int(round(fraction * len(names)))))
    ranked = sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())
    return set(ranked[:count])


def _source_hash(videos: list[Path], fps: float, heldout_fraction: float) -> str:
    """Names, sizes and modification times of the inputs plus the extraction version."""
    stats = [(p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in videos]
    text = json.dumps(
        {
            "extract_version": EXTRACT_VERSION,
            "fps": fps,
            "heldout": heldout_fraction,
            "format_version": FORMAT_VERSION,
            "videos": stats,
        }
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _video_info(out: Path, info: dict, reused: bool) -> VideoDatasetInfo:
    sp = info["splits"]
    return VideoDatasetInfo(
        out_dir=out,
        recipe_hash=info["recipe_hash"],
        clips={k: v["clips"] for k, v in sp.items()},
        frames={k: v["frames"] for k, v in sp.items()},
        hours={k: v["hours"] for k, v in sp.items()},
        build_seconds=info["build_seconds"],
        clips_per_second=info["clips_per_second"],
        reused=reused,
        skipped=[(s["file"], s["reason"]) for s in info.get("skipped", [])],
    )


def _write_split(out: Path, split: str, clips: list[ExtractedClip]) -> dict:
    (out / split).mkdir(parents=True, exist_ok=True)
    for old in (out / split).glob("shard_*.npz"):
        old.unlink()
    converted = [c.to_clip() for c in clips]
    shards, frames = [], 0
    for s, first in enumerate(range(0, len(converted), CLIPS_PER_SHARD)):
        name = f"{split}/shard_{s:05d}.npz"
        frames += _write_shard(out / name, converted[first : first + CLIPS_PER_SHARD])
        shards.append(name)
    metas = [c.meta for c in converted]
    (out / split / "clips.json").write_text(json.dumps(metas, ensure_ascii=False, indent=0))
    seconds = sum(m["seconds"] for m in metas)
    return {
        "shards": shards,
        "clips": len(clips),
        "frames": frames,
        "hours": round(seconds / 3600, 4),
    }


def build_from_videos(
    video_dir: str | Path,
    out_dir: str | Path,
    heldout_fraction: float = 0.1,
    progress: ProgressFn | None = None,
    fps: float = 25.0,
    overwrite: bool = False,
) -> VideoDatasetInfo:
    """Extract every video in ``video_dir`` and write the dataset format of ``train.dataset``.

    A video that cannot be used (no sound, no face, unreadable) is skipped and listed in
    the result's ``skipped`` with the reason; the build fails only if none is usable. A
    dataset built from the same files (names, sizes, times) is reused unless ``overwrite``.
    """
    if not 0.0 <= heldout_fraction < 1.0:
        raise UsageError(f"heldout_fraction must be in [0, 1), got {heldout_fraction}")
    videos = find_videos(video_dir)
    if not videos:
        raise InputError(
            f"no videos found (looked for {', '.join(VIDEO_EXTENSIONS)})", path=video_dir
        )
    out = Path(out_dir)
    manifest = out / "dataset.json"
    source_hash = _source_hash(videos, fps, heldout_fraction)
    if manifest.is_file() and not overwrite:
        info = json.loads(manifest.read_text())
        if info.get("recipe_hash") == source_hash:
            return _video_info(out, info, reused=True)
    started = time.perf_counter()
    usable: list[ExtractedClip] = []
    skipped: list[dict[str, str]] = []
    for k, path in enumerate(videos):
        try:
            usable.append(extract_motion(path, fps))
        except ModaError as exc:  # this video is unusable; the others may be fine
            skipped.append({"file": path.name, "reason": str(exc)})
        if progress is not None:
            progress(k + 1, len(videos))
    if not usable:
        reasons = "; ".join(s["reason"] for s in skipped)
        raise InputError(
            f"none of the {len(videos)} videos could be used: {reasons}", path=video_dir
        )
    heldout = _heldout_names([c.path.name for c in usable], heldout_fraction)
    by_split = {
        "train": [c for c in usable if c.path.name not in heldout],
        "heldout": [c for c in usable if c.path.name in heldout],
    }
    out.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)  # a half-written dataset never looks complete
    splits = {split: _write_split(out, split, clips) for split, clips in by_split.items()}
    elapsed = time.perf_counter() - started
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "source": "videos",
        "recipe": {
            "video_dir": str(Path(video_dir).resolve()),
            "extract_version": EXTRACT_VERSION,
            "fps": fps,
            "heldout_fraction": heldout_fraction,
        },
        "recipe_hash": source_hash,
        "fps": fps,
        "param_names": list(PARAM_NAMES),
        "emotions": [*EMOTIONS, "none"],
        "label_names": list(visemes.LABEL_NAMES),
        "splits": splits,
        "skipped": skipped,
        "build_seconds": round(elapsed, 2),
        "clips_per_second": round(len(videos) / max(elapsed, 1e-9), 3),
        "workers": 1,
    }
    tmp = manifest.with_name("dataset.moda-tmp.json")
    tmp.write_text(json.dumps(info, indent=1, ensure_ascii=False))
    os.replace(tmp, manifest)
    return _video_info(out, info, reused=False)
