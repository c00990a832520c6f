"""The client side of PowerShell remoting, over pypsrp: open a runspace pool on any PSRP endpoint
(a real PEP or `pep serve`), run command-form pipelines or scripts on it, stream what comes back
into a local StreamSink, stop on request, close.

Failures become PowerShell's PSRemotingTransportException records (PSSessionOpenFailed, ...), never
a Python exception reaching the user.
"""
from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from powershell.invocation import NO_VALUE, CommandCall
from powershell.objects import ErrorCategory, ErrorRecord, PSCredential, custom_object, error_record
from powershell.pipeline import PipelineState, StreamSink
from remoting import wire

if TYPE_CHECKING:  # pypsrp is imported when a session opens, not when `pep` starts
    from pypsrp.powershell import RunspacePool
    from pypsrp.wsman import WSMan

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

# After a stop signal, how long the remote may take to confirm the stop before the pipeline is given up.
STOP_DRAIN_SECONDS = 60.0


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
    state: PipelineState = PipelineState.COMPLETED
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
                 option: SessionOption | None = None, name: str | None = None, interactive: bool = False):
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
        self.skip_checks_advice = SKIP_CHECKS_ADVICE
        self._pool: RunspacePool | None = None
        self._wsman: WSMan | None = None
        self._lock = threading.Lock()  # one pipeline at a time, like a remote runspace
        self._command_names: list[str] | None = None
        # interactive (pep connect, as Enter-PSSession): the pool brings a host, and the remote's
        # host calls (PromptForChoice, passwords, mandatory parameters) are answered by the local
        # front end's HostUI given to each invoke; otherwise the remote has no host to ask.
        self._bridge = _HostBridge(self) if interactive else None

    # -- lifecycle -------------------------------------------------------------------------------
    def open(self) -> RemoteSession:
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
            wsman = self._wsman = WSMan(self.computer_name, **kwargs)
            if self._bridge is not None:
                pool = self._pool = _pool_class()(wsman, configuration_name=self.configuration_name,
                                                  host=self._bridge.pshost())
            else:
                pool = self._pool = RunspacePool(wsman, configuration_name=self.configuration_name)
            pool.open()
            if self._bridge is not None:
                # a password typed at a remote prompt goes back as a SecureString: it needs the session key
                pool.exchange_keys()
        except Exception as e:  # every transport or protocol failure becomes PSSessionOpenFailed
            self._drop()
            raise RemotingError(open_failed_record(self.computer_name, e, self.skip_checks_advice)) from None
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
                     stop_event: threading.Event | None = None, input: list[Any] | None = None,
                     host: Any = None) -> RemoteResult:
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

        return self._invoke(build, sink, stop_event, input, host)

    def invoke_script(self, script: str, sink: StreamSink, stop_event: threading.Event | None = None,
                      input: list[Any] | None = None, arguments: list[Any] | None = None,
                      host: Any = None) -> RemoteResult:
        """A script (AddScript); a NoLanguage endpoint accepts only what its language mode allows."""

        def build(ps) -> None:
            ps.add_script(script)
            for value in arguments or ():
                if wire.has_secret(value):
                    self._exchange_keys()
                ps.add_argument(wire.to_wire(value))

        return self._invoke(build, sink, stop_event, input, host)

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

    def _invoke(self, build, sink: StreamSink, stop_event, input, host: Any = None) -> RemoteResult:
        from pypsrp.complex_objects import PSInvocationState
        from pypsrp.powershell import PowerShell

        pool = self._pool
        if not self.is_open or pool is None:
            record = error_record(
                f"Because the session state for session {self.name}, {self.computer_name} is not equal to Open, "
                "you cannot run a command in the session.  The session state is Closed.",
                "InvalidSessionState", ErrorCategory.InvalidOperation,
                exception_type="System.InvalidOperationException", target=self.computer_name)
            sink.error(record)
            return RemoteResult(PipelineState.FAILED, True, record)
        stop_event = stop_event or threading.Event()
        with self._lock:
            self.availability = "Busy"
            if self._bridge is not None:
                self._bridge.begin(host, stop_event)
            try:
                ps = PowerShell(pool)
                _attach(ps, sink, self.computer_name, stop_event)
                build(ps)
                ps.begin_invoke(input=(wire.to_wire(v) for v in input) if input else None)
                deadline = None
                while ps.state == PSInvocationState.RUNNING:
                    if stop_event.is_set() and deadline is None:
                        # Ctrl+C: the PSRP stop signal, then keep receiving until the remote pipeline
                        # has stopped, so its last lines arrive and its cleanup (a collection's lock,
                        # manifest and transcript) is done when the prompt comes back.
                        self.signal_stop(ps)
                        deadline = time.monotonic() + STOP_DRAIN_SECONDS
                    if deadline is not None and time.monotonic() > deadline:
                        ps.stop()  # the remote never confirmed: give the pipeline up locally
                        return RemoteResult(PipelineState.STOPPED)
                    ps.poll_invoke(timeout=1)  # short long-polls so Ctrl+C is seen within a second
                failed = ps.state == PSInvocationState.FAILED
                stopped = ps.state == PSInvocationState.STOPPED
                try:
                    ps.close()
                except Exception as e:  # the result is already in; a failed Terminate changes nothing
                    log.debug("closing pipeline: %s", e)
                terminating = ps.streams.error[-1] if failed and ps.streams.error else None
                return RemoteResult(
                    PipelineState.FAILED if failed else PipelineState.STOPPED if stopped else PipelineState.COMPLETED,
                    bool(ps.streams.error) or failed,
                    _from_computer(wire.error_from_wire(terminating), self.computer_name)
                    if terminating is not None else None)
            except KeyboardInterrupt:
                stop_event.set()
                return RemoteResult(PipelineState.STOPPED)
            except Exception as e:
                record = _broken_record(self, e)
                self.state = "Broken"
                self.availability = "None"
                sink.error(record)
                return RemoteResult(PipelineState.FAILED, True, record)
            finally:
                if self._bridge is not None:
                    self._bridge.end()
                if self.availability == "Busy":
                    self.availability = "Available"

    def signal_stop(self, ps: Any) -> None:
        """Send the PSRP stop signal (ctrl_c) for a running pipeline, once, leaving it registered so
        its remaining output and final state are still received (pypsrp's stop() forgets it)."""
        from pypsrp.shell import SignalCode

        pool = self._pool
        if pool is None or getattr(ps, "_pep_stop_sent", False):
            return
        ps._pep_stop_sent = True
        pool.shell.signal(SignalCode.PS_CTRL_C, str(ps.id).upper())

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


