"""SIGKILL a whole process tree, as a crashed machine or an OOM killer would.

`os.killpg` is not enough for Spark: PySpark's python daemon moves itself into a process group of
its own, so its workers would outlive the driver and keep writing into the run folder.
"""

from __future__ import annotations

import subprocess

import psutil


def kill_tree(proc: subprocess.Popen) -> None:
    try:
        root = psutil.Process(proc.pid)
        victims = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        victims = []
    for victim in victims:
        try:
            victim.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=30)
    proc.wait()
