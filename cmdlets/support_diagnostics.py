"""The read-only diagnostic cmdlets an unlocked support session sees (Unlock-SupportSession).

A real unlocked PEP session is full admin; the emulator grants a fixed, read-only set over the
stamp, named after Microsoft's Azs.Support diagnostic module style (the set is our choice,
docs/support-session.md): the health model's nodes, infrastructure VMs and role instances, the
active faults, the collection history and the collection lock. They are in no policy: the runspace
shows them only while a grant lasts (Runspace.grant_commands), so before the unlock and after it
ends Get-Command does not list them and calling one says the term is not recognised.
"""
from __future__ import annotations

from typing import Any

from powershell.commands import Cmdlet, Example, Parameter
from powershell.objects import custom_object
from powershell.pipeline import CommandContext


class GetAzsSupportInfrastructureHost(Cmdlet):
    name = "Get-AzsSupportInfrastructureHost"
    synopsis = "Lists the scale unit nodes and their health (support session only)."
    description = "Returns each scale unit node of the stamp with its health as the health model sees it now."
    parameters = (Parameter("Name", "string", position=0, help="Only the node with this name."),)
    examples = (Example("List the nodes", "Get-AzsSupportInfrastructureHost"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        _components(ctx, ("Scale unit node",), params.get("Name"), "AzsSupport.InfrastructureHost")


class GetAzsSupportInfrastructureRole(Cmdlet):
    name = "Get-AzsSupportInfrastructureRole"
    synopsis = "Lists the infrastructure VMs and role instances and their health (support session only)."
    description = ("Returns each infrastructure VM and each role instance of the stamp with its host and its "
                   "health as the health model sees it now.")
    parameters = (Parameter("Name", "string", position=0, help="Only entries whose name contains this text."),)
    examples = (Example("List the instances of one role", "Get-AzsSupportInfrastructureRole -Name ACS"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        _components(ctx, ("Infrastructure VM", "Role instance"), params.get("Name"), "AzsSupport.InfrastructureRole",
                    contains=True)


class GetAzsSupportFault(Cmdlet):
    name = "Get-AzsSupportFault"
    synopsis = "Lists the faults active on the stamp (support session only)."
    description = "Returns the active faults (from `pep fault` and the configuration's seeds), oldest first."
    examples = (Example("List the active faults", "Get-AzsSupportFault"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        from datetime import datetime, timezone

        from collector.healthmodel import active_faults, model_stamp

        env = ctx.runspace.env
        for fault in active_faults(env, model_stamp(env), datetime.now(timezone.utc)):
            ctx.write_output(custom_object("AzsSupport.Fault", Id=fault.id, Kind=fault.kind,
                                           Target=fault.target, Added=fault.added, Source=fault.source))


class GetAzsSupportCollectionHistory(Cmdlet):
    name = "Get-AzsSupportCollectionHistory"
    synopsis = "Lists the recent log collections of every front end (support session only)."
    description = ("Returns the collection history rows (PEP, Help + Support on demand and automatic), newest "
                   "first; destinations are shown without secrets.")
    parameters = (Parameter("First", "int", position=0, validate_range=(1, 1000), default="20",
                            help="How many rows, newest first."),)
    examples = (Example("The five latest collections", "Get-AzsSupportCollectionHistory -First 5"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        from collector.history import History

        for row in History(ctx.runspace.env.state).list_rows(0, int(params.get("First", 20))).rows:
            ctx.write_output(custom_object(
                "AzsSupport.CollectionHistory", Id=row.id, Type=row.type.value, Status=row.status.value,
                TimeCollected=row.time_collected, User=row.user, Destination=row.destination, Files=row.files,
                SizeMB=row.size_mb))


class GetAzsSupportCollectionLock(Cmdlet):
    name = "Get-AzsSupportCollectionLock"
    synopsis = "Shows who holds the stamp's collection lock, if anyone (support session only)."
    description = "Returns the holder of the one-collection-at-a-time lock (who, since when, which window), or nothing."
    examples = (Example("Is a collection running?", "Get-AzsSupportCollectionLock"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        from collector.healthmodel import model_stamp
        from collector.lock import collection_lock

        env = ctx.runspace.env
        holder = collection_lock(env.state, model_stamp(env).name).read()  # read without taking it
        if holder:
            ctx.write_output(custom_object(
                "AzsSupport.CollectionLock", User=holder.get("user"), Started=holder.get("started"),
                Window=holder.get("window"), ProcessId=holder.get("pid"), HostName=holder.get("hostname")))


def _components(ctx: CommandContext, kinds: tuple[str, ...], name: str | None, type_name: str,
                contains: bool = False) -> None:
    from collector.healthmodel import current

    wanted = (name or "").lower()
    for c in current(ctx.runspace.env).model.components:
        if c.type not in kinds:
            continue
        if wanted and not (wanted in c.name.lower() if contains else wanted == c.name.lower()):
            continue
        ctx.write_output(custom_object(type_name, Name=c.name, Type=c.type, Status=c.status, Host=c.parent,
                                       Detail=c.detail))


ELEVATED_CMDLETS: tuple[type[Cmdlet], ...] = (
    GetAzsSupportInfrastructureHost, GetAzsSupportInfrastructureRole, GetAzsSupportFault,
    GetAzsSupportCollectionHistory, GetAzsSupportCollectionLock,
)
