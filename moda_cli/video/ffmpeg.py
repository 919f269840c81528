"""Moved to ``moda_cli.ffmpeg``, below every stage (issue 14). These names stay here only
for the importers not yet moved (batch/run.py, motion/train/); import from there."""

from ..ffmpeg import (  # noqa: F401
    MediaInfo,
    count_video_frames,
    ffmpeg_exe,
    ffmpeg_path_arg,
    probe,
    run_ffmpeg,
)
