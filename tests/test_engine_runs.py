"""Packaging, manifest, lock, Ctrl+C, resume after kill -9, fault injection, no secrets."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from enginehelp import END, bundle_dir, collected_paths, expected_paths, manifest, run, small_stamp, window

from cmdlets.engine_bridge import error_record_of
from collector.errors import CollectionError, CollectionStopped
from collector.lock import CollectionLock, LockBusy
from powershell.pipeline import CommandContext, ListSink

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    return small_stamp(tmp_path_factory.mktemp("stamp") / "s", mb_per_hour=1.0)


def test_manifest_and_split_zips(stamp, tmp_path):
    w = window(8, 0)
    result, sink = run(stamp, tmp_path / "st", tmp_path / "o", w, {"collection": {"zip_split_mb": 0.05}},
                       roles=["VirtualMachines", "CA"])
    b = bundle_dir(tmp_path / "o")
    assert b.name.startswith("AzureStackLogs-") and b.name.endswith("-AZS-ERCS01")
    zips = sorted(z.name for z in b.glob("*.zip"))
    assert "VirtualMachines_1.zip" in zips and "VirtualMachines_2.zip" in zips and "CA_1.zip" in zips
    m = manifest(b)
    assert m["status"] == "complete" and m["window"] == w.as_dict()
    for role in ("VirtualMachines", "CA"):
        for z in m["roles"][role]["zips"]:
            assert hashlib.sha256((b / z["name"]).read_bytes()).hexdigest() == z["sha256"]
            assert z["delivered"]
        for h in m["roles"][role]["hosts"].values():
            assert h["status"] == "ok" and h["start"] and h["end"]
            assert h["files"] == len(h["collected"])
    assert m["summary"]["files"] == len(expected_paths(stamp, w, roles={"VirtualMachines", "CA"}))
    log = (b / "Get-AzureStackLog_Output.log").read_text()
    assert "Converting FromDate and ToDate to UTC" in log and "collected 30 of 30" in log
    assert any("collected 30 of 30" in str(i) for i in sink.informations)
    assert any(p.ActivityId == 1 for p in sink.progresses) and any(p.ParentActivityId == 1 for p in sink.progresses)
    # Each role's bar that was shown is completed once, when its own zips are built, and nothing for
    # it follows; a role the throttle never showed gets no record at all.
    shown = 0
    for role in ("VirtualMachines", "CA"):
        mine = [p for p in sink.progresses if p.Activity == f"Collecting {role}"]
        done = [i for i, p in enumerate(mine) if p.RecordType.name == "Completed"]
        assert done == ([len(mine) - 1] if mine else []), role
        shown += bool(mine)
    assert shown >= 1  # the first update always shows
    assert sink.progresses[-1].ActivityId == 1 and sink.progresses[-1].RecordType.name == "Completed"
    assert not list(b.glob(".*partial"))


def test_one_collection_at_a_time_and_stale_locks(tmp_path):
    lock = CollectionLock(tmp_path / "azs.lock")
    lock.acquire({"user": "AZURESTACK\\CloudAdmin", "started": "2026-11-25T08:00:00", "window": "W"})
    with pytest.raises(LockBusy, match="CloudAdmin.*2026-11-25T08:00:00|2026-11-25T08:00:00.*CloudAdmin"):
        CollectionLock(tmp_path / "azs.lock").acquire({"user": "other"})
    lock.release()
    # a lock left behind by a process that died is taken over
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "azs.lock").write_text(json.dumps({"pid": dead.pid, "user": "ghost"}))
    again = CollectionLock(tmp_path / "azs.lock")
    again.acquire({"user": "me"})
    again.release()


def test_second_request_while_running_names_the_running_one(stamp, tmp_path):
    env_state = tmp_path / "st"
    holder = CollectionLock(env_state / "collector" / "locks" / "azs.lock")
    holder.acquire({"user": "AZURESTACK\\Alice", "started": "2026-11-25T09:00:00", "window": "FromDate X ToDate Y (UTC)"})
    try:
        with pytest.raises(CollectionError) as e:
            run(stamp, env_state, tmp_path / "o", window(1, 0))
        assert "Alice" in str(e.value) and "FromDate X" in str(e.value)
        assert error_record_of(e.value, "Get-AzureStackLog").FullyQualifiedErrorId == \
            "CollectionAlreadyRunning,Get-AzureStackLog"
    finally:
        holder.release()


def test_ctrl_c_leaves_partial_manifest_and_frees_the_lock(stamp, tmp_path):
    sink = ListSink()
    ctx = CommandContext("Get-AzureStackLog", sink)
    cfg = {"faults": {"slow_hosts": {"azs-xrp01": 0.05}}, "collection": {"concurrency": 2}}
    threading.Timer(0.8, ctx.stop_event.set).start()
    with pytest.raises(CollectionStopped):
        run(stamp, tmp_path / "st", tmp_path / "o", window(20, 0), cfg, ctx=ctx)
    m = manifest(bundle_dir(tmp_path / "o"))
    assert m["status"] == "stopped"
    assert any(h["status"] == "stopped" for r in m["roles"].values() for h in r["hosts"].values())
    assert len(sink.warnings) <= 3, sink.warnings  # a stop says little: the manifest has the detail
    assert any(str(i).startswith("Log collection stopped: collected") for i in sink.informations)
    assert not (tmp_path / "st" / "collector" / "locks" / "azs.lock").exists()


def test_resume_after_kill_9(stamp, tmp_path):
    state, out = tmp_path / "st", tmp_path / "o"
    cfg = {"faults": {"slow_hosts": {"azs-xrp01": 0.15, "azs-xrp02": 0.15, "azs-xrp03": 0.15}},
           "collection": {"concurrency": 2}}
    script = f"""
