"""Motion-generator speed: parameters, and sampling seconds per second of audio.

    python benchmarks/bench_motion.py [--checkpoint PATH] [--threads 2] [--seconds 10 60]

Reports wall time and process CPU time: on a shared machine the CPU time (with
--threads 1) is the better estimate of an unloaded run. Times the full LearnedGenerator
path (windows, guidance batched with the conditional half, cross-fades, post-processing)
on CPU and, when available, CUDA. Without a checkpoint a randomly initialised
default-config model is timed (speed does not depend on weights).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from moda_cli.audio.types import AudioFeatures
from moda_cli.motion.checkpoint import default_checkpoint_path, save_checkpoint
from moda_cli.motion.generate import LearnedGenerator
from moda_cli.motion.generator import MotionRequest
from moda_cli.motion.model import MotionDiT, MotionDiTConfig
from moda_cli.motion.normalization import Normalization
from moda_cli.motion.settings import MotionSettings


def _random_checkpoint(folder: Path) -> Path:
    d = 17
    norm = Normalization(
        np.zeros(d),
        np.ones(d),
        np.zeros(3),
        np.ones(3),
        np.array([1.3, 0.02, 17.0]),
        np.array([0.1, 0.001, 0.0]),
        np.array([3.5, 0.09, 56.0]),
    )
    return save_checkpoint(folder / "random.safetensors", MotionDiT(MotionDiTConfig()), norm)


def _request(seconds: float, steps: int, solver: str, guidance: float) -> MotionRequest:
    frames = int(round(seconds * 25))
    rng = np.random.default_rng(0)
    feats = AudioFeatures(
        rng.standard_normal((frames, 4, 80)).astype(np.float32) * 0.3,
        rng.random(frames).astype(np.float32),
        25.0,
        seconds,
    )
    settings = MotionSettings(steps=steps, solver=solver, guidance=guidance)
    return MotionRequest(feats, np.full(16, 0.5, np.float32), settings, seed=0)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--checkpoint", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    ap.add_argument("--steps", type=int, default=MotionSettings().steps)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tmp = tempfile.TemporaryDirectory()
    ckpt = args.checkpoint or (
        default_checkpoint_path() if default_checkpoint_path().is_file() else None
    )
    ckpt = ckpt or _random_checkpoint(Path(tmp.name))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"checkpoint: {ckpt}; torch threads: {args.threads}; steps: {args.steps}")
    print(
        f"{'device':<6} {'audio s':>8} {'solver':<6} {'cfg':>4} {'wall s':>8} {'cpu s':>8} "
        f"{'s per audio s':>14} {'x realtime':>10}"
    )
    for device in devices:
        gen = LearnedGenerator(ckpt, device=device)
        gen.generate(_request(3.0, 2, "euler", 1.2))  # warm-up
        for seconds in args.seconds:
            for solver, guidance in (("euler", 1.2), ("euler", 1.0), ("heun", 1.2)):
                req = _request(seconds, args.steps, solver, guidance)
                t0, c0 = time.perf_counter(), time.process_time()
                gen.generate(req)
                if device == "cuda":
                    torch.cuda.synchronize()
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
                per = dt / seconds
                print(
                    f"{device:<6} {seconds:>8.1f} {solver:<6} {guidance:>4.1f} {dt:>8.2f} "
                    f"{cpu:>8.2f} {per:>14.3f} {1 / per:>10.1f}",
                    flush=True,
                )
    n_params = gen.model.num_params()
    print(f"parameters: {n_params:,} ({n_params / 1e6:.2f} M)")


if __name__ == "__main__":
    main()
