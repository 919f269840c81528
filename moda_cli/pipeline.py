"""The library API: an Engine loads models once and renders jobs.

    from moda_cli.pipeline import Engine, EngineOptions, Job
    engine = Engine(EngineOptions(device="cpu"))
    result = engine.render(Job(Path("anna.jpg"), Path("anna.wav"), Path("anna.mp4"), load_preset()))

A job runs as numbered stages: 1. check inputs, 2. portrait and face, 3. audio and
features, 4. motion, 5. render and encode (streamed, frame by frame). Inputs are checked
before any model is loaded; the output appears only when complete.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from .audio.decode import load_audio
from .audio.features import compute_features
from .audio.types import Audio, AudioFeatures
from .errors import InputError, UsageError
from .face.detect import make_detector
from .face.identity import identity_features
from .face.image_io import load_portrait
from .face.types import Face, Portrait
from .motion.generator import MotionGenerator, MotionRequest
from .motion.params import MotionSeq
from .presets import Preset
from .render.renderer import Renderer
from .video.ffmpeg import ffmpeg_exe
from .video.writer import VideoWriter

Device = Literal["auto", "cpu", "cuda"]
SMALL_MACHINE_CORES = 4  # at most this many cores: render single-threaded beside x264
Stage = Literal["face", "audio", "motion", "render"]
# Called with (stage, done, total) as a job advances; the CLI turns it into progress bars.
JobProgress = Callable[[Stage, int, int], None]


def resolve_device(device: Device) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for but torch sees no CUDA device", hint="use --device cpu")
    return device


@dataclass
class EngineOptions:
    device: Device = "auto"
    detector: Literal["mediapipe", "insightface"] = "mediapipe"
    insightface_root: Path | None = None
    motion_checkpoint: Path | None = None
    whisper_checkpoint: Path | None = None


@dataclass
class Job:
    portrait: Path
    audio: Path
    output: Path
    preset: Preset


@dataclass
class JobResult:
    output: Path
    frames: int
    audio_seconds: float
    stage_seconds: dict[str, float]
    peak_rss_mb: float
    seed: int
    generator: str
    num_faces: int
    warnings: list[str] = field(default_factory=list)
    # Peak resident memory of this process during each stage, same keys as stage_seconds
    # (ffmpeg's own memory is not included: it is a separate process).
    stage_peak_rss_mb: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.stage_seconds.values())

    @property
    def realtime_factor(self) -> float:
        return self.total_seconds / max(self.audio_seconds, 1e-9)


def peak_rss_mb() -> float:
    """The process's resident-memory high-water mark so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """Resident memory now, in MB (Linux /proc); 0.0 where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class StageMeter:
    """Wall seconds and peak resident memory of each stage of a job.

    A stage's peak is exact when the process's high-water mark rises during it (that new
    mark is the stage's peak). Otherwise the stage stayed below an earlier stage's peak,
    and a background thread sampling /proc every ``interval`` seconds estimates it.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.seconds: dict[str, float] = {}
        self.peak_rss_mb: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        before = peak_rss_mb()
        sampled = [current_rss_mb()]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(self.interval):
                sampled[0] = max(sampled[0], current_rss_mb())

        sampler = threading.Thread(target=sample, name=f"moda-rss-{name}", daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = time.perf_counter() - t0
            stop.set()
            sampler.join()
            after = peak_rss_mb()
            self.peak_rss_mb[name] = after if after > before else max(sampled[0], current_rss_mb())


def check_job(job: Job) -> None:
    """Fast checks before anything is decoded or loaded."""
    for label, path in (("portrait", job.portrait), ("audio", job.audio)):
        if not path.exists():
            raise InputError(f"{label} file not found", path=path)
        if path.is_dir():
            raise InputError(f"{label} is a folder, expected a file", path=path)
    if job.output.suffix.lower() != ".mp4":
        raise UsageError("the output must be an .mp4 file", path=job.output)
    if job.output.resolve() in (job.portrait.resolve(), job.audio.resolve()):
        raise UsageError("the output would overwrite an input", path=job.output)
    job.output.parent.mkdir(parents=True, exist_ok=True)


class Engine:
    """Holds the loaded models; render many jobs with one Engine."""

    def __init__(self, options: EngineOptions | None = None):
        self.options = options or EngineOptions()
        ffmpeg_exe()  # fail before loading anything if ffmpeg is missing
        self.device = resolve_device(self.options.device)
        self._detector = make_detector(self.options.detector, self.options.insightface_root)
        self._generators: dict[str, MotionGenerator] = {}
        self._whisper = None
        if self.options.whisper_checkpoint is not None:
            from .audio.whisper_encoder import WhisperEncoder

            self._whisper = WhisperEncoder(self.options.whisper_checkpoint, self.device)

    def generator(self, name: str) -> MotionGenerator:
        if name not in self._generators:
            if name == "learned":
                from .motion.generate import LearnedGenerator

                self._generators[name] = LearnedGenerator(self.options.motion_checkpoint, self.device)
            else:
                from .motion.baseline import BaselineGenerator

                self._generators[name] = BaselineGenerator()
        return self._generators[name]

    def load_face(self, job: Job) -> tuple[Portrait, Face]:
        portrait = load_portrait(job.portrait)
        return portrait, self._detector.detect(portrait, job.preset.render)

    def features(self, audio: Audio, fps: float) -> AudioFeatures:
        embedding = self._whisper.encode(audio) if self._whisper is not None else None
        return compute_features(audio, fps, embedding=embedding)

    def render(self, job: Job, progress: JobProgress | None = None) -> JobResult:
        preset, meter = job.preset, StageMeter()
        notify: JobProgress = progress or (lambda stage, done, total: None)

        # 1-2. check inputs, decode the portrait, find the face
        with meter.stage("face"):
            check_job(job)
            portrait, face = self.load_face(job)
        notify("face", 1, 1)

        # 3. audio and frame-aligned features
        with meter.stage("audio"):
            audio = load_audio(job.audio)
            features = self.features(audio, preset.video.fps)
            audio_seconds = audio.duration_s
            del audio  # the features are all later stages need
        notify("audio", 1, 1)

        # 4. motion in the joint parameter space
        with meter.stage("motion"):
            generator = self.generator(preset.motion.generator)
            request = MotionRequest(features, identity_features(face.landmarks), preset.motion, preset.seed)
            motion = generator.generate(request, lambda d, t: notify("motion", d, t))

        # 5. render and encode, streamed frame by frame
        with meter.stage("render"):
            self._render_video(job, portrait, face, motion, notify)

        warnings = []
        if face.num_faces > 1:
            warnings.append(f"{job.portrait}: {face.num_faces} faces found, animating the largest")
        return JobResult(
            output=job.output,
            frames=motion.num_frames,
            audio_seconds=audio_seconds,
            stage_seconds=meter.seconds,
            peak_rss_mb=peak_rss_mb(),
            seed=preset.seed,
            generator=generator.name,
            num_faces=face.num_faces,
            warnings=warnings,
            stage_peak_rss_mb=meter.peak_rss_mb,
        )

    def _render_video(
        self, job: Job, portrait: Portrait, face: Face, motion: MotionSeq, notify: JobProgress
    ) -> None:
        renderer = Renderer(portrait, face, job.preset.render)
        total = motion.num_frames
        box = renderer.patch_box
        with (
            _render_threads(),
            VideoWriter(job.output, settings=job.preset.video, audio=job.audio, expected_frames=total,
                        background=renderer.background) as writer,
        ):
            for i, row in enumerate(motion.params):
                # Only the box around the face changes. render_patch returns a new array
                # each frame, so the writer need not copy it.
                writer.write(renderer.render_patch(np.asarray(row)), origin=(box.x0, box.y0), copy=False)
                if i % 10 == 9 or i == total - 1:
                    notify("render", i + 1, total)


@contextmanager
def _render_threads() -> Iterator[None]:
    """One OpenCV thread for rendering on small machines, restored afterwards.

    Rendering and x264 run at the same time; with few cores x264's threads keep every core
    busy, and OpenCV splitting each small remap across threads only adds hand-offs that
    compete with the encoder. On larger machines OpenCV's setting is left alone.
    """
    before = cv2.getNumThreads()
    if (os.cpu_count() or 1) <= SMALL_MACHINE_CORES:
        cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)
