"""A stochastic prior for the motion that speech does not determine: blinks, head, brows, bearing.

Lips follow the sounds; everything else in a talking face is only loosely coupled to
speech. This module samples that loose coupling. It is used twice: by the baseline
generator (driven by the audio envelope) and by the training-data builder (driven by
the phoneme timings of synthetic speech), so the learned model is trained on the same
behaviour the baseline shows, with the per-clip intensities as conditions.

Every function is pure: all randomness comes from the ``numpy.random.Generator`` passed
in, so a seed fixes the result. Times are in video frames at ``fps``; frame t stands for
the instant ``(t + 0.5) / fps``.

What is modelled, and why:

* Blinks: a renewal process at ``rate`` per minute with a refractory gap (no two blinks
  closer than ~0.25 s or 40 % of the mean interval), so blinks are spread like people's
  and not clumped like a pure Poisson process. Each blink has a person's lid kinematics
  (``BlinkKinematics``: eased fall, a brief shut rest, a slower eased rise; 0.3 s or so
  in all), with the shut instant on a frame, so a 25 fps video shows the eye shut on at
  least two frames. Both eyes blink together. People tend to blink when they stop
  talking, so a pause onset triggers a blink with some probability (that blink replaces
  the nearest random one, keeping the rate).
* Head: band-limited noise (two bands: a slow drift ~1.2 s and a sway ~0.35 s) scaled to
  natural spreads of pitch/yaw/roll (about 2.5 / 3.5 / 1.5 degrees at intensity 1),
  louder while speaking and decaying towards rest in long pauses; stressed syllables
  trigger short nods (chin down, 1-2 degrees, about one in three); translation and scale
  follow the rotation slightly, as a real head pivoting on the neck moves the face box.
* Brows: raised briefly on some stressed syllables (emphasis), plus a little slow noise.
* Emotion, the head's part of it (its bearing): sad people move less and hold the head
  lower, happy and angry ones move more, surprise lifts the chin, contempt tilts it
  (``EMOTION_BEARING``, scaled by each emotion's intensity in a mixture, with a slow
  +-15 % wobble). The face's part is FACS (``expression.py``), which the training data
  adds in the joint space (``train/clip.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..facemodel.core import LIP_NAMES, NUM_CORE, core_index
from ..facemodel.emotions import EMOTIONS, EmotionMix
from ..facemodel.params import POSE_SLICE

# Natural spread (std) of pitch, yaw, roll (deg), tx, ty, scale at head intensity 1.
NATURAL_POSE_STD = np.array([2.5, 3.5, 1.5, 0.010, 0.008, 0.010])

# The head's part of each emotion at intensity 1: pose offsets (degrees; pitch positive =
# chin down) and "head_gain", which scales the head's motion.
EMOTION_BEARING: dict[str, dict[str, float]] = {
    "anger": {"head_gain": 1.2},
    "contempt": {"roll": 2.0},
    "disgust": {},
    "fear": {"head_gain": 0.8},
    "happiness": {"head_gain": 1.2},
    "neutral": {},
    "sadness": {"pitch": 3.0, "head_gain": 0.7},
    "surprise": {"pitch": -2.0},
}
assert set(EMOTION_BEARING) == set(EMOTIONS)
_POSE_NAMES = ("pitch", "yaw", "roll", "tx", "ty", "scale")
Frames = Sequence[int] | np.ndarray  # frame indices


# ----------------------------------------------------------------------------- speech cues


def speech_activity(
    envelope: np.ndarray, fps: float, threshold: float = 0.12, bridge_s: float = 0.25
) -> np.ndarray:
    """(T,) bool: speaking, with gaps shorter than ``bridge_s`` (stop closures) bridged."""
    active = np.asarray(envelope) > threshold
    return bridge_gaps(active, int(round(bridge_s * fps)))


def bridge_gaps(active: np.ndarray, max_gap: int) -> np.ndarray:
    """Fill runs of False no longer than max_gap frames that lie between True frames."""
    out = active.copy()
    idx = np.nonzero(active)[0]
    if len(idx) < 2:
        return out
    for a, b in zip(idx[:-1], idx[1:], strict=True):
        if 1 < b - a <= max_gap + 1:
            out[a:b] = True
    return out


def pause_onsets(activity: np.ndarray, fps: float, min_pause_s: float = 0.3) -> np.ndarray:
    """Frames where speech stops for at least ``min_pause_s`` (int64 indices)."""
    act = np.asarray(activity, bool)
    ends = np.nonzero(act[:-1] & ~act[1:])[0] + 1
    min_len = int(round(min_pause_s * fps))
    keep = []
    for e in ends:
        nxt = np.nonzero(act[e:])[0]
        length = nxt[0] if len(nxt) else len(act) - e
        if length >= min_len:
            keep.append(e)
    return np.array(keep, dtype=np.int64)


def accents_from_envelope(
    envelope: np.ndarray, fps: float, min_gap_s: float = 0.45, height: float = 0.55
) -> np.ndarray:
    """Loudness peaks (a proxy for stressed syllables) as frame indices."""
    env = gaussian_filter1d(np.asarray(envelope, np.float64), sigma=max(0.04 * fps, 0.5))
    if len(env) < 3:
        return np.zeros(0, np.int64)
    peaks = (
        np.nonzero((env[1:-1] > env[:-2]) & (env[1:-1] >= env[2:]) & (env[1:-1] > height))[0] + 1
    )
    gap = int(round(min_gap_s * fps))
    keep: list[int] = []
    for p in peaks[np.argsort(-env[peaks])]:  # strongest first, drop weaker neighbours
        if all(abs(p - k) >= gap for k in keep):
            keep.append(int(p))
    return np.array(sorted(keep), dtype=np.int64)


# ----------------------------------------------------------------------------- blinks


@dataclass(frozen=True)
class BlinkKinematics:
    """One blink's lid movement, in seconds, around the instant the lid first shuts.

    Spontaneous blinks last about 100-400 ms in all (Stern, Walrath & Goldstein 1984,
    Psychophysiology 21:22); the lid falls fast, about 70-100 ms, rests shut briefly and
    rises about twice as slowly, 150-250 ms (Evinger, Manning & Sibony 1991, IOVS 32:387;
    VanderWerf et al. 2003, J Neurophysiol 89:2784); both movements start and end
    gently (an eased profile, not a ramp). The closed rest is kept at one frame interval
    of 25 fps or more, so that a blink whose shut instant falls on a frame shows the eye
    shut on at least two frames: a single shut frame is lost to a viewer and to a tracker.
    """

    close_s: float = 0.085
    hold_s: float = 0.05
    open_s: float = 0.2
    depth: float = 1.0  # closure reached: 1 = shut

    @property
    def reach_s(self) -> tuple[float, float]:
        """(before, after): how long before and after the shut instant the lid moves."""
        return self.close_s, self.hold_s + self.open_s


def sample_kinematics(rng: np.random.Generator) -> BlinkKinematics:
    """A spontaneous blink's kinematics, drawn within the ranges of ``BlinkKinematics``."""
    return BlinkKinematics(
        close_s=rng.uniform(0.07, 0.10),
        hold_s=rng.uniform(0.04, 0.08),
        open_s=rng.uniform(0.15, 0.25),
        depth=rng.uniform(0.95, 1.0),
    )


