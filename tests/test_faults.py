"""`pep fault` as a user types it (subprocesses): every kind moves its Test-AzureStack categories and
raises its alert, clearing closes the alert, node-offline makes Get-AzureStackLog collect X of Y,
and bad input is a message with exit code 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collector import faultkinds, healthmodel
from collector.faultstore import resolve
from session.environment import Environment

ROOT = Path(__file__).resolve().parents[1]
SMALL_STAMP = {"stamp": {"days": 0.1, "mb_per_hour": 0.02}}


def pep(state: Path, *args: str, config: dict | None = None) -> subprocess.CompletedProcess[str]:
    cfg = state.parent / "pep-config.json"
    cfg.write_text(json.dumps({**SMALL_STAMP, **(config or {})}))
    env = {**os.environ, "PEP_STATE_DIR": str(state), "PEP_CONFIG": str(cfg), "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    p = subprocess.run([sys.executable, "-m", "pep", *args], env=env, capture_output=True, text=True, timeout=120,
                       cwd=state.parent)
    assert "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr
    return p


def detailed(state: Path, include: str | None = None) -> dict[str, tuple[str, str]]:
    cmd = "Test-AzureStack -DetailedResults" + (f" -Include {include}" if include else "")
    p = pep(state, "--json", "-c", cmd)
    out = {}
    for line in p.stdout.splitlines():
        obj = json.loads(line)
        if "Name" in obj:
            out[obj["Name"]] = (obj["Result"], obj["Details"])
    return out


def target_for(kind: faultkinds.FaultKind) -> str | None:
    return {"node": "azs-node02", "vm": "azs-xrp02", "role": "URP", "certificate": faultkinds.certificates(kind)[0],
            "share": "SU1_Infrastructure_1"}.get(kind.target or "")


def test_every_kind_has_a_valid_target_and_the_trigger_table_is_covered():
    stamp = healthmodel.stamp_from_definition(healthmodel.topology(4))
    for kind in faultkinds.KINDS:
        assert resolve(kind.name, target_for(kind), stamp)[0] is kind
    ids = {k.fault_id_type for k in faultkinds.KINDS if k.trigger}
    for fid in ("UsageBridge.NetworkError", "Urp.UpdateFailure", "Urp.UpdateWarning", "FRP.Heartbeat.PhysicalNode",
                "FRP.Heartbeat.InfraVM", "FRP.Heartbeat.NonHaVm", "StorageResourceProvider. DataStoreConnectionFail",
                "StorageService.Table.server.data.corruption-Critical",
                "AzureStack.BackupController.BackupSkippedWithFailedOperationFault"):
        assert fid in ids
    assert len(ids) == 27  # the 23 rows of reference §4.2, Urp.UpdateWarning (2102) and three 2108 additions


@pytest.mark.parametrize("kind", faultkinds.KINDS, ids=[k.name for k in faultkinds.KINDS])
def test_each_kind_moves_its_categories_raises_its_alert_and_clearing_closes_it(tmp_path, kind):
    state = tmp_path / "state"
    target = target_for(kind)
    added = pep(state, "fault", "add", kind.name, *([target] if target else []))
    assert added.returncode == 0, added.stderr
    assert f"Alert raised: {kind.title} ({kind.fault_id_type}, {kind.severity}" in added.stdout

    results = detailed(state)
    groups_only = {"AzsActionPlanStatus"}
    for category, status in kind.effects:
        if category in groups_only:
            continue
        got, details = results[category]
        assert got == status, (category, results[category])
        assert kind.describe(target).rstrip(".") in details and "(fault 1)" in details
    assert results["AzsAlertSummary"][0] == "WARN" and kind.title in results["AzsAlertSummary"][1]
    untouched = set(results) - {c for c, _ in kind.effects} - {"AzsAlertSummary"}
    assert all(results[c][0] == "PASS" for c in untouched), {c: results[c] for c in untouched if results[c][0] != "PASS"}

    env = Environment(state_dir=state, config=SMALL_STAMP)
    (alert,) = healthmodel.list_alerts(env, "active")
    assert (alert.title, alert.fault_id_type, alert.severity, alert.trigger) == (
        kind.title, kind.fault_id_type, kind.severity, kind.trigger)
    assert alert.component == (target or kind.component) and alert.closed is None

    cleared = pep(state, "fault", "clear", "1")
    assert cleared.returncode == 0 and f"Alert closed: {kind.title}." in cleared.stdout
    assert healthmodel.list_alerts(env, "active") == []
    (closed,) = healthmodel.list_alerts(env, "closed")
    assert closed.id == alert.id and closed.raised == alert.raised and closed.closed is not None
    assert all(r == "PASS" for r, _ in detailed(state).values())


def test_update_readiness_group_sees_update_failed(tmp_path):
    state = tmp_path / "state"
    pep(state, "fault", "add", "update-failed")
    p = pep(state, "-c", "Test-AzureStack -Group UpdateReadiness")
    assert p.returncode == 1 and "AzsActionPlanStatusFailed,Test-AzureStack" in p.stderr
    assert "False" in p.stdout


def test_node_offline_makes_get_azurestacklog_collect_x_of_y_naming_the_hosts(tmp_path):
    state, out = tmp_path / "state", tmp_path / "out"
    added = pep(state, "fault", "add", "node-offline", "azs-node02")
    assert "Not reachable for log collection: azs-node02, " in added.stdout
    p = pep(state, "-c", f"Get-AzureStackLog -OutputPath {out} -FilterByRole ECE,SeedRing,BareMetal")
    text = p.stdout + p.stderr
    # node02 carries azs-ercs01 (ECE, SeedRing) in the embedded 4-node topology, and its own BareMetal.
    assert "collected 7 of 10 role instances" in text, text
    assert "ECE on azs-ercs01: failed" in text and "BareMetal on azs-node02: failed" in text
    pep(state, "fault", "clear", "--all")
    p = pep(state, "-c", f"Get-AzureStackLog -OutputPath {out} -FilterByRole ECE,SeedRing,BareMetal")
    assert "Log collection complete: collected 10 of 10 role instances" in p.stdout


def test_test_azurestack_log_is_collected_by_get_azurestacklog(tmp_path):
    state, out = tmp_path / "state", tmp_path / "out"
    pep(state, "fault", "add", "backup-failed")
    assert pep(state, "-c", "Test-AzureStack").returncode == 1
    p = pep(state, "-c", f"Get-AzureStackLog -OutputPath {out} -FilterByRole SeedRing")
    assert p.returncode == 0, p.stderr
    (manifest,) = out.glob("AzureStackLogs-*/manifest.json")
    collected = [c["path"] for h in json.loads(manifest.read_text())["roles"]["SeedRing"]["hosts"].values()
                 for c in h["collected"]]
    (log,) = [c for c in collected if "AzureStack_Validation_Summary." in c]
    assert log.startswith("Logs/AzureStack_Validation_Summary.") and log.endswith(".log")


def test_a_running_session_sees_a_fault_added_by_another_process(tmp_path):
    from powershell.pipeline import ListSink
    from session.runspace import Runspace

    state = tmp_path / "state"
    rs = Runspace(Environment(state_dir=state, config=SMALL_STAMP), transcript=False)
    sink = ListSink()
    rs.invoke("Test-AzureStack -Include AzsVmPlacement", sink)
    assert sink.outputs == [True]
    pep(state, "fault", "add", "host-unresponsive", "azs-node03")
    sink = ListSink()
    rs.invoke("Test-AzureStack -Include AzsVmPlacement", sink)
    assert sink.outputs == [False] and "azs-node03" in str(sink.errors[0])


@pytest.mark.parametrize("args, message", [
    (("add", "bogus"), "unknown fault kind 'bogus'"),
    (("add", "node-offline"), "needs a node: one of azs-node01"),
    (("add", "node-offline", "azs-node09"), "'azs-node09' is not a node of stamp azs"),
    (("add", "update-failed", "azs-node01"), "takes no target"),
    (("add", "cert-expiring", "nope"), "takes one of: admin-portal"),
    (("clear", "42"), "no active fault with id '42'"),
    (("clear",), "clear needs a fault id"),
    (("clear", "1", "--all"), "not both"),
    (("clear", "config:node-offline:azs-node01"), "comes from the configuration"),
])
def test_bad_input_is_a_message_and_exit_2(tmp_path, args, message):
    p = pep(tmp_path / "state", "fault", *args)
    assert p.returncode == 2 and message in p.stderr and p.stderr.startswith("pep fault: ")


def test_list_shows_faults_and_seeds_from_configuration(tmp_path):
    state = tmp_path / "state"
    assert pep(state, "fault", "list").stdout == "No active faults.\n"
    pep(state, "--state-dir", str(state), "fault", "add", "NODE-OFFLINE", "AZS-NODE03")  # any case, stamp spelling kept
    p = pep(state, "fault", "list", config={"faults": {"unreachable_hosts": ["azs-xrp01"]}})
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["Id", "Kind", "Target", "Added", "(UTC)", "Alert"]
    assert lines[1].split()[:3] == ["1", "node-offline", "azs-node03"]
    assert lines[2].split()[:3] == ["config:infra-vm-unavailable:azs-xrp01", "infra-vm-unavailable", "azs-xrp01"]
    again = pep(state, "fault", "add", "node-offline", "azs-node03")
    assert again.returncode == 0 and "already active" in again.stdout
