"""Turn a folder or a manifest into a list of jobs, before any work starts.

Folder rules (documented in the README):
  * ``anna.jpg`` + ``anna.wav``: one job.
  * ``anna.jpg`` + ``anna__en.wav`` + ``anna__de.wav``: one portrait, several audios
    (the part before the first ``__`` names the portrait).
  * a subfolder holding one portrait and one or more audio files: one job per audio,
    whatever the names. A subfolder with several portraits follows the stem rules.
  * files that pair with nothing are listed in the plan and the report as unpaired.
  * two portraits with one stem (``anna.webp``, ``anna.tiff``): their jobs fail, naming
    both files, rather than one being picked silently.
  * a video pairs like a portrait (``anna.mp4`` + ``anna__de.wav``) and its job dubs it.
    Whether a ``.mp4``/``.mov``/``.mkv``/``.webm`` file is a video (more than one frame)
    or only sound, its content decides (``batch.videos``).

Manifests: ``manifest``; output names: ``outputs``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from .manifest import plan_manifest
from .spec import BatchPlan, JobSpec
from .videos import VIDEO_EXTS, is_video_input

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
AUDIO_EXTS = {
    ".wav",
    ".mp3",
    ".ogg",
    ".oga",
    ".opus",
    ".m4a",
    ".aac",
    ".flac",
    ".mp4",
    ".mov",
    ".mkv",
    ".webm",
}


def _safe_entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        raise UsageError(f"cannot list folder: {exc.strerror}", path=folder) from None


def _is_kind(path: Path, exts: set[str]) -> bool:
    if path.name.startswith(".") or path.suffix.lower() not in exts:
        return False  # hidden files include moda's own temp files and locks
    try:
        # A video with a moda sidecar is an earlier batch's output (the output folder can
        # be the input folder): taking its sound as speech would render it again.
        return path.is_file() and not path.with_name(path.name + ".moda.json").exists()
    except OSError:  # e.g. a symlink loop: not a usable file
        return False


def _pair_by_stem(
    images: list[Path], audios: list[Path], group: str
) -> tuple[list[JobSpec], list[Path]]:
    by_stem: dict[str, list[Path]] = {}
    for image in images:
        by_stem.setdefault(image.stem, []).append(image)
    if len(images) == 1 and group:
        # A subfolder with a single portrait: every audio in it belongs to that portrait.
        jobs = [JobSpec(f"{group}/{a.stem}", images[0], a) for a in audios]
        return jobs, ([] if audios else images)
    jobs, used = [], set()
    unpaired: list[Path] = []
    for audio in audios:
        stem = audio.stem if audio.stem in by_stem else audio.stem.split("__", 1)[0]
        portraits = by_stem.get(stem, [])
        if not portraits:
            unpaired.append(audio)
            continue
        used.update(portraits)
        name = f"{group}/{audio.stem}" if group else audio.stem
        if len(portraits) > 1:
            names = " and ".join(p.name for p in portraits)
            error = f"{audio}: portraits {names} share the name {stem!r}; keep one, rename the rest"
            jobs.append(JobSpec(name, None, audio, error=error))
        else:
            jobs.append(JobSpec(name, portraits[0], audio))
    unpaired += [p for p in images if p not in used]
    return jobs, unpaired


def _visuals_and_audios(entries: list[Path]) -> tuple[list[Path], list[Path]]:
    """A folder's images and videos (by content: an .mp4 of sound alone is audio), and its
    other audio files."""
    videos = [p for p in entries if _is_kind(p, VIDEO_EXTS) and is_video_input(p)]
    visuals = sorted([p for p in entries if _is_kind(p, IMAGE_EXTS)] + videos)
    return visuals, [p for p in entries if _is_kind(p, AUDIO_EXTS) and p not in videos]


def plan_folder(folder: Path) -> BatchPlan:
    """Pair portraits and audio in ``folder`` and its immediate subfolders."""
    if not folder.is_dir():
        raise UsageError("input folder not found", path=folder)
    seen = {folder.resolve()}
    jobs, unpaired, subdirs = [], [], []
    entries = _safe_entries(folder)
    found, left = _pair_by_stem(*_visuals_and_audios(entries), "")
    jobs += found
    unpaired += left
    for sub in entries:
        try:
            real = sub.resolve(strict=True)
            if not sub.is_dir() or real in seen or sub.name.startswith("."):
                continue
        except (OSError, RuntimeError):  # dangling link or symlink loop
            continue
        seen.add(real)
        subdirs.append(sub)
    for sub in subdirs:
        sub_entries = _safe_entries(sub)
        found, left = _pair_by_stem(*_visuals_and_audios(sub_entries), sub.name)
        jobs += found
        unpaired += left
    return BatchPlan(jobs, unpaired, folder)


def plan_inputs(source: Path) -> BatchPlan:
    """A folder or a manifest file."""
    return plan_folder(source) if source.is_dir() else plan_manifest(source)
