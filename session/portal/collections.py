""""Collect logs now" for the service: validate, pre-flight, add the history row, then run the one
engine in a worker thread with a manual Origin naming that row.

    runs = Collections(env)
    row = runs.start(body, user)        # CollectNowError when refused; else the new row, in progress
    runs.progress(row.id)               # live progress while it runs in this process, else None
    with runs.live(row_id) as reporter: # the progress of an automatic collection the service's scheduler runs
    runs.close()                        # stop the runs and wait for them to settle ("stopped" manifest, final row)

Requests run one at a time, in the order they came (one worker thread); a collection held by
another process (a PEP Get-AzureStackLog, an automatic collection) is waited for, the row staying
"in progress", and the request starts after it. A collection goes to the SAS's blob container:
the only local writes are the state directory's (history, journal, lock), never a path a caller
chose, so the output roots of docs/security.md have nothing to allow.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from collector.collect_now import CollectNowError, CollectNowRequest, check_destination, collection_plan, validate
from collector.destination import open_sink
from collector.engine import Engine
from collector.errors import CollectionError, CollectionStopped
from collector.history import CollectionType, History, HistoryRow, Origin, failed, new_id, new_row
from collector.report import Progress
from collector.sas import parse_sas_url
from common.redact import redact
from session.environment import Environment

log = logging.getLogger(__name__)


@dataclass
class LiveProgress:
    """What a running collection has said so far (plain data for GET /api/collections/{id})."""

    done: int = 0
    total: int = 0
    roles: dict[str, dict[str, int | bool]] = field(default_factory=dict)
    waiting_for: str | None = None
    last_line: str | None = None

    def to_json(self) -> dict[str, Any]:
        percent = round(100.0 * self.done / self.total, 1) if self.total else 0.0
        return {"bytesDone": self.done, "bytesTotal": self.total, "percent": percent, "roles": self.roles,
                "waitingFor": self.waiting_for, "lastLine": self.last_line}


class _Reporter:
    """The engine's Reporter for one run: keeps the progress, logs warnings and errors (redacted)."""

    def __init__(self, live: LiveProgress, lock: threading.Lock, label: str = "collect logs now"):
        self.live, self._lock, self.label = live, lock, label

    def line(self, text: str) -> None:
        with self._lock:
            self.live.last_line = redact(text)[:300]

    def warning(self, text: str) -> None:
        log.info("%s: WARNING: %s", self.label, redact(text)[:300])

    def verbose(self, text: str) -> None:
        pass

    def error(self, error: CollectionError) -> None:
        log.info("%s: error %s: %s", self.label, error.error_id, redact(error.message)[:300])

    def progress(self, update: Progress) -> None:
        with self._lock:
            if update.role is None:
                self.live.done, self.live.total = update.done, update.total
            else:
                self.live.roles[update.role] = {"done": update.done, "total": update.total, "finished": update.finished}


class Collections:
    def __init__(self, env: Environment, *, wait_poll: float = 1.0):
        self.env = env
        self.wait_poll = wait_poll
        self.stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pep-portal-collect")
        self._lock = threading.Lock()
        self._live: dict[str, LiveProgress] = {}

    # -- request --------------------------------------------------------------------------------
    def start(self, body: object, user: str) -> HistoryRow:
        """Validate `body` ({fromDate, toDate, timeZone, sasUrl}), pre-flight the SAS for real, add the
        row and queue the run. Blocking (the pre-flight): call it from a worker thread."""
        valid = validate(CollectNowRequest.from_json(body))
        check_destination(valid, self.env)
        now = datetime.now(timezone.utc)
        origin = Origin(CollectionType.MANUAL, row_id=new_id(now))
        history = History(self.env.state)
        row = history.add(new_row(origin, started=now, destination=parse_sas_url(valid.sas_url).container_url,
                                  logs_start=valid.window.from_utc, logs_end=valid.window.to_utc,
                                  command="Collect logs now", user=user, stamp=self.env.stamp.name))
        plan = collection_plan(valid, self.env.stamp.name, user=user, row_id=row.id, correlation_id=row.correlation_id)
        live = LiveProgress()
        with self._lock:
            self._live[row.id] = live
        self._pool.submit(self._run, row.id, plan, live)
        return row

    def progress(self, row_id: str) -> dict[str, Any] | None:
        with self._lock:
            live = self._live.get(row_id)
            return live.to_json() if live is not None else None

    @contextmanager
    def live(self, row_id: str) -> Iterator[_Reporter]:
        """The progress of a run this service does not start itself (the automatic collections of
        its scheduler: collector.scheduler.ReporterFor), kept for `progress(row_id)` while it runs."""
        live = LiveProgress()
        with self._lock:
            self._live[row_id] = live
        try:
            yield _Reporter(live, self._lock, "automatic collection")
        finally:
            with self._lock:
                self._live.pop(row_id, None)

    def close(self) -> None:
        """Stop the running request and drop the queued ones; returns when the running one has
        settled (its bundle says "stopped", its row is final), so a service that stops leaves no
        row "in progress" behind it. Blocking: call it from a worker thread."""
        self.stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- the worker ----------------------------------------------------------------------------
    def _run(self, row_id: str, plan: Any, live: LiveProgress) -> None:
        history = History(self.env.state)
        try:
            engine = Engine(self.env)
            engine.run(plan.request, open_sink(plan.destination, self.env), _Reporter(live, self._lock), self.stop,
                       plan.origin, wait=lambda holder: self._wait_for_lock(holder, live))
            with self._lock:
                live.waiting_for = None
        except CollectionStopped:  # the service is stopping; the engine has settled the row
            log.info("collect logs now %s stopped with the service", row_id)
        except CollectionError as e:  # the engine has failed the row with its message
            log.info("collect logs now %s refused: %s", row_id, redact(e.message)[:300])
        except Exception as e:  # never a traceback to a user; the row says what happened
            log.exception("collect logs now %s failed", row_id)
            row = history.get(row_id)
            if row is not None and row.status.value == "in progress":
                history.put(failed(row, redact(f"{type(e).__name__}: {e}")[:500], datetime.now(timezone.utc)))
        finally:
            with self._lock:
                self._live.pop(row_id, None)

    def _wait_for_lock(self, holder: dict[str, Any], live: LiveProgress) -> bool:
        """While another collection (any process, the scheduler's included) holds the stamp's
        collection lock: show whose, wait a moment, and have the engine try again (until stopped)."""
        with self._lock:
            live.waiting_for = redact(str(holder.get("command") or "another collection"))[:200]
        return not self.stop.wait(self.wait_poll)


__all__ = ["CollectNowError", "Collections", "LiveProgress"]
