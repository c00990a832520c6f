"""Automatic collection (Help + Support, 1907-1910 behaviour): trigger alerts that stay active queue a
collection of a sliding window to the destination of the automatic-collection settings.

Pure decision (`decide`): active alerts + past automatic collections + the policy + now -> a
`Decision` (due or not, and why). The rules, in the order they are checked:

1. the support switch is down (collector.support_switch): nothing;
2. automatic collection is disabled (collector.automatic_settings), or its destination is
   unusable (nothing saved, or the container's SAS has expired: its own alert says so): nothing;
3. an automatic collection is in progress: nothing;
4. suppression: scanning is suppressed `automatic_collection.suppression_minutes` (default 30)
   after the last automatic collection ended;
5. the trigger alerts (the §4.2 ones) that are active and not yet covered: an alert is covered when
   an earlier automatic collection that did not fail had a window containing its raise time;
6. persistence: the earliest uncovered trigger alert must have been active for
   `automatic_collection.persistence_minutes` (default 30);
7. the daily cap: at most `automatic_collection.max_per_day` (default 10) automatic collections
   started in the last 24 hours (rolling; failed ones count);
8. due: one collection of the window from 1 hour before the earliest uncovered trigger alert's
   raise time to now, at most 4 hours long (so it always contains that alert's start; an alert
   older than 3 hours gets the 4 hours from 1 hour before it). The earliest alert is the trigger (its
   title and FaultIdType go to the history row); every other active trigger alert raised inside the
   window joins it (listed with the queued entry; they are covered by it).

Minutes may be fractions (tests and demos use seconds).

Runner: `AutomaticCollector(env).tick()` runs one pass: a queued automatic collection (left by a
previous pass, a lock that was busy, or a service killed mid-way) first, then the on-demand queue,
then a new decision; `run_forever(stop_event)` ticks every `health.scan_seconds` (default 60, sooner
when a persistence period ends before that); `start()` / `stop()` run that loop on its own thread. A due collection is written to the queue
(`<state>/help-support/automatic/<row id>.json`, atomically, window fixed) before it runs, so a
kill -9 resumes the same request (same resume key, same history row) at the next start.

Serialisation: one collection at a time per stamp (collector.lock). When another collection holds
the lock (a PEP Get-AzureStackLog, say), the automatic one stays queued and is tried again at the
next tick; no history row is written while it waits. On-demand requests ("Collect logs now") go
through `enqueue_on_demand(plan)`: the same runner runs them, in order, after any automatic
collection that is running; they wait for a busy lock the same way. While the support switch is down
the runner starts nothing (queued work waits until it is up).

A destination refusal (the sink's pre-flight: an expired or revoked SAS, a share that refuses the
logon) records a failed automatic row with the refusal's message ("check the log collection history
to see why upload failed"); its alerts are not covered, so they queue again after the suppression.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any

from collector import automatic_settings, support_switch
from collector.alerts import ACTIVE, Alert
from collector.collect_now import CollectNowPlan
from collector.commands import AUTOMATIC_COMMAND
from collector.destination import AsTyped, Destination, collection_request, open_sink
from collector.errors import CollectionError, CollectionStopped
from collector.history import CollectionType, History, HistoryRow, HistoryStatus, Origin, failed, new_id, new_row
from collector.lock import LockBusy
from collector.report import NullReporter, Reporter
from collector.settings import EngineEnv
from collector.window import Window
from common.state import atomic_write_json

log = logging.getLogger("azs.automatic")

COMMAND = AUTOMATIC_COMMAND
LEAD = timedelta(hours=1)           # the window starts this long before the earliest trigger alert
MAX_WINDOW = timedelta(hours=4)     # and lasts at most this long
DAY = timedelta(hours=24)
KEEP = timedelta(days=90)           # queue entries (the list of joined alerts) are kept as long as history rows
QUEUE_DIR = ("help-support", "automatic")


class Reason(StrEnum):
    DUE = "due"
    SUPPORT_DOWN = "support down"
    DISABLED = "disabled"
    NO_DESTINATION = "no destination"
    RUNNING = "running"
    SUPPRESSED = "suppressed"
    NO_TRIGGER = "no trigger alert"
    PERSISTING = "persisting"
    DAILY_CAP = "daily cap"


@dataclass(frozen=True)
class Policy:
    persistence: timedelta = timedelta(minutes=30)
    suppression: timedelta = timedelta(minutes=30)
    max_per_day: int = 10

    @classmethod
    def from_env(cls, env: EngineEnv) -> Policy:
        def minutes(key: str, default: float) -> timedelta:
            return timedelta(minutes=max(0.0, float(env.setting(f"automatic_collection.{key}", default))))

        return cls(minutes("persistence_minutes", 30), minutes("suppression_minutes", 30),
                   int(env.setting("automatic_collection.max_per_day", 10)))


@dataclass(frozen=True)
class PastCollection:
    """An earlier automatic collection, from its history row."""

    started: datetime
    ended: datetime | None
    status: HistoryStatus
    window: Window | None

    @classmethod
    def from_row(cls, row: HistoryRow) -> PastCollection:
        window = None
        if row.logs_start and row.logs_end:
            window = Window(datetime.fromisoformat(row.logs_start), datetime.fromisoformat(row.logs_end))
        return cls(datetime.fromisoformat(row.time_collected),
                   datetime.fromisoformat(row.ended) if row.ended else None, row.status, window)


@dataclass(frozen=True)
class Decision:
    reason: Reason
    message: str
    window: Window | None = None
    trigger: Alert | None = None
    joined: tuple[Alert, ...] = ()
    not_before: datetime | None = None   # when the blocker lifts (suppressed, persisting, daily cap)

    @property
    def due(self) -> bool:
        return self.reason is Reason.DUE


def _raised(a: Alert) -> datetime:
    return datetime.fromisoformat(a.raised).astimezone(timezone.utc)


def _covered(a: Alert, past: Sequence[PastCollection]) -> bool:
    t = _raised(a)
    return any(p.window is not None and p.status is not HistoryStatus.FAILED
               and p.window.from_utc <= t <= p.window.to_utc for p in past)


def window_for(first_raised: datetime, now: datetime) -> Window:
    """From LEAD before the alert to now, at most MAX_WINDOW long (always containing the alert)."""
    start = first_raised - LEAD
    return Window(start, max(first_raised, min(now, start + MAX_WINDOW)))


def decide(alerts: Iterable[Alert], past: Sequence[PastCollection], now: datetime, policy: Policy, *,
           enabled: bool, destination_problem: str | None = None, support_down: bool = False) -> Decision:
    """Whether to queue an automatic collection now (the module docstring's rules, in order)."""
    now = now.astimezone(timezone.utc)
    if support_down:
        return Decision(Reason.SUPPORT_DOWN, "Help + Support is down (pep support up brings it back).")
    if not enabled:
        return Decision(Reason.DISABLED, "Automatic collection is disabled.")
    if destination_problem:
        return Decision(Reason.NO_DESTINATION, destination_problem)
    if any(p.status is HistoryStatus.IN_PROGRESS for p in past):
        return Decision(Reason.RUNNING, "An automatic collection is in progress.")
    ends = [p.ended or p.started for p in past]
    if ends and max(ends) + policy.suppression > now:
        until = max(ends) + policy.suppression
        return Decision(Reason.SUPPRESSED, f"Alert scanning is suppressed until {until:%Y-%m-%d %H:%M:%S} UTC, "
                        "after the last automatic collection.", not_before=until)
    triggers = sorted((a for a in alerts if a.trigger and a.state == ACTIVE and not _covered(a, past)),
                      key=lambda a: (_raised(a), a.id))
    if not triggers:
        return Decision(Reason.NO_TRIGGER, "No trigger alert is active that an automatic collection has not covered.")
    first = triggers[0]
    persisted_at = _raised(first) + policy.persistence
    if persisted_at > now:
        return Decision(Reason.PERSISTING, f"The alert '{first.title}' has not yet been active for the persistence "
                        "period.", trigger=first, not_before=persisted_at)
    recent = sorted(p.started for p in past if p.started > now - DAY)
    if len(recent) >= policy.max_per_day:
        lifts = recent[len(recent) - policy.max_per_day] + DAY if policy.max_per_day > 0 else None
        return Decision(Reason.DAILY_CAP, f"{len(recent)} automatic collections in the last 24 hours: at most "
                        f"{policy.max_per_day} a day.", trigger=first, not_before=lifts)
    window = window_for(_raised(first), now)
    joined = tuple(a for a in triggers[1:] if window.from_utc <= _raised(a) <= window.to_utc)
    return Decision(Reason.DUE, f"The alert '{first.title}' ({first.fault_id_type}) has been active since "
                    f"{first.raised}: collecting {window.describe()}"
                    + (f" with {len(joined)} more alert(s)." if joined else "."), window, first, joined)


def destination_problem(settings: automatic_settings.Settings | None, now: datetime) -> str | None:
    """Why the saved destination cannot be used now (pure), or None."""
    if settings is None:
        return "No automatic collection destination is saved."
    if settings.kind is automatic_settings.Kind.CONTAINER and settings.sas_expiry:
        expiry = datetime.fromisoformat(settings.sas_expiry)
        if expiry <= now:
            return (f"The SAS URL of {settings.location} expired at {expiry:%Y-%m-%d %H:%M} UTC: save a new one "
                    "(the 'SAS URL has expired' alert is raised).")
    return None


# -- the queue (state directory) -------------------------------------------------------------------

def _alert_json(a: Alert) -> dict[str, Any]:
    return {"id": a.id, "title": a.title, "fault_id_type": a.fault_id_type, "raised": a.raised,
            "component": a.component}


def _queue_dir(env: EngineEnv) -> Path:
    return env.state.sub(*QUEUE_DIR)


def entries(env: EngineEnv) -> list[dict[str, Any]]:
    """Every automatic collection queued in the last 90 days, oldest first: `row_id`, `state`
    (queued, done, failed, dropped), `window`, `trigger` and `joined` (the alerts, with title and
    FaultIdType), `queued`, `message`."""
    out = []
    for p in sorted(_queue_dir(env).glob("*.json")):
        try:
            out.append(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return out


def entry(env: EngineEnv, row_id: str) -> dict[str, Any] | None:
    """The queue entry of one automatic collection's history row (its trigger and joined alerts)."""
    try:
        data: dict[str, Any] = json.loads((_queue_dir(env) / f"{row_id}.json").read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        return None


def _write_entry(env: EngineEnv, data: dict[str, Any]) -> None:
    atomic_write_json(_queue_dir(env) / f"{data['row_id']}.json", data)


def _prune(env: EngineEnv, now: datetime) -> None:
    for data in entries(env):
        if data.get("state") != "queued" and datetime.fromisoformat(str(data["queued"])) < now - KEEP:
            (_queue_dir(env) / f"{data['row_id']}.json").unlink(missing_ok=True)


def past_collections(env: EngineEnv, history: History) -> list[PastCollection]:
    """The automatic collections of the queue that have a history row (the decision's `past`)."""
    out = []
    for data in entries(env):
        row = history.get(str(data.get("row_id")))
        if row is not None and row.type is CollectionType.AUTOMATIC:
            out.append(PastCollection.from_row(row))
    return out


# -- the runner -----------------------------------------------------------------------------------

class Action(StrEnum):
    RAN = "ran"            # a collection ran (see row_id)
    WAITING = "waiting"    # queued work waits for the collection lock
    FAILED = "failed"      # refused before collecting (a failed row says why)
    STOPPED = "stopped"    # the stop event was honoured; the entry stays queued
    IDLE = "idle"          # nothing to do (see decision)


@dataclass
class TickResult:
    action: Action
    message: str = ""
    decision: Decision | None = None
    row_id: str | None = None
    on_demand: int = 0     # on-demand requests finished during this tick


@dataclass
class OnDemand:
    """A queued "Collect logs now" request. `done` is set when it has run (or been refused):
    then `row_id` or `error` (a CollectionError) says how it went."""

    plan: CollectNowPlan
    done: threading.Event = field(default_factory=threading.Event)
    row_id: str | None = None
    error: CollectionError | None = None


# A reporter for one automatic collection's run, by its history row id: the service passes one that
# keeps the live progress GET /api/collections/{id} shows, for as long as the run lasts.
ReporterFor = Callable[[str], AbstractContextManager[Reporter]]


class AutomaticCollector:
    def __init__(self, env: EngineEnv, reporter: Reporter | None = None, *, reporter_for: ReporterFor | None = None):
        self.env = env
        self.reporter: Reporter = reporter or NullReporter()
        self._reporter_for = reporter_for
        self._on_demand: deque[OnDemand] = deque()
        self._queue_lock = threading.Lock()
        self._busy = threading.Lock()      # one tick at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: TickResult | None = None

    # -- inputs ------------------------------------------------------------------------------
    def decide(self, now: datetime | None = None) -> Decision:
        from collector import healthmodel

        now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        down = support_switch.is_down(self.env)
        settings = automatic_settings.load(self.env)
        enabled = bool(settings and settings.enabled)
        if down or not enabled:
            return decide((), (), now, Policy.from_env(self.env), enabled=enabled, support_down=down)
        past = past_collections(self.env, History(self.env.state))
        alerts = healthmodel.current(self.env, now).alerts
        return decide(alerts, past, now, Policy.from_env(self.env), enabled=enabled,
                      destination_problem=destination_problem(settings, now), support_down=down)

    # -- the on-demand queue -----------------------------------------------------------------
    def enqueue_on_demand(self, plan: CollectNowPlan) -> OnDemand:
        """Queue a "Collect logs now" plan: it runs after any automatic collection that is running,
        in the order queued. Wakes `run_forever`."""
        item = OnDemand(plan)
        with self._queue_lock:
            self._on_demand.append(item)
        self._wake.set()
        return item

    def pending_on_demand(self) -> list[OnDemand]:
        with self._queue_lock:
            return list(self._on_demand)

    # -- one pass ----------------------------------------------------------------------------
    def tick(self, now: datetime | None = None, stop: threading.Event | None = None) -> TickResult:
        stop = stop or threading.Event()
        with self._busy:
            self.last = self._tick(now, stop)
            return self.last

    def _tick(self, now: datetime | None, stop: threading.Event) -> TickResult:
        if support_switch.is_down(self.env):
            return TickResult(Action.IDLE, "Help + Support is down: nothing runs.",
                              decide((), (), datetime.now(timezone.utc), Policy(), enabled=False, support_down=True))
        earlier: TickResult | None = None   # a queued entry run first (what this tick reports)
        for data in entries(self.env):
            if data.get("state") == "queued":
                earlier = self._run_entry(data, stop)
                if earlier.action in (Action.WAITING, Action.STOPPED):
                    return earlier
        done = 0
        while True:
            with self._queue_lock:
                item = self._on_demand[0] if self._on_demand else None
            if item is None:
                break
            if not self._run_on_demand(item, stop):
                return TickResult(Action.WAITING, "An on-demand collection waits for the collection lock.",
                                  on_demand=done)
            with self._queue_lock:
                self._on_demand.popleft()
            item.done.set()
            done += 1
            if stop.is_set():
                return TickResult(Action.STOPPED, "Stopped.", on_demand=done)
        if earlier is not None and earlier.action is not Action.IDLE:
            earlier.on_demand = done
            return earlier
        decision = self.decide(now)
        if not decision.due or decision.window is None or decision.trigger is None:
            return TickResult(Action.IDLE, decision.message, decision, on_demand=done)
        queued = datetime.now(timezone.utc)
        data = {"row_id": new_id(queued), "state": "queued", "queued": queued.isoformat(),
                "window": decision.window.as_dict(), "trigger": _alert_json(decision.trigger),
                "joined": [_alert_json(a) for a in decision.joined], "message": decision.message}
        _write_entry(self.env, data)
        _prune(self.env, queued)
        log.info("automatic collection queued: %s", decision.message)
        result = self._run_entry(data, stop)
        result.decision, result.on_demand = decision, done
        return result

    def _engine(self) -> Any:
        from collector.engine import Engine

        return Engine(self.env)

    @staticmethod
    def _lock_free(engine: Any) -> str | None:
        """None when the collection lock can be taken now, else who holds it (a probe: the engine's
        own acquire decides)."""
        lock = engine.lock()
        try:
            lock.acquire({"user": "Help + Support", "command": "probe"})
        except LockBusy as e:
            return str(e)
        lock.release()
        return None

    def _run_entry(self, data: dict[str, Any], stop: threading.Event) -> TickResult:
        row_id = str(data["row_id"])
        dest = automatic_settings.destination(self.env)
        if dest is None:
            _write_entry(self.env, {**data, "state": "dropped",
                                    "message": "Automatic collection was disabled before the collection started."})
            return TickResult(Action.IDLE, "The queued automatic collection was dropped: automatic collection is "
                              "disabled.", row_id=row_id)
        engine = self._engine()
        holder = self._lock_free(engine)
        if holder:
            log.info("automatic collection %s waits for the collection lock: %s", row_id, holder)
            return TickResult(Action.WAITING, holder, row_id=row_id)
        window = Window(datetime.fromisoformat(data["window"]["from_utc"]),
                        datetime.fromisoformat(data["window"]["to_utc"]))
        trigger = data["trigger"]
        origin = Origin(CollectionType.AUTOMATIC, trigger_alert=trigger["title"],
                        fault_id_type=trigger["fault_id_type"], row_id=row_id,
                        joined_alerts=tuple(data.get("joined") or ()))
        typed = AsTyped(from_date=window.from_utc.isoformat(), to_date=window.to_utc.isoformat())
        req = collection_request(COMMAND, engine.stamp.name, window, typed, dest, user="Help + Support")
        try:
            sink = open_sink(dest, self.env)
        except CollectionError as e:
            return self._refused(data, engine, dest, window, origin, e)
        reporting = self._reporter_for(row_id) if self._reporter_for else nullcontext(self.reporter)
        try:
            with reporting as reporter:
                result = engine.run(req, sink, reporter, stop, origin)
        except CollectionStopped:
            return TickResult(Action.STOPPED, "The automatic collection was stopped; it resumes at the next start.",
                              row_id=row_id)
        except CollectionError as e:
            if e.error_id == "CollectionAlreadyRunning":
                return TickResult(Action.WAITING, e.message, row_id=row_id)
            return self._refused(data, engine, dest, window, origin, e)
        finally:
            sink.close()
        _write_entry(self.env, {**data, "state": "done", "message": f"Collected: {result.status.value}."})
        log.info("automatic collection %s: %s", row_id, result.status.value)
        return TickResult(Action.RAN, f"Automatic collection {row_id}: {result.status.value}.", row_id=row_id)

    def _refused(self, data: dict[str, Any], engine: Any, dest: Destination, window: Window, origin: Origin,
                 e: CollectionError) -> TickResult:
        """A refusal before collecting: a failed row says why (the engine adds none)."""
        history = History(self.env.state)
        now = datetime.now(timezone.utc)
        row = history.get(str(data["row_id"]))
        if row is None:
            row = history.add(new_row(origin, started=now, destination=dest.location.split("?")[0],
                                      logs_start=window.from_utc, logs_end=window.to_utc, command=COMMAND,
                                      user="Help + Support", stamp=engine.stamp.name))
        history.put(failed(row, e.message, now))
        _write_entry(self.env, {**data, "state": "failed", "message": e.message})
        log.warning("automatic collection %s refused: %s", data["row_id"], e.message)
        return TickResult(Action.FAILED, e.message, row_id=str(data["row_id"]))

    def _run_on_demand(self, item: OnDemand, stop: threading.Event) -> bool:
        """Run one on-demand plan; False when the lock is busy (it stays queued)."""
        engine = self._engine()
        if self._lock_free(engine):
            return False
        try:
            sink = open_sink(item.plan.destination, self.env)
        except CollectionError as e:
            item.error = e
            return True
        try:
            result = engine.run(item.plan.request, sink, self.reporter, stop, item.plan.origin)
            item.row_id = result.history_id
        except CollectionStopped:
            item.row_id = item.plan.origin.row_id
        except CollectionError as e:
            if e.error_id == "CollectionAlreadyRunning":
                return False
            item.error = e
        finally:
            sink.close()
        return True

    # -- the service's loop ------------------------------------------------------------------
    def run_forever(self, stop_event: threading.Event, scan_seconds: float | None = None) -> None:
        """Tick every `health.scan_seconds` (default 60) until `stop_event` is set; sooner when an
        on-demand request is queued or a persistence period ends first."""
        scan = float(scan_seconds if scan_seconds is not None else self.env.setting("health.scan_seconds", 60))
        History(self.env.state).mark_interrupted()
        while not stop_event.is_set():
            self._wake.clear()
            wait = scan
            try:
                result = self.tick(stop=stop_event)
                d = result.decision
                if d is not None and d.not_before is not None:
                    wait = min(scan, max(0.05, (d.not_before - datetime.now(timezone.utc)).total_seconds() + 0.05))
            except Exception:  # the loop must survive one bad pass; the next tick tries again
                log.exception("automatic collection: the scan failed")
            deadline = time.monotonic() + wait
            while not stop_event.is_set() and not self._wake.is_set() and time.monotonic() < deadline:
                self._wake.wait(min(0.2, max(0.0, deadline - time.monotonic())))

    def start(self) -> None:
        """Run `run_forever` on its own thread (the service's BackgroundService); returns at once."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run_forever, args=(self._stop,), name="automatic-collection",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 60) -> None:
        """End the loop. A collection running then is stopped (its bundle says so) and stays queued:
        it resumes at the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
