"""Worker processes for CPU-heavy jobs (backtests, sweeps), bridged to the event loop.

Each job runs in a process of its own, started with the ``spawn`` method: the station
runs Qt and an asyncio loop, and a forked copy of either is unsafe. A process per job
(rather than a reusable pool) costs an interpreter start-up per job, which a backtest
dwarfs, and buys what a pool cannot give: a job that crashes or is killed takes nothing
else with it, and a cancelled job that does not stop in time is terminated.

A job is a module-level function ``fn(payload, progress, should_stop) -> result``
(picklable, like its payload and result). ``progress(done, total)`` is throttled in the
worker to ``progress_interval`` (the last call, ``done == total``, always goes
through); ``should_stop()`` turns true once the job is cancelled. Everything the worker
sends travels through a one-way pipe that a reader thread drains; the listener's
methods are called on the event loop that submitted the job, in the order sent.

At most ``max_workers`` jobs run at once; the others wait their turn in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any, Protocol

from task_station.domain.errors import ConflictError, TaskStationError

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
StopFn = Callable[[], bool]
JobFn = Callable[[Any, ProgressFn, StopFn], object]

_SPAWN = multiprocessing.get_context("spawn")


class JobStatus(StrEnum):
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """How a job ended: its result (finished) or why it did not (failed, cancelled)."""

    job_id: str
    status: JobStatus
    result: object = None
    error: str | None = None


class JobListener(Protocol):
    """What a job's submitter hears, on the event loop, in this order."""

    def job_started(self, job_id: str) -> None: ...

    def job_progressed(self, job_id: str, done: int, total: int) -> None: ...

    def job_ended(self, outcome: JobOutcome) -> None: ...


def default_workers() -> int:
    """The CPUs this process may use (at least one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS and Windows
        return max(1, os.cpu_count() or 1)


@dataclass(eq=False)
class _Job:
    job_id: str
    fn: JobFn
    payload: object
    listener: JobListener
    stop: ProcessEvent = field(default_factory=_SPAWN.Event)
    process: BaseProcess | None = None
    reader: threading.Thread | None = None
    cancel_requested: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class WorkerPool:
    """Run jobs in spawned processes, at most ``max_workers`` at once.

    Parameters
    ----------
    max_workers
        Jobs running at once (default: the CPUs available); later ones are queued.
    cancel_grace
        Seconds a cancelled job has to notice ``should_stop()`` before it is terminated.
    progress_interval
        The least time between two progress reports of one job, in seconds.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        cancel_grace: float = 2.0,
        progress_interval: float = 0.1,
    ) -> None:
        self.max_workers = max_workers if max_workers is not None else default_workers()
        if self.max_workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.cancel_grace = cancel_grace
        self.progress_interval = progress_interval
        self._queued: deque[_Job] = deque()
        self._running: dict[str, _Job] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    # -- reading -----------------------------------------------------------------------

    @property
    def running(self) -> list[str]:
        return list(self._running)

    @property
    def queued(self) -> list[str]:
        return [job.job_id for job in self._queued]

    def pid(self, job_id: str) -> int | None:
        """The worker process of a running job (None when it has none)."""
        job = self._running.get(job_id)
        return None if job is None or job.process is None else job.process.pid

    # -- control -----------------------------------------------------------------------

    def submit(self, job_id: str, fn: JobFn, payload: object, listener: JobListener) -> None:
        """Queue ``fn(payload, ...)``; call on the event loop that should hear about it."""
        if self._closed:
            raise ConflictError("the worker pool is closed; the station is stopping")
        if job_id in self._running or any(j.job_id == job_id for j in self._queued):
            raise ConflictError(f"job {job_id} is already queued or running")
        self._loop = asyncio.get_running_loop()
        self._queued.append(_Job(job_id, fn, payload, listener))
        self._start_queued()

    def cancel(self, job_id: str) -> bool:
        """Ask a job to stop (a queued one ends at once); False when it is unknown."""
        for waiting in self._queued:
            if waiting.job_id == job_id:
                self._queued.remove(waiting)
                waiting.ended.set()
                _notify(waiting.listener.job_ended, JobOutcome(job_id, JobStatus.CANCELLED))
                return True
        job = self._running.get(job_id)
        if job is None:
            return False
        if not job.cancel_requested:
            job.cancel_requested = True
            job.stop.set()
            assert self._loop is not None
            self._loop.call_later(self.cancel_grace, self._escalate, job, False)
        return True

    async def aclose(self, timeout: float = 5.0) -> None:
        """Drop the queue and stop every running job; listeners hear nothing more."""
        self._closed = True
        self._queued.clear()
        jobs = list(self._running.values())
        for job in jobs:
            job.stop.set()
            _stop_process(job, kill=False)
        waits = [asyncio.create_task(job.ended.wait()) for job in jobs]
        if not waits:
            return
        _done, pending = await asyncio.wait(waits, timeout=timeout)
        if pending:
            for job in jobs:
                _stop_process(job, kill=True)
            _done, pending = await asyncio.wait(pending, timeout=timeout)
        for task in pending:  # a process that even SIGKILL did not end: stop waiting
            task.cancel()

    # -- internals ---------------------------------------------------------------------

    def _start_queued(self) -> None:
        while self._queued and len(self._running) < self.max_workers and not self._closed:
            job = self._queued.popleft()
            self._running[job.job_id] = job
            try:
                self._launch(job)
            except Exception as exc:  # e.g. an unpicklable payload, no processes left
                log.exception("job %s could not start", job.job_id)
                self._end(job, ("error", f"the worker process could not start: {exc}"), None)
                continue
            _notify(job.listener.job_started, job.job_id)

    def _launch(self, job: _Job) -> None:
        receiver, sender = _SPAWN.Pipe(duplex=False)
        process = _SPAWN.Process(
            target=_worker_main,
            args=(job.fn, job.payload, sender, job.stop, self.progress_interval),
            name=f"task-station-job-{job.job_id}",
            daemon=True,  # never outlive the station, even if it dies without closing
        )
        try:
            process.start()
        except BaseException:
            receiver.close()
            raise
        finally:
            sender.close()  # the worker holds the only write end: EOF means it is gone
        job.process = process
        job.reader = threading.Thread(
            target=self._read, args=(job, receiver), name=f"job-reader-{job.job_id}", daemon=True
        )
        job.reader.start()

    def _read(self, job: _Job, receiver: Connection) -> None:
        """The reader thread: forward messages to the loop until the worker is gone."""
        last: tuple[Any, ...] | None = None
        with receiver:
            while True:
                try:
                    message = receiver.recv()
                except (EOFError, OSError):
                    break
                except Exception as exc:  # a message that cannot be unpickled here
                    last = ("error", f"the worker's answer could not be read: {exc}")
                    continue
                if message[0] == "progress":
                    self._post(self._progressed, job, message[1], message[2])
                else:
                    last = message
        assert job.process is not None
        job.process.join()
        exitcode = job.process.exitcode
        for _ in range(20):  # Process.start() elsewhere may have reaped it a moment ago
            if exitcode is not None:
                break
            time.sleep(0.01)
            exitcode = job.process.exitcode
        self._post(self._end, job, last, exitcode)

    def _post(self, fn: Callable[..., None], *args: object) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
            self._loop.call_soon_threadsafe(fn, *args)

    def _progressed(self, job: _Job, done: int, total: int) -> None:
        if not self._closed and not job.ended.is_set():
            _notify(job.listener.job_progressed, job.job_id, done, total)

    def _end(self, job: _Job, message: tuple[Any, ...] | None, exitcode: int | None) -> None:
        self._running.pop(job.job_id, None)
        if job.reader is not None and job.reader is not threading.current_thread():
            job.reader.join(timeout=1.0)  # it only had to post this call
        job.ended.set()
        if self._closed:
            return
        _notify(job.listener.job_ended, _outcome(job, message, exitcode))
        self._start_queued()

    def _escalate(self, job: _Job, kill: bool) -> None:
        """A cancelled job ignored ``should_stop``: terminate it, then kill it."""
        if job.ended.is_set():
            return
        log.warning("job %s did not stop within %.1f s after its cancel; %s it",
                    job.job_id, self.cancel_grace, "killing" if kill else "terminating")  # fmt: skip
        _stop_process(job, kill=kill)
        if not kill and self._loop is not None:
            self._loop.call_later(1.0, self._escalate, job, True)