def _attach(ps, sink: StreamSink, computer: str, stop_event: threading.Event | None = None) -> None:
    """Route pypsrp's stream lists into the sink as records arrive. The PipelineStopped record that
    comes with the final state of a pipeline we stopped is not shown: Ctrl+C is its own answer, as
    in Enter-PSSession."""

    def error(r: Any) -> None:
        if stop_event is not None and stop_event.is_set() and str(getattr(r, "fq_error", "")) == "PipelineStopped":
            return
        sink.error(_from_computer(wire.error_from_wire(r), computer))

    ps.output = _Forward(lambda o: sink.output(wire.from_wire(o)))
    streams = ps.streams
    streams.error = _Forward(error)
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


# ----- the remote's host calls, answered at the local console ---------------------------------------

class _NoAnswer(Exception):
    """The local user gave no answer (end of input, Ctrl+C, no local host): the host call is answered
    with an error, which the remote turns into its no-host failure (HostException, ...)."""


_CMDLET_CAPTION = re.compile(r"cmdlet (\S+) at command pipeline position \d+$")


class _HostBridge:
    """The client host of an interactive session (`pep connect`), as Enter-PSSession's: pypsrp calls
    these methods (on the worker thread running the pipeline) for the remote's host calls, and
    they ask the local front end's HostUI (read_line, prompt_for_parameters, optional
    prompt_for_choice and write). Text written by Write1 is the prompt of the next read."""

    def __init__(self, session: RemoteSession):
        self.session = session
        self.local: Any = None
        self.stop_event: threading.Event | None = None
        self.pending = ""

    def begin(self, local: Any, stop_event: threading.Event) -> None:
        self.local, self.stop_event, self.pending = local, stop_event, ""

    def end(self) -> None:
        self._flush()
        self.local, self.stop_event = None, None

    # -- pypsrp objects --------------------------------------------------------------------------
    def pshost(self) -> Any:
        from pypsrp.host import PSHost, PSHostUserInterface

        bridge = self

        class UI(PSHostUserInterface):
            def __init__(self) -> None:
                super().__init__()
                self.bridge = bridge

            def __getattribute__(self, name: str) -> Any:
                mine = getattr(type(bridge), name, None)
                if name[:1].isupper() and mine is not None:
                    return lambda runspace, pipeline, *args: getattr(bridge, name)(*args)
                return super().__getattribute__(name)

        return PSHost(None, None, False, "pep", None, UI(), "5.1.17763.1")

    # -- output ----------------------------------------------------------------------------------
    def _out(self, text: str) -> None:
        write = getattr(self.local, "write", None)
        if write is not None and text:
            write(text)

    def _flush(self) -> None:
        pending, self.pending = self.pending, ""
        self._out(pending)

    def Write1(self, value: str) -> None:
        self.pending += str(value or "")

    def Write2(self, foreground: Any, background: Any, value: str) -> None:
        self.pending += str(value or "")

    def WriteLine1(self) -> None:
        self.pending += "\n"
        self._flush()

    def WriteLine2(self, value: str) -> None:
        self.pending += str(value or "") + "\n"
        self._flush()

    def WriteLine3(self, foreground: Any, background: Any, value: str) -> None:
        self.WriteLine2(value)

    def WriteErrorLine(self, message: str) -> None:
        self.WriteLine2(message)

    def WriteWarningLine(self, message: str) -> None:
        self.WriteLine2(f"WARNING: {message}")

    def WriteVerboseLine(self, message: str) -> None:
        self.WriteLine2(f"VERBOSE: {message}")

    def WriteDebugLine(self, message: str) -> None:
        self.WriteLine2(f"DEBUG: {message}")

    def WriteProgress(self, source_id: Any, record: Any) -> None:
        pass  # progress records arrive on the pipeline's progress stream as well

    # -- input -----------------------------------------------------------------------------------
    def _read(self, prompt: str, secure: bool = False) -> str:
        if self.local is None:
            raise _NoAnswer()
        text = self.pending + prompt
        self.pending = ""
        answer = self.local.read_line(text, secure=secure) if secure else self.local.read_line(text)
        if answer is None:
            raise _NoAnswer()
        return str(answer.decrypt() if hasattr(answer, "decrypt") else answer)

    def ReadLine(self) -> str:
        return self._read("")

    def ReadLineAsSecureString(self) -> Any:
        from powershell.objects import PSSecureString

        return wire.to_wire(PSSecureString(self._read("", secure=True)))

    def Prompt(self, caption: str, message: str, descriptions: list) -> dict:
        from powershell.objects import PSCredential, PSSecureString
        from powershell.pipeline import PromptField

        fields = []
        for d in descriptions or ():
            props = getattr(d, "extended_properties", {}) or {}
            full = str(props.get("parameterTypeFullName") or props.get("parameterTypeName") or "System.String")
            fields.append(PromptField(
                name=str(props.get("name") or ""), type_name=full[:-2] if full.endswith("[]") else full,
                help=str(props.get("helpMessage") or ""), is_array=full.endswith("[]"),
                secure=full.endswith("SecureString")))
        if self.local is None:
            raise _NoAnswer()
        match = _CMDLET_CAPTION.match(str(caption or ""))
        ask = getattr(self.local, "prompt_for_parameters", None)
        if match and ask is not None and str(message or "").startswith("Supply values"):
            self._flush()
            answers = ask(match.group(1), fields)  # shows PowerShell's own "Supply values ..." lines
        else:
            self.pending += "".join(f"{line}\n" for line in (caption, message) if line)
            answers = {}
            for field in fields:
                if field.type_name.endswith("PSCredential"):
                    answers[field.name] = self._credential(self._read(f"{field.name}\nUser: "))
                elif field.is_array:
                    values: list[str] = []
                    while (line := self._read(f"{field.name}[{len(values)}]: ")) != "":
                        values.append(line)
                    answers[field.name] = values
                else:
                    line = self._read(f"{field.name}: ", secure=field.secure)
                    answers[field.name] = PSSecureString(line) if field.secure else line
        if answers is None:
            raise _NoAnswer()
        out = {}
        for name, value in answers.items():
            if isinstance(value, PSCredential) or isinstance(value, PSSecureString):
                out[name] = wire.to_wire(value)
            else:
                out[name] = value
        return out

    def _credential(self, user: str) -> Any:
        from powershell.objects import PSCredential, PSSecureString

        if not user:
            raise _NoAnswer()
        password = self._read(f"Password for user {user}: ", secure=True)
        return PSCredential(UserName=user, Password=PSSecureString(password))

    def PromptForCredential1(self, caption: str, message: str, user_name: str, target_name: str) -> Any:
        self.pending += "".join(f"{line}\n" for line in (caption, message) if line)
        user = str(user_name or "") or self._read("User: ")
        return wire.to_wire(self._credential(user))

    def PromptForCredential2(self, caption: str, message: str, user_name: str, target_name: str,
                             allowed_credential_types: Any = None, options: Any = None) -> Any:
        return self.PromptForCredential1(caption, message, user_name, target_name)

    def PromptForChoice(self, caption: str, message: str, choices: list, default_choice: int) -> int:
        labels, helps = [], []
        for c in choices or ():
            props = getattr(c, "extended_properties", {}) or {}
            labels.append(str(props.get("label") or ""))
            helps.append(str(props.get("helpMessage") or ""))
        if self.local is None or not labels:
            raise _NoAnswer()
        choose = getattr(self.local, "prompt_for_choice", None)
        if choose is not None:
            self._flush()
            index = choose(caption, message, list(zip(labels, helps, strict=True)), default_choice)
            if index is None:
                raise _NoAnswer()
            return int(index)
        return self._choose_by_line(caption, message, labels, helps, default_choice)

    def _choose_by_line(self, caption: str, message: str, labels: list[str], helps: list[str], default: int) -> int:
        """PowerShell's console rendering of PromptForChoice: caption, message, then
        `[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help (default is "Y"): `."""
        keys = [_hotkey(label) for label in labels]
        shown = "  ".join(f"[{k}] {label.replace('&', '')}" for k, label in zip(keys, labels, strict=True))
        tail = f' (default is "{keys[default]}")' if 0 <= default < len(keys) else ""
        line = f"{shown}  [?] Help{tail}: "
        self.pending += "\n" + "".join(f"{text}\n" for text in (caption, message) if text)
        while True:
            answer = self._read(line).strip()
            if answer == "" and 0 <= default < len(keys):
                return default
            if answer == "?":
                self.pending += "".join(f"{k} - {h or label.replace('&', '')}\n"
                                        for k, label, h in zip(keys, labels, helps, strict=True))
                continue
            for index, (k, label) in enumerate(zip(keys, labels, strict=True)):
                if answer.lower() in (k.lower(), label.replace("&", "").lower()):
                    return index


