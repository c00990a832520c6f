"""Progress of a run in bytes: one overall figure and one per role, throttled to 4 updates a second.

A role's total is known once all its hosts are scanned, so the overall total grows while scanning
goes on. A role's activity finishes when its last zip is built, not when the whole run ends; a role
whose bar was never shown (the throttle let no update of it through) gets no "Completed" record
either: in a short run most roles are done between two updates, and a record costs more than
packing a small role.
"""
from __future__ import annotations

import threading
import time

from collector.report import Progress, Reporter

_INTERVAL = 0.25


class RunProgress:
    def __init__(self, reporter: Reporter):
        self._rep = reporter
        self._total = 0
        self._done = 0
        self._role_total: dict[str, int] = {}
        self._role_done: dict[str, int] = {}
        self._jobs_left: dict[str, int] = {}
        self._shown: set[str] = set()  # roles with a bar on screen
        self._mutex = threading.Lock()
        self._last = 0.0

    def add_role(self, role: str, total: int, jobs: int) -> None:
        """A role is scanned: `total` bytes to read in `jobs` zips (all announced before any finishes)."""
        with self._mutex:
            self._total += total
            self._role_total[role] = total
            self._role_done.setdefault(role, 0)
            self._jobs_left[role] = self._jobs_left.get(role, 0) + jobs

    def add(self, role: str, n: int) -> None:
        with self._mutex:
            self._done += n
            self._role_done[role] = self._role_done.get(role, 0) + n
            now = time.monotonic()
            if now - self._last < _INTERVAL:
                return
            self._last = now
            self._shown.add(role)
            done, total = self._done, self._total
            rd, rt = self._role_done[role], self._role_total.get(role, 0)
        self._rep.progress(Progress(None, done, total))
        self._rep.progress(Progress(role, rd, rt))

    def job_done(self, role: str) -> None:
        with self._mutex:
            self._jobs_left[role] -= 1
            finished = self._jobs_left[role] == 0 and role in self._shown
            rd, rt = self._role_done.get(role, 0), self._role_total.get(role, 0)
        if finished:
            self._rep.progress(Progress(role, rd, rt, finished=True))

    def complete(self) -> None:
        """The run is over: close the roles a stop left open, then the run's own activity."""
        with self._mutex:
            left = [r for r, n in self._jobs_left.items() if n and r in self._shown]
            done, total = self._done, self._total
        for role in left:
            self._rep.progress(Progress(role, self._role_done.get(role, 0), self._role_total.get(role, 0), finished=True))
        self._rep.progress(Progress(None, done, total, finished=True))