def _outcome(job: _Job, message: tuple[Any, ...] | None, exitcode: int | None) -> JobOutcome:
    if message is not None and message[0] == "result":
        return JobOutcome(job.job_id, JobStatus.FINISHED, result=message[1])
    if job.cancel_requested:
        return JobOutcome(job.job_id, JobStatus.CANCELLED)
    if message is not None and message[0] == "error":
        return JobOutcome(job.job_id, JobStatus.FAILED, error=str(message[1]))
    return JobOutcome(job.job_id, JobStatus.FAILED, error=_died(exitcode))


def _died(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return (
            f"the worker process was killed by {name} before it finished "
            f"(out of memory, or stopped from outside the station)"
        )
    return f"the worker process exited with code {exitcode} before it finished"


def _stop_process(job: _Job, *, kill: bool) -> None:
    # Process.terminate/kill only signal (no wait), so the reader thread stays the one
    # that reaps the process; they do nothing once it is reaped.
    if job.process is None or job.ended.is_set():
        return
    with contextlib.suppress(ProcessLookupError, OSError):
        if kill:
            job.process.kill()
        else:
            job.process.terminate()


def _notify(handler: Callable[..., None], *args: object) -> None:
    """Call a listener; its failure is logged, never allowed to stop the pool."""
    try:
        handler(*args)
    except Exception:
        log.exception("job listener %r failed", handler)


# -- the worker process ----------------------------------------------------------------


def describe_error(exc: BaseException) -> str:
    """A station error's own message; anything else with its type (what a trader needs)."""
    if isinstance(exc, TaskStationError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _worker_main(
    fn: JobFn, payload: object, sender: Connection, stop: ProcessEvent, interval: float
) -> None:
    """The worker process's entry point: run the job, send progress and the outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the station's to handle
    last = float("-inf")

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done < total and now - last < interval:
            return
        last = now
        sender.send(("progress", int(done), int(total)))

    try:
        result = fn(payload, progress, stop.is_set)
    except BaseException as exc:  # the worker must report whatever happened
        log.debug("job failed:\n%s", traceback.format_exc())
        sender.send(("error", describe_error(exc)))
    else:
        try:
            sender.send(("result", result))
        except Exception as exc:  # an unpicklable result
            sender.send(("error", f"the job's result could not be sent back: {exc}"))
    finally:
        sender.close()