def _hotkey(label: str) -> str:
    at = label.find("&")
    return label[at + 1].upper() if 0 <= at < len(label) - 1 else label[:1].upper()


def _pool_class() -> Any:
    """pypsrp's RunspacePool, answering a host call the local side could not answer with an error
    (MS-PSRP host response with a method exception) instead of raising out of the receive loop;
    after Ctrl+C at a remote prompt the stop signal goes first, so the remote sees the stop."""
    global _POOL
    if _POOL is not None:
        return _POOL
    from pypsrp.complex_objects import ErrorRecord as WireErrorRecord
    from pypsrp.complex_objects import GenericComplexObject
    from pypsrp.powershell import RunspacePool

    class _Pool(RunspacePool):
        pep_session: Any = None

        def _process_host_call(self, message: Any, response_obj: Any, pipeline: Any = None) -> Any:
            try:
                return super()._process_host_call(message, response_obj, pipeline)
            except Exception as e:
                from powershell.pipeline import PipelineStoppedError

                call = message.data
                bridge = _bridge_of(self)
                stopping = isinstance(e, PipelineStoppedError) or (
                    bridge is not None and bridge.stop_event is not None and bridge.stop_event.is_set())
                if stopping and pipeline is not None and bridge is not None:
                    try:
                        bridge.session.signal_stop(pipeline)
                    except Exception as err:  # the pipeline may be gone already
                        log.debug("stop signal during a host call: %s", err)
                if not isinstance(e, (_NoAnswer, PipelineStoppedError, NotImplementedError, AttributeError)):
                    log.debug("host call %s failed", call.mi, exc_info=True)
                text = ("The pipeline has been stopped." if stopping else
                        "A command that prompts the user failed because the host program or the command type "
                        "does not support user interaction.")
                record = WireErrorRecord()
                for attr, _meta in record._extended_properties:
                    setattr(record, attr, None)
                record.invocation = False
                record.activity = record.target_name = record.target_type = ""
                exception = GenericComplexObject()
                exception.types = ["System.Management.Automation." + (
                    "PipelineStoppedException" if stopping else "Host.HostException"), "System.Exception",
                    "System.Object"]
                exception.adapted_properties = {"Message": text}
                exception.to_string = text
                record.exception = exception
                record.fq_error = "PipelineStopped" if stopping else "HostException"
                record.category = 14 if stopping else 0  # OperationStopped / NotSpecified
                record.reason = "PipelineStoppedException" if stopping else "HostException"
                record.message = text
                record.extended_info_present = False
                reply = response_obj(ci=call.ci, mi=call.mi, mr=None, me=record)
                pid = pipeline.id if pipeline is not None else None
                for fragment in self._fragmenter.fragment(reply, self.id, pid):
                    self.shell.send("pr", fragment)
                return call

    _POOL = _Pool
    return _POOL


_POOL: Any = None


def _bridge_of(pool: Any) -> _HostBridge | None:
    ui = getattr(getattr(pool, "host", None), "ui", None)
    return getattr(ui, "bridge", None)


# ----- error records ---------------------------------------------------------------------------------

SKIP_CHECKS_ADVICE = "Use -SessionOption (New-PSSessionOption -SkipCACheck -SkipCNCheck) to skip these checks."


def open_failed_record(computer: str, exc: BaseException, skip_checks_advice: str = SKIP_CHECKS_ADVICE) -> ErrorRecord:
    """PowerShell's New-PSSession failure: 'Connecting to remote server X failed with the following
    error message : ...', FullyQualifiedErrorId '<reason>,PSSessionOpenFailed'. skip_checks_advice:
    how the caller's front end skips certificate checks (New-PSSession's -SessionOption, or
    `pep connect --insecure`)."""
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
                "The SSL certificate is signed by an unknown certificate authority. " + skip_checks_advice)
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
