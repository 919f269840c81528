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
import os
import platform
import re
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
    from moda_cli.presets import load_preset
    from moda_cli.video.ffmpeg import ffmpeg_exe, probe
    from moda_cli.video.writer import VideoWriter

    info = probe(video)
    encode = VideoWriter(CACHE / "floor.mp4", settings=load_preset().video).command(info.width, info.height)
    encode = [*encode[:-1], "-f", "null", "-"]  # same arguments, nothing written
    t0 = time.perf_counter()
    decoder = subprocess.Popen([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(video),
                                "-an", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"], stdout=subprocess.PIPE)
    encoder = subprocess.run(encode, stdin=decoder.stdout, check=True)
    decoder.wait()
    assert encoder.returncode == 0
    return time.perf_counter() - t0


def bench_case(seconds: float, output: str, generator: str) -> dict:
    audio = speech(seconds)
    portrait = ROOT / "samples" / "astronaut.png" if output == "512" else portrait_1080p()
    video = CACHE / f"out_{int(seconds)}_{output}.mp4"
    cmd = [sys.executable, "-m", "moda_cli.cli", "render", str(portrait), str(audio), "-o", str(video),
           "--device", "cpu", "--generator", generator]
    wall, rss, text, cpu = run_child(cmd)
    text = " ".join(text.split())  # rich may wrap the report line
    stage_text = text.split("(", 1)[-1]
    stages = {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+)s", stage_text)}
    stage_mb = {f"{k}_mb": float(v) for k, v in re.findall(r"(\w+) [\d.]+s ([\d.]+)MB", stage_text)}
    frames = int(re.search(r"(\d+) frames", text).group(1))
    floor = encode_floor(video)
    render_fps = frames / stages.get("render", wall)
    return {"audio_s": seconds, "output": output, "frames": frames, "wall_s": wall, "cpu_s": cpu, "rtf": wall / seconds,
            "fps": frames / wall, "render_fps": render_fps, "floor_fps": frames / floor,
            "floor_ratio": render_fps / (frames / floor), "peak_rss_mb": rss, **stages, **stage_mb}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, nargs="+", default=[10, 60, 600])
    ap.add_argument("--outputs", nargs="+", default=["512", "1080p"])
    ap.add_argument("--generator", default="learned")
    args = ap.parse_args()
    print(f"moda render benchmark, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{date.today()}, generator {args.generator}")
    head = ("| audio | output | frames | wall s | CPU s | realtime factor | fps | face s | audio s | motion s "
            "| render+encode s | encode-floor ratio | peak RSS MB | stage peaks MB (face/audio/motion/render) |")
    print(head)
    print("|" + " --- |" * 14)
    for seconds in args.seconds:
        for output in args.outputs:
            r = bench_case(seconds, output, args.generator)
            peaks = "/".join(f"{r.get(f'{k}_mb', 0):.0f}" for k in ("face", "audio", "motion", "render"))
            print(f"| {r['audio_s']:.0f} s | {r['output']} | {r['frames']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
                  f"{r['rtf']:.3f} | {r['fps']:.1f} | {r.get('face', 0):.2f} | {r.get('audio', 0):.2f} | "
                  f"{r.get('motion', 0):.2f} | {r.get('render', 0):.1f} | {r['floor_ratio']:.2f} | "
                  f"{r['peak_rss_mb']:.0f} | {peaks} |", flush=True)


if __name__ == "__main__":
    main()
