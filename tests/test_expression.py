"""Emotions as FACS action units in ARKit's shapes (motion/expression.py): mixtures, their
curves in time, lip sync kept under them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moda_cli.facemodel.arkit import BLENDSHAPE_NAMES
from moda_cli.facemodel.basis import lip_gap
from moda_cli.facemodel.core import JAW_GAIN, lip_press
from moda_cli.facemodel.emotions import EMOTIONS, format_mix, parse_mix
from moda_cli.motion.expression import (
    ONSET_S,
    SPEECH_SHAPES,
    VARIATION,
    apply_emotion,
    emotion_curves,
    emotion_vector,
)

FPS = 25.0
COL = {n: i for i, n in enumerate(BLENDSHAPE_NAMES)}


def test_a_mixture_reads_with_intensities_and_names_what_is_wrong():
    assert parse_mix("happiness:0.6, surprise:.2") == {"happiness": 0.6, "surprise": 0.2}
    assert parse_mix("fear") == {"fear": 1.0} and parse_mix("none") == {}
    assert format_mix(parse_mix("happiness:1.0,sadness:0.25")) == "happiness,sadness:0.25"
    for text, says in [
        ("joy", "unknown emotion 'joy'"),
        ("happiness:1.5", "intensity '1.5' is not a number from 0 to 1"),
        ("anger:lots", "intensity 'lots'"),
        ("fear,fear:0.5", "'fear' is given twice"),
        ("none,happiness", "'none' stands alone"),
    ]:
        with pytest.raises(ValueError, match=says):
            parse_mix(text)


def _delta(emotion: str, name: str) -> float:
    return float(emotion_vector(emotion)[COL[name]])


def test_each_emotion_is_its_action_units():
    assert (
        _delta("happiness", "mouthSmileLeft") > 0.5 and _delta("happiness", "cheekSquintLeft") > 0
    )
    assert _delta("sadness", "browInnerUp") > 0.5 and _delta("sadness", "mouthFrownRight") > 0.5
    for emotion in ("surprise", "fear"):
        assert _delta(emotion, "browOuterUpLeft") > 0.3 and _delta(emotion, "eyeWideRight") > 0.5
    assert _delta("fear", "mouthStretchLeft") > 0 and _delta("fear", "browDownLeft") > 0
    assert _delta("anger", "browDownRight") > 0.8 and _delta("anger", "eyeSquintLeft") > 0
    assert _delta("disgust", "noseSneerLeft") > 0.5 and _delta("disgust", "mouthUpperUpRight") > 0
    left = _delta("contempt", "mouthSmileLeft") + _delta("contempt", "mouthDimpleLeft")
    right = _delta("contempt", "mouthSmileRight") + _delta("contempt", "mouthDimpleRight")
    assert left > 1.0 and right == 0.0  # one side only
    assert not emotion_vector("neutral").any()
    speech = [COL[n] for n in SPEECH_SHAPES]
    touched = {e for e in EMOTIONS if emotion_vector(e)[speech].any()}
    assert touched == {"surprise", "anger"}  # the jaw drop and the lip tightening alone


def test_curves_ease_in_then_wander_slowly_and_mixtures_add():
    frames = int(20 * FPS)
    curves = emotion_curves({"sadness": 1.0}, frames, FPS, seed=4)
    inner = curves[:, COL["browInnerUp"]]
    full = _delta("sadness", "browInnerUp")
    assert inner[0] < 0.05 * full  # a face settles into an expression
    settled = inner[int(ONSET_S * FPS) :] / full
    assert 0.0 < settled.std() < 2 * VARIATION and abs(settled.mean() - 1) < VARIATION
    assert np.abs(np.diff(settled)).max() < 0.02  # slow: no flicker frame to frame
    assert np.array_equal(curves, emotion_curves({"sadness": 1.0}, frames, FPS, seed=4))
    assert not np.array_equal(curves, emotion_curves({"sadness": 1.0}, frames, FPS, seed=5))
    disgust = emotion_curves({"disgust": 1.0}, frames, FPS, seed=4)  # none of it clipped
    half = emotion_curves({"disgust": 0.5}, frames, FPS, seed=4)
    assert np.allclose(half, 0.5 * disgust, atol=1e-6)
    mix = emotion_curves({"disgust": 0.5, "surprise": 0.5}, frames, FPS, seed=4)
    both = half + emotion_curves({"surprise": 0.5}, frames, FPS, seed=4)
    assert np.allclose(mix, np.clip(both, 0, 1), atol=1e-6)
    assert not emotion_curves({}, frames, FPS, seed=4).any()


def _speech_rows() -> np.ndarray:
    """(6, 52): closed and open mouths the way the lifted core writes them: a press over an
    open jaw (mouthClose = jawOpen), a press at rest, a small opening, open vowels, a
    lip on its way to a press, a rounded vowel."""
    rows = np.zeros((6, 52), np.float32)
    jaw = np.array([0.1, 0.0, 0.05, 0.3, 0.12, 0.15])
    press = np.array([1.0, 1.0, 0.0, 0.0, 0.55, 0.0])
    rows[:, COL["jawOpen"]] = jaw
    rows[:, COL["mouthPressLeft"]] = rows[:, COL["mouthPressRight"]] = press
    rows[:, COL["mouthClose"]] = jaw * press
    rows[:, COL["mouthPucker"]] = [0, 0, 0, 0, 0, 0.8]
    return rows


def _gap(rows: np.ndarray) -> np.ndarray:
    """The renderer's inner-lip gap (eye spans) of (n, 52) rows."""
    press = rows[:, [COL["mouthPressLeft"], COL["mouthPressRight"]]].mean(axis=1)
    sealed = lip_press(press, rows[:, COL["mouthClose"]], rows[:, COL["jawOpen"]])
    return lip_gap(rows[:, COL["jawOpen"]] / JAW_GAIN, sealed)


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_lip_sync_holds_under_every_emotion(emotion):
    rows = _speech_rows()
    layer = np.tile(emotion_vector(emotion), (len(rows), 1)).astype(np.float32)
    out = apply_emotion(rows, layer)
    before, after = _gap(rows), _gap(out)
    assert np.all(after[:2] < 1e-6)  # every closure stays closed
    assert np.all(after[2:] >= before[2:] - 1e-6)  # no opening of speech is shut
    if emotion != "surprise":
        assert np.allclose(after, before, atol=1e-6)  # the lips part as the model said
    pucker = COL["mouthPucker"]
    assert out[5, pucker] == rows[5, pucker]  # the vowels' own shapes stay the model's
    parting = [COL[n] for n in ("mouthUpperUpLeft", "mouthLowerDownRight", "noseSneerLeft")]
    assert not out[:2, parting].any()  # a raised upper lip gives way on a p, b or m
    free = [i for i, n in enumerate(BLENDSHAPE_NAMES) if n not in SPEECH_SHAPES]
    open_rows = out[2:4, free] - rows[2:4, free]
    assert np.allclose(open_rows, np.clip(layer[2:4, free], 0, 1), atol=1e-6)


