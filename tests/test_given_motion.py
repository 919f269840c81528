"""Given channels in sampling: inpainting along the flow's straight paths.

The solver part is checked against closed-form fields; the generator part with a tiny
untrained checkpoint (shapes, exactness, batching) and with the shipped model (the mouth
still follows the audio when the head, blinks and brows are given).
"""

import numpy as np
import pytest
import torch

# the tiny checkpoint and its requests, shared with the generator's own tests
from test_generate import checkpoint, features, gen, request  # noqa: F401

from moda_cli.audio.decode import load_audio
from moda_cli.audio.features import compute_features
from moda_cli.errors import InputError
from moda_cli.facemodel.core import NUM_CORE, core_index, lift, lift_mask
from moda_cli.facemodel.params import NUM_PARAMS, index
from moda_cli.motion.batching import WindowBatcher
from moda_cli.motion.generate import LearnedGenerator
from moda_cli.motion.generator import GivenMotion, MotionRequest
from moda_cli.motion.reference import REFERENCE_NAMES, ping_pong
from moda_cli.motion.sampling import get_solver, inpainting_velocity, time_grid
from moda_cli.motion.settings import MotionSettings

_COLS = [core_index(n) for n in REFERENCE_NAMES]
# The joint columns the reference's channels make, as the generators lift them.
_JOINT_COLS = np.flatnonzero(lift_mask(np.isin(np.arange(NUM_CORE), _COLS)))


def _as_given(given: GivenMotion) -> np.ndarray:
    """(T, len(_JOINT_COLS)) the given channels lifted: what the output must hold."""
    return lift(np.nan_to_num(given.values))[:, _JOINT_COLS]


@pytest.mark.parametrize("solver", ["euler", "heun"])
def test_given_entries_follow_the_straight_path_and_the_model_sees_them_there(solver):
    noise, given = torch.randn(2, 10, 4), torch.randn(2, 10, 4)
    mask = torch.zeros(2, 10, 4, dtype=torch.bool)
    mask[..., 1] = True
    mask[0, :3, 3] = True  # per frame, per row
    target = torch.randn(2, 10, 4)
    seen = []

    def field(x, t, c):  # straight flow towards `target`: exact for any solver
        on_path = noise + t[:, None, None] * (given - noise)
        seen.append(torch.equal(x[mask], on_path[mask]))
        return target - noise

    ts = time_grid(5)
    out = get_solver(solver)(inpainting_velocity(field, noise, given, mask), noise, ts, None)
    assert all(seen) and len(seen) == (5 if solver == "euler" else 10)
    torch.testing.assert_close(out[mask], given[mask], atol=1e-6, rtol=0)
    torch.testing.assert_close(out[~mask], target[~mask], atol=1e-5, rtol=0)


def test_free_entries_react_to_the_given_ones():
    # dx_free/dt = mean of the given entries: the free channel integrates what it is given
    noise, given = torch.zeros(1, 3, 2), torch.tensor([[[0.0, 2.0]] * 3])
    mask = torch.tensor([False, True])

    def field(x, t, c):
        return x[..., 1:].expand_as(x)

    velocity = inpainting_velocity(field, noise, given, mask)
    out = get_solver("euler")(velocity, noise, time_grid(1000).double(), None)
    # x_given(t) = 2 t, so x_free(1) = integral of 2 t = 1
    torch.testing.assert_close(out[..., 0], torch.ones(1, 3, dtype=out.dtype), atol=2e-3, rtol=0)


def _given(frames: int, seed: int = 0) -> GivenMotion:
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 25.0
    values = np.full((frames, NUM_CORE), np.nan, np.float32)
    values[:, _COLS] = 0.0
    values[:, core_index("yaw")] = 12.0 * np.sin(2 * np.pi * t / 3.0)
    pitch = 4.0 * np.cos(2 * np.pi * t / 2.3) + rng.normal(0, 0.2, frames)
    values[:, core_index("pitch")] = pitch
    values[:, core_index("tx")] = 0.03 * np.sin(2 * np.pi * t / 5.0)
    for b in range(20, frames - 3, 90):
        for name in ("blink_left", "blink_right"):
            values[b : b + 3, core_index(name)] = (0.6, 1.0, 0.5)
    values[:, core_index("brow_raise")] = np.clip(np.sin(2 * np.pi * t / 4.0), 0.0, 1.0) * 0.5
    return GivenMotion(values)


