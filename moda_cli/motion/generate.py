"""The learned motion generator: MotionDiT sampled window by window over any length.

Stages of ``LearnedGenerator.generate``:

1. check the request (feature shapes, identity size)
2. plan windows of W frames that overlap by P, over the clip plus ~2 s of silence so the
   last words close naturally (cut again at the end)
3. map the preset's intensities to the statistics condition (relative to the checkpoint's
   natural reference values); what the model has not seen becomes a post-scale
4. sample each window with the ODE solver and classifier-free guidance, prompted by the
   previous window's last P frames (together with other jobs' windows when a batcher is
   given), and cross-fade it into the output over the overlap; channels the request gives
   (``GivenMotion``: a pose reference, a dubbed video's head) are inpainted, not sampled
   (``sampling.inpainting_velocity``), so the sampled ones are drawn coherent with them
5. post-process: lip, expression and head scales, then the finish (``finish.FinishPlan``):
   pose moving average, blinks redrawn with a person's lid kinematics at the model's blink
   instants, the gaze layer, clip to the documented ranges; given channels come out as
   given; ``stream`` yields each window's final frames as soon as nothing after them can
   change them, so rendering overlaps sampling

The model samples the joint space itself (pose + ARKit's 52) and draws the emotion
mixture it is conditioned on (``emotions.mix_weights``): its training data holds each
emotion's facial actions (``train/clip.py``), so no emotion layer is added after it.

Time is linear in the clip's length and memory nearly flat: one window is in flight at
a time and the output is a (T, 58) array (58 floats a frame).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..face.identity import IDENTITY_DIM
from ..facemodel.core import LIP_NAMES, lift, lift_mask, linked_columns
from ..facemodel.emotions import mix_weights
from ..facemodel.params import HIGH, LOW, NUM_PARAMS, POSE_SLICE, MotionSeq, index
from .batching import BatchSolve, WindowBatcher
from .checkpoint import LoadedCheckpoint, load_checkpoint
from .finish import FinishPlan, Layers, finish
from .generator import MotionRequest, ProgressFn
from .model import MotionCond
from .normalization import (
    EXPRESSION_COLS,
    STAT_COLS,
    Normalization,
    motion_stats,
    pad_audio,
    silence_frame,
)
from .reference import request_given
from .sampling import get_solver, guided_velocity, inpainting_velocity, time_grid
from .settings import MotionSettings

TAIL_SILENCE_S = 2.0
_LIP_COLS = linked_columns(LIP_NAMES)  # the speech shapes ``lips`` scales
_CLOSE = index("mouthClose")  # jawOpen x the seal: scales with both (``core.lift``)


@dataclass
class IntensityPlan:
    """Raw statistics asked of the model and what is left to apply afterwards."""

    stats: np.ndarray  # (3,) raw statistics inside the range the model was trained on
    head_post: float  # multiplies pose after sampling (0 = exactly still)
    expression_post: float  # multiplies smile/frown/brows after sampling


@dataclass
class GivenPlan:
    """The request's given channels over every planned frame (the clip, then its tail
    silence, which repeats the clip's last row), lifted into the joint space: a joint
    column is given where every core channel it is made of is (``core.lift_mask``).

    raw:    (N, 58) joint values, clipped to range; NaN where sampled
    normed: (N, 58) the same normalised as the model's motion; 0 where sampled
    mask:   (N, 58) bool, True where given
    """

    raw: np.ndarray
    normed: np.ndarray
    mask: np.ndarray

    @staticmethod
    def for_rows(values: np.ndarray, rows: int, norm: Normalization) -> GivenPlan:
        """From (T, 17) given core values (NaN where sampled) over ``rows`` frames."""
        padded = np.concatenate([values, np.repeat(values[-1:], rows - len(values), 0)])
        mask = lift_mask(np.isfinite(padded))
        lifted = np.clip(lift(np.nan_to_num(padded)), LOW, HIGH)
        raw = np.where(mask, lifted, np.nan).astype(np.float32)
        normed = np.where(mask, norm.normalize(raw), 0.0).astype(np.float32)
        return GivenPlan(raw, normed, mask)

    def packed(self, noise: torch.Tensor, start: int) -> torch.Tensor:
        """(1, W, 3D): a window's noise, given values and mask side by side, so that windows
        of several jobs batch along the first axis (``solve_given`` unpacks them)."""
        rows = slice(start, start + noise.shape[1])
        values = torch.as_tensor(self.normed[rows], device=noise.device)[None]
        mask = torch.as_tensor(self.mask[rows], dtype=noise.dtype, device=noise.device)[None]
        return torch.cat([noise, values, mask], dim=-1)

    def apply(self, rows: np.ndarray, start: int) -> np.ndarray:
        """(n, 58) finished rows start .. start + n with the given values put back."""
        at = slice(start, start + len(rows))
        return np.where(self.mask[at], self.raw[at], rows).astype(np.float32)


def given_intensity(
    plan: IntensityPlan, given: GivenPlan, frames: int, fps: float, norm: Normalization
) -> IntensityPlan:
    """``plan`` with each statistic whose channels are all given measured on them instead:
    the model is then asked for motion as lively as what it is given (inside its range)."""
    measured = motion_stats(np.nan_to_num(given.raw[:frames]), fps)
    full = np.array([given.mask[:frames, cols].all() for cols in STAT_COLS])
    inside = np.clip(measured, norm.stats_low, norm.stats_high)
    return IntensityPlan(
        np.where(full, inside, plan.stats).astype(np.float32), plan.head_post, plan.expression_post
    )


def plan_windows(num_frames: int, window: int, overlap: int, tail: int) -> list[int]:
    """Start frames of windows covering num_frames + tail frames, each overlapping the last."""
    total = num_frames + tail
    stride = window - overlap
    count = max(1, math.ceil((total - overlap) / stride))
    return [k * stride for k in range(count)]


def plan_intensity(settings: MotionSettings, ckpt: LoadedCheckpoint) -> IntensityPlan:
    norm = ckpt.norm
    ref = norm.stats_reference
    wanted = np.array(
        [ref[0] * settings.head, ref[1] * settings.expression, settings.blink_rate], np.float32
    )
    inside = np.clip(wanted, norm.stats_low, norm.stats_high)

    def post(i: int) -> float:
        return float(wanted[i] / inside[i]) if inside[i] > 1e-6 else 0.0

    return IntensityPlan(inside, post(0), post(1))


def _check(request: MotionRequest) -> None:
    f = request.features
    if f.num_frames < 1:
        raise InputError("audio features have no frames; the audio is too short")
    if f.mel.ndim != 3 or f.envelope.shape != (f.num_frames,):
        raise InputError(
            f"audio features have mel {f.mel.shape} and envelope "
            f"{f.envelope.shape}; expected (T, K, M) and (T,)"
        )
    if np.asarray(request.identity).shape != (IDENTITY_DIM,):
        raise InputError(
            f"identity must have shape ({IDENTITY_DIM},), got {np.asarray(request.identity).shape}"
        )
    if request.given is not None and len(request.given.values) != f.num_frames:
        raise InputError(
            f"given motion has {len(request.given.values)} rows for "
            f"{f.num_frames} audio frames; give one row per frame"
        )


def postprocess(motion: np.ndarray, settings: MotionSettings, plan: IntensityPlan) -> np.ndarray:
    """Lip, expression and head scales of (T, 58) denormalised motion; smoothing and
    clipping follow (``finish``)."""
    out = motion.copy()
    out[:, POSE_SLICE] *= plan.head_post if settings.head > 0 else 0.0
    out[:, EXPRESSION_COLS] *= plan.expression_post
    out[:, _LIP_COLS] *= settings.lips
    out[:, _CLOSE] *= settings.lips * settings.lips
    return out


class LearnedGenerator:
    """MotionGenerator backed by a MotionDiT checkpoint (default: the packaged one).

    batcher: when several jobs stream from this generator at once (threads), their windows
    are sampled together through it (``batching.py``); without one each stream solves its
    own windows, which is what a single job wants.
    """

    name = "learned"

    def __init__(
        self,
        checkpoint_path: str | Path | None = None,
        device: str | torch.device = "cpu",
        batcher: WindowBatcher | None = None,
    ):
        self.device = torch.device(device)
        self.ckpt = load_checkpoint(checkpoint_path, self.device)
        self.model = self.ckpt.model
        self.batcher = batcher

    def _static_cond(self, request: MotionRequest, plan: IntensityPlan) -> dict[str, torch.Tensor]:
        dev = self.device
        stats = self.ckpt.norm.stats_input(plan.stats)
        return {
            "emotion": torch.as_tensor(mix_weights(request.settings.emotion_mix), device=dev)[None],
            "identity": torch.as_tensor(np.asarray(request.identity, np.float32), device=dev)[None],
            "stats": torch.as_tensor(stats, device=dev)[None],
            "drop_audio": torch.zeros(1, dtype=torch.bool, device=dev),
        }

    def _window_cond(self, static, mel, env, silence, start, prev) -> MotionCond:
        cfg, dev = self.ckpt.config, self.device
        context = cfg.audio_context
        m, e = pad_audio(mel, env, start - context, start + cfg.window + context, silence)
        has_prev = prev is not None
        if has_prev:
            prev_t = torch.as_tensor(prev, device=dev)[None]
        else:
            prev_t = torch.zeros(1, cfg.prev_frames, cfg.motion_dim, device=dev)
        return MotionCond(
            audio=torch.as_tensor(m, device=dev)[None],
            envelope=torch.as_tensor(e, device=dev)[None],
            prev=prev_t,
            has_prev=torch.tensor([has_prev], device=dev),
            **static,
        )

    def _window_solve(
        self, settings: MotionSettings, inpaint: bool
    ) -> tuple[BatchSolve, tuple[object, ...]]:
        """A window's solve, (noise, cond) -> (B, W, D) motion, and the key that says all it
        depends on (a batcher batches windows of one key). inpaint: the windows come packed
        with their given channels (``GivenPlan.packed``) and those are inpainted."""
        solver, ts = get_solver(settings.solver), time_grid(settings.steps, self.device)
        velocity = guided_velocity(self.model, settings.guidance)
        key = (self.model, settings.solver, settings.steps, settings.guidance, inpaint)

        def solve(noise: torch.Tensor, cond: MotionCond) -> torch.Tensor:
            return solver(velocity, noise, ts, cond)

        def solve_given(packed: torch.Tensor, cond: MotionCond) -> torch.Tensor:
            noise, values, mask = packed.chunk(3, dim=-1)  # (B, W, D) each
            return solver(inpainting_velocity(velocity, noise, values, mask > 0.5), noise, ts, cond)

        return (solve_given if inpaint else solve), key

    def generate(self, request: MotionRequest, progress: ProgressFn | None = None) -> MotionSeq:
        return MotionSeq(np.concatenate(list(self.stream(request, progress))), request.features.fps)

    @torch.inference_mode()
    def stream(
        self, request: MotionRequest, progress: ProgressFn | None = None
    ) -> Iterator[np.ndarray]:
        # 1. check
        _check(request)
        feats, settings, cfg = request.features, request.settings, self.ckpt.config
        T, W, P = feats.num_frames, cfg.window, cfg.prev_frames
        # 2. plan windows (+ tail silence)
        starts = plan_windows(T, W, P, int(round(TAIL_SILENCE_S * feats.fps)))
        # asarray: no copy of float32 features (a 10-minute clip's are 18 MB)
        mel, env = np.asarray(feats.mel, np.float32), np.asarray(feats.envelope, np.float32)
        silence = silence_frame(mel, env)
        given = request_given(request)
        rows = starts[-1] + W  # the windows' frames: the clip and its tail
        given_plan = GivenPlan.for_rows(given.values, rows, self.ckpt.norm) if given else None
        # 3. intensity -> statistics condition
        plan = plan_intensity(settings, self.ckpt)
        if given_plan is not None:
            plan = given_intensity(plan, given_plan, T, feats.fps, self.ckpt.norm)
        static = self._static_cond(request, plan)
        # 4. sample window by window
        solve, key = self._window_solve(settings, inpaint=given_plan is not None)
        gen = torch.Generator(device="cpu").manual_seed(int(request.seed))
        out = np.zeros((rows, cfg.motion_dim), np.float32)  # normalised motion
        motion = np.zeros((T, NUM_PARAMS), np.float32)  # post-processed, lifted
        ramp = ((np.arange(P) + 0.5) / P)[:, None].astype(np.float32)
        layers = Layers.for_clip(settings, env, feats.fps, request.seed, emotion=False)
        finishing = FinishPlan.for_settings(settings, feats.fps, layers)
        lookahead = finishing.reach[1]  # rows finishing reads past the last finished one
        prev, done, emitted = None, 0, 0  # done: rows of `motion` filled; emitted: rows yielded
        for k, s in enumerate(starts):
            cond = self._window_cond(static, mel, env, silence, s, prev)
            noise = torch.randn(1, W, cfg.motion_dim, generator=gen).to(self.device)
            if given_plan is not None:
                noise = given_plan.packed(noise, s)
            if self.batcher is None:
                sampled = solve(noise, cond)
            else:
                sampled = self.batcher.sample(noise, cond, key, solve)
            x = sampled[0].float().cpu().numpy()  # (W, D)
            if k == 0:
                out[:W] = x
            else:
                out[s : s + P] = (1.0 - ramp) * out[s : s + P] + ramp * x[:P]
                out[s + P : s + W] = x[P:]
            prev = out[s + W - P : s + W].copy()
            last = s + W - P >= T or k + 1 == len(starts)  # the rest is tail silence no frame needs
            # 5. post-process the frames no later window can change; yield those the
            #    pose smoothing no longer needs to look past
            final = T if last else min(s + W - P, T)
            denormalised = self.ckpt.norm.denormalize(out[done:final])
            motion[done:final] = postprocess(denormalised, settings, plan)
            done = final
            if progress is not None:
                progress(done, T)
            ready = T if last else max(final - lookahead, emitted)
            if ready > emitted:
                chunk = finish(motion, emitted, ready, finishing)
                yield chunk if given_plan is None else given_plan.apply(chunk, emitted)
                emitted = ready
            if last:
                return
