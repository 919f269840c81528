"""Speed and memory of whole `moda render` runs, by hand: `python benchmarks/bench.py`.

For each case (audio length x output) it runs `moda render` as a child process, so the
wall time includes interpreter start and model loading, and the peak RSS is the child's
own (from wait4). Per-stage times come from the command's own report line. The encode
floor is ffmpeg alone encoding the same frames (raw yuv420p through a pipe, as moda feeds
them) with moda's own encoder command, in the same run.

    python benchmarks/bench.py                      # 10 s, 60 s, 600 s at 512 px and 1080p
    python benchmarks/bench.py --seconds 10 60      # a subset
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
sys.path.insert(0, str(ROOT / "tests"))


def speech(seconds: float) -> Path:
    """espeak sentences with pauses, cached, exactly ``seconds`` long."""
    from _media import write_wav

    from moda_cli.motion.train.corpus import sentences
    from moda_cli.motion.train.speech import synthesize

    path = CACHE / f"speech_{int(seconds)}s.wav"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    parts, total, rng = [], 0, np.random.default_rng(0)
    texts = sentences("en", "heldout")
    while total < seconds * 16_000:
        clip = synthesize(texts[len(parts) % len(texts)], voice="en", rate_wpm=165).samples
        pause = np.zeros(int(rng.uniform(0.2, 0.9) * 16_000), np.float32)
        parts += [clip, pause]
        total += len(clip) + len(pause)
    write_wav(path, np.concatenate(parts)[: int(seconds * 16_000)] * 0.8)
    return path


def portrait_1080p() -> Path:
    """The sample portrait placed in a 1920x1080 frame (face about 400 px tall)."""
    path = CACHE / "portrait_1080p.png"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        face = cv2.imread(str(ROOT / "samples" / "astronaut.png"))
        canvas = cv2.resize(cv2.GaussianBlur(face, (0, 0), 25), (1920, 1080))
        big = cv2.resize(face, (1000, 1000), interpolation=cv2.INTER_CUBIC)
        canvas[40:1040, 460:1460] = big[:1000]
        cv2.imwrite(str(path), canvas)
    return path


def portrait_headshot() -> Path:
    """A 512x512 headshot: the sample's own working crop, so the face fills the frame and
    the warp covers most of it (in the sample itself, a smaller face in 512x512, the warp
    covers a 188 x 220 px box)."""
    path = CACHE / "portrait_headshot.png"
    if not path.exists():
        from moda_cli.face.detect import FaceDetector, crop_image
        from moda_cli.face.image_io import load_portrait
        from moda_cli.render.settings import RenderSettings

        portrait = load_portrait(ROOT / "samples" / "astronaut.png")
        face = FaceDetector().detect(portrait, RenderSettings(size=512, output="crop"))
        cv2.imwrite(
            str(path), cv2.cvtColor(crop_image(portrait.image, face.crop), cv2.COLOR_RGB2BGR)
        )
    return path


PORTRAITS = {
    "512": lambda: ROOT / "samples" / "astronaut.png",
    "512-headshot": portrait_headshot,
    "1080p": portrait_1080p,
}


def run_child(cmd: list[str]) -> tuple[float, float, str, float]:
    """(wall seconds, peak RSS MB, stdout, CPU seconds) of a child process.

    CPU seconds (user + system, the child's own children such as ffmpeg included) are the
    figure to compare on a shared machine: wall time there depends on the other work.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024.0, out, usage.ru_utime + usage.ru_stime


def encode_floor(video: Path) -> float:
    """Seconds ffmpeg alone needs to encode the same frames with moda's own encoder command.

    The frames reach the encoder as raw yuv420p through a pipe, exactly as moda feeds
    them; a second ffmpeg decodes moda's output to produce them (decoding a mostly still
    H.264 video costs a fraction of encoding it).
    """
    from moda_cli.ffmpeg import ffmpeg_exe, probe
    from moda_cli.presets import load_preset
    from moda_cli.video.writer import VideoWriter

    info = probe(video)
    encode = VideoWriter(CACHE / "floor.mp4", settings=load_preset().video).command(
        info.width, info.height
    )
    encode = [*encode[:-1], "-f", "null", "-"]  # same arguments, nothing written
    t0 = time.perf_counter()
    decoder = subprocess.Popen(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(video),
            "-an",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-",
        ],
        stdout=subprocess.PIPE,
    )
    encoder = subprocess.run(encode, stdin=decoder.stdout, check=True)
    decoder.wait()
    assert encoder.returncode == 0
    return time.perf_counter() - t0


