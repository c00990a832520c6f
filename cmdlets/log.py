"""The log cmdlets of the PEP (reference §2 and §6): Get-AzureStackLog, Send-AzureStackDiagnosticLog,
Invoke-AzureStackOnDemandLog, Get-ClusterLog. Each validates its input, then calls the engine.

Destination rules of Get-AzureStackLog (the reference gives none explicitly; our decision, §2.3):
exactly one of -OutputPath, -OutputSharePath (with -OutputShareCredential), -OutputSasUri;
-InputSasUri downloads into -OutputPath and collects nothing; with no destination the configured
default folder (collection.default_output_path, default <state>/AzureStackLogs) is used and printed.
Every local folder a cmdlet writes to goes through _local_folder first: a remote session
(ctx.runspace.output_roots set by the listener) may write only under the output roots
(collector/output_roots.py, docs/security.md); the console is unrestricted.
-FilterByRole and -FilterByResourceProvider are in different parameter sets, so the binder answers
AmbiguousParameterSet when both are given, as the real cmdlet does.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cmdlets.engine_bridge import error_record_of, run_collection
from collector.destination import AsTyped, Destination, DestinationKind, collection_request, open_sink
from collector.errors import Category, CollectionError, CollectionStopped
from collector.plan import DEFAULT_TIMEOUT_MINUTES, unknown_nodes
from collector.sinks.base import Sink
from collector.stamp import LOG_TYPES, ON_DEMAND_ROLES, RESOURCE_PROVIDER_NAMES, ROLE_NAMES
from collector.window import WindowError, resolve
from common.redact import redact
from powershell.commands import AS_JOB, Cmdlet, Example, Parameter
from powershell.limits import shorten
from powershell.objects import ErrorCategory, custom_object, error_record
from powershell.pipeline import CommandContext, PipelineStoppedError, TerminatingError


def _env(ctx: CommandContext) -> Any:
    return ctx.runspace.env


def _user(ctx: CommandContext) -> str:
    return getattr(ctx.runspace, "user", "") or ""


def _fail(ctx: CommandContext, message: str, error_id: str, category=ErrorCategory.InvalidArgument,
          exception_type: str = "System.ArgumentException", target: Any = None) -> None:
    ctx.throw(redact(message), error_id, category, exception_type=exception_type, target=target)


def _as_typed(params: dict[str, Any]) -> AsTyped:
    """The request as typed, for the resume key (collector.destination): the same for every log cmdlet."""
    def text(v: Any) -> str | None:
        return None if v is None else str(v)

    return AsTyped(from_date=text(params.get("FromDate")), to_date=text(params.get("ToDate")),
                   roles=params.get("FilterByRole"), resource_providers=params.get("FilterByResourceProvider"),
                   nodes=params.get("FilterByNode"), log_types=params.get("FilterByLogType"),
                   include_dumps=bool(params.get("IncludeDumpFile")),
                   vm_recovery=bool(params.get("PerformVMLogRecovery")))


def _window(ctx: CommandContext, params: dict[str, Any]):
    try:
        return resolve(params.get("FromDate"), params.get("ToDate"))
    except WindowError as e:
        _fail(ctx, str(e), "InvalidTimeWindow", target=params.get("ToDate"))


def _check_nodes(ctx: CommandContext, nodes: list[str] | None) -> None:
    bad = unknown_nodes(_env(ctx).stamp, nodes)
    if bad:
        known = ", ".join(h.name for h in _env(ctx).stamp.hosts)
        _fail(ctx, f"Cannot find the computer '{shorten(bad[0])}' in this stamp. Valid -FilterByNode values: {known}.",
              "NodeNotFound", ErrorCategory.ObjectNotFound, target=shorten(bad[0]))


def _local_folder(ctx: CommandContext, folder: Any, *, configured: str | None = None) -> Path:
    """The local folder a session asks the server to write to, checked before any work: a NUL byte
    or an over-long name is InvalidOutputPath for anyone; a remote session (ctx.runspace.output_roots
    set) may write only under the output roots (collector.output_roots), else UnauthorizedOutputPath.
    `configured`: the configuration key the folder came from (the operator's value: `~` expanded)."""
    from collector.output_roots import OutputPathError, resolve_output_path

    roots = getattr(ctx.runspace, "output_roots", None)
    try:
        return resolve_output_path(str(folder), roots, expand_user=configured is not None)
    except OutputPathError as e:
        message = e.message
        if configured is not None:
            message += f" The folder is the one configured as {configured}."
        _fail(ctx, message, e.error_id, getattr(ErrorCategory, e.category), exception_type=e.exception_type,
              target=str(folder).replace("\0", "\\0"))
        raise  # unreachable: _fail raises


def _make_folder(ctx: CommandContext, folder: Any, error_id: str, *, configured: str | None = None) -> Path:
    """Create a destination folder before any work, or refuse with a record (never a traceback)."""
    path = _local_folder(ctx, folder, configured=configured)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        why = "a file of that name exists" if isinstance(e, (FileExistsError, NotADirectoryError)) else e.strerror
        _fail(ctx, f"Cannot create the destination '{shorten(path)}': {why}.", error_id, ErrorCategory.WriteError,
              exception_type="System.IO.IOException", target=shorten(folder))
    return path


def _open_sink(ctx: CommandContext, dest: Destination) -> Sink:
    """The sink for a destination, or a terminating record before any work (collector.destination)."""
    try:
        return open_sink(dest, _env(ctx))
    except CollectionError as e:
        if e.category is Category.NotInstalled:  # its SDK is missing
            raise TerminatingError(error_record_of(e, ctx.command)) from None
        # a share path that is no UNC path; a SAS URL is never a target (it holds a secret)
        target = shorten(dest.location) if dest.kind is DestinationKind.SHARE else None
        raise TerminatingError(error_record_of(e.with_target(target), ctx.command, "System.ArgumentException")) from None


# -- Get-AzureStackLog ---------------------------------------------------------------------------

class GetAzureStackLog(Cmdlet):
    name = "Get-AzureStackLog"
    synopsis = "Collects logs from the various roles of Azure Stack Hub, with a timeout; single- or multi-node."
    description = (
        "Collects the logs of the given window (by default the last 4 hours) from every infrastructure role, or "
        "the roles, computers and log types given, packages each role into its own zip file(s) and delivers them "
        "with Get-AzureStackLog_Output.log and manifest.json into a new folder "
        "AzureStackLogs-<yyyyMMddHHmmss>-<ERCS name> at exactly one destination: -OutputPath, -OutputSharePath "
        "with -OutputShareCredential, or -OutputSasUri. Only one collection runs at a time; running the same "
        "command again after an interruption resumes it."
    )
    default_parameter_set = "Role"
    parameters = (
        Parameter("FilterByRole", "string[]", syntax_type="object", sets=("Role",), validate_set=ROLE_NAMES,
                  help="Collect only these infrastructure roles (comma list)."),
        Parameter("CustomerConfigurationFilePath", "string", syntax_type="object",
                  help="Path of the customer configuration file (accepted; not used by the emulator)."),
        Parameter("OutputPath", "string", syntax_type="object",
                  help="Folder in which the log folder is created; with -InputSasUri, where blobs are downloaded."),
        Parameter("LocalAdminCredential", "pscredential", syntax_type="object",
                  help="Local administrator credential (accepted; not used by the emulator)."),
        Parameter("FilterByResourceProvider", "string[]", syntax_type="object", sets=("ResourceProvider",),
                  validate_set=RESOURCE_PROVIDER_NAMES, help="Collect the logs of these value-add resource providers."),
        Parameter("InputSasUri", "string", syntax_type="object",
                  help="Blob container SAS URI to download logs from into -OutputPath."),
        Parameter("FilterByNode", "string[]", syntax_type="object", help="Collect only from these computers."),
        Parameter("OutputShareCredential", "pscredential", syntax_type="object", help="Credential for -OutputSharePath."),
        Parameter("ToDate", "datetime", syntax_type="object", default="(Get-Date)", help="End of the window."),
        Parameter("FilterByLogType", "string[]", syntax_type="object", validate_set=LOG_TYPES,
                  help="Collect only these log types: File, Share, WindowsEvent."),
        Parameter("TimeOutInMinutes", "int", syntax_type="object", validate_range=(1, 10080),
                  default=str(DEFAULT_TIMEOUT_MINUTES), help="Timeout of the whole collection, in minutes."),
        Parameter("FromDate", "datetime", syntax_type="object", default="(Get-Date).AddHours(-4)",
                  help="Start of the window."),
        Parameter("OutputSharePath", "string", syntax_type="object", help="SMB share (UNC path) to move the logs to."),
        Parameter("OutputSasUri", "string", syntax_type="object", help="Blob container SAS URI to move the logs to."),
        Parameter("PerformVMLogRecovery", "switch",
                  help="Recover the Windows event logs of infrastructure VMs that are off or unreachable."),
        Parameter("IncludeDumpFile", "switch", help="Also collect crash dump files."),
        AS_JOB,
    )
    examples = (
        Example("Collect all logs of all roles for the last 4 hours to a share",
                "Get-AzureStackLog -OutputSharePath \"\\\\10.0.0.5\\Logs\" -OutputShareCredential $shareCred"),
        Example("Collect the VirtualMachines and BareMetal logs of a window to a folder",
                "Get-AzureStackLog -OutputPath C:\\AzureStackLogs -FilterByRole VirtualMachines,BareMetal "
                "-FromDate \"11/25/2026 08:00\" -ToDate \"11/25/2026 12:00\""),
        Example("Collect to a blob container", "Get-AzureStackLog -OutputSasUri \"<container SAS URL>\""),
        Example("Collect the logs of a value-add resource provider",
                "Get-AzureStackLog -FilterByResourceProvider SQLAdapter -OutputPath C:\\Logs"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        env = _env(ctx)
        out_path, share, sas = params.get("OutputPath"), params.get("OutputSharePath"), params.get("OutputSasUri")
        share_cred, in_sas = params.get("OutputShareCredential"), params.get("InputSasUri")
        given = [n for n, v in (("-OutputPath", out_path), ("-OutputSharePath", share), ("-OutputSasUri", sas)) if v]
        if in_sas is not None:
            if not out_path or share or sas:
                _fail(ctx, "-InputSasUri downloads logs into a local folder: use it with -OutputPath and no other "
                      "destination.", "InputSasUriRequiresOutputPath")
        elif len(given) > 1:
            _fail(ctx, f"{' and '.join(given)} cannot be used together. Specify exactly one destination: "
                  "-OutputPath, -OutputSharePath with -OutputShareCredential, or -OutputSasUri.",
                  "ConflictingDestinations")
        if share and share_cred is None:
            _fail(ctx, "-OutputSharePath requires -OutputShareCredential.", "MissingOutputShareCredential")
        if share_cred is not None and not share:
            _fail(ctx, "-OutputShareCredential is only used with -OutputSharePath.", "MissingOutputSharePath")
        # A local folder (given, or the configured default) is checked before anything else is done.
        folder: Path | None = None
        if out_path:
            folder = _local_folder(ctx, out_path)
        elif not share and not sas and in_sas is None:
            # The default: collection.default_output_path, else <state>/AzureStackLogs (the console) or
            # the first output root (a remote session; by default that same folder).
            configured = env.setting("collection.default_output_path")
            roots = getattr(ctx.runspace, "output_roots", None)
            default = configured or str(roots[0] if roots else env.state.path / "AzureStackLogs")
            folder = _local_folder(ctx, default, configured="collection.default_output_path" if configured else None)
        _check_nodes(ctx, params.get("FilterByNode"))
        window = _window(ctx, params)

        if in_sas is not None:
            assert folder is not None
            self._download(ctx, in_sas, window, folder)
            return
        if share:
            dest = Destination.share(share, share_cred)
        elif sas:
            dest = Destination.container(sas)
        else:
            assert folder is not None
            if not out_path:
                ctx.write_host(f"No destination given: collecting to the default folder {folder}")
            dest = Destination.folder(folder)
        sink = _open_sink(ctx, dest)
        req = collection_request(
            self.name, env.stamp.name, window, _as_typed(params), dest, user=_user(ctx),
            timeout_minutes=float(params.get("TimeOutInMinutes") or DEFAULT_TIMEOUT_MINUTES))
        run_collection(ctx, env, req, sink)

    def _download(self, ctx: CommandContext, in_sas: str, window: Any, out_path: Path) -> None:
        try:
            from collector.errors import DestinationError
            from collector.sas import parse_sas_url
            from collector.sinks.blob import download_window
        except ImportError as e:
            _fail(ctx, f"The blob storage source is not available: {e}", "DestinationNotAvailable",
                  ErrorCategory.NotInstalled, exception_type="System.NotSupportedException")
        try:
            parse_sas_url(in_sas).check("rl")  # a SAS that cannot work is refused before anything is said or done
        except DestinationError as e:
            _fail(ctx, e.message, e.error_id, getattr(ErrorCategory, e.category, ErrorCategory.InvalidArgument),
                  exception_type="System.IO.IOException")
        ctx.write_host(f"Converting FromDate and ToDate to UTC: {window.describe()}")
        done = [0]

        def progress(n: int) -> None:
            done[0] += n
            ctx.write_progress("Get-AzureStackLog", f"Downloaded {done[0] / 1048576:.1f} MB", activity_id=1)

        try:
            paths = download_window(in_sas, window.from_utc, window.to_utc, out_path, progress, ctx.stop_event)
        except CollectionStopped:
            raise PipelineStoppedError("The pipeline has been stopped.") from None
        except DestinationError as e:
            _fail(ctx, e.message, e.error_id, getattr(ErrorCategory, e.category, ErrorCategory.ResourceUnavailable),
                  exception_type="System.IO.IOException")
        ctx.write_progress("Get-AzureStackLog", "Completed", activity_id=1, completed=True)
        ctx.write_host(f"Downloaded {len(paths)} file(s) ({done[0] / 1048576:.1f} MB) into {out_path}")


# -- Send-AzureStackDiagnosticLog -------------------------------------------------------------------

class SendAzureStackDiagnosticLog(Cmdlet):
    name = "Send-AzureStackDiagnosticLog"
    synopsis = "Uploads the stamp's diagnostic logs to Microsoft through the Support Bridge service."
    description = (
        "Collects the logs of the window (by default the last 4 hours) and uploads them to the support storage "
        "container of the stamp's registration. The stamp must be registered and connected; in the emulator the "
        "container is the SAS URL configured as support.sas_url."
    )
    parameters = (
        Parameter("FilterByRole", "string[]", syntax_type="object", position=1, validate_set=ROLE_NAMES,
                  help="Infrastructure roles to send."),
        Parameter("FilterByResourceProvider", "string[]", syntax_type="object", position=2,
                  validate_set=RESOURCE_PROVIDER_NAMES, help="Value-add resource providers to send."),
        Parameter("FromDate", "datetime", syntax_type="object", position=3, help="Start of the window (default: 4 hours ago)."),
        Parameter("ToDate", "datetime", syntax_type="object", position=4, help="End of the window (default: now)."),
        Parameter("FilterByNode", "string[]", syntax_type="object", help="Send only logs of these computers."),
        Parameter("FilterByLogType", "string[]", syntax_type="object", validate_set=LOG_TYPES, help="File, Share, WindowsEvent."),
        AS_JOB,
    )
    examples = (
        Example("Send the logs of the Support Service and WAS", "Send-AzureStackDiagnosticLog -FilterByRole SupportBridgeController,WAS"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        env = _env(ctx)
        sas = env.setting("support.sas_url")
        registered = (env.stamp.definition.get("registration") or {}).get("registered", False)
        if not sas or not registered:
            _fail(ctx, "The stamp is not connected to Azure: diagnostic logs can only be sent from a registered, "
                  "connected stamp. (Emulator: set support.sas_url in the configuration to the support container.)",
                  "StampNotRegistered", ErrorCategory.ConnectionError, exception_type="System.InvalidOperationException")
        _check_nodes(ctx, params.get("FilterByNode"))
        window = _window(ctx, params)
        dest = Destination.container(sas)
        sink = _open_sink(ctx, dest)
        req = collection_request(self.name, env.stamp.name, window, _as_typed(params), dest, user=_user(ctx))
        run_collection(ctx, env, req, sink)


# -- Invoke-AzureStackOnDemandLog -------------------------------------------------------------------

class InvokeAzureStackOnDemandLog(Cmdlet):
    name = "Invoke-AzureStackOnDemandLog"
    synopsis = "Generates on-demand logs for the roles that support it (OEM, NC, SLB, Gateway)."
    description = (
        "With -Generate, the roles given by -FilterByRole (OEM, NC, SLB, Gateway) write extra diagnostic logs "
        "that the next Get-AzureStackLog picks up. Run it only when Microsoft Support asks for them. Without "
        "-Generate, lists the on-demand logs present."
    )
    parameters = (
        Parameter("OutputPath", "string", syntax_type="object", help="Folder to copy the generated logs to as well."),
        Parameter("SlbTimeOutInMinutes", "int", syntax_type="object", default="20", validate_range=(1, 1440),
                  help="Timeout of the SLB log generation."),
        Parameter("Generate", "switch", help="Generate the logs."),
        Parameter("FilterByRole", "string[]", syntax_type="object", validate_set=ON_DEMAND_ROLES,
                  help="OEM, NC, SLB or Gateway."),
        Parameter("TimeOutInMinutes", "int", syntax_type="object", default="30", validate_range=(1, 1440),
                  help="Timeout of the log generation."),
        AS_JOB,
    )
    examples = (
        Example("Generate SLB logs, then collect them",
                "Invoke-AzureStackOnDemandLog -Generate -FilterByRole SLB; Get-AzureStackLog -FilterByRole SLB -OutputPath C:\\Logs"),
    )

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        import shutil

        from collector.engine import stamp_root
        from collector.stampgen import HOSTS_DIR, write_on_demand

        env = _env(ctx)
        roles = params.get("FilterByRole") or list(ON_DEMAND_ROLES)
        roles = [next(r for r in ON_DEMAND_ROLES if r.lower() == x.lower()) for x in roles]
        out = _make_folder(ctx, params["OutputPath"], "DestinationNotWritable") if params.get("OutputPath") else None
        root = stamp_root(env)
        for role in roles:
            ctx.check_stopped()
            hosts = env.stamp.roles.get(role, [])
            if params.get("Generate"):
                ctx.write_verbose(f"Generating on-demand logs for {role} on {', '.join(hosts)}")
                paths = write_on_demand(root, role, hosts)
            else:
                paths = sorted((root / HOSTS_DIR).glob(f"*/{role}/OnDemand/*"))
            for p in paths:
                host = p.relative_to(root / HOSTS_DIR).parts[0]
                if out is not None:
                    dest = out / role / host
                    dest.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(p, dest / p.name)
                ctx.write_output(custom_object("AzureStack.OnDemandLog", Role=role, ComputerName=host, Name=p.name,
                                               Length=p.stat().st_size))


# -- Get-ClusterLog --------------------------------------------------------------------------------

class GetClusterLog(Cmdlet):
    name = "Get-ClusterLog"
    synopsis = "Creates the failover-cluster log of the stamp's physical nodes."
    description = (
        "Writes <node>_cluster.log for each node (all physical nodes unless -Node is given) into -Destination "
        "(by default the folder configured as cluster_log.destination, <state>/ClusterLogs), holding the records "
        "of the last -TimeSpan minutes (all when omitted), in GMT unless -UseLocalTime is given."
    )
    parameters = (
        Parameter("SkipClusterState", "switch", aliases=("scs",), help="Do not add cluster state information."),
        Parameter("InputObject", "object", help="The cluster to generate the log for."),
        Parameter("Cluster", "string", syntax_type="object", help="Name of the cluster."),
        Parameter("NetworkDiagnostics", "switch", help="Include network diagnostic logs."),
        Parameter("Destination", "string", syntax_type="object", help="Folder to copy the logs to."),
        Parameter("NetworkDiagnosticsLevel", "int", syntax_type="object", help="Depth of network diagnostics."),
        Parameter("Node", "string[]", syntax_type="object", position=0, help="The nodes to generate the log for."),
        Parameter("TimeSpan", "int", syntax_type="object", aliases=("Span",), validate_range=(1, 5256000),
                  help="Minutes of records to include, counting back from now."),
        Parameter("PerformanceHistoryTimeFrame", "string", syntax_type="object", help="Time frame of exported history."),
        Parameter("Health", "switch", help="Include the cluster health logs."),
        Parameter("ExportClusterPerformanceHistory", "switch", help="Export the cluster performance history."),
        Parameter("UseLocalTime", "switch", aliases=("lt",), help="Write times in local time instead of GMT."),
        AS_JOB,
    )
    output_type = "System.IO.FileInfo"
    examples = (Example("Cluster log of the last 30 minutes of one node", "Get-ClusterLog -Node azs-node01 -TimeSpan 30"),)

    def invoke(self, ctx: CommandContext, params: dict[str, Any], input: list | None = None) -> None:
        from collector.clusterlog import write_cluster_log
        from collector.engine import stamp_root

        env = _env(ctx)
        stamp = env.stamp
        names = params.get("Node") or [n.name for n in stamp.nodes]
        nodes = []
        for n in names:
            h = stamp.host(n)
            if h is None or h.kind != "node":
                ctx.write_error(error_record(
                    f"The node '{shorten(n)}' was not found in the cluster.", "NodeNotFound",
                    ErrorCategory.ObjectNotFound, exception_type="System.Management.Automation.ItemNotFoundException",
                    command=self.name, target=shorten(n)))
                continue
            nodes.append(h.name)
        if not nodes:
            return
        dest = self._destination(ctx, env, params.get("Destination"))
        span = params.get("TimeSpan")
        since = datetime.now(timezone.utc) - timedelta(minutes=span) if span else None
        root = stamp_root(env)
        for i, node in enumerate(nodes):
            ctx.check_stopped()
            ctx.write_progress("Get-ClusterLog", f"Generating the cluster log of {node}", percent=100 * i // len(nodes))
            try:
                path = write_cluster_log(root, node, dest, since, bool(params.get("UseLocalTime")), ctx.stop_event)
            except CollectionStopped:
                raise PipelineStoppedError("The pipeline has been stopped.") from None
            st = path.stat()
            ctx.write_output(custom_object("System.IO.FileInfo", Mode="-a----", Name=path.name, FullName=str(path),
                                           Length=st.st_size,
                                           LastWriteTime=datetime.fromtimestamp(st.st_mtime)))
        ctx.write_progress("Get-ClusterLog", "Completed", completed=True)

    @staticmethod
    def _destination(ctx: CommandContext, env: Any, given: Any) -> Path:
        """-Destination; else cluster_log.destination; else <state>/ClusterLogs for the console and
        <first output root>/ClusterLogs for a remote session (which may write only under the roots)."""
        if given:
            return _make_folder(ctx, given, "DestinationNotWritable")
        configured = env.setting("cluster_log.destination")
        if configured:
            return _make_folder(ctx, configured, "DestinationNotWritable", configured="cluster_log.destination")
        roots = getattr(ctx.runspace, "output_roots", None)
        default = roots[0] / "ClusterLogs" if roots else env.state.path / "ClusterLogs"
        return _make_folder(ctx, default, "DestinationNotWritable")


CMDLETS = (GetAzureStackLog, SendAzureStackDiagnosticLog, InvokeAzureStackOnDemandLog, GetClusterLog)
