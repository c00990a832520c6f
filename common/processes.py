"""Who writes a record (this computer's name, this process), and whether that process is gone."""
from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from typing import Any


def this_host() -> str:
    """This computer's name, as records of who holds a lock or runs a collection give it. platform is
    imported at start-up anyway; socket, only for its gethostname, cost every collection ~3 ms."""
    return platform.node()


def process_gone(owner: Mapping[str, Any]) -> bool:
    """True when `owner` ({"host", "pid"}) names a process of this computer that no longer exists.
    A process of another computer, or one that cannot be asked, is not known to be gone."""
    pid = owner.get("pid")
    if owner.get("host") != this_host() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but not ours to signal
        return False
    return False
