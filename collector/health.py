"""The stamp's health model: what Test-AzureStack validates, and (later) what raises alerts.

Test results come from the stamp's state as configuration describes it (emulator-only knobs,
DESIGN rule 2):
    "health": {"fail": ["AzsInfraRoleSummary"], "warn": ["AzsInfraCapacity"]}
    "faults": {"unreachable_hosts": ["azs-xrp02"]}     # also used by the collection engine
An unreachable host fails the summaries that cover it, as on a real stamp.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
# Which summaries notice an unreachable host of each kind.
HOST_CHECKS = {"node": ("AzsHostingInfraSummary", "AzsStampBMCSummary"), "vm": ("AzsInfraRoleSummary", "AzsScaleUnitResources")}


@dataclass
class TestResult:
    name: str
    status: str  # PASS | WARN | FAIL
    detail: str = ""

    @property
    def display_name(self) -> str:
        return f"Azure Stack Hub {DISPLAY.get(self.name, self.name)}"


def evaluate(env: Any, names: list[str]) -> list[TestResult]:
    """Result of each named test for the stamp's current state."""
    fail = set(env.setting("health.fail", []) or [])
    warn = set(env.setting("health.warn", []) or [])
    down: dict[str, list[str]] = {}
    for host_name in env.setting("faults.unreachable_hosts", []) or []:
        host = env.stamp.host(host_name)
        for test in HOST_CHECKS.get(host.kind if host else "vm", ()):
            down.setdefault(test, []).append(host_name)
    results = []
    for name in names:
        if name in fail:
            results.append(TestResult(name, "FAIL", "Reported failing by the stamp's health configuration."))
        elif name in down:
            hosts = ", ".join(down[name])
            results.append(TestResult(name, "FAIL", f"Host(s) not reachable: {hosts}."))
        elif name in warn:
            results.append(TestResult(name, "WARN", "Reported as a warning by the stamp's health configuration."))
        else:
            results.append(TestResult(name, "PASS"))
    return results
