"""The stamp model: topology of an Azure Stack Hub scale unit (ERCS, VMs, physical nodes, roles).

Loaded from a stamp definition JSON: the embedded default (`fixtures/default_stamp.json`) or
`stamp.json` inside a generated stamp directory (`pep stamp generate DIR`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

# The 79 FilterByRole names, in the order the documentation lists them.
ROLE_NAMES: tuple[str, ...] = tuple(
    "ACS ACSBlob ACSDownloadService ACSFabric ACSFrontEnd ACSMetrics ACSMigrationService ACSMonitoringService "
    "ACSSettingsService ACSTableMaster ACSTableServer ACSWac ADFS ApplicationController ASAppGateway AzureBridge "
    "AzureMonitor BareMetal BRP CA CacheService Compute CPI CRP DeploymentMachine DiskRP Domain "
    "ECE EventAdminRP EventRP ExternalDNS FabricRing FabricRingServices FirstTierAggregationService FRP Gateway "
    "HealthMonitoring HintingServiceV2 HRP IBC InfraServiceController KeyVaultAdminResourceProvider "
    "KeyVaultControlPlane KeyVaultDataPlane KeyVaultInternalControlPlane KeyVaultInternalDataPlane "
    "KeyVaultNamingService MDM MetricsAdminRP MetricsRP MetricsServer MetricsStoreService MonAdminRP MonRP "
    "NC NonPrivilegedAppGateway NRP OboService OEM OnboardRP PXE QueryServiceCoordinator QueryServiceWorker "
    "SeedRing SeedRingServices SLB SQL SRP Storage StorageController URP "
    "SupportBridgeController SupportRing SupportRingServices SupportBridgeRP UsageBridge VirtualMachines WAS WASPUBLIC".split()
)
assert len(ROLE_NAMES) == 79

RESOURCE_PROVIDER_NAMES: tuple[str, ...] = (
    "iothubServiceHealth", "eventhub", "databoxedge", "SQLAdapter", "MySQLAdapter", "IotHub", "ACR",
)
LOG_TYPES: tuple[str, ...] = ("File", "Share", "WindowsEvent")
ON_DEMAND_ROLES: tuple[str, ...] = ("OEM", "NC", "SLB", "Gateway")


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    kind: str  # "node" (physical) or "vm" (infrastructure VM)
    parent: str | None = None  # the node a VM runs on


@dataclass
class Stamp:
    name: str
    domain: str
    region: str
    cloud_id: str
    definition: dict[str, Any]
    ercs: list[Host] = field(default_factory=list)
    nodes: list[Host] = field(default_factory=list)
    vms: list[Host] = field(default_factory=list)
    roles: dict[str, list[str]] = field(default_factory=dict)  # role -> host names
    resource_providers: dict[str, list[str]] = field(default_factory=dict)
    root: Path | None = None  # directory holding the generated logs, when there is one

    @property
    def ercs_name(self) -> str:
        """The ERCS VM this PEP session runs on (the first one)."""
        return self.ercs[0].name if self.ercs else f"{self.name}-ercs01"

    @property
    def hosts(self) -> list[Host]:
        return self.nodes + self.vms

    def host(self, name: str) -> Host | None:
        low = name.lower()
        for h in self.hosts:
            if h.name.lower() == low:
                return h
        return None

    def roles_on(self, host: str) -> list[str]:
        low = host.lower()
        return [r for r, hs in self.roles.items() if low in (h.lower() for h in hs)]


def default_definition() -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(resources.files("fixtures").joinpath("default_stamp.json").read_text())
    return definition


def stamp_from_definition(d: dict[str, Any], root: Path | None = None) -> Stamp:
    vm_hosts = [Host(v["name"], v.get("address", ""), "vm", v.get("host")) for v in d.get("vms", [])]
    by_name = {v.name: v for v in vm_hosts}
    ercs = [by_name.get(e["name"]) or Host(e["name"], e.get("address", ""), "vm") for e in d.get("ercs", [])]
    # The PEP answers on the ERCS addresses listed in the definition.
    ercs = [Host(h.name, e.get("address", h.address), "vm", h.parent) for h, e in zip(ercs, d.get("ercs", []), strict=True)]
    return Stamp(
        name=d["name"],
        domain=d.get("domain", "azurestack.local"),
        region=d.get("region", "local"),
        cloud_id=d.get("cloud_id", ""),
        definition=d,
        ercs=ercs,
        nodes=[Host(n["name"], n.get("address", ""), "node") for n in d.get("nodes", [])],
        vms=vm_hosts,
        roles={r: list(hs) for r, hs in d.get("roles", {}).items()},
        resource_providers={r: list(hs) for r, hs in d.get("resource_providers", {}).items()},
        root=root,
    )


def load_stamp(directory: str | Path | None = None) -> Stamp:
    """The embedded default stamp when `directory` is None, else `<directory>/stamp.json`."""
    if directory is None:
        return stamp_from_definition(default_definition())
    root = Path(directory)
    return stamp_from_definition(json.loads((root / "stamp.json").read_text()), root=root)
