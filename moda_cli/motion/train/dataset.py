"""The synthetic training set on disk: clips made in a pool of processes, written in shards,
read back as one array per split. One clip is ``clip.make_clip``.

On disk (``FORMAT_VERSION`` 2)::

    out_dir/dataset.json                 recipe, recipe_hash, fps, shards and counts per split
    out_dir/{train,heldout}/shard_NNNNN.npz   np.savez, no pickled objects:
        mel        (N, 4, 80) float16   log-mel sub-frames per video frame
        motion     (N, 58)    float32   joint space, params.PARAM_NAMES order
        labels     (N,)       int8      visemes.LABEL_* (0 silence, 1 p/b/m, 2 open vowel,
                                        3 other speech, 4 f/v)
        envelope   (N,)       float32
        clip_start (C,)       int64     first frame of each clip within this shard
        clip_len   (C,)       int64
        emotion    (C, 9)     float32   mixture weights over facemodel.emotions.EMOTION_LABELS
                                        (emotions.mix_weights; [..., 8] = none)
        identity   (C, 16)    float32
      extras (per clip, the conditions used to draw the targets):
        head, expression, lips, blink_rate  (C,) float32
    out_dir/{train,heldout}/clips.json   per clip: language, voice, sentences, seconds

Every clip is drawn from its own seed, so the shards do not depend on how work is spread
over processes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from ...atomic import atomic_path, atomic_write
from ...face.identity import IDENTITY_DIM
from ...facemodel.emotions import EMOTION_LABELS, NUM_EMOTION_CLASSES
from ...facemodel.params import NUM_PARAMS, PARAM_NAMES
from ..generator import ProgressFn
from . import corpus, flite, realclips, visemes
from .clip import FORMAT, FORMAT_VERSION, Clip, DataRecipe, make_clip


@dataclass
class DatasetInfo:
    out_dir: Path
    recipe_hash: str
    clips: dict[str, int]
    frames: dict[str, int]
    hours: dict[str, float]
    build_seconds: float
    clips_per_second: float
    reused: bool = False


# ----------------------------------------------------------------------------- shards


def _write_shard(path: Path, clips: list[Clip]) -> int:
    lens = np.array([len(c.labels) for c in clips], dtype=np.int64)
    arrays = {
        "mel": np.concatenate([c.mel for c in clips]).astype(np.float16),
        "motion": np.concatenate([c.motion for c in clips]).astype(np.float32),
        "labels": np.concatenate([c.labels for c in clips]).astype(np.int8),
        "envelope": np.concatenate([c.envelope for c in clips]).astype(np.float32),
        "clip_start": np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64),
        "clip_len": lens,
        "emotion": np.stack([c.emotion for c in clips]).astype(np.float32),
        "identity": np.stack([c.identity for c in clips]).astype(np.float32),
    }
    for key in ("head", "expression", "lips", "blink_rate"):
        arrays[key] = np.array([c.conditions[key] for c in clips], dtype=np.float32)
    # A file object: np.savez would add ".npz" to the temp file's name.
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return int(lens.sum())


def write_split(
    out: Path,
    split: str,
    shards: Iterable[list[Clip]],
    on_shard: Callable[[int], None] | None = None,
) -> dict:
    """Write ``split``'s shards as they come (its old ones removed first), then its clips.json.

    Returns the split's entry of dataset.json (shards, clips, frames, hours); ``on_shard``
    is called with the number of clips of each shard once it is written."""
    (out / split).mkdir(parents=True, exist_ok=True)
    for old in (out / split).glob("shard_*.npz"):
        old.unlink()
    names, frames, metas = [], 0, []
    for s, clips in enumerate(shards):
        name = f"{split}/shard_{s:05d}.npz"
        frames += _write_shard(out / name, clips)
        names.append(name)
        metas += [c.meta for c in clips]
        if on_shard is not None:
            on_shard(len(clips))
    (out / split / "clips.json").write_text(json.dumps(metas, ensure_ascii=False, indent=0))
    seconds = sum(m["seconds"] for m in metas)
    return {
        "shards": names,
        "clips": len(metas),
        "frames": frames,
        "hours": round(seconds / 3600, 4),
    }


def write_manifest(out: Path, info: dict) -> None:
    """dataset.json, written last and atomically: its presence means the dataset is whole."""
    atomic_write(out / "dataset.json", json.dumps(info, indent=1, ensure_ascii=False))


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)  # one core per process; the pool supplies the parallelism


def _make_batch(args: tuple[DataRecipe, str, list[int], Path | None]) -> list[Clip]:
    recipe, split, indices, real_speech = args
    return [make_clip(recipe, split, i, real_speech) for i in indices]  # type: ignore[arg-type]


def _made_shards(
    recipe: DataRecipe,
    split: str,
    count: int,
    pool: ProcessPoolExecutor | None,
    workers: int,
    real_folder: Path | None,
) -> Iterator[list[Clip]]:
    """``split``'s clips 0..count-1 in shards of ``clips_per_shard``, made by ``workers``."""
    for first in range(0, count, recipe.clips_per_shard):
        indices = list(range(first, min(first + recipe.clips_per_shard, count)))
        batches = [
            (recipe, split, indices[k::workers], real_folder) for k in range(max(workers, 1))
        ]
        if pool is None:
            results = [_make_batch(b) for b in batches]
        else:
            results = list(pool.map(_make_batch, batches))
        by_index = {
            i: c
            for b, r in zip(batches, results, strict=True)
            for i, c in zip(b[2], r, strict=True)
        }
        clips = [by_index[i] for i in indices]
        for i, c in zip(indices, clips, strict=True):
            c.meta = {"index": i, **c.meta}
        yield clips


