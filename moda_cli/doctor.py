"""Environment checks behind `moda doctor`: what is present, what is missing, what is optional."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import ModaError

Status = Literal["ok", "missing", "optional"]


@dataclass
class Check:
    name: str
    status: Status
    detail: str


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_ffmpeg() -> Check:
    from .ffmpeg import ffmpeg_exe

    try:
        return Check("ffmpeg", "ok", ffmpeg_exe())
    except ModaError as exc:
        return Check("ffmpeg", "missing", str(exc))


def check_face_models() -> Check:
    try:
        import mediapipe
    except ImportError as exc:
        return Check("face models (mediapipe)", "missing", f"{exc}; pip install mediapipe==0.10.21")
    root = Path(mediapipe.__file__).parent / "modules"
    needed = [
        "face_detection/face_detection_full_range_sparse.tflite",
        "face_landmark/face_landmark_with_attention.tflite",
    ]
    absent = [n for n in needed if not (root / n).is_file()]
    if absent:
        return Check(
            "face models (mediapipe)",
            "missing",
            f"mediapipe {_version('mediapipe')} ships no {', '.join(absent)}; "
            "install mediapipe==0.10.21",
        )
    return Check(
        "face models (mediapipe)",
        "ok",
        f"mediapipe {_version('mediapipe')}, bundled detection + 478-point mesh",
    )


def check_torch() -> Check:
    try:
        import torch
    except ImportError:
        return Check("torch", "missing", "pip install torch==2.13.0")
    device = f"cuda: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "cpu only"
    return Check("torch", "ok", f"{torch.__version__}, {device}, {torch.get_num_threads()} threads")


def check_motion_checkpoint(path: Path | None) -> Check:
    from .motion.checkpoint import default_checkpoint_path, load_checkpoint

    target = path or default_checkpoint_path()
    try:
        loaded = load_checkpoint(target, "cpu")
    except ModaError as exc:
        return Check("motion checkpoint", "missing", str(exc))
    params = sum(p.numel() for p in loaded.model.parameters())
    return Check("motion checkpoint", "ok", f"{target} ({params / 1e6:.2f} M parameters)")


def check_espeak() -> Check:
    try:
        import espeakng_loader
    except ImportError:
        return Check(
            "espeak-ng (moda train)",
            "optional",
            "pip install espeakng-loader to build training data",
        )
    return Check("espeak-ng (moda train)", "ok", espeakng_loader.get_library_path())


def check_insightface(root: Path | None) -> Check:
    name = "insightface (optional detector)"
    if _version("insightface") is None:
        return Check(name, "optional", "not installed: pip install 'moda-cli[insightface]'")
    if root is None:
        return Check(
            name,
            "optional",
            f"insightface {_version('insightface')}; give --insightface-root DIR to check models",
        )
    onnx = sorted((root / "models" / "buffalo_l").glob("*.onnx"))
    if not onnx:
        return Check(name, "missing", f"no {root}/models/buffalo_l/*.onnx")
    return Check(name, "ok", f"{len(onnx)} models in {root}/models/buffalo_l")


def check_whisper(path: Path | None) -> Check:
    name = "whisper checkpoint (optional)"
    if path is None:
        return Check(
            name,
            "optional",
            "log-mel features need no weights; --whisper-checkpoint FILE adds encoder features",
        )
    if not path.is_file():
        return Check(name, "missing", f"{path} not found")
    return Check(name, "ok", f"{path} ({path.stat().st_size / 1e6:.0f} MB)")


def run_checks(
    insightface_root: Path | None = None,
    whisper_checkpoint: Path | None = None,
    motion_checkpoint: Path | None = None,
) -> list[Check]:
    checks: list[Callable[[], Check]] = [
        check_ffmpeg,
        check_face_models,
        check_torch,
        lambda: check_motion_checkpoint(motion_checkpoint),
        check_espeak,
        lambda: check_insightface(insightface_root),
        lambda: check_whisper(whisper_checkpoint),
    ]
    return [c() for c in checks]
