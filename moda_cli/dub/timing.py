"""The output's time: the source's motion at the motion model's frames, the generated
mouth at the output's frames, and the sound track cut or padded to the output's length
(``--fit``) with the source's sound under it (``--keep-audio mix``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..atomic import temp_path_for
from ..facemodel.core import LIP_NAMES, lower
from ..ffmpeg import ffmpeg_path_arg, probe, run_ffmpeg
from ..motion.generator import GivenMotion
from ..video.source import VideoInfo
from .job import DubJob
from .source import LIPS, SourceMotion

MOTION_FPS = 25.0  # the motion model's own rate: its windows and smoothing assume it
MIX_LEVEL = 0.5  # --keep-audio mix: the original audio at -6 dB under the new one


def given_motion(
    source: SourceMotion, index: np.ndarray, fps: float, num_frames: int
) -> GivenMotion:
    """The source's head, eyes, brows and smile at the motion model's ``num_frames``
    frames, as the output shows them (``index``: source frame per output frame at ``fps``):
    the model samples only the mouth, coherent with them (NaN: sampled)."""
    at = np.minimum(
        np.floor(np.arange(num_frames) * fps / MOTION_FPS + 0.5).astype(int), len(index) - 1
    )
    values = source.motion[index[at]].copy()
    values[:, LIPS] = np.nan
    return GivenMotion(values)


class GeneratedLips:
    """The generated mouth at the output's frames, read from the motion model's chunks
    (MOTION_FPS rows of joint motion, in order, lowered to the core's lips) as they come,
    so rendering starts with the first window; closed after the audio."""

    def __init__(self, chunks: Iterator[np.ndarray], fps: float, audio_s: float) -> None:
        self._chunks, self._fps, self._audio_s = chunks, fps, audio_s
        self._rows: list[np.ndarray] = []  # (n, 5) each: a few bytes a frame, kept
        self._have = 0
        self._done = False

    def at(self, k: int) -> np.ndarray:
        """(5,) LIP_NAMES at output frame ``k``: linear between the two model frames."""
        t = k / self._fps
        if t >= self._audio_s:
            return np.zeros(len(LIP_NAMES), np.float32)
        pos = t * MOTION_FPS
        i = int(pos)
        while self._have < i + 2 and not self._done:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._done = True
                break
            self._rows.append(lower(chunk)[:, LIPS])
            self._have += len(chunk)
        lips = np.concatenate(self._rows) if len(self._rows) > 1 else self._rows[0]
        self._rows = [lips]
        i = min(i, len(lips) - 1)
        j, w = min(i + 1, len(lips) - 1), np.float32(pos - int(pos))
        return ((1 - w) * lips[i] + w * lips[j]).astype(np.float32)


@contextlib.contextmanager
def output_audio(job: DubJob, info: VideoInfo, duration_s: float) -> Iterator[Path]:
    """The sound track to mux: the new audio as it is, or (cut or padded to the video's
    length with ``--fit video``, the source's sound under it with ``--keep-audio mix``) a
    lossless temporary file at the new audio's own sample rate and channel layout."""
    mix = job.keep_audio == "mix" and info.has_audio
    if job.fit == "audio" and not mix:
        yield job.audio
        return
    new = probe(job.audio)
    tmp = temp_path_for(job.output.with_suffix(".flac"))  # hidden, beside the output
    args = ["-y", "-i", ffmpeg_path_arg(job.audio)]
    # Cut, or padded with silence, to the video's length: a finite stream, so amix ends.
    chain = f"[0:a:0]apad=whole_dur={duration_s:.6f},atrim=duration={duration_s:.6f}"
    if mix:
        args += ["-i", ffmpeg_path_arg(job.video)]
        chain += f"[new];[1:a:0]volume={MIX_LEVEL}[old];"
        chain += "[new][old]amix=inputs=2:duration=first:normalize=0"
    args += ["-filter_complex", chain, "-vn", "-sn", "-dn", "-t", f"{duration_s:.6f}"]
    args += ["-ar", str(new.audio_rate), "-ac", str(new.audio_channels)]
    args += ["-c:a", "flac", "-sample_fmt", "s32", ffmpeg_path_arg(tmp)]
    try:
        run_ffmpeg(args, path=job.audio)
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)
