"""Throughput of `moda batch` on many short jobs, by hand: `python benchmarks/bench_batch.py`.

Builds a folder of N jobs (the sample portrait at 256 px copied under N names, each with
its own 1 s of espeak speech), then runs `moda batch` over it as a child process once per
worker count, into a fresh output folder each time. Reported per worker count:

* jobs/min: N / wall time of the whole command (interpreter start, model loading,
  planning, preflight and rendering all included);
* render s/job: the mean of the stages a job itself reports (face, audio, motion, render);
* in-job overhead: the mean of (a job's wall time in its worker - its stages): lock,
  resume sidecar, the first job's model loading spread over all;
* fixed s: start-up, planning and preflight, from the report's phases;
* overhead s/job: wall / N - render s/job / workers, i.e. the time per job that the
  stages do not explain even with perfect parallelism.

    python benchmarks/bench_batch.py                 # 200 jobs, 1 and 2 workers
    python benchmarks/bench_batch.py --jobs 40 --workers 1 2 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def make_jobs(folder: Path, n: int, size: int, seconds: float) -> None:
    """``n`` portrait copies and ``n`` distinct speech clips of ``seconds`` each."""
    from _media import write_wav

    from moda_cli.motion.train.corpus import sentences
    from moda_cli.motion.train.speech import synthesize

    folder.mkdir(parents=True, exist_ok=True)
    face = cv2.resize(
        cv2.imread(str(ROOT / "samples" / "astronaut.png")),
        (size, size),
        interpolation=cv2.INTER_AREA,
    )
    cv2.imwrite(str(folder / "spk000.png"), face)
    texts = sentences("en", "heldout")
    length = int(seconds * 16_000)
    for i in range(n):
        if i:
            shutil.copy(folder / "spk000.png", folder / f"spk{i:03d}.png")
        clip = synthesize(texts[i % len(texts)], voice="en", rate_wpm=170).samples
        lead = np.zeros(int(0.1 * 16_000), np.float32)
        clip = np.concatenate([lead, clip, np.zeros(length, np.float32)])[:length]
        write_wav(folder / f"spk{i:03d}.wav", clip * 0.8)


def run_batch(src: Path, out: Path, workers: int, args: argparse.Namespace) -> dict:
    moda = Path(sys.executable).with_name("moda")
    cmd = [
        str(moda),
        "batch",
        str(src),
        "-o",
        str(out),
        "-q",
        "--workers",
        str(workers),
        "--pool",
        args.pool,
        "--device",
        args.device,
        "--generator",
        args.generator,
        "--set",
        f"render.size={args.size}",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"moda batch exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    report = json.loads((out / "report.json").read_text())
    jobs = [j for j in report["jobs"] if j["status"] == "done"]
    stages = [sum(j["stage_seconds"].values()) for j in jobs]
    in_job = [j["seconds"] - s for j, s in zip(jobs, stages, strict=True)]
    phases = report["summary"]["phase_seconds"]
    n = len(jobs)
    render = float(np.mean(stages))
    return {
        "workers": workers,
        "jobs": n,
        "wall": wall,
        "jobs_per_min": 60.0 * n / wall,
        "render_per_job": render,
        "in_job_overhead": float(np.mean(in_job)),
        "fixed": wall - phases.get("render", 0.0),
        "overhead_per_job": wall / n - render / workers,
        "rtf": report["summary"]["mean_realtime_factor"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=200, help="number of jobs (default 200)")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare"
    )
    parser.add_argument(
        "--size", type=int, default=256, help="portrait side and render.size in pixels"
    )
    parser.add_argument("--seconds", type=float, default=1.0, help="audio per job")
    parser.add_argument(
        "--generator",
        default="baseline",
        help="motion generator: baseline or learned (the bundled model)",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda (motion and warping there)")
    parser.add_argument(
        "--pool",
        default="auto",
        help="how workers run: auto, processes or threads (moda batch --pool)",
    )
    parser.add_argument("--keep", type=Path, help="keep the inputs and outputs in this folder")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="moda-bench-batch-"))
    try:
        make_jobs(root / "in", args.jobs, args.size, args.seconds)
        rows = [run_batch(root / "in", root / f"out_w{w}", w, args) for w in args.workers]
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()[0]
    print(
        f"\n{args.jobs} jobs x {args.seconds:g} s audio, {args.size} px, {args.generator}, "
        f"pool {args.pool}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load avg at end {load:.1f}\n"
    )
    print(
        "| workers | wall s | jobs/min | render s/job | in-job overhead s | fixed s "
        "| overhead s/job | realtime x |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['workers']} | {r['wall']:.1f} | {r['jobs_per_min']:.1f} | "
            f"{r['render_per_job']:.2f} | {r['in_job_overhead']:.3f} | {r['fixed']:.1f} | "
            f"{r['overhead_per_job']:.2f} | {r['rtf']:.2f} |"
        )


if __name__ == "__main__":
    main()
