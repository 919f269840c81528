"""The dub's stages in order (the package doc): ``Dubber.dub`` and its two passes over
the source, tracking (3) and rendering (5)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..audio.decode import load_audio
from ..audio.features import num_video_frames
from ..audio.types import Audio, AudioFeatures
from ..errors import NoFaceFound
from ..face.identity import identity_features
from ..face.track import FaceTracker, FaceTrackFrames, TrackRecorder, smooth_points
from ..motion.generator import MotionGenerator, MotionRequest
from ..motion.reference import ping_pong
from ..pipeline import Engine, JobProgress, peak_rss_mb
from ..pipeline.device import streaming_threads
from ..pipeline.streaming import Ahead
from ..render.dub import (
    MouthLibrary,
    landmark_motion,
    lower_face_region,
    mouth_coefficients,
    warp_lower_face,
)
from ..video.source import VideoInfo, read_frames_at, read_yuv, rgb_box
from ..video.writer import VideoWriter
from ..video.yuv import Yuv420Frame
from .clock import Clock, timed
from .job import DubJob, DubResult, check_dub
from .source import LIPS, SourceMotion, read_source
from .timing import MOTION_FPS, GeneratedLips, given_motion, output_audio

WARP_MARGIN = 4  # px (even) of source converted around the warped box, for the remap's reach


@dataclass
class _Plan:
    """4. What the render pass needs per output frame (N)."""

    source: SourceMotion
    source_index: np.ndarray  # (N,) source frame shown at each output frame
    target_lips: GeneratedLips  # the generated mouth per output frame


class Dubber:
    """Dubs videos with an ``Engine``'s models (loaded once, shared with portrait jobs)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def dub(self, job: DubJob, progress: JobProgress | None = None) -> DubResult:
        """Dub ``job``; ``progress`` hears ("face", frames tracked, source frames) and
        ("render", frames written, output frames) as the two passes go."""
        notify: JobProgress = progress or (lambda stage, done, total: None)
        seconds: dict[str, float] = {}
        clock = Clock(seconds)
        with clock("check"):
            info = check_dub(job)
        with clock("audio"):
            audio = load_audio(job.audio)  # an audio file without speech fails here
            audio_s = audio.duration_s
        with clock("track"), ThreadPoolExecutor(1, thread_name_prefix="moda-dub") as pool:
            # The audio's features and the motion model are made beside the tracking pass:
            # both need torch, whose import alone is a second of CPU.
            loading = pool.submit(timed, self._prepare, audio, job.preset.motion.generator)
            track, library = _track(info, notify)
            if not track.found.any():
                raise NoFaceFound(
                    "no face found in any frame of the video",
                    path=job.video,
                    hint="give a video of a person facing the camera",
                )
            (features, generator), clock.parts["load"] = loading.result()
            del audio
        with clock("plan"):
            source = read_source(track)
            fps = float(info.fps)
            num_out = len(track) if job.fit == "video" else num_video_frames(audio_s, fps)
            index = ping_pong(num_out, len(track))
            given = given_motion(source, index, fps, features.num_frames)
            request = MotionRequest(
                features,
                identity_features(source.reference),
                job.preset.motion,
                job.preset.seed,
                given,
            )
        warnings = []
        if job.keep_audio == "mix" and not info.has_audio:
            warnings.append(f"{job.video}: no sound track to keep under the new audio")
        # 5. motion sampled in a thread, window by window, while the frames render
        ahead = Ahead(generator.stream(request))
        with clock("render"), streaming_threads(), ahead as chunks:
            lips = GeneratedLips(chunks, fps, audio_s)
            writer = _render(job, info, _Plan(source, index, lips), library, notify)
        clock.parts.update(
            motion=ahead.cpu_seconds,
            x264=writer.encoder_cpu_seconds,
            yuv=writer.cpu_seconds - writer.encoder_cpu_seconds,
        )
        frames = len(index)
        if not source.mouths:
            warnings.append(
                f"{job.video}: no frame had a face to dub (too small, turned "
                "away or covered): the output is the video with the new audio"
            )
        return DubResult(
            output=job.output,
            frames=frames,
            audio_seconds=frames / float(info.fps),
            stage_seconds=seconds,
            stage_cpu_seconds=clock.cpu_split(),
            peak_rss_mb=peak_rss_mb(),
            dubbed=float((source.weight[index] > 0).mean()),
            shots=int(track.shots.max()) + 1,
            warnings=warnings,
        )

    def _prepare(self, audio: Audio, generator: str) -> tuple[AudioFeatures, MotionGenerator]:
        """2-3. The audio's features at the motion model's rate, and the motion model.

        Made under ``streaming_threads``, entered once torch is imported (resolving the
        device imports it): on a small machine one torch thread, as when rendering, so no
        pool of torch threads waits spinning beside the tracker."""
        self.engine.device  # noqa: B018 (a property: resolving it imports torch)
        with streaming_threads():
            return self.engine.features(audio, MOTION_FPS), self.engine.generator(generator)


