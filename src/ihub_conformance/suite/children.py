"""Child processes (the suite's pytest, the mutants' variants) that never outlive us.

Each child leads its own process group, so it and everything it starts can be ended
together; `supervised` ends the group when the parent's block is left by any exception
(Ctrl-C, SIGTERM raised as `Terminated`, a closed output): SIGINT first, so pytest can
finish its reports, SIGKILL after `GRACE` seconds. On Linux the child also asks the kernel
for SIGTERM when the parent dies without cleaning up (SIGKILL), so no child keeps
sending requests to a target on its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

GRACE = 3.0  # seconds a child gets to end after SIGINT before SIGKILL
_PR_SET_PDEATHSIG = 1
_live: dict[int, subprocess.Popen[Any]] = {}
_lock = threading.Lock()


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: SIGTERM when the parent dies (Linux; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(143)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop(child: subprocess.Popen[Any], grace: float = GRACE) -> None:
    """End the child's whole process group: SIGINT, then SIGKILL after ``grace`` seconds."""
    if child.poll() is None:
        _signal_group(child.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(grace)
    _signal_group(child.pid, signal.SIGKILL)  # anything the child left in its group
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(grace)


def stop_all(grace: float = GRACE) -> None:
    """Stop every supervised child still running (from any thread)."""
    with _lock:
        children = list(_live.values())
    for child in children:
        stop(child, grace)


@contextlib.contextmanager
def supervised(command: list[str], **popen: Any) -> Iterator[subprocess.Popen[Any]]:
    """``subprocess.Popen(command, **popen)`` leading its own process group, ended with
    everything it started when the block is left by an exception (or left running)."""
    parent = os.getpid()
    child = subprocess.Popen(command, start_new_session=True,
                             preexec_fn=lambda: _die_with_parent(parent),
                             **popen)
    with _lock:
        _live[child.pid] = child
    try:
        yield child
    except BaseException:
        stop(child)
        raise
    finally:
        with _lock:
            _live.pop(child.pid, None)
        if child.poll() is None:
            stop(child)
        for stream in (child.stdout, child.stderr, child.stdin):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
