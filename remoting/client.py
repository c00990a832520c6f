"""The client side of PowerShell remoting, over pypsrp: open a runspace pool on any PSRP endpoint
(a real PEP or `pep serve`), run command-form pipelines or scripts on it, stream what comes back
into a local StreamSink, stop on request, close.

Failures become PowerShell's PSRemotingTransportException records (PSSessionOpenFailed, ...), never
a Python exception reaching the user.
"""
from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from powershell.invocation import NO_VALUE, CommandCall
from powershell.objects import ErrorCategory, ErrorRecord, PSCredential, custom_object, error_record
from powershell.pipeline import StreamSink
from remoting import wire

log = logging.getLogger("pep.bridge")

TRANSPORT_EXCEPTION = "System.Management.Automation.Remoting.PSRemotingTransportException"
TROUBLESHOOT = " For more information, see the about_Remote_Troubleshooting Help topic."
CANNOT_CONNECT = (
    "The client cannot connect to the destination specified in the request. Verify that the service on the "
    "destination is running and is accepting requests. Consult the logs and documentation for the WS-Management "
    "service running on the destination, most commonly IIS or WinRM. If the destination is the WinRM service, run "
    "the following command on the destination to analyze and configure the WinRM service: \"winrm quickconfig\"."
)
ACCESS_DENIED = "Access is denied."
SUPPORTED_AUTH = {"default": "negotiate", "negotiate": "negotiate", "basic": "basic", "ntlm": "ntlm"}
AUTH_MECHANISMS = ("Default", "Basic", "Negotiate", "NegotiateWithImplicitCredential", "Credssp", "Digest", "Kerberos")

_ids = itertools.count(1)


@dataclass
class SessionOption:
    """What New-PSSessionOption returns (the parts the bridge uses)."""

    culture: str | None = None
    ui_culture: str | None = None
    skip_ca_check: bool = False
    skip_cn_check: bool = False
    skip_revocation_check: bool = False
    operation_timeout_ms: int = 180000
    open_timeout_ms: int = 180000
    no_encryption: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class RemotingError(Exception):
    """A remoting failure, already an error record."""

    def __init__(self, record: ErrorRecord):
        super().__init__(str(record.Exception.Message))
        self.record = record


@dataclass
class RemoteResult:
    state: str = "Completed"  # Completed | Failed | Stopped
    had_errors: bool = False
    terminating_error: ErrorRecord | None = None


class _Forward(list):
    """A list that hands every appended item to a callback: pypsrp appends each stream record as it
    arrives, so swapping its lists for these streams results in order, while the command runs."""

    def __init__(self, callback: Callable[[Any], None]):
        super().__init__()
        self._callback = callback

    def append(self, item: Any) -> None:  # noqa: D401 - list API
        super().append(item)
        self._callback(item)