# ------------------------------------------------------------------ rendered frames

# Two sentences (~8 s): the model's brows and lids wander slowly, so over one short
# sentence two seeds of none differed by as much as a whole action unit reads (the noise
# floor the emotions are held against); a longer clip's medians settle.
SENTENCE = (
    "I would like to tell you about our new project, and why it matters to us."
    " We started it last spring, and the first results came in this week."
)
T1_FRONTAL = (355, 185, 320)  # (x, y, side) of a frontal face in insightface's t1.jpg
SEEDS = (1, 2)
MEASURE_FROM_S, MEASURE_EVERY = 1.0, 3  # past the onset; every 3rd frame
# The FACS direction of each emotion against none: measure -> sign (the list).
DIRECTIONS: dict[str, dict[str, int]] = {
    "happiness": {"corner_height": 1, "eye_open": -1},
    "sadness": {"corner_height": -1, "inner_brow": 1},
    "surprise": {"inner_brow": 1, "outer_brow": 1, "eye_open": 1},
    "fear": {"inner_brow": 1, "outer_brow": 1, "brow_gap": -1, "eye_open": 1},
    "anger": {"inner_brow": -1, "outer_brow": -1, "brow_gap": -1, "eye_open": -1},
    "disgust": {"nose_lip": -1},
    "contempt": {"corner_asymmetry": 1},
    "neutral": {},
}
MEASURES = (
    "corner_height",
    "inner_brow",
    "outer_brow",
    "brow_gap",
    "eye_open",
    "nose_lip",
    "corner_asymmetry",
)
R_BROW_IN, L_BROW_IN = (55, 65, 107, 66), (285, 295, 336, 296)
R_BROW_OUT, L_BROW_OUT = (46, 53, 70, 63), (276, 283, 300, 293)
SUBNASALE, UPPER_LIP_TOP = 2, 0


