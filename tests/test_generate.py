"""LearnedGenerator: exact lengths, seeds, settings, long input, progress."""

import numpy as np
import pytest
import torch
from _models import TINY

from moda_cli.audio.types import AudioFeatures
from moda_cli.errors import InputError, MissingDependency
from moda_cli.facemodel.params import HIGH, LOW, NUM_PARAMS, POSE_SLICE, index
from moda_cli.motion.checkpoint import save_checkpoint
from moda_cli.motion.finish import FinishPlan, finish
from moda_cli.motion.generate import LearnedGenerator, plan_windows
from moda_cli.motion.generator import MotionRequest
from moda_cli.motion.model import MotionDiT, MotionDiTConfig
from moda_cli.motion.normalization import Normalization, motion_stats
from moda_cli.motion.settings import MotionSettings
from moda_cli.motion.smoothing import moving_average


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = MotionDiT(MotionDiTConfig(**TINY))
    with torch.no_grad():  # an untrained but non-trivial velocity field
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    mean = np.zeros(NUM_PARAMS, np.float32)
    mean[index("jawOpen")] = 0.1
    std = np.full(NUM_PARAMS, 0.2, np.float32)
    std[:3] = 3.0
    norm = Normalization(
        mean,
        std,
        np.zeros(3),
        np.ones(3),
        np.array([1.5, 0.03, 17.0]),
        np.array([0.2, 0.002, 0.0]),
        np.array([4.0, 0.1, 50.0]),
    )
    return save_checkpoint(
        tmp_path_factory.mktemp("ck") / "m.safetensors", model, norm, dtype=torch.float32
    )


@pytest.fixture(scope="module")
def gen(checkpoint):
    return LearnedGenerator(checkpoint)


def features(frames, seed=0):
    rng = np.random.default_rng(seed)
    env = rng.random(frames).astype(np.float32)
    mel = (rng.standard_normal((frames, 4, 80)) * 0.3 + env[:, None, None] - 0.5).astype(np.float32)
    return AudioFeatures(mel=mel, envelope=env, fps=25.0, duration_s=frames / 25.0)


def request(frames, seed=42, **settings):
    ident = np.random.default_rng(1).random(16).astype(np.float32)
    return MotionRequest(features(frames), ident, MotionSettings(steps=3, **settings), seed)


@pytest.mark.parametrize("frames", [1, 23, 24, 25, 79, 80, 81, 200, 1000])
def test_output_length_is_exact(gen, frames):
    seq = gen.generate(request(frames))
    assert seq.params.shape == (frames, NUM_PARAMS) and seq.fps == 25.0
    assert np.all(np.isfinite(seq.params))
    assert np.all(seq.params >= LOW) and np.all(seq.params <= HIGH)


def test_same_seed_same_motion_other_seed_other_motion(gen):
    a = gen.generate(request(250, seed=7)).params
    b = gen.generate(request(250, seed=7)).params
    c = gen.generate(request(250, seed=8)).params
    np.testing.assert_array_equal(a, b)
    assert np.abs(a[:, POSE_SLICE] - c[:, POSE_SLICE]).max() > 1e-3


def test_settings_change_motion(gen):
    base = gen.generate(request(120)).params
    still = gen.generate(request(120, head=0.0)).params
    assert np.all(still[:, POSE_SLICE] == 0.0)
    no_lips = gen.generate(request(120, lips=0.0)).params
    assert np.all(no_lips[:, index("jawOpen")] == 0.0)
    for kw in ({"emotion": "happiness"}, {"guidance": 2.0}, {"solver": "heun"}, {"head": 2.5}):
        assert np.abs(gen.generate(request(120, **kw)).params - base).max() > 1e-4, kw