class RemoteSession:
    """One open runspace pool on a remote endpoint (PowerShell's PSSession)."""

    def __init__(self, computer_name: str, port: int, use_ssl: bool, configuration_name: str,
                 credential: PSCredential | None, authentication: str = "Default",
                 option: SessionOption | None = None, name: str | None = None):
        self.id = next(_ids)
        self.name = name or f"Runspace{self.id}"  # PowerShell 5.1 names sessions Session<N>/Runspace<N>
        self.computer_name = computer_name
        self.port = port
        self.use_ssl = use_ssl
        self.configuration_name = configuration_name
        self.credential = credential
        self.authentication = authentication
        self.option = option or SessionOption()
        self.state = "Closed"
        self.availability = "None"
        self._pool = None
        self._wsman = None
        self._lock = threading.Lock()  # one pipeline at a time, like a remote runspace
        self._command_names: list[str] | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def open(self) -> "RemoteSession":
        from pypsrp.powershell import RunspacePool
        from pypsrp.wsman import WSMan

        auth = SUPPORTED_AUTH.get(self.authentication.lower())
        if auth is None:
            raise RemotingError(_auth_not_supported(self.authentication))
        user = str(self.credential.UserName) if self.credential is not None else None
        password = wire._plain(self.credential.Password) if self.credential is not None else None
        opt = self.option
        kwargs: dict[str, Any] = dict(
            port=self.port, username=user, password=password, ssl=self.use_ssl, auth=auth,
            cert_validation=not (opt.skip_ca_check or opt.extra.get("insecure")),
            encryption="never" if self.use_ssl else "auto",
            operation_timeout=20, read_timeout=30, connection_timeout=max(5, opt.open_timeout_ms // 1000),
        )
        if opt.ui_culture:
            kwargs["locale"] = opt.ui_culture
        if opt.culture:
            kwargs["data_locale"] = opt.culture
        if auth == "basic" and not self.use_ssl:
            kwargs["encryption"] = "never"  # Basic has no message encryption; the server decides
        try:
            self._wsman = WSMan(self.computer_name, **kwargs)
            self._pool = RunspacePool(self._wsman, configuration_name=self.configuration_name)
            self._pool.open()
        except Exception as e:  # every transport or protocol failure becomes PSSessionOpenFailed
            self._drop()
            raise RemotingError(open_failed_record(self.computer_name, e)) from None
        self.state = "Opened"
        self.availability = "Available"
        return self

    def close(self) -> None:
        pool, self._pool = self._pool, None
        self.state = "Closed"
        self.availability = "None"
        if pool is not None:
            try:
                pool.close()
            except Exception as e:  # a dead peer: nothing more to clean up on our side
                log.debug("closing %s: %s", self.computer_name, e)
        self._drop()

    def _drop(self) -> None:
        wsman, self._wsman = self._wsman, None
        self._pool = None
        if wsman is not None:
            try:
                wsman.close()
            except Exception:  # pragma: no cover - best effort
                pass

    @property
    def is_open(self) -> bool:
        return self._pool is not None and self.state == "Opened"

    # -- running ---------------------------------------------------------------------------------
    def invoke_calls(self, calls: list[CommandCall], sink: StreamSink,
                     stop_event: threading.Event | None = None, input: list[Any] | None = None) -> RemoteResult:
        """A command-form pipeline (AddCommand/AddParameter/AddArgument), as Invoke-Command sends a
        script block that is one pipeline."""

        def build(ps) -> None:
            secret = False
            for call in calls:
                ps.add_cmdlet(call.name)
                args = call.arguments
                i = 0
                while i < len(args):
                    arg = args[i]
                    if arg.parameter is not None:
                        value = arg.value
                        if value is NO_VALUE and not arg.colon and i + 1 < len(args) and args[i + 1].parameter is None:
                            value = args[i + 1].value
                            i += 1
                        if value is NO_VALUE:
                            value = True  # a switch: -Force is sent as Force=$true
                        secret = secret or wire.has_secret(value)
                        ps.add_parameter(arg.parameter, wire.to_wire(value))
                    else:
                        secret = secret or wire.has_secret(arg.value)
                        ps.add_argument(wire.to_wire(arg.value))
                    i += 1
            if secret:
                self._exchange_keys()

        return self._invoke(build, sink, stop_event, input)

    def invoke_script(self, script: str, sink: StreamSink, stop_event: threading.Event | None = None,
                      input: list[Any] | None = None, arguments: list[Any] | None = None) -> RemoteResult:
        """A script (AddScript); a NoLanguage endpoint accepts only what its language mode allows."""

        def build(ps) -> None:
            ps.add_script(script)
            for value in arguments or ():
                if wire.has_secret(value):
                    self._exchange_keys()
                ps.add_argument(wire.to_wire(value))

        return self._invoke(build, sink, stop_event, input)

    def command_names(self) -> list[str]:
        """Names of the commands the remote session exposes (fetched once, for completion)."""
        if self._command_names is None:
            from powershell.pipeline import ListSink

            found = ListSink()
            self.invoke_calls([CommandCall("Get-Command")], found)
            names = []
            for obj in found.outputs:
                name = getattr(obj, "Name", None) if not isinstance(obj, str) else obj
                if name:
                    names.append(str(name))
            self._command_names = sorted(set(names), key=str.lower)
        return self._command_names

    def _exchange_keys(self) -> None:
        # pypsrp does not answer the server's PublicKeyRequest itself, so the client starts the
        # exchange before the first secure string is serialised.
        pool = self._pool
        if pool is not None and not getattr(pool, "_key_exchanged", False):
            pool.exchange_keys()

    def _invoke(self, build, sink: StreamSink, stop_event, input) -> RemoteResult:
        from pypsrp.complex_objects import PSInvocationState
        from pypsrp.powershell import PowerShell

        if not self.is_open:
            record = error_record(
                f"Because the session state for session {self.name}, {self.computer_name} is not equal to Open, "
                "you cannot run a command in the session.  The session state is Closed.",
                "InvalidSessionState", ErrorCategory.InvalidOperation,
                exception_type="System.InvalidOperationException", target=self.computer_name)
            sink.error(record)
            return RemoteResult("Failed", True, record)
        stop_event = stop_event or threading.Event()
        with self._lock:
            self.availability = "Busy"
            try:
                ps = PowerShell(self._pool)
                _attach(ps, sink, self.computer_name)
                build(ps)
                ps.begin_invoke(input=[wire.to_wire(v) for v in input] if input else None)
                while ps.state == PSInvocationState.RUNNING:
                    if stop_event.is_set():
                        ps.stop()
                        return RemoteResult("Stopped")
                    ps.poll_invoke(timeout=1)  # short long-polls so Ctrl+C is seen within a second
                failed = ps.state == PSInvocationState.FAILED
                stopped = ps.state == PSInvocationState.STOPPED
                try:
                    ps.close()
                except Exception as e:  # the result is already in; a failed Terminate changes nothing
                    log.debug("closing pipeline: %s", e)
                terminating = ps.streams.error[-1] if failed and ps.streams.error else None
                return RemoteResult(
                    "Failed" if failed else "Stopped" if stopped else "Completed",
                    bool(ps.streams.error) or failed,
                    _from_computer(wire.error_from_wire(terminating), self.computer_name)
                    if terminating is not None else None)
            except KeyboardInterrupt:
                stop_event.set()
                return RemoteResult("Stopped")
            except Exception as e:
                record = _broken_record(self, e)
                self.state = "Broken"
                self.availability = "None"
                sink.error(record)
                return RemoteResult("Failed", True, record)
            finally:
                if self.availability == "Busy":
                    self.availability = "Available"

    # -- what a user sees ------------------------------------------------------------------------
    def to_psobject(self) -> Any:
        obj = custom_object(
            "System.Management.Automation.Runspaces.PSSession",
            Id=self.id, Name=self.name, ComputerName=self.computer_name, ComputerType="RemoteMachine",
            State=self.state, ConfigurationName=self.configuration_name, Availability=self.availability)
        obj._remote_session = self  # the live session behind the displayed object
        return obj


def session_of(value: Any) -> RemoteSession | None:
    """The RemoteSession behind a PSSession object (or the session itself)."""
    if isinstance(value, RemoteSession):
        return value
    return getattr(value, "_remote_session", None)


def _attach(ps, sink: StreamSink, computer: str) -> None:
    """Route pypsrp's stream lists into the sink as records arrive."""
    ps.output = _Forward(lambda o: sink.output(wire.from_wire(o)))
    streams = ps.streams
    streams.error = _Forward(lambda r: sink.error(_from_computer(wire.error_from_wire(r), computer)))
    streams.warning = _Forward(lambda r: sink.warning(str(r.message or "")))
    streams.verbose = _Forward(lambda r: sink.verbose(str(r.message or "")))
    streams.debug = _Forward(lambda r: sink.debug(str(r.message or "")))
    streams.progress = _Forward(lambda r: sink.progress(wire.progress_from_wire(r)))
    streams.information = _Forward(lambda r: sink.information(wire.information_from_wire(r)))


def _from_computer(record: ErrorRecord, computer: str) -> ErrorRecord:
    """PowerShell notes PSComputerName on every error record that came from a remote session; the
    error view then shows it as a remote error (no "Cmdlet : ", no "At line")."""
    from psrpcore.types import add_note_property

    try:
        add_note_property(record, "PSComputerName", computer)
    except Exception:  # already noted
        pass
    return record


# ----- error records ---------------------------------------------------------------------------------

def open_failed_record(computer: str, exc: BaseException) -> ErrorRecord:
    """PowerShell's New-PSSession failure: 'Connecting to remote server X failed with the following
    error message : ...', FullyQualifiedErrorId '<reason>,PSSessionOpenFailed'."""
    from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError

    reason, text = "CannotConnect", CANNOT_CONNECT
    if isinstance(exc, AuthenticationError):
        reason, text = "AccessDenied", ACCESS_DENIED
    elif isinstance(exc, WSManFaultError):
        detail = (exc.reason or "").strip()
        if exc.code in (2150858770,) or "configuration" in detail.lower():
            reason = "InvalidResourceUri"
        else:
            reason = str(exc.code or "WSManFault")
        text = "The WS-Management service cannot process the request. " + detail if detail else str(exc)
        text = text.replace("The WS-Management service cannot process the request. The WS-Management service "
                            "cannot process the request.", "The WS-Management service cannot process the request.")
    elif isinstance(exc, WinRMTransportError):
        if exc.code == 401:
            reason, text = "AccessDenied", ACCESS_DENIED
        else:
            text = f"The WinRM client received an HTTP status code of {exc.code} from the remote WS-Management service."
            reason = "WinRMHttpError"
    elif _is_ssl_error(exc):
        reason = "ServerCertificateValidationFailed"
        text = ("The server certificate on the destination computer (" + computer + ") has the following errors:\n"
                "The SSL certificate is signed by an unknown certificate authority. Use -SessionOption "
                "(New-PSSessionOption -SkipCACheck -SkipCNCheck) to skip these checks.")
    message = f"Connecting to remote server {computer} failed with the following error message : {text}{TROUBLESHOOT}"
    return error_record(message, f"{reason},PSSessionOpenFailed", ErrorCategory.OpenError,
                        exception_type=TRANSPORT_EXCEPTION, target=computer, target_type="RemoteRunspace")


def _is_ssl_error(exc: BaseException) -> bool:
    import ssl

    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 8:
        if isinstance(cur, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(cur):
            return True
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return False


def _broken_record(session: RemoteSession, exc: BaseException) -> ErrorRecord:
    message = (f"Processing data from remote server {session.computer_name} failed with the following error message: "
               f"{exc}{TROUBLESHOOT}")
    return error_record(message, "JobFailure", ErrorCategory.OperationStopped,
                        exception_type=TRANSPORT_EXCEPTION, target=session.computer_name)


def _auth_not_supported(mechanism: str) -> ErrorRecord:
    return error_record(
        f"The authentication mechanism '{mechanism}' is not supported by the pep bridge. "
        "Use -Authentication Default, Negotiate or Basic.",
        "AuthenticationMechanismNotSupported,PSSessionOpenFailed", ErrorCategory.InvalidArgument,
        exception_type=TRANSPORT_EXCEPTION, target=mechanism)