def _with(req: MotionRequest, given: GivenMotion | None) -> MotionRequest:
    return MotionRequest(req.features, req.identity, req.settings, req.seed, given)


@pytest.mark.parametrize("frames", [1, 24, 81, 200])
def test_given_channels_come_out_as_given_the_rest_is_sampled(gen, frames):  # noqa: F811
    given = _given(frames)
    out = gen.generate(_with(request(frames), given)).params
    np.testing.assert_array_equal(out[:, _JOINT_COLS], _as_given(given))
    assert np.all(np.isfinite(out))
    if frames > 1:
        assert np.delete(out, _JOINT_COLS, axis=1).std(axis=0).max() > 1e-3


def test_nothing_given_is_the_plain_sampler_byte_for_byte(gen):  # noqa: F811
    plain = gen.generate(request(130)).params
    empty = GivenMotion(np.full((130, NUM_CORE), np.nan, np.float32))
    np.testing.assert_array_equal(gen.generate(_with(request(130), empty)).params, plain)
    # and with something given, the sampled channels change (the model reacts to them)
    given = gen.generate(_with(request(130), _given(130))).params
    assert np.abs(given[:, index("jawOpen")] - plain[:, index("jawOpen")]).max() > 1e-4


def test_batched_windows_keep_their_own_given_channels(checkpoint, gen):  # noqa: F811
    import threading

    shared = LearnedGenerator(checkpoint, batcher=WindowBatcher(max_batch=4, gather_s=0.05))
    reqs = [_with(request(150, seed=s), _given(150, seed=s) if s % 2 else None) for s in range(4)]
    alone = [gen.generate(r).params for r in reqs]
    together: list = [None] * 4

    def run(k):
        together[k] = shared.generate(reqs[k]).params

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-4)


def test_given_rows_must_match_the_audio_frames(gen):  # noqa: F811
    with pytest.raises(InputError, match="one row per frame"):
        gen.generate(_with(request(50), _given(49)))


def test_ping_pong_plays_back_and_forth_without_repeating_the_turns():
    assert ping_pong(9, 4).tolist() == [0, 1, 2, 3, 2, 1, 0, 1, 2]
    assert ping_pong(3, 5).tolist() == [0, 1, 2]
    assert ping_pong(3, 1).tolist() == [0, 0, 0]


def test_the_shipped_model_still_moves_the_mouth_with_the_audio(speech_with_pause):
    """Head, blinks and brows given: the jaw still follows the loudness as without them."""
    feats = compute_features(load_audio(speech_with_pause[0]), 25.0)
    frames = feats.num_frames
    ident = np.random.default_rng(1).random(16).astype(np.float32)
    model = LearnedGenerator()
    settings = MotionSettings()
    given = _given(frames)
    r = {}
    for name, g in (("free", None), ("given", given)):
        motion = model.generate(MotionRequest(feats, ident, settings, 3, g)).params
        r[name] = np.corrcoef(motion[:, index("jawOpen")], feats.envelope)[0, 1]
        if g is not None:
            np.testing.assert_array_equal(motion[:, _JOINT_COLS], _as_given(given))
    assert r["given"] > 0.35 and r["given"] > r["free"] - 0.1, r


def test_the_baseline_takes_given_channels_as_they_are():
    from moda_cli.motion.baseline import BaselineGenerator

    given = _given(120)
    plain = BaselineGenerator().generate(request(120)).params
    out = BaselineGenerator().generate(_with(request(120), given)).params
    np.testing.assert_array_equal(out[:, _JOINT_COLS], _as_given(given))
    free = [c for c in range(NUM_PARAMS) if c not in _JOINT_COLS]
    np.testing.assert_array_equal(out[:, free], plain[:, free])
