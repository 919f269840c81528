"""Motion + rendering frames per second for many jobs on one device, by hand:

    python benchmarks/bench_gpu.py                      # cuda if torch sees one, else cpu
    python benchmarks/bench_gpu.py --jobs 32 --parallel 8 --seconds 10

The GPU target (issue 5) is about the part a GPU does: sampling motion (windows of a
job in sequence, guidance halves batched, and the windows of the jobs running at once
batched together through ``motion.batching.WindowBatcher``; ``--no-batch`` samples each
job on its own) and warping frames as sampled grids, batches of 32 frames. Each job
here is the sample portrait with 10 s of espeak speech and its own seed; ``--parallel``
jobs run at once in threads (their kernels interleave on the device), as they do in
``moda batch --workers N --pool threads`` (the default on a GPU). Encoding is left out (it runs
on the CPU in parallel to all of this, one ffmpeg per job); mouth and eyelid painting
on the CPU are included, since the frames are not finished without them.
"""

from __future__ import annotations

import argparse
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path

import torch

from moda_cli.audio.decode import load_audio
from moda_cli.audio.features import compute_features
from moda_cli.face.detect import FaceDetector
from moda_cli.face.identity import identity_features
from moda_cli.face.image_io import load_portrait
from moda_cli.motion.batching import WindowBatcher
from moda_cli.motion.generate import LearnedGenerator
from moda_cli.motion.generator import MotionRequest
from moda_cli.presets import load_preset
from moda_cli.render.renderer import Renderer

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--jobs", type=int, default=16)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="audio per job (cut from the 60 s benchmark speech)",
    )
    ap.add_argument(
        "--no-batch", action="store_true", help="sample each job's windows on their own"
    )
    args = ap.parse_args()
    from bench import speech  # the benchmark's cached espeak speech

    preset = load_preset("natural", ["render.output=crop"])
    portrait = load_portrait(ROOT / "samples" / "astronaut.png")
    face = FaceDetector().detect(portrait, preset.render)
    audio = load_audio(speech(60))
    audio = replace(audio, samples=audio.samples[: int(args.seconds * audio.sample_rate)])
    features = compute_features(audio, preset.video.fps)
    batcher = None if args.no_batch else WindowBatcher(max_batch=args.parallel)
    generator = LearnedGenerator(None, args.device, batcher=batcher)
    renderer = Renderer(portrait, face, preset.render, device=args.device)
    identity = identity_features(face.landmarks)
    timings = {"motion": 0.0, "render": 0.0}

    def job(seed: int) -> int:
        request = MotionRequest(features, identity, preset.motion, seed)
        frames = 0
        t0 = time.perf_counter()
        for chunk in generator.stream(request):
            t1 = time.perf_counter()
            for start in range(0, len(chunk), renderer.batch_size):
                renderer.render_patches(chunk[start : start + renderer.batch_size])
            t2 = time.perf_counter()
            timings["motion"] += t1 - t0
            timings["render"] += t2 - t1
            frames += len(chunk)
            t0 = time.perf_counter()
        return frames

    job(0)  # warm-up: kernels, allocator
    timings.update(motion=0.0, render=0.0)
    start = time.perf_counter()
    with ThreadPoolExecutor(args.parallel) as pool:
        frames = sum(pool.map(job, range(1, args.jobs + 1)))
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    name = (
        torch.cuda.get_device_name()
        if args.device.startswith("cuda")
        else platform.processor() or "cpu"
    )
    print(
        f"{date.today()} {name}: {args.jobs} jobs x {args.seconds:.0f} s, "
        f"{args.parallel} at once, device {args.device}"
    )
    print(
        f"motion + rendering: {frames} frames in {wall:.2f} s = {frames / wall:.0f} frames/s "
        f"(thread-seconds: motion {timings['motion']:.1f}, render {timings['render']:.1f}); "
        f"windows batched: {'up to ' + str(batcher.largest_batch) if batcher else 'no'}"
    )


if __name__ == "__main__":
    main()
