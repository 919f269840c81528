"""Build the synthetic training set: espeak speech -> audio features -> joint-space motion targets.

One clip = a few sentences of one language in one voice, separated by pauses, with
silence at both ends, augmented, then:

* inputs:  ``audio.features.compute_features`` (the exact features inference uses);
* lips:    ``visemes.lip_track`` from espeak's phoneme timings, scaled by a per-clip lip
           amplitude and, mildly, by the identity (see ``identity_lip_gain``);
* the rest: ``motion.prior`` driven by the phonemes (speaking vs pauses, stressed vowels as
           accents) with a random per-clip head intensity, expression intensity, blink rate
           and emotion, so the model can learn these as conditions.

On disk (``FORMAT_VERSION`` 1)::

    out_dir/dataset.json                 recipe, recipe_hash, fps, shards and counts per split
    out_dir/{train,heldout}/shard_NNNNN.npz   np.savez, no pickled objects:
        mel        (N, 4, 80) float16   log-mel sub-frames per video frame
        motion     (N, 17)    float32   params.PARAM_NAMES order
        labels     (N,)       int8      visemes.LABEL_* (0 silence, 1 p/b/m, 2 open vowel,
                                        3 other speech, 4 f/v)
        envelope   (N,)       float32
        clip_start (C,)       int64     first frame of each clip within this shard
        clip_len   (C,)       int64
        emotion    (C,)       int64     row of facemodel.emotions.EMOTION_LABELS (8 = none)
        identity   (C, 16)    float32
      extras (per clip, the conditions used to draw the targets):
        head, expression, lips, blink_rate  (C,) float32
    out_dir/{train,heldout}/clips.json   per clip: language, voice, sentences, seconds

Held-out clips use only held-out sentences and held-out voices. Every clip is drawn from
its own seed (recipe seed, split, index), so the result does not depend on how work is
spread over processes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ...atomic import atomic_path, atomic_write
from ...audio.features import compute_features
from ...audio.types import SAMPLE_RATE, Audio
from ...face.identity import IDENTITY_DIM, REFERENCE_IDENTITY
from ...facemodel.emotions import EMOTION_LABELS, EMOTIONS, emotion_index
from ...facemodel.params import NUM_PARAMS, PARAM_NAMES
from .. import prior
from ..generator import ProgressFn
from . import corpus, flite, realclips, visemes
from .augment import AugmentConfig, augment, silence
from .perturb import VoicePerturbConfig, maybe_perturb
from .speech import PhonemeEvent, synthesize

FORMAT = "moda-motion-dataset"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class DataRecipe:
    """Everything that decides the data; ``recipe_hash`` names it."""

    num_clips: int = 1000  # training clips
    heldout_clips: int = 60
    clip_seconds: tuple[float, float] = (6.0, 16.0)  # speech is added until this is reached
    languages: tuple[str, ...] = corpus.LANGUAGES
    seed: int = 0
    fps: float = 25.0
    # speech
    pause_seconds: tuple[float, float] = (0.15, 1.5)  # between sentences
    edge_silence_seconds: tuple[float, float] = (0.1, 1.0)  # before the first / after the last
    rate_wpm: tuple[int, int] = (120, 230)
    pitch: tuple[int, int] = (25, 75)
    pitch_range: tuple[int, int] = (20, 90)
    # audio augmentation
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    p_clean: float = 0.15  # clips left unaugmented (level only)
    # voice perturbation of training clips (``perturb``: formants, pitch, rate), all kinds
    voice: VoicePerturbConfig = field(default_factory=VoicePerturbConfig)
    # targets: per-clip conditions
    lip_amplitude: tuple[float, float] = (0.7, 1.3)
    head_intensity: tuple[float, float] = (0.0, 2.0)
    expression_intensity: tuple[float, float] = (0.0, 2.0)
    blink_rate: tuple[float, float] = (5.0, 30.0)
    p_emotion_none: float = 0.4  # else uniform over the 8 emotions
    identity_noise: float = 0.08  # multiplicative std around REFERENCE_IDENTITY
    clips_per_shard: int = 200
    # recorded speech (``realclips``): share of training clips, and its speakers
    real_fraction: float = 0.0
    real_sources: tuple[str, ...] = ("en-allison", "it-menardi")
    # flite voices (``flite``): share of training clips, and the voices
    flite_fraction: float = 0.0
    flite_voices: tuple[str, ...] = flite.VOICES

    def recipe_hash(self) -> str:
        """Stable over runs and machines: sha256 of the sorted JSON of the fields + format
        version."""
        text = json.dumps({"format_version": FORMAT_VERSION, **self.to_json()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self) -> dict:
        """The fields; the real-speech, flite and voice-perturbation ones only when used, so
        espeak-only recipes keep their hash from before those options existed."""
        data = asdict(self)
        if self.voice.p == 0.0:
            del data["voice"]
        if self.real_fraction == 0.0:
            del data["real_fraction"], data["real_sources"]
        if self.flite_fraction == 0.0:
            del data["flite_fraction"], data["flite_voices"]
        return data

    @staticmethod
    def from_json(data: dict) -> DataRecipe:
        def tuples(d: dict) -> dict[str, Any]:  # JSON lists back to the dataclasses' tuples
            return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}

        fields = tuples(data)
        fields["augment"] = AugmentConfig(**tuples(data["augment"]))
        if "voice" in data:
            fields["voice"] = VoicePerturbConfig(**tuples(data["voice"]))
        return DataRecipe(**fields)


@dataclass
class Clip:
    """One clip's arrays (T frames) and its description."""

    mel: np.ndarray  # (T, 4, 80) float16
    motion: np.ndarray  # (T, 17) float32
    labels: np.ndarray  # (T,) int8
    envelope: np.ndarray  # (T,) float32
    emotion: int
    identity: np.ndarray  # (16,) float32
    conditions: dict[str, float]
    meta: dict


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


