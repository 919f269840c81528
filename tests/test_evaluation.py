"""The evaluation's lip metrics, on measurements with a known answer."""

import numpy as np
import pytest

from moda_cli.audio.types import AudioFeatures
from moda_cli.evaluation import EvalCase, lip_scores
from moda_cli.face.measure import FaceMeasurements
from moda_cli.motion.train.visemes import LABEL_BILABIAL as BILABIAL
from moda_cli.motion.train.visemes import LABEL_OPEN_VOWEL as OPEN_VOWEL
from moda_cli.motion.train.visemes import LABEL_SILENCE as SILENCE
from moda_cli.qc.figures import runs


def measurements(gap: np.ndarray) -> FaceMeasurements:
    t = len(gap)
    z = np.zeros(t)
    return FaceMeasurements(np.ones(t, bool), gap, z, z, z, z, z, z)


def case(labels: list[int], target: np.ndarray) -> EvalCase:
    t = len(labels)
    feats = AudioFeatures(np.zeros((t, 4, 80), np.float32), np.zeros(t, np.float32), 25.0, t / 25.0)
    return EvalCase(feats, target, np.array(labels, np.int8), 0)


def test_runs_finds_consecutive_spans():
    assert runs(np.array([0, 1, 1, 0, 1, 0, 0, 1], bool)) == [(1, 3), (4, 5), (7, 8)]


def test_lip_scores_reward_closure_and_punish_a_babbling_mouth():
    # 12 frames of silence, a vowel, a p/b/m, a vowel, 12 frames of silence
    labels = [SILENCE] * 12 + [OPEN_VOWEL] * 4 + [BILABIAL] * 2 + [OPEN_VOWEL] * 4 + [SILENCE] * 12
    target = np.array([0.0] * 12 + [0.8] * 4 + [0.0] * 2 + [0.8] * 4 + [0.0] * 12)
    good = lip_scores(measurements(target * 0.4), case(labels, target), closed_below=0.05)
    assert good == pytest.approx(
        {"mouth_corr": 1.0, "pbm_closed": 1.0, "vowel_open": 1.0, "silence_closed": 1.0}
    )

    shut = lip_scores(measurements(np.zeros(len(labels))), case(labels, target), closed_below=0.05)
    assert shut["pbm_closed"] == 1.0 and shut["vowel_open"] == 0.0  # specificity catches it

    never_closes = lip_scores(
        measurements(np.full(len(labels), 0.3)), case(labels, target), closed_below=0.05
    )
    assert never_closes["pbm_closed"] == 0.0 and never_closes["silence_closed"] == 0.0


def test_held_out_targets_are_the_joint_rows_jaw_in_speech_scale():
    """The viseme target is the data's jawOpen over core.JAW_GAIN (a jaw_open of 1 is
    speech's widest opening), not whatever column the core's index names in joint rows."""
    from moda_cli.evaluation import held_out_cases
    from moda_cli.facemodel.core import JAW_GAIN
    from moda_cli.facemodel.params import NUM_PARAMS, index
    from moda_cli.motion.train.dataset import SplitData

    n = 50
    motion = np.zeros((n, NUM_PARAMS), np.float32)
    jaw = 0.5 + 0.5 * np.sin(np.arange(n) / 4.0)
    motion[:, index("jawOpen")] = JAW_GAIN * jaw
    motion[::7, index("eyeBlinkLeft")] = 1.0  # what the core's jaw_open index reads here
    data = SplitData(
        np.zeros((n, 4, 80), np.float16), motion, np.zeros(n, np.int8), np.zeros(n, np.float32),
        np.array([0]), np.array([n]), np.eye(9, dtype=np.float32)[[8]],
        np.zeros((1, 16), np.float32), {}, 25.0,
    )  # fmt: skip
    (only,) = held_out_cases(data, 3)
    np.testing.assert_allclose(only.target_jaw, jaw, atol=1e-5)
