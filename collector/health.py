"""Test-AzureStack's categories over the live health model (collector.healthmodel).

    results(model, alerts, names, seeds) -> one TestResult per category    (pure)
    evaluate(env, names)                 -> the same for the stamp as it is now

A category fails or warns because of a fault that covers it (collector.faultkinds: each kind lists
the categories it moves), with a details line naming the cause and the fault; the Alert Summary
warns while any alert is active (the categories of each alert's component fail or warn themselves).
A passing category's details line says what was checked. The configuration can still seed results:
    "health": {"fail": ["AzsInfraRoleSummary"], "warn": ["AzsInfraCapacity"]}
forces those categories (a seed, documented in docs/help-support.md), and hosts in
"faults": {"unreachable_hosts": [...]} are faults of the model (collector.faultstore.seeded).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from collector.alerts import Alert
from collector.healthmodel import CRITICAL, HEALTHY, HealthModel, current
from collector.settings import EngineEnv
from collector.stampgen import HOSTS_DIR

# Reference §3.2: (argument, display name without the "Azure Stack Hub" prefix).
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("AzsAcsSummary", "ACS Summary"),
    ("AzsAdSummary", "Active Directory Summary"),
    ("AzsAlertSummary", "Alert Summary"),
    ("AzsApplicationCrashSummary", "Application Crash Summary"),
    ("AzsBackupShareAccessibility", "Backup Share Accessibility Summary"),
    ("AzsStampBMCSummary", "BMC Summary"),
    ("AzsHostingInfraSummary", "Cloud Hosting Infrastructure Summary"),
    ("AzsHostingInfraUtilization", "Cloud Hosting Infrastructure Utilization"),
    ("AzsControlPlane", "Control Plane Summary"),
    ("AzsDefenderSummary", "Defender Summary"),
    ("AzsHostingInfraFWSummary", "Hosting Infrastructure Firmware Summary"),
    ("AzsInfraCapacity", "Infrastructure Capacity"),
    ("AzsInfraPerformance", "Infrastructure Performance"),
    ("AzsInfraRoleSummary", "Infrastructure Role Summary"),
    ("AzsNetworkInfra", "Network Infra"),
    ("AzsPortalAPISummary", "Portal and API Summary"),
    ("AzsScaleUnitEvents", "Scale Unit VM Events"),
    ("AzsScaleUnitResources", "Scale Unit VM Resources"),
    ("AzsScenarios", "Scenarios"),
    ("AzsSDNValidation", "SDN Validation Summary"),
    ("AzsSFRoleSummary", "Service Fabric Role Summary"),
    ("AzsStorageDataPlane", "Storage Data Plane"),
    ("AzsStorageSvcsSummary", "Storage Services Summary"),
    ("AzsStoreSummary", "SQL Store Summary"),
    ("AzsInfraUpdateSummary", "Update Summary"),
    ("AzsVmPlacement", "VM Placement Summary"),
    # Only ever run as members of a group (reference §3.2).
    ("AzsInfraFileValidation", "Infrastructure File Validation"),
    ("AzsActionPlanStatus", "Action Plan Status"),
)
DISPLAY = dict(CATEGORIES)
GROUP_ONLY = ("AzsInfraFileValidation", "AzsActionPlanStatus")
GROUPS: dict[str, tuple[str, ...]] = {
    # Scenarios need -ServiceAdminCredentials and the backup test needs -BackupSharePath: they join the
    # default run only when those are given.
    "Default": tuple(c for c, _ in CATEGORIES if c not in GROUP_ONLY + ("AzsScenarios", "AzsBackupShareAccessibility")),
    "UpdateReadiness": ("AzsInfraFileValidation", "AzsActionPlanStatus", "AzsStampBMCSummary"),
    "SecretRotationReadiness": (
        "AzsAcsSummary", "AzsDefenderSummary", "AzsHostingInfraSummary", "AzsInfraCapacity", "AzsInfraRoleSummary",
        "AzsPortalAPISummary", "AzsSFRoleSummary", "AzsStorageSvcsSummary", "AzsStoreSummary",
    ),
}
# Groups where a warning blocks, so it is reported as an error (reference §3.3).
WARNINGS_ARE_ERRORS = ("UpdateReadiness", "SecretRotationReadiness")


@dataclass
class TestResult:
    name: str
    status: str  # PASS | WARN | FAIL
    detail: str = ""

    @property
    def display_name(self) -> str:
        return f"Azure Stack Hub {DISPLAY.get(self.name, self.name)}"


def _count(model: HealthModel, kind: str, status: str = HEALTHY) -> tuple[int, int]:
    comps = model.of_type(kind)
    return sum(1 for c in comps if c.status == status), len(comps)


def pass_detail(name: str, model: HealthModel) -> str:
    """What a passing category checked, from the model."""
    if name == "AzsHostingInfraSummary":
        up, total = _count(model, "Scale unit node")
        return f"{up} of {total} scale unit nodes are up; physical disks and volumes healthy."
    if name in ("AzsInfraRoleSummary", "AzsScaleUnitResources"):
        ok, total = _count(model, "Infrastructure VM")
        inst, itotal = _count(model, "Role instance")
        return f"{ok} of {total} infrastructure VMs and {inst} of {itotal} role instances are healthy."
    if name == "AzsInfraCapacity":
        shares = model.of_type("File share")
        top = max(shares, key=lambda c: int(c.values.get("used_percent", 0)))
        return f"{len(shares)} file shares; the fullest, {top.name}, is {top.values.get('used_percent')}% used."
    if name in ("AzsHostingInfraUtilization", "AzsVmPlacement"):
        (c,) = model.of_type("Compute capacity")
        return c.detail
    if name in ("AzsInfraUpdateSummary", "AzsActionPlanStatus"):
        (c,) = model.of_type("Update")
        return c.detail
    if name in ("AzsPortalAPISummary", "AzsControlPlane"):
        certs = model.of_type("Certificate")
        soon = min(certs, key=lambda c: int(c.values.get("days_left", 0)))
        return f"{len(certs)} certificates valid; the next to expire is {soon.name} ({soon.values.get('expires')})."
    if name in ("AzsSDNValidation", "AzsNetworkInfra"):
        return "Network controller: all nodes connected; SLB MUX routes published; DNS, NTP and identity reachable."
    if name in ("AzsStorageDataPlane", "AzsStorageSvcsSummary", "AzsAcsSummary"):
        ok, total = _count(model, "Storage service")
        return f"{ok} of {total} storage services (blob, table, queue, account and container) running."
    if name == "AzsAdSummary":
        (c,) = model.of_type("Time synchronisation")
        return f"Directory Management healthy; {c.detail[0].lower()}{c.detail[1:]}"
    if name == "AzsAlertSummary":
        return "No active alerts."
    return "No issues found."


def results(model: HealthModel, alerts: Iterable[Alert], names: list[str],
            fail: Iterable[str] = (), warn: Iterable[str] = ()) -> list[TestResult]:
    """Each named category's result for this model and these alerts. `fail` / `warn`: categories the
    configuration forces (health.fail / health.warn)."""
    fail_set, warn_set = {n.lower() for n in fail}, {n.lower() for n in warn}
    causes: dict[str, list[tuple[str, str]]] = {}
    for f in model.faults:
        text = f.spec.describe(f.target)
        if f.spec.unreachable and f.spec.target == "node":
            vms = [h for h, why in model.unreachable.items() if why == f"its node {f.target} is offline"]
            if vms:
                text = text[:-1] + f"; its infrastructure VMs do not answer: {', '.join(vms)}."
        elif f.spec.unreachable:
            text = text[:-1] + f" (host {f.target} not reachable)."
        where = f"fault {f.id}" if f.source == "pep fault" else "faults.unreachable_hosts in the configuration"
        for category, status in f.spec.effects:
            causes.setdefault(category, []).append((status, f"{text.rstrip('.')} ({where})."))
    active = [a for a in alerts if a.state == "Active"]
    if active:
        crit = sum(1 for a in active if a.severity == CRITICAL)
        titles = "; ".join(sorted({a.title for a in active}))
        causes.setdefault("AzsAlertSummary", []).append(
            ("WARN", f"{len(active)} active alert(s), {crit} critical: {titles}."))
    out = []
    for name in names:
        found = causes.get(name, [])
        if name.lower() in fail_set:
            out.append(TestResult(name, "FAIL", "Reported failing by the stamp's health configuration (health.fail)."))
        elif any(s == "FAIL" for s, _ in found):
            out.append(TestResult(name, "FAIL", " ".join(t for s, t in found if s == "FAIL")))
        elif found:
            out.append(TestResult(name, "WARN", " ".join(t for _, t in found)))
        elif name.lower() in warn_set:
            out.append(TestResult(name, "WARN", "Reported as a warning by the stamp's health configuration (health.warn)."))
        else:
            out.append(TestResult(name, "PASS", pass_detail(name, model)))
    return out


def evaluate(env: EngineEnv, names: list[str], now: datetime | None = None) -> list[TestResult]:
    """Result of each named test for the stamp's current state."""
    snap = current(env, now)
    return results(snap.model, snap.alerts, names,
                   env.setting("health.fail", []) or [], env.setting("health.warn", []) or [])


