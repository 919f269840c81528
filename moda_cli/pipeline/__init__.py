"""The library API: an Engine loads models once and renders jobs.

    from moda_cli.pipeline import Engine, EngineOptions, Job
    engine = Engine(EngineOptions(device="cpu"))
    result = engine.render(Job(Path("anna.jpg"), Path("anna.wav"), Path("anna.mp4"), load_preset()))

``jobs``: what a job is, its result and the checks made before any model loads;
``engine``: the stages; ``streaming``: motion sampled ahead in a thread; ``metering``:
time, CPU and memory per stage; ``device``: the device and the process's thread settings.
"""

from .device import resolve_device
from .engine import Engine
from .jobs import EngineOptions, Job, JobProgress, JobResult, Stage, check_job
from .metering import peak_rss_mb

__all__ = [
    "Engine",
    "EngineOptions",
    "Job",
    "JobProgress",
    "JobResult",
    "Stage",
    "check_job",
    "peak_rss_mb",
    "resolve_device",
]
