"""A per-call time limit for code that can hang (trafilatura on pathological pages).

In the main thread (a plain process, Spark python workers, Ray tasks) a SIGALRM timer interrupts
the call. Elsewhere (a thread) signals cannot be used, so the call runs in a forked helper process
that is killed and replaced on timeout.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections.abc import Callable
from typing import Any


class CallTimeout(Exception):
    """The call ran past its time limit."""


def _on_alarm(signum, frame):
    raise CallTimeout()


def call_with_timeout(fn: Callable[..., Any], seconds: float, *args: Any) -> Any:
    """fn(*args), or CallTimeout after `seconds` (0 or less: no limit)."""
    if seconds <= 0:
        return fn(*args)
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return _HELPER.call(fn, seconds, *args)


def _serve(conn) -> None:
    while True:
        fn, args = conn.recv()
        try:
            conn.send((True, fn(*args)))
        except Exception as exc:  # noqa: BLE001 - shipped back to the caller and re-raised there
            conn.send((False, exc))


class _ForkedHelper:
    """One forked process per calling process, restarted after a timeout."""

    def __init__(self):
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None

    def _start(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child,), daemon=True)
        self._proc.start()

    def call(self, fn: Callable[..., Any], seconds: float, *args: Any) -> Any:
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                self._start()
            self._conn.send((fn, args))
            if not self._conn.poll(seconds):
                self._proc.kill()
                self._proc.join()
                self._proc = None
                raise CallTimeout()
            ok, value = self._conn.recv()
        if ok:
            return value
        raise value


_HELPER = _ForkedHelper()
