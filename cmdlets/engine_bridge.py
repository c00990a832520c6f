"""The PowerShell side of the collection engine: its Reporter over a cmdlet's CommandContext, its
errors as ErrorRecords, its stop as a stopped pipeline. The engine (collector/) knows none of this.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from collector.commands import AUTOMATIC_COMMAND as AUTOMATIC
from collector.commands import COLLECT_NOW_COMMAND as COLLECT_NOW
from collector.errors import Category, CollectionError, CollectionStopped
from collector.plan import CollectionRequest
from collector.report import Progress
from collector.sinks.base import Sink
from common.redact import redact
from powershell.objects import ErrorCategory, ErrorRecord, error_record
from powershell.pipeline import CommandContext, PipelineStoppedError, TerminatingError

if TYPE_CHECKING:
    from collector.engine import CollectionResult

RUN_ACTIVITY = "Get-AzureStackLog"  # the Write-Progress activity of the whole run (id 1)
_MB = 1048576
# The .NET exception a PowerShell cmdlet would carry for each kind of engine failure.
_EXCEPTION_TYPES = {
    Category.ResourceBusy: "System.InvalidOperationException",
    Category.NotInstalled: "System.NotSupportedException",
}


def error_record_of(error: CollectionError, command: str, exception_type: str | None = None) -> ErrorRecord:
    """The ErrorRecord of an engine error: FullyQualifiedErrorId `<error_id>,<command>`, the
    ErrorCategory of the same name, the error's message and target, both redacted (common.redact):
    an engine message may quote a destination or a request typed with a secret in it."""
    target = redact(error.target) if isinstance(error.target, str) else error.target
    return error_record(redact(error.message), error.error_id, ErrorCategory[error.category.value],
                        exception_type=exception_type or _EXCEPTION_TYPES.get(error.category, "System.IO.IOException"),
                        command=command, target=target)


class CommandReporter:
    """collector.report.Reporter over a CommandContext: lines are Write-Host, progress is
    Write-Progress (activity 1 the run, one child activity per role)."""

    def __init__(self, ctx: CommandContext):
        self._ctx = ctx
        self._ids: dict[str, int] = {}
        self._mutex = threading.Lock()

    def line(self, text: str) -> None:
        self._ctx.write_host(text)

    def warning(self, text: str) -> None:
        self._ctx.write_warning(text)

    def verbose(self, text: str) -> None:
        self._ctx.write_verbose(text)

    def error(self, error: CollectionError) -> None:
        self._ctx.write_error(error_record_of(error, self._ctx.command))

    def progress(self, update: Progress) -> None:
        if update.role is None:
            if update.finished:
                self._ctx.write_progress(RUN_ACTIVITY, "Completed", activity_id=1, completed=True)
            else:
                total = max(1, update.total)
                self._ctx.write_progress(RUN_ACTIVITY, f"Collected {update.done / _MB:.1f} of {total / _MB:.1f} MB",
                                         activity_id=1, percent=min(100, update.done * 100 // total))
            return
        with self._mutex:
            activity_id = self._ids.setdefault(update.role, len(self._ids) + 2)
        activity = f"Collecting {update.role}"
        if update.finished:
            self._ctx.write_progress(activity, "Completed", activity_id=activity_id, parent_id=1, completed=True)
        else:
            total = max(1, update.total)
            self._ctx.write_progress(activity, f"{update.done / _MB:.1f} of {total / _MB:.1f} MB",
                                     activity_id=activity_id, parent_id=1, percent=min(100, update.done * 100 // total))


def _behind_help_and_support(ctx: CommandContext) -> Callable[[dict[str, Any]], bool]:
    """While Help + Support collects (automatically, or "Collect logs now"), a PEP collection waits for
    it with one visible line, and Ctrl+C stops the wait; a collection of another PEP session still
    refuses at once with CollectionAlreadyRunning (docs/help-support.md, Automatic collection)."""
    told = False

    def wait(holder: dict[str, Any]) -> bool:
        nonlocal told
        command = str(holder.get("command") or "")
        if command not in (AUTOMATIC, COLLECT_NOW):
            return False
        if not told:
            ctx.write_warning(f"Help + Support is collecting logs ({command}, started {holder.get('started', '?')}); "
                              "this collection starts when it ends. Press Ctrl+C to stop waiting.")
            told = True
        return not ctx.stop_event.wait(1.0)

    return wait


def run_collection(ctx: CommandContext, env: Any, req: CollectionRequest, sink: Sink) -> CollectionResult:
    """Engine.run for a cmdlet: refusals become a terminating ErrorRecord, a stop a stopped pipeline.
    The sink is closed whatever happens. The collection's history row has type PEP."""
    from collector.engine import Engine  # the engine's imports are paid by collections only (start-up time)
    from collector.history import CollectionType, Origin

    try:
        return Engine(env).run(req, sink, CommandReporter(ctx), ctx.stop_event, Origin(CollectionType.PEP),
                               wait=_behind_help_and_support(ctx))
    except CollectionError as e:
        raise TerminatingError(error_record_of(e, req.command)) from None
    except CollectionStopped:
        raise PipelineStoppedError("The pipeline has been stopped.") from None
    finally:
        try:
            sink.close()
        except Exception:  # closing must never hide the real outcome
            pass