def blink_profile(t_rel: np.ndarray, kin: BlinkKinematics) -> np.ndarray:
    """Lid closure 0..depth at times ``t_rel`` (s) from the shut instant: an eased fall,
    the shut rest, an eased rise."""
    falling = np.clip(1.0 + t_rel / kin.close_s, 0.0, 1.0)
    rising = np.clip((t_rel - kin.hold_s) / kin.open_s, 0.0, 1.0)
    shape = np.where(
        t_rel <= 0.0, 0.5 - 0.5 * np.cos(np.pi * falling), 0.5 + 0.5 * np.cos(np.pi * rising)
    )
    return kin.depth * shape


def draw_blinks(
    frames: np.ndarray, fps: float, shut: Frames, kinematics: Sequence[BlinkKinematics]
) -> np.ndarray:
    """(len(frames),) float32 lid closure at ``frames`` for blinks shut at frames ``shut``.

    The one definition of a blink's shape: the prior's training targets and the learned
    generator's blinks are both drawn here. Frame t stands for the instant (t + 0.5) / fps,
    so a blink shut at frame f is fully shut on frame f.
    """
    frames = np.asarray(frames, np.float64)
    out = np.zeros(len(frames))
    for f, kin in zip(np.asarray(shut, np.int64), kinematics, strict=True):
        out = np.maximum(out, blink_profile((frames - f) / fps, kin))
    return out.astype(np.float32)


