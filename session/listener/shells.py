"""Shells (runspace pools) and commands (pipelines): the WS-Man resource model over psrpcore.

One Shell per WS-Man ShellId = one psrpcore ServerRunspacePool = one session.runspace.Runspace.
One Command per CommandId = one ServerPipeline. Everything psrpcore touches runs on the event
loop thread (psrpcore is not thread-safe); runspace calls run in worker threads and reach the
pipeline through streams.PipelineSink, which hops back to the loop.

psrpcore's `data_to_send()` returns payloads for any target in turn, so `pump()` drains it and
routes each payload into the queue of its pipeline (or the pool's), where a Receive for that
CommandId (or the shell) picks it up.

Session limits (docs/accounts.md, Session limits): at most `max_shells_per_user` shells per user and
`max_shells` in all (WinRM's PowerShell plugin quotas MaxShellsPerUser 25 and MaxShells 300); an
extra Create gets the QuotaLimit fault WinRM sends. A shell nobody has used for `idle_timeout`
seconds (IdleTimeoutms, 2 hours) is closed by `reap()`, and with it its runspace and transcript.
"""
from __future__ import annotations

import asyncio
import base64
import collections
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from psrpcore import (
    CreatePipelineEvent,
    EndOfPipelineInputEvent,
    GetAvailableRunspacesEvent,
    GetCommandMetadataEvent,
    PipelineHostResponseEvent,
    PipelineInputEvent,
    PSRPPayload,
    ResetRunspaceStateEvent,
    RunspacePoolHostResponseEvent,
    ServerPipeline,
    SetMaxRunspacesEvent,
    SetMinRunspacesEvent,
    StreamType,
)
from psrpcore.types import PSInvocationState

from powershell.limits import Limits, measure, shorten
from powershell.pipeline import PipelineState
from powershell.psrpcore_adapter import CiTolerantPool, fail_pipeline
from session.listener import wsman
from session.listener.wsman import WSManFault

log = logging.getLogger(__name__)

# WSManFault code of WinRM's "This user is allowed a maximum number of N concurrent shells" (0x803381A5);
# the overall limit's fault uses it too (its own code is not documented).
E_QUOTA_SHELLS_PER_USER = 2150859173
CHUNK = 32 * 1024  # bytes of PSRP fragments per <rsp:Stream>
# A Receive that finds data for a still-running command waits this long for the command to end, so
# a short command costs one Receive, not one per record; long commands still stream at this pace.
LINGER = 0.05


class Command:
    def __init__(self, shell: Shell, command_id: str):
        self.id = command_id
        self.shell = shell
        self.pipe = ServerPipeline(shell.pool, uuid.UUID(command_id))
        self.queue: collections.deque[bytes] = collections.deque()
        self.ready = asyncio.Event()
        self.finished = asyncio.Event()
        self.created = False  # CreatePipeline fully received
        self.started = False
        self.done = False  # terminal PipelineState queued
        self.terminated = False  # client sent Terminate: drop once done
        self.input: list[Any] = []
        self.input_chars = 0  # text held in `input`, counted as it arrives
        self.task: asyncio.Task | None = None
        self.stop_event = threading.Event()

    def wake(self) -> None:
        self.ready.set()


class Shell:
    def __init__(self, shell_id: str, resource_uri: str, owner: str, client_ip: str, idle_timeout: float):
        self.id = shell_id
        self.resource_uri = resource_uri
        self.owner = owner
        self.client_ip = client_ip
        self.idle_timeout = idle_timeout
        self.created = self.last_activity = time.monotonic()
        self.pool = CiTolerantPool(application_private_data=_private_data())
        self.commands: dict[str, Command] = {}
        self.queue: collections.deque[bytes] = collections.deque()
        self.ready = asyncio.Event()
        self.runspace: Any = None
        self.host: Any = None  # streams.RemoteHost when the client has a host
        self.table: Any = None  # the ShellTable holding this shell
        self.run_lock = asyncio.Lock()  # one pipeline at a time per runspace, like a pool of one
        self.host_calls: dict[int, asyncio.Future] = {}
        self.receivers = 0
        self.closed = False

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    @property
    def client_has_host(self) -> bool:
        host = getattr(self.pool, "host", None)
        return host is not None and getattr(host, "IsHostNull", True) is False

    # -- routing -----------------------------------------------------------------------------
    def pump(self) -> None:
        """Move everything psrpcore has queued into per-target queues and wake their receivers."""
        while True:
            payload = self.pool.data_to_send(CHUNK)
            if payload is None:
                return
            if payload.pipeline_id is None:
                self.queue.append(payload.data)
                self.ready.set()
                continue
            cmd = self.commands.get(str(payload.pipeline_id).upper())
            if cmd is not None:
                cmd.queue.append(payload.data)
                cmd.wake()


