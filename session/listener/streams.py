"""From a runspace's streams to a psrpcore ServerPipeline, and host prompts back to the client.

The runspace runs in a worker thread; psrpcore objects live on the event loop. Every write is
posted to the loop in order (call_soon_threadsafe keeps FIFO order), applied to the pipeline,
and pumped into the command's Receive queue.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from psrpcore import ServerHostRequestor
from psrpcore.types import (
    ChoiceDescription,
    FieldDescription,
    InformationRecord,
    InformationRecordMsg,
    PSInvocationState,
    PSList,
    PSObject,
    PSRPMessageType,
    add_note_property,
)

from powershell.pipeline import PipelineStoppedError, PromptField

log = logging.getLogger(__name__)


class PipelineSink:
    """A StreamSink writing to one command's ServerPipeline.

    The runspace writes a terminating error to the error stream *and* returns it; on the wire
    PowerShell sends it only as the Failed state's ExceptionAsErrorRecord (clients add it to
    their error stream themselves). So the most recent error is held back one step and dropped
    at the end when it is the terminating one.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, cmd: Any):
        self.loop = loop
        self.cmd = cmd
        self._pending_error: Any = None

    # -- StreamSink (worker thread) -------------------------------------------------------
    def output(self, obj: Any) -> None:
        self._post(self._write_output, obj)

    def error(self, record: Any) -> None:
        self._post(self._hold_error, record)

    def warning(self, message: str) -> None:
        self._post(lambda m: self.cmd.pipe.write_warning(str(m)), message)

    def verbose(self, message: str) -> None:
        self._post(lambda m: self.cmd.pipe.write_verbose(str(m)), message)

    def debug(self, message: str) -> None:
        self._post(lambda m: self.cmd.pipe.write_debug(str(m)), message)

    def information(self, message: Any) -> None:
        self._post(self._write_information, message)

    def progress(self, record: Any) -> None:
        self._post(self._write_progress, record)

    # -- loop side ----------------------------------------------------------------------------
    def _post(self, fn, arg) -> None:
        self.loop.call_soon_threadsafe(self._apply, fn, arg)

    def _apply(self, fn, arg) -> None:
        if self.cmd.done or self.cmd.pipe.state != PSInvocationState.Running:
            return
        try:
            if fn is not self._hold_error:
                self._flush_error()
            fn(arg)
        except Exception as e:  # a value psrpcore cannot serialise must not kill the pipeline
            log.warning("cannot send %r on %s: %s", type(arg).__name__, self.cmd.id, e)
        self.cmd.shell.pump()

    def _write_output(self, obj: Any) -> None:
        self.cmd.pipe.write_output(obj)

    def _hold_error(self, record: Any) -> None:
        self._flush_error()
        self._pending_error = record

    def _flush_error(self) -> None:
        record, self._pending_error = self._pending_error, None
        if record is not None:
            record.serialize_extended_info = getattr(record, "InvocationInfo", None) is not None
            self.cmd.pipe.prepare_message(record, message_type=PSRPMessageType.ErrorRecord)

    def _write_information(self, message: Any) -> None:
        self.cmd.pipe.prepare_message(information_message(message), message_type=PSRPMessageType.InformationRecord)

    def _write_progress(self, rec: Any) -> None:
        self.cmd.pipe.write_progress(
            rec.Activity, rec.ActivityId, rec.StatusDescription,
            current_operation=rec.CurrentOperation, parent_activity_id=rec.ParentActivityId,
            percent_complete=rec.PercentComplete, record_type=rec.RecordType,
            seconds_remaining=rec.SecondsRemaining,
        )

    def settle(self, terminating_error: Any) -> None:
        """On the loop, before the final state: send the held-back error unless it is the terminating one."""
        if self._pending_error is not None and self._pending_error is terminating_error:
            self._pending_error = None
        if self.cmd.pipe.state == PSInvocationState.Running:
            try:
                self._flush_error()
            except Exception as e:
                log.warning("cannot send error record on %s: %s", self.cmd.id, e)


def information_message(message: Any) -> Any:
    """The INFORMATION_RECORD message Windows PowerShell 5.1 sends. Text is what Write-Host
    writes (the only text on this stream here): a HostInformationMessage tagged PSHOST from
    source Write-Host. Both it and the record carry <ToString> = the text, as .NET's ToString
    gives, so pypsrp's str(record) and str(record.message_data) read the line."""
    data = getattr(message, "MessageData", message)
    if isinstance(data, str):
        text = data
        data = PSObject()
        data.PSObject.type_names = [HOST_MESSAGE_TYPE, "System.Object"]
        for name, value in (("Message", text), ("NoNewLine", False),
                            ("ForegroundColor", None), ("BackgroundColor", None)):
            add_note_property(data, name, value)
        data.PSObject.to_string = text
        source, tags = "Write-Host", ["PSHOST"]
    else:
        text = "" if data is None else str(data)
        source, tags = "", []
    rec = InformationRecord.create(data, source, tags=PSList(tags))
    msg = InformationRecordMsg(
        MessageData=rec.MessageData, Source=rec.Source, TimeGenerated=rec.TimeGenerated, Tags=rec.Tags,
        User=rec.User, Computer=rec.Computer, ProcessId=rec.ProcessId, NativeThreadId=rec.NativeThreadId,
        ManagedThreadId=rec.ManagedThreadId,
    )
    msg.PSObject.to_string = text
    return msg