# ----------------------------------------------------------------------------- one clip


def identity_lip_gain(identity: np.ndarray) -> float:
    """Mild identity -> articulation coupling: a face with a larger resting mouth gap and
    thicker lips than the reference opens a little wider (square roots of the ratios,
    clamped to 0.8..1.25; with 8 % identity noise this moves amplitude by ~6 %)."""
    ref = REFERENCE_IDENTITY
    gap = identity[5] / ref[5]
    lips = (identity[3] + identity[4]) / (ref[3] + ref[4])
    return float(np.clip(np.sqrt(gap) * np.sqrt(lips), 0.8, 1.25))


def _speech(
    recipe: DataRecipe, split: corpus.Split, rng: np.random.Generator
) -> tuple[np.ndarray, list[PhonemeEvent], dict]:
    """Sentences with pauses until the clip's target length; samples and shifted phonemes."""
    language = str(rng.choice(recipe.languages))
    voice = str(rng.choice(corpus.voices(language, split)))
    pool = corpus.sentences(language, split)
    target_s = rng.uniform(*recipe.clip_seconds)
    rate = int(rng.integers(recipe.rate_wpm[0], recipe.rate_wpm[1] + 1))
    pitch = int(rng.integers(recipe.pitch[0], recipe.pitch[1] + 1))
    prange = int(rng.integers(recipe.pitch_range[0], recipe.pitch_range[1] + 1))
    parts = [silence(rng.uniform(*recipe.edge_silence_seconds))]
    phonemes: list[PhonemeEvent] = []
    texts: list[str] = []
    t = len(parts[0]) / SAMPLE_RATE
    while t < target_s - recipe.edge_silence_seconds[1] or not texts:
        if texts:
            gap = silence(rng.uniform(*recipe.pause_seconds))
            parts.append(gap)
            t += len(gap) / SAMPLE_RATE
        text = pool[int(rng.integers(len(pool)))]
        jitter = rng.uniform(0.9, 1.1)  # people do not speak every sentence at one rate
        clip = synthesize(text, voice, rate_wpm=int(rate * jitter), pitch=pitch, pitch_range=prange)
        phonemes += [PhonemeEvent(p.ipa, p.start_s + t, p.end_s + t) for p in clip.phonemes]
        parts.append(clip.samples)
        texts.append(text)
        t += clip.duration_s
    parts.append(silence(rng.uniform(*recipe.edge_silence_seconds)))
    meta = {
        "language": language,
        "voice": voice,
        "sentences": texts,
        "rate_wpm": rate,
        "pitch": pitch,
    }
    return np.concatenate(parts).astype(np.float32), phonemes, meta


def _accents(phonemes: Sequence[PhonemeEvent], fps: float, num_frames: int) -> np.ndarray:
    """Frames of primary-stressed vowels (espeak marks them with 'ˈ')."""
    frames = [int(p.start_s * fps) for p in phonemes if "ˈ" in p.ipa]
    return np.clip(np.array(frames, dtype=np.int64), 0, max(num_frames - 1, 0))


SpeechKind = Literal["espeak", "real", "flite"]