def face_measures(pts: np.ndarray) -> dict[str, float]:
    """One (468, 3) mesh in pixels -> the emotion measures, in eye spans (outer eye corners
    33-263) in the face's own frame: heights above the line of the eye corners, up positive."""
    from moda_cli.face.measure import eye_opening

    p = pts[:, :2]
    x = p[263] - p[33]
    span = float(np.linalg.norm(x))
    x /= span
    down = np.array([-x[1], x[0]])
    origin = p[[33, 133, 362, 263]].mean(axis=0)

    def height(idx) -> float:
        return float(-((p[list(idx)] - origin) @ down).mean() / span)

    corners = height((61,)), height((291,))
    inner_gap = (p[list(L_BROW_IN)].mean(axis=0) - p[list(R_BROW_IN)].mean(axis=0)) @ x
    return {
        "corner_height": 0.5 * (corners[0] + corners[1]),
        "inner_brow": height(R_BROW_IN + L_BROW_IN),
        "outer_brow": height(R_BROW_OUT + L_BROW_OUT),
        "brow_gap": float(abs(inner_gap) / span),
        "eye_open": 0.5 * float(eye_opening(pts, "left") + eye_opening(pts, "right")),
        "nose_lip": height((SUBNASALE,)) - height((UPPER_LIP_TOP,)),
        "corner_asymmetry": abs(corners[0] - corners[1]),
    }


def _clip_measures(video: Path) -> dict[str, float]:
    """Medians over the measured frames (a blink or a glance is an outlier, not the face)."""
    from moda_cli.face.measure import FaceMeter
    from moda_cli.video.source import probe_video, read_video

    info = probe_video(video)
    meter = FaceMeter(static=True)  # a fresh mesh, every frame on its own
    rows = []
    for k, frame in enumerate(read_video(info)):
        if k >= MEASURE_FROM_S * float(info.fps) and k % MEASURE_EVERY == 0:
            pts = meter.landmarks(np.asarray(frame))
            assert pts is not None, f"no face in frame {k} of {video.name}"
            rows.append(face_measures(pts))
    meter.close()
    return {m: float(np.median([r[m] for r in rows])) for m in MEASURES}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], dict]:
    """(emotion or none, seed) -> the clip's measures: one portrait, one espeak sentence."""
    import cv2
    from _media import write_wav

    from moda_cli.motion.train.speech import synthesize
    from moda_cli.pipeline import Engine, EngineOptions, Job
    from moda_cli.presets import load_preset

    insightface = pytest.importorskip("insightface")
    folder = tmp_path_factory.mktemp("emotions")
    photo = cv2.imread(str(Path(insightface.__file__).parent / "data" / "images" / "t1.jpg"))
    x, y, side = T1_FRONTAL
    portrait = folder / "face.png"
    cv2.imwrite(str(portrait), photo[y : y + side, x : x + side])
    lead = np.zeros(int(0.2 * 16_000), np.float32)
    words = synthesize(SENTENCE, voice="en", rate_wpm=170).samples
    audio = write_wav(folder / "speech.wav", np.concatenate([lead, words, lead]) * 0.8)
    engine, out = Engine(EngineOptions(device="cpu")), {}
    for label in ("none", *EMOTIONS):
        for seed in SEEDS:
            # steady gaze: the eyes' glances are not what is measured here
            sets = [f"motion.emotion={label}", "motion.gaze=steady", "render.size=256"]
            video = folder / f"{label}_{seed}.mp4"
            job = Job(portrait, audio, video, load_preset("natural", [*sets, f"seed={seed}"]))
            engine.render(job)
            out[label, seed] = _clip_measures(video)
    return out


CASES = [
    (emotion, measure, sign)
    for emotion, directions in DIRECTIONS.items()
    for measure, sign in directions.items()
]


@pytest.mark.slow
@pytest.mark.parametrize(("emotion", "measure", "sign"), CASES)
def test_each_emotion_reads_in_the_rendered_frames(rendered, emotion, measure, sign):
    """Against none, averaged over two seeds, the FACS measure moves the emotion's way by
    more than twice the spread between the two seeds of none."""
    none = [rendered["none", s][measure] for s in SEEDS]
    moved = float(np.mean([rendered[emotion, s][measure] for s in SEEDS]) - np.mean(none))
    spread = abs(none[0] - none[1])
    print(f"{emotion} {measure}: {moved:+.4f} (2x spread {2 * spread:.4f})")
    assert sign * moved > 2 * spread, (moved, 2 * spread)
