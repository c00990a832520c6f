"""Run one PSRP pipeline through the shell's session.runspace.Runspace.

AddScript pipelines go to Runspace.invoke (text meets the NoLanguage rules). AddCommand
pipelines become CommandCalls whose argument values stay typed as psrpcore deserialised them
(PSDateTime, PSCredential with a decrypted SecureString, lists ...), which is what Invoke-Command
sends for `{ Get-AzureStackLog -FromDate $using:fromDate }`.
"""
from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from powershell.invocation import CommandArgument, CommandCall
from powershell.objects import ErrorCategory, error_record
from powershell.pipeline import PipelineState
from session.listener.streams import PipelineSink, RemoteHost

log = logging.getLogger(__name__)


def to_calls(commands: list[Any]) -> list[CommandCall]:
    """psrpcore Command objects of one statement -> CommandCalls."""
    calls = []
    for c in commands:
        args: list[CommandArgument] = []
        for name, value in c.parameters:
            if name is None:
                args.append(CommandArgument(value=value))
            elif value is None:
                # AddParameter("Verbose") with no value: a switch given without an argument.
                args.append(CommandArgument(parameter=str(name)))
            else:
                args.append(CommandArgument(parameter=str(name), value=value, colon=True))
        calls.append(CommandCall(str(c.command_text), args))
    return calls


def statements(commands: list[Any]) -> list[list[Any]]:
    out: list[list[Any]] = [[]]
    for c in commands:
        out[-1].append(c)
        if getattr(c, "end_of_statement", False):
            out.append([])
    return [s for s in out if s]


class Runner:
    """The coroutine ShellTable calls for every command."""

    def __init__(self, runspace_factory: Callable[..., Any], executor: Executor):
        self.runspace_factory = runspace_factory  # (shell, host) -> Runspace
        self.executor = executor

    async def prepare(self, shell: Any) -> None:
        """Create the shell's Runspace right after Create, while the client is still opening the
        pool, so the first command does not pay for it."""
        try:
            async with shell.run_lock:
                await self._ensure_runspace(shell)
        except Exception:  # the first command will report it as an error record
            log.exception("cannot create the runspace for shell %s", shell.id)

    async def _ensure_runspace(self, shell: Any) -> None:
        if shell.runspace is None and not shell.closed:
            loop = asyncio.get_running_loop()
            host = RemoteHost(loop, shell) if shell.client_has_host else None
            shell.host = host
            shell.runspace = await loop.run_in_executor(self.executor, self.runspace_factory, shell, host)

    async def __call__(self, shell: Any, cmd: Any) -> None:
        loop = asyncio.get_running_loop()
        sink = PipelineSink(loop, cmd)
        async with shell.run_lock:
            await self._ensure_runspace(shell)
            if cmd.stop_event.is_set() or shell.runspace is None:
                state, error = PipelineState.STOPPED, None
            else:
                state, error = await loop.run_in_executor(self.executor, self._invoke, shell, cmd, sink)
        sink.settle(error)
        shell.table.finish(cmd, state, error)

    def _invoke(self, shell: Any, cmd: Any, sink: PipelineSink) -> tuple[PipelineState, Any]:
        rs = shell.runspace
        host = getattr(shell, "host", None)
        if host is not None:
            host.current.cmd = cmd
        try:
            meta = cmd.pipe.metadata
            commands = getattr(meta, "commands", None)
            if commands is None:  # GetCommandMetadata and other non-pipeline requests
                rec = error_record("The remote endpoint does not support command metadata requests.",
                                   "NotSupported", ErrorCategory.NotImplemented,
                                   exception_type="System.NotSupportedException")
                return PipelineState.FAILED, rec
            inputs = list(cmd.input) or None
            for stmt in statements(commands):
                if len(stmt) == 1 and stmt[0].is_script:
                    result = rs.invoke(str(stmt[0].command_text), sink, stop_event=cmd.stop_event)
                else:
                    result = rs.invoke_calls(to_calls(stmt), sink, stop_event=cmd.stop_event, input=inputs)
                if result.state != PipelineState.COMPLETED:
                    return result.state, result.terminating_error
            return (PipelineState.STOPPED, None) if cmd.stop_event.is_set() else (PipelineState.COMPLETED, None)
        except Exception as e:  # never a traceback to the client
            log.error("listener: internal error running %s:\n%s", cmd.id, traceback.format_exc())
            return PipelineState.FAILED, error_record(f"An internal error occurred: {type(e).__name__}: {e}", "InternalError")
        finally:
            if host is not None:
                host.current.cmd = None
