"""The face contract: one vocabulary, stored in checkpoints and checked when they load."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from _models import TINY
from safetensors import safe_open
from test_checkpoint import _norm

from moda_cli.errors import ModelLoadError
from moda_cli.facemodel.emotions import (
    EMOTION_LABELS,
    EMOTION_NONE,
    EMOTIONS,
    NO_EMOTION,
    emotion_index,
)
from moda_cli.facemodel.vocabulary import VOCABULARY_V1, Vocabulary
from moda_cli.motion.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint, save_checkpoint
from moda_cli.motion.model import MotionDiT, MotionDiTConfig
from moda_cli.motion.settings import MotionSettings


def test_shipped_checkpoint_stores_and_loads_this_vocabulary():
    with safe_open(str(DEFAULT_CHECKPOINT), framework="pt") as f:
        meta = f.metadata()
    assert {"param_names", "emotions"} <= set(meta)  # stored, not assumed
    assert Vocabulary.from_metadata(meta) == Vocabulary()
    assert load_checkpoint(DEFAULT_CHECKPOINT).config.num_emotions == len(EMOTION_LABELS)


def test_an_added_emotion_label_refuses_the_shipped_checkpoint():
    labels = (*EMOTIONS, "pride", NO_EMOTION)  # a new label, placed where it belongs: last
    with pytest.raises(ModelLoadError) as err:
        load_checkpoint(DEFAULT_CHECKPOINT, vocabulary=Vocabulary(emotions=labels))
    message = str(err.value)
    assert "emotion labels: this code adds pride" in message and "'surprise', 'none']" in message


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (("contempt", "anger", *EMOTIONS[2:], NO_EMOTION), "reorders contempt, anger"),
        ((*EMOTIONS[:-1], "awe", NO_EMOTION), "adds surprise; drops awe"),
    ],
)
def test_a_checkpoint_of_other_labels_names_the_difference(tmp_path, labels, expected):
    """Same table size, other labels: the rows would silently mean other emotions."""
    path = save_checkpoint(
        tmp_path / "m.safetensors", MotionDiT(MotionDiTConfig(**TINY)), _norm(),
        vocabulary=Vocabulary(emotions=labels),
    )  # fmt: skip
    with pytest.raises(ModelLoadError, match=expected):
        load_checkpoint(path)
    assert load_checkpoint(path, vocabulary=Vocabulary(emotions=labels)).config.window == 24


def test_renamed_parameter_is_named(tmp_path):
    names = tuple("mouthOpen" if n == "jawOpen" else n for n in Vocabulary().param_names)
    path = save_checkpoint(
        tmp_path / "m.safetensors", MotionDiT(MotionDiTConfig(**TINY)), _norm(),
        vocabulary=Vocabulary(param_names=names),
    )  # fmt: skip
    with pytest.raises(
        ModelLoadError, match="motion parameters: this code adds jawOpen; drops mouthOpen"
    ):
        load_checkpoint(path)


def test_checkpoint_without_vocabulary_is_read_as_version_1(tmp_path):
    """A file from before vocabularies were stored is of the old 17-channel space: refused,
    saying so, as is one that stores that vocabulary."""
    from safetensors.torch import load_file, save_file

    old = MotionDiT(MotionDiTConfig(**{**TINY, "motion_dim": len(VOCABULARY_V1.param_names)}))
    path = save_checkpoint(tmp_path / "m.safetensors", old, _norm(17), vocabulary=VOCABULARY_V1)
    with pytest.raises(ModelLoadError, match="old 17-channel motion space") as stored_err:
        load_checkpoint(path)
    assert "moda train" in str(stored_err.value)
    with safe_open(str(path), framework="pt") as f:
        stored = f.metadata()
    meta = {k: v for k, v in stored.items() if k not in ("param_names", "emotions")}
    save_file(load_file(str(path)), str(path), metadata=meta)
    with pytest.raises(ModelLoadError, match="old 17-channel motion space"):
        load_checkpoint(path)
    assert Vocabulary.from_metadata(meta) == VOCABULARY_V1


def test_one_emotion_vocabulary_in_class_order():
    assert EMOTION_LABELS[EMOTION_NONE] == NO_EMOTION == EMOTION_LABELS[-1]
    assert [emotion_index(n) for n in EMOTION_LABELS] == list(range(len(EMOTION_LABELS)))
    for label in EMOTION_LABELS:  # the preset takes the same list
        assert MotionSettings(emotion=label).emotion_mix == (
            {} if label == NO_EMOTION else {label: 1}
        )
    with pytest.raises(ValueError, match="unknown emotion 'pride'"):
        MotionSettings(emotion="pride")
    assert MotionDiTConfig().num_emotions == len(EMOTION_LABELS)
    assert MotionDiT(MotionDiTConfig(**TINY)).emotion_emb.weight.shape == (len(EMOTION_LABELS), 32)


def _imported_by(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(m for m in sys.modules if 'moda_cli' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_model_learns_its_emotion_table_from_facemodel_alone():
    loaded = _imported_by("moda_cli.motion.model")
    assert "moda_cli.facemodel.emotions" in loaded
    assert not loaded & {"moda_cli.presets", "moda_cli.motion.generator"}


@pytest.mark.parametrize(
    "module", ["moda_cli.motion.train.from_videos", "moda_cli.motion.train.trainer"]
)
def test_motion_learns_what_a_parameter_means_without_the_renderer(module):
    loaded = _imported_by(module)
    assert "moda_cli.facemodel.core" in loaded
    assert not {m for m in loaded if m.startswith("moda_cli.render")}


def test_face_crop_needs_no_presets():
    """face/ computes the crop from its own settings type; the preset's defaults agree."""
    from moda_cli.face.detect import Crop
    from moda_cli.render.settings import RenderSettings

    preset = RenderSettings()
    assert Crop() == Crop(preset.size, preset.crop_scale, preset.crop_offset_y, preset.output)
    assert "moda_cli.presets" not in _imported_by("moda_cli.face.detect")


