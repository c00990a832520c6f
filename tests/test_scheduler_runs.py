"""Automatic collection end to end (collector.scheduler.AutomaticCollector) against the real Azurite:
a node goes offline, its alert persists, one tick queues and runs a collection whose window covers
the alert's start, the bundle lands in the container and history has an automatic row naming the
alert; then suppression, the daily cap, a collection lock held by someone else, an on-demand request
that starts after the automatic one, the support switch, the service's loop, a share destination and
a refused logon, and a stop or a kill -9 mid-upload that the next tick resumes into the same row."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from enginehelp import small_stamp

from collector import support_switch
from collector.automatic_settings import save
from collector.collect_now import CollectNowRequest, collection_plan, validate
from collector.engine import Engine
from collector.faultstore import FaultStore, resolve
from collector.healthmodel import model_stamp
from collector.history import CollectionType, History, HistoryStatus
from collector.scheduler import Action, AutomaticCollector, Reason, entry
from session.environment import Environment

PERSIST_S = 1.5


@pytest.fixture(scope="module")
def stamp(tmp_path_factory) -> Path:
    return small_stamp(tmp_path_factory.mktemp("stamp") / "stamp", end=datetime.now(timezone.utc), days=0.2)


def setup(tmp_path: Path, stamp: Path, azurite, **policy: float) -> tuple[Environment, str]:
    config = {"automatic_collection": {"sas_min_valid_days": 0, "persistence_minutes": PERSIST_S / 60,
                                       "suppression_minutes": 10, **policy}}
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state", config=config)
    sas = azurite.make_container_sas(permissions="rwl", expiry=timedelta(hours=2))
    save({"enabled": True, "sasUrl": sas}, env)
    return env, sas


def fault(env: Environment, kind: str, target: str | None = None, age_s: float = 0) -> None:
    k, t = resolve(kind, target, model_stamp(env))
    FaultStore.of(env).add(k, t, datetime.now(timezone.utc) - timedelta(seconds=age_s))


def rows(env: Environment) -> list:
    return History(env.state).list_rows(0, 100).rows


def blobs(azurite, sas: str) -> set[str]:
    return {b.name for b in azurite.container(urlsplit(sas).path.rsplit("/", 1)[1]).list_blobs()}


def test_a_persisting_trigger_alert_collects_once_to_the_container(tmp_path, stamp, azurite):
    env, sas = setup(tmp_path, stamp, azurite)
    auto = AutomaticCollector(env)
    assert auto.tick().decision.reason is Reason.NO_TRIGGER
    fault(env, "node-offline", "azs-node02")
    first = auto.tick()
    assert first.action is Action.IDLE and first.decision.reason is Reason.PERSISTING and not rows(env)
    time.sleep(max(0.0, (first.decision.not_before - datetime.now(timezone.utc)).total_seconds()) + 0.05)

    ran = auto.tick()
    assert ran.action is Action.RAN, ran.message
    (row,) = rows(env)
    assert row.id == ran.row_id and row.type is CollectionType.AUTOMATIC
    assert row.trigger_alert == "Scale unit node is offline" and row.fault_id_type == "FRP.Heartbeat.PhysicalNode"
    assert row.status in (HistoryStatus.COMPLETE, HistoryStatus.PARTIAL) and row.files > 0
    raised = datetime.fromisoformat(ran.decision.trigger.raised)
    assert datetime.fromisoformat(row.logs_start) <= raised - timedelta(minutes=59) and \
        datetime.fromisoformat(row.logs_end) >= raised            # the window covers the alert's start
    assert row.destination == sas.split("?")[0]
    names = blobs(azurite, sas)
    assert f"{row.bundle}/manifest.json" in names and any(n.endswith(".zip") for n in names)
    queued = entry(env, row.id)
    assert queued["state"] == "done" and queued["trigger"]["fault_id_type"] == "FRP.Heartbeat.PhysicalNode"
    sig = parse_qs(urlsplit(sas).query)["sig"][0]
    assert all(sig not in p.read_text(errors="replace") for p in (tmp_path / "state" / "history").rglob("*")
               if p.is_file())

    # right after: scanning is suppressed; a new trigger alert waits too
    fault(env, "update-failed", age_s=60)
    again = auto.tick()
    assert again.action is Action.IDLE and again.decision.reason is Reason.SUPPRESSED and len(rows(env)) == 1


def test_the_daily_cap_and_alerts_that_join_one_collection(tmp_path, stamp, azurite):
    env, sas = setup(tmp_path, stamp, azurite, max_per_day=1, suppression_minutes=0)
    fault(env, "node-offline", "azs-node02", age_s=120)
    fault(env, "update-failed", age_s=30)       # inside the window: joins the first alert's collection
    auto = AutomaticCollector(env)
    ran = auto.tick()
    assert ran.action is Action.RAN, ran.message
    assert [a["fault_id_type"] for a in entry(env, ran.row_id)["joined"]] == ["Urp.UpdateFailure"]
    (row,) = rows(env)
    assert [(a["title"], a["fault_id_type"]) for a in row.joined_alerts] == [("Update failed", "Urp.UpdateFailure")]
    fault(env, "slb-route-publication-failure", age_s=0)
    time.sleep(0.1)
    env.config["automatic_collection"]["persistence_minutes"] = 0
    capped = auto.tick()
    assert capped.action is Action.IDLE and capped.decision.reason is Reason.DAILY_CAP, capped.message
    assert len(rows(env)) == 1


def test_a_held_lock_makes_it_wait_and_an_on_demand_request_starts_after_it(tmp_path, stamp, azurite):
    env, sas = setup(tmp_path, stamp, azurite)
    fault(env, "node-offline", "azs-node02", age_s=10)
    auto = AutomaticCollector(env)
    lock = Engine(env).lock()
    lock.acquire({"user": "CloudAdmin", "command": "Get-AzureStackLog", "window": "test"})  # a PEP collection
    try:
        waiting = auto.tick()
        assert waiting.action is Action.WAITING and "already running" in waiting.message and not rows(env)
        now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        req = CollectNowRequest((now - timedelta(hours=2)).isoformat(), now.isoformat(), "UTC", sas)
        item = auto.enqueue_on_demand(collection_plan(validate(req), env.stamp.name, user="CloudAdmin"))
        assert auto.tick().action is Action.WAITING and not item.done.is_set() and not rows(env)
    finally:
        lock.release()
    after = auto.tick()
    assert after.action is Action.RAN and after.on_demand == 1 and item.done.is_set() and item.error is None
    automatic, manual = sorted(rows(env), key=lambda r: r.time_collected)
    assert automatic.type is CollectionType.AUTOMATIC and manual.type is CollectionType.MANUAL
    assert automatic.ended <= manual.time_collected    # the on-demand one started after the automatic one ended
    assert manual.id == item.row_id


def test_nothing_runs_while_support_is_down_and_the_loop_sees_it_come_up(tmp_path, stamp, azurite):
    env, sas = setup(tmp_path, stamp, azurite)
    fault(env, "node-offline", "azs-node02", age_s=10)
    support_switch.set_down(env, "test")
    auto = AutomaticCollector(env)
    down = auto.tick()
    assert down.action is Action.IDLE and down.decision.reason is Reason.SUPPORT_DOWN and not rows(env)
    stop = threading.Event()
    loop = threading.Thread(target=auto.run_forever, args=(stop, 0.2))
    loop.start()
    try:
        time.sleep(0.6)
        assert not rows(env)
        support_switch.set_up(env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not [r for r in rows(env) if r.status is not HistoryStatus.IN_PROGRESS]:
            time.sleep(0.1)
    finally:
        stop.set()
        loop.join(30)
    (row,) = rows(env)
    assert row.type is CollectionType.AUTOMATIC and row.status in (HistoryStatus.COMPLETE, HistoryStatus.PARTIAL)


def test_an_expired_sas_stops_automatic_collection(tmp_path, stamp, azurite):
    env, sas = setup(tmp_path, stamp, azurite)
    fault(env, "node-offline", "azs-node02", age_s=10)
    expired = azurite.make_container_sas(permissions="rwl", expiry=timedelta(minutes=-5))
    save({"enabled": False, "sasUrl": expired}, env)          # stored disabled (an expired SAS may be kept)
    assert AutomaticCollector(env).tick().decision.reason is Reason.DISABLED
    # a SAS that expired after it was saved enabled (re-enabling through save() would refuse it)
    (tmp_path / "state" / "help-support" / "automatic-collection.json").write_text(
        (tmp_path / "state" / "help-support" / "automatic-collection.json").read_text().replace(
            '"enabled": false', '"enabled": true'))
    d = AutomaticCollector(env).tick().decision
    assert d.reason is Reason.NO_DESTINATION and "expired" in d.message and not rows(env)


def test_a_stopped_automatic_collection_stays_queued_and_resumes_into_the_same_row(tmp_path, stamp, azurite):
    env, sas = setup(tmp_path, stamp, azurite)
    env.config["upload"] = {"bandwidth_mbps": 1}          # slow enough to stop it mid-upload
    fault(env, "node-offline", "azs-node02", age_s=10)
    auto = AutomaticCollector(env)
    stop = threading.Event()
    threading.Timer(0.8, stop.set).start()
    stopped = auto.tick(stop=stop)
    assert stopped.action is Action.STOPPED, stopped.message
    assert entry(env, stopped.row_id)["state"] == "queued"
    env.config["upload"] = {}
    resumed = auto.tick()
    assert resumed.action is Action.RAN and resumed.row_id == stopped.row_id
    (row,) = rows(env)
    assert row.resumed and row.status in (HistoryStatus.COMPLETE, HistoryStatus.PARTIAL)
    assert row.run_status != "stopped" and entry(env, row.id)["state"] == "done"


def test_to_a_share_and_a_refused_logon_is_a_failed_row(tmp_path, stamp, samba):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state", config={"automatic_collection": {
        "persistence_minutes": 0, "suppression_minutes": 0}})
    folder = f"auto-{tmp_path.name}"
    save({"enabled": True, "share": {"path": samba.unc(folder), "userName": samba.user, "password": samba.password}},
         env)
    fault(env, "node-offline", "azs-node02", age_s=5)
    auto = AutomaticCollector(env)
    ran = auto.tick()
    assert ran.action is Action.RAN, ran.message
    (row,) = rows(env)
    assert row.type is CollectionType.AUTOMATIC and row.destination == samba.unc(folder)
    assert (samba.path / folder / row.bundle / "manifest.json").is_file()

    # the share's password changed after it was saved: the pre-flight refuses, history says why
    (tmp_path / "state" / "help-support" / "automatic-collection.secret").write_text("not-the-password")
    fault(env, "update-failed", age_s=0)
    refused = auto.tick()
    assert refused.action is Action.FAILED and entry(env, refused.row_id)["state"] == "failed"
    bad = History(env.state).get(refused.row_id)
    assert bad is not None and bad.status is HistoryStatus.FAILED and bad.type is CollectionType.AUTOMATIC
    assert bad.trigger_alert == "Update failed" and bad.errors and "not-the-password" not in str(bad.to_json())


def test_kill_9_during_an_automatic_upload_then_the_next_tick_resumes_the_same_row(tmp_path, stamp, azurite):
    env, sas = setup(tmp_path, stamp, azurite)
    fault(env, "node-offline", "azs-node02", age_s=10)
    root = Path(__file__).resolve().parents[1]
    config = {**env.config, "upload": {"bandwidth_mbps": 1}}
    script = ("import json, sys; from pathlib import Path; from session.environment import Environment; "
              "from collector.scheduler import AutomaticCollector; "
              f"env = Environment(stamp_dir=Path({str(stamp)!r}), state_dir=Path({str(tmp_path / 'state')!r}), "
              f"config=json.loads({json.dumps(config)!r})); AutomaticCollector(env).tick()")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        # kill once the journal has a delivered zip: a blob is listed a moment before its journal
        # record is written, and a kill in between would rightly resume with 0 zips delivered
        journals = tmp_path / "state" / "collector" / "journals"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
                '{"delivered"' in p.read_text(errors="replace") for p in journals.glob("*.jsonl")):
            time.sleep(0.05)
        assert proc.poll() is None, "the collection ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    (killed,) = rows(env)
    assert killed.status is HistoryStatus.IN_PROGRESS and entry(env, killed.id)["state"] == "queued"

    resumed = AutomaticCollector(env).tick()
    assert resumed.action is Action.RAN and resumed.row_id == killed.id, resumed.message
    (row,) = rows(env)
    assert row.resumed and row.status in (HistoryStatus.COMPLETE, HistoryStatus.PARTIAL)
    assert row.trigger_alert == "Scale unit node is offline" and entry(env, row.id)["state"] == "done"
    log = azurite.container(urlsplit(sas).path.rsplit("/", 1)[1]).download_blob(
        f"{row.bundle}/Get-AzureStackLog_Output.log").readall().decode()
    assert "Resuming the collection started" in log and "0 zip file(s) already delivered" not in log
