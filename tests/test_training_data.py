"""Training data: espeak timings, viseme curves and labels, corpus splits, the dataset format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from moda_cli.facemodel.params import NUM_PARAMS, index
from moda_cli.motion.train import augment, corpus, visemes
from moda_cli.motion.train.dataset import DataRecipe, build_dataset, load_split, make_clip
from moda_cli.motion.train.speech import PhonemeEvent, synthesize

FPS = 25.0


def _track(clip, fps=FPS):
    n = int(round(clip.duration_s * fps))
    return visemes.lip_track(clip.phonemes, n, fps)


def test_espeak_phoneme_events_are_ordered_and_inside_audio():
    clip = synthesize("Papa bought a map, mama.", "en")
    assert clip.sample_rate == 16_000 and clip.samples.dtype == np.float32
    assert 1.0 < clip.duration_s < 4.0
    assert len(clip.phonemes) >= 15
    starts = [p.start_s for p in clip.phonemes]
    assert starts == sorted(starts)
    assert all(0.0 <= p.start_s < p.end_s <= clip.duration_s + 1e-6 for p in clip.phonemes)
    assert [w.text for w in clip.words][:2] == ["Papa", "bought"]
    assert {"p", "b", "m"} <= {visemes.normalize_ipa(p.ipa) for p in clip.phonemes}


def test_unknown_voice_is_an_error_naming_it():
    with pytest.raises(ValueError, match="no-such-voice"):
        synthesize("hello", "no-such-voice")


def test_papa_mama_closes_lips_and_opens_vowels():
    clip = synthesize("papa mama", "en")
    track = _track(clip)
    jaw, press = track.curves[:, 0], track.curves[:, 3]
    bilabial = track.labels == visemes.LABEL_BILABIAL
    assert bilabial.sum() >= 4  # p, p, m, m each get a frame
    assert np.all(jaw[bilabial] == 0.0) and np.all(press[bilabial] == 1.0)
    vowels = track.labels == visemes.LABEL_OPEN_VOWEL
    assert vowels.any() and jaw[vowels].max() > 0.7
    # Each closure is a local minimum between open vowels: count open -> closed transitions.
    assert np.sum(np.diff((jaw > 0.3).astype(int)) == -1) >= 3


def test_silence_closes_the_mouth():
    clip = synthesize("Hello.", "en")
    pad = int(1.0 * FPS)
    n = int(round(clip.duration_s * FPS)) + 2 * pad
    shifted = [PhonemeEvent(p.ipa, p.start_s + 1.0, p.end_s + 1.0) for p in clip.phonemes]
    track = visemes.lip_track(shifted, n, FPS)
    assert np.all(track.curves[: pad - 5] == 0) and np.all(track.curves[-pad + 5 :] == 0)
    assert np.all(track.labels[: pad - 5] == visemes.LABEL_SILENCE)


def test_rounding_anticipates_the_vowel():
    phonemes = [
        PhonemeEvent("s", 0.50, 0.60),
        PhonemeEvent("t", 0.60, 0.66),
        PhonemeEvent("ˈuː", 0.66, 0.90),
    ]
    fps = 100.0  # fine frames to see the onset
    track = visemes.lip_track(phonemes, 120, fps)
    rnd = track.curves[:, 1]
    before = int(0.66 * fps) - 6  # 60 ms before the vowel starts
    assert rnd[before] > 0.2
    assert rnd[int(0.45 * fps)] == 0.0  # but not in the silence long before


def test_labiodental_and_ipa_normalisation():
    assert visemes.normalize_ipa("ˈɑː") == "ɑ" and visemes.normalize_ipa("ɔ̃") == "ɔ"
    assert [v.label for v in visemes.phoneme_visemes("f")] == [visemes.LABEL_LABIODENTAL]
    assert len(visemes.phoneme_visemes("ˈaɪ")) == 2  # a diphthong moves
    assert visemes.phoneme_visemes("dʑ")[-1].label == visemes.LABEL_SPEECH
    assert visemes.phoneme_visemes("ʲ") and visemes.phoneme_visemes("@@")  # never empty
    clip = synthesize("five vans", "en")
    assert (_track(clip).labels == visemes.LABEL_LABIODENTAL).sum() >= 2


def test_corpus_splits_are_disjoint_and_large():
    for lang in corpus.LANGUAGES:
        train, held = set(corpus.sentences(lang, "train")), set(corpus.sentences(lang, "heldout"))
        assert len(train) > 2000 and len(held) > 100 and not train & held
        vt, vh = set(corpus.voices(lang, "train")), set(corpus.voices(lang, "heldout"))
        assert vt and vh and not vt & vh


def test_augmentations_keep_length_and_range():
    rng = np.random.default_rng(0)
    x = synthesize("Bob bought a map.", "en").samples
    for y in (
        augment.add_noise(x, 10, rng),
        augment.reverb(x, 0.4, rng),
        augment.telephone(x),
        augment.via_8k(x),
        augment.set_gain(x, 12),
        augment.augment(x, rng),
    ):
        assert y.shape == x.shape and y.dtype == np.float32 and np.abs(y).max() <= 1.0
    noisy = augment.add_noise(x, 10, np.random.default_rng(1))
    assert 7 < 10 * np.log10(augment._power(x) / augment._power(noisy - x)) < 13


def test_make_clip_is_deterministic_and_conditions_vary():
    recipe = DataRecipe(clip_seconds=(3.0, 4.0))
    a, b = make_clip(recipe, "train", 3), make_clip(recipe, "train", 3)
    assert np.array_equal(a.motion, b.motion) and np.array_equal(a.mel, b.mel)
    c = make_clip(recipe, "train", 4)
    assert a.conditions != c.conditions


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    recipe = DataRecipe(
        num_clips=5, heldout_clips=3, clip_seconds=(3.0, 5.0), clips_per_shard=3, seed=7
    )
    calls = []
    info = build_dataset(recipe, out, progress=lambda d, t: calls.append((d, t)), workers=1)
    return out, recipe, info, calls


def test_dataset_format(tiny_dataset):
    out, recipe, info, calls = tiny_dataset
    assert calls[-1] == (8, 8)
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["recipe_hash"] == recipe.recipe_hash() == info.recipe_hash
    assert meta["fps"] == 25.0 and meta["splits"]["train"]["clips"] == 5
    assert meta["splits"]["train"]["shards"] == ["train/shard_00000.npz", "train/shard_00001.npz"]
    with np.load(out / "train/shard_00000.npz", allow_pickle=False) as z:
        n, c = len(z["labels"]), len(z["clip_len"])
        assert c == 3
        assert z["mel"].shape == (n, 4, 80) and z["mel"].dtype == np.float16
        assert z["motion"].shape == (n, NUM_PARAMS) and z["motion"].dtype == np.float32
        assert z["labels"].dtype == np.int8 and z["envelope"].dtype == np.float32
        assert z["clip_start"].dtype == np.int64 and z["clip_len"].dtype == np.int64
        assert z["clip_start"][0] == 0 and z["clip_start"][-1] + z["clip_len"][-1] == n
        assert z["emotion"].shape == (c, 9) and z["emotion"].dtype == np.float32
        np.testing.assert_allclose(z["emotion"].sum(axis=1), 1.0, rtol=1e-6)
        assert z["identity"].shape == (c, 16) and z["identity"].dtype == np.float32
        assert set(np.unique(z["labels"])) <= {0, 1, 2, 3, 4} and {0, 1, 2} <= set(
            np.unique(z["labels"])
        )
    data = load_split(out, "train")
    assert data.num_clips == 5 and data.clip_start[-1] + data.clip_len[-1] == len(data.labels)
    assert np.isfinite(data.motion).all() and np.isfinite(data.mel.astype(np.float32)).all()
    # every p/b/m sealed: the jaw shut, or held shut by the lips (mouthClose = jawOpen)
    gap = data.motion[:, index("jawOpen")] - data.motion[:, index("mouthClose")]
    assert np.all(gap[data.labels == 1] <= 1e-6)
    assert load_split(out, "heldout").num_clips == 3
    assert recipe.recipe_hash() == DataRecipe.from_json(meta["recipe"]).recipe_hash()


def test_dataset_splits_disjoint(tiny_dataset):
    out = tiny_dataset[0]
    train = json.loads((out / "train/clips.json").read_text())
    held = json.loads((out / "heldout/clips.json").read_text())
    assert not {s for c in train for s in c["sentences"]} & {
        s for c in held for s in c["sentences"]
    }
    assert not {c["voice"] for c in train} & {c["voice"] for c in held}
    held_voices = {v for lang in corpus.LANGUAGES for v in corpus.voices(lang, "heldout")}
    assert all(c["voice"] in held_voices for c in held)
    assert all(corpus.sentence_split(s) == "heldout" for c in held for s in c["sentences"])


def test_dataset_reused_when_recipe_unchanged(tiny_dataset):
    out, recipe, _, _ = tiny_dataset
    assert build_dataset(recipe, out, workers=1).reused
