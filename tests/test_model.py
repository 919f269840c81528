"""MotionDiT shapes, conditioning paths and a tiny overfitting run."""

import json

import numpy as np
import pytest
import torch
from _models import TINY

from moda_cli.facemodel.emotions import EMOTION_NONE, mix_weights
from moda_cli.motion.model import MotionCond, MotionDiT, MotionDiTConfig


def make_cond(cfg: MotionDiTConfig, B: int, seed: int = 0) -> MotionCond:
    g = torch.Generator().manual_seed(seed)
    T = cfg.window + 2 * cfg.audio_context
    return MotionCond(
        audio=torch.randn(B, T, cfg.mel_per_frame, cfg.n_mels, generator=g),
        envelope=torch.rand(B, T, generator=g),
        emotion=torch.nn.functional.one_hot(
            torch.randint(0, cfg.num_emotions, (B,), generator=g), cfg.num_emotions
        ).float(),
        identity=torch.randn(B, cfg.identity_dim, generator=g),
        stats=torch.randn(B, cfg.num_stats, generator=g),
        prev=torch.randn(B, cfg.prev_frames, cfg.motion_dim, generator=g),
        has_prev=torch.tensor([True, False] * (B // 2) + [True] * (B % 2)),
        drop_audio=torch.zeros(B, dtype=torch.bool),
    )


def _randomize_zero_init(model: MotionDiT) -> None:
    # adaLN-zero makes a fresh model output exactly 0; give every weight a value to test paths.
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            if torch.all(p == 0):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))


def test_default_config_size_and_forward_shape():
    cfg = MotionDiTConfig()
    model = MotionDiT(cfg).eval()
    assert 2e6 < model.num_params() < 8e6
    cond = make_cond(cfg, 2)
    with torch.no_grad():
        v = model(torch.randn(2, cfg.window, cfg.motion_dim), torch.rand(2), cond=cond)
    assert v.shape == (2, cfg.window, cfg.motion_dim)
    assert torch.all(v == 0)  # adaLN-zero / zero output layer: a fresh model predicts 0


