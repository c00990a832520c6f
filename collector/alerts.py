"""Alerts: what the stamp raises for each active fault, Active -> Closed when the fault clears.

`reconcile` is the pure rule (faults in, alerts out); `refresh` applies it to the alerts kept in the
state directory (`<state>/health/alerts.json`), so an alert's raise time survives a restart, and
`list_alerts` is what the Help + Support service's `GET /api/alerts?state=active|closed` returns.

One alert per condition (a fault kind on a target): adding the same fault again while it is active
changes nothing. An alert is raised at the time its fault was added and closed at the first look at
the model after the fault is gone (`pep fault clear` looks at once, so that is the clear time).
Closed alerts are kept 90 days.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from collector.faultstore import Fault, FaultStore, parse_utc, utc_text
from common.state import atomic_write_json

ACTIVE = "Active"
CLOSED = "Closed"
KEEP_CLOSED = timedelta(days=90)


@dataclass(frozen=True)
class Alert:
    id: str
    key: str  # the condition: "<kind>:<target>"
    title: str
    fault_id_type: str
    severity: str  # "Warning" | "Critical"
    component: str  # the component's name (the target) or, on a stamp-wide fault, its kind
    component_type: str
    description: str
    trigger: bool  # a trigger alert of reference §4.2 (starts an automatic collection)
    state: str  # Active | Closed
    raised: str  # ISO 8601 UTC
    closed: str | None
    fault: str  # the fault id that raised it
    kind: str
    target: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def alert_for(fault: Fault, new_id: Callable[[], str]) -> Alert:
    spec = fault.spec
    return Alert(
        id=new_id(), key=fault.key, title=spec.title, fault_id_type=spec.fault_id_type, severity=spec.severity,
        component=fault.target or spec.component, component_type=spec.component,
        description=spec.describe(fault.target), trigger=spec.trigger, state=ACTIVE, raised=fault.added,
        closed=None, fault=fault.id, kind=fault.kind, target=fault.target,
    )


def reconcile(alerts: list[Alert], faults: list[Fault], now: datetime,
              new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> list[Alert]:
    """Alerts after looking at `faults`: one Active alert per active condition (kept, or raised at the
    fault's time), every Active alert whose condition is gone Closed at `now`, closed ones older than
    90 days dropped. Order: as raised."""
    by_key = {f.key: f for f in faults}
    out: list[Alert] = []
    active_keys = set()
    for a in alerts:
        if a.state == ACTIVE:
            if a.key in by_key and a.key not in active_keys:
                active_keys.add(a.key)
                out.append(a)
            else:
                out.append(replace(a, state=CLOSED, closed=utc_text(now)))
        elif a.closed is None or now - parse_utc(a.closed) < KEEP_CLOSED:
            out.append(a)
    for key, fault in by_key.items():
        if key not in active_keys:
            out.append(alert_for(fault, new_id))
    out.sort(key=lambda a: (a.raised, a.id))
    return out


def _load(path: Any) -> list[Alert]:
    try:
        rows = json.loads(path.read_text()).get("alerts", [])
    except (OSError, ValueError, AttributeError):
        return []
    out = []
    for row in rows:
        try:
            out.append(Alert(**row))
        except TypeError:
            continue
    return out


def refresh(store: FaultStore, faults: list[Fault], now: datetime) -> list[Alert]:
    """Reconcile the kept alerts with `faults` and keep the result (written only when it changed)."""
    path = store.dir / "alerts.json"
    with store.locked():
        before = _load(path)
        after = reconcile(before, faults, now)
        if after != before:
            atomic_write_json(path, {"alerts": [a.to_json() for a in after]})
    return after


def select(alerts: list[Alert], state: str | None = None) -> list[Alert]:
    """`state`: "active", "closed" or None (all), case-insensitive. Newest raised first."""
    want = state.lower() if state else None
    if want not in (None, "active", "closed"):
        raise ValueError(f"state must be 'active' or 'closed', not '{state}'")
    picked = [a for a in alerts if want is None or a.state.lower() == want]
    return sorted(picked, key=lambda a: (a.raised, a.id), reverse=True)
