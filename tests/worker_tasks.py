"""Tasks used only by the tests of the engine: each records its run in a file, so a test can
count how often a task ran across processes."""

import os
import time

from django_tasks import task


@task()
def probe(log_path, key, seconds=0.0):
    """Append "<key> <pid>" to `log_path` after sleeping `seconds` (a task to kill mid-way)."""
    if seconds:
        time.sleep(seconds)
    line = f"{key} {os.getpid()}\n".encode()
    descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
    return key


@task()
def tick_probe():
    """A periodic job for the scheduler tests."""
    return "tick"
