"""The Engine: loads the models once and renders jobs as numbered stages.

A job runs as: 1. check inputs, 2. portrait and face, 3. audio and features, 4. motion,
5. render and encode. 4 and 5 overlap: motion is sampled window by window in a thread
(``streaming.Ahead``) while the frames of earlier windows are rendered and streamed to
the encoder. Inputs are checked before any model is loaded; the output appears only when
complete. Where the time, CPU and memory go is measured by ``metering.StageMeter``.
A job's motion file (``Job.motion_in``) is played back instead of sampling; the rows the
renderer took are written to ``Job.motion_out`` once the video is in place.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from ..audio.decode import load_audio
from ..audio.features import compute_features
from ..audio.types import Audio, AudioFeatures
from ..face.detect import make_detector
from ..face.identity import identity_features
from ..face.image_io import load_portrait
from ..face.types import Face, Portrait
from ..facemodel.params import MotionSeq
from ..ffmpeg import ffmpeg_exe
from ..motion.generator import MotionGenerator, MotionRequest
from ..motion.generators import GENERATORS, GeneratorSetup
from ..motion.motionfile import FileMotion, read_motion, write_motion
from ..render.renderer import Renderer
from ..video.writer import VideoWriter
from .device import resolve_device, streaming_threads
from .jobs import EngineOptions, Job, JobProgress, JobResult, check_job
from .metering import StageMeter, peak_rss_mb, timed
from .streaming import Ahead

# Frames render in a few threads at once (OpenCV releases the GIL), in order for the writer.
RENDER_THREADS = 2


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
        # "auto" waits for the first model: telling it imports torch (a second of CPU),
        # which a dub's tracking pass then runs beside, in the model-loading thread.
        auto = self.options.device == "auto"
        self._device = None if auto else resolve_device(self.options.device)
        self._detector = make_detector(self.options.detector, self.options.insightface_root)
        self._lock = threading.Lock()  # the detectors are not thread-safe; each model loads once
        self._generators: dict[str, MotionGenerator] = {}
        self._whisper = None
        if self.options.whisper_checkpoint is not None:
            from ..audio.whisper_encoder import WhisperEncoder

            self._whisper = WhisperEncoder(self.options.whisper_checkpoint, self.device)

    @property
    def device(self) -> str:
        """The torch device the models run on (``EngineOptions.device``, "auto" resolved)."""
        if self._device is None:
            self._device = resolve_device("auto")
        return self._device

    def generator(self, name: str) -> MotionGenerator:
        """The generator registered as ``name``, built on first use and kept."""
        with self._lock:
            if name not in self._generators:
                setup = GeneratorSetup(
                    self.options.motion_checkpoint, self.device, self.concurrent_jobs
                )
                self._generators[name] = GENERATORS.get(name)(setup)
            return self._generators[name]

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
            generator = self._motion_source(job)
            identity = identity_features(face.landmarks)
            request = MotionRequest(features, identity, preset.motion, preset.seed)
            self._render_video(job, portrait, face, generator, request, meter, notify)
        finally:
            meter.close()

        warnings = []
        if face.num_faces > 1:
            warnings.append(f"{job.portrait}: {face.num_faces} faces found, animating the largest")
        if isinstance(generator, FileMotion) and generator.track.unrendered:
            names = ", ".join(generator.track.unrendered)
            warnings.append(f"{job.motion_in}: not rendered yet (moda cannot show them): {names}")
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

    def _motion_source(self, job: Job) -> MotionGenerator:
        """The job's motion file played back, or the preset's generator."""
        if job.motion_in is not None:
            return FileMotion(read_motion(job.motion_in))
        return self.generator(job.preset.motion.generator)

    def _render_video(
        self,
        job: Job,
        portrait: Portrait,
        face: Face,
        generator: MotionGenerator,
        request: MotionRequest,
        meter: StageMeter,
        notify: JobProgress,
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

        rendered: list[np.ndarray] = []  # the rows as the renderer takes them, for motion_out
        stream = generator.stream(request, motion_progress)
        sampler = Ahead(stream if job.motion_out is None else _kept(stream, rendered))
        with streaming_threads(), sampler as chunks:
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
                VideoWriter(
                    job.output,
                    settings=job.preset.video,
                    audio=job.audio,
                    expected_frames=total,
                    background=renderer.background,
                ) as writer,
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
                        in_flight.append(pool.submit(timed, renderer.render_patches, rows))
                        if len(in_flight) > 2 * RENDER_THREADS:
                            write_oldest()
                    meter.switch("motion")
                while in_flight:
                    write_oldest()
                meter.switch("encode")
                writer.close()
        meter.add_cpu("motion", sampler.cpu_seconds)
        meter.add_cpu("encode", writer.cpu_seconds)
        if job.motion_out is not None:
            motion = MotionSeq(np.concatenate(rendered), request.features.fps)
            write_motion(job.motion_out, motion)


def _kept(chunks: Iterator[np.ndarray], into: list[np.ndarray]) -> Iterator[np.ndarray]:
    """``chunks`` passed on, each also appended to ``into``."""
    for chunk in chunks:
        into.append(chunk)
        yield chunk