def test_progress_reaches_total_and_is_monotonic(gen):
    seen = []
    gen.generate(request(100), progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (100, 100)
    assert all(a[0] <= b[0] for a, b in zip(seen[:-1], seen[1:], strict=True))
    # windows of 24 frames overlapping by 8 (+ 50 tail frames): the loop stops once all 100
    # frames are final
    assert len(seen) == len([s for s in plan_windows(100, 24, 8, 50) if s < 100])


def test_window_plan_covers_clip_and_tail():
    for n in (1, 64, 65, 1000):
        starts = plan_windows(n, 80, 16, 50)
        assert starts[0] == 0 and starts[-1] + 80 >= n + 50
        assert all(b - a == 64 for a, b in zip(starts[:-1], starts[1:], strict=True))


def test_bad_inputs_are_named(gen, checkpoint, tmp_path):
    req = request(30)
    req.identity = np.zeros(5, np.float32)
    with pytest.raises(InputError, match="identity"):
        gen.generate(req)
    with pytest.raises(MissingDependency, match="absent.safetensors"):
        LearnedGenerator(tmp_path / "absent.safetensors")


def test_moving_average_and_stats():
    x = np.arange(10, dtype=np.float32)[:, None]
    np.testing.assert_allclose(moving_average(x, 3)[1:-1, 0], x[1:-1, 0])
    assert moving_average(x, 1) is x
    m = np.zeros((250, NUM_PARAMS), np.float32)
    m[100:104, index("eyeBlinkLeft")] = 1.0
    m[200:203, index("eyeBlinkRight")] = 1.0
    m[:, 1] = np.tile([-2.0, 2.0], 125)
    s = motion_stats(m, 25.0)
    assert s[2] == pytest.approx(2 / (10 / 60))  # 2 blinks in 10 s
    assert s[0] == pytest.approx(2.0 / 3)


_BLINKS = [index("eyeBlinkLeft"), index("eyeBlinkRight")]


def _with_blinks(motion: np.ndarray, peaks: dict[int, tuple[float, float]]) -> np.ndarray:
    """(T, 58) lifted motion with the model's kind of blinks: one-frame peaks, each eye its
    own height."""
    out = motion.copy()
    out[:, _BLINKS] = 0.02
    for frame, (left, right) in peaks.items():
        out[frame, _BLINKS] = left, right
    return out


@pytest.mark.parametrize("smoothing", [1, 3, 4, 7])
def test_finishing_in_chunks_equals_finishing_at_once(smoothing):
    """The stream finishes chunk by chunk: any split must give the whole-clip result, blinks
    that straddle a cut included."""
    rng = np.random.default_rng(smoothing)
    peaks = {2: (0.9, 0.8), 30: (0.7, 0.1), 52: (0.6, 0.6), 57: (0.9, 0.9), 95: (1.0, 0.9)}
    motion = _with_blinks(rng.normal(0, 0.6, (97, NUM_PARAMS)).astype(np.float32), peaks)
    plan = FinishPlan(smoothing, 25.0, blink_gap=8, fill=30)  # frames 60-89 get a blink
    whole = finish(motion, 0, len(motion), plan)
    random_cuts = sorted(rng.choice(np.arange(1, 97), 6, replace=False))
    for cuts in ([0, 29, 31, 55, 58, 97], [0, *random_cuts, 97]):
        parts = [finish(motion, a, b, plan) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)
    assert (
        np.abs(
            whole[:, POSE_SLICE] - np.clip(motion[:, POSE_SLICE], LOW[POSE_SLICE], HIGH[POSE_SLICE])
        ).max()
        > 0
        or smoothing == 1
    )


def test_model_blinks_are_redrawn_with_both_lids_and_a_persons_shape():
    """One-frame, one-eyed peaks become blinks of both eyes, shut on at least two frames
    and moving for about a third of a second; a weaker peak close to a stronger one and a
    peak under the threshold are no blinks; a rate of 0 asks for none."""
    motion = _with_blinks(
        np.zeros((120, NUM_PARAMS), np.float32),
        {10: (0.9, 0.1), 50: (0.5, 0.6), 54: (0.3, 0.3), 90: (0.3, 0.2)},
    )
    out = finish(motion, 0, 120, FinishPlan(3, 25.0, blink_gap=8, fill=200))
    left, right = out[:, _BLINKS[0]], out[:, _BLINKS[1]]
    np.testing.assert_array_equal(left, right)
    shut = left > 0.9
    assert shut[10:12].all() and shut[50:52].all()
    moving = np.nonzero(left > 0.05)[0]
    assert set(moving) <= set(range(7, 18)) | set(range(47, 58))  # two blinks, ~0.3 s each
    assert 7 <= int(np.sum(left[40:70] > 0.05)) <= 11
    none = finish(motion, 0, 120, FinishPlan.for_settings(MotionSettings(blink_rate=0.0), 25.0))
    assert np.all(none[:, _BLINKS] == 0)


def test_a_quiet_model_still_blinks_once_a_stretch():
    """Stretches of ``fill`` frames without a model blink get one, where the model came
    closest, away from the model's own blinks; a short last stretch gets none."""
    motion = _with_blinks(
        np.zeros((330, NUM_PARAMS), np.float32), {20: (0.9, 0.9), 160: (0.3, 0.3)}
    )
    plan = FinishPlan(3, 25.0, blink_gap=8, fill=100)
    blink = finish(motion, 0, 330, plan)[:, _BLINKS[0]]
    shut = np.nonzero(blink > 0.9)[0]
    starts = shut[np.diff(np.concatenate([[-2], shut])) > 1]
    # 0-99: the model's own; 100-199: at its near-blink (0.3); 200-299: nothing stands out,
    # the stretch's first frame; 300-329 is under half a stretch.
    np.testing.assert_array_equal(starts, [20, 160, 200])


def test_stream_keeps_blinks_whole_across_window_boundaries(gen, monkeypatch):
    """Blinks the model puts on the last rows a window makes final, or just after them, come
    out of the stream whole: as finishing the whole clip at once draws them."""
    from moda_cli.motion import generate

    T, W, P = 200, TINY["window"], TINY["prev_frames"]
    finals = [s + W - P for s in plan_windows(T, W, P, 50)][:5]  # rows final after each window
    peaks = {f + d: (0.95, 0.85) for f, d in zip(finals, (-2, -1, 0, 1, 2), strict=True)}
    model_rows = _with_blinks(np.zeros((T, NUM_PARAMS), np.float32), peaks)
    handed = [0]  # rows post-processed so far: the stream hands them over in order

    def postprocess(motion, settings, plan):  # joint rows, as the model samples them
        rows = model_rows[handed[0] : handed[0] + len(motion)]
        handed[0] += len(motion)
        return rows

    monkeypatch.setattr(generate, "postprocess", postprocess)
    req = request(T, blink_rate=60.0)  # a gap of 9 frames: no peak here yields to another
    chunks = list(gen.stream(req))
    streamed = np.concatenate(chunks)[:, _BLINKS[0]]
    assert len(chunks) > 3
    plan = FinishPlan.for_settings(req.settings, 25.0)
    np.testing.assert_allclose(streamed, finish(model_rows, 0, T, plan)[:, _BLINKS[0]])
    for frame in peaks:
        assert (streamed[frame : frame + 2] > 0.9).all(), frame


def test_stream_yields_frames_before_sampling_ends(gen):
    """The first chunk comes after the first window, not after the whole clip."""
    frames, seen = 200, []
    chunks = []
    # Finishing blinks reads rows ahead (stretches of 1.5 mean intervals), more than the
    # tiny model's 16-row stride: without blinks only the pose smoothing's one row.
    req = request(frames, blink_rate=0.0)
    for chunk in gen.stream(req, progress=lambda done, total: seen.append(done)):
        chunks.append((len(seen), len(chunk)))
    assert len(chunks) > 3
    assert chunks[0][0] == 1  # one window sampled when the first rows arrive
    assert sum(n for _, n in chunks) == frames
    # Streaming carries no state between calls: the same seed streams the same rows, another
    # seed others.
    again = np.concatenate(list(gen.stream(request(frames))))
    np.testing.assert_array_equal(again, np.concatenate(list(gen.stream(request(frames)))))
    assert np.abs(again - np.concatenate(list(gen.stream(request(frames, seed=7))))).max() > 1e-3


def test_concurrent_jobs_share_batched_windows(checkpoint, gen):
    """Jobs streaming at once from one generator with a batcher sample their windows
    together, and each gets the motion it gets alone (up to float rounding); mixed solver
    settings are never batched together."""
    from concurrent.futures import ThreadPoolExecutor

    from moda_cli.motion.batching import WindowBatcher

    # A generous gather that ends as soon as every stream's window is in: threads start apart.
    batcher = WindowBatcher(max_batch=4, gather_s=0.5)
    shared = LearnedGenerator(checkpoint, batcher=batcher)
    requests = [request(200, seed=s) for s in (1, 2, 3)] + [request(200, seed=4, guidance=2.0)]
    with ThreadPoolExecutor(len(requests)) as pool:
        together = list(pool.map(lambda r: shared.generate(r).params, requests))
    assert 2 <= batcher.largest_batch <= 3  # batched, but not with the other guidance
    for req, got in zip(requests, together, strict=True):
        np.testing.assert_allclose(got, gen.generate(req).params, atol=1e-4)
    assert np.abs(together[0] - together[1]).max() > 1e-3  # and not one job's motion for all


def test_generators_sharing_a_batcher_keep_their_own_models(checkpoint, gen, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from moda_cli.motion.batching import WindowBatcher

    other_path = tmp_path / "other.safetensors"
    other_ckpt = LearnedGenerator(checkpoint).ckpt
    with torch.no_grad():
        for p in other_ckpt.model.parameters():
            p.add_(0.05)
    save_checkpoint(other_path, other_ckpt.model, other_ckpt.norm, dtype=torch.float32)
    batcher = WindowBatcher(max_batch=2, gather_s=0.5)
    first, second = (
        LearnedGenerator(checkpoint, batcher=batcher),
        LearnedGenerator(other_path, batcher=batcher),
    )
    req = request(120, seed=5)
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda g: g.generate(req).params, (first, second))
    np.testing.assert_allclose(a, gen.generate(req).params, atol=1e-4)
    np.testing.assert_allclose(b, LearnedGenerator(other_path).generate(req).params, atol=1e-4)
    assert batcher.largest_batch == 1


def test_a_failed_batch_raises_in_every_waiting_stream(checkpoint, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from moda_cli.motion.batching import WindowBatcher

    shared = LearnedGenerator(checkpoint, batcher=WindowBatcher(max_batch=2, gather_s=0.5))

    def device_lost(*args, **kwargs):
        raise RuntimeError("device lost")

    monkeypatch.setattr(shared.model, "forward", device_lost)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(shared.generate, request(60, seed=s)) for s in (1, 2)]
        for f in futures:
            with pytest.raises(RuntimeError, match="device lost"):
                f.result(timeout=60)
    assert shared.batcher.largest_batch == 2