def blink_times(
    num_frames: int,
    fps: float,
    rate_per_min: float,
    rng: np.random.Generator,
    pause_onsets: Frames = (),
    pause_blink_prob: float = 0.35,
) -> np.ndarray:
    """Frame indices of fully-closed instants."""
    duration = num_frames / fps
    if rate_per_min <= 0 or num_frames == 0:
        return np.zeros(0, np.int64)
    mean = 60.0 / rate_per_min
    refractory = min(0.25 + 0.15 * mean, 0.4 * mean)
    times: list[float] = []
    t = rng.uniform(0.0, mean)  # a random phase: clips do not all start with the same gap
    while t < duration:
        times.append(t)
        t += refractory + rng.exponential(mean - refractory)
    fixed: list[float] = []  # pause blinks; each replaces the nearest random blink (rate kept)
    for f in pause_onsets:
        if rng.random() < pause_blink_prob and times:
            tp = (f + 0.5) / fps + rng.uniform(0.0, 0.15)
            times.pop(int(np.argmin([abs(x - tp) for x in times])))
            times = [x for x in times if abs(x - tp) >= refractory]
            fixed.append(tp)
    all_times = np.array(times + fixed)
    return np.unique(np.clip(np.floor(all_times * fps), 0, num_frames - 1).astype(np.int64))


def blink_track(
    num_frames: int,
    fps: float,
    rate_per_min: float,
    rng: np.random.Generator,
    pause_onsets: Frames = (),
    pause_blink_prob: float = 0.35,
) -> np.ndarray:
    """(T,) float32 lid closure 0..1 shared by both eyes."""
    shut = blink_times(num_frames, fps, rate_per_min, rng, pause_onsets, pause_blink_prob)
    kinematics = [sample_kinematics(rng) for _ in shut]
    return draw_blinks(np.arange(num_frames), fps, shut, kinematics)


# ----------------------------------------------------------------------------- head and brows


def band_noise(
    num_frames: int, fps: float, sigma_s: float, rng: np.random.Generator, channels: int = 1
) -> np.ndarray:
    """(T, C) smooth Gaussian noise with unit std, bandwidth ~ 1 / (2 pi sigma_s) Hz.

    Normalised by the filter's theoretical gain, not the sample std, so short clips are
    not inflated."""
    sigma = max(sigma_s * fps, 0.5)
    pad = int(4 * sigma)
    white = rng.standard_normal((num_frames + 2 * pad, channels))
    smooth = gaussian_filter1d(white, sigma, axis=0, mode="wrap")[pad : pad + num_frames]
    return smooth * np.sqrt(2.0 * np.sqrt(np.pi) * sigma)


def _bumps(
    num_frames: int, fps: float, centres_s: np.ndarray, amps: np.ndarray, width_s: np.ndarray
) -> np.ndarray:
    t = (np.arange(num_frames) + 0.5) / fps
    if len(centres_s) == 0:
        return np.zeros(num_frames)
    return np.sum(
        amps[:, None] * np.exp(-0.5 * ((t[None] - centres_s[:, None]) / width_s[:, None]) ** 2),
        axis=0,
    )


def activity_gain(
    activity: np.ndarray | None, num_frames: int, fps: float, rest: float = 0.35
) -> np.ndarray:
    """(T,) 1 while speaking, easing to ``rest`` over ~1 s of silence (drift back to rest)."""
    if activity is None:
        return np.ones(num_frames)
    smooth = gaussian_filter1d(np.asarray(activity, np.float64), sigma=0.5 * fps, mode="nearest")
    return rest + (1.0 - rest) * np.clip(1.6 * smooth, 0.0, 1.0)


def head_motion(
    num_frames: int,
    fps: float,
    intensity: float,
    rng: np.random.Generator,
    activity: np.ndarray | None = None,
    accents: Frames = (),
    nod_prob: float = 0.3,
) -> np.ndarray:
    """(T, 6) float32 pitch, yaw, roll (deg), tx, ty, scale; all zeros at intensity 0."""
    slow = band_noise(num_frames, fps, 1.2, rng, 6)
    sway = band_noise(num_frames, fps, 0.35, rng, 6)
    pose = (0.8 * slow + 0.6 * sway) * NATURAL_POSE_STD[None]
    acc = np.asarray(accents, np.int64)
    nod = rng.random(len(acc)) < nod_prob
    centres = (acc[nod] + 0.5) / fps - 0.05  # the apex slightly leads the syllable
    amps = rng.uniform(0.8, 2.2, len(centres))
    pose[:, 0] += _bumps(num_frames, fps, centres, amps, rng.uniform(0.1, 0.16, len(centres)))
    pose *= activity_gain(activity, num_frames, fps)[:, None]
    # A head pivoting on the neck moves the face box with it.
    pose[:, 3] += 0.003 * pose[:, 1]
    pose[:, 4] += 0.002 * pose[:, 0]
    return (intensity * pose).astype(np.float32)