import sys; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'tests')!r}]
from pathlib import Path
from enginehelp import run, window
run(Path({str(stamp)!r}), Path({str(state)!r}), Path({str(out)!r}), window(20, 0), {cfg!r})
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if out.exists() and any(out.rglob("*.zip")):
                break
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    b = bundle_dir(out)
    first = {z.name: (z.stat().st_ino, z.stat().st_mtime_ns) for z in b.glob("*.zip")}
    assert first, "the killed run delivered nothing"
    assert manifest(b)["status"] == "running"  # the in-progress marker: a killed bundle never looks whole
    for z in b.glob("*.zip"):  # whatever is visible under a final name is a whole zip
        with zipfile.ZipFile(z) as zf:
            assert zf.testzip() is None
    result, sink = run(stamp, state, out, window(20, 0), {"collection": {"concurrency": 2}})
    assert bundle_dir(out) == b
    m = manifest(b)
    assert m["resumed"] is True and m["status"] == "complete"
    for name, (ino, mt) in first.items():  # finished zips were not redone
        assert ((b / name).stat().st_ino, (b / name).stat().st_mtime_ns) == (ino, mt)
    got = collected_paths(b)
    assert set(got) == expected_paths(stamp, window(20, 0)) and all(n == 1 for n in got.values())


def test_faults_are_reported_in_manifest_and_console(stamp, tmp_path):
    cfg = {"faults": {"unreachable_hosts": ["azs-xrp02"], "unreadable_files": ["azs-xrp01/URP/Logs/URP.log"],
                      "slow_hosts": {"azs-ca01": 0.4}},
           "collection": {"host_timeout_seconds": 0.5}}
    result, sink = run(stamp, tmp_path / "st", tmp_path / "o", window(12, 0), cfg, roles=["URP", "CA"])
    m = manifest(bundle_dir(tmp_path / "o"))
    urp = m["roles"]["URP"]["hosts"]
    assert urp["azs-xrp02"]["status"] == "failed" and "WinRM cannot complete" in urp["azs-xrp02"]["error"]
    assert urp["azs-xrp01"]["status"] == "partial" and "denied" in urp["azs-xrp01"]["error"]
    assert urp["azs-xrp03"]["status"] == "ok"
    assert m["roles"]["CA"]["hosts"]["azs-ca01"]["status"] == "timed out"
    assert m["status"] in ("partial", "timed out")
    reasons = " ".join(n["reason"] for n in m["not_collected"])
    assert "denied" in reasons and "timed out" in reasons
    assert any("URP on azs-xrp02: failed" in w for w in sink.warnings)
    assert any("CA on azs-ca01: timed out" in w for w in sink.warnings)
    assert result.collected_units == 1 and result.total_units == 4


