"""A bandwidth cap shared by the threads of one sink (configuration key upload.bandwidth_mbps):
the blob and the share destinations pace their writes through it. And the link's speed as a run's
deliveries measure it (LinkMeter), from which the deflate level is chosen when there is no cap."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable


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


class LinkMeter:
    """The link's speed as the deliveries see it: bytes delivered over the time at least one
    delivery was in flight. Several zips are sent at once (one per sending thread), so the rate of
    any one delivery is only its share of the link (about half with two senders), and time when
    nothing was being sent (the link waiting for a packer) says nothing about the link."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._in_flight = 0
        self._busy_since = 0.0
        self._busy = 0.0
        self._bytes = 0

    def started(self) -> None:
        with self._lock:
            if self._in_flight == 0:
                self._busy_since = self._clock()
            self._in_flight += 1

    def ended(self, delivered_bytes: int) -> None:
        """One delivery ended; `delivered_bytes` 0 when it failed or was stopped."""
        with self._lock:
            self._in_flight -= 1
            self._bytes += delivered_bytes
            now = self._clock()
            self._busy += now - self._busy_since
            self._busy_since = now

    def rate(self, at_least: int) -> float | None:
        """Bytes per second over the busy time so far, once `at_least` bytes were delivered (small
        deliveries are mostly latency); None before."""
        with self._lock:
            if self._bytes < at_least or self._busy <= 0:
                return None
            return self._bytes / self._busy
