"""ffmpeg plumbing for every stage: find the binary, run it with argument lists, read
what a media file holds, decode a video's frames. Audio decoding, the video writer, qc
and the training tools all come here; it imports no stage of moda.

There is no ffprobe on our machines (the pip-installed imageio-ffmpeg wheel ships only
ffmpeg), so ``probe`` parses the stream summary ``ffmpeg -i FILE`` prints to stderr.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from .errors import (
    ConfigError,
    FFmpegError,
    InputError,
    MissingDependency,
    OutputError,
    missing_file_error,
    output_error,
)

_REMEDY = "pip install imageio-ffmpeg, install ffmpeg on PATH, or set MODA_FFMPEG=/path/to/ffmpeg"


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: $MODA_FFMPEG, else ``ffmpeg`` on PATH, else imageio-ffmpeg's."""
    if env := os.environ.get("MODA_FFMPEG"):
        # An explicit choice that does not work is a configuration error (exit 2), never
        # a silent fallback.
        found = shutil.which(env)
        if found is None:
            raise ConfigError(f"MODA_FFMPEG={env!r} is not an executable file", hint=_REMEDY)
        return found
    if found := shutil.which("ffmpeg"):
        return found
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        raise MissingDependency("ffmpeg was not found", hint=_REMEDY) from None


def ffmpeg_path_arg(path: str | Path) -> str:
    """A file name ffmpeg cannot mistake for an option (``-x.wav``) or a protocol (``http:x``)."""
    return "file:" + os.path.abspath(os.fspath(path))


def _base_cmd() -> list[str]:
    return [ffmpeg_exe(), "-hide_banner", "-nostdin"]


def run_ffmpeg(
    args: list[str], *, input: bytes | None = None, path: str | Path | None = None
) -> bytes:
    """Run ``ffmpeg -hide_banner -nostdin -loglevel error ARGS``; return its stdout.

    ``path`` names the file the error is about. Raises FFmpegError with stderr's tail.
    """
    cmd = [*_base_cmd(), "-loglevel", "error", *args]
    try:
        proc = subprocess.run(cmd, input=input, capture_output=True, check=False)
    except OSError as exc:
        raise MissingDependency(f"cannot run {cmd[0]}: {exc}", hint=_REMEDY) from None
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", errors="replace")
        raise FFmpegError(
            f"ffmpeg exited with status {proc.returncode}", cmd=cmd, stderr=stderr, path=path
        )
    return proc.stdout


@contextmanager
def _ffmpeg_stdout(args: list[str], path: str | Path | None) -> Iterator[IO[bytes]]:
    """``ffmpeg ... ARGS`` (writing to pipe:1) running; its stdout to read. Leaving early
    (the reader stopped, an error) kills ffmpeg; FFmpegError with stderr's tail if it
    failed."""
    cmd = [*_base_cmd(), "-loglevel", "error", *args]
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL
            )
        except OSError as exc:
            raise MissingDependency(f"cannot run {cmd[0]}: {exc}", hint=_REMEDY) from None
        assert proc.stdout is not None
        finished = False
        try:
            yield proc.stdout
            finished = True
        finally:
            if not finished:  # the caller stopped early, or an error: do not leave ffmpeg running
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            err.seek(0)
            stderr = err.read()[-8000:].decode("utf-8", errors="replace")
            raise FFmpegError(
                f"ffmpeg exited with status {code}", cmd=cmd, stderr=stderr, path=path
            )


def ffmpeg_blocks(
    args: list[str], block_size: int, *, path: str | Path | None = None
) -> Generator[bytes, None, None]:
    """Run ``ffmpeg ... ARGS`` (writing to pipe:1) and yield its stdout in ``block_size`` pieces.

    Every piece is exactly ``block_size`` bytes except perhaps the last, so a caller can
    consume frames or samples as they come instead of holding the whole output (a
    10-minute recording is 38 MB of float samples; ``run_ffmpeg`` would hold it twice).
    Stopping early kills ffmpeg. Raises FFmpegError with stderr's tail if ffmpeg fails.
    """
    with _ffmpeg_stdout(args, path) as out:
        while block := out.read(block_size):
            yield block


