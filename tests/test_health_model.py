"""The health model and the alerts as pure functions (no process, no socket), and their persistence."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from collector import alerts, health, healthmodel
from collector.faultstore import Fault, FaultStore, utc_text
from session.environment import Environment

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
STAMP = healthmodel.stamp_from_definition(healthmodel.topology(4))


def fault(kind, target=None, fid="1", at=T0):
    return Fault(fid, kind, target, utc_text(at))


def test_an_offline_node_takes_its_vms_and_role_instances_with_it():
    model = healthmodel.build(STAMP, [fault("node-offline", "azs-node02")], healthmodel.make_baseline(STAMP, T0), T0)
    on_node = {v.name for v in STAMP.vms if v.parent == "azs-node02"}
    assert set(model.unreachable) == on_node | {"azs-node02"}
    assert {c.name for c in model.of_type("Infrastructure VM") if c.status == "Critical"} == on_node
    (node,) = [c for c in model.of_type("Scale unit node") if c.name == "azs-node02"]
    assert node.status == "Critical"
    (compute,) = model.of_type("Compute capacity")
    assert compute.status == "Warning" and compute.values["placement_nodes"] == 3


def test_certificates_and_shares_follow_their_faults_then_return_to_the_baseline():
    base = healthmodel.make_baseline(STAMP, T0)
    model = healthmodel.build(STAMP, [fault("cert-expiring-critical", "acs-blob"), fault("file-share-over-80", "SU1_VmTemp_1", "2")],
                              base, T0 + timedelta(days=1))
    certs = {c.name: c for c in model.of_type("Certificate")}
    assert certs["acs-blob"].status == "Critical" and certs["acs-blob"].values["days_left"] == 4
    shares = {c.name: c for c in model.of_type("File share")}
    assert shares["SU1_VmTemp_1"].status == "Warning" and shares["SU1_VmTemp_1"].values["used_percent"] == 85
    healthy = healthmodel.build(STAMP, [], base, T0 + timedelta(days=1))
    assert healthy.summary()["Critical"] == healthy.summary()["Warning"] == 0


def test_category_results_name_the_cause_and_seeds_still_apply():
    model = healthmodel.build(STAMP, [fault("update-failed")], healthmodel.make_baseline(STAMP, T0), T0)
    live = alerts.reconcile([], list(model.faults), T0)
    res = {r.name: r for r in health.results(model, live, ["AzsInfraUpdateSummary", "AzsAlertSummary", "AzsDefenderSummary",
                                                           "AzsInfraCapacity"], fail=["AzsDefenderSummary"])}
    assert res["AzsInfraUpdateSummary"].status == "FAIL" and "update run failed" in res["AzsInfraUpdateSummary"].detail
    assert res["AzsAlertSummary"].status == "WARN" and "Update failed" in res["AzsAlertSummary"].detail
    assert res["AzsDefenderSummary"].status == "FAIL" and "health.fail" in res["AzsDefenderSummary"].detail
    assert res["AzsInfraCapacity"].status == "PASS" and "fullest" in res["AzsInfraCapacity"].detail


def test_reconcile_raises_once_closes_when_gone_and_drops_old_closed_alerts():
    ids = iter(["a1", "a2"])
    f = fault("backup-failed")
    (a,) = alerts.reconcile([], [f], T0 + timedelta(minutes=5), new_id=lambda: next(ids))
    assert (a.state, a.raised, a.trigger, a.severity) == ("Active", utc_text(T0), True, "Critical")
    assert alerts.reconcile([a], [f], T0 + timedelta(hours=1)) == [a]  # nothing new while it stays
    (closed,) = alerts.reconcile([a], [], T0 + timedelta(hours=2))
    assert closed.state == "Closed" and closed.closed == utc_text(T0 + timedelta(hours=2)) and closed.id == "a1"
    assert alerts.reconcile([closed], [], T0 + timedelta(days=91)) == []
    assert alerts.select([closed], "closed") == [closed] and alerts.select([closed], "active") == []


def test_alerts_and_their_raise_time_survive_a_restart(tmp_path):
    env = Environment(state_dir=tmp_path, config={})
    store = FaultStore.of(env)
    kind = healthmodel.faultkinds.BY_NAME["time-sync-error"]
    store.add(kind, None, T0)
    first = healthmodel.current(env, T0 + timedelta(minutes=1)).alerts
    again = healthmodel.current(Environment(state_dir=tmp_path, config={}), T0 + timedelta(hours=3)).alerts
    assert first == again and again[0].raised == utc_text(T0)
    assert (tmp_path / "health" / "alerts.json").exists() and (tmp_path / "health" / "baseline.json").exists()
