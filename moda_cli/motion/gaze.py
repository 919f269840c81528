"""Gaze: where the eyes look, as ARKit's eight eyeLook shapes, a layer over the joint motion.

A speaker addressing a camera holds eye contact, but the eyes are never still: they jump
in small saccades between nearby fixation points (1-3 degrees, two or three a second in
conversation; each jump a quick 30-60 ms, the longer the larger: the saccadic main
sequence, about 21 ms + 2.2 ms a degree, Carpenter 1988), and in a pause to think they
glance away, mostly down or to the side, for 0.3-1.2 s before speech resumes (gaze
aversion while planning speech: Kendon 1967, Glenberg et al. 1998).

``GAZE_STYLES`` (the preset's ``motion.gaze``):

* ``camera``: eye contact with small saccades and, in pauses of speech of at least
  ``MIN_PAUSE_S``, glances away (most pauses, not all);
* ``steady``: a news anchor's steady eye contact: only tiny fixational saccades (under half
  a degree), no glances;
* ``away``: the eyes rest off-camera to one side (the side drawn per seed), as when
  talking to an interviewer beside the camera, with the saccades and glances of ``camera``.

Pauses are read from the speech activity of the audio's loudness envelope
(``prior.speech_activity``: the same reading the baseline generator and the blink prior
use), known for the whole clip before any motion is sampled.

Angles: yaw positive towards the image's right (the subject's left), pitch positive down,
the signs of the head's yaw and pitch. Both eyes turn together (conjugate; the vergence
of a camera at a metre or more is under a degree and left out): a look to the subject's
left is eyeLookOutLeft and eyeLookInRight; down is both eyeLookDown. One unit of an eyeLook
shape is ``arkit.EYE_LOOK_DEG`` degrees. A seed fixes the curves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..facemodel.arkit import BLENDSHAPE_NAMES, EYE_LOOK_DEG
from .settings import Gaze

MIN_PAUSE_S = 0.4  # a pause of speech this long is a thinking pause that may hold a glance
_STREAM = 0x47  # the layer's own random stream beside the seed ('G')

# The eight shapes in ARKit's order, and their columns among the 52.
GAZE_SHAPES = tuple(n for n in BLENDSHAPE_NAMES if n.startswith("eyeLook"))
GAZE_COLUMNS = [BLENDSHAPE_NAMES.index(n) for n in GAZE_SHAPES]


@dataclass(frozen=True)
class GazeStyle:
    """One ``motion.gaze`` choice. Angles in degrees, times in seconds."""

    saccade_deg: tuple[float, float]  # amplitude range of a fixational saccade
    saccade_every_s: float  # mean interval between saccades
    spread_deg: float  # fixations stay about this close to the resting point
    glance_prob: float  # chance that a thinking pause holds a glance away
    rest_yaw_deg: float = 0.0  # the resting point off the camera, to a side drawn per seed
    rest_pitch_deg: float = 0.0


GAZE_STYLES: dict[str, GazeStyle] = {
    "camera": GazeStyle((1.0, 3.0), 0.4, 2.0, 0.7),
    "steady": GazeStyle((0.15, 0.45), 0.9, 0.3, 0.0),
    "away": GazeStyle((1.0, 3.0), 0.4, 2.0, 0.5, rest_yaw_deg=15.0, rest_pitch_deg=4.0),
}
MIN_FIXATION_S = 0.15  # no saccade follows another sooner
GLANCE_S = (0.3, 1.2)  # how long a glance away lasts
GLANCE_DELAY_S = (0.05, 0.25)  # after the pause starts
GLANCE_DOWN_DEG = (8.0, 14.0)
GLANCE_SIDE_DEG = (8.0, 15.0)


def saccade_duration(amplitude_deg: np.ndarray) -> np.ndarray:
    """Seconds a saccade of ``amplitude_deg`` takes: the main sequence, 30-60 ms."""
    return np.clip(0.021 + 0.0022 * np.asarray(amplitude_deg), 0.03, 0.06)


@dataclass
class Jumps:
    """Saccades: at ``times`` (K,) s the gaze starts moving by ``steps`` (K, 2) degrees
    (yaw, pitch) and arrives ``durations`` (K,) s later."""

    times: np.ndarray
    steps: np.ndarray
    durations: np.ndarray

    @staticmethod
    def of(times: list[float], steps: list[np.ndarray]) -> Jumps:
        s = np.array(steps, np.float64).reshape(-1, 2)
        t = np.array(times, np.float64)
        order = np.argsort(t, kind="stable")
        return Jumps(t[order], s[order], saccade_duration(np.hypot(*s.T))[order])

    def angles(self, t: np.ndarray) -> np.ndarray:
        """(T, 2) the gaze at times ``t`` (s): every jump begun, eased over its duration."""
        out = np.zeros((len(t), 2))
        for when, step, dur in zip(self.times, self.steps, self.durations, strict=True):
            x = np.clip((t - when) / dur, 0.0, 1.0)
            out += (x * x * (3.0 - 2.0 * x))[:, None] * step[None]
        return out


def fixational_saccades(
    duration_s: float, style: GazeStyle, rng: np.random.Generator
) -> tuple[list[float], list[np.ndarray]]:
    """Saccade times and steps around the resting point: amplitudes in
    ``style.saccade_deg``, directions random but turned back towards the resting point
    once a fixation is more than half ``style.spread_deg`` from it."""
    times: list[float] = []
    steps: list[np.ndarray] = []
    where = np.zeros(2)
    t = rng.uniform(0.0, style.saccade_every_s)
    while t < duration_s:
        amplitude = rng.uniform(*style.saccade_deg)
        angle = rng.uniform(-np.pi, np.pi)
        if np.hypot(*where) > 0.5 * style.spread_deg:
            angle = np.arctan2(-where[1], -where[0]) + rng.uniform(-0.5 * np.pi, 0.5 * np.pi)
        step = amplitude * np.array([np.cos(angle), np.sin(angle)])
        times.append(t)
        steps.append(step)
        where = where + step
        t += MIN_FIXATION_S + rng.exponential(style.saccade_every_s - MIN_FIXATION_S)
    return times, steps


def pauses(activity: np.ndarray, fps: float, min_s: float = MIN_PAUSE_S) -> np.ndarray:
    """(P, 2) start and end (s) of each stretch of silence after speech of at least
    ``min_s`` (the silence before the first word is no pause)."""
    act = np.concatenate([[False], np.asarray(activity, bool), [True]])
    ends = np.nonzero(act[:-1] & ~act[1:])[0]  # last speaking frame + 1 -> silence starts
    starts = np.nonzero(~act[:-1] & act[1:])[0]  # silence ends
    out = [(a / fps, b / fps) for a in ends if (b := starts[starts > a][0]) - a >= min_s * fps]
    return np.array(out, np.float64).reshape(-1, 2)


def glances(
    silences: np.ndarray, style: GazeStyle, rng: np.random.Generator
) -> tuple[list[float], list[np.ndarray]]:
    """Jumps away and back in ``silences`` ((P, 2) s): each pause holds a glance with
    ``style.glance_prob``, down or to a side, starting soon after the pause begins, lasting
    ``GLANCE_S`` and back by the time speech resumes."""
    times: list[float] = []
    steps: list[np.ndarray] = []
    for start, end in silences:
        if rng.random() >= style.glance_prob:
            continue
        begin = start + rng.uniform(*GLANCE_DELAY_S)
        length = min(rng.uniform(*GLANCE_S), end - begin)
        if length < GLANCE_S[0]:
            continue
        if rng.random() < 0.5:
            away = np.array([0.0, rng.uniform(*GLANCE_DOWN_DEG)])
        else:
            side = rng.choice([-1.0, 1.0])
            away = np.array([side * rng.uniform(*GLANCE_SIDE_DEG), rng.uniform(0.0, 4.0)])
        times += [begin, begin + length]
        steps += [away, -away]
    return times, steps


def gaze_angles(style: Gaze, activity: np.ndarray, fps: float, seed: int) -> np.ndarray:
    """(T, 2) float64 gaze yaw and pitch (degrees) per frame for a clip whose speech
    activity is ``activity`` (T,) bool."""
    look = GAZE_STYLES[style]
    rng = np.random.default_rng((seed, _STREAM))
    t = (np.arange(len(activity)) + 0.5) / fps
    side = rng.choice([-1.0, 1.0])
    rest = np.array([side * look.rest_yaw_deg, look.rest_pitch_deg])
    times, steps = fixational_saccades(len(activity) / fps, look, rng)
    more_times, more_steps = glances(pauses(activity, fps), look, rng)
    return rest + Jumps.of(times + more_times, steps + more_steps).angles(t)


def eye_look(angles: np.ndarray) -> np.ndarray:
    """(T, 2) yaw, pitch degrees -> (T, 8) float32 ``GAZE_SHAPES``, both eyes together."""
    yaw, pitch = np.asarray(angles, np.float64).T / EYE_LOOK_DEG
    left, right, down, up = (np.clip(v, 0.0, 1.0) for v in (yaw, -yaw, pitch, -pitch))
    by_name = {
        "eyeLookDownLeft": down,
        "eyeLookInLeft": right,  # the left eye turns to the subject's right: its nose side
        "eyeLookOutLeft": left,
        "eyeLookUpLeft": up,
        "eyeLookDownRight": down,
        "eyeLookInRight": left,
        "eyeLookOutRight": right,
        "eyeLookUpRight": up,
    }
    return np.stack([by_name[n] for n in GAZE_SHAPES], axis=1).astype(np.float32)


def apply_gaze(shapes: np.ndarray, look: np.ndarray) -> np.ndarray:
    """(n, 52) ARKit rows with (n, 8) ``eye_look`` rows added to their eyeLook shapes."""
    out = np.array(shapes, np.float32)
    out[:, GAZE_COLUMNS] = np.clip(out[:, GAZE_COLUMNS] + look, 0.0, 1.0)
    return out
