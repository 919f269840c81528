"""Decode any ffmpeg-readable speech file to 16 kHz mono float32 and reject unusable audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import AudioDecodeError, FFmpegError, InputError
from ..ffmpeg import MediaInfo, ffmpeg_blocks, ffmpeg_path_arg, probe
from .features import loudness_envelope
from .types import SAMPLE_RATE, Audio

MIN_DURATION_S = 0.25  # shorter clips give too few frames for any mouth motion
SILENCE_PEAK_DBFS = -60.0


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioDecodeError("audio file not found", path=path)
    if not path.is_file():
        raise AudioDecodeError("not a file", path=path)
    if path.stat().st_size == 0:
        raise AudioDecodeError("empty file (0 bytes)", path=path)


def _too_short(duration_s: float, path: Path) -> AudioDecodeError:
    return AudioDecodeError(
        f"too short: {duration_s:.2f} s; at least {MIN_DURATION_S:.2f} s of speech is needed",
        path=path,
    )


def check_audio(path: str | Path) -> MediaInfo:
    """Cheap preflight: the file exists, ffmpeg reads it, it has an audio stream of a usable length.

    Reads only the header, so a batch can be validated before any model loads; silence is
    found only by ``load_audio``.
    """
    path = Path(path)
    _check_file(path)
    try:
        info = probe(path)
    except InputError as exc:
        raise AudioDecodeError(exc.args[0], path=path) from None
    if not info.has_audio:
        what = "a video without sound" if info.has_video else "no audio stream"
        raise AudioDecodeError(f"{what}: nothing to lip-sync to", path=path)
    if info.duration_s is not None and info.duration_s < MIN_DURATION_S:
        raise _too_short(info.duration_s, path)
    return info


def _decode(path: Path, channels: int | None, duration_s: float | None) -> np.ndarray:
    # ffmpeg's stereo->mono downmix scales each side by 0.707: identical channels come out
    # 3 dB hotter and can clip. Average stereo here instead; other layouts use ffmpeg's
    # downmix, which knows centre and surround channels.
    out_channels = 2 if channels == 2 else 1
    args = ["-i", ffmpeg_path_arg(path), "-map", "0:a:0", "-vn", "-sn", "-dn"]
    args += ["-ac", str(out_channels), "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"]
    # Samples go straight into one array sized from the header's duration (grown if the
    # header was short), a second of audio at a time: a 10-minute file is 38 MB of
    # samples, and a copy of ffmpeg's whole output would add as much again, or twice that.
    samples = np.empty(int(SAMPLE_RATE * (duration_s or 60.0) * 1.01) + SAMPLE_RATE, np.float32)
    n = 0
    try:
        for block in ffmpeg_blocks(args, SAMPLE_RATE * out_channels * 4, path=path):
            chunk = np.frombuffer(block, dtype="<f4")
            if out_channels == 2:
                chunk = chunk[: len(chunk) // 2 * 2].reshape(-1, 2).mean(axis=1, dtype=np.float32)
            if n + len(chunk) > len(samples):
                samples = np.resize(samples, 2 * len(samples))
            # Float decoders (mp3, aac) overshoot full scale slightly; NaN would poison the
            # features. Per block: nan_to_num over a whole long clip makes 46 MB of masks.
            np.clip(np.nan_to_num(chunk), -1.0, 1.0, out=samples[n : n + len(chunk)])
            n += len(chunk)
    except FFmpegError as exc:
        raise AudioDecodeError(f"cannot decode audio: {exc.args[0]}", path=path) from None
    return samples[:n]


def _check_level(audio: Audio, path: Path) -> None:
    x = audio.samples
    peak = max(float(x.max()), -float(x.min())) if len(x) else 0.0  # no |x| copy of a long clip
    peak_db = 20.0 * np.log10(max(peak, 1e-10))
    if peak_db < SILENCE_PEAK_DBFS:
        raise AudioDecodeError(
            f"silent: peak level {peak_db:.0f} dBFS",
            path=path,
            hint="check the file plays and is the right one",
        )
    # The same measure the motion stage uses: if no frame rises above the clip's own
    # noise floor the mouth would never open, so say so now rather than render a still face.
    if float(np.max(loudness_envelope(audio))) <= 0.0:
        raise AudioDecodeError(
            "no speech found: the level never rises above the noise floor "
            "(a steady tone or noise?)",
            path=path,
        )


def load_audio(path: str | Path) -> Audio:
    """Decode the first audio stream of ``path`` to 16 kHz mono float32 in [-1, 1].

    Any rate, channel count or container ffmpeg reads works (wav, mp3, ogg, m4a, a video
    with sound). Raises AudioDecodeError naming the file for a missing, empty, unreadable,
    soundless, too short (< 0.25 s) or silent input.
    """
    path = Path(path)
    info = check_audio(path)
    audio = Audio(
        samples=_decode(path, info.audio_channels, info.duration_s),
        path=path,
        sample_rate=SAMPLE_RATE,
    )
    if audio.duration_s < MIN_DURATION_S:  # headers can lie (or have no duration at all)
        raise _too_short(audio.duration_s, path)
    _check_level(audio, path)
    return audio
