"""Train MotionDiT on the synthetic dataset (``train/dataset.py``) with rectified flow.

One step: draw B random windows of W frames from the train split (audio with context,
the target motion, the clip's emotion and identity), measure each target's intensity
statistics, normalise, put the target on the flow path at a logit-normal time, and
regress the velocity with a lip-weighted MSE. Conditions are dropped at random so the
same model serves classifier-free guidance (audio, emotion) and first windows (prompt).
AdamW, warmup + cosine learning rate over the step or time budget, gradient clipping,
EMA weights (what is saved), held-out validation loss with fixed noise.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ...facemodel.emotions import mix_weights
from ...facemodel.params import NUM_PARAMS, indices
from ..checkpoint import save_checkpoint
from ..model import MotionCond, MotionDiT, MotionDiTConfig
from ..normalization import STD_FLOOR, Normalization, motion_stats
from .dataset import SplitData, load_split
from .paths import rectified_flow_path, sample_time

# Called with (step, total_steps, info) where info has loss, lr, and val_loss when measured.
TrainProgress = Callable[[int, int, dict], None]


@dataclass
class TrainConfig:
    model: MotionDiTConfig = field(default_factory=MotionDiTConfig)
    batch_size: int = 32
    steps: int = 3000
    max_minutes: float | None = None  # stop (and finish the cosine) by wall time too
    lr: float = 6e-4
    min_lr_ratio: float = 0.05
    warmup_steps: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    ema_decay: float = 0.998
    drop_audio: float = 0.1
    drop_emotion: float = 0.2
    drop_prev: float = 0.25
    prev_noise: float = 0.05  # the prompt is generated at inference, not ground truth
    lip_weight: float = 3.0  # loss weight of the jaw and the lip seal (``loss_weights``)
    eval_every: int = 250
    eval_windows: int = 128
    save_every: int = 500
    stats_windows: int = 4000
    seed: int = 0
    threads: int | None = None


@dataclass
class TrainResult:
    checkpoint: Path
    steps: int
    seconds: float
    steps_per_second: float
    num_params: int
    train_loss: float  # mean of the last 50 steps
    val_loss: float
    val_history: list[tuple[int, float]]


# ----------------------------------------------------------------------------- data


class WindowSampler:
    """Random W-frame windows (audio with C frames of context) from one split."""

    def __init__(self, data: SplitData, cfg: MotionDiTConfig):
        self.d, self.cfg = data, cfg
        if data.num_clips == 0:
            raise ValueError("the split has no clips")
        # per clip: its quietest frame, used as silence outside the clip
        energy = data.mel.mean(axis=(1, 2), dtype=np.float32) + data.envelope
        self.silence = np.array(
            [
                s + int(np.argmin(energy[s : s + n]))
                for s, n in zip(data.clip_start, data.clip_len, strict=True)
            ]
        )
        room = np.maximum(data.clip_len - cfg.window + 1, 1).astype(np.float64)
        self.p_clip = room / room.sum()

    def sample(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        d, W, C = self.d, self.cfg.window, self.cfg.audio_context
        clips = rng.choice(len(self.p_clip), size=n, p=self.p_clip)
        lens = d.clip_len[clips]
        offs = (rng.random(n) * np.maximum(lens - W + 1, 1)).astype(np.int64)  # (n,)
        rel = offs[:, None] + np.arange(-C, W + C)[None]  # (n, W + 2C) frame within clip
        inside = (rel >= 0) & (rel < lens[:, None])
        idx = np.where(inside, d.clip_start[clips, None] + rel, self.silence[clips, None])
        m_rel = np.minimum(rel[:, C : C + W], lens[:, None] - 1)  # repeat the last frame
        return {
            "audio": d.mel[idx].astype(np.float32),  # (n, W + 2C, K, M)
            "envelope": np.where(inside, d.envelope[idx], 0.0).astype(np.float32),
            "motion": d.motion[d.clip_start[clips, None] + m_rel],  # (n, W, D)
            "mask": inside[:, C : C + W].astype(np.float32),  # (n, W)
            "emotion": d.emotion[clips],
            "identity": d.identity[clips],
        }


def fit_normalization(
    data: SplitData, sampler: WindowSampler, n: int, rng: np.random.Generator
) -> Normalization:
    windows = sampler.sample(rng, n)["motion"]
    return Normalization.fit(data.motion, motion_stats(windows, data.fps))


# Speech's shapes weigh most: the jaw and the lip seal (every p, b, m) ``lip_weight``, the
# lip shapes of vowels and f/v (rounding, spreading, the tucked lower lip) 1.5, the rest 1.
_SEAL = indices(("jawOpen", "mouthClose", "mouthPressLeft", "mouthPressRight"))
_VOWEL_LIPS = indices(("mouthPucker", "mouthStretchLeft", "mouthStretchRight", "mouthRollLower"))
UNUSED_WEIGHT = 0.05  # channels the data never moves: learned as still, nearly free


def loss_weights(cfg: TrainConfig, norm: Normalization) -> torch.Tensor:
    """(58,) per-channel loss weights, mean 1 over the channels the data moves (``norm``'s
    spread above its floor), so adding unused channels does not dilute speech's share."""
    w = torch.ones(NUM_PARAMS)
    w[_VOWEL_LIPS] = 1.5
    w[_SEAL] = cfg.lip_weight
    used = torch.as_tensor(norm.motion_std > STD_FLOOR)
    w = w / w[used].mean()
    return torch.where(used, w, torch.full_like(w, UNUSED_WEIGHT))


