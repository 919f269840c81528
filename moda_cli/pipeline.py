"""The library API: an Engine loads models once and renders jobs.

    from moda_cli.pipeline import Engine, EngineOptions, Job
    engine = Engine(EngineOptions(device="cpu"))
    result = engine.render(Job(Path("anna.jpg"), Path("anna.wav"), Path("anna.mp4"), load_preset()))

A job runs as numbered stages: 1. check inputs, 2. portrait and face, 3. audio and
features, 4. motion, 5. render and encode. 4 and 5 overlap: motion is sampled window by
window in a thread while the frames of earlier windows are rendered and streamed to the
encoder. Inputs are checked before any model is loaded; the output appears only when
complete.
"""

from __future__ import annotations

import os
import queue
import resource
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from .audio.decode import load_audio
from .audio.features import compute_features
from .audio.types import Audio, AudioFeatures
from .choices import Detector, Device
from .cpu_time import thread_cpu
from .errors import InputError, UsageError, missing_file_error
from .face.detect import make_detector
from .face.identity import identity_features
from .face.image_io import load_portrait
from .face.types import Face, Portrait
from .machine import small_machine
from .motion.generator import MotionGenerator, MotionRequest
from .presets import Preset
from .render.renderer import Renderer
from .video.ffmpeg import ffmpeg_exe
from .video.writer import VideoWriter, check_output

