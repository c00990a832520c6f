"""The automatic-collection decision (collector.scheduler.decide) as a table: pure, no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from collector.alerts import ACTIVE, CLOSED, Alert
from collector.history import HistoryStatus
from collector.scheduler import LEAD, MAX_WINDOW, PastCollection, Policy, Reason, decide, window_for
from collector.window import Window

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
POLICY = Policy(timedelta(minutes=30), timedelta(minutes=30), 10)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def alert(minutes_ago: float, *, id: str = "a1", title: str = "Scale unit node is offline",
          fid: str = "FRP.Heartbeat.PhysicalNode", trigger: bool = True, state: str = ACTIVE) -> Alert:
    return Alert(id=id, key=f"k:{id}", title=title, fault_id_type=fid, severity="Critical", component="azs-node02",
                 component_type="Scale unit node", description="", trigger=trigger, state=state,
                 raised=ago(minutes_ago).isoformat(), closed=None, fault="1", kind="node-offline", target="azs-node02")


def past(started_ago: float, ended_ago: float | None, window: tuple[float, float] | None = None,
         status: HistoryStatus = HistoryStatus.COMPLETE) -> PastCollection:
    w = Window(ago(window[0]), ago(window[1])) if window else None
    return PastCollection(ago(started_ago), ago(ended_ago) if ended_ago is not None else None, status, w)


CASES = [
    # (name, alerts, past, policy, kwargs, reason)
    ("healthy", [], [], POLICY, {}, Reason.NO_TRIGGER),
    ("not a trigger alert", [alert(60, trigger=False)], [], POLICY, {}, Reason.NO_TRIGGER),
    ("closed alert", [alert(60, state=CLOSED)], [], POLICY, {}, Reason.NO_TRIGGER),
    ("not yet persisted", [alert(29)], [], POLICY, {}, Reason.PERSISTING),
    ("persisted exactly", [alert(30)], [], POLICY, {}, Reason.DUE),
    ("fractional minutes", [alert(0.1)], [], Policy(timedelta(minutes=0.05), timedelta(0), 10), {}, Reason.DUE),
    ("disabled", [alert(60)], [], POLICY, {"enabled": False}, Reason.DISABLED),
    ("support down", [alert(60)], [], POLICY, {"support_down": True}, Reason.SUPPORT_DOWN),
    ("destination unusable", [alert(60)], [], POLICY, {"destination_problem": "SAS expired"}, Reason.NO_DESTINATION),
    ("one running", [alert(60)], [past(5, None, (120, 5), HistoryStatus.IN_PROGRESS)], POLICY, {}, Reason.RUNNING),
    ("suppressed after the last one ended", [alert(10)], [past(40, 20, (100, 40))], POLICY, {}, Reason.SUPPRESSED),
    ("suppression over, alert covered", [alert(60)], [past(50, 31, (120, 50))], POLICY, {}, Reason.NO_TRIGGER),
    ("suppression over, new alert", [alert(45, id="a2")], [past(90, 31, (150, 90))], POLICY, {}, Reason.DUE),
    ("a failed one covers nothing", [alert(100)], [past(90, 31, (160, 90), HistoryStatus.FAILED)], POLICY, {},
     Reason.DUE),
    ("daily cap", [alert(34)], [past(60 * h + 40, 60 * h + 35, (60 * h + 100, 60 * h + 40)) for h in range(10)],
     POLICY, {}, Reason.DAILY_CAP),
    ("cap is a rolling 24 hours", [alert(34)],
     [past(60 * h + 40, 60 * h + 35, (60 * h + 100, 60 * h + 40)) for h in range(9)] + [past(60 * 25, 60 * 25 - 5)],
     POLICY, {}, Reason.DUE),
    ("max_per_day 1", [alert(45)], [past(100, 50, (200, 100))], Policy(timedelta(minutes=30), timedelta(0), 1), {},
     Reason.DAILY_CAP),
]


@pytest.mark.parametrize("name,alerts,past_,policy,kw,reason", CASES, ids=[c[0] for c in CASES])
def test_decision_table(name, alerts, past_, policy, kw, reason):
    d = decide(alerts, past_, NOW, policy, **{"enabled": True, **kw})
    assert d.reason is reason, d.message
    assert d.due == (reason is Reason.DUE)
    if d.due:
        assert d.window is not None and d.trigger is not None
        assert d.window.from_utc <= datetime.fromisoformat(d.trigger.raised) <= d.window.to_utc


def test_the_window_and_the_joined_alerts():
    first = alert(90, id="a1")
    inside = alert(40, id="a2", title="Update failed", fid="Urp.UpdateFailure")
    young = alert(1, id="a3", title="Backup failed", fid="AzureStack.BackupController.BackupFailedGeneralFault")
    d = decide([young, inside, first], [], NOW, POLICY, enabled=True)
    assert d.due and d.trigger == first
    assert d.window == Window(ago(90) - LEAD, NOW)       # from an hour before the first alert to now
    assert d.joined == (inside, young)                    # the others inside the window join: one collection
    # once collected, none of them queues again
    done = PastCollection(NOW, NOW + timedelta(minutes=5), HistoryStatus.COMPLETE, d.window)
    later = NOW + timedelta(hours=2)
    assert decide([young, inside, first], [done], later, POLICY, enabled=True).reason is Reason.NO_TRIGGER


def test_an_old_alert_gets_four_hours_that_contain_its_start():
    raised = NOW - timedelta(hours=10)
    w = window_for(raised, NOW)
    assert w.from_utc == raised - LEAD and w.to_utc - w.from_utc == MAX_WINDOW
    # an alert raised after that window is not covered by it: it queues the next one
    after = alert(60 * 5, id="a2")
    d = decide([after], [PastCollection(ago(40), ago(35), HistoryStatus.COMPLETE, w)], NOW, POLICY, enabled=True)
    assert d.due and d.trigger == after


def test_when_the_blocker_lifts():
    d = decide([alert(10)], [], NOW, POLICY, enabled=True)
    assert d.reason is Reason.PERSISTING and d.not_before == ago(10) + timedelta(minutes=30)
    s = decide([alert(10)], [past(40, 20, (100, 40))], NOW, POLICY, enabled=True)
    assert s.not_before == ago(20) + timedelta(minutes=30)