# -- Test-AzureStack's own log -----------------------------------------------------------------------

VALIDATION_ROLE = "SeedRing"  # the ERCS VMs' role: Get-AzureStackLog -FilterByRole SeedRing takes the log


def validation_log_text(results_: list[TestResult], group: str, started: datetime, ended: datetime,
                        blocking_warnings: bool) -> str:
    """The log of one Test-AzureStack run: ISO-timestamped lines (the engine reads the first record time)."""
    def ts(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    lines = [f"{ts(started)} [Info] Starting Test-AzureStack (group {group}, {len(results_)} test(s))"]
    failed = 0
    for r in results_:
        status = "FAIL" if r.status == "WARN" and blocking_warnings else r.status
        failed += status == "FAIL"
        level = {"PASS": "Info", "WARN": "Warning", "FAIL": "Error"}[status]
        lines.append(f"{ts(ended)} [{level}] {r.name} ({r.display_name}): {status}. {r.detail}")
    lines.append(f"{ts(ended)} [Info] Test-AzureStack completed "
                 + (f"with failures ({failed} failed)" if failed else "successfully"))
    return "\n".join(lines) + "\n"


def write_validation_log(stamp_root: Path, ercs: str, text: str, started: datetime) -> Path:
    """Write the log where Get-AzureStackLog reads the ERCS VM's logs:
    `<stamp>/hosts/<ercs>/SeedRing/Logs/AzureStack_Validation_Summary.<yyyyMMddHHmmss>.log` (a timed
    rolled series, newest last). Two runs in the same second share one file."""
    path = stamp_root / HOSTS_DIR / ercs / VALIDATION_ROLE / "Logs" / (
        f"AzureStack_Validation_Summary.{started.astimezone(timezone.utc):%Y%m%d%H%M%S}.log")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
    return path