# Frames render in a few threads at once (OpenCV releases the GIL), in order for the writer.
RENDER_THREADS = 2
GIL_SWITCH_S = 0.0005  # while streaming (see _streaming_threads)
Stage = Literal["face", "audio", "motion", "render", "encode"]
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
    detector: Detector = "mediapipe"
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
    # CPU seconds of each stage wherever it ran: motion in its thread, encode in the
    # writer's thread and in ffmpeg. stage_seconds are wall seconds of the job's thread.
    stage_cpu_seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "output": str(self.output), "realtime_factor": self.realtime_factor}

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
    """Where a job's wall time, CPU time and memory go, stage by stage.

    The job's own thread ``switch``es from stage to stage, and every wall second goes to
    the stage it is in, so ``seconds`` add up to the job's wall time even though motion
    sampling and encoding run beside rendering in other threads and processes: what the
    job spends waiting for them is theirs. ``cpu_seconds`` is the CPU each stage used
    wherever it ran (``add_cpu`` for the other threads and ffmpeg). A stage's peak memory
    is this process's resident set, sampled every ``interval`` seconds, and the exact
    high-water mark when it rises during the stage.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.peak_rss_mb: dict[str, float] = {}
        self._stage: str | None = None
        self._since = self._cpu_since = 0.0
        self._high_water = peak_rss_mb()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, args=(interval,), name="moda-rss", daemon=True)
        self._sampler.start()

    def _sample(self, interval: float) -> None:
        while not self._stop.wait(interval):
            stage = self._stage
            if stage is not None:
                self._peak(stage, current_rss_mb())

    def _peak(self, stage: str, mb: float) -> None:
        self.peak_rss_mb[stage] = max(self.peak_rss_mb.get(stage, 0.0), mb)

    def switch(self, stage: str | None) -> None:
        """From now on, this thread's time is ``stage``'s (None: the job is over)."""
        now, cpu = time.perf_counter(), time.thread_time()
        if self._stage is not None:
            self.seconds[self._stage] = self.seconds.get(self._stage, 0.0) + now - self._since
            self.add_cpu(self._stage, cpu - self._cpu_since)
            high_water = peak_rss_mb()
            if high_water > self._high_water:  # the process's peak rose during this stage
                self._high_water = high_water
                self._peak(self._stage, high_water)
        if stage is not None and stage not in self.seconds:  # later visits: the 20 ms sampler
            self.seconds[stage] = 0.0
            self._peak(stage, current_rss_mb())
        self._stage, self._since, self._cpu_since = stage, now, cpu

    def add_cpu(self, stage: str, seconds: float) -> None:
        self.cpu_seconds[stage] = self.cpu_seconds.get(stage, 0.0) + seconds

    def close(self) -> None:
        self.switch(None)
        self._stop.set()
        self._sampler.join()


def check_job(job: Job) -> None:
    """Fast checks before anything is decoded or loaded."""
    for label, path in (("portrait", job.portrait), ("audio", job.audio)):
        if not path.exists():  # missing, or a symlink loop / dangling link: say which
            raise missing_file_error(label, path)
        if path.is_dir():
            raise InputError(f"{label} is a folder, expected a file", path=path)
    if job.output.suffix.lower() != ".mp4":
        raise UsageError("the output must be an .mp4 file", path=job.output)
    if job.output.resolve() in (job.portrait.resolve(), job.audio.resolve()):
        raise UsageError("the output would overwrite an input", path=job.output)
    job.output.parent.mkdir(parents=True, exist_ok=True)
    check_output(job.output)  # a folder in its place, or read-only: before any model loads


class Engine:
    """Holds the loaded models; render many jobs with one Engine.

    ``concurrent_jobs`` > 1: that many threads may call ``render`` at once. They share the
    models, and a learned generator then samples their windows together in one batch
    (``motion.batching``), which is what keeps a GPU busy with many short jobs.
    """

    def __init__(self, options: EngineOptions | None = None, concurrent_jobs: int = 1):
        self.options = options or EngineOptions()
        self.concurrent_jobs = concurrent_jobs
        ffmpeg_exe()  # fail before loading anything if ffmpeg is missing
        self.device = resolve_device(self.options.device)
        self._detector = make_detector(self.options.detector, self.options.insightface_root)
        self._lock = threading.Lock()  # the detectors are not thread-safe; each model loads once
        self._generators: dict[str, MotionGenerator] = {}
        self._whisper = None
        if self.options.whisper_checkpoint is not None:
            from .audio.whisper_encoder import WhisperEncoder

            self._whisper = WhisperEncoder(self.options.whisper_checkpoint, self.device)

    def generator(self, name: str) -> MotionGenerator:
        with self._lock:
            if name not in self._generators:
                self._generators[name] = self._load_generator(name)
            return self._generators[name]

    def _load_generator(self, name: str) -> MotionGenerator:
        if name != "learned":
            from .motion.baseline import BaselineGenerator

            return BaselineGenerator()
        from .motion.batching import WindowBatcher
        from .motion.generate import LearnedGenerator

        batcher = WindowBatcher(max_batch=self.concurrent_jobs) if self.concurrent_jobs > 1 else None
        return LearnedGenerator(self.options.motion_checkpoint, self.device, batcher=batcher)

    def load_face(self, job: Job) -> tuple[Portrait, Face]:
        portrait = load_portrait(job.portrait, job.preset.render.max_side)
        with self._lock:
            return portrait, self._detector.detect(portrait, job.preset.render)

    def features(self, audio: Audio, fps: float) -> AudioFeatures:
        embedding = self._whisper.encode(audio) if self._whisper is not None else None
        return compute_features(audio, fps, embedding=embedding)

    def render(self, job: Job, progress: JobProgress | None = None) -> JobResult:
        preset, meter = job.preset, StageMeter()
        notify: JobProgress = progress or (lambda stage, done, total: None)
        try:
            # 1-2. check inputs, decode the portrait, find the face
            meter.switch("face")
            check_job(job)
            portrait, face = self.load_face(job)
            notify("face", 1, 1)

            # 3. audio and frame-aligned features
            meter.switch("audio")
            audio = load_audio(job.audio)
            features = self.features(audio, preset.video.fps)
            audio_seconds = audio.duration_s
            del audio  # the features are all later stages need
            notify("audio", 1, 1)

            # 4-5. motion in the joint parameter space, rendered and encoded as it comes
            meter.switch("motion")
            generator = self.generator(preset.motion.generator)
            request = MotionRequest(features, identity_features(face.landmarks), preset.motion, preset.seed)
            self._render_video(job, portrait, face, generator, request, meter, notify)
        finally:
            meter.close()

        warnings = []
        if face.num_faces > 1:
            warnings.append(f"{job.portrait}: {face.num_faces} faces found, animating the largest")
        return JobResult(
            output=job.output,
            frames=features.num_frames,
            audio_seconds=audio_seconds,
            stage_seconds=meter.seconds,
            peak_rss_mb=peak_rss_mb(),
            seed=preset.seed,
            generator=generator.name,
            num_faces=face.num_faces,
            warnings=warnings,
            stage_peak_rss_mb=meter.peak_rss_mb,
            stage_cpu_seconds=meter.cpu_seconds,
        )

    def _render_video(
        self, job: Job, portrait: Portrait, face: Face, generator: MotionGenerator, request: MotionRequest,
        meter: StageMeter, notify: JobProgress,
    ) -> None:
        """Render each motion chunk as soon as the sampler yields it, while the next is sampled.

        Only the box around the face changes from frame to frame: the writer gets the
        portrait once as the background and then just that box. Frames render in a small
        thread pool, a frame per task on a CPU, a batch per task on a GPU (the CPU part of
        a batch, mouth and eyelid painting, overlaps the next batch's warp there).
        """
        total, done = request.features.num_frames, 0

        def motion_progress(d: int, t: int) -> None:
            if done == 0:  # once frames come out, the bar follows them
                notify("motion", d, t)

        sampler = _Ahead(generator.stream(request, motion_progress))
        with _streaming_threads(), sampler as chunks:
            # The portrait's own setup (segmentation, inpainting, the warp's grid) runs while
            # the sampler solves its first window.
            meter.switch("render")
            # On CUDA the warp runs there in batches; on a CPU, OpenCV a frame at a time.
            device = self.device if self.device != "cpu" else None
            renderer = Renderer(portrait, face, job.preset.render, device=device)
            origin = (renderer.patch_box.x0, renderer.patch_box.y0)
            meter.switch("motion")
            with (
                ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="moda-render") as pool,
                VideoWriter(job.output, settings=job.preset.video, audio=job.audio, expected_frames=total,
                            background=renderer.background) as writer,
            ):
                in_flight: deque[Future[tuple[list[np.ndarray], float]]] = deque()

                def write_oldest() -> None:
                    nonlocal done
                    meter.switch("render")
                    patches, cpu = in_flight.popleft().result()
                    meter.add_cpu("render", cpu)
                    meter.switch("encode")
                    for patch in patches:
                        writer.write(patch, origin=origin, copy=False)  # new arrays: no copy needed
                        done += 1
                        if done % 10 == 0 or done == total:
                            notify("render", done, total)

                for chunk in chunks:  # the wait for a chunk is motion time
                    for start in range(0, len(chunk), renderer.batch_size):
                        rows = chunk[start : start + renderer.batch_size]
                        in_flight.append(pool.submit(_timed, renderer.render_patches, rows))
                        if len(in_flight) > 2 * RENDER_THREADS:
                            write_oldest()
                    meter.switch("motion")
                while in_flight:
                    write_oldest()
                meter.switch("encode")
                writer.close()
        meter.add_cpu("motion", sampler.cpu_seconds)
        meter.add_cpu("encode", writer.cpu_seconds)


def _timed(fn: Callable[[np.ndarray], list[np.ndarray]], arg: np.ndarray) -> tuple[list[np.ndarray], float]:
    """fn(arg) and the CPU seconds it took in this thread."""
    start = time.thread_time()
    result = fn(arg)
    return result, time.thread_time() - start


class _Ahead:
    """Runs an iterator in a thread of its own, up to ``depth`` items ahead of the consumer.

    Motion sampling (torch, which releases the GIL) then overlaps rendering and encoding.
    An exception in the iterator is raised in the consumer; leaving the ``with`` early
    (an error, Ctrl-C) stops the thread after its current item.
    """

    def __init__(self, items: Iterator[np.ndarray], depth: int = 2) -> None:
        self._items = items
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="moda-motion", daemon=True)
        self.cpu_seconds = 0.0  # the thread's own CPU time, once it has finished

    def _put(self, kind: str, value: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        start = thread_cpu()
        try:
            for item in self._items:
                if not self._put("item", item):
                    return
            self._put("end", None)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put("error", exc)
        finally:
            self.cpu_seconds = thread_cpu() - start  # with windows solved for it by a batcher

    def __enter__(self) -> Iterator[np.ndarray]:
        self._thread.start()
        return self._consume()

    def _consume(self) -> Iterator[np.ndarray]:
        while True:
            kind, value = self._queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


class _StreamingThreads:
    """Thread settings while motion, rendering and encoding run together; restored after.

    The GIL changes hands every GIL_SWITCH_S instead of Python's 5 ms: the sampler drops
    and retakes it around each of the thousands of small torch operations in a window,
    and with the render threads and the writer busy, each retake could wait a whole
    interval (60 s at 512 px on 2 cores: 12.5-13.9 s -> 10.3-11.2 s).

    On small machines, one OpenCV thread and one torch thread: x264's threads and the
    sampler already keep every core busy, and splitting each small remap or matrix
    product across threads only adds hand-offs that compete with them. On larger
    machines the libraries' own thread counts are left alone.

    The settings are the process's: with jobs in several threads, the first job in
    applies them and the last one out restores them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs = 0
        self._switch_interval, self._cv2_threads = 0.0, 0
        self._torch_threads: int | None = None  # None: torch's setting untouched so far

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._jobs == 0:
                self._switch_interval, self._cv2_threads = sys.getswitchinterval(), cv2.getNumThreads()
                sys.setswitchinterval(GIL_SWITCH_S)
                if small_machine():
                    cv2.setNumThreads(1)
            # torch loads with the first learned job, which may come while others run
            torch = sys.modules.get("torch") if small_machine() else None
            if torch is not None and self._torch_threads is None:
                self._torch_threads = torch.get_num_threads()
                torch.set_num_threads(1)
            self._jobs += 1
        try:
            yield
        finally:
            with self._lock:
                self._jobs -= 1
                if self._jobs == 0:
                    sys.setswitchinterval(self._switch_interval)
                    cv2.setNumThreads(self._cv2_threads)
                    if self._torch_threads is not None:
                        sys.modules["torch"].set_num_threads(self._torch_threads)
                        self._torch_threads = None


_streaming_threads = _StreamingThreads()
