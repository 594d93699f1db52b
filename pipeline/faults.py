"""Fault injection for the reliability tests: SIGKILL a whole run at a chosen commit point.

Off (one environment lookup per point) unless `PIPELINE_FAULTS` names a folder. Every atomic write
is two points (its temporary file written; renamed into place), the crawl's WARC record and
frontier transaction are points too. Each point takes the next number from FOLDER/count (under a
lock, so the driver and its engine's workers share one sequence) and appends
`number<TAB>pid<TAB>label` to FOLDER/points.log. When the number equals the one in FOLDER/kill_at,
the process tree rooted at `PIPELINE_FAULT_ROOT` is stopped and then SIGKILLed, as a machine that
dies would stop it: no process of it writes another byte.
"""

from __future__ import annotations

import os
import signal

FOLDER_VAR, ROOT_VAR = "PIPELINE_FAULTS", "PIPELINE_FAULT_ROOT"


def enabled() -> bool:
    return bool(os.environ.get(FOLDER_VAR))


def point(label: str) -> None:
    folder = os.environ.get(FOLDER_VAR)
    if folder:
        _reach(folder, label)


def _reach(folder: str, label: str) -> None:
    import fcntl

    with open(os.path.join(folder, "count"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        number = int(fh.read() or 0) + 1
        fh.seek(0)
        fh.truncate()
        fh.write(str(number))
        fh.flush()
        with open(os.path.join(folder, "points.log"), "a") as log:
            log.write(f"{number}\t{os.getpid()}\t{label}\n")
        try:
            with open(os.path.join(folder, "kill_at")) as at:
                strike = int(at.read().strip() or 0) == number
        except FileNotFoundError:
            strike = False
        if strike:
            kill_tree(int(os.environ[ROOT_VAR]))  # does not return (the lock dies with us)


def kill_tree(root: int) -> None:
    """SIGSTOP every process of the tree under `root` (re-listing until no new child appears),
    then SIGKILL them all; the caller too when it belongs to the tree. Stopping first means no
    process forks or writes while the others die. PySpark's daemon leaves the process group, so
    the tree is walked, not the group."""
    import psutil

    me = os.getpid()
    stopped: dict[int, psutil.Process] = {}
    mine = me == root
    try:
        top = psutil.Process(root)
    except psutil.NoSuchProcess:
        top = None
    while top is not None:
        try:
            tree = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        mine = mine or any(p.pid == me for p in tree)
        fresh = [p for p in tree if p.pid not in stopped and p.pid != me]
        if not fresh:
            break
        for proc in fresh:
            try:
                proc.send_signal(signal.SIGSTOP)
            except psutil.NoSuchProcess:
                pass
            stopped[proc.pid] = proc
    for proc in stopped.values():
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    if mine:
        os.kill(me, signal.SIGKILL)
