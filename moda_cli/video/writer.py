"""Stream rendered frames into one ffmpeg process.

Frames go to ffmpeg as they are rendered (never the whole clip in memory) through a small
bounded queue and a feeder thread, so the encoder works while the next frames render. The
feeder converts them to yuv420p (``yuv.Yuv420Frame``), only the changed part when the
caller hands over a region of the frame. Codecs and container are the output format's
(``formats.py``, ``video.format``). The output appears under its name only when ffmpeg
succeeded and the format's check reads the file back whole (a full disk can end a file
early with ffmpeg still exiting 0): it is written to a hidden temp file beside it and
``os.replace``d, and any failure or Ctrl-C deletes the temp file.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import IO

import numpy as np

from ..atomic import temp_path_for
from ..errors import FFmpegError, InputError, OutputError, output_error
from ..ffmpeg import ffmpeg_exe, ffmpeg_path_arg
from .formats import OUTPUT_FORMATS
from .settings import VideoSettings
from .yuv import Yuv420Frame

_NTSC = {29.97: Fraction(30000, 1001), 23.976: Fraction(24000, 1001), 59.94: Fraction(60000, 1001)}
_DONE = None  # queue sentinel: no more frames
Origin = tuple[int, int]  # (x, y) of a region's top-left pixel in the frame
_Item = tuple[np.ndarray | Yuv420Frame, Origin | None]  # an RGB frame or region, or a yuv one


def fps_fraction(fps: float) -> Fraction:
    """An exact rate for ffmpeg: 25 -> 25/1, 29.97 -> 30000/1001 (what 29.97 means in video)."""
    for approx, exact in _NTSC.items():
        if abs(fps - approx) < 1e-3:
            return exact
    return Fraction(fps).limit_denominator(1001)


def check_output(output: Path) -> None:
    """Fail fast, before any work, on an output that could never be written: a folder in
    its place, or an existing folder that takes no files (read-only, no permission)."""
    if output.is_dir():
        raise OutputError("a folder is in the way, expected a video file", path=output)
    folder = output.parent
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        cause = "the file system is read-only" if read_only else "permission denied"
        raise OutputError(f"cannot write: {cause}", path=output)


def _pad_even(frame: np.ndarray) -> np.ndarray:
    """yuv420p needs even sides: replicate the last row/column instead of adding a black line."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _checked_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {frame.shape} {frame.dtype}")
    return frame


def _read_tail(fh: IO[bytes], limit: int = 8000) -> str:
    fh.seek(0, os.SEEK_END)
    fh.seek(max(0, fh.tell() - limit))
    return fh.read().decode("utf-8", errors="replace")