def build_dataset(
    recipe: DataRecipe,
    out_dir: str | Path,
    progress: ProgressFn | None = None,
    workers: int = 2,
    overwrite: bool = False,
    real_speech: str | Path | None = None,
    fetch: bool = False,
) -> DatasetInfo:
    """Write the dataset for ``recipe`` under ``out_dir`` (see the module doc for the format).

    An existing dataset with the same recipe hash is reused unless ``overwrite``.
    ``workers`` processes make clips (1 = in this process). A recipe with a
    ``real_fraction`` needs ``real_speech``, the folder of the Debian packages
    (``realspeech``; ``fetch`` downloads missing ones with apt-get)."""
    out = Path(out_dir)
    manifest = out / "dataset.json"
    if manifest.is_file() and not overwrite:
        info = json.loads(manifest.read_text())
        if info.get("recipe_hash") == recipe.recipe_hash():
            return dataset_info(out, info, reused=True)
    if recipe.num_clips < 1 or recipe.heldout_clips < 0:
        raise ValueError(
            "num_clips must be >= 1 and heldout_clips >= 0, "
            f"got {recipe.num_clips}, {recipe.heldout_clips}"
        )
    unknown = [lang for lang in recipe.languages if lang not in corpus.LANGUAGES]
    if unknown:
        raise ValueError(f"unknown languages {unknown}; available: {', '.join(corpus.LANGUAGES)}")
    real_folder = _check_real(recipe, real_speech, fetch)
    out.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)  # a half-written dataset never looks complete
    started = time.perf_counter()
    total = recipe.num_clips + recipe.heldout_clips
    done = 0

    def advance(clips: int) -> None:
        nonlocal done
        done += clips
        if progress is not None:
            progress(done, total)

    splits: dict[str, dict] = {}
    pool = (
        ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_init)
        if workers > 1
        else None
    )
    try:
        for split, count in (("train", recipe.num_clips), ("heldout", recipe.heldout_clips)):
            made = _made_shards(recipe, split, count, pool, workers, real_folder)
            splits[split] = write_split(out, split, made, advance)
    finally:
        if pool is not None:
            pool.shutdown()
    elapsed = time.perf_counter() - started
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "recipe": recipe.to_json(),
        "recipe_hash": recipe.recipe_hash(),
        "fps": recipe.fps,
        "param_names": list(PARAM_NAMES),
        "emotions": list(EMOTION_LABELS),
        "label_names": list(visemes.LABEL_NAMES),
        "splits": splits,
        "build_seconds": round(elapsed, 2),
        "clips_per_second": round(total / elapsed, 3),
        "workers": workers,
    }
    write_manifest(out, info)
    return dataset_info(out, info, reused=False)