def bench_case(seconds: float, output: str, generator: str, device: str) -> dict:
    audio = speech(seconds)
    portrait = PORTRAITS[output]()
    video, report = (
        CACHE / f"out_{int(seconds)}_{output}.mp4",
        CACHE / f"out_{int(seconds)}_{output}.json",
    )
    cmd = [
        sys.executable,
        "-m",
        "moda_cli.cli",
        "render",
        str(portrait),
        str(audio),
        "-o",
        str(video),
        "--device",
        device,
        "--generator",
        generator,
        "--quiet",
        "--report",
        str(report),
    ]
    wall, rss, _, cpu = run_child(cmd)
    job = json.loads(report.read_text())
    frames = job["frames"]
    floor = encode_floor(video)
    # Frames out of the overlapped motion + render + encode part of the job, against ffmpeg alone.
    streamed = sum(job["stage_seconds"][k] for k in ("motion", "render", "encode"))
    return {
        "audio_s": seconds,
        "output": output,
        "frames": frames,
        "wall_s": wall,
        "cpu_s": cpu,
        "rtf": wall / seconds,
        "fps": frames / wall,
        "stream_fps": frames / streamed,
        "floor_fps": frames / floor,
        "floor_ratio": (frames / streamed) / (frames / floor),
        "peak_rss_mb": rss,
        "startup_s": wall - sum(job["stage_seconds"].values()),
        "stages": job["stage_seconds"],
        "cpu": job["stage_cpu_seconds"],
        "peaks": job["stage_peak_rss_mb"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, nargs="+", default=[10, 60, 600])
    ap.add_argument("--outputs", nargs="+", default=list(PORTRAITS), choices=list(PORTRAITS))
    ap.add_argument("--generator", default="learned")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (motion and warping there)")
    args = ap.parse_args()
    print(
        f"moda render benchmark, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, "
        f"{date.today()}, generator {args.generator}, device {args.device}"
    )
    stages = ("face", "audio", "motion", "render", "encode")
    print(
        "Stage columns: wall seconds of the job's thread / CPU seconds wherever the stage ran "
        "(motion samples in a thread beside rendering; encode is x264 plus the YUV conversion)."
    )
    print(
        "| audio | output | frames | wall s | CPU s | realtime factor | start-up s | "
        + " | ".join(f"{k} s" for k in stages)
        + " | frames/s (motion+render+encode) | encode floor frames/s | floor ratio | peak RSS MB |"
    )
    print("|" + " --- |" * (11 + len(stages)))
    for seconds in args.seconds:
        for output in args.outputs:
            r = bench_case(seconds, output, args.generator, args.device)
            cells = " | ".join(
                f"{r['stages'].get(k, 0):.2f} / {r['cpu'].get(k, 0):.1f}" for k in stages
            )
            print(
                f"| {r['audio_s']:.0f} s | {r['output']} | {r['frames']} | {r['wall_s']:.1f} | "
                f"{r['cpu_s']:.1f} | {r['rtf']:.3f} | {r['startup_s']:.2f} | {cells} | "
                f"{r['stream_fps']:.0f} | {r['floor_fps']:.0f} | "
                f"{r['floor_ratio']:.2f} | {r['peak_rss_mb']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
