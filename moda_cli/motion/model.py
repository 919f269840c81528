"""MotionDiT: the flow-matching multimodal diffusion transformer that samples motion.

Following MoDA, one transformer predicts the rectified-flow velocity of a window of
motion frames (the joint space, ``facemodel/params.py``: head pose and ARKit's 52 blendshapes)
from several condition streams:

    motion   W tokens   the noisy motion x_t, one token per frame
    audio    W tokens   log-mel sub-frames + loudness with a short context of neighbours
    global   3 tokens   emotion mixture, identity descriptor, target motion statistics
    prev     P tokens   the previous window's last P frames (a "motion prompt")

The previous window overlaps the current one by P frames, so the prompt tokens share
the frame positions 0..P-1 with the first P motion tokens: the model learns to continue
what was already drawn and the cross-fade between windows joins two near-equal curves.

Fusion is coarse-to-fine as in MoDA: ``depth_multi`` blocks give each of the four
streams its own weights with one joint attention over all tokens; ``depth_dual`` blocks
split motion vs all conditions; ``depth_single`` blocks share one weight set. Diffusion
time, emotion and the statistics modulate every block through adaLN-zero. RMSNorm
everywhere, query/key RMSNorm for stability, RoPE on frame positions.

An emotion is a mixture: weights over the emotion table's rows that sum to 1, the part of
the intensity not asked for on ``none`` (``emotions.mix_weights``), so "happiness:0.6"
is 0.6 of happiness's row and 0.4 of none's and intensities in between are points between
the rows the model trained on (``clip.py`` draws clips' intensities and mixtures).

Classifier-free guidance: a learned null audio token replaces every audio token and the
emotion none alone is the null emotion (``MotionCond.drop_audio``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import cast

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..audio.types import MEL_PER_FRAME, N_MELS
from ..face.identity import IDENTITY_DIM
from ..facemodel.emotions import NUM_EMOTION_CLASSES, mix_weights
from ..facemodel.params import NUM_PARAMS

NUM_STATS = 3  # head-rotation spread (deg), expression spread, blink rate (per minute)


@dataclass
class MotionDiTConfig:
    width: int = 128
    heads: int = 4
    depth_multi: int = 2  # four-stream blocks (motion | audio | global | prev)
    depth_dual: int = 2  # two-stream blocks (motion | conditions)
    depth_single: int = 3  # shared single-stream blocks
    mlp_ratio: float = 3.0
    window: int = 80  # motion frames per window (3.2 s at 25 fps)
    prev_frames: int = 16  # frames of the previous window given as a prompt (= overlap)
    audio_context: int = 2  # extra audio frames on each side of the window
    motion_dim: int = NUM_PARAMS
    mel_per_frame: int = MEL_PER_FRAME
    n_mels: int = N_MELS
    identity_dim: int = IDENTITY_DIM
    num_emotions: int = NUM_EMOTION_CLASSES
    num_stats: int = NUM_STATS
    rope_base: float = 10_000.0

    @classmethod
    def from_dict(cls, data: dict) -> MotionDiTConfig:
        """Strict: unknown keys are errors (a checkpoint from another code version)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown MotionDiTConfig keys: {', '.join(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class MotionCond:
    """Everything the velocity model is conditioned on, batched (B = batch).

    audio:      (B, W + 2C, K, M) float log-mel sub-frames; C = config.audio_context
    envelope:   (B, W + 2C) float loudness 0..1
    emotion:    (B, E) float mixture weights over ``facemodel.emotions.EMOTION_LABELS`` rows,
                summing to 1 (``mix_weights``; one-hot on the last row, none, is the null)
    identity:   (B, IDENTITY_DIM) float descriptor
    stats:      (B, NUM_STATS) float normalised statistics (see normalization.py)
    prev:       (B, P, D) float normalised motion of the previous window's last P frames
    has_prev:   (B,) bool, False where there is no previous window (prev is ignored)
    drop_audio: (B,) bool, True replaces every audio token by the learned null token
    """

    audio: torch.Tensor
    envelope: torch.Tensor
    emotion: torch.Tensor
    identity: torch.Tensor
    stats: torch.Tensor
    prev: torch.Tensor
    has_prev: torch.Tensor
    drop_audio: torch.Tensor

    def to(self, device: torch.device | str) -> MotionCond:
        return MotionCond(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def unconditional(self) -> MotionCond:
        """The null condition for guidance: no audio, emotion 'none'; the rest is kept."""
        return MotionCond(
            audio=self.audio,
            envelope=self.envelope,
            emotion=torch.as_tensor(mix_weights({}), device=self.emotion.device).expand_as(
                self.emotion
            ),
            identity=self.identity,
            stats=self.stats,
            prev=self.prev,
            has_prev=self.has_prev,
            drop_audio=torch.ones_like(self.drop_audio),
        )

    @staticmethod
    def cat(conds: list[MotionCond]) -> MotionCond:
        return MotionCond(
            **{f.name: torch.cat([getattr(c, f.name) for c in conds]) for f in fields(MotionCond)}
        )


# ----------------------------------------------------------------------------- parts


class RMSNorm(nn.Module):
    def __init__(self, dim: int, affine: bool = True, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return x * self.weight if self.weight is not None else x


def rope_table(positions: torch.Tensor, head_dim: int, base: float) -> torch.Tensor:
    """Unit complex rotations (L, hs/2) for rotary embeddings at integer frame positions (L,)."""
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # (hs/2,)
    ang = positions.float()[:, None] * inv[None]  # (L, hs/2)
    return torch.polar(torch.ones_like(ang), ang)


def apply_rope(x: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (even, odd) of x (B, nh, L, hs) by the position angles.

    A pair is one complex number, so the rotation is one complex product: a tenth of
    the time of the same arithmetic on strided real halves.
    """
    pairs = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2))  # (B, nh, L, hs/2)
    return torch.view_as_real(pairs * rope).flatten(-2)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features (B, dim) of flow time t in [0, 1] (scaled to 0..1000 like DiT)."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(10_000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half
    )
    args = 1000.0 * t.float()[:, None] * freqs[None]  # (B, half)
    return torch.cat([args.cos(), args.sin()], dim=-1)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return torch.addcmul(shift[:, None], x, 1.0 + scale[:, None])  # x * (1 + scale) + shift


class StreamWeights(nn.Module):
    """One stream's weights in a block: adaLN-zero modulation, qkv, output, MLP."""

    def __init__(self, cfg: MotionDiTConfig):
        super().__init__()
        w, hidden = cfg.width, int(cfg.width * cfg.mlp_ratio)
        self.norm1 = RMSNorm(w, affine=False)
        self.qkv = nn.Linear(w, 3 * w)
        self.q_norm = RMSNorm(w // cfg.heads)
        self.k_norm = RMSNorm(w // cfg.heads)
        self.proj = nn.Linear(w, w)
        self.norm2 = RMSNorm(w, affine=False)
        self.mlp = nn.Sequential(nn.Linear(w, hidden), nn.GELU(), nn.Linear(hidden, w))
        # adaLN-zero: shift/scale/gate for attention and MLP; zero init = identity block.
        self.ada = nn.Linear(w, 6 * w)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)


class JointBlock(nn.Module):
    """A transformer block whose tokens are split into streams with separate weights.

    All streams attend jointly over the whole sequence; ``segments`` gives how many
    consecutive tokens belong to each stream (1 segment = a plain DiT block).
    """

    def __init__(self, cfg: MotionDiTConfig, segments: list[int]):
        super().__init__()
        self.heads = cfg.heads
        self.segments = segments
        self.streams = nn.ModuleList(StreamWeights(cfg) for _ in segments)

    def forward(self, x: torch.Tensor, c: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
        B, L, C = x.shape  # (batch, tokens, width)
        nh, hs = self.heads, C // self.heads
        parts = torch.split(x, self.segments, dim=1)
        streams = cast(list[StreamWeights], list(self.streams))
        mods = [s.ada(F.silu(c)).chunk(6, dim=-1) for s in streams]  # each (B, C) x6
        qs, ks, vs = [], [], []
        for part, s, m in zip(parts, streams, mods, strict=True):
            h = modulate(s.norm1(part), m[0], m[1])
            q, k, v = s.qkv(h).view(B, part.shape[1], 3, nh, hs).unbind(2)  # (B, Ls, nh, hs) x3
            qs.append(s.q_norm(q))
            ks.append(s.k_norm(k))
            vs.append(v)
        q = apply_rope(torch.cat(qs, 1).transpose(1, 2), rope)  # (B, nh, L, hs)
        k = apply_rope(torch.cat(ks, 1).transpose(1, 2), rope)
        v = torch.cat(vs, 1).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v)  # (B, nh, L, hs)
        ys = torch.split(y.transpose(1, 2).reshape(B, L, C), self.segments, dim=1)
        out = []
        for part, yp, s, m in zip(parts, ys, streams, mods, strict=True):
            part = part + m[2][:, None] * s.proj(yp)
            part = part + m[5][:, None] * s.mlp(modulate(s.norm2(part), m[3], m[4]))
            out.append(part)
        return torch.cat(out, dim=1)


class AudioStem(nn.Module):
    """Mel sub-frames + envelope of W + 2C frames -> W audio tokens (valid temporal convs).

    Two convolutions of kernel C + 1 see C frames of context on each side in total, so
    the tokens at the window's edges hear the neighbouring audio (coarticulation).
    """

    def __init__(self, cfg: MotionDiTConfig):
        super().__init__()
        feat = cfg.mel_per_frame * cfg.n_mels + 1
        k = cfg.audio_context + 1
        self.inp = nn.Linear(feat, cfg.width)
        self.conv1 = nn.Conv1d(cfg.width, cfg.width, k)
        self.conv2 = nn.Conv1d(cfg.width, cfg.width, k)

    def forward(self, mel: torch.Tensor, envelope: torch.Tensor) -> torch.Tensor:
        B, T = envelope.shape  # T = W + 2C
        feat = torch.cat([mel.reshape(B, T, -1), envelope[..., None]], dim=-1)  # (B, T, K*M + 1)
        h = F.gelu(self.inp(feat)).transpose(1, 2)  # (B, C, T)
        h = F.gelu(self.conv1(h))  # (B, C, T - ctx)
        h = self.conv2(h)  # (B, C, W)
        return h.transpose(1, 2)  # (B, W, C)


# ----------------------------------------------------------------------------- model


class MotionDiT(nn.Module):
    def __init__(self, cfg: MotionDiTConfig):
        super().__init__()
        if cfg.width % cfg.heads or (cfg.width // cfg.heads) % 2:
            raise ValueError(f"width {cfg.width} must split into {cfg.heads} heads of even size")
        if not 0 < cfg.prev_frames <= cfg.window:
            raise ValueError(f"prev_frames {cfg.prev_frames} must be in 1..window ({cfg.window})")
        self.cfg = cfg
        w = cfg.width
        # inputs
        self.motion_in = nn.Linear(cfg.motion_dim, w)
        self.prev_in = nn.Linear(cfg.motion_dim, w)
        self.prev_flag = nn.Embedding(2, w)  # 0 = no previous window, 1 = prompt present
        self.audio_stem = AudioStem(cfg)
        self.null_audio = nn.Parameter(torch.randn(w) * 0.02)
        self.emotion_emb = nn.Embedding(cfg.num_emotions, w)
        self.identity_in = nn.Sequential(nn.Linear(cfg.identity_dim, w), nn.GELU(), nn.Linear(w, w))
        self.stats_in = nn.Sequential(nn.Linear(cfg.num_stats, w), nn.GELU(), nn.Linear(w, w))
        self.type_emb = nn.Parameter(torch.randn(3, w) * 0.02)  # emotion / identity / stats tokens
        # adaLN condition: time + emotion + statistics
        self.time_mlp = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.ada_emotion = nn.Embedding(cfg.num_emotions, w)
        self.ada_stats = nn.Linear(w, w)
        # blocks, coarse to fine
        W, P = cfg.window, cfg.prev_frames
        multi, dual = [W, W, 3, P], [W, W + 3 + P]
        self.blocks = nn.ModuleList(
            [JointBlock(cfg, multi) for _ in range(cfg.depth_multi)]
            + [JointBlock(cfg, dual) for _ in range(cfg.depth_dual)]
            + [JointBlock(cfg, [2 * W + 3 + P]) for _ in range(cfg.depth_single)]
        )
        # output: adaLN final layer on the motion tokens, zero-init (first velocity = 0)
        self.out_norm = RMSNorm(w, affine=False)
        self.out_ada = nn.Linear(w, 2 * w)
        self.out = nn.Linear(w, cfg.motion_dim)
        for lin in (self.out_ada, self.out):
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)
        # frame positions: motion 0..W-1, audio 0..W-1, global 0 (no rotation), prev 0..P-1
        pos = torch.cat(
            [torch.arange(W), torch.arange(W), torch.zeros(3, dtype=torch.long), torch.arange(P)]
        )
        self.register_buffer(
            "rope", rope_table(pos, w // cfg.heads, cfg.rope_base), persistent=False
        )

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, x: torch.Tensor, t: torch.Tensor, *, cond: MotionCond) -> torch.Tensor:
        """Velocity (B, W, D) of noisy normalised motion x (B, W, D) at flow time t (B,)."""
        cfg = self.cfg
        B = x.shape[0]
        if t.ndim == 0:
            t = t.expand(B)
        # tokens
        motion = self.motion_in(x)  # (B, W, C)
        audio = self.audio_stem(cond.audio, cond.envelope)  # (B, W, C)
        audio = torch.where(cond.drop_audio[:, None, None], self.null_audio.to(audio.dtype), audio)
        glob = (
            torch.stack(
                [
                    cond.emotion @ self.emotion_emb.weight,
                    self.identity_in(cond.identity),
                    self.stats_in(cond.stats),
                ],
                dim=1,
            )
            + self.type_emb
        )  # (B, 3, C)
        has_prev = cond.has_prev.long()
        prev = (
            self.prev_in(cond.prev * has_prev[:, None, None]) + self.prev_flag(has_prev)[:, None]
        )  # (B, P, C)
        h = torch.cat([motion, audio, glob, prev], dim=1)  # (B, L, C)
        # modulation vector
        c = self.time_mlp(timestep_embedding(t, cfg.width))
        c = c + cond.emotion @ self.ada_emotion.weight + self.ada_stats(glob[:, 2])  # (B, C)
        for block in self.blocks:
            h = block(h, c, self.rope)
        shift, scale = self.out_ada(F.silu(c)).chunk(2, dim=-1)
        return self.out(modulate(self.out_norm(h[:, : cfg.window]), shift, scale))  # (B, W, D)
