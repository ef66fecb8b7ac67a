"""Job functions for the worker-pool tests: module level, so a spawned worker imports
them by name (their module must not import anything heavy)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path


def count(bars: int, progress: Callable[[int, int], None], should_stop: Callable[[], bool]) -> int:
    """Step through ``bars`` 1 ms bars, reporting each; stop when asked."""
    for done in range(1, bars + 1):
        if should_stop():
            raise RuntimeError("stopped on request")
        time.sleep(0.001)
        progress(done, bars)
    return bars * 2


def fail(message: str, progress: Callable[[int, int], None], stop: Callable[[], bool]) -> None:
    raise ValueError(message)


def kill_self(_: object, progress: Callable[[int, int], None], stop: Callable[[], bool]) -> None:
    progress(1, 10)
    os.kill(os.getpid(), signal.SIGKILL)


def deaf(pid_file: str, progress: Callable[[int, int], None], stop: Callable[[], bool]) -> None:
    """Write the worker's pid, then ignore ``should_stop`` (and SIGTERM) for a minute."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    Path(pid_file).write_text(str(os.getpid()))
    progress(0, 1)
    time.sleep(60)


def unpicklable(
    _: object, progress: Callable[[int, int], None], stop: Callable[[], bool]
) -> object:
    return lambda: None
