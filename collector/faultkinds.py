"""The catalogue of faults `pep fault add KIND [TARGET]` can inject, one per alert the stamp raises.

Every alert of the automatic-collection trigger table (reference §4.2) has a kind, as have the later
additions (2102: Urp.UpdateWarning; 2108+: the storage data-corruption alerts), plus a few alerts
Azure Stack Hub raises that do not trigger a collection (internal certificates, a file share over
90%). A kind says what the fault is on (its target), the alert it raises (title, FaultIdType,
severity, whether it is a trigger) and which Test-AzureStack categories it moves (FAIL or WARN).
Pure data: collector.healthmodel applies it. docs/help-support.md lists the same table.
"""
from __future__ import annotations

from dataclasses import dataclass

# What a target names. None: the fault is on a stamp-wide component and takes no target.
TARGET_KINDS = ("node", "vm", "role", "certificate", "share")

# External certificates (the ones an operator rotates) and internal ones (Azure Stack rotates them).
EXTERNAL_CERTIFICATES: tuple[str, ...] = (
    "admin-portal", "public-portal", "arm-admin", "arm-public", "keyvault", "keyvault-internal",
    "acs-blob", "acs-table", "acs-queue", "admin-extension-host", "public-extension-host",
)
INTERNAL_CERTIFICATES: tuple[str, ...] = (
    "internal-ca", "service-fabric", "sql-endpoint", "network-controller", "ece-secret",
)


@dataclass(frozen=True)
class FaultKind:
    name: str
    title: str  # the alert title, exact strings of the reference (its typos kept)
    fault_id_type: str
    severity: str  # "Warning" | "Critical"
    trigger: bool  # raises a collection on its own (reference §4.2 and its later additions)
    target: str | None  # one of TARGET_KINDS, or None
    component: str  # the kind of component the alert is on ("Scale unit node", "Updates", ...)
    effects: tuple[tuple[str, str], ...]  # (Test-AzureStack category, "FAIL" | "WARN")
    cause: str  # the details line; "{target}" is replaced by the target
    source: str  # where the alert comes from: "4.2", "2102", "2108", or "not a trigger"
    unreachable: bool = False  # the target's host (and, for a node, its VMs) stop answering WinRM

    def describe(self, target: str | None) -> str:
        return self.cause.format(target=target or "")


