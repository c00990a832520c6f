"""The terminal the front ends draw on."""
from __future__ import annotations

import os
import sys


def width() -> int:
    """Columns of the terminal on stdout; 120 when stdout is not a terminal (as a redirected 5.1 host)."""
    try:
        return os.get_terminal_size().columns if sys.stdout.isatty() else 120
    except OSError:
        return 120
