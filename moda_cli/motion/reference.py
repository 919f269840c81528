"""A pose reference: head pose, blinks and brows read from a video (``--pose-from``).

The reference's motion is read with the face mesh exactly as ``moda train --from-videos``
reads training videos (``train.tracking``: a mesh per frame at the output's frame rate;
``facemodel.inverse``: head pose by a similarity fit against the head rig, blinks and
brows by inverting the blendshapes), relative to the reference's own most neutral frame,
which plays the part of the photo. Only the channels ``REFERENCE_NAMES`` are given to the
generator (``GivenMotion``); it samples the mouth from the audio, coherent with them.
Both lids take the more closed eye's closure: people blink with both eyes, and a turned
head hides one eye from the mesh, which then reads it as open (a wink on the portrait).

Time: frame k of the output is frame k of the reference, both at the output's fps. A
reference shorter than the audio plays forward, then backward, then forward again
(ping-pong: the head never jumps back to the start); a longer one is cut at the audio's
end.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import InputError, NoFaceFound
from ..facemodel.core import BLINK_NAMES, BROW_NAMES, NUM_CORE, core_indices
from .generator import GivenMotion, MotionRequest
from .settings import MotionSettings

REFERENCE_NAMES = ("pitch", "yaw", "roll", "tx", "ty", "scale", *BLINK_NAMES, *BROW_NAMES)
_REFERENCE_COLS = core_indices(REFERENCE_NAMES)
_BLINK_COLS = core_indices(BLINK_NAMES)
HINT = "give --pose-from a video with one clearly visible face throughout"


def with_reference(motion: MotionSettings, video: str | Path) -> MotionSettings:
    """``motion`` driven by ``video`` (``pose_from``), after the fast check that it is a
    readable video. Whether it shows a face is known once it is read (NoFaceFound, when
    the job runs)."""
    from ..video.source import probe_video

    try:
        probe_video(video)
    except InputError as exc:
        raise InputError(f"pose reference: {exc.args[0]}", path=video, hint=HINT) from None
    return motion.model_copy(update={"pose_from": str(video)})


def ping_pong(count: int, length: int) -> np.ndarray:
    """(count,) indices into ``length`` frames: 0 .. length-1, then back, and so on.

    The turning frames are not repeated (..., n-2, n-1, n-2, ...), so the motion's speed
    only changes sign there.
    """
    if length == 1:
        return np.zeros(count, np.int64)
    period = 2 * (length - 1)
    k = np.arange(count) % period
    return np.where(k < length, k, period - k)


@lru_cache(maxsize=4)
def _reference_motion(path: Path, fps: float, _stamp: tuple[int, int]) -> np.ndarray:
    """(T, 17) core motion of the video at ``fps`` (read-only); cached by path, size and time,
    since a batch may drive many portraits with one reference."""
    # Imported here: the mesh and its models load only for a job that has a reference.
    from .train.from_videos import motion_from_track
    from .train.tracking import track_faces

    try:
        motion = motion_from_track(track_faces(path, fps), path)[0]
    except NoFaceFound as exc:
        raise NoFaceFound(f"pose reference: {exc.args[0]}", path=path, hint=HINT) from None
    motion.setflags(write=False)
    return motion


def reference_motion(video: str | Path, fps: float, num_frames: int) -> GivenMotion:
    """The pose, blinks and brows of ``video`` for ``num_frames`` output frames at ``fps``.

    Raises NoFaceFound (a face in under half of the reference's frames), InputError or
    FFmpegError (an unreadable file), each naming the reference.
    """
    path = Path(video).resolve()
    stat = os.stat(path)
    motion = _reference_motion(path, float(fps), (stat.st_size, stat.st_mtime_ns))
    rows = motion[ping_pong(num_frames, len(motion))]
    values = np.full((num_frames, NUM_CORE), np.nan, np.float32)
    values[:, _REFERENCE_COLS] = rows[:, _REFERENCE_COLS]
    values[:, _BLINK_COLS] = rows[:, _BLINK_COLS].max(axis=1, keepdims=True)
    return GivenMotion(values)


def request_given(request: MotionRequest) -> GivenMotion | None:
    """The channels a request gives: its own ``given``, else its settings' ``pose_from``
    reference read for its frames; None when it gives none."""
    given = request.given
    pose_from = request.settings.pose_from
    if given is None and pose_from is not None:
        feats = request.features
        given = reference_motion(pose_from, feats.fps, feats.num_frames)
    if given is None or not given.mask.any():
        return None
    return given