def ffmpeg_fill(
    args: list[str], buffers: Iterator[np.ndarray], *, path: str | Path | None = None
) -> Generator[np.ndarray, None, None]:
    """Run ``ffmpeg ... ARGS`` (writing to pipe:1) and fill each of ``buffers`` (uint8,
    contiguous) from its stdout in turn, yielding it once full; a short last piece is
    dropped. Reading straight into the caller's arrays saves ``ffmpeg_blocks``' bytes
    object and the copy out of it (a 3 MB frame at 1080p). Stopping early kills ffmpeg."""
    with _ffmpeg_stdout(args, path) as out:
        for buffer in buffers:
            view = memoryview(buffer).cast("B")  # type: ignore[arg-type]  # numpy 1.26's stubs
            got = 0
            while got < len(view) and (n := out.readinto(view[got:])):  # type: ignore[attr-defined]
                got += n
            if got < len(view):
                return
            yield buffer


@dataclass
class MediaInfo:
    """What ``ffmpeg -i`` reports about a file's first video and first audio stream.

    Fields of an absent stream are None; ``duration_s`` is None where the container has
    none (raw streams). width/height are the displayed size (rotation applied).
    """

    path: Path
    duration_s: float | None
    has_video: bool
    has_audio: bool
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    pix_fmt: str | None = None
    audio_codec: str | None = None
    audio_rate: int | None = None
    audio_channels: int | None = None


_STREAM_RE = re.compile(r"^\s*Stream #\d+:\d+\S*: (Video|Audio): (.*)$")
_DURATION_RE = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_ROTATION_RE = re.compile(r"(?:rotation of|rotate\s*:)\s*(-?[\d.]+)")
_NAMED_LAYOUTS = {"mono": 1, "stereo": 2, "quad": 4, "hexagonal": 6, "octagonal": 8, "downmix": 2}


