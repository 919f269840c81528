"""Checkpoint round trip and the errors a user sees for bad files."""

import json

import numpy as np
import pytest
import torch
from _models import TINY
from safetensors.torch import save_file

from moda_cli.errors import MissingDependency, ModelLoadError
from moda_cli.facemodel.params import NUM_PARAMS
from moda_cli.motion.checkpoint import default_checkpoint_path, load_checkpoint, save_checkpoint
from moda_cli.motion.model import MotionDiT, MotionDiTConfig
from moda_cli.motion.normalization import Normalization


def _norm(d=NUM_PARAMS):
    rng = np.random.default_rng(0)
    return Normalization(
        rng.standard_normal(d),
        rng.random(d) + 0.5,
        np.zeros(3),
        np.ones(3),
        np.array([1.0, 0.02, 17.0]),
        np.array([0.1, 0.001, 0.0]),
        np.array([4.0, 0.1, 50.0]),
    )


def _model():
    torch.manual_seed(0)
    m = MotionDiT(MotionDiTConfig(**TINY)).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return m


def _outputs(model):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_model import make_cond

    cfg = model.cfg
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, cfg.window, cfg.motion_dim, generator=g)
    with torch.no_grad():
        return model(x, torch.tensor([0.3, 0.7]), cond=make_cond(cfg, 2))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_round_trip_rebuilds_model_from_file_alone(tmp_path, dtype):
    model, norm = _model(), _norm()
    path = save_checkpoint(
        tmp_path / "m.safetensors",
        model,
        norm,
        recipe_hash="abc",
        training={"steps": 7},
        dtype=dtype,
    )
    ck = load_checkpoint(path)
    assert ck.config == model.cfg and ck.recipe_hash == "abc" and ck.training == {"steps": 7}
    np.testing.assert_array_equal(ck.norm.motion_std, norm.motion_std)
    np.testing.assert_array_equal(ck.norm.stats_reference, norm.stats_reference)
    if dtype == torch.float32:
        torch.testing.assert_close(_outputs(ck.model), _outputs(model), rtol=0, atol=0)
    else:  # the same as the model with its weights rounded to fp16
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
        torch.testing.assert_close(_outputs(ck.model), _outputs(model), rtol=0, atol=0)
    assert not list(tmp_path.glob("*moda-tmp*"))


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(MissingDependency, match="nope.safetensors"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_corrupt_file_is_a_load_error(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00\x01garbage" * 10)
    with pytest.raises(ModelLoadError, match="bad.safetensors"):
        load_checkpoint(bad)


def _rewrite(src, dst, meta_patch=None, tensor_patch=None):
    from safetensors import safe_open

    with safe_open(str(src), framework="pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not iterable)
    meta.update(meta_patch or {})
    if tensor_patch:
        tensor_patch(tensors)
    save_file(tensors, str(dst), metadata=meta)
    return dst


def test_mismatches_name_what_differs(tmp_path):
    good = save_checkpoint(tmp_path / "good.safetensors", _model(), _norm())
    with pytest.raises(ModelLoadError, match="schema version '99'"):
        load_checkpoint(_rewrite(good, tmp_path / "v.safetensors", {"schema_version": "99"}))
    with pytest.raises(ModelLoadError, match="not a moda motion checkpoint"):
        load_checkpoint(_rewrite(good, tmp_path / "s.safetensors", {"schema": "other"}))
    cfg = {**TINY, "width": 64}
    with pytest.raises(ModelLoadError, match="shape"):
        load_checkpoint(
            _rewrite(
                good,
                tmp_path / "c.safetensors",
                {"config": json.dumps({**MotionDiTConfig(**cfg).to_dict()})},
            )
        )
    with pytest.raises(ModelLoadError, match="unknown MotionDiTConfig keys: colour"):
        load_checkpoint(
            _rewrite(
                good,
                tmp_path / "k.safetensors",
                {"config": json.dumps({**MotionDiTConfig(**TINY).to_dict(), "colour": 1})},
            )
        )
    with pytest.raises(ModelLoadError, match="missing"):
        load_checkpoint(
            _rewrite(good, tmp_path / "m.safetensors", tensor_patch=lambda t: t.pop("out.weight"))
        )


def test_default_checkpoint_path(monkeypatch, tmp_path):
    monkeypatch.delenv("MODA_MOTION_CHECKPOINT", raising=False)
    assert default_checkpoint_path().parts[-2:] == ("weights", "motion.safetensors")
    monkeypatch.setenv("MODA_MOTION_CHECKPOINT", str(tmp_path / "x.safetensors"))
    assert default_checkpoint_path() == tmp_path / "x.safetensors"