def _track(info: VideoInfo, notify: JobProgress) -> tuple[FaceTrackFrames, MouthLibrary]:
    """3. Every source frame once: its mesh kept, its open mouth offered to the library."""
    tracker, recorder, library = FaceTracker(), TrackRecorder(info.num_frames), MouthLibrary()
    try:
        for frame in read_yuv(info):
            points = tracker.update(frame)
            recorder.add(frame, points, tracker.shot)
            if points is not None:
                library.offer(frame, points)
            if recorder.count % 10 == 0:
                notify("face", recorder.count, info.num_frames)
    finally:
        tracker.close()
    library.finish()
    track = recorder.result()
    smooth_points(track)
    return track, library


def _render(
    job: DubJob, info: VideoInfo, plan: _Plan, library: MouthLibrary, notify: JobProgress
) -> VideoWriter:
    """5. The source decoded again in the output's order, each frame dubbed and encoded;
    the closed writer (its CPU seconds)."""
    settings = job.preset.video.model_copy(update={"fps": float(info.fps)})
    total = len(plan.source_index)
    with (
        output_audio(job, info, total / float(info.fps)) as audio,
        VideoWriter(
            job.output,
            settings=settings,
            audio=audio,
            expected_frames=total,
            crop_to=(info.width, info.height),  # an odd size kept, not padded
        ) as writer,
    ):
        for k, frame in enumerate(read_frames_at(info, plan.source_index)):
            writer.write_yuv(_dubbed_frame(plan, library, k, frame))
            if (k + 1) % 10 == 0 or k + 1 == total:
                notify("render", k + 1, total)
        writer.close()
    return writer


def _dubbed_frame(plan: _Plan, library: MouthLibrary, k: int, frame: Yuv420Frame) -> Yuv420Frame:
    """Output frame ``k`` from its source ``frame``, changed in place: only the lower
    face's box is converted to RGB, warped and converted back (the rest of the frame goes
    to the encoder as it was decoded)."""
    source, s = plan.source, int(plan.source_index[k])
    weight = float(source.weight[s])
    if weight <= 0.0:
        return frame
    points = source.track.points[s].astype(np.float64)
    mouth = source.mouths[int(source.block_of[s])]
    region = lower_face_region(points, mouth, (frame.width, frame.height))
    if region is None:
        return frame
    target = mouth_coefficients(plan.target_lips.at(k))
    delta = target - mouth_coefficients(source.motion[s, LIPS])
    motion = landmark_motion(mouth, points, weight * delta)
    # The box and a margin the remap's bilinear samples reach (even: 2x2 chroma blocks).
    x0, y0 = max(region.x0 - WARP_MARGIN, 0), max(region.y0 - WARP_MARGIN, 0)
    x1, y1 = min(region.x1 + WARP_MARGIN, frame.width), min(region.y1 + WARP_MARGIN, frame.height)
    local = points - (x0, y0, 0)
    warped = warp_lower_face(rgb_box(frame, x0, y0, x1, y1), local, motion, mouth)
    if warped is None:
        return frame
    patch, box = warped
    library.fill(patch, (box.x0, box.y0), local, motion, weight)
    frame.put_rgb(patch, x0 + box.x0, y0 + box.y0)
    return frame
