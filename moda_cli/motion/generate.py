"""The learned motion generator: MotionDiT sampled window by window over any length.

Stages of ``LearnedGenerator.generate``:

1. check the request (feature shapes, identity size)
2. plan windows of W frames that overlap by P, over the clip plus ~2 s of silence so the
   last words close naturally (cut again at the end)
3. map the preset's intensities to the statistics condition (relative to the checkpoint's
   natural reference values); what the model has not seen becomes a post-scale
4. sample each window with the ODE solver and classifier-free guidance, prompted by the
   previous window's last P frames, and cross-fade it into the output over the overlap
5. post-process: lip and head scales, pose moving average, clip to the documented ranges

Time and memory are linear in the clip's length: one window is in flight at a time and
the output is a (T, D) array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..face.identity import IDENTITY_DIM
from ..presets import MotionSettings
from .checkpoint import LoadedCheckpoint, load_checkpoint
from .generator import MotionRequest, ProgressFn, emotion_index
from .model import MotionCond
from .normalization import pad_audio, silence_frame
from .params import HIGH, LIP_NAMES, LOW, POSE_SLICE, MotionSeq, indices
from .sampling import get_solver, guided_velocity, time_grid

TAIL_SILENCE_S = 2.0
_LIP_COLS = indices(LIP_NAMES)
_EXPR_SCALED_COLS = indices(("smile", "frown", "brow_raise", "brow_furrow"))


@dataclass
class IntensityPlan:
    """Raw statistics asked of the model and what is left to apply afterwards."""

    stats: np.ndarray  # (3,) raw statistics inside the range the model was trained on
    head_post: float  # multiplies pose after sampling (0 = exactly still)
    expression_post: float  # multiplies smile/frown/brows after sampling


def plan_windows(num_frames: int, window: int, overlap: int, tail: int) -> list[int]:
    """Start frames of windows covering num_frames + tail frames, each overlapping the last."""
    total = num_frames + tail
    stride = window - overlap
    count = max(1, math.ceil((total - overlap) / stride))
    return [k * stride for k in range(count)]


def plan_intensity(settings: MotionSettings, ckpt: LoadedCheckpoint) -> IntensityPlan:
    norm = ckpt.norm
    ref = norm.stats_reference
    wanted = np.array([ref[0] * settings.head, ref[1] * settings.expression, settings.blink_rate], np.float32)
    inside = np.clip(wanted, norm.stats_low, norm.stats_high)

    def post(i: int) -> float:
        return float(wanted[i] / inside[i]) if inside[i] > 1e-6 else 0.0

    return IntensityPlan(inside, post(0), post(1))


def _check(request: MotionRequest) -> None:
    f = request.features
    if f.num_frames < 1:
        raise InputError("audio features have no frames; the audio is too short")
    if f.mel.ndim != 3 or f.envelope.shape != (f.num_frames,):
        raise InputError(f"audio features have mel {f.mel.shape} and envelope {f.envelope.shape}; expected (T, K, M) and (T,)")
    if np.asarray(request.identity).shape != (IDENTITY_DIM,):
        raise InputError(f"identity must have shape ({IDENTITY_DIM},), got {np.asarray(request.identity).shape}")


def moving_average(x: np.ndarray, frames: int) -> np.ndarray:
    """Centred moving average over time of (T, C), edges padded by repetition."""
    if frames <= 1 or len(x) < 2:
        return x
    left = (frames - 1) // 2
    padded = np.concatenate([np.repeat(x[:1], left, 0), x, np.repeat(x[-1:], frames - 1 - left, 0)])
    csum = np.cumsum(np.concatenate([np.zeros_like(x[:1]), padded]), axis=0)
    return ((csum[frames:] - csum[:-frames]) / frames).astype(np.float32)


def postprocess(motion: np.ndarray, settings: MotionSettings, plan: IntensityPlan) -> np.ndarray:
    out = motion.copy()
    out[:, POSE_SLICE] *= plan.head_post if settings.head > 0 else 0.0
    out[:, _EXPR_SCALED_COLS] *= plan.expression_post
    out[:, _LIP_COLS] *= settings.lips
    out[:, POSE_SLICE] = moving_average(out[:, POSE_SLICE], settings.smoothing)
    return np.clip(out, LOW, HIGH).astype(np.float32)


class LearnedGenerator:
    """MotionGenerator backed by a MotionDiT checkpoint (default: the packaged one)."""

    name = "learned"

    def __init__(self, checkpoint_path: str | Path | None = None, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.ckpt = load_checkpoint(checkpoint_path, self.device)
        self.model = self.ckpt.model

    def _static_cond(self, request: MotionRequest, plan: IntensityPlan) -> dict[str, torch.Tensor]:
        dev = self.device
        stats = self.ckpt.norm.stats_input(plan.stats)
        return {
            "emotion": torch.tensor([emotion_index(request.settings.emotion)], dtype=torch.long, device=dev),
            "identity": torch.as_tensor(np.asarray(request.identity, np.float32), device=dev)[None],
            "stats": torch.as_tensor(stats, device=dev)[None],
            "drop_audio": torch.zeros(1, dtype=torch.bool, device=dev),
        }

    def _window_cond(self, static, mel, env, silence, start, prev) -> MotionCond:
        cfg, dev = self.ckpt.config, self.device
        m, e = pad_audio(mel, env, start - cfg.audio_context, start + cfg.window + cfg.audio_context, silence)
        has_prev = prev is not None
        prev_t = torch.as_tensor(prev, device=dev)[None] if has_prev else torch.zeros(1, cfg.prev_frames, cfg.motion_dim, device=dev)
        return MotionCond(
            audio=torch.as_tensor(m, device=dev)[None],
            envelope=torch.as_tensor(e, device=dev)[None],
            prev=prev_t,
            has_prev=torch.tensor([has_prev], device=dev),
            **static,
        )

    @torch.inference_mode()
    def generate(self, request: MotionRequest, progress: ProgressFn | None = None) -> MotionSeq:
        # 1. check
        _check(request)
        feats, settings, cfg = request.features, request.settings, self.ckpt.config
        T, W, P = feats.num_frames, cfg.window, cfg.prev_frames
        # 2. plan windows (+ tail silence)
        starts = plan_windows(T, W, P, int(round(TAIL_SILENCE_S * feats.fps)))
        mel, env = feats.mel.astype(np.float32), feats.envelope.astype(np.float32)
        silence = silence_frame(mel, env)
        # 3. intensity -> statistics condition
        plan = plan_intensity(settings, self.ckpt)
        static = self._static_cond(request, plan)
        # 4. sample window by window
        solver, ts = get_solver(settings.solver), time_grid(settings.steps, self.device)
        velocity = guided_velocity(self.model, settings.guidance)
        gen = torch.Generator(device="cpu").manual_seed(int(request.seed))
        out = np.zeros((starts[-1] + W, cfg.motion_dim), np.float32)  # normalised motion
        ramp = ((np.arange(P) + 0.5) / P)[:, None].astype(np.float32)
        prev = None
        for k, s in enumerate(starts):
            cond = self._window_cond(static, mel, env, silence, s, prev)
            noise = torch.randn(1, W, cfg.motion_dim, generator=gen).to(self.device)
            x = solver(velocity, noise, ts, cond)[0].float().cpu().numpy()  # (W, D)
            if k == 0:
                out[:W] = x
            else:
                out[s : s + P] = (1.0 - ramp) * out[s : s + P] + ramp * x[:P]
                out[s + P : s + W] = x[P:]
            prev = out[s + W - P : s + W].copy()
            if progress is not None:
                progress(min(s + W - (P if k + 1 < len(starts) else 0), T), T)
            if s + W - P >= T and k + 1 < len(starts):
                break  # the rest is tail silence beyond what any frame needs
        # 5. post-process
        motion = self.ckpt.norm.denormalize(out[:T])
        return MotionSeq(postprocess(motion, settings, plan), feats.fps)
