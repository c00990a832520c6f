"""collector.manifest as pure functions: units settled from what was delivered and what was cut, the
run's status, manifest.json, and the closing lines (short after a stop, whatever the run's size)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from collector.logkinds import Judged, Listed
from collector.manifest import Header, build_manifest, closing, manifest_json, run_status, settle_unit
from collector.plan import Unit
from collector.status import STOPPED_CUT, Cut, CutKind, IllegalTransition, RunStatus, UnitStatus
from collector.units import UnitState

T = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
HEADER = Header("AzureStackLogs-20261125120000-AZS-ERCS01", "azs", "AZS-ERCS01", False, T.isoformat(),
                T.isoformat(), {"from_utc": "a", "to_utc": "b"}, {"destination": "/logs"})


def unit(role: str, host: str, *paths: str, status: UnitStatus = UnitStatus.SCANNED, error: str | None = None,
         recovered: bool = False) -> UnitState:
    st = UnitState(Unit(role, host, role, "vm"), started=T, ended=T, recovered=recovered, error=error)
    st.selected = [Judged(Listed(p, 10, T), "text", "File", None, T, True, False) for p in paths]
    if status is not UnitStatus.PENDING:
        st.move(status)
    return st


def zip_of(role: str, host: str, *paths: str, delivered: bool = True) -> dict:
    return {"role": role, "bytes": 100, "sha256": "0" * 64, "delivered": delivered,
            "files": [{"host": host, "path": p, "bytes": 10} for p in paths]}


def test_settle_unit_rules():
    st = unit("CA", "azs-ca01", "a.log", "b.log")
    assert settle_unit(st, 2, []) == (UnitStatus.OK, None)
    assert settle_unit(st, 1, [Cut(CutKind.UNREADABLE, "denied")]) == (UnitStatus.PARTIAL, "denied")
    assert settle_unit(st, 0, [Cut(CutKind.UNREADABLE, "denied")]) == (UnitStatus.FAILED, "denied")
    timed = Cut(CutKind.TIMED_OUT, "timed out: TimeOutInMinutes")
    assert settle_unit(st, 1, [Cut(CutKind.UNREADABLE, "denied"), timed]) == (UnitStatus.TIMED_OUT, timed.reason)
    assert settle_unit(st, 1, [timed, STOPPED_CUT])[0] is UnitStatus.STOPPED  # a stop wins
    recovered = unit("URP", "azs-xrp02", "x.evtx", recovered=True, error="recovered from the VM's disk")
    assert settle_unit(recovered, 1, []) == (UnitStatus.PARTIAL, "recovered from the VM's disk")
    failed = unit("URP", "azs-xrp01", status=UnitStatus.FAILED, error="WinRM cannot complete")
    assert settle_unit(failed, 0, []) == (UnitStatus.FAILED, "WinRM cannot complete")


def test_run_status():
    ok, partial, timed = UnitStatus.OK, UnitStatus.PARTIAL, UnitStatus.TIMED_OUT
    assert run_status([ok, ok], False, False) is RunStatus.COMPLETE
    assert run_status([ok, ok], True, False) is RunStatus.PARTIAL  # a zip not delivered
    assert run_status([ok, partial], False, False) is RunStatus.PARTIAL
    assert run_status([ok, timed, partial], False, False) is RunStatus.TIMED_OUT
    assert run_status([UnitStatus.FAILED], False, False) is RunStatus.FAILED
    assert run_status([ok], False, True) is RunStatus.STOPPED
    assert run_status([], False, False) is RunStatus.COMPLETE


def test_build_manifest_from_settled_units():
    ca = unit("CA", "azs-ca01", "a.log", "b.log")
    ca.move(UnitStatus.PARTIAL, "denied")
    urp = unit("URP", "azs-xrp01", status=UnitStatus.FAILED, error="WinRM cannot complete")
    zips = {"CA_1.zip": zip_of("CA", "azs-ca01", "a.log"), "CA_2.zip": zip_of("CA", "azs-ca01", "b.log", delivered=False)}
    cuts = {"CA|azs-ca01|b.log": Cut(CutKind.NOT_DELIVERED, "CA_2.zip could not be delivered")}
    m = build_manifest(HEADER, [ca, urp], zips, cuts, ["CA_2.zip was built but could not be delivered: full"],
                       RunStatus.PARTIAL)
    assert m["status"] == "partial" and m["bundle"] == HEADER.bundle
    host = m["roles"]["CA"]["hosts"]["azs-ca01"]
    assert host["status"] == "partial" and host["files"] == 1 and host["bytes"] == 10
    assert [f["zip"] for f in host["collected"]] == ["CA_1.zip"]
    assert [z["delivered"] for z in m["roles"]["CA"]["zips"]] == [True, False]
    assert m["roles"]["URP"]["status"] == "failed"
    assert m["summary"] == {"units": 2, "files": 1, "bytes": 10, "zips": 2, "zip_bytes": 200}
    assert [(n["role"], n["path"]) for n in m["not_collected"]] == [("CA", "b.log"), ("URP", None), (None, None)]
    # the same state gives the same manifest: nothing but its inputs goes in
    assert m == build_manifest(HEADER, [ca, urp], zips, cuts, ["CA_2.zip was built but could not be delivered: full"],
                               RunStatus.PARTIAL)


def test_build_manifest_refuses_units_not_settled():
    with pytest.raises(ValueError, match="not settled"):
        build_manifest(HEADER, [unit("CA", "azs-ca01", "a.log")], {}, {}, [], RunStatus.COMPLETE)


def test_a_settled_unit_cannot_move_again():
    st = unit("CA", "azs-ca01", "a.log")
    st.move(UnitStatus.OK)
    with pytest.raises(IllegalTransition):
        st.move(UnitStatus.PARTIAL)


def test_closing_lines_one_warning_per_unit_when_finished():
    units = []
    for i in range(5):
        st = unit("URP", f"azs-xrp0{i}", "a.log")
        st.move(UnitStatus.OK if i else UnitStatus.FAILED, None if i else "WinRM cannot complete")
        units.append(st)
    m = build_manifest(HEADER, units, {}, {}, [], RunStatus.PARTIAL)
    end = closing(m, [], "/logs")
    assert end.warnings == ["URP on azs-xrp00: failed: WinRM cannot complete"]
    assert end.lines[0].startswith("Log collection partial: collected 4 of 5 role instances")
    assert end.lines[1] == f"Logs are in /logs: {HEADER.bundle}" and end.units_ok == 4


def test_closing_lines_after_a_stop_are_short_whatever_the_size():
    units = []
    for r in range(40):
        for h in range(5):
            st = unit(f"Role{r:02d}", f"azs-h{h}", "a.log")
            st.move(UnitStatus.STOPPED if r >= 3 else UnitStatus.OK)
            units.append(st)
    bad = unit("URP", "azs-xrp01", status=UnitStatus.FAILED, error="WinRM cannot complete")
    m = build_manifest(HEADER, units + [bad], {}, {}, [], RunStatus.STOPPED)
    end = closing(m, ["X_1.zip was built but could not be delivered: full"], "/logs")
    assert len(end.warnings) == 3, end.warnings
    assert "185 of 201 role instances" in end.warnings[0] and "Role03, Role04, Role05 and 34 more" in end.warnings[0]
    assert "manifest.json" in end.warnings[0] and "1 other" in end.warnings[1] and "1 zip file" in end.warnings[2]
    assert end.lines[0].startswith("Log collection stopped: collected 15 of 201 role instances")


def test_manifest_json_redacts_every_string_but_the_collected_files_paths():
    """A collected file's path is its name on the host, which its zip entry in the same bundle
    carries as it is: written as it is. Everything else, a not-collected file's path and reason
    included, is redacted."""
    sas = "https://acct.blob.core.windows.net/logs?sv=2022-11-02&sig=SECRETSIG"
    m = {"request": {"destination": sas},
         "roles": {"ACS": {"hosts": {"azs-acs01": {"collected": [
             {"host": "azs-acs01", "path": "Logs/sig=abc.log", "bytes": 3, "zip": "ACS_1.zip",
              "truncated": "password=hunter2 cut"}]}}}},
         "not_collected": [{"role": "ACS", "host": "azs-acs01", "path": "Logs/password=hunter2.log",
                            "reason": f"copy to {sas} failed"}]}
    text = manifest_json(m)
    back = json.loads(text)
    assert "SECRETSIG" not in text and "hunter2" not in text
    rec = back["roles"]["ACS"]["hosts"]["azs-acs01"]["collected"][0]
    assert rec["path"] == "Logs/sig=abc.log" and rec["truncated"] == "password=REDACTED cut"
    assert back["not_collected"][0]["path"] == "Logs/password=REDACTED"