def _check_real(recipe: DataRecipe, real_speech: str | Path | None, fetch: bool) -> Path | None:
    """The packages' folder, checked before any clip is made (None: no recorded speech)."""
    folder = Path(real_speech) if real_speech is not None else None
    if recipe.flite_fraction > 0.0:
        flite.find_flite(folder, fetch)  # unpacks it, or fails naming the fix
    if recipe.real_fraction <= 0.0:
        return folder
    if real_speech is None:
        raise ValueError(
            f"real_fraction {recipe.real_fraction} needs the folder of the recorded-speech "
            "packages (moda train --real-speech FOLDER)"
        )
    realclips.check_sources(recipe.real_sources, Path(real_speech), fetch)
    return Path(real_speech)


def dataset_info(out: Path, info: dict, reused: bool) -> DatasetInfo:
    """The summary of a dataset from its ``dataset.json`` (``info``)."""
    sp = info["splits"]
    return DatasetInfo(
        out_dir=out,
        recipe_hash=info["recipe_hash"],
        clips={k: v["clips"] for k, v in sp.items()},
        frames={k: v["frames"] for k, v in sp.items()},
        hours={k: v["hours"] for k, v in sp.items()},
        build_seconds=info["build_seconds"],
        clips_per_second=info["clips_per_second"],
        reused=reused,
    )


# ----------------------------------------------------------------------------- reading


@dataclass
class SplitData:
    """A whole split, shards concatenated; clip_start indexes the concatenated frames."""

    mel: np.ndarray  # (N, 4, 80) float16
    motion: np.ndarray  # (N, 58) float32
    labels: np.ndarray  # (N,) int8
    envelope: np.ndarray  # (N,) float32
    clip_start: np.ndarray  # (C,) int64
    clip_len: np.ndarray  # (C,) int64
    emotion: np.ndarray  # (C, 9) float32 mixture weights
    identity: np.ndarray  # (C, 16) float32
    conditions: dict[str, np.ndarray]  # head, expression, lips, blink_rate: (C,) float32
    fps: float

    @property
    def num_clips(self) -> int:
        return len(self.clip_len)


_FRAME_KEYS = ("mel", "motion", "labels", "envelope")
_CLIP_KEYS = ("clip_len", "emotion", "identity")
_COND_KEYS = ("head", "expression", "lips", "blink_rate")


def load_split(data_dir: str | Path, split: corpus.Split) -> SplitData:
    """Read every shard of ``split`` ('train' or 'heldout') listed in dataset.json."""
    data_dir = Path(data_dir)
    manifest = data_dir / "dataset.json"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} not found: build the dataset first (build_dataset)")
    info = json.loads(manifest.read_text())
    if info.get("format") != FORMAT or info.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{manifest}: format {info.get('format')} v{info.get('format_version')}, "
            f"expected {FORMAT} v{FORMAT_VERSION}"
        )
    if split not in info["splits"]:
        raise KeyError(f"{manifest} has no split {split!r}; it has {', '.join(info['splits'])}")
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in (*_FRAME_KEYS, *_CLIP_KEYS, *_COND_KEYS, "clip_start")
    }
    offset = 0
    for name in info["splits"][split]["shards"]:
        with np.load(data_dir / name, allow_pickle=False) as z:
            for k in (*_FRAME_KEYS, *_CLIP_KEYS):
                parts[k].append(z[k])
            for k in _COND_KEYS:
                parts[k].append(
                    z[k] if k in z.files else np.full(len(z["clip_len"]), np.nan, np.float32)
                )
            parts["clip_start"].append(z["clip_start"] + offset)
            offset += len(z["labels"])
    if not parts["labels"]:
        empty = {k: np.zeros((0,), np.float32) for k in _COND_KEYS}
        return SplitData(
            np.zeros((0, 4, 80), np.float16),
            np.zeros((0, NUM_PARAMS), np.float32),
            np.zeros(0, np.int8),
            np.zeros(0, np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros((0, NUM_EMOTION_CLASSES), np.float32),
            np.zeros((0, IDENTITY_DIM), np.float32),
            empty,
            float(info["fps"]),
        )
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return SplitData(
        mel=cat["mel"],
        motion=cat["motion"],
        labels=cat["labels"],
        envelope=cat["envelope"],
        clip_start=cat["clip_start"],
        clip_len=cat["clip_len"],
        emotion=cat["emotion"],
        identity=cat["identity"],
        conditions={k: cat[k] for k in _COND_KEYS},
        fps=float(info["fps"]),
    )