HOST_MESSAGE_TYPE = "System.Management.Automation.HostInformationMessage"

_TYPE_NAMES = {
    "System.String": "String",
    "System.Management.Automation.PSCredential": "PSCredential",
    "System.Security.SecureString": "SecureString",
}


class RemoteHost:
    """HostUI for a shell whose client brought a host: mandatory-parameter prompts become PSRP
    Prompt host calls on the running pipeline. Called from the worker thread."""

    POLL = 0.05  # seconds between looks at the command's stop event while a host call waits

    def __init__(self, loop: asyncio.AbstractEventLoop, shell: Any, timeout: float = 600.0):
        self.loop = loop
        self.shell = shell
        self.timeout = timeout
        self.current = threading.local()

    def prompt_for_parameters(self, command: str, fields: list[PromptField]) -> dict[str, Any] | None:
        result = self._ask(lambda pipe: self._prompt_call(pipe, command, fields))
        return dict(result) if isinstance(result, dict) else None

    def read_line(self, prompt: str, secure: bool = False) -> Any:
        """The prompt goes out as a Write host call (a console shows it before reading, as
        PowerShell's own prompts do), then ReadLine, or ReadLineAsSecureString for a password
        (the answer is a SecureString, so the client must have exchanged keys)."""

        def call(pipe: Any) -> int:
            requestor = ServerHostRequestor(pipe)
            requestor.write(prompt)
            return requestor.read_line_as_secure_string() if secure else requestor.read_line()

        result = self._ask(call)
        if result is None:
            return None
        return result if secure else str(result)

    def prompt_for_choice(self, caption: str, message: str, choices: list[tuple[str, str]],
                          default: int = 0) -> int | None:
        """PromptForChoice (what ShouldProcess uses): the chosen index, or None without an answer."""
        descriptions = [ChoiceDescription(Label=label, HelpMessage=help) for label, help in choices]
        result = self._ask(lambda pipe: ServerHostRequestor(pipe).prompt_for_choice(
            caption, message, descriptions, default))
        try:
            return int(result) if result is not None else None
        except (TypeError, ValueError):
            return None

    # -- loop side ----------------------------------------------------------------------------
    def _ask(self, send: Any) -> Any:
        """Run one host call on the current command's pipeline and wait for the client's answer;
        None when there is no pipeline, the client answered with an error, or it never answered.
        A stop of the command (the client's ctrl_c signal, the shell closing) ends the wait at
        once with PipelineStoppedError, which the runspace turns into the Stopped state; the
        client's late answer, if any, is then ignored."""
        cmd = getattr(self.current, "cmd", None)
        if cmd is None:
            return None
        stopped = PipelineStoppedError("The pipeline has been stopped.")
        if cmd.stop_event.is_set():
            raise stopped
        fut = asyncio.run_coroutine_threadsafe(self._host_call(cmd, send), self.loop)
        deadline = time.monotonic() + self.timeout
        while not fut.done():
            if cmd.stop_event.is_set():
                fut.cancel()
                raise stopped
            if time.monotonic() >= deadline:
                fut.cancel()
                return None
            try:
                fut.result(min(self.POLL, max(0.0, deadline - time.monotonic())))
            except Exception:  # not yet (TimeoutError), or the call failed: looked at below
                pass
        # A client stopping at its prompt sends the stop signal, then answers the call with an
        # error: that answer is the stop, not a host that cannot prompt (HostException).
        if cmd.stop_event.is_set():
            raise stopped
        try:
            return fut.result(0)
        except Exception:
            return None

    async def _host_call(self, cmd: Any, send: Any) -> Any:
        if cmd.done or cmd.pipe.state != PSInvocationState.Running:
            return None
        ci = send(cmd.pipe)
        fut = self.loop.create_future()
        self.shell.host_calls[ci] = fut
        self.shell.pump()
        try:
            event = await fut
        finally:  # answered, or cancelled by a stop: either way the call is no longer pending
            self.shell.host_calls.pop(ci, None)
        return None if event.error is not None else event.result

    @staticmethod
    def _prompt_call(pipe: Any, command: str, fields: list[PromptField]) -> int:
        descriptions = []
        for f in fields:
            full = f.type_name if f.type_name.endswith("[]") or not f.is_array else f.type_name + "[]"
            descriptions.append(FieldDescription(
                Name=f.name, Label="", HelpMessage=f.help or None, IsMandatory=True,
                ParameterTypeName=_TYPE_NAMES.get(full, full.rsplit(".", 1)[-1]),
                ParameterTypeFullName=full,
                ParameterAssemblyFullName=full,
                DefaultValue=None, Attributes=[],
            ))
        return ServerHostRequestor(pipe).prompt(
            f"cmdlet {command} at command pipeline position 1",
            "Supply values for the following parameters:",
            descriptions,
        )
