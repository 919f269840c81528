"""Output formats by name: each owns its file extension, its codecs and container, and
how a finished file is checked.

The writer hands ffmpeg yuv420p frames (BT.709, tagged) and the speech file; a format
adds the output side of the command, for the size the file keeps (odd sides included:
a dub keeps its source's size, see ``VideoWriter``'s ``crop_to``). ``video.format`` in
the presets and ``--format`` choose among the names in ``OUTPUT_FORMATS``; a new format
is one ``OutputFormat`` registered there. Importing this module starts no ffmpeg and
loads no numpy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

from ..machine import small_machine
from ..registry import Registry

if TYPE_CHECKING:
    from .settings import VideoSettings

SMALL_FRAME_PIXELS = 1024 * 1024
LARGE_FRAME_PIXELS = 1280 * 720  # from here on x264 is the largest part of a dub's CPU
SUPERFAST_ANALYSIS = "me=dia:partitions=i8x8,i4x4:subme=1"  # x264's superfast preset's
VP9_CRF_OFFSET = 6  # VP9 at CRF c + 6 gave x264's PSNR at c on camera grain (README)


class OutputFormat(Protocol):
    @property
    def extension(self) -> str:
        """What an output's name ends with, ".mp4" (its temp file's too)."""
        ...

    def output_args(self, settings: VideoSettings, size: tuple[int, int], audio: bool) -> list[str]:
        """ffmpeg's output options for frames of ``size`` (width, height), with the speech
        track if ``audio``: codecs and their settings, then the container."""
        ...

    def verify(self, path: Path, *, frames: int, audio: bool, name: Path) -> None:
        """Raise OutputError naming ``name`` unless ``path`` holds ``frames`` frames (and a
        sound track if ``audio``): checked before the file gets its final name."""
        ...


OUTPUT_FORMATS: Registry[OutputFormat] = Registry("output format")
VideoFormat = Annotated[str, OUTPUT_FORMATS]  # a format's name (``video.format``)


def x264_threads(width: int, height: int) -> list[str]:
    """On small machines one encoder thread for small frames, one a core for larger ones;
    elsewhere x264's own choice.

    Up to about 1 MP, one x264 thread encodes faster than moda renders (600 frames/s at
    512 px), and its frame threads would only take CPU from rendering and sampling: one
    thread saved 20% of x264's CPU time. Larger frames need x264's frame threads, as
    encoding is then the slower side, but no more than the cores: x264's own 1.5 a core
    only added switching (the same file for 2-9% less CPU at 1080p on 2 cores).
    """
    if not small_machine():
        return []
    if width * height <= SMALL_FRAME_PIXELS:
        return ["-threads", "1"]
    return ["-threads", str(os.cpu_count() or 1)]


def vp9_args(settings: VideoSettings) -> list[str]:
    """VP9 (profile 0: yuv420p) for a frame with an odd side, which H.264 cannot store.

    H.264 and HEVC crop a 4:2:0 picture only by whole chroma samples (2 pixels), so an odd
    side needs their 4:4:4 profiles (which Firefox, Safari, Windows' and phones' hardware
    decoders do not play) or another codec. VP9 stores any size in 4:2:0 and plays in
    Chrome, Firefox and Edge, on Android and Windows 10+, in VLC and mpv (Apple's players
    vary with the version).
    Real-time mode at speed 7 costs about x264 veryfast's CPU (README, "Dubbing a video").
    """
    return [
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-cpu-used",
        "7",
        "-row-mt",
        "1",
        "-crf",
        str(min(settings.crf + VP9_CRF_OFFSET, 63)),
        "-b:v",
        "0",
    ]


def x264_args(settings: VideoSettings, size: tuple[int, int]) -> list[str]:
    """x264 at the preset's crf and speed.

    Frames of 720p and more at ``veryfast`` take superfast's analysis (SUPERFAST_ANALYSIS:
    diamond motion search, no 8x8 inter partitions, sub-pixel refinement 1) and keep
    veryfast's rate control (its lookahead and macroblock tree, without which superfast's
    files are three times the size on camera grain). There x264 is most of a dub's CPU,
    and this takes 40% of it for files 3% larger at the same CRF (README, "Dubbing a
    video"); smaller frames encode far faster than they render, so they keep the preset.
    """
    w, h = size
    tuned = settings.encoder_preset == "veryfast" and w * h >= LARGE_FRAME_PIXELS
    return [
        "-c:v",
        "libx264",
        "-preset",
        settings.encoder_preset,
        "-crf",
        str(settings.crf),
        *(["-x264-params", SUPERFAST_ANALYSIS] if tuned else []),
        *x264_threads(w, h),
    ]


@dataclass(frozen=True)
class H264Aac:
    """H.264 (x264; VP9 for a size with an odd side) with AAC speech, in ``muxer``'s
    container."""

    extension: str
    muxer: str  # ffmpeg's name of the container: -f MUXER
    container_args: tuple[str, ...] = ()

    def output_args(self, settings: VideoSettings, size: tuple[int, int], audio: bool) -> list[str]:
        s = settings
        odd = size[0] % 2 or size[1] % 2
        args = vp9_args(s) if odd else x264_args(s, size)
        if audio:
            # FFmpeg's fast AAC coder: 0.29 s of CPU per minute of speech instead of the
            # default two-loop search's 0.69, and no worse at this bitrate (SNR of 60 s of
            # speech at 128k: 39.4 dB, two-loop 36.3 dB).
            args += ["-c:a", "aac", "-aac_coder", "fast", "-b:a", s.audio_bitrate]
        return [*args, *self.container_args, "-f", self.muxer]

    def verify(self, path: Path, *, frames: int, audio: bool, name: Path) -> None:
        from ..ffmpeg import verify_video

        verify_video(path, frames=frames, audio=audio, name=name)


# The index at the front: players start before the whole file has arrived.
OUTPUT_FORMATS.register("mp4", H264Aac(".mp4", "mp4", ("-movflags", "+faststart")))
