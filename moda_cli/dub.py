"""Dubbing a video: the same performance, speaking new audio.

    from moda_cli.dub import DubJob, Dubber
    result = Dubber(engine).dub(DubJob(Path("talk.mp4"), Path("talk_de.wav"), Path("out.mp4"),
                                       load_preset()))

A job runs as numbered stages:

1. check inputs: the video by its content (``video.source``), the audio's header, the
   output, before any model loads;
2. audio: decoded and featurised at the motion model's own frame rate;
3. track: the source decoded once (yuv420p, only the mesh's crop converted to RGB), the
   face followed frame by frame (``face.track``);
   only the meshes are kept, and a few mouth crops for the mouth library. The motion
   model loads in a thread meanwhile;
4. plan: per shot, the source's own motion read back from its meshes (the face model
   run backwards, ``facemodel.inverse``); per frame, how much of the dub it takes (none
   without a usable face, ramped over ``RAMP_FRAMES`` at the edges of such spans); the
   output's timeline (``--fit``, ping-pong);
5. render and encode: the motion model samples the new audio's mouth window by window in
   a thread, with the source's head, eyes and brows given as the output shows them, while
   the source is decoded again as a stream, in the encoder's yuv420p; each frame's lower
   face box converted to RGB and warped from the source's mouth to the generated one
   (``render.dub``), the interior from the source's own open mouths, and converted back;
   frames streamed to the encoder beside the audio, the rest of each as decoded.

Only the mouth channels of the motion (``LIP_NAMES``) are used: head pose, blinks, brows,
smiles, hands, cuts and the background stay the source's own pixels.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import temp_path_for
from .audio.decode import check_audio, load_audio
from .audio.features import num_video_frames
from .choices import Fit, KeepAudio
from .cpu_time import thread_cpu
from .errors import NoFaceFound, UsageError
from .face import landmarks as lm
from .face.identity import identity_features
from .face.track import FaceTracker, FaceTrackFrames, TrackRecorder, smooth_points
from .facemodel.basis import face_frame
from .facemodel.inverse import invert_meshes
from .facemodel.params import LIP_NAMES, NUM_PARAMS, indices
from .ffmpeg import ffmpeg_path_arg, probe, run_ffmpeg
from .motion.generator import GivenMotion, MotionRequest
from .motion.reference import ping_pong
from .motion.smoothing import moving_average
from .pipeline import Engine, Job, JobProgress, check_job, peak_rss_mb
from .pipeline.device import streaming_threads
from .pipeline.streaming import Ahead
from .presets import Preset
from .render.dub import (
    MouthLibrary,
    ShotMouth,
    landmark_motion,
    lower_face_region,
    mouth_coefficients,
    shot_mouth,
    warp_lower_face,
)
from .video.source import VideoInfo, probe_video, read_frames_at, read_yuv, rgb_box
from .video.writer import VideoWriter
from .video.yuv import Yuv420Frame

MOTION_FPS = 25.0  # the motion model's own rate: its windows and smoothing assume it
RAMP_FRAMES = 4  # frames over which the dub fades in and out beside frames without one
MIN_EYE_SPAN_PX = 12.0  # smaller faces pass through untouched
MAX_TURN_DEG = 60.0  # faces turned further from the camera (a profile) pass through
# A shot's lips at least this much redder than its chin (CIELAB a*) can tell a covered
# mouth: one below COVERED_SHARE of that (measured: 9.9-16 on a face with red lips,
# 0.6-7.9 on paler ones, where a hand could not be told from the lips).
CLEAR_REDNESS, COVERED_SHARE = 8.0, 0.3
INVERT_BLOCK = 1800  # frames read back at once (a minute at 30 fps: ~60 MB of float64 meshes)
WARP_MARGIN = 4  # px (even) of source converted around the warped box, for the remap's reach
MIX_LEVEL = 0.5  # --keep-audio mix: the original audio at -6 dB under the new one
_LIPS = np.array(indices(LIP_NAMES))


@dataclass
class DubJob:
    video: Path
    audio: Path
    output: Path
    preset: Preset
    fit: Fit = "audio"
    keep_audio: KeepAudio = "none"


@dataclass
class DubResult:
    output: Path
    frames: int
    audio_seconds: float
    stage_seconds: dict[str, float]
    # CPU seconds by where they went: "decode 1", "decode 2" (ffmpeg reading the source
    # in the tracking and the render pass), "load" (the motion model), "track" (the mesh
    # and mouth library, pass 1), "motion" (sampling), "render" (warp and mouth, pass 2),
    # "yuv" (the writer's conversion), "x264" (the encoder), "other" (checks, audio, plan)
    stage_cpu_seconds: dict[str, float]
    peak_rss_mb: float
    dubbed: float  # share of output frames whose mouth was replaced (partly or wholly)
    shots: int
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "output": str(self.output), "realtime_factor": self.realtime_factor}

    @property
    def realtime_factor(self) -> float:
        return sum(self.stage_seconds.values()) / max(self.audio_seconds, 1e-9)


def check_dub(job: DubJob) -> VideoInfo:
    """1. Fast checks before anything is decoded or loaded (a portrait job's, on the video
    in the portrait's place, then the video's and the audio's headers); its VideoInfo."""
    if job.preset.motion.pose_from is not None:
        raise UsageError(
            "--pose-from (motion.pose_from) drives a portrait; a dubbed video keeps its own head",
            path=job.video,
        )
    check_job(Job(job.video, job.audio, job.output, job.preset))
    info = probe_video(job.video)
    check_audio(job.audio)
    return info


@dataclass
class _Source:
    """4. The source read back, per source frame (T)."""

    track: FaceTrackFrames  # its meshes and shots
    motion: np.ndarray  # (T, 17) its own motion (NaN without a usable face), lips smoothed
    weight: np.ndarray  # (T,) 0..1 share of the dub each frame takes
    mouths: list[ShotMouth]  # blendshapes per block of a shot with a usable face
    block_of: np.ndarray  # (T,) each frame's block in ``mouths`` (-1: none)
    reference: np.ndarray  # (468, 3) the first block's neutral face (else the first face)


@dataclass
class _Plan:
    """4. What the render pass needs per output frame (N)."""

    source: _Source
    source_index: np.ndarray  # (N,) source frame shown at each output frame
    target_lips: GeneratedLips  # the generated mouth per output frame


def usable(track: FaceTrackFrames) -> np.ndarray:
    """(T,) bool: a face large enough, turned towards the camera enough, and its mouth
    not covered, to dub."""
    ok = track.found.copy()
    for t in np.flatnonzero(ok):
        pts = track.points[t].astype(np.float64)
        facing = abs(face_frame(lm.pad_iris(pts)).axes[2, 2])  # cos of the turn from the camera
        ok[t] = lm.eye_span(pts) >= MIN_EYE_SPAN_PX and facing >= np.cos(np.radians(MAX_TURN_DEG))
    return ok & ~covered(track)


def covered(track: FaceTrackFrames) -> np.ndarray:
    """(T,) bool: frames whose lips are no redder than the chin, in shots whose lips
    clearly are (median ``lip_redness`` at least CLEAR_REDNESS): a hand, a microphone.
    Pale lips, whose redness is within the mesh's noise, are never called covered."""
    out = np.zeros(len(track), bool)
    for shot in np.unique(track.shots[track.found]):
        frames = np.flatnonzero(track.found & (track.shots == shot))
        typical = float(np.median(track.redness[frames]))
        if typical >= CLEAR_REDNESS:
            out[frames] = track.redness[frames] < COVERED_SHARE * typical
    return out


def ramp(ok: np.ndarray, frames: int = RAMP_FRAMES) -> np.ndarray:
    """(T,) 0..1: 0 where not ``ok``, rising smoothly to 1 over ``frames`` frames away."""
    far = np.full(len(ok), float(frames + 1))
    last = -np.inf
    for t in range(len(ok)):  # distance to the nearest frame that is not ok, both ways
        last = t if not ok[t] else last
        far[t] = min(far[t], t - last)
    last = np.inf
    for t in range(len(ok) - 1, -1, -1):
        last = t if not ok[t] else last
        far[t] = min(far[t], last - t)
    x = np.clip(far / (frames + 1), 0.0, 1.0)
    return x * x * (3 - 2 * x)


def read_source(track: FaceTrackFrames) -> _Source:
    """The source's own motion read back from its meshes per shot (a long shot in blocks
    of INVERT_BLOCK frames, so that the inversion's arrays stay small), and the mouth
    blendshapes built on each block's most neutral face."""
    ok = usable(track)
    motion = np.full((len(track), NUM_PARAMS), np.nan, np.float32)
    mouths: list[ShotMouth] = []
    block_of = np.full(len(track), -1, np.int32)
    reference = track.points[int(np.argmax(track.found))]
    for shot in np.unique(track.shots[ok]):
        in_shot = np.flatnonzero(ok & (track.shots == shot))
        for start in range(0, len(in_shot), INVERT_BLOCK):
            frames = in_shot[start : start + INVERT_BLOCK]
            inverse = invert_meshes(track.points[frames], np.ones(len(frames), bool))
            motion[frames] = inverse.motion
            # The mesh's jitter would make the replaced mouth twitch: a 3-frame mean.
            motion[np.ix_(frames, _LIPS)] = moving_average(inverse.motion[:, _LIPS], 3)
            reference = inverse.ref if not mouths else reference
            block_of[frames] = len(mouths)
            mouths.append(shot_mouth(inverse.ref))
    return _Source(track, motion, ramp(ok), mouths, block_of, reference)


def given_motion(source: _Source, index: np.ndarray, fps: float, num_frames: int) -> GivenMotion:
    """The source's head, eyes, brows and smile at the motion model's ``num_frames``
    frames, as the output shows them (``index``: source frame per output frame at ``fps``):
    the model samples only the mouth, coherent with them (NaN: sampled)."""
    at = np.minimum(
        np.floor(np.arange(num_frames) * fps / MOTION_FPS + 0.5).astype(int), len(index) - 1
    )
    values = source.motion[index[at]].copy()
    values[:, _LIPS] = np.nan
    return GivenMotion(values)


class GeneratedLips:
    """The generated mouth at the output's frames, read from the motion model's chunks
    (MOTION_FPS rows, in order) as they come, so rendering starts with the first window;
    closed after the audio."""

    def __init__(self, chunks: Iterator[np.ndarray], fps: float, audio_s: float) -> None:
        self._chunks, self._fps, self._audio_s = chunks, fps, audio_s
        self._rows: list[np.ndarray] = []  # (n, 5) each: a few bytes a frame, kept
        self._have = 0
        self._done = False

    def at(self, k: int) -> np.ndarray:
        """(5,) LIP_NAMES at output frame ``k``: linear between the two model frames."""
        t = k / self._fps
        if t >= self._audio_s:
            return np.zeros(len(LIP_NAMES), np.float32)
        pos = t * MOTION_FPS
        i = int(pos)
        while self._have < i + 2 and not self._done:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._done = True
                break
            self._rows.append(np.asarray(chunk)[:, _LIPS])
            self._have += len(chunk)
        lips = np.concatenate(self._rows) if len(self._rows) > 1 else self._rows[0]
        self._rows = [lips]
        i = min(i, len(lips) - 1)
        j, w = min(i + 1, len(lips) - 1), np.float32(pos - int(pos))
        return ((1 - w) * lips[i] + w * lips[j]).astype(np.float32)


class Dubber:
    """Dubs videos with an ``Engine``'s models (loaded once, shared with portrait jobs)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def dub(self, job: DubJob, progress: JobProgress | None = None) -> DubResult:
        """Dub ``job``; ``progress`` hears ("face", frames tracked, source frames) and
        ("render", frames written, output frames) as the two passes go."""
        notify: JobProgress = progress or (lambda stage, done, total: None)
        seconds: dict[str, float] = {}
        clock = _Clock(seconds)
        with clock("check"):
            info = check_dub(job)
        with clock("audio"):
            audio = load_audio(job.audio)
            features = self.engine.features(audio, MOTION_FPS)
            audio_s = audio.duration_s
            del audio
        with clock("track"), ThreadPoolExecutor(1, thread_name_prefix="moda-dub") as pool:
            # The motion model loads beside the tracking pass.
            loading = pool.submit(_timed, self.engine.generator, job.preset.motion.generator)
            track, library = _track(info, notify)
            if not track.found.any():
                raise NoFaceFound(
                    "no face found in any frame of the video",
                    path=job.video,
                    hint="give a video of a person facing the camera",
                )
            generator, clock.parts["load"] = loading.result()
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
        _output_audio(job, info, total / float(info.fps)) as audio,
        VideoWriter(job.output, settings=settings, audio=audio, expected_frames=total) as writer,
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
    delta = target - mouth_coefficients(source.motion[s, _LIPS])
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


@contextlib.contextmanager
def _output_audio(job: DubJob, info: VideoInfo, duration_s: float) -> Iterator[Path]:
    """The sound track to mux: the new audio as it is, or (cut or padded to the video's
    length with ``--fit video``, the source's sound under it with ``--keep-audio mix``) a
    lossless temporary file at the new audio's own sample rate and channel layout."""
    mix = job.keep_audio == "mix" and info.has_audio
    if job.fit == "audio" and not mix:
        yield job.audio
        return
    new = probe(job.audio)
    tmp = temp_path_for(job.output.with_suffix(".flac"))  # hidden, beside the output
    args = ["-y", "-i", ffmpeg_path_arg(job.audio)]
    # Cut, or padded with silence, to the video's length: a finite stream, so amix ends.
    chain = f"[0:a:0]apad=whole_dur={duration_s:.6f},atrim=duration={duration_s:.6f}"
    if mix:
        args += ["-i", ffmpeg_path_arg(job.video)]
        chain += f"[new];[1:a:0]volume={MIX_LEVEL}[old];"
        chain += "[new][old]amix=inputs=2:duration=first:normalize=0"
    args += ["-filter_complex", chain, "-vn", "-sn", "-dn", "-t", f"{duration_s:.6f}"]
    args += ["-ar", str(new.audio_rate), "-ac", str(new.audio_channels)]
    args += ["-c:a", "flac", "-sample_fmt", "s32", ffmpeg_path_arg(tmp)]
    try:
        run_ffmpeg(args, path=job.audio)
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
    """``fn(*args)`` and the CPU seconds of the thread that ran it."""
    start = thread_cpu()
    return fn(*args), thread_cpu() - start


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the ffmpeg runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _Clock:
    """Wall seconds per stage into ``seconds``; the process's and its children's CPU
    seconds per stage, and ``parts`` measured by the threads themselves (model loading,
    motion sampling, the writer's conversion and encoder), for ``cpu_split``."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds
        self.cpu: dict[str, float] = {}
        self.children: dict[str, float] = {}
        self.parts: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
            self.cpu[stage] = self.cpu.get(stage, 0.0) + time.process_time() - cpu
            self.children[stage] = self.children.get(stage, 0.0) + _children_cpu() - children

    def cpu_split(self) -> dict[str, float]:
        """CPU seconds by where they went (``DubResult.stage_cpu_seconds``)."""
        p = self.parts
        split = {
            "decode 1": self.children["track"],
            "decode 2": self.children["render"] - p["x264"],
            "load": p["load"],
            "track": self.cpu["track"] - p["load"],
            "motion": p["motion"],
            "render": self.cpu["render"] - p["motion"] - p["yuv"],
            "yuv": p["yuv"],
            "x264": p["x264"],
        }
        split["other"] = sum(self.cpu.values()) + sum(self.children.values()) - sum(split.values())
        return {k: round(v, 3) for k, v in split.items()}