def test_config_round_trips_and_rejects_unknown_keys():
    cfg = MotionDiTConfig(**TINY)
    assert MotionDiTConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="bogus"):
        MotionDiTConfig.from_dict({**cfg.to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="heads"):
        MotionDiT(MotionDiTConfig(width=30, heads=4))


def test_conditions_reach_the_output():
    cfg = MotionDiTConfig(**TINY)
    model = MotionDiT(cfg).eval()
    _randomize_zero_init(model)
    cond = make_cond(cfg, 2)
    x, t = torch.randn(2, cfg.window, cfg.motion_dim), torch.full((2,), 0.5)
    with torch.no_grad():
        base = model(x, t, cond=cond)
        variants = {
            "audio": MotionCond(**{**cond.__dict__, "audio": cond.audio + 1.0}),
            "emotion": MotionCond(**{**cond.__dict__, "emotion": cond.emotion.roll(1, dims=1)}),
            "identity": MotionCond(**{**cond.__dict__, "identity": cond.identity + 1.0}),
            "stats": MotionCond(**{**cond.__dict__, "stats": cond.stats + 1.0}),
            "time": None,
        }
        for name, c in variants.items():
            out = model(x, t * 0.5, cond=cond) if name == "time" else model(x, t, cond=c)
            assert (out - base).abs().max() > 1e-4, name
        # prev is ignored where has_prev is False (row 1), used where True (row 0)
        c = MotionCond(**{**cond.__dict__, "prev": cond.prev + 1.0})
        out = model(x, t, cond=c)
        assert (out[0] - base[0]).abs().max() > 1e-4
        torch.testing.assert_close(out[1], base[1])


def test_null_audio_token_replaces_all_audio():
    cfg = MotionDiTConfig(**TINY)
    model = MotionDiT(cfg).eval()
    _randomize_zero_init(model)
    cond = make_cond(cfg, 2)
    x, t = torch.randn(2, cfg.window, cfg.motion_dim), torch.rand(2)
    un = cond.unconditional()
    assert torch.all(un.drop_audio) and torch.all(un.emotion.argmax(1) == EMOTION_NONE)
    assert torch.all(un.emotion.sum(1) == 1.0)
    with torch.no_grad():
        a = model(x, t, cond=un)
        # with audio dropped, the audio values no longer matter
        other = MotionCond(
            **{
                **un.__dict__,
                "audio": torch.randn_like(un.audio),
                "envelope": torch.rand_like(un.envelope),
            }
        )
        torch.testing.assert_close(model(x, t, cond=other), a)
        # a batched cond+uncond forward equals the two separate forwards
        both = model(torch.cat([x, x]), torch.cat([t, t]), cond=MotionCond.cat([cond, un]))
        torch.testing.assert_close(both[:2], model(x, t, cond=cond), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(both[2:], a, atol=1e-5, rtol=1e-4)


def test_backward_reaches_every_parameter():
    cfg = MotionDiTConfig(**TINY)
    model = MotionDiT(cfg)
    _randomize_zero_init(model)
    cond = make_cond(cfg, 2)
    cond.drop_audio[1] = True
    model(torch.randn(2, cfg.window, cfg.motion_dim), torch.rand(2), cond=cond).pow(
        2
    ).mean().backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert not dead


# ----------------------------------------------------------------------------- tiny overfit


def write_synthetic_dataset(root, clips=6, frames=120, seed=0, fps=25.0):
    """A dataset in the train/dataset.py format where jawOpen = f(mel energy)."""
    from moda_cli.facemodel.params import NUM_PARAMS, index
    from moda_cli.motion.train.dataset import FORMAT, FORMAT_VERSION

    rng = np.random.default_rng(seed)
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "recipe_hash": "synthetic-test",
        "fps": fps,
        "splits": {},
    }
    for split in ("train", "heldout"):
        (root / split).mkdir(parents=True, exist_ok=True)
        n = clips * frames
        # loudness: smooth random bursts; mel = floor + loudness everywhere
        env = np.clip(
            np.convolve(rng.random(n + 8) > 0.6, np.ones(5) / 5, "same")[:n], 0, 1
        ).astype(np.float32)
        mel = (-0.8 + 1.2 * env[:, None, None] + 0.05 * rng.standard_normal((n, 4, 80))).astype(
            np.float16
        )
        motion = np.zeros((n, NUM_PARAMS), np.float32)
        motion[:, :3] = np.cumsum(rng.standard_normal((n, 3)) * 0.1, 0)  # drifting head
        motion[:, index("jawOpen")] = 0.25 * env
        motion[:, index("mouthPressLeft")] = (env < 0.05).astype(np.float32) * 0.5
        np.savez(
            root / split / "shard_00000.npz",
            mel=mel,
            motion=motion,
            labels=np.zeros(n, np.int8),
            envelope=env,
            clip_start=np.arange(clips, dtype=np.int64) * frames,
            clip_len=np.full(clips, frames, np.int64),
            emotion=np.eye(9, dtype=np.float32)[rng.integers(0, 9, clips)],
            identity=rng.standard_normal((clips, 16)).astype(np.float32),
        )
        info["splits"][split] = {
            "shards": [f"{split}/shard_00000.npz"],
            "clips": clips,
            "frames": n,
        }
    (root / "dataset.json").write_text(json.dumps(info))
    return root


def test_tiny_overfit_loss_drops(tmp_path):
    from moda_cli.motion.checkpoint import load_checkpoint
    from moda_cli.motion.train.trainer import TrainConfig, train_model

    data = write_synthetic_dataset(tmp_path / "data")
    cfg = TrainConfig(
        model=MotionDiTConfig(**TINY),
        batch_size=12,
        steps=100,
        lr=3e-3,
        warmup_steps=10,
        eval_every=50,
        eval_windows=32,
        save_every=1000,
        stats_windows=64,
        ema_decay=0.9,
    )
    seen = []
    res = train_model(
        data, cfg, tmp_path / "m.safetensors", progress=lambda s, n, i: seen.append(i["loss"])
    )
    assert res.steps == 100 and len(seen) == 100
    first, last = np.mean(seen[:10]), np.mean(seen[-20:])
    print("overfit loss", first, last, res.val_history)
    assert last < 0.6 * first, (first, last)
    assert res.val_history[-1][1] < res.val_history[0][1]
    ck = load_checkpoint(res.checkpoint)
    assert ck.recipe_hash == "synthetic-test"
    assert ck.training["steps"] == 100
    assert ck.norm.stats_reference.shape == (3,)


def test_emotion_mixtures_are_points_between_the_rows():
    """An intensity is a weighted mean of the emotion's and none's rows, so the model's
    emotion tokens move linearly from none (intensity 0) to the emotion (intensity 1)."""
    assert mix_weights({}).tolist() == [0.0] * EMOTION_NONE + [1.0]
    w = mix_weights({"happiness": 0.6, "surprise": 0.2})
    assert w.sum() == pytest.approx(1.0) and w[EMOTION_NONE] == pytest.approx(0.2)
    over = mix_weights({"happiness": 1.0, "surprise": 1.0})  # past 1: scaled, none gets 0
    assert over.sum() == pytest.approx(1.0) and over[EMOTION_NONE] == 0.0
    cfg = MotionDiTConfig(**TINY)
    model = MotionDiT(cfg)
    table = model.emotion_emb.weight
    half = torch.as_tensor(mix_weights({"anger": 0.5})) @ table
    torch.testing.assert_close(half, 0.5 * table[0] + 0.5 * table[EMOTION_NONE])
