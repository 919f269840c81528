"""One synthetic training clip: speech -> audio features -> joint-space motion targets.

One clip = a few sentences of one language in one voice, separated by pauses, with
silence at both ends, augmented, then:

* inputs:  ``audio.features.compute_features`` (the exact features inference uses);
* lips:    ``visemes.lip_track`` from espeak's phoneme timings, scaled by a per-clip lip
           amplitude and, mildly, by the identity (see ``identity_lip_gain``);
* the rest: ``motion.prior`` driven by the phonemes (speaking vs pauses, stressed vowels as
           accents) with a random per-clip head intensity, expression intensity, blink rate
           and emotion mixture, so the model can learn these as conditions;
* joint:   the core rows lifted into the joint space (``core.lift``: pose + ARKit's 52)
           and the emotion mixture's facial actions added there (``expression``: FACS,
           the same layer the baseline draws, which keeps every p/b/m closed).

The emotion mixture (``_emotion_mix``): none in ``p_emotion_none`` of the clips, else one
emotion at an intensity in ``emotion_intensity``, and in ``p_emotion_pair`` of those a
second one sharing what is left of 1, so the model sees intensities and mixtures between
its table's rows (``emotions.mix_weights``).

``DataRecipe`` decides every clip; ``dataset`` writes them to disk and reads them back.
Held-out clips use only held-out sentences and held-out voices. Every clip is drawn from
its own seed (recipe seed, split, index), so the result does not depend on how work is
spread over processes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ...audio.features import compute_features
from ...audio.types import SAMPLE_RATE, Audio
from ...face.identity import IDENTITY_DIM, REFERENCE_IDENTITY
from ...facemodel.core import lift
from ...facemodel.emotions import EMOTIONS, EmotionMix, format_mix, mix_weights
from ...facemodel.params import EXPRESSION_SLICE
from .. import prior
from ..expression import apply_emotion, emotion_curves
from . import corpus, flite, realclips, visemes
from .augment import AugmentConfig, augment, silence
from .perturb import VoicePerturbConfig, maybe_perturb
from .speech import PhonemeEvent, synthesize

# The on-disk format (``dataset``); its version is part of every recipe's hash.
FORMAT = "moda-motion-dataset"
FORMAT_VERSION = 2  # 2: joint-space motion (T, 58), emotion mixture weights (9,)


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
    emotion_intensity: tuple[float, float] = (0.3, 1.0)
    p_emotion_pair: float = 0.25  # of the clips with an emotion: a second one beside it
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
    motion: np.ndarray  # (T, 58) float32, joint space (``params.PARAM_NAMES``)
    labels: np.ndarray  # (T,) int8
    envelope: np.ndarray  # (T,) float32
    emotion: np.ndarray  # (9,) float32 mixture weights (``emotions.mix_weights``)
    identity: np.ndarray  # (16,) float32
    conditions: dict[str, float]
    meta: dict


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


def _emotion_mix(recipe: DataRecipe, first: str, rng: np.random.Generator) -> EmotionMix:
    """The clip's mixture around its drawn emotion ``first`` (module doc)."""
    if first == "none":
        return {}
    intensity = float(rng.uniform(*recipe.emotion_intensity))
    mix = {first: intensity}
    if rng.random() < recipe.p_emotion_pair and intensity < 0.9:
        second = str(rng.choice([e for e in EMOTIONS if e != first]))
        mix[second] = float(rng.uniform(0.1, 1.0 - intensity))
    return mix


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
    # its own stream: the clip's other draws do not depend on the mixture's
    emotion_rng = np.random.default_rng([recipe.seed, corpus.SPLITS.index(split), index, 3])
    mix = _emotion_mix(recipe, emotion, emotion_rng)
    activity = prior.bridge_gaps(track.labels != visemes.LABEL_SILENCE, int(round(0.25 * fps)))
    nonlip = prior.sample_nonlip_motion(
        num_frames,
        fps,
        rng,
        head=cond["head"],
        expression=cond["expression"],
        blink_rate=cond["blink_rate"],
        emotion=mix,
        activity=activity,
        accents=_accents(phonemes, fps, num_frames),
        pauses=prior.pause_onsets(activity, fps),
    )
    motion = lift(prior.compose(nonlip, track.curves))
    curves = emotion_curves(mix, num_frames, fps, int(emotion_rng.integers(2**31)))
    motion[:, EXPRESSION_SLICE] = apply_emotion(motion[:, EXPRESSION_SLICE], curves)
    meta.update(seconds=round(len(samples) / SAMPLE_RATE, 3), emotion=format_mix(mix), **cond)
    return Clip(
        mel=feats.mel.astype(np.float16),
        motion=motion,
        labels=track.labels,
        envelope=feats.envelope.astype(np.float32),
        emotion=mix_weights(mix),
        identity=identity,
        conditions=cond,
        meta=meta,
    )
