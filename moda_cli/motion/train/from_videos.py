"""Training data from real talking-head videos: the face mesh read back into the joint space.

``moda train --from-videos DIR`` lets users train or fine-tune on their own footage. Each
video becomes one clip in the dataset format of ``train.dataset``, written by its writer
(same shards, same ``load_split``), so the trainer needs no changes:

1. frames -> a MediaPipe mesh per frame at 25 fps (``train.tracking``);
2. meshes -> head pose and ARKit blendshapes, (T, 58) joint rows in ``PARAM_NAMES``
   order: the face model run backwards (``facemodel.inverse``, whose module doc says
   which shapes a mesh can read; the others are 0);
3. audio: ``load_audio`` + ``compute_features``; labels only silence / speech (phonemes
   are unknown); emotion "none" (one-hot mixture weights); identity from the neutral
   frame; per-clip conditions measured from the motion itself, in the units of the
   synthetic data's.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from ...audio.decode import load_audio
from ...audio.features import compute_features
from ...audio.types import Audio
from ...errors import InputError, ModaError, NoFaceFound, UsageError
from ...face.identity import identity_features
from ...facemodel.core import core_index, lower
from ...facemodel.emotions import EMOTION_LABELS, EMOTION_NONE, NO_EMOTION, NUM_EMOTION_CLASSES
from ...facemodel.inverse import InverseMotion, invert_meshes
from ...facemodel.params import PARAM_NAMES, indices
from .. import prior
from ..gaze import GAZE_SHAPES, eye_look
from ..generator import ProgressFn
from ..normalization import blink_count
from . import visemes
from .dataset import (
    FORMAT,
    FORMAT_VERSION,
    Clip,
    DatasetInfo,
    dataset_info,
    write_manifest,
    write_split,
)
from .tracking import FaceTrack, track_faces

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi")
# Part of the dataset hash: bump when extraction changes. 2: eye openings measured like
# face.measure's (lid-pair distances, not their vertical parts) and blinks counted like
# normalization.blink_count's (the more-closed eye, not the mean of both). 3: jaw_open read
# through basis.jaw_for_gap, the inverse of the renderer's lip_gap. 4: joint-space rows
# (T, 58): the shapes of ARKit's vocabulary a mesh can read, fitted (``inverse.FITTED``),
# beside the core's jaw, blinks and press; blinks counted on the eyeBlink columns. 5: gaze
# from the irises (``inverse.read_gaze``) in the eyeLook columns.
EXTRACT_VERSION = 5
MIN_FACE_FRACTION = 0.5  # a clip with faces in fewer frames is rejected
CLIPS_PER_SHARD = 200


# ----------------------------------------------------------------------------- data types


@dataclass
class ExtractedClip:
    """One video in the dataset's terms; every per-frame array has the motion's T rows."""

    path: Path
    motion: np.ndarray  # (T, 58) float32 joint rows (``facemodel.params.PARAM_NAMES``)
    fps: float
    mel: np.ndarray  # (T, 4, 80) float16
    envelope: np.ndarray  # (T,) float32
    labels: np.ndarray  # (T,) int8: 0 silence, 3 speech
    identity: np.ndarray  # (16,) float32
    conditions: dict[str, float]  # head, expression, lips, blink_rate
    detected: np.ndarray  # (T,) bool: False rows were interpolated
    neutral_frame: int

    def to_clip(self) -> Clip:
        meta = {
            "source": self.path.name,
            "seconds": round(len(self.motion) / self.fps, 3),
            "face_fraction": round(float(self.detected.mean()), 3),
            "neutral_frame": self.neutral_frame,
            "emotion": NO_EMOTION,
            **self.conditions,
        }
        return Clip(
            mel=self.mel.astype(np.float16),
            motion=self.motion,
            labels=self.labels,
            envelope=self.envelope.astype(np.float32),
            emotion=np.eye(NUM_EMOTION_CLASSES, dtype=np.float32)[EMOTION_NONE],  # none alone
            identity=self.identity,
            conditions=self.conditions,
            meta=meta,
        )


@dataclass
class VideoDatasetInfo(DatasetInfo):
    """``DatasetInfo`` plus the videos that were left out and why."""

    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)


# ----------------------------------------------------------------------------- 5. conditions


@cache
def _natural_levels() -> dict[str, float]:
    """The synthetic data's levels at condition 1 (fixed seed): a video's are expressed in
    these units."""
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
    brows = nonlip[:, [core_index("brow_raise"), core_index("brow_furrow")]].sum(axis=1).mean()
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
    """head, expression, lips, blink_rate measured from a clip's own (T, 58) joint motion, in
    the synthetic data's units (its brows and jaw read as the core's, ``core.lower``)."""
    ref = _natural_levels()
    core = lower(motion)
    rot_std = motion[:, :3].std(axis=0)
    head = float(np.mean(rot_std / np.array([ref["pitch"], ref["yaw"], ref["roll"]])))
    brows = float(core[:, [core_index("brow_raise"), core_index("brow_furrow")]].sum(axis=1).mean())
    jaw = (
        core[speaking, core_index("jaw_open")]
        if speaking.any()
        else core[:, core_index("jaw_open")]
    )
    onsets = int(blink_count(motion))
    minutes = len(motion) / fps / 60.0
    return {
        "head": round(head, 4),
        "expression": round(brows / ref["brows"], 4),
        "lips": round(float(np.percentile(jaw, 90)) / ref["jaw_p90"], 4),
        "blink_rate": round(onsets / max(minutes, 1e-6), 3),
    }


# ----------------------------------------------------------------------------- one video


def inverse_from_track(track: FaceTrack, path: Path) -> InverseMotion:
    """The track read back by ``facemodel.inverse`` (joint and core rows, the neutral
    frame and its mesh); NoFaceFound if too few frames have a face."""
    found = float(track.detected.mean()) if len(track.detected) else 0.0
    if found < MIN_FACE_FRACTION:
        raise NoFaceFound(
            f"a face was found in {found:.0%} of the frames; at least "
            f"{MIN_FACE_FRACTION:.0%} is needed",
            path=path,
            hint="use footage with one clearly visible face throughout",
        )
    return invert_meshes(track.points, track.detected)


def motion_from_track(track: FaceTrack, path: Path) -> tuple[np.ndarray, int, np.ndarray]:
    """(T, 17) clipped core rows, the neutral frame and its (478, 3) mesh
    (``inverse_from_track``): what ``--pose-from`` reads."""
    inverse = inverse_from_track(track, path)
    return inverse.motion, inverse.neutral, inverse.ref


def joint_rows(inverse: InverseMotion) -> np.ndarray:
    """(T, 58) the rows a video's clip trains on: the joint shapes read from its meshes with
    the gaze read from its irises put into the eyeLook columns (``gaze.eye_look``, the
    generator's own mapping of angles to shapes)."""
    rows = inverse.joint.copy()
    rows[:, indices(GAZE_SHAPES)] = eye_look(inverse.gaze)
    return rows


def extract_motion(video_path: str | Path, fps: float = 25.0) -> ExtractedClip:
    """One talking-head video -> motion, audio features and conditions in the dataset's terms.

    Raises AudioDecodeError (no or silent sound track), NoFaceFound (a face in under half
    the frames), InputError / FFmpegError (unreadable file), each naming the file.
    """
    path = Path(video_path)
    audio: Audio = load_audio(path)  # first: the cheapest way to reject a file
    feats = compute_features(audio, fps)
    track = track_faces(path, fps)
    inverse = inverse_from_track(track, path)
    full, neutral = joint_rows(inverse), inverse.neutral
    num = min(len(full), feats.num_frames)  # video and sound may differ by a frame or two
    if num < 2:
        raise InputError("too short to extract motion from", path=path)
    envelope = feats.envelope[:num]
    speaking = prior.speech_activity(envelope, fps, bridge_s=0.1)
    motion = full[:num]
    return ExtractedClip(
        path=path,
        motion=motion,
        fps=fps,
        mel=feats.mel[:num].astype(np.float16),
        envelope=envelope.astype(np.float32),
        labels=np.where(speaking, visemes.LABEL_SPEECH, visemes.LABEL_SILENCE).astype(np.int8),
        identity=identity_features(inverse.ref),
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
    """A stable choice (by name hash, not by order) of round(fraction * n) files, at least
    one of two or more."""
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
    skipped = [(s["file"], s["reason"]) for s in info.get("skipped", [])]
    return VideoDatasetInfo(**vars(dataset_info(out, info, reused)), skipped=skipped)


def _write_split(out: Path, split: str, clips: list[ExtractedClip]) -> dict:
    converted = [c.to_clip() for c in clips]
    shards = (converted[i : i + CLIPS_PER_SHARD] for i in range(0, len(converted), CLIPS_PER_SHARD))
    return write_split(out, split, shards)


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
        "emotions": list(EMOTION_LABELS),
        "label_names": list(visemes.LABEL_NAMES),
        "splits": splits,
        "skipped": skipped,
        "build_seconds": round(elapsed, 2),
        "clips_per_second": round(len(videos) / max(elapsed, 1e-9), 3),
        "workers": 1,
    }
    write_manifest(out, info)
    return _video_info(out, info, reused=False)
