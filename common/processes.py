"""Whether the process that wrote a record is gone."""
from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any


def process_gone(owner: Mapping[str, Any]) -> bool:
    """True when `owner` ({"host", "pid"}) names a process of this computer that no longer exists.
    A process of another computer, or one that cannot be asked, is not known to be gone."""
    pid = owner.get("pid")
    if owner.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but not ours to signal
        return False
    return False