def brow_motion(
    num_frames: int,
    fps: float,
    intensity: float,
    rng: np.random.Generator,
    accents: Frames = (),
    raise_prob: float = 0.3,
) -> np.ndarray:
    """(T, 2) float32 brow_raise, brow_furrow >= 0: emphasis raises plus slow noise."""
    acc = np.asarray(accents, np.int64)
    pick = rng.random(len(acc)) < raise_prob
    centres = (acc[pick] + 0.5) / fps
    raise_ = _bumps(
        num_frames,
        fps,
        centres,
        rng.uniform(0.2, 0.5, len(centres)),
        rng.uniform(0.12, 0.25, len(centres)),
    )
    noise = band_noise(num_frames, fps, 1.0, rng, 2)
    raise_ = raise_ + 0.05 * np.abs(noise[:, 0])
    furrow = 0.04 * np.abs(noise[:, 1])
    return (intensity * np.stack([raise_, furrow], axis=1)).astype(np.float32)


# ----------------------------------------------------------------------------- emotion


def emotion_bearing(
    mix: EmotionMix, head: float, num_frames: int, fps: float, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """(T, 6) pose offsets of the mixture ``mix`` (``EMOTION_BEARING`` x each intensity x
    ``head``, with a slow +-15 % wobble) and its head gain (1 + the intensity-weighted sum
    of each gain's departure from 1)."""
    wobble = 1.0 + 0.15 * np.clip(band_noise(num_frames, fps, 1.5, rng, 1)[:, 0], -2, 2)
    out = np.zeros((num_frames, len(_POSE_NAMES)), np.float32)
    gain = 1.0
    for label, intensity in mix.items():
        for name, value in EMOTION_BEARING[label].items():
            if name == "head_gain":
                gain += intensity * (value - 1.0)
            else:
                out[:, _POSE_NAMES.index(name)] += intensity * value * head * wobble
    return out, gain


# ----------------------------------------------------------------------------- composition


def sample_nonlip_motion(
    num_frames: int,
    fps: float,
    rng: np.random.Generator,
    *,
    head: float,
    expression: float,
    blink_rate: float,
    emotion: EmotionMix | None = None,
    activity: np.ndarray | None = None,
    accents: Frames = (),
    pauses: Frames = (),
) -> np.ndarray:
    """(T, 17) float32 core channels: head pose (with the emotion mixture's bearing),
    blinks and brows; lips are zero (add speech lips with ``compose``). Draw order is
    fixed, so a seed fixes the result."""
    bearing, head_gain = emotion_bearing(emotion or {}, head, num_frames, fps, rng)
    motion = np.zeros((num_frames, NUM_CORE), np.float32)
    motion[:, POSE_SLICE] = bearing
    motion[:, POSE_SLICE] += head_motion(num_frames, fps, head * head_gain, rng, activity, accents)
    blink = blink_track(num_frames, fps, blink_rate, rng, pauses)
    motion[:, core_index("blink_left")] = blink
    motion[:, core_index("blink_right")] = blink
    brows = brow_motion(num_frames, fps, expression, rng, accents)
    motion[:, core_index("brow_raise")] += brows[:, 0]
    motion[:, core_index("brow_furrow")] += brows[:, 1]
    return motion


def compose(nonlip: np.ndarray, lips: np.ndarray) -> np.ndarray:
    """Speech lips (T, 5 in LIP_NAMES order) put into ``sample_nonlip_motion``'s output;
    expression columns are clamped to 0..1."""
    out = nonlip.copy()
    out[:, [core_index(n) for n in LIP_NAMES]] = lips
    expr = slice(POSE_SLICE.stop, NUM_CORE)
    out[:, expr] = np.clip(out[:, expr], 0.0, 1.0)
    return out.astype(np.float32)
