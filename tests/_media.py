"""Test media made on the fly with numpy and ffmpeg itself: no files shipped, no network."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np

from moda_cli.ffmpeg import ffmpeg_path_arg, run_ffmpeg

# The quickest render a CLI test can ask for: a 128 px crop, loudness-driven motion, CPU.
FAST = ["--set", "render.size=128", "--generator", "baseline", "--device", "cpu"]


def speechlike(
    duration_s: float, rate: int = 16_000, freq: float = 220.0, level: float = 0.5
) -> np.ndarray:
    """A voiced tone switched on and off at syllable rate (4 Hz) over faint noise.

    Real speech has loud and quiet stretches; a steady tone does not, and load_audio
    rightly rejects it as "no speech".
    """
    t = np.arange(int(round(duration_s * rate))) / rate
    gate = (np.sin(2 * np.pi * 4.0 * t) > -0.3).astype(np.float64)
    rng = np.random.default_rng(0)
    x = level * (gate * np.sin(2 * np.pi * freq * t) + 0.004 * rng.standard_normal(len(t)))
    return x.astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = 16_000) -> Path:
    """16-bit PCM wav; ``samples`` is (N,) mono or (N, C) interleaved channels."""
    data = np.clip(np.asarray(samples, np.float64), -1, 1)
    channels = 1 if data.ndim == 1 else data.shape[1]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((data * 32767).astype("<i2").tobytes())
    return path


def job_folder(
    folder: Path, portrait: Path, count: int, seconds: float, freq: float, step: float
) -> Path:
    """``count`` batch jobs ``p0`` .. of one portrait, each with its own speech pitch
    (``freq + step * i``), so that their videos can tell apart whose audio they carry."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        shutil.copy(portrait, folder / f"p{i}.png")
        write_wav(folder / f"p{i}.wav", speechlike(seconds, freq=freq + step * i))
    return folder


def transcode(src: Path, dst: Path, *args: str) -> Path:
    """``ffmpeg -i src ARGS dst``: the formats users bring (mp3, ogg, m4a, mp4...)."""
    run_ffmpeg(["-y", "-i", ffmpeg_path_arg(src), *args, ffmpeg_path_arg(dst)])
    return dst


def video_with_audio(dst: Path, audio: Path | None, seconds: float = 1.0) -> Path:
    """A small test-pattern H.264 video, with ``audio`` as its sound track if given."""
    args = ["-y", "-f", "lavfi", "-i", f"testsrc=size=64x48:rate=25:duration={seconds}"]
    if audio is not None:
        args += ["-i", ffmpeg_path_arg(audio), "-c:a", "aac", "-shortest"]
    args += ["-c:v", "libx264", "-pix_fmt", "yuv420p", ffmpeg_path_arg(dst)]
    run_ffmpeg(args)
    return dst


def dominant_freq(samples: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spec)])
