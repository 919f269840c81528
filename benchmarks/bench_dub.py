"""Speed and memory of dubbing a video, by hand: `python benchmarks/bench_dub.py`.

The sources are made here: the sample portrait in a 1920x1080 frame, animated by moda at
30 fps with lively head motion, with a little temporal grain over the whole frame (camera
noise: x264 then works on every pixel, as on real footage, not on a still background),
then scaled to 1280x720 for the 720p case. Each is dubbed with `moda render SOURCE AUDIO`
as a child process, so the wall time includes interpreter start and model loading; the
peak RSS is the child's own (ffmpeg's not included). The realtime factor is the wall time
over the output's duration. The CPU seconds are split by where they went (the dub's own
``stage_cpu_seconds``: ffmpeg decoding both passes, torch's import with the audio's
features and the model's loading, tracking, motion sampling, the warp, the writer's
feeding, x264; the rest of the child's CPU is start-up), and the load average is printed
before each case: on a shared machine the wall time follows it, the CPU time much less.

    python benchmarks/bench_dub.py                  # 10 s at 720p and 1080p
    python benchmarks/bench_dub.py --seconds 10 40  # also a 4x longer source (memory)
    python benchmarks/bench_dub.py --set video.encoder_preset=superfast
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

from bench import CACHE, ROOT, portrait_1080p, run_child, speech

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
FPS = 30


def source(seconds: float, size: str) -> Path:
    """A grainy talking-head video of ``seconds`` at ``size``, cached."""
    from moda_cli.ffmpeg import ffmpeg_path_arg, run_ffmpeg

    path = CACHE / f"dub_source_{int(seconds)}s_{size}.mp4"
    if path.exists():
        return path
    talking = CACHE / f"dub_talking_{int(seconds)}s.mp4"
    if not talking.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "moda_cli.cli",
                "render",
                str(portrait_1080p()),
                str(speech(seconds)),
                "-o",
                str(talking),
                "--preset",
                "expressive",
                "--set",
                f"video.fps={FPS}",
                "-q",
            ],
            check=True,
        )
    w, h = SIZES[size]
    run_ffmpeg(
        [
            "-y",
            "-i",
            ffmpeg_path_arg(talking),
            "-vf",
            f"scale={w}:{h},noise=alls=4:allf=t",
            "-c:v",
            "libx264",
            "-crf",
            "18",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "copy",
            ffmpeg_path_arg(path),
        ]
    )
    return path


def bench_case(seconds: float, size: str, overrides: list[str]) -> dict:
    video, audio = source(seconds, size), speech(seconds)
    out, report = CACHE / f"dub_out_{int(seconds)}s_{size}.mp4", CACHE / f"dub_{size}.json"
    sets = [arg for key in overrides for arg in ("--set", key)]
    wall, rss, _, cpu = run_child(
        [
            sys.executable,
            "-m",
            "moda_cli.cli",
            "render",
            str(video),
            str(audio),
            "-o",
            str(out),
            "-q",
            "--report",
            str(report),
            *sets,
        ]
    )
    result = json.loads(report.read_text())
    parts = result.get("stage_cpu_seconds", {})
    return {
        "source": size,
        "seconds": seconds,
        "frames": result["frames"],
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "realtime_factor": round(wall / result["audio_seconds"], 3),
        "stages": {k: round(v, 2) for k, v in result["stage_seconds"].items()},
        "cpu": {
            k: round(v, 2) for k, v in {**parts, "start-up": cpu - sum(parts.values())}.items()
        },
        "peak_rss_mb": round(rss),
        "dubbed": result["dubbed"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="a preset key for the dub, e.g. video.encoder_preset=superfast",
    )
    args = parser.parse_args()
    print(f"# {date.today()} {platform.processor() or platform.machine()}, {ROOT.name}")
    print(
        "| source | seconds | frames | load avg | wall s | CPU s | realtime factor "
        "| stages (wall s) | CPU s by part | peak RSS MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for seconds in args.seconds:
        for size in args.sizes:
            load = os.getloadavg()[0]
            r = bench_case(seconds, size, args.overrides)
            stages = ", ".join(f"{k} {v}" for k, v in r["stages"].items())
            cpu = ", ".join(f"{k} {v}" for k, v in r["cpu"].items())
            print(
                f"| {size} | {seconds:g} | {r['frames']} | {load:.2f} | {r['wall_s']} "
                f"| {r['cpu_s']} | {r['realtime_factor']} | {stages} | {cpu} "
                f"| {r['peak_rss_mb']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
