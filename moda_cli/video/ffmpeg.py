"""Moved to ``moda_cli.ffmpeg``, below every stage (issue 14); this name stays only until
the last importer, batch/run.py, imports from there."""

from ..ffmpeg import ffmpeg_exe  # noqa: F401