def test_vm_log_recovery_collects_an_unreachable_vms_event_logs(stamp, tmp_path):
    """-PerformVMLogRecovery: the event logs of the window really are in the bundle, the unit is partial."""
    cfg = {"faults": {"unreachable_hosts": ["azs-xrp02"]}}
    result, sink = run(stamp, tmp_path / "st", tmp_path / "o", window(12, 0), cfg, roles=["URP"], vm_recovery=True)
    b = bundle_dir(tmp_path / "o")
    host = manifest(b)["roles"]["URP"]["hosts"]["azs-xrp02"]
    evtx = {p for p in expected_paths(stamp, window(12, 0), roles={"URP"}, hosts={"azs-xrp02"}) if p.endswith(".evtx")}
    assert evtx and {p for p in collected_paths(b) if "/azs-xrp02/" in p} == evtx
    assert host["status"] == "partial" and host["files"] == len(evtx) and "recovered" in host["error"]
    assert any("URP on azs-xrp02: partial" in w for w in sink.warnings)


def test_destination_full_is_reported(stamp, tmp_path):
    # the zips come to about 0.12 MB (logs that compress like real ones): the destination fills midway
    cfg = {"faults": {"destination_full_after_mb": 0.05}, "collection": {"zip_split_mb": 0.02}}
    result, sink = run(stamp, tmp_path / "st", tmp_path / "o", window(12, 0), cfg, roles=["VirtualMachines"],
                       nodes=["azs-acs01", "azs-acs02", "azs-ca01", "azs-dc01"])
    m = manifest(bundle_dir(tmp_path / "o"))
    assert m["status"] == "partial"
    assert any("not enough space" in n["reason"] for n in m["not_collected"])
    assert any("could not be delivered" in w and "not enough space" in w for w in sink.warnings)
    # pre-flight refuses a destination that is already full: no work is done
    with pytest.raises(CollectionError, match="not enough space"):
        run(stamp, tmp_path / "st2", tmp_path / "o2", window(1, 0), {"faults": {"destination_full_after_mb": 0}})
    assert not list((tmp_path / "o2").glob("AzureStackLogs-*"))


def test_no_secrets_in_output_log_manifest_or_console(stamp, tmp_path):
    secret_dir = tmp_path / "o" / "share?sv=2024&sig=SuperSecretSig%3D&se=2030"
    result, sink = run(stamp, tmp_path / "st", secret_dir, window(2, 0), roles=["CA"])
    b = bundle_dir(secret_dir)
    texts = [(b / "Get-AzureStackLog_Output.log").read_text(), (b / "manifest.json").read_text(),
             " ".join(map(str, sink.informations + sink.warnings + sink.verboses))]
    for t in texts:
        assert "SuperSecretSig" not in t


def test_whole_run_deadline_keeps_what_was_collected_and_says_what_was_cut(stamp, tmp_path):
    # Two hosts are slow; TimeOutInMinutes (here 1.2 s) ends the run long before they would finish.
    slow = {"azs-xrp02": 0.6, "azs-xrp03": 0.6}
    started = time.monotonic()
    result, sink = run(stamp, tmp_path / "st", tmp_path / "o", window(12, 0),
                       {"faults": {"slow_hosts": slow}, "collection": {"scan_concurrency": 1}},
                       roles=["CA", "URP"], timeout_minutes=0.02)
    assert time.monotonic() - started < 20
    m = manifest(bundle_dir(tmp_path / "o"))
    statuses = [h["status"] for r in m["roles"].values() for h in r["hosts"].values()]
    assert "ok" in statuses and "timed out" in statuses
    cut = [n for n in m["not_collected"] if "TimeOutInMinutes" in n["reason"]]
    assert cut, m["not_collected"]
    assert any("TimeOutInMinutes" in w for w in sink.warnings)
    # What was collected before the deadline is in the bundle.
    assert m["summary"]["files"] > 0 and list(bundle_dir(tmp_path / "o").glob("*.zip"))


