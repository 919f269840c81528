"""Aligners of recorded speech, checked on espeak speech whose phoneme timings are exact."""

import numpy as np
import pytest

from moda_cli.motion.train import align
from moda_cli.motion.train.speech import synthesize

SENTENCE = "Paul bought a big map of Paris at the market."


def test_english_words_spell_digits_and_split_hyphens():
    words = align.english_words("Press 1, or Call-Forward 21!")
    assert words == ["press", "one", "or", "call", "forward", "twenty", "one"]
    assert align.spell_number(1905) == ["one", "thousand", "nine", "hundred", "five"]
    assert align.english_words("the party's line") == ["the", "party's", "line"]


def test_espeak_ipa_maps_to_arpabet():
    ipa = [p.ipa for p in synthesize("map", "en-us").phonemes]
    assert align.ipa_to_arpabet(ipa) == ["M", "AE", "P"]
    with pytest.raises(align.AlignError):
        align.ipa_to_arpabet(["ʘ"])  # a click: no English phone


def test_dtw_path_recovers_a_known_stretch():
    # the second sequence is the first played at half speed: frame j matches frame j // 2
    a = np.sin(np.linspace(0, 12, 60))[:, None] + np.linspace(0, 1, 60)[:, None]
    b = np.repeat(a, 2, axis=0)
    rows, cols = align.dtw_path(np.abs(a[:, None, 0] - b[None, :, 0]))
    assert rows[0] == cols[0] == 0 and rows[-1] == 59 and cols[-1] == 119
    assert np.all(np.diff(rows) >= 0) and np.all(np.diff(cols) >= 0)
    assert np.max(np.abs(cols // 2 - rows)) <= 1


def test_dtw_aligner_finds_espeak_phonemes_in_another_voice_and_rate():
    # the "recording": another timbre and pitch, 40 % faster than the aligner's reference
    truth = synthesize(SENTENCE, "en-us+m3", rate_wpm=210, pitch=30)
    aligned = align.dtw_align(truth.samples, SENTENCE, "en-us")
    err = align.boundary_errors(truth.phonemes, aligned.phonemes)
    assert len(err) >= 0.9 * len(truth.phonemes)
    assert np.median(err) < 0.03 and np.mean(err < 0.05) > 0.8


def test_pocketsphinx_aligns_espeak_speech_of_a_known_sentence():
    pytest.importorskip("pocketsphinx")
    speech = synthesize(SENTENCE, "en-us", rate_wpm=150)
    result = align.english_aligner().align(speech.samples, SENTENCE)
    assert [w.text for w in result.words] == align.english_words(SENTENCE)
    starts = np.array([w.start_s for w in result.words])
    truth = np.array([w.start_s for w in speech.words])
    assert np.median(np.abs(starts - truth)) < 0.06
    assert [p.ipa for p in result.phonemes[:3]] == ["p", "ɔ", "l"]


def test_pocketsphinx_pronounces_words_missing_from_its_dictionary():
    pytest.importorskip("pocketsphinx")
    text = "Zorblat bought a map."
    speech = synthesize(text, "en-us")
    result = align.english_aligner().align(speech.samples, text)
    assert result.words[0].text == "zorblat"
    assert result.words[0].end_s < result.words[1].start_s + 0.02


def test_flite_segments_become_ipa_phonemes():
    from moda_cli.motion.train.flite import parse_segments

    phonemes = parse_segments("pau:0.193 p:0.322 ao:0.417 l:0.527 pau:0.700 ax:0.800\n")
    assert [(p.ipa, p.start_s, p.end_s) for p in phonemes] == [
        ("p", 0.193, 0.322),
        ("ɔ", 0.322, 0.417),
        ("l", 0.417, 0.527),
        ("ə", 0.700, 0.800),
    ]