def make_batch(
    raw: dict[str, np.ndarray],
    norm: Normalization,
    fps: float,
    cfg: TrainConfig,
    rng: np.random.Generator,
    train: bool,
    device: torch.device,
) -> tuple[torch.Tensor, MotionCond, torch.Tensor]:
    """-> (x1 normalised target (B, W, D), condition, frame mask (B, W))."""
    n, P = len(raw["emotion"]), cfg.model.prev_frames
    x1 = norm.normalize(raw["motion"]).astype(np.float32)
    emotion = raw["emotion"].copy()  # (n, E) mixture weights
    drop_audio = np.zeros(n, bool)
    has_prev = np.ones(n, bool)
    prev = x1[:, :P].copy()
    if train:
        emotion[rng.random(n) < cfg.drop_emotion] = mix_weights({})
        drop_audio = rng.random(n) < cfg.drop_audio
        has_prev = rng.random(n) >= cfg.drop_prev
        prev += cfg.prev_noise * rng.standard_normal(prev.shape).astype(np.float32)
    t = lambda a, dt=None: torch.as_tensor(a, dtype=dt).to(device)  # noqa: E731
    cond = MotionCond(
        audio=t(raw["audio"]),
        envelope=t(raw["envelope"]),
        emotion=t(emotion),
        identity=t(raw["identity"]),
        stats=t(norm.stats_input(motion_stats(raw["motion"], fps))),
        prev=t(prev),
        has_prev=t(has_prev),
        drop_audio=t(drop_audio),
    )
    return t(x1), cond, t(raw["mask"])


def flow_loss(model: MotionDiT, x1, cond, mask, weights, gen: torch.Generator) -> torch.Tensor:
    x0 = torch.randn(x1.shape, generator=gen).to(x1.device)
    path = rectified_flow_path(x0, x1, sample_time(len(x1), gen).to(x1.device))
    err = (model(path.x_t, path.t, cond=cond) - path.velocity).pow(2) * weights.to(
        x1.device
    )  # (B, W, D)
    return (err.mean(-1) * mask).sum() / mask.sum().clamp(min=1.0)


# ----------------------------------------------------------------------------- loop


