"""The collection history (collector/history.py): rows from real collections of every origin, the
PEP's through a real `pep -c` subprocess, paging over 10,000 rows, retention, and the kill -9 rule
(a row left "in progress" is marked failed/interrupted by the next start; resuming continues it).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from enginehelp import END, small_stamp, window

from collector.bundle_report import REPORT_NAME
from collector.destination import Destination, open_sink
from collector.engine import Engine
from collector.errors import CollectionError
from collector.history import CollectionType, History, HistoryStatus, Origin, new_id, new_row, status_of, time_of_id
from collector.plan import CollectionRequest
from collector.report import NullReporter
from collector.status import RunStatus
from common.state import StateDir
from session.environment import Environment

ROOT = Path(__file__).resolve().parent.parent
FROM, TO = "2026-11-25T08:00:00Z", "2026-11-25T12:00:00Z"  # inside the small stamp's day


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    return small_stamp(tmp_path_factory.mktemp("stamp") / "s")


def pep(*args: str, state: Path, stamp: Path, config: dict | None = None, timeout: float = 180):
    argv = [sys.executable, "-m", "pep", "--stamp", str(stamp), "--state-dir", str(state)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PEP_CONFIG", None)
    if config is not None:
        cfg = state.parent / f"config-{uuid.uuid4().hex[:6]}.json"
        cfg.write_text(json.dumps(config))
        argv += ["--config", str(cfg)]
    return subprocess.run(argv + list(args), capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)


def bundles(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith("AzureStackLogs-")) if folder.exists() else []


def sig_of(sas: str) -> str:
    return parse_qs(urlsplit(sas).query)["sig"][0]


def all_text(state: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in (state / "history").rglob("*") if p.is_file())


# -- the PEP's collections appear with type PEP ----------------------------------------------------

def test_a_pep_collection_appears_in_history_with_type_pep_and_a_working_report(stamp, tmp_path):
    state, out = tmp_path / "state", tmp_path / "out"
    r = pep("-c", f"Get-AzureStackLog -FilterByRole ECE,CA -FromDate {FROM} -ToDate {TO} -OutputPath {out}",
            state=state, stamp=stamp)
    assert r.returncode == 0, r.stdout + r.stderr
    (bundle,) = bundles(out)
    page = History(StateDir(state)).list_rows()
    assert page.total == 1
    (row,) = page.rows
    assert row.type is CollectionType.PEP and row.status is HistoryStatus.COMPLETE
    assert row.command == "Get-AzureStackLog" and row.bundle == bundle.name
    assert (row.logs_start, row.logs_end) == ("2026-11-25T08:00:00+00:00", "2026-11-25T12:00:00+00:00")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert row.files == manifest["summary"]["files"] > 0
    assert row.zips == manifest["summary"]["zips"] == 2
    assert row.size_mb == round(manifest["summary"]["zip_bytes"] / 1048576, 3)
    assert row.destination == str(out) and row.errors == ()
    assert row.duration_seconds is not None and 0 <= row.duration_seconds < 120
    uuid.UUID(row.correlation_id)
    assert row.run_status == "complete" and row.owner["pid"] != os.getpid()
    # the report: in the bundle next to manifest.json, its copy linked from the row, both the same page
    report = bundle / REPORT_NAME
    assert report.is_file() and row.report_at_destination == f"{bundle}/{REPORT_NAME}"
    assert Path(row.report).read_text() == report.read_text()
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") and "ECE" in html and "CA" in html and "complete" in html
    assert History(StateDir(state)).get(row.id) == row


def test_send_diagnostic_log_appears_as_pep_with_no_signature_anywhere(stamp, tmp_path, azurite):
    sas = azurite.make_container_sas(permissions="rwl")
    state = tmp_path / "state"
    r = pep("-c", f"Send-AzureStackDiagnosticLog -FilterByRole CA -FromDate {FROM} -ToDate {TO}", state=state,
            stamp=stamp, config={"support": {"sas_url": sas}})
    assert r.returncode == 0, r.stdout + r.stderr
    (row,) = History(StateDir(state)).list_rows().rows
    assert row.type is CollectionType.PEP and row.status is HistoryStatus.COMPLETE
    assert row.command == "Send-AzureStackDiagnosticLog"
    assert row.destination == sas.split("?")[0]
    assert row.report_at_destination and row.report_at_destination.endswith(f"{row.bundle}/{REPORT_NAME}")
    assert sig_of(sas) not in all_text(state)
    # the report reached the container next to manifest.json
    container = azurite.container(urlsplit(sas).path.rsplit("/", 1)[1])
    names = {b.name for b in container.list_blobs()}
    assert {f"{row.bundle}/{REPORT_NAME}", f"{row.bundle}/manifest.json"} <= names
    blob = container.download_blob(f"{row.bundle}/{REPORT_NAME}").readall().decode()
    assert sig_of(sas) not in blob and "CA" in blob


def test_a_partial_collection_says_what_failed(stamp, tmp_path):
    state, out = tmp_path / "state", tmp_path / "out"
    r = pep("-c", f"Get-AzureStackLog -FilterByRole ECE -FromDate {FROM} -ToDate {TO} -OutputPath {out}",
            state=state, stamp=stamp, config={"faults": {"unreachable_hosts": ["azs-ercs01"]}})
    assert r.returncode == 0, r.stdout + r.stderr
    (row,) = History(StateDir(state)).list_rows().rows
    assert row.status is HistoryStatus.PARTIAL and row.run_status == "partial"
    assert any(e.startswith("ECE on azs-ercs01: failed:") for e in row.errors), row.errors
    html = Path(row.report).read_text()
    assert "azs-ercs01" in html and "failed" in html


def test_a_refused_collection_adds_no_row_but_fails_a_callers_row(stamp, tmp_path):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state",
                      config={"faults": {"destination_full_after_mb": 0}})
    history = History(env.state)
    req = CollectionRequest(window(4, 0), roles=["ECE"], resume_key="refused")
    sink = open_sink(Destination.folder(tmp_path / "out"), env)
    with pytest.raises(CollectionError):
        Engine(env).run(req, sink, NullReporter(), threading.Event())
    assert history.list_rows().total == 0
    # a service adds its row first, then runs: the refusal fails that row
    row = history.add(new_row(Origin(CollectionType.MANUAL), started=datetime.now(timezone.utc),
                              destination="https://acct.blob.core.windows.net/c", logs_start=None, logs_end=None))
    with pytest.raises(CollectionError) as e:
        Engine(env).run(req, sink, NullReporter(), threading.Event(),
                        Origin(CollectionType.MANUAL, row_id=row.id))
    got = history.get(row.id)
    assert got is not None and got.status is HistoryStatus.FAILED and got.errors == (e.value.message,)


def test_an_automatic_origin_keeps_its_trigger_alert(stamp, tmp_path):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state")
    joined = {"id": 7, "title": "Update failed", "fault_id_type": "Urp.UpdateFailure",
              "raised": "2026-11-25T11:30:00+00:00", "component": "Updates", "description": "not kept"}
    origin = Origin(CollectionType.AUTOMATIC, trigger_alert="Scale unit node is offline",
                    fault_id_type="FRP.Heartbeat.PhysicalNode", joined_alerts=(joined,))
    req = CollectionRequest(window(2, 0), roles=["CA"], resume_key="auto", command="Automatic collection")
    result = Engine(env).run(req, open_sink(Destination.folder(tmp_path / "out"), env), NullReporter(),
                             threading.Event(), origin)
    row = History(env.state).get(result.history_id or "")
    assert row is not None and row.type is CollectionType.AUTOMATIC and row.status is HistoryStatus.COMPLETE
    assert (row.trigger_alert, row.fault_id_type) == ("Scale unit node is offline", "FRP.Heartbeat.PhysicalNode")
    # the alerts that joined it are on the row, in the stored JSON and back
    assert [dict(a) for a in row.joined_alerts] == [{k: v for k, v in joined.items() if k != "description"}]
    assert row.to_json()["joined_alerts"][0]["fault_id_type"] == "Urp.UpdateFailure"


# -- kill -9 --------------------------------------------------------------------------------------

SLOW = {"faults": {"slow_hosts": {"azs-xrp01": 0.15, "azs-xrp02": 0.15, "azs-xrp03": 0.15}},
        "collection": {"concurrency": 2}}


def test_a_killed_pep_collection_is_marked_interrupted_then_resumed_in_the_same_row(stamp, tmp_path):
    state, out = tmp_path / "state", tmp_path / "out"
    command = f"Get-AzureStackLog -FromDate 2026-11-24T16:00:00Z -ToDate {TO} -OutputPath {out}"
    cfg = tmp_path / "slow.json"
    cfg.write_text(json.dumps(SLOW))
    child = subprocess.Popen([sys.executable, "-m", "pep", "--stamp", str(stamp), "--state-dir", str(state),
                              "--config", str(cfg), "-c", command],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None and not any(out.rglob("*.zip")):
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    history = History(StateDir(state))
    (row,) = history.list_rows().rows
    assert row.status is HistoryStatus.IN_PROGRESS and row.owner["pid"] == child.pid

    # The next start (another collection) marks it failed, interrupted; its own row is new.
    r = pep("-c", f"Get-AzureStackLog -FilterByRole ECE -FromDate {FROM} -ToDate {TO} -OutputPath {tmp_path / 'o2'}",
            state=state, stamp=stamp)
    assert r.returncode == 0, r.stdout + r.stderr
    killed = history.get(row.id)
    assert killed is not None and killed.status is HistoryStatus.FAILED and killed.interrupted
    assert "Interrupted" in killed.errors[-1]
    assert history.list_rows().total == 2

    # The same command again resumes the bundle and completes the same row.
    r = pep("-c", command, state=state, stamp=stamp, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    done = history.get(row.id)
    assert done is not None and done.status is HistoryStatus.COMPLETE and done.resumed and not done.interrupted
    assert done.time_collected == row.time_collected and done.bundle == row.bundle
    assert history.list_rows().total == 2


# -- the store itself ------------------------------------------------------------------------------

def _row(t: datetime, **kw):
    row = new_row(Origin(CollectionType.MANUAL), started=t, destination="https://a.blob.core.windows.net/c?sv=1&sig=SECRETSIG",
                  logs_start=t - timedelta(hours=2), logs_end=t - timedelta(hours=1))
    return replace(row, **kw) if kw else row


def test_rows_are_added_updated_and_read_back_without_secrets(tmp_path):
    history = History(StateDir(tmp_path))
    row = history.add(_row(END))
    assert "SECRETSIG" not in row.destination and "sig=REDACTED" in row.destination
    assert time_of_id(row.id) == END and history.get(row.id) == row
    new = history.update(row.id, status=HistoryStatus.FAILED, errors=["upload to ...?sig=SECRETSIG failed"])
    assert new.status is HistoryStatus.FAILED and history.get(row.id) == new
    assert "SECRETSIG" not in all_text(tmp_path)
    with pytest.raises(KeyError):
        history.update(new_id(END), status=HistoryStatus.COMPLETE)
    for bad in ("../../etc/passwd", "", "x" * 40):
        assert history.get(bad) is None


def test_rows_older_than_90_days_are_pruned_on_write(tmp_path):
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    history = History(StateDir(tmp_path), clock=lambda: now)
    old = history.put(_row(now - timedelta(days=91)))
    history.save_report(old.id, "<html></html>")
    kept = history.put(_row(now - timedelta(days=89)))
    history.add(_row(now))
    assert history.get(old.id) is None and not (tmp_path / "history" / "reports" / f"{old.id}.html").exists()
    assert history.get(kept.id) is not None and history.list_rows().total == 2


def test_ten_thousand_rows_page_newest_first(tmp_path):
    history = History(StateDir(tmp_path))
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    ids = []
    for i in range(10_000):  # written plainly (no fsync per row): the paging is under test here
        row = _row(t0 + timedelta(seconds=37 * i))
        (history.rows_dir / f"{row.id}.json").write_text(json.dumps(row.to_json()))
        ids.append(row.id)
    ids.reverse()
    first = history.list_rows(0, 50)
    assert first.total == 10_000 and [r.id for r in first.rows] == ids[:50]
    last = history.list_rows(9_990, 50)
    assert [r.id for r in last.rows] == ids[9_990:]
    seen = [r.id for off in range(0, 10_000, 1000) for r in history.list_rows(off, 1000).rows]
    assert seen == ids
    t = time.perf_counter()
    history.list_rows(5_000, 50)
    assert time.perf_counter() - t < 1.0  # generous here; bench/history.py measures it


def test_a_dead_owners_row_is_marked_interrupted_a_live_one_is_not(tmp_path):
    history = History(StateDir(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = history.add(replace(_row(END), owner={"host": os.uname().nodename, "pid": dead.pid}))
    mine = history.add(_row(END + timedelta(seconds=1)))
    elsewhere = history.add(replace(_row(END + timedelta(seconds=2)), owner={"host": "another-host", "pid": dead.pid}))
    marked = history.mark_interrupted()
    assert [r.id for r in marked] == [gone.id]
    assert history.get(mine.id).status is HistoryStatus.IN_PROGRESS  # type: ignore[union-attr]
    assert history.get(elsewhere.id).status is HistoryStatus.IN_PROGRESS  # type: ignore[union-attr]
    assert history.mark_interrupted() == []


def test_interrupted_rows_are_found_in_a_state_directory_from_before_the_running_markers(tmp_path):
    history = History(StateDir(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = history.add(replace(_row(END), owner={"host": os.uname().nodename, "pid": dead.pid}))
    done = history.add(replace(_row(END + timedelta(seconds=1)), status=HistoryStatus.COMPLETE))
    for marker in history.running_dir.iterdir():  # as an older version left the directory
        marker.unlink()
    assert [r.id for r in History(StateDir(tmp_path)).mark_interrupted()] == [gone.id]
    assert history.get(done.id).status is HistoryStatus.COMPLETE  # type: ignore[union-attr]


def test_a_marker_left_by_a_crash_after_its_row_was_finished_changes_nothing(tmp_path):
    history = History(StateDir(tmp_path))
    done = history.add(replace(_row(END), status=HistoryStatus.COMPLETE, owner={"host": os.uname().nodename, "pid": 1 << 22}))
    history.mark_interrupted()
    (history.running_dir / done.id).touch()
    assert history.mark_interrupted() == []
    assert history.get(done.id).status is HistoryStatus.COMPLETE  # type: ignore[union-attr]
    assert not (history.running_dir / done.id).exists()


def test_run_statuses_map_to_history_statuses():
    assert status_of(RunStatus.COMPLETE, 3) is HistoryStatus.COMPLETE
    assert status_of(RunStatus.PARTIAL, 3) is HistoryStatus.PARTIAL
    assert status_of(RunStatus.TIMED_OUT, 3) is HistoryStatus.PARTIAL
    assert status_of(RunStatus.STOPPED, 3) is HistoryStatus.PARTIAL
    assert status_of(RunStatus.STOPPED, 0) is HistoryStatus.FAILED
    assert status_of(RunStatus.FAILED, 0) is HistoryStatus.FAILED
    assert status_of(RunStatus.INCOMPLETE, 5) is HistoryStatus.FAILED
    assert status_of(RunStatus.RUNNING, 0) is HistoryStatus.IN_PROGRESS