class VideoWriter:
    """Encode RGB uint8 frames (H, W, 3) in ``output``, in ``settings.format``.

    Use as a context manager; ``write`` each frame as it is rendered: a whole frame, or
    only the region that differs from ``background`` (an (H, W, 3) frame given once).
    ffmpeg starts at the first frame (which fixes the size); the audio file, if given, is
    muxed in whole, so the caller writes ``num_video_frames(duration, fps)`` frames for the
    two to agree within one frame. ``expected_frames``, if given, is checked at close: a
    short clip is an error, not a silently truncated video.

    Frames with an odd side are padded to even (yuv420p needs it) and so encoded, one row
    or column larger, unless ``crop_to`` (width, height) names the size to keep: ffmpeg
    then crops the padding off before the format's encoder, which holds odd sides.
    """

    def __init__(
        self,
        output: str | Path,
        *,
        settings: VideoSettings | None = None,
        audio: str | Path | None = None,
        expected_frames: int | None = None,
        queue_frames: int = 4,
        background: np.ndarray | None = None,
        crop_to: tuple[int, int] | None = None,
    ):
        self.output = Path(output)
        self.settings = settings or VideoSettings()
        self.format = OUTPUT_FORMATS.get(self.settings.format)
        self.audio = Path(audio) if audio is not None else None
        self.expected_frames = expected_frames
        self.frames_written = 0
        self.size: tuple[int, int] | None = None  # (width, height) of the frames given
        self._tmp = temp_path_for(self.output)
        self.crop_to = crop_to
        self.background = None if background is None else _checked_rgb(background)
        if self.background is not None:
            self.size = (self.background.shape[1], self.background.shape[0])
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=max(1, queue_frames))
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._cmd: list[str] = []
        self._feed_error: BaseException | None = None
        self._closed = False
        self.cpu_seconds = 0.0  # after close: the feeder thread's and ffmpeg's CPU time
        self.encoder_cpu_seconds = 0.0  # of which ffmpeg's (the encoder's)
        if self.audio is not None and not self.audio.is_file():
            raise InputError("audio file not found", path=self.audio)
        check_output(self.output)  # found now, not when the finished video is renamed

    # -- ffmpeg command -------------------------------------------------------------
    def command(self, width: int, height: int) -> list[str]:
        """The ffmpeg argument list for frames of ``width`` x ``height`` (already even)."""
        s = self.settings
        rate = fps_fraction(s.fps)
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        # Frames arrive already in the encoder's format (yuv.py converts them as BT.709,
        # limited range), so ffmpeg does no per-frame conversion; the tags tell players.
        # Declared on the input too: untagged input would be converted to the output's tags.
        color = [
            "-colorspace",
            "bt709",
            "-color_primaries",
            "bt709",
            "-color_trc",
            "bt709",
            "-color_range",
            "tv",
        ]
        cmd += ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", *color]
        cmd += ["-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0"]
        if self.audio is not None:
            cmd += ["-i", ffmpeg_path_arg(self.audio), "-map", "0:v:0", "-map", "1:a:0"]
        cmd += color
        size = self.crop_to or (width, height)
        if size != (width, height):
            cmd += ["-vf", f"crop={size[0]}:{size[1]}:0:0:exact=1"]  # exact: odd sides kept
        cmd += self.format.output_args(s, size, audio=self.audio is not None)
        return [*cmd, ffmpeg_path_arg(self._tmp)]

    def _start(self, width: int, height: int) -> None:
        try:
            # Creating the temp file here turns a read-only or forbidden folder into one
            # clear error instead of ffmpeg's.
            self.output.parent.mkdir(parents=True, exist_ok=True)
            self._tmp.touch()
        except OSError as exc:
            raise output_error(exc, self.output) from None
        # A file, not a pipe: ffmpeg can never block on it. Closed in _cleanup.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._cmd = cmd = self.command(width, height)
        # Its own session: Ctrl-C reaches only Python, which then kills ffmpeg and cleans up.
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=(os.name == "posix"),
        )
        self._thread = threading.Thread(
            target=self._feed, args=(width, height), name="moda-video-writer", daemon=True
        )
        self._thread.start()

    def _feed(self, width: int, height: int) -> None:
        """Feeder thread: queue -> yuv420p -> ffmpeg stdin. After an error it keeps draining,
        so ``write`` never blocks.

        ``frame`` is what ffmpeg receives; ``base`` is the background, so that a region
        write only converts the region (and restores the background first when the
        region moved or a whole frame came in between).
        """
        assert self._proc is not None and self._proc.stdin is not None
        start = time.thread_time()
        frame, base = Yuv420Frame(width, height), Yuv420Frame(width, height)
        if self.background is not None:
            base.put_rgb(_pad_even(self.background))
        frame.copy_from(base)
        dirty: tuple[int, int, int, int] | None = None  # region of `frame` that differs from `base`
        while (item := self._queue.get()) is not _DONE:
            if self._feed_error is not None:
                continue
            rgb, origin = item
            try:
                if isinstance(rgb, Yuv420Frame):  # already the encoder's: sent as it is
                    self._proc.stdin.write(rgb.data)  # type: ignore[call-overload]
                    continue
                if origin is None:
                    frame.put_rgb(rgb)
                    dirty = (0, 0, width, height)
                else:
                    box = (*origin, rgb.shape[1], rgb.shape[0])
                    if dirty is not None and dirty != box:
                        frame.copy_from(base)
                    frame.put_rgb(rgb, *origin)
                    dirty = box
                # an ndarray is a buffer; numpy 1.26's stubs miss it
                self._proc.stdin.write(frame.data)  # type: ignore[call-overload]
            except (OSError, ValueError) as exc:  # broken pipe: ffmpeg died
                self._feed_error = exc
        try:
            self._proc.stdin.close()
        except OSError as exc:
            self._feed_error = self._feed_error or exc
        self.cpu_seconds += time.thread_time() - start

    # -- public ---------------------------------------------------------------------
    def write(self, frame: np.ndarray, *, origin: Origin | None = None, copy: bool = True) -> None:
        """Queue one (H, W, 3) uint8 RGB frame; blocks while the small queue is full.

        origin: None for a whole frame. (x, y) makes ``frame`` a region at that pixel, the
        rest of the frame being ``background``. x and y must be even, and so must the
        region's sides unless the region ends at the frame's edge.

        The frame waits in the queue while the caller renders the next ones, so it is
        copied unless ``copy=False``: a caller that never changes a frame after handing it
        over (a new array per frame) saves a copy, 6 MB for a whole 1080p frame.
        """
        if self._closed:
            raise RuntimeError("VideoWriter is closed")
        h, w = _checked_rgb(frame).shape[:2]
        if origin is None:
            if self.size is None:
                self.size = (w, h)
            elif self.size != (w, h):
                fw, fh = self.size
                raise ValueError(
                    f"frame {self.frames_written} is {w}x{h}, earlier frames were {fw}x{fh}"
                )
        else:
            self._check_region(w, h, origin)
        # A copy: renderers may reuse their output buffer while this frame waits in the queue.
        frame = _pad_even(frame)
        frame = np.array(frame, order="C", copy=True) if copy else np.ascontiguousarray(frame)
        self._enqueue(frame, origin)

    def write_yuv(self, frame: Yuv420Frame) -> None:
        """Queue one frame already in yuv420p (BT.709, limited range: sent to ffmpeg as it
        is, nothing converted), handed over: the caller must not change it afterwards.
        Its sides are the encoded size (even); a dub's frames come decoded this way."""
        if self._closed:
            raise RuntimeError("VideoWriter is closed")
        size = (frame.width, frame.height)
        if self.size is None:
            self.size = size
        elif (self.size[0] + self.size[0] % 2, self.size[1] + self.size[1] % 2) != size:
            raise ValueError(f"frame {self.frames_written} is {size}, earlier were {self.size}")
        self._enqueue(frame, None)

    def _enqueue(self, frame: np.ndarray | Yuv420Frame, origin: Origin | None) -> None:
        if self._proc is None:
            assert self.size is not None  # set by the first frame, or by the background
            fw, fh = self.size
            self._start(fw + fw % 2, fh + fh % 2)
        if self._feed_error is not None:
            self._fail("ffmpeg stopped accepting frames")
        self._queue.put((frame, origin))
        self.frames_written += 1

    def _check_region(self, w: int, h: int, origin: Origin) -> None:
        if self.size is None:
            raise ValueError(
                "a region needs a background to sit in: pass background= to VideoWriter"
            )
        x, y = origin
        fw, fh = self.size
        if x < 0 or y < 0 or x + w > fw or y + h > fh:
            raise ValueError(f"region {w}x{h} at ({x}, {y}) is outside the {fw}x{fh} frame")
        if x % 2 or y % 2 or (w % 2 and x + w != fw) or (h % 2 and y + h != fh):
            raise ValueError(f"region {w}x{h} at ({x}, {y}): yuv420p needs even origins and sides")

    def close(self) -> Path:
        """Finish encoding and move the file into place; returns the output path."""
        if self._closed:
            return self.output
        if self._proc is None:
            self.abort()
            raise ValueError(f"no frames were written to {self.output}")
        if self.expected_frames is not None and self.frames_written != self.expected_frames:
            self.abort()
            written, expected = self.frames_written, self.expected_frames
            raise ValueError(f"{self.output}: {written} frames written, {expected} expected")
        self._queue.put(_DONE)
        assert self._thread is not None
        self._thread.join()
        code = self._wait_for_ffmpeg()
        if code != 0 or self._feed_error is not None:
            self._fail(f"ffmpeg exited with status {code}")
        try:
            self.format.verify(
                self._tmp,
                frames=self.frames_written,
                audio=self.audio is not None,
                name=self.output,
            )
            os.replace(self._tmp, self.output)
        except OSError as exc:
            self.abort()
            raise output_error(exc, self.output) from None
        except BaseException:
            self.abort()
            raise
        self._cleanup()
        return self.output

    def _wait_for_ffmpeg(self) -> int:
        """ffmpeg's exit status; its CPU time goes to ``cpu_seconds`` where the OS reports it."""
        assert self._proc is not None
        if not hasattr(os, "wait4"):
            return self._proc.wait()
        _, status, usage = os.wait4(self._proc.pid, 0)
        self._proc.returncode = os.waitstatus_to_exitcode(status)
        self.encoder_cpu_seconds = usage.ru_utime + usage.ru_stime
        self.cpu_seconds += self.encoder_cpu_seconds
        return self._proc.returncode

    def abort(self) -> None:
        """Kill ffmpeg and delete the temp file; the output path is left untouched."""
        if self._closed:
            return
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_DONE)  # the feeder drains whatever is queued, then exits
            self._thread.join(timeout=5)
        with contextlib.suppress(OSError):  # e.g. a read-only folder, where it never existed
            self._tmp.unlink(missing_ok=True)
        self._cleanup()

    def _fail(self, message: str) -> None:
        assert self._stderr is not None and self._proc is not None
        stderr = _read_tail(self._stderr)
        self.abort()
        raise FFmpegError(message, cmd=self._cmd, stderr=stderr, path=self.output)

    def _cleanup(self) -> None:
        self._closed = True
        if self._stderr is not None:
            self._stderr.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Any exception, KeyboardInterrupt included, leaves no partial output behind.
        if exc_type is None:
            self.close()
        else:
            self.abort()
