"""The live health model of the stamp: every component Test-AzureStack and the alerts look at.

    state (the stamp definition, a baseline kept in the state directory) + faults
        -> components with a health (this module, `build`: pure)
        -> Test-AzureStack category results (collector.health)
        -> alerts (collector.alerts)

Components: the scale unit nodes, the infrastructure VMs on them and the role instances on those,
the storage services (blob, table, queue, account and container), physical disks (four per node),
volumes (virtual disks) and their file shares with their capacity, certificates and their expiry,
the infrastructure backup, updates, time synchronisation, compute capacity, the network controller,
the software load balancer, the usage bridge, the health controller and the Storage Resource Provider.

The baseline (`<state>/health/baseline.json`) is written the first time the model is read: when
each certificate expires, how full each share is, memory in use. Faults change what the model shows
(a certificate about to expire, a share at 85%, a node offline); clearing them returns to the baseline.

`current(env)` is the one I/O entry: it reads the fault store and the configuration's seeds, builds
the model and brings the kept alerts up to date. It reads them again on every call, so a `pep serve`
that is already running sees `pep fault add` at once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from collector import alerts as alerts_mod
from collector import faultkinds
from collector.alerts import Alert
from collector.faultstore import Fault, FaultStore, parse_utc, seeded, utc_text
from collector.settings import EngineEnv
from collector.stamp import Stamp, load_stamp, stamp_from_definition
from collector.stampgen import topology
from common.state import atomic_write_json

HEALTHY, WARNING, CRITICAL, UNKNOWN = "Healthy", "Warning", "Critical", "Unknown"
DISKS_PER_NODE = 4
NTP_SERVER = "time.windows.com"


@dataclass(frozen=True)
class Component:
    type: str  # "Scale unit node", "Infrastructure VM", "Role instance", "File share", ...
    name: str
    status: str  # Healthy | Warning | Critical | Unknown
    detail: str
    parent: str | None = None  # a VM's node, a role instance's host, a disk's node, a share's volume
    values: dict[str, Any] = field(default_factory=dict)  # expiry, percent used, version, ...


@dataclass(frozen=True)
class HealthModel:
    stamp: Stamp
    faults: tuple[Fault, ...]
    components: tuple[Component, ...]
    unreachable: dict[str, str]  # host -> why it does not answer

    def of_type(self, kind: str) -> list[Component]:
        return [c for c in self.components if c.type == kind]

    def summary(self) -> dict[str, int]:
        out = {HEALTHY: 0, WARNING: 0, CRITICAL: 0, UNKNOWN: 0}
        for c in self.components:
            out[c.status] += 1
        return out


@dataclass(frozen=True)
class Snapshot:
    """The model and the alerts, as of one look."""

    model: HealthModel
    alerts: list[Alert]
    now: datetime

    @property
    def active_alerts(self) -> list[Alert]:
        return alerts_mod.select(self.alerts, "active")


# -- the stamp the model describes --------------------------------------------------------------

def model_stamp(env: EngineEnv) -> Stamp:
    """The stamp the engine collects from: `--stamp DIR`, or the embedded stamp as it is generated
    into the state directory (its 4-node topology, so a VM sits on the same node in both)."""
    if env.stamp_dir:
        return load_stamp(env.stamp_dir)
    return stamp_from_definition(topology(4))


# -- the baseline ---------------------------------------------------------------------------------

def make_baseline(stamp: Stamp, now: datetime) -> dict[str, Any]:
    certs = faultkinds.EXTERNAL_CERTIFICATES + faultkinds.INTERNAL_CERTIFICATES
    shares = faultkinds.shares(len(stamp.nodes))
    used = {}
    for i, s in enumerate(shares):
        used[s] = 38 + 3 * i if s.startswith("SU1_Infrastructure") else (14 if "VmTemp" in s else 27 + i % 5)
    return {
        "created": utc_text(now),
        "certificates": {c: utc_text(now + timedelta(days=400 + 11 * i)) for i, c in enumerate(certs)},
        "share_used_percent": used,
        "memory_used_percent": 58,
        "last_update": {"version": stamp.definition.get("stamp_version", "1.0"), "ended": utc_text(now - timedelta(days=21))},
    }


def load_baseline(env: EngineEnv, stamp: Stamp, now: datetime) -> dict[str, Any]:
    path = env.state.sub("health") / "baseline.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        if isinstance(data.get("certificates"), dict) and isinstance(data.get("share_used_percent"), dict):
            return data
    except (OSError, ValueError):
        pass
    data = make_baseline(stamp, now)
    atomic_write_json(path, data)
    return data


# -- the model (pure) -------------------------------------------------------------------------------

def unreachable_hosts(stamp: Stamp, faults: list[Fault] | tuple[Fault, ...]) -> dict[str, str]:
    """Hosts that do not answer WinRM, and why: an offline node and every VM on it, an unavailable VM."""
    out: dict[str, str] = {}
    for f in faults:
        if not f.spec.unreachable or not f.target:
            continue
        if f.spec.target == "node":
            out.setdefault(f.target, f"scale unit node {f.target} is offline")
            for vm in stamp.vms:
                if (vm.parent or "").lower() == f.target.lower():
                    out.setdefault(vm.name, f"its node {f.target} is offline")
        else:
            out.setdefault(f.target, f"infrastructure role instance {f.target} is unavailable")
    return out


def _on(faults: list[Fault] | tuple[Fault, ...], kind: str) -> list[Fault]:
    return [f for f in faults if f.kind == kind]


def _targets(faults: list[Fault] | tuple[Fault, ...], kind: str) -> set[str]:
    return {(f.target or "").lower() for f in faults if f.kind == kind}


def build(stamp: Stamp, faults: list[Fault] | tuple[Fault, ...], baseline: dict[str, Any], now: datetime
          ) -> HealthModel:
    """Every component and its health for the stamp with these faults active."""
    down = unreachable_hosts(stamp, faults)
    down_low = {h.lower(): why for h, why in down.items()}
    comps: list[Component] = []
    add = comps.append

    # Nodes, VMs, role instances.
    unresponsive = _targets(faults, "host-unresponsive")
    not_connected = _targets(faults, "node-not-connected-to-controller")
    disk_lost = _targets(faults, "physical-disk-lost")
    blob_down = _targets(faults, "blob-service-down")
    for node in stamp.nodes:
        low = node.name.lower()
        if low in down_low:
            add(Component("Scale unit node", node.name, CRITICAL, "Offline: no heartbeat, not reachable."))
            continue
        notes = []
        if low in unresponsive:
            notes.append("not accepting virtual machine placement")
        if low in not_connected:
            notes.append("not connected to the network controller")
        if low in disk_lost:
            notes.append("a physical disk lost connectivity")
        if low in blob_down:
            notes.append("blob service not running")
        add(Component("Scale unit node", node.name, WARNING if notes else HEALTHY,
                      "Up; " + ", ".join(notes) + "." if notes else "Up."))
    for vm in stamp.vms:
        why = down_low.get(vm.name.lower())
        add(Component("Infrastructure VM", vm.name, CRITICAL if why else HEALTHY,
                      f"Not reachable: {why}." if why else f"Running on {vm.parent}.", parent=vm.parent))
    unhealthy_roles = _targets(faults, "infra-role-unhealthy")
    for role, hosts in stamp.roles.items():
        for host in hosts:
            why = down_low.get(host.lower())
            if why:
                add(Component("Role instance", f"{role} on {host}", CRITICAL, f"Not reachable: {why}.", parent=host))
            elif role.lower() in unhealthy_roles:
                add(Component("Role instance", f"{role} on {host}", CRITICAL, f"Role {role} is unhealthy.",
                              parent=host))
            else:
                add(Component("Role instance", f"{role} on {host}", HEALTHY, "Running.", parent=host))

    # Storage services.
    def service(name: str, bad: list[tuple[str, str]]) -> None:
        hit = [text for kind, text in bad if _on(faults, kind)]
        add(Component("Storage service", name, CRITICAL if hit else HEALTHY, "; ".join(hit) + "." if hit else "Running."))
    service("Blob", [("blob-service-down", "not running on " + ", ".join(sorted(blob_down))),
                     ("blob-data-corruption", "data is corrupted")])
    service("Table", [("table-service-errors", "errors reported"), ("table-data-corruption", "server data corruption")])
    service("Queue", [])
    service("Account and container", [("account-container-corruption", "data corruption")])

    # Disks, volumes, shares.
    for node in stamp.nodes:
        for i in range(1, DISKS_PER_NODE + 1):
            name = f"{node.name}-PD{i}"
            if node.name.lower() in down_low:
                add(Component("Physical disk", name, UNKNOWN, "Its node is offline.", parent=node.name))
            elif i == 1 and node.name.lower() in disk_lost:
                add(Component("Physical disk", name, CRITICAL, "Lost communication.", parent=node.name))
            else:
                add(Component("Physical disk", name, HEALTHY, "OK.", parent=node.name))
    detached = _targets(faults, "virtual-disk-detached")
    over80, over90 = _targets(faults, "file-share-over-80"), _targets(faults, "file-share-over-90")
    used_base: dict[str, Any] = baseline.get("share_used_percent", {})
    for share in faultkinds.shares(len(stamp.nodes)):
        low = share.lower()
        add(Component("Virtual disk", share, CRITICAL if low in detached else HEALTHY,
                      "Detached." if low in detached else "Attached."))
        used = 93 if low in over90 else 85 if low in over80 else int(used_base.get(share, 30))
        status = CRITICAL if used > 90 else WARNING if used > 80 else HEALTHY
        add(Component("File share", share, status, f"{used}% used.", parent=share, values={"used_percent": used}))

    # Certificates.
    expiry_base: dict[str, Any] = baseline.get("certificates", {})
    for cert in faultkinds.EXTERNAL_CERTIFICATES + faultkinds.INTERNAL_CERTIFICATES:
        expires = parse_utc(expiry_base[cert]) if cert in expiry_base else now + timedelta(days=365)
        for f in faults:
            if f.spec.target == "certificate" and (f.target or "").lower() == cert:
                days = 5 if f.spec.severity == "Critical" else 25
                expires = min(expires, parse_utc(f.added) + timedelta(days=days))
        left = (expires - now).days
        status = CRITICAL if left <= 7 else WARNING if left <= 30 else HEALTHY
        scope = "Internal" if cert in faultkinds.INTERNAL_CERTIFICATES else "External"
        add(Component("Certificate", cert, status, f"{scope}; expires {utc_text(expires)} ({left} days).",
                      values={"expires": utc_text(expires), "days_left": left}))

    # Backup, update, time, compute, network.
    last_backup = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=now.hour % 12)
    if _on(faults, "backup-failed"):
        add(Component("Infrastructure backup", "Backup", CRITICAL, f"The backup of {utc_text(last_backup)} failed."))
    elif _on(faults, "backup-skipped"):
        add(Component("Infrastructure backup", "Backup", WARNING,
                      f"The backup of {utc_text(last_backup)} was skipped (failed operations)."))
    else:
        add(Component("Infrastructure backup", "Backup", HEALTHY, f"Last backup {utc_text(last_backup)} succeeded."))
    upd = baseline.get("last_update", {})
    version = str(upd.get("version", stamp.definition.get("stamp_version", "")))
    if _on(faults, "update-failed"):
        add(Component("Update", "Update", CRITICAL, f"Version {version}; the last update run failed.",
                      values={"version": version}))
    elif _on(faults, "update-warning"):
        add(Component("Update", "Update", WARNING, f"Version {version}; the update run needs attention.",
                      values={"version": version}))
    else:
        add(Component("Update", "Update", HEALTHY, f"Version {version}; the last update succeeded.",
                      values={"version": version}))
    add(Component("Time synchronisation", "Time", WARNING if _on(faults, "time-sync-error") else HEALTHY,
                  f"Errors synchronising with {NTP_SERVER}." if _on(faults, "time-sync-error")
                  else f"In sync with {NTP_SERVER}."))
    memory = 96 if _on(faults, "vm-creation-low-memory") else int(baseline.get("memory_used_percent", 58))
    offline_nodes = [n.name for n in stamp.nodes if n.name.lower() in down_low]
    placeable = [n.name for n in stamp.nodes if n.name.lower() not in down_low and n.name.lower() not in unresponsive]
    cstatus = CRITICAL if memory > 90 or not placeable else WARNING if len(placeable) < len(stamp.nodes) else HEALTHY
    add(Component("Compute capacity", "Compute", cstatus,
                  f"Memory in use {memory}%; {len(placeable)} of {len(stamp.nodes)} nodes accept VM placement.",
                  values={"memory_used_percent": memory, "placement_nodes": len(placeable),
                          "offline_nodes": offline_nodes}))
    nc_bad = sorted(t for t in not_connected)
    add(Component("Network controller", "NC", CRITICAL if nc_bad else HEALTHY,
                  f"Not connected: {', '.join(nc_bad)}." if nc_bad else "All nodes connected."))
    add(Component("Software load balancer", "SLB", CRITICAL if _on(faults, "slb-route-publication-failure") else HEALTHY,
                  "MUX route publication is failing." if _on(faults, "slb-route-publication-failure")
                  else "MUX routes published."))
    add(Component("Usage bridge", "UsageBridge", WARNING if _on(faults, "usage-bridge-network-error") else HEALTHY,
                  "Cannot reach Azure." if _on(faults, "usage-bridge-network-error") else "Connected."))
    add(Component("Health controller", "HealthController", CRITICAL if _on(faults, "health-storage-error") else HEALTHY,
                  "Cannot access its storage account." if _on(faults, "health-storage-error") else "Running."))
    srp_bad = [k for k in ("srp-dependency-unavailable", "srp-datastore-unavailable") if _on(faults, k)]
    add(Component("Storage resource provider", "SRP", CRITICAL if srp_bad else HEALTHY,
                  "; ".join(faultkinds.BY_NAME[k].describe(None) for k in srp_bad) if srp_bad else "Running."))
    return HealthModel(stamp, tuple(faults), tuple(comps), down)


# -- one look at the stamp (I/O) --------------------------------------------------------------------

def active_faults(env: EngineEnv, stamp: Stamp, now: datetime) -> list[Fault]:
    """The fault store's faults and the configuration's seeds."""
    store = FaultStore.of(env).active()
    keys = {f.key for f in store}
    return store + [f for f in seeded(env.setting, stamp, now) if f.key not in keys]


def current(env: EngineEnv, now: datetime | None = None) -> Snapshot:
    """The model as of now, and the alerts brought up to date (kept in the state directory)."""
    now = now or datetime.now(timezone.utc)
    stamp = model_stamp(env)
    faults = active_faults(env, stamp, now)
    model = build(stamp, faults, load_baseline(env, stamp, now), now)
    return Snapshot(model, alerts_mod.refresh(FaultStore.of(env), faults, now), now)


def list_alerts(env: EngineEnv, state: str | None = None) -> list[Alert]:
    """Active, closed (state "active" / "closed") or all alerts, newest first: `GET /api/alerts`."""
    return alerts_mod.select(current(env).alerts, state)


def engine_unreachable_hosts(env: EngineEnv) -> frozenset[str]:
    """Lower-case names of the hosts the collection engine cannot reach because of the model's faults
    (collector.faults.Faults.from_env). Cheap: no baseline, no alerts."""
    now = datetime.now(timezone.utc)
    stamp = model_stamp(env)
    return frozenset(h.lower() for h in unreachable_hosts(stamp, active_faults(env, stamp, now)))