def _private_data() -> dict:
    return {}


def take(queue: collections.deque[bytes], budget_b64: int) -> list[str]:
    """Pop whole chunks while their base64 fits the budget (always at least one)."""
    out: list[str] = []
    used = 0
    while queue:
        size = (len(queue[0]) + 2) // 3 * 4
        if out and used + size > budget_b64:
            break
        out.append(base64.b64encode(queue.popleft()).decode("ascii"))
        used += size
    return out


class ShellTable:
    """All shells of one listener, plus the WS-Man operations on them (sans HTTP)."""

    def __init__(
        self,
        runner: Callable[[Shell, Command], Any],
        *,
        configuration: str = "PrivilegedEndpoint",
        machine: str = "localhost",
        idle_timeout: float = 7200.0,
        max_shells_per_user: int = 25,
        max_shells: int = 300,
        on_shell_closed: Callable[[Shell], Any] | None = None,
        limits: Limits | None = None,
        valid_user: Callable[[str], bool] | None = None,
    ):
        self.runner = runner  # coroutine function running a command to its end
        self.configuration = configuration
        self.machine = machine
        self.idle_timeout = idle_timeout
        self.max_shells_per_user = max_shells_per_user
        self.max_shells = max_shells
        # Whether a signed-in user is still an account: a connection that signed in before its user
        # was removed opens no new shell (the shells it has run on, as a Windows logon does).
        self.valid_user = valid_user
        self.on_shell_closed = on_shell_closed
        self.limits = limits or Limits()
        self.shells: dict[str, Shell] = {}

    # -- dispatch ----------------------------------------------------------------------------
    async def handle(self, req: wsman.Request, user: str, client_ip: str, address: str) -> bytes:
        a = req.action
        if a == wsman.ACTION_CREATE:
            return self.create(req, user, client_ip, address)
        if a == wsman.ACTION_RECEIVE:
            return await self.receive(req, user)
        if a == wsman.ACTION_COMMAND:
            return self.command(req, user)
        if a == wsman.ACTION_SEND:
            return self.send(req, user)
        if a == wsman.ACTION_SIGNAL:
            return self.signal(req, user)
        if a == wsman.ACTION_DELETE:
            return self.delete(req, user)
        if a == wsman.ACTION_GET:
            return self.get(req, user)
        if a == wsman.ACTION_ENUMERATE:
            return self.enumerate(req, user)
        raise WSManFault(wsman.E_ACTION_NOT_SUPPORTED,
                         f"The WS-Management service does not support the specified action '{shorten(a)}'.",
                         "w:ActionNotSupported", "s:Sender")

    def _check_uri(self, req: wsman.Request) -> None:
        uri = req.resource_uri
        if uri.lower() == (wsman.PS_URI_PREFIX + self.configuration).lower():
            return
        name = uri[len(wsman.PS_URI_PREFIX):] if uri.lower().startswith(wsman.PS_URI_PREFIX.lower()) else uri
        raise WSManFault(
            wsman.E_RESOURCE_NOT_FOUND,
            f"The WS-Management service cannot process the request. Cannot find the {shorten(name)} session configuration "
            f"in the WSMan: drive on the {self.machine} computer.",
            "w:DestinationUnreachable",
        )

    def _shell(self, req: wsman.Request, user: str) -> Shell:
        sid = req.shell_id
        shell = self.shells.get(sid or "")
        if shell is None or shell.owner.lower() != user.lower():
            raise WSManFault(
                wsman.E_INVALID_SELECTORS,
                "The WS-Management service cannot process the request because the request contained invalid "
                "selectors for the resource.",
                "w:InvalidSelectors", "s:Sender",
            )
        shell.touch()
        return shell

    # -- Create ------------------------------------------------------------------------------
    def create(self, req: wsman.Request, user: str, client_ip: str, address: str) -> bytes:
        self._check_uri(req)
        body = req.body
        if body is None or body.tag != f"{{{wsman.NS['rsp']}}}Shell":
            raise WSManFault(wsman.E_INVALID_BODY, "The WS-Management service cannot process the request: no Shell element.",
                             "w:SchemaValidationError", "s:Sender")
        self._check_quota(user)
        given = body.get("ShellId")
        shell_id = wsman.parse_guid(given, "ShellId") if given is not None else str(uuid.uuid4()).upper()
        if shell_id in self.shells:
            raise WSManFault(wsman.E_INVALID_BODY, "A shell with this ShellId already exists.", "w:AlreadyExists", "s:Sender")
        creation = body.find("pwsh:creationXml", wsman.NS)
        if creation is None or not (creation.text or "").strip():
            raise WSManFault(wsman.E_INVALID_BODY, "The WS-Management service cannot process the request: creationXml is missing.",
                             "w:SchemaValidationError", "s:Sender")
        data = wsman.decode_base64(creation.text, "creationXml")
        shell = Shell(shell_id, req.resource_uri, user, client_ip, self.idle_timeout)
        shell.table = self
        try:
            shell.pool.receive_data(PSRPPayload(data, StreamType.default, None))
            self._process_events(shell)
        except WSManFault:
            raise
        except Exception as e:  # malformed PSRP from the client
            raise WSManFault(wsman.E_INVALID_BODY, f"The PSRP data in creationXml could not be processed: {e}",
                             "w:SchemaValidationError", "s:Sender") from None
        self.shells[shell_id] = shell
        shell.pump()
        prepare = getattr(self.runner, "prepare", None)
        if prepare is not None:
            asyncio.get_running_loop().create_task(prepare(shell))
        return wsman.create_response(req, shell_id, self._shell_body(shell), address)

    def _check_quota(self, user: str) -> None:
        """Refuse a shell over the per-user or the overall limit, as WinRM does (w:QuotaLimit)."""
        if self.valid_user is not None and not self.valid_user(user):
            log.warning("shell refused: %s is no longer an account", user)
            raise WSManFault(wsman.E_ACCESS_DENIED, "Access is denied.", "w:AccessDenied", "s:Sender")
        owned = sum(1 for s in self.shells.values() if s.owner.lower() == user.lower())
        if owned >= self.max_shells_per_user:
            log.warning("shell refused: %s already has %d shells (listener.max_shells_per_user)", user, owned)
            raise WSManFault(
                E_QUOTA_SHELLS_PER_USER,
                "The WS-Management service cannot process the request. This user is allowed a maximum number of "
                f"{self.max_shells_per_user} concurrent shells, which has been exceeded. Close existing shells or raise "
                "the quota for this user.",
                "w:QuotaLimit",
            )
        if len(self.shells) >= self.max_shells:
            log.warning("shell refused for %s: %d shells open in all (listener.max_shells)", user, len(self.shells))
            raise WSManFault(
                E_QUOTA_SHELLS_PER_USER,
                "The WS-Management service cannot process the request. The maximum number of concurrent shells "
                f"allowed for this plugin ({self.max_shells}) has been exceeded. Close existing shells or raise the "
                "plugin quota.",
                "w:QuotaLimit",
            )

    def _shell_body(self, shell: Shell, element: str = "rsp:Shell") -> str:
        now = time.monotonic()
        return wsman.shell_xml(shell.id, shell.resource_uri, shell.owner, shell.client_ip, shell.idle_timeout,
                               now - shell.created, now - shell.last_activity, element=element)

    # -- Command / Send ------------------------------------------------------------------------
    def command(self, req: wsman.Request, user: str) -> bytes:
        shell = self._shell(req, user)
        body = req.body
        if body is None:
            raise WSManFault(wsman.E_INVALID_BODY, "CommandLine is missing.", "w:SchemaValidationError", "s:Sender")
        given = body.get("CommandId")
        command_id = wsman.parse_guid(given, "CommandId") if given is not None else str(uuid.uuid4()).upper()
        if command_id in shell.commands:
            raise WSManFault(wsman.E_INVALID_BODY, "A command with this CommandId already exists.", "w:AlreadyExists", "s:Sender")
        args = body.find("rsp:Arguments", wsman.NS)
        data = wsman.decode_base64(args.text, "Arguments") if args is not None and args.text else b""
        cmd = Command(shell, command_id)
        shell.commands[command_id] = cmd
        if data:
            self._feed(shell, data, StreamType.default, cmd.pipe.pipeline_id)
        return wsman.command_response(req, command_id)

    def send(self, req: wsman.Request, user: str) -> bytes:
        shell = self._shell(req, user)
        body = req.body
        # every stream is checked before any is fed, so a bad one changes nothing
        parts = []
        for stream in body.findall("rsp:Stream", wsman.NS) if body is not None else []:
            cid = stream.get("CommandId")
            pid = uuid.UUID(wsman.parse_guid(cid, "CommandId")) if cid else None
            stype = StreamType.prompt_response if stream.get("Name") == "pr" else StreamType.default
            if stream.text:
                parts.append((wsman.decode_base64(stream.text, "Stream"), stype, pid))
        for data, stype, pid in parts:
            self._feed(shell, data, stype, pid)
        return wsman.empty_response(req, '<rsp:SendResponse/>')

    def _feed(self, shell: Shell, data: bytes, stype: StreamType, pid: uuid.UUID | None) -> None:
        try:
            shell.pool.receive_data(PSRPPayload(data, stype, pid))
            self._process_events(shell)
        except WSManFault:
            raise
        except Exception as e:
            log.warning("bad PSRP data on shell %s: %s", shell.id, e)
            raise WSManFault(wsman.E_INVALID_BODY, f"The PSRP data could not be processed: {e}",
                             "w:SchemaValidationError", "s:Sender") from None
        finally:
            shell.pump()

    def _process_events(self, shell: Shell) -> None:
        pool = shell.pool
        while True:
            event = pool.next_event()
            if event is None:
                return
            if isinstance(event, CreatePipelineEvent):
                cmd = shell.commands.get(str(event.pipeline_id).upper())
                if cmd is None:
                    continue
                cmd.created = True
                if getattr(cmd.pipe.metadata, "no_input", True):
                    self._start(cmd)
            elif isinstance(event, GetCommandMetadataEvent):
                cmd = shell.commands.get(str(event.pipeline_id).upper())
                if cmd is not None:
                    cmd.created = True
                    self._start(cmd)
            elif isinstance(event, PipelineInputEvent):
                cmd = shell.commands.get(str(event.pipeline_id).upper())
                if cmd is not None:
                    self._take_input(cmd, event.data)
            elif isinstance(event, EndOfPipelineInputEvent):
                cmd = shell.commands.get(str(event.pipeline_id).upper())
                if cmd is not None and cmd.created:
                    self._start(cmd)
            elif isinstance(event, (SetMaxRunspacesEvent, SetMinRunspacesEvent, ResetRunspaceStateEvent)):
                pool.runspace_availability_response(event.ci, True)
            elif isinstance(event, GetAvailableRunspacesEvent):
                busy = sum(1 for c in shell.commands.values() if c.started and not c.done)
                pool.runspace_availability_response(event.ci, max(0, pool.max_runspaces - busy))
            elif isinstance(event, (PipelineHostResponseEvent, RunspacePoolHostResponseEvent)):
                fut = shell.host_calls.pop(event.ci, None)
                if fut is not None and not fut.done():
                    fut.set_result(event)
            # SessionCapability, InitRunspacePool, PublicKey: psrpcore answers them itself.

    def _take_input(self, cmd: Command, item: Any) -> None:
        """Keep pipeline input only up to just past the limits: the runspace refuses the command
        (ArgumentTooLong / InputTooLong) and the rest is never held in memory."""
        over_items = len(cmd.input) > self.limits.max_argument_items
        over_chars = cmd.input_chars > self.limits.max_input_chars
        if over_items or over_chars:
            return
        cmd.input_chars += measure(item, self.limits.max_input_chars - cmd.input_chars + 1)
        cmd.input.append(item)

    def _start(self, cmd: Command) -> None:
        if cmd.started:
            return
        cmd.started = True
        if cmd.pipe.state == PSInvocationState.NotStarted:
            cmd.pipe.start()
        cmd.task = asyncio.get_running_loop().create_task(self._run(cmd))

    async def _run(self, cmd: Command) -> None:
        try:
            await self.runner(cmd.shell, cmd)
        except Exception:  # the runner reports errors itself; this is a last guard
            log.exception("command %s failed", cmd.id)
        finally:
            if not cmd.done:
                self.finish(cmd, PipelineState.FAILED, None)

    def finish(self, cmd: Command, state: PipelineState, error: Any) -> None:
        """Queue the terminal PipelineState for a command (on the loop thread)."""
        if cmd.done:
            return
        pipe = cmd.pipe
        try:
            if state == PipelineState.COMPLETED:
                pipe.complete()
            elif state == PipelineState.STOPPED:
                pipe.stop()
            else:
                fail_pipeline(pipe, error)
        except Exception as e:  # pragma: no cover - pipeline already terminal
            log.debug("finish %s: %s", cmd.id, e)
        cmd.done = True
        cmd.shell.pump()
        cmd.wake()
        cmd.finished.set()
        if cmd.terminated:
            self._drop(cmd)

    def _drop(self, cmd: Command) -> None:
        try:
            cmd.pipe.close()
        except Exception:
            cmd.shell.pool.pipeline_table.pop(cmd.pipe.pipeline_id, None)
        cmd.shell.commands.pop(cmd.id, None)

    # -- Receive -------------------------------------------------------------------------------
    async def receive(self, req: wsman.Request, user: str) -> bytes:
        shell = self._shell(req, user)
        desired = req.body.find("rsp:DesiredStream", wsman.NS) if req.body is not None else None
        wanted = desired.get("CommandId") if desired is not None else None
        cid = wanted.upper() if wanted else None
        budget = max(1024, (req.max_envelope_size - wsman.ENVELOPE_OVERHEAD))
        deadline = time.monotonic() + max(0.0, req.operation_timeout - 0.5)
        if cid is None:
            target_queue, event = shell.queue, shell.ready
        else:
            cmd = shell.commands.get(cid)
            if cmd is None:
                raise WSManFault(
                    wsman.E_INVALID_SELECTORS,
                    "The request for the Windows Remote Shell with ShellId failed because the command was not found.",
                    "w:InvalidSelectors", "s:Sender",
                )
            target_queue, event = cmd.queue, cmd.ready
        shell.receivers += 1
        try:
            while not target_queue and not (cid and shell.commands.get(cid) and shell.commands[cid].done):
                if shell.closed:
                    raise wsman.timed_out()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise wsman.timed_out()
                event.clear()
                try:
                    await asyncio.wait_for(event.wait(), remaining)
                except TimeoutError:
                    pass
            if cid:
                cmd = shell.commands.get(cid)
                linger = min(LINGER, deadline - time.monotonic())
                if cmd is not None and not cmd.done and linger > 0:
                    try:
                        await asyncio.wait_for(cmd.finished.wait(), linger)
                    except TimeoutError:
                        pass
        finally:
            shell.receivers -= 1
            shell.touch()
        chunks = take(target_queue, budget)
        done = False
        if cid:
            cmd = shell.commands.get(cid)
            done = bool(cmd and cmd.done and not cmd.queue)
        return wsman.receive_response(req, [("stdout", cid, c) for c in chunks], cid, done)

    # -- Signal / Delete ------------------------------------------------------------------------
    def signal(self, req: wsman.Request, user: str) -> bytes:
        shell = self._shell(req, user)
        body = req.body
        cid = (body.get("CommandId") or "").upper() if body is not None else ""
        code_el = body.find("rsp:Code", wsman.NS) if body is not None else None
        code = (code_el.text or "").strip() if code_el is not None else ""
        cmd = shell.commands.get(cid)
        if cmd is not None:
            if code in (wsman.SIGNAL_PS_CTRL_C, wsman.SIGNAL_CTRL_C):
                cmd.stop_event.set()
                if not cmd.started:
                    cmd.started = True
                    if cmd.pipe.state == PSInvocationState.NotStarted:
                        cmd.pipe.start()
                    self.finish(cmd, PipelineState.STOPPED, None)
            elif code == wsman.SIGNAL_TERMINATE:
                cmd.terminated = True
                if cmd.done or not cmd.started:
                    self._drop(cmd)
                else:
                    cmd.stop_event.set()
        return wsman.empty_response(req, "<rsp:SignalResponse/>")

    def delete(self, req: wsman.Request, user: str) -> bytes:
        shell = self._shell(req, user)
        self.close_shell(shell)
        return wsman.empty_response(req)

    def close_shell(self, shell: Shell) -> None:
        if shell.closed:
            return
        shell.closed = True
        self.shells.pop(shell.id, None)
        for cmd in list(shell.commands.values()):
            cmd.stop_event.set()
            cmd.terminated = True
            cmd.wake()
        shell.ready.set()
        for fut in shell.host_calls.values():
            if not fut.done():
                fut.cancel()
        if self.on_shell_closed:
            self.on_shell_closed(shell)

    def reap(self) -> list[str]:
        """Close shells idle for longer than their IdleTimeOut (clients that vanished)."""
        now = time.monotonic()
        gone = [s for s in self.shells.values() if s.receivers == 0 and now - s.last_activity > s.idle_timeout]
        for s in gone:
            log.info("closing shell %s of %s: idle for more than %d seconds (listener.idle_timeout_seconds)",
                     s.id, s.owner, round(s.idle_timeout))
            self.close_shell(s)
        return [s.id for s in gone]

    # -- Get / Enumerate -------------------------------------------------------------------------
    def get(self, req: wsman.Request, user: str) -> bytes:
        if req.resource_uri.lower().startswith(wsman.CONFIG_URI.lower()):
            return wsman.config_response(req, 500)
        if req.resource_uri.lower() == wsman.SHELL_URI.lower() or req.resource_uri.lower().startswith(wsman.PS_URI_PREFIX.lower()):
            shell = self._shell(req, user)
            return wsman.envelope(req, self._shell_body(shell))
        raise WSManFault(wsman.E_RESOURCE_NOT_FOUND,
                         "The WS-Management service cannot process the request. The resource URI is not supported.",
                         "w:DestinationUnreachable")

    def enumerate(self, req: wsman.Request, user: str) -> bytes:
        uri = req.resource_uri.lower()
        mine = [s for s in self.shells.values() if s.owner.lower() == user.lower()]
        if uri == wsman.SHELL_URI.lower():
            items = "".join(self._shell_body(s) for s in mine)
            return wsman.enumerate_response(req, items)
        if uri == (wsman.SHELL_URI + "/Command").lower():
            sel = None
            if req.body is not None:
                for s in req.body.iter(f"{{{wsman.NS['wsman']}}}Selector"):
                    if s.get("Name", "").lower() == "shellid":
                        sel = (s.text or "").strip().upper()
            items = "".join(
                f"<rsp:Command><rsp:ShellId>{s.id}</rsp:ShellId><rsp:CommandId>{c.id}</rsp:CommandId></rsp:Command>"
                for s in mine if sel in (None, s.id) for c in s.commands.values()
            )
            return wsman.enumerate_response(req, items)
        raise WSManFault(wsman.E_RESOURCE_NOT_FOUND,
                         "The WS-Management service cannot process the request. The resource URI is not supported.",
                         "w:DestinationUnreachable")
