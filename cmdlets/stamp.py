"""The stamp cmdlets: Get-AzureStackStampInformation, Get-AzureStackSupportConfiguration,
Get-ThirdPartyNotices (reference §1.1, §6.4, §6.5).

Their values come from the stamp definition (ctx.runspace.env.stamp.definition); nothing is
invented per call, so a script that reads `.CloudID` or `.AdminExternalEndpoints.AdminResourceManager`
gets the same answer every time.
"""
from __future__ import annotations

import uuid
from importlib import resources
from typing import Any

from collector.stamp import Stamp
from powershell.commands import AS_JOB, Cmdlet, Example, Parameter
from powershell.objects import ErrorCategory, PSCustomObject, custom_object
from powershell.pipeline import CommandContext


def _derived_guid(stamp: Stamp, purpose: str) -> str:
    """A stable GUID for a value the stamp definition does not carry (same stamp, same value)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"azs-pep:{stamp.cloud_id}:{purpose}"))


def _role_addresses(stamp: Stamp, role: str) -> list[str]:
    out = []
    for host_name in stamp.roles.get(role, []):
        host = stamp.host(host_name)
        if host and host.address:
            out.append(host.address)
    return out


def stamp_information(stamp: Stamp) -> PSCustomObject:
    """The object Get-AzureStackStampInformation returns, built from the stamp definition."""
    d = stamp.definition
    external = d.get("external_domain") or f"{stamp.region}.azurestack.external"
    admin_fqdn = d.get("admin_external_fqdn") or f"adminmanagement.{external}"
    tenant_fqdn = d.get("tenant_external_fqdn") or f"management.{external}"
    dns = d.get("external_dns_addresses") or _role_addresses(stamp, "ExternalDNS")
    admin_endpoints = custom_object(
        None,
        AdminPortal=f"https://adminportal.{external}/",
        AdminResourceManager=f"https://{admin_fqdn}/",
        AdminHosting=f"https://*.adminhosting.{external}/",
        AdminKeyVault=f"https://adminvault.{external}/",
    )
    tenant_endpoints = custom_object(
        None,
        TenantPortal=f"https://portal.{external}/",
        TenantResourceManager=f"https://{tenant_fqdn}/",
        TenantHosting=f"https://*.hosting.{external}/",
        TenantKeyVault=f"https://vault.{external}/",
    )
    return custom_object(
        None,
        DeploymentID=d.get("deployment_id") or _derived_guid(stamp, "deployment"),
        OEMVersion=d.get("oem_version", ""),
        StampVersion=d.get("stamp_version", ""),
        InitialDeployedVersion=d.get("initial_deployed_version") or d.get("stamp_version", ""),
        Prefix=d.get("prefix") or stamp.name.upper(),
        CloudID=stamp.cloud_id,
        RegionName=stamp.region,
        DomainFQDN=d.get("domain_fqdn") or stamp.domain,
        ExternalDomainFQDN=external,
        NumberOfNodes=len(stamp.nodes),
        IdentitySystem=d.get("identity_system", "AzureAD"),
        AADTenantName=d.get("aad_tenant", ""),
        AADTenantID=d.get("aad_tenant_id") or _derived_guid(stamp, "aad-tenant"),
        TimeZone=d.get("time_zone", "UTC"),
        ExternalDNSIPAddress01=dns[0] if dns else None,
        ExternalDNSIPAddress02=dns[1] if len(dns) > 1 else None,
        EmergencyConsoleIPAddresses=[h.address for h in stamp.ercs],
        AdminExternalEndpoints=admin_endpoints,
        TenantExternalEndpoints=tenant_endpoints,
    )


class GetAzureStackStampInformation(Cmdlet):
    name = "Get-AzureStackStampInformation"
    synopsis = "Returns the stamp information."
    description = (
        "Returns the identity, versions and endpoints of this Azure Stack Hub stamp: DeploymentID, OEMVersion, "
        "StampVersion, CloudID, RegionName, the domain names, the number of physical nodes, the privileged "
        "endpoint (ERCS) addresses and the administrator and tenant external endpoints."
    )
    output_type = "System.Management.Automation.PSObject"
    parameters = (AS_JOB,)
    examples = (
        Example("Get the stamp information", "Get-AzureStackStampInformation"),
        Example("Read the CloudID from a workstation",
                "$stampInfo = Invoke-Command -Session $session { Get-AzureStackStampInformation }\n$stampInfo.CloudID",
                "Run on the workstation, with $session opened by New-PSSession -ConfigurationName PrivilegedEndpoint."),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        ctx.write_output(stamp_information(ctx.runspace.env.stamp))


class GetAzureStackSupportConfiguration(Cmdlet):
    name = "Get-AzureStackSupportConfiguration"
    synopsis = "Returns the Support Service configuration."
    description = (
        "Returns the registration and support settings of the stamp, or $null when the stamp is not registered. "
        "-IncludeRegistrationObjectId also fetches the object ID of the registration identity, which needs the "
        "Support VM to reach the internet."
    )
    output_type = "System.Management.Automation.PSObject"
    parameters = (
        Parameter("IncludeRegistrationObjectId", "switch", default="False",
                  help="Also returns the registration identity's object ID (needs internet connectivity)."),
        AS_JOB,
    )
    examples = (
        Example("Get the support configuration", "Get-AzureStackSupportConfiguration"),
        Example("Include the registration object ID", "Get-AzureStackSupportConfiguration -IncludeRegistrationObjectId"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        env = ctx.runspace.env
        stamp = env.stamp
        reg = stamp.definition.get("registration") or {}
        if not reg.get("registered"):
            ctx.write_output(None)
            return
        values: dict[str, Any] = dict(
            CloudID=stamp.cloud_id,
            RegistrationName=reg.get("registration_name", ""),
            SubscriptionId=reg.get("subscription_id", ""),
            ResourceGroupName=reg.get("resource_group", ""),
            AzureEnvironment=reg.get("environment", "AzureCloud"),
            SupportContainerName=reg.get("support_container", ""),
        )
        if params.get("IncludeRegistrationObjectId"):
            if not env.setting("support.internet", False):
                ctx.throw(
                    "Cannot get the registration object ID: the Support VM has no internet connectivity. Allow it "
                    "to reach Azure (emulator: set \"support.internet\": true in the configuration), or run the "
                    "command without -IncludeRegistrationObjectId.",
                    "SupportVMNoInternetConnectivity", ErrorCategory.ConnectionError,
                    exception_type="System.Net.WebException", target=stamp.cloud_id)
            values["RegistrationObjectId"] = reg.get("object_id") or _derived_guid(stamp, "registration-object")
        ctx.write_output(custom_object(None, **values))


def third_party_notices() -> str:
    return resources.files("fixtures").joinpath("third_party_notices.txt").read_text(encoding="utf-8")


class GetThirdPartyNotices(Cmdlet):
    name = "Get-ThirdPartyNotices"
    synopsis = "Returns the third-party notices of this privileged endpoint."
    description = "Returns the names and licenses of the third-party components this endpoint is built on."
    output_type = "System.String"
    parameters = (AS_JOB,)
    examples = (Example("Show the notices", "Get-ThirdPartyNotices"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        ctx.write_output(third_party_notices())


CMDLETS = (GetAzureStackStampInformation, GetAzureStackSupportConfiguration, GetThirdPartyNotices)