class _Validator:
    """Held-out loss with fixed windows, noise and times, so evaluations are comparable."""

    def __init__(self, data: SplitData | None, norm, cfg: TrainConfig, device, weights):
        self.batches = []
        if data is None or data.num_clips == 0:
            return
        rng = np.random.default_rng(cfg.seed + 1)
        sampler = WindowSampler(data, cfg.model)
        for _ in range(max(1, cfg.eval_windows // cfg.batch_size)):
            raw = sampler.sample(rng, cfg.batch_size)
            self.batches.append(make_batch(raw, norm, data.fps, cfg, rng, False, device))
        self.weights = weights

    @torch.no_grad()
    def __call__(self, model: MotionDiT) -> float:
        if not self.batches:
            return float("nan")
        gen = torch.Generator().manual_seed(1234)
        model.eval()
        losses = [flow_loss(model, x1, c, m, self.weights, gen).item() for x1, c, m in self.batches]
        return float(np.mean(losses))


def _lr_factor(step: int, progress: float, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    cos = 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    return cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * cos


@torch.no_grad()
def _ema_update(ema: MotionDiT, model: MotionDiT, decay: float) -> None:
    for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
        pe.lerp_(pm, 1.0 - decay)


def train_model(
    data_dir: str | Path,
    cfg: TrainConfig,
    out_path: str | Path,
    device: str = "cpu",
    progress: TrainProgress | None = None,
) -> TrainResult:
    """Train on ``data_dir`` (dataset.json + shards) and save the EMA model to ``out_path``."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dev, rng = torch.device(device), np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    train = load_split(data_dir, "train")
    try:
        heldout = load_split(data_dir, "heldout")
    except KeyError:
        heldout = None
    recipe_hash = _recipe_hash(Path(data_dir))
    sampler = WindowSampler(train, cfg.model)
    norm = fit_normalization(train, sampler, cfg.stats_windows, rng)
    model = MotionDiT(cfg.model).to(dev)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    weights = loss_weights(cfg, norm)
    validate = _Validator(heldout, norm, cfg, dev, weights)
    decay_params = [p for p in model.parameters() if p.ndim >= 2]
    other_params = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay_params, "weight_decay": cfg.weight_decay},
            {"params": other_params, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
        betas=(0.9, 0.99),
    )
    state = _LoopState(time.perf_counter())
    summary = lambda: _summary(cfg, train, heldout, state, model)  # noqa: E731
    save = lambda: save_checkpoint(out_path, ema, norm, recipe_hash=recipe_hash, training=summary())  # noqa: E731
    for step in range(cfg.steps):
        elapsed = time.perf_counter() - state.t0
        frac = step / cfg.steps
        if cfg.max_minutes:
            frac = max(frac, elapsed / (60.0 * cfg.max_minutes))
        if frac >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = cfg.lr * _lr_factor(step, frac, cfg)
        model.train()
        x1, cond, mask = make_batch(
            sampler.sample(rng, cfg.batch_size), norm, train.fps, cfg, rng, True, dev
        )
        loss = flow_loss(model, x1, cond, mask, weights, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        _ema_update(ema, model, min(cfg.ema_decay, (1.0 + step) / (10.0 + step)))
        state.steps = step + 1
        state.losses.append(loss.item())
        info = {"loss": state.losses[-1], "lr": opt.param_groups[0]["lr"]}
        if state.steps % cfg.eval_every == 0:
            info["val_loss"] = validate(ema)
            state.val.append((state.steps, info["val_loss"]))
        if state.steps % cfg.save_every == 0:
            save()
        if progress is not None:
            progress(state.steps, cfg.steps, info)
    if not state.val or state.val[-1][0] != state.steps:
        state.val.append((state.steps, validate(ema)))
    path = save()
    return _result(path, state, model)


@dataclass
class _LoopState:
    t0: float
    steps: int = 0
    losses: list[float] = field(default_factory=list)
    val: list[tuple[int, float]] = field(default_factory=list)


def _recipe_hash(data_dir: Path) -> str:
    import json

    try:
        return str(json.loads((data_dir / "dataset.json").read_text()).get("recipe_hash", ""))
    except (OSError, ValueError):
        return ""


def _summary(
    cfg: TrainConfig, train: SplitData, heldout, state: _LoopState, model: MotionDiT
) -> dict:
    seconds = time.perf_counter() - state.t0
    cfg_json = asdict(cfg)
    cfg_json.pop("model")
    return {
        "train_config": cfg_json,
        "steps": state.steps,
        "seconds": round(seconds, 1),
        "steps_per_second": round(state.steps / max(seconds, 1e-9), 3),
        "train_loss": float(np.mean(state.losses[-50:])) if state.losses else None,
        "val_history": state.val,
        "train_frames": int(len(train.motion)),
        "heldout_frames": int(len(heldout.motion)) if heldout is not None else 0,
        "num_params": model.num_params(),
    }


def _result(path: Path, state: _LoopState, model: MotionDiT) -> TrainResult:
    seconds = time.perf_counter() - state.t0
    return TrainResult(
        checkpoint=Path(path),
        steps=state.steps,
        seconds=seconds,
        steps_per_second=state.steps / max(seconds, 1e-9),
        num_params=model.num_params(),
        train_loss=float(np.mean(state.losses[-50:])) if state.losses else float("nan"),
        val_loss=state.val[-1][1] if state.val else float("nan"),
        val_history=state.val,
    )


def main(argv: list[str] | None = None) -> None:
    """``python -m moda_cli.motion.train.trainer DATA_DIR OUT.safetensors [--minutes M]``."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("data_dir")
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=TrainConfig.steps)
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=TrainConfig.eval_every)
    ap.add_argument("--save-every", type=int, default=TrainConfig.save_every)
    args = ap.parse_args(argv)
    cfg = TrainConfig(
        steps=args.steps,
        max_minutes=args.minutes,
        batch_size=args.batch_size,
        threads=args.threads,
        seed=args.seed,
        eval_every=args.eval_every,
        save_every=args.save_every,
    )
    t0 = time.perf_counter()

    def report(step: int, total: int, info: dict) -> None:
        if step % 10 == 0 or "val_loss" in info:
            extra = f" val {info['val_loss']:.4f}" if "val_loss" in info else ""
            rate = step / (time.perf_counter() - t0)
            print(
                f"step {step}/{total} loss {info['loss']:.4f} lr {info['lr']:.2e} "
                f"{rate:.2f} steps/s{extra}",
                flush=True,
            )

    res = train_model(args.data_dir, cfg, args.out, device=args.device, progress=report)
    print(
        f"done: {res.steps} steps in {res.seconds:.0f} s ({res.steps_per_second:.2f} steps/s), "
        f"{res.num_params} params, train loss {res.train_loss:.4f}, "
        f"val loss {res.val_loss:.4f} -> {res.checkpoint}",
        flush=True,
    )


if __name__ == "__main__":
    main()