@pytest.fixture(scope="module")
def flat_mesh():
    """The sample portrait's mesh with its depth flattened: the rig is then a similarity."""
    from _face_fixtures import astronaut

    from moda_cli.face.detect import MeshRunner

    runner = MeshRunner()
    points = runner.run(astronaut())[:468]
    runner.close()
    points[:, 2] = points[:, 2].mean()
    return points


@pytest.mark.parametrize(
    "pose", [(6.0, -9.0, 4.0, 0.05, -0.03, 0.08), (-12.0, 20.0, -7.0, 0, 0, 0)]
)
def test_the_head_rig_and_its_inverse_agree(flat_mesh, pose):
    from moda_cli.face import landmarks as lm
    from moda_cli.face.pose import fit_similarity
    from moda_cli.facemodel.basis import face_frame
    from moda_cli.facemodel.head import HeadGeometry

    head = HeadGeometry.of(flat_mesh, face_frame(flat_mesh))
    moved = head.move(flat_mesh.copy(), np.array(pose))
    stable = list(lm.STABLE)
    s, rot, shift = fit_similarity(flat_mesh[stable], moved[stable])
    got = head.pose_of(np.array([s]), rot[None], shift[None])[0]
    np.testing.assert_allclose(got, pose, atol=1e-6)


def test_a_lifted_core_row_moves_the_mesh_as_its_core_fields_do(flat_mesh):
    """The lift and the per-shape fields agree with the core: one-sided shapes at equal
    values add up to their coefficient's field, jawOpen opens the lip gap of jaw_open
    (sealed by the press that mouthClose and mouthPress carry), and each one-sided shape
    moves its own side."""
    from moda_cli.face import landmarks as lm
    from moda_cli.facemodel import core
    from moda_cli.facemodel.basis import build_basis, core_basis, lip_gap
    from moda_cli.facemodel.params import EXPRESSION_SLICE, NUM_PARAMS, index

    points = lm.pad_iris(flat_mesh.astype(np.float64))
    basis = build_basis(points)
    f = basis.frame.to_face(points)
    fields = core_basis(f)  # (11, 478, 3) face units
    rng = np.random.default_rng(5)
    for row in rng.uniform(core.CORE_LOW, core.CORE_HIGH, (6, core.NUM_CORE)):
        c = row[6:].astype(np.float64)
        jaw, press = core.CORE_EXPRESSION_NAMES.index("jaw_open"), 3
        c[jaw] = lip_gap(c[jaw], c[press]) - basis.rest_gap
        want = basis.frame.vectors_to_crop(np.einsum("k,kpc->pc", c, fields))
        got = basis.displace(core.lift(row)[EXPRESSION_SLICE])
        np.testing.assert_allclose(got, want, atol=1e-5)  # pixels; the lift is float32
    one_side = np.zeros(NUM_PARAMS, np.float32)
    one_side[index("mouthSmileLeft")] = 1.0
    rest = basis.displace(np.zeros(NUM_PARAMS)[EXPRESSION_SLICE])  # the photo's lips closed
    moved = np.linalg.norm(basis.displace(one_side[EXPRESSION_SLICE]) - rest, axis=1)
    right, left = lm.MOUTH_CORNERS  # the subject's right corner is on the image's left
    assert moved[left] > 0.05 * basis.frame.unit and moved[right] < 0.02 * moved[left]
