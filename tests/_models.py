"""A motion transformer small enough for tests to build, train a step of and save in
milliseconds: ``MotionDiTConfig(**TINY)``."""

TINY = dict(
    width=32,
    heads=2,
    depth_multi=1,
    depth_dual=1,
    depth_single=1,
    mlp_ratio=2.0,
    window=24,
    prev_frames=8,
)