def speech_kind(recipe: DataRecipe, split: corpus.Split, index: int) -> SpeechKind:
    """Where training clip ``index``'s speech comes from: drawn from its own random stream,
    so the espeak clips are the same whatever the real and flite fractions are. Held-out
    clips are always espeak (recorded speech has its own evaluation)."""
    if split != "train" or recipe.real_fraction + recipe.flite_fraction <= 0.0:
        return "espeak"
    u = np.random.default_rng([recipe.seed, 0, index, 1]).random()
    if u < recipe.real_fraction:
        return "real"
    return "flite" if u < recipe.real_fraction + recipe.flite_fraction else "espeak"


def make_clip(
    recipe: DataRecipe, split: corpus.Split, index: int, real_speech: Path | None = None
) -> Clip:
    """Clip ``index`` of ``split``: the same arguments always give the same clip.

    ``real_speech`` is the folder of the Debian packages (``realspeech``; flite's too, else
    the flite on PATH), needed when the recipe has a ``real_fraction``."""
    rng = np.random.default_rng([recipe.seed, corpus.SPLITS.index(split), index])
    kind = speech_kind(recipe, split, index)
    target_s = rng.uniform(*recipe.clip_seconds) if kind != "espeak" else 0.0
    if kind == "real":
        if real_speech is None:
            raise ValueError("the recipe mixes recorded speech: give the packages' folder")
        samples, phonemes, meta = realclips.real_speech(
            recipe.real_sources,
            real_speech,
            target_s,
            recipe.pause_seconds,
            recipe.edge_silence_seconds,
            rng,
        )
    elif kind == "flite":
        samples, phonemes, meta = flite.flite_speech(
            recipe.flite_voices,
            flite.find_flite(real_speech),
            target_s,
            recipe.pause_seconds,
            recipe.edge_silence_seconds,
            rng,
        )
    else:
        samples, phonemes, meta = _speech(recipe, split, rng)
    if split == "train":  # its own stream: the other draws stay those of an unperturbed recipe
        samples, phonemes, factors = maybe_perturb(
            samples, phonemes, recipe.voice, np.random.default_rng([recipe.seed, 0, index, 2])
        )
        meta.update(factors)
    if rng.random() >= recipe.p_clean:
        samples = augment(samples, rng, recipe.augment)
    else:
        samples = augment(samples, rng, AugmentConfig(0.0, p_reverb=0.0, p_phone=0.0, p_8k=0.0))
    feats = compute_features(Audio(samples), recipe.fps)
    num_frames, fps = feats.num_frames, recipe.fps

    identity = (
        REFERENCE_IDENTITY
        * (1.0 + recipe.identity_noise * np.clip(rng.standard_normal(IDENTITY_DIM), -3, 3))
    ).astype(np.float32)
    lip_amp = rng.uniform(*recipe.lip_amplitude)
    track = visemes.lip_track(
        phonemes, num_frames, fps, amplitude=lip_amp * identity_lip_gain(identity)
    )

    cond = {
        "head": float(rng.uniform(*recipe.head_intensity)),
        "expression": float(rng.uniform(*recipe.expression_intensity)),
        "lips": float(lip_amp),
        "blink_rate": float(rng.uniform(*recipe.blink_rate)),
    }
    emotion = "none" if rng.random() < recipe.p_emotion_none else str(rng.choice(EMOTIONS))
    activity = prior.bridge_gaps(track.labels != visemes.LABEL_SILENCE, int(round(0.25 * fps)))
    nonlip = prior.sample_nonlip_motion(
        num_frames,
        fps,
        rng,
        head=cond["head"],
        expression=cond["expression"],
        blink_rate=cond["blink_rate"],
        emotion=emotion,
        activity=activity,
        accents=_accents(phonemes, fps, num_frames),
        pauses=prior.pause_onsets(activity, fps),
    )
    motion = prior.compose(nonlip, track.curves)
    meta.update(seconds=round(len(samples) / SAMPLE_RATE, 3), emotion=emotion, **cond)
    return Clip(
        mel=feats.mel.astype(np.float16),
        motion=motion,
        labels=track.labels,
        envelope=feats.envelope.astype(np.float32),
        emotion=emotion_index(emotion),
        identity=identity,
        conditions=cond,
        meta=meta,
    )


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
        "emotion": np.array([c.emotion for c in clips], dtype=np.int64),
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
            return _info(out, info, reused=True)
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
    return _info(out, info, reused=False)


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


def _info(out: Path, info: dict, reused: bool) -> DatasetInfo:
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
    motion: np.ndarray  # (N, 17) float32
    labels: np.ndarray  # (N,) int8
    envelope: np.ndarray  # (N,) float32
    clip_start: np.ndarray  # (C,) int64
    clip_len: np.ndarray  # (C,) int64
    emotion: np.ndarray  # (C,) int64
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
            np.zeros(0, np.int64),
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
