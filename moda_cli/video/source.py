"""Video sources: is a file a video (by content, not by name), what it holds, its frames.

A video here is a file with a video stream of more than one frame; a still image (which
ffmpeg also reads as a one-frame video stream) or an audio file with cover art is not.
Frames are decoded as a stream at one constant rate: the stream's average rate, so a
variable-frame-rate recording (a phone's) has its frames repeated or dropped to that rate,
and a constant-rate one comes out frame for frame.

Frames come as RGB, or as yuv420p (``Yuv420Frame``, BT.709 limited range, the encoder's
own format, padded to even sides by repeating the last row or column): a dub changes only
the lower face, so it converts just that box to RGB and back (``rgb_box``) and hands the
rest to the encoder untouched, instead of converting every whole frame twice.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from ..errors import InputError
from ..ffmpeg import (
    MediaInfo,
    count_video_frames,
    ffmpeg_blocks,
    ffmpeg_fill,
    ffmpeg_path_arg,
    probe,
)
from ..machine import small_machine
from .writer import fps_fraction
from .yuv import _YCBCR_ROWS, Yuv420Frame

PixelFormat = Literal["rgb24", "yuv420p"]
# yuv.py's RGB -> (Y, Cb, Cr) rows inverted: (Y, Cb, Cr, 1) -> RGB, for cv2.transform.
_RGB_ROWS = np.hstack(
    [np.linalg.inv(_YCBCR_ROWS[:, :3]), -np.linalg.inv(_YCBCR_ROWS[:, :3]) @ _YCBCR_ROWS[:, 3:]]
)


@dataclass(frozen=True)
class VideoInfo:
    """A video file's frames as ``read_video`` decodes them.

    width, height: displayed size (rotation applied); fps: the constant rate frames are
    decoded at; num_frames: frames in the stream (the header's count; a decode may differ
    by a frame or two for a variable-rate file); has_audio: a sound track is present.
    """

    path: Path
    width: int
    height: int
    fps: Fraction
    num_frames: int
    has_audio: bool

    @property
    def duration_s(self) -> float:
        return self.num_frames / float(self.fps)


def _frames_if_video(info: MediaInfo) -> int:
    """Frames in ``info``'s video stream, 0 when it has none (an audio file, an image)."""
    if not info.has_video or info.width is None or info.height is None:
        return 0
    if info.duration_s is None:  # an image: ffmpeg gives stills no duration
        return 1
    stat = info.path.stat()
    return _counted_frames(info.path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _counted_frames(path: Path, size: int, mtime_ns: int) -> int:
    """``count_video_frames`` once per version of a file (its size and time): a dub's
    video is asked whether it is one, checked by the CLI and by the job, and counting
    reads every packet of the file."""
    return count_video_frames(path)


def is_video(path: str | Path) -> bool:
    """Whether ``path`` holds a video stream of more than one frame (its content decides,
    not its name); False for images, audio files and files ffmpeg cannot read."""
    try:
        return _frames_if_video(probe(path)) > 1
    except InputError:
        return False


def probe_video(path: str | Path) -> VideoInfo:
    """What a video holds; InputError naming the file when it is not a usable video."""
    path = Path(path)
    info = probe(path)  # InputError: missing, or not a media file at all
    frames = _frames_if_video(info)
    if frames == 0:
        what = "an audio file" if info.has_audio else "no video stream"
        raise InputError(f"{what}, not a video", path=path, hint="give a video to dub")
    if frames == 1:
        raise InputError(
            "a still image, not a video",
            path=path,
            hint="use `moda render PORTRAIT AUDIO` to animate a photo",
        )
    assert info.width is not None and info.height is not None  # a video stream has a size
    if info.fps is None or info.fps <= 0:
        if not info.duration_s:
            raise InputError("the video reports neither a frame rate nor a duration", path=path)
        rate = fps_fraction(frames / info.duration_s)
    else:
        rate = fps_fraction(info.fps)
    return VideoInfo(path, info.width, info.height, rate, frames, info.has_audio)


def _decode_args(
    info: VideoInfo, size: tuple[int, int] | None, start: int, pix_fmt: PixelFormat
) -> tuple[list[str], int, int]:
    """ffmpeg's arguments to decode ``info`` from frame ``start`` at ``size`` in
    ``pix_fmt`` to pipe:1, and the frames' width and height (even for yuv420p)."""
    w, h = size or (info.width, info.height)
    rate = f"{info.fps.numerator}/{info.fps.denominator}"
    # One decoding thread on a small machine: the frame threads' own work cost 10% more
    # CPU, and one thread decodes 1080p H.264 at ~190 frames/s, far ahead of the dub.
    args = ["-threads", "1"] if small_machine() else []
    # Seeking a quarter frame early lands on frame ``start`` itself (measured: at the exact
    # time too; a quarter frame late, the constant-rate output repeats the frame before).
    args += ["-ss", f"{(start - 0.25) / info.fps:.6f}"] if start > 0 else []
    args += ["-i", ffmpeg_path_arg(info.path), "-map", "0:v:0", "-fps_mode", "cfr", "-r", rate]
    filters = [f"scale={w}:{h}:flags=area"] if (w, h) != (info.width, info.height) else []
    if pix_fmt == "yuv420p":
        # As the RGB path and the writer see colour: BT.709, limited range (an untagged
        # source read as BT.601, as ffmpeg's RGB conversion reads it); odd sides padded.
        filters.append("scale=out_color_matrix=bt709:out_range=tv:flags=area")
        if w % 2 or h % 2:
            filters.append(
                f"pad={w + w % 2}:{h + h % 2}:0:0,"
                f"fillborders=right={w % 2}:bottom={h % 2}:mode=smear"
            )
            w, h = w + w % 2, h + h % 2
    args += ["-vf", ",".join(filters)] if filters else []
    return [*args, "-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1"], w, h


def read_video(
    info: VideoInfo, size: tuple[int, int] | None = None, start: int = 0
) -> Iterator[np.ndarray]:
    """The video's frames from frame ``start`` on, (H, W, 3) uint8 RGB read-only arrays,
    one at a time, at ``info.fps``; ``size`` = (width, height) rescales.

    Stopping early stops ffmpeg. FFmpegError names the file if decoding fails.
    """
    args, w, h = _decode_args(info, size, start, "rgb24")
    with closing(ffmpeg_blocks(args, w * h * 3, path=info.path)) as blocks:
        for block in blocks:
            if len(block) == w * h * 3:
                yield np.frombuffer(block, np.uint8).reshape(h, w, 3)


def read_yuv(info: VideoInfo, start: int = 0) -> Iterator[Yuv420Frame]:
    """The video's frames from ``start`` on as writable yuv420p frames (a new one each,
    the sides padded to even), at ``info.fps``; ffmpeg writes straight into them."""
    args, w, h = _decode_args(info, None, start, "yuv420p")
    buffers = (np.empty(w * h * 3 // 2, np.uint8) for _ in itertools.count())
    with closing(ffmpeg_fill(args, buffers, path=info.path)) as filled:
        for data in filled:
            yield Yuv420Frame(w, h, data)


def rgb_box(
    frame: Yuv420Frame, x0: int, y0: int, x1: int, y1: int, size: tuple[int, int] | None = None
) -> np.ndarray:
    """(y1 - y0, x1 - x0, 3) uint8 RGB of a box inside ``frame``: chroma repeated over its
    2x2 blocks, so ``Yuv420Frame.put_rgb`` of an unchanged box with even corners gives the
    frame back (to a level of rounding).

    ``size`` (width, height): the box resized to it instead (area when shrinking, else
    bilinear), in YUV before the conversion, so that only its pixels are converted (a
    face tracked in 1080p: a box of 600 px or more for the mesh's 256 px).
    """
    if size is not None:
        shrink = size[0] * size[1] < (x1 - x0) * (y1 - y0)
        how = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        half = (slice(y0 // 2, (y1 + 1) // 2), slice(x0 // 2, (x1 + 1) // 2))
        planes = [frame.y[y0:y1, x0:x1], frame.u[half], frame.v[half]]
        ycbcr = cv2.merge([cv2.resize(c, size, interpolation=how) for c in planes])
        return cv2.transform(ycbcr, _RGB_ROWS)
    ex0, ey0, ex1, ey1 = x0 - x0 % 2, y0 - y0 % 2, x1 + x1 % 2, y1 + y1 % 2
    u = frame.u[ey0 // 2 : ey1 // 2, ex0 // 2 : ex1 // 2]
    v = frame.v[ey0 // 2 : ey1 // 2, ex0 // 2 : ex1 // 2]
    up = [cv2.resize(c, (ex1 - ex0, ey1 - ey0), interpolation=cv2.INTER_NEAREST) for c in (u, v)]
    ycbcr = cv2.merge([np.ascontiguousarray(frame.y[ey0:ey1, ex0:ex1]), *up])
    rgb = cv2.transform(ycbcr, _RGB_ROWS)
    return np.ascontiguousarray(rgb[y0 - ey0 : y1 - ey0, x0 - ex0 : x1 - ex0])


def rgb_at(frame: Yuv420Frame, xy: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 RGB of ``frame`` at the integer pixels ``xy`` (N, 2) inside it."""
    x, y = xy[:, 0], xy[:, 1]
    ycbcr = np.stack([frame.y[y, x], frame.u[y // 2, x // 2], frame.v[y // 2, x // 2]], axis=-1)
    return cv2.transform(ycbcr[None], _RGB_ROWS)[0]


def read_frames_at(info: VideoInfo, indices: np.ndarray, chunk: int = 16) -> Iterator[Yuv420Frame]:
    """Frames ``indices`` as ``read_yuv`` gives them (in any order of forward and backward
    runs of consecutive frames, as a ping-pong extension makes them), decoded as a stream:
    a forward run is one decode, a backward run is decoded ``chunk`` frames at a time from
    a seek and handed out reversed, so at most ``chunk`` frames are held."""
    k = 0
    while k < len(indices):
        step = int(np.sign(indices[k + 1] - indices[k])) if k + 1 < len(indices) else 1
        end = k + 1
        while end < len(indices) and indices[end] - indices[end - 1] == step and step != 0:
            end += 1
        run = indices[k:end]
        if step >= 0:
            yield from itertools.islice(read_yuv(info, start=int(run[0])), len(run))
        else:
            for top in range(0, len(run), chunk):
                part = run[top : top + chunk]  # descending
                frames = list(itertools.islice(read_yuv(info, start=int(part[-1])), len(part)))
                yield from reversed(frames)
        k = end