_F, _W = "FAIL", "WARN"
KINDS: tuple[FaultKind, ...] = (
    FaultKind("usage-bridge-network-error", "Unable to connect to the remote service", "UsageBridge.NetworkError",
              "Warning", True, None, "Usage bridge",
              (("AzsNetworkInfra", _W), ("AzsInfraRoleSummary", _W)),
              "The usage bridge cannot reach Azure to report usage.", "4.2"),
    FaultKind("update-failed", "Update failed", "Urp.UpdateFailure", "Critical", True, None, "Updates",
              (("AzsInfraUpdateSummary", _F), ("AzsActionPlanStatus", _F)),
              "The last update run failed; the update action plan is in a failed state.", "4.2"),
    FaultKind("update-warning", "Update needs attention", "Urp.UpdateWarning", "Warning", True, None, "Updates",
              (("AzsInfraUpdateSummary", _W), ("AzsActionPlanStatus", _W)),
              "The update run needs attention before it can continue.", "2102"),
    FaultKind("srp-dependency-unavailable", "Storage Resource Provider infrastructure/dependencies not available",
              "StorageResourceProviderDependencyUnavailable", "Critical", True, None, "Storage resource provider",
              (("AzsInfraRoleSummary", _F), ("AzsStorageSvcsSummary", _F)),
              "The Storage Resource Provider cannot reach its infrastructure dependencies.", "4.2"),
    FaultKind("node-not-connected-to-controller", "Node not connected to controller",
              "ServerHostNotConnectedToController", "Critical", True, "node", "Network controller",
              (("AzsSDNValidation", _F), ("AzsNetworkInfra", _W)),
              "Scale unit node {target} is not connected to the network controller.", "4.2"),
    FaultKind("slb-route-publication-failure", "Route publication failure", "SlbMuxRoutePublicationFailure",
              "Critical", True, None, "Software load balancer",
              (("AzsSDNValidation", _F), ("AzsNetworkInfra", _F)),
              "The software load balancer MUX cannot publish its routes to the BGP peers.", "4.2"),
    FaultKind("srp-datastore-unavailable", "Storage Resource Provider internal data store unavailable",
              "StorageResourceProvider. DataStoreConnectionFail", "Critical", True, None,
              "Storage resource provider",
              (("AzsInfraRoleSummary", _F), ("AzsStorageSvcsSummary", _F)),
              "The Storage Resource Provider cannot connect to its internal data store.", "4.2"),
    FaultKind("virtual-disk-detached", "Storage device failure", "Microsoft.Health.FaultType.VirtualDisks.Detached",
              "Critical", True, "share", "Virtual disk",
              (("AzsHostingInfraSummary", _F), ("AzsStorageSvcsSummary", _F), ("AzsInfraCapacity", _W)),
              "The virtual disk of volume {target} is detached.", "4.2"),
    FaultKind("health-storage-error", "Health controller cannot access storage account",
              "Microsoft.Health.FaultType.StorageError", "Critical", True, None, "Health controller",
              (("AzsAcsSummary", _F), ("AzsInfraRoleSummary", _W)),
              "The health controller cannot access its storage account.", "4.2"),
    FaultKind("physical-disk-lost", "Connectivity to a physical disk has been lost",
              "Microsoft.Health.FaultType.PhysicalDisk.LostCommunication", "Warning", True, "node", "Physical disk",
              (("AzsHostingInfraSummary", _F), ("AzsStorageSvcsSummary", _W)),
              "Connectivity to physical disk 1 of scale unit node {target} has been lost.", "4.2"),
    FaultKind("blob-service-down", "The blob service isn't running on a node",
              "StorageService.The.blob.service.is.not.running.on.a.node-Critical", "Critical", True, "node",
              "Blob service",
              (("AzsStorageDataPlane", _F), ("AzsAcsSummary", _F)),
              "The blob service is not running on scale unit node {target}.", "4.2"),
    FaultKind("infra-role-unhealthy", "Infrastructure role unhealthy", "Microsoft.Health.FaultType.GenericExceptionFault",
              "Critical", True, "role", "Infrastructure role",
              (("AzsInfraRoleSummary", _F), ("AzsSFRoleSummary", _W)),
              "Infrastructure role {target} is unhealthy.", "4.2"),
    FaultKind("table-service-errors", "Table service errors", "StorageService.Table.service.errors-Critical",
              "Critical", True, None, "Table service",
              (("AzsStorageDataPlane", _F), ("AzsAcsSummary", _F)),
              "The table service reports errors.", "4.2"),
    FaultKind("file-share-over-80", "A file share is over 80% utilized",
              "Microsoft.Health.FaultType.FileShare.Capacity.Warning.Infra", "Warning", True, "share", "File share",
              (("AzsInfraCapacity", _W),),
              "File share {target} is 85% full.", "4.2"),
    FaultKind("node-offline", "Scale unit node is offline", "FRP.Heartbeat.PhysicalNode", "Critical", True, "node",
              "Scale unit node",
              (("AzsHostingInfraSummary", _F), ("AzsStampBMCSummary", _F), ("AzsInfraRoleSummary", _F),
               ("AzsScaleUnitResources", _F), ("AzsVmPlacement", _F), ("AzsHostingInfraUtilization", _W)),
              "Scale unit node {target} is offline.", "4.2", unreachable=True),
    FaultKind("infra-vm-unavailable", "Infrastructure role instance unavailable", "FRP.Heartbeat.InfraVM",
              "Critical", True, "vm", "Infrastructure role instance",
              (("AzsInfraRoleSummary", _F), ("AzsScaleUnitResources", _F)),
              "Infrastructure role instance {target} is unavailable.", "4.2", unreachable=True),
    FaultKind("nonha-vm-unavailable", "Infrastructure role instance unavailable", "FRP.Heartbeat.NonHaVm",
              "Critical", True, "vm", "Infrastructure role instance",
              (("AzsInfraRoleSummary", _F), ("AzsScaleUnitResources", _F)),
              "Infrastructure role instance {target} (not highly available) is unavailable.", "4.2",
              unreachable=True),
    FaultKind("time-sync-error",
              "The infrastructure role, Directory Management, has reported time synchronization errors",
              "DirectoryServiceTimeSynchronizationError", "Warning", True, None, "Time synchronisation",
              (("AzsAdSummary", _F), ("AzsNetworkInfra", _W)),
              "Directory Management reports time synchronization errors with the NTP server.", "4.2"),
    FaultKind("cert-expiring", "Pending external certificate expiration", "CertificateExpiration.ExternalCert.Warning",
              "Warning", True, "certificate", "Certificate",
              (("AzsPortalAPISummary", _W), ("AzsControlPlane", _W)),
              "External certificate {target} expires in 25 days.", "4.2"),
    FaultKind("cert-expiring-critical", "Pending external certificate expiration",
              "CertificateExpiration.ExternalCert.Critical", "Critical", True, "certificate", "Certificate",
              (("AzsPortalAPISummary", _F), ("AzsControlPlane", _F)),
              "External certificate {target} expires in 5 days.", "4.2"),
    FaultKind("vm-creation-low-memory",
              "Unable to provision virtual machines for specific class and size due to low memory capacity",
              "AzureStack.ComputeController.VmCreationFailure.LowMemory", "Critical", True, None, "Compute capacity",
              (("AzsHostingInfraUtilization", _F), ("AzsVmPlacement", _F), ("AzsInfraCapacity", _W)),
              "Memory in use on the scale unit is 96%; new virtual machines cannot be placed.", "4.2"),
    FaultKind("host-unresponsive", "Node inaccessible for virtual machine placement",
              "AzureStack.ComputeController.HostUnresponsive", "Critical", True, "node", "Compute capacity",
              (("AzsVmPlacement", _F), ("AzsHostingInfraSummary", _W)),
              "Scale unit node {target} does not accept virtual machine placement.", "4.2"),
    FaultKind("backup-failed", "Backup failed", "AzureStack.BackupController.BackupFailedGeneralFault", "Critical",
              True, None, "Infrastructure backup",
              (("AzsInfraRoleSummary", _F), ("AzsControlPlane", _W)),
              "The last infrastructure backup failed.", "4.2"),
    FaultKind("backup-skipped", "The scheduled backup was skipped due to a conflict with failed operations",
              "AzureStack.BackupController.BackupSkippedWithFailedOperationFault", "Warning", True, None,
              "Infrastructure backup",
              (("AzsInfraRoleSummary", _W),),
              "The scheduled infrastructure backup was skipped: failed operations conflict with it.", "4.2"),
    FaultKind("table-data-corruption", "Table server data corruption",
              "StorageService.Table.server.data.corruption-Critical", "Critical", True, None, "Table service",
              (("AzsStorageDataPlane", _F), ("AzsAcsSummary", _F)),
              "The table server reports data corruption.", "2108"),
    FaultKind("blob-data-corruption", "Blob service data is corrupted",
              "StorageService.Blob.service.data.is.corrupted-Critical", "Critical", True, None, "Blob service",
              (("AzsStorageDataPlane", _F), ("AzsAcsSummary", _F)),
              "The blob service reports corrupted data.", "2108"),
    FaultKind("account-container-corruption", "Account and Container Service data corruption",
              "StorageService.Account.and.Container.Service.data.corruption-Critical", "Critical", True, None,
              "Account and container service",
              (("AzsStorageDataPlane", _F), ("AzsAcsSummary", _F)),
              "The account and container service reports data corruption.", "2108"),
    # Alerts the stamp raises that do not start a collection.
    FaultKind("internal-cert-expiring", "Pending internal certificate expiration",
              "CertificateExpiration.InternalCert.Warning", "Warning", False, "certificate", "Certificate",
              (("AzsControlPlane", _W),),
              "Internal certificate {target} expires in 25 days.", "not a trigger"),
    FaultKind("file-share-over-90", "A file share is over 90% utilized",
              "Microsoft.Health.FaultType.FileShare.Capacity.Critical.Infra", "Critical", False, "share", "File share",
              (("AzsInfraCapacity", _F),),
              "File share {target} is 93% full.", "not a trigger"),
)
BY_NAME: dict[str, FaultKind] = {k.name: k for k in KINDS}


def shares(node_count: int) -> tuple[str, ...]:
    """The scale unit's volumes and their file shares (one share per volume), as named on a stamp."""
    n = max(1, node_count)
    return (("SU1_Infrastructure_1", "SU1_Infrastructure_2", "SU1_Infrastructure_3")
            + tuple(f"SU1_VmTemp_{i}" for i in range(1, n + 1))
            + tuple(f"SU1_ObjStore_{i}" for i in range(1, n + 1)))


def certificates(kind: FaultKind) -> tuple[str, ...]:
    return INTERNAL_CERTIFICATES if kind.fault_id_type.startswith("CertificateExpiration.Internal") \
        else EXTERNAL_CERTIFICATES
