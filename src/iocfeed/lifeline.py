"""Child processes that end with the process they work for, even when it is killed with -9.

A pool worker or a server worker blocked on its work queue or its socket would otherwise
outlive a ``kill -9`` of its parent: an import's workers stayed alive, and the workers of
``serve --workers N`` kept the port bound so a restart failed with "Address already in use".
``watch_owner`` starts a daemon thread that checks twice a second whether the owning process
still runs (a zombie counts as gone) and, once it does not, ends this process: first
``on_orphaned`` (e.g. a graceful SIGTERM to itself), and ``os._exit`` if that has not ended
it within ``grace`` seconds. Polling works on every platform and with every start method
(a forkserver's children are not children of the process they work for).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

POLL_SECONDS = 0.5
# Set by ``iocfeed serve --workers N`` for its workers: the pid of the supervising process.
SUPERVISOR_PID = "IOCFEED_SUPERVISOR_PID"


def is_running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:
        # /proc/<pid>/stat: "pid (comm) state ..."; comm may contain spaces or parentheses.
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: existence is all we can tell
    return stat.rpartition(")")[2].split()[0] != "Z"


def watch_owner(
    owner: int, *, on_orphaned: Callable[[], None] | None = None, grace: float = 5.0
) -> threading.Thread:
    """End this process soon after process ``owner`` ends (see the module docstring)."""

    def watch() -> None:
        while is_running(owner):
            time.sleep(POLL_SECONDS)
        if on_orphaned is not None:
            on_orphaned()
            time.sleep(grace)
        os._exit(1)

    thread = threading.Thread(target=watch, name=f"watch-owner-{owner}", daemon=True)
    thread.start()
    return thread
