"""A bandwidth cap shared by the threads of one sink (configuration key upload.bandwidth_mbps):
the blob and the share destinations pace their writes through it."""
from __future__ import annotations

import threading
import time


class BandwidthLimiter:
    """Paces byte transfers shared by several threads to an average rate (bytes per second)."""

    def __init__(self, bytes_per_second: float | None):
        self.rate = bytes_per_second if bytes_per_second and bytes_per_second > 0 else None
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, n: int, stop: threading.Event | None = None) -> None:
        if self.rate is None:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + n / self.rate
        delay = start - now
        if delay > 0:
            if stop is not None:
                stop.wait(delay)
            else:
                time.sleep(delay)