def _split_top(text: str) -> list[str]:
    """Split a stream summary on commas outside parentheses: ``yuv420p(tv, bt709)`` stays whole."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        depth += (ch in "([") - (ch in ")]")
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return parts


def _channels(layout: str) -> int | None:
    layout = layout.split("(")[0].strip()
    if m := re.fullmatch(r"(\d+) channels", layout):
        return int(m.group(1))
    if m := re.fullmatch(r"(\d+)\.(\d+)", layout):  # "5.1" -> 6 channels
        return int(m.group(1)) + int(m.group(2))
    return _NAMED_LAYOUTS.get(layout)


def _parse_video(info: MediaInfo, parts: list[str]) -> None:
    info.has_video = True
    info.video_codec = parts[0].split()[0]
    for part in parts[1:]:
        if info.width is None and (m := re.match(r"(\d+)x(\d+)", part)):
            info.width, info.height = int(m.group(1)), int(m.group(2))
        elif (
            info.pix_fmt is None
            and info.width is None
            and re.fullmatch(r"[a-z0-9_]+(\(.*\))?", part)
        ):
            info.pix_fmt = part.split("(")[0]
        elif m := re.fullmatch(r"([\d.]+)(k?) (fps|tbr)", part):
            rate = float(m.group(1)) * (1000 if m.group(2) else 1)
            if m.group(3) == "fps" or info.fps is None:
                info.fps = rate


def _parse_audio(info: MediaInfo, parts: list[str]) -> None:
    info.has_audio = True
    info.audio_codec = parts[0].split()[0]
    for part in parts[1:]:
        if m := re.fullmatch(r"(\d+) Hz", part):
            info.audio_rate = int(m.group(1))
        elif info.audio_channels is None and (n := _channels(part)) is not None:
            info.audio_channels = n


def parse_probe(path: Path, stderr: str) -> MediaInfo:
    """Read a MediaInfo out of the text ``ffmpeg -i`` prints (the first input only)."""
    info = MediaInfo(path=path, duration_s=None, has_video=False, has_audio=False)
    if m := _DURATION_RE.search(stderr):
        h, mnt, s = m.groups()
        info.duration_s = int(h) * 3600 + int(mnt) * 60 + float(s)
    in_video = False
    for line in stderr.splitlines():
        m = _STREAM_RE.match(line)
        if m is None:
            # A display matrix belongs to the video stream listed just above it.
            if (
                in_video
                and (r := _ROTATION_RE.search(line))
                and round(abs(float(r.group(1)))) % 180 == 90
            ):
                info.width, info.height = info.height, info.width
                in_video = False
            continue
        kind, rest = m.groups()
        in_video = False
        # Cover art in mp3/m4a shows up as a one-picture video stream: not a video.
        if kind == "Video" and not info.has_video and "(attached pic)" not in rest:
            _parse_video(info, _split_top(rest))
            in_video = True
        elif kind == "Audio" and not info.has_audio:
            _parse_audio(info, _split_top(rest))
    return info


def probe(path: str | Path) -> MediaInfo:
    """Streams and duration of a media file, without decoding it.

    Raises InputError naming the file when it is missing or ffmpeg cannot read it.
    """
    path = Path(path)
    if not path.is_file():
        raise missing_file_error("media", path)
    cmd = [*_base_cmd(), "-i", ffmpeg_path_arg(path)]
    try:
        # Without an output ffmpeg exits 1 after printing the input summary: expected.
        proc = subprocess.run(cmd, capture_output=True, check=False, timeout=60)
    except OSError as exc:
        raise MissingDependency(f"cannot run {cmd[0]}: {exc}", hint=_REMEDY) from None
    except subprocess.TimeoutExpired:
        # A FIFO or a stalled network mount: reading a header never takes this long.
        raise InputError("ffmpeg could not read the header within 60 s", path=path) from None
    stderr = proc.stderr.decode("utf-8", errors="replace")
    if "Input #0" not in stderr:
        lines = stderr.strip().splitlines()
        cause = lines[-1] if lines else "no output from ffmpeg"
        cause = cause.replace(ffmpeg_path_arg(path), "").strip(" :")
        raise InputError(f"not a readable media file ({cause})", path=path)
    return parse_probe(path, stderr)


def _copy_to_null(path: str | Path) -> tuple[list[str], subprocess.CompletedProcess[bytes], str]:
    """``ffmpeg -i FILE -map 0:v:0 -c copy -f null -``: reads every video packet, decodes none."""
    args = ["-i", ffmpeg_path_arg(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"]
    cmd = [*_base_cmd(), "-loglevel", "info", "-nostats", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, check=False)
    except OSError as exc:
        raise MissingDependency(f"cannot run {cmd[0]}: {exc}", hint=_REMEDY) from None
    return cmd, proc, proc.stderr.decode("utf-8", errors="replace")


def _frame_count(stderr: str) -> int | None:
    counts = re.findall(r"frame=\s*(\d+)", stderr)
    return int(counts[-1]) if counts else None


def count_video_frames(path: str | Path) -> int:
    """Number of video frames in a file, counted by copying packets to the null muxer (fast)."""
    cmd, proc, stderr = _copy_to_null(path)
    if proc.returncode != 0:
        raise FFmpegError("cannot count video frames", cmd=cmd, stderr=stderr, path=path)
    if (count := _frame_count(stderr)) is None:
        raise FFmpegError("ffmpeg reported no frame count", cmd=cmd, stderr=stderr, path=path)
    return count


def verify_video(path: Path, *, frames: int, audio: bool, name: Path | None = None) -> None:
    """Check a video just written, before it gets its final name ``name``.

    ffmpeg can exit 0 without a complete file (a disk that filled at the last write), so
    the file must be non-empty, read back with a video stream (and an audio one if
    ``audio``) and hold ``frames`` frames. One packet-copying ffmpeg run, no decoding:
    tens of milliseconds. Raises OutputError naming ``name``.
    """
    shown = name or path
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise output_error(exc, shown, "cannot check the written video") from None
    _, proc, stderr = _copy_to_null(path)
    info = parse_probe(path, stderr) if "Input #0" in stderr else None
    got = _frame_count(stderr) if proc.returncode == 0 else None
    problem = None
    if size == 0:
        problem = "the file is empty"
    elif info is None or got is None:
        lines = stderr.strip().splitlines()
        problem = (
            f"it does not read back ({lines[-1].strip() if lines else 'no output from ffmpeg'})"
        )
    elif not info.has_video or (audio and not info.has_audio):
        problem = "a stream is missing"
    elif got != frames:
        problem = f"{got} frames, {frames} expected"
    if problem is not None:
        raise OutputError(
            f"the written video is incomplete: {problem} (is the disk full?)", path=shown
        )


def read_frames(path: str | Path, size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    """Decode a video to (H, W, 3) uint8 RGB frames, one at a time; ``size`` = (width,
    height) rescales."""
    path = Path(path)
    info = probe(path)
    if not info.has_video or info.width is None or info.height is None:
        raise InputError("no video stream", path=path)
    w, h = size or (info.width, info.height)
    args = [
        "-i",
        ffmpeg_path_arg(path),
        "-map",
        "0:v:0",
        "-vf",
        f"scale={w}:{h}",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
    ]
    # closing: stopping early stops ffmpeg
    with closing(ffmpeg_blocks(args, w * h * 3, path=path)) as blocks:
        for block in blocks:
            if len(block) == w * h * 3:
                yield np.frombuffer(block, np.uint8).reshape(h, w, 3)
