"""How many cores the work shares, for choices that depend on it (threads per library)."""

from __future__ import annotations

import os

SMALL_MACHINE_CORES = 4


def small_machine() -> bool:
    """At most SMALL_MACHINE_CORES cores: sampling, rendering and x264 already fill them,
    so each library gets one thread instead of its own pool competing with the others."""
    return (os.cpu_count() or 1) <= SMALL_MACHINE_CORES