def _race_for_lock(path: str, inside, overlaps, rounds: int) -> None:
    for _ in range(rounds):
        lock = CollectionLock(Path(path))
        try:
            lock.acquire({"user": f"pid {os.getpid()}"})
        except LockBusy:
            continue
        with inside.get_lock():
            inside.value += 1
            overlaps.value += inside.value > 1
        time.sleep(0.0005)
        with inside.get_lock():
            inside.value -= 1
        lock.release()


def test_two_processes_starting_at_once_never_both_collect(tmp_path):
    """Collections started from several sessions at the same moment: at most one holds the lock, ever
    (a lock file caught between its creation and its content was once taken for stale and taken over)."""
    import multiprocessing

    mp = multiprocessing.get_context("fork")
    inside, overlaps = mp.Value("i", 0), mp.Value("i", 0)
    procs = [mp.Process(target=_race_for_lock, args=(str(tmp_path / "azs.lock"), inside, overlaps, 400))
             for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    assert overlaps.value == 0


def test_verbose_says_crash_dumps_are_left_out_not_outside_the_window(stamp, tmp_path):
    """Without IncludeDumpFile a .dmp is left out for that reason, not counted as outside the window."""
    from collector.stampgen import load_truth

    dumps: dict[tuple[str, str], int] = {}
    for e in load_truth(stamp):
        if e["kind"] == "dmp" and e["role"]:
            dumps[(e["role"], e["host"])] = dumps.get((e["role"], e["host"]), 0) + 1
    (role, host), count = sorted(dumps.items())[0]
    w = window(20, 0)
    _, sink = run(stamp, tmp_path / "st", tmp_path / "o", w, roles=[role], nodes=[host])
    h = manifest(bundle_dir(tmp_path / "o"))["roles"][role]["hosts"][host]
    assert h["skipped_dump_files"] == count
    (line,) = [v for v in sink.verboses if v.startswith(f"{role} on {host}:")]
    assert f"{count} crash dump(s) left out (-IncludeDumpFile not given)" in line, line
    _, sink = run(stamp, tmp_path / "st2", tmp_path / "o2", w, roles=[role], nodes=[host], include_dumps=True)
    h2 = manifest(bundle_dir(tmp_path / "o2"))["roles"][role]["hosts"][host]
    assert h2["skipped_dump_files"] == 0 and h2["skipped_outside_window"] >= h["skipped_outside_window"]
    assert not [v for v in sink.verboses if "crash dump" in v]


def test_every_entry_holds_its_logs_bytes_and_last_write_time(tmp_path):
    """What a zip holds is the log as it was: the same bytes and the last-write time (to the zip
    format's two seconds), both for the small logs written in one piece and for a log too big for
    one read (streamed through the compressor in blocks)."""
    stamp = small_stamp(tmp_path / "s", mb_per_hour=1.0)
    big = stamp / "hosts" / "azs-acs01" / "ACS" / "Logs" / "ACS.big.log"
    big.write_bytes(b"".join(b"2026-11-25 11:%02d:00.000 INFO Blob %07d written by the table server\n" % (i % 60, i)
                             for i in range(60000)))  # about 4 MB
    os.utime(big, (END.timestamp() - 600, END.timestamp() - 601))
    run(stamp, tmp_path / "st", tmp_path / "o", window(3, 0), roles=["ACS"])
    b = bundle_dir(tmp_path / "o")
    checked = 0
    for z in b.glob("*.zip"):
        with zipfile.ZipFile(z) as zf:
            for info in zf.infolist():
                host, rel = info.filename.split("/", 1)
                src = stamp / "hosts" / host / "ACS" / rel
                assert zf.read(info) == src.read_bytes(), info.filename
                mtime = time.gmtime(src.stat().st_mtime)
                assert info.date_time == (*mtime[:5], mtime[5] // 2 * 2), info.filename
                checked += 1
    assert checked > 10 and "azs-acs01/Logs/ACS.big.log" in {i.filename for z in b.glob("*.zip")
                                                            for i in zipfile.ZipFile(z).infolist()}
