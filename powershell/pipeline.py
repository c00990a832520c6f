"""Streams and the context a cmdlet runs in.

A cmdlet never prints: it writes to its CommandContext, which forwards to a StreamSink that
belongs to the front end (console renderer, JSON printer, PSRP pipeline, collector of a
non-final pipeline element). Terminating errors are raised as TerminatingError; a stop request
(Ctrl+C, PSRP ctrl_c signal) surfaces as PipelineStoppedError at the next check.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn, Protocol

from powershell.objects import ErrorCategory, ErrorRecord, ProgressRecord, error_record, progress_record


class StreamSink(Protocol):
    """Where a pipeline's streams go. Every method may be called from a worker thread."""

    def output(self, obj: Any) -> None: ...
    def error(self, record: ErrorRecord) -> None: ...
    def warning(self, message: str) -> None: ...
    def verbose(self, message: str) -> None: ...
    def debug(self, message: str) -> None: ...
    def information(self, message: Any) -> None: ...
    def progress(self, record: ProgressRecord) -> None: ...


class HostUI(Protocol):
    """Interactive host calls, where the front end has a user to ask (console, PSRP host calls)."""

    def prompt_for_parameters(self, command: str, fields: list[PromptField]) -> dict[str, Any] | None:
        """PowerShell's 'cmdlet X at command pipeline position 1 / Supply values for the following
        parameters:' prompt. Returns name -> value (str, or PSSecureString/PSCredential for secure
        fields), or None when the user cancelled or no user is there."""
        ...

    def read_line(self, prompt: str, secure: bool = False) -> str | None: ...


@dataclass
class PromptField:
    name: str
    type_name: str  # PowerShell type name: "System.String", "System.Management.Automation.PSCredential", ...
    help: str = ""
    is_array: bool = False
    secure: bool = False


class TerminatingError(Exception):
    """A terminating error: stops the pipeline; the record is written to the error stream."""

    def __init__(self, record: ErrorRecord) -> None:
        super().__init__(str(record))
        self.record = record


class PipelineStoppedError(Exception):
    """The pipeline was asked to stop (Ctrl+C or a PSRP stop signal)."""


class ListSink:
    """A sink that keeps everything in lists: used between pipeline elements and in tests."""

    def __init__(self) -> None:
        self.outputs: list[Any] = []
        self.errors: list[ErrorRecord] = []
        self.warnings: list[str] = []
        self.verboses: list[str] = []
        self.debugs: list[str] = []
        self.informations: list[Any] = []
        self.progresses: list[ProgressRecord] = []

    def output(self, obj: Any) -> None:
        self.outputs.append(obj)

    def error(self, record: ErrorRecord) -> None:
        self.errors.append(record)

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def verbose(self, message: str) -> None:
        self.verboses.append(message)

    def debug(self, message: str) -> None:
        self.debugs.append(message)

    def information(self, message: Any) -> None:
        self.informations.append(message)

    def progress(self, record: ProgressRecord) -> None:
        self.progresses.append(record)


class CollectingSink:
    """Keeps output objects (for the next pipeline element, or a variable); every other stream passes on."""

    def __init__(self, inner: StreamSink) -> None:
        self.inner = inner
        self.outputs: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def output(self, obj: Any) -> None:
        self.outputs.append(obj)


# ShouldProcess's choices, labels and help as PowerShell's host shows them ("Suspend" left out).
CONFIRM_CHOICES = [
    ("&Yes", "Continue with only the next step of the operation."),
    ("Yes to &All", "Continue with all the steps of the operation."),
    ("&No", "Skip this operation and proceed with the next operation."),
    ("No to A&ll", "Skip this operation and all subsequent operations."),
]


@dataclass
class CommandContext:
    """What one cmdlet invocation sees. Stream preferences come from the common parameters."""

    command: str
    sink: StreamSink
    runspace: Any = None  # session.runspace.Runspace (typed loosely to keep this module dependency-free)
    host: HostUI | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    verbose: bool = False
    debug: bool = False
    error_action: str = "Continue"
    warning_action: str = "Continue"
    information_action: str = "SilentlyContinue"
    whatif: bool = False
    confirm: bool = False
    errors_written: int = 0
    # an earlier "Yes to All" (True) / "No to All" (False) answer to -Confirm in this command
    _confirm_all: bool | None = field(default=None, init=False, repr=False, compare=False)

    # -- streams -------------------------------------------------------------------------
    def write_output(self, obj: Any) -> None:
        self.sink.output(obj)

    def write_error(
        self,
        message_or_record: str | ErrorRecord,
        error_id: str = "",
        category: ErrorCategory = ErrorCategory.NotSpecified,
        *,
        exception_type: str = "System.Exception",
        target: Any = None,
    ) -> None:
        """A non-terminating error. Honours -ErrorAction: Stop turns it terminating."""
        record = message_or_record
        if isinstance(record, str):
            record = error_record(
                record, error_id, category, exception_type=exception_type, command=self.command, target=target
            )
        if self.error_action == "Stop":
            raise TerminatingError(record)
        if self.error_action in ("SilentlyContinue", "Ignore"):
            return
        self.errors_written += 1
        self.sink.error(record)

    def throw(
        self,
        message: str,
        error_id: str,
        category: ErrorCategory = ErrorCategory.NotSpecified,
        *,
        exception_type: str = "System.Exception",
        target: Any = None,
    ) -> NoReturn:
        """ThrowTerminatingError."""
        raise TerminatingError(
            error_record(message, error_id, category, exception_type=exception_type, command=self.command, target=target)
        )

    def write_warning(self, message: str) -> None:
        if self.warning_action in ("SilentlyContinue", "Ignore"):
            return
        if self.warning_action == "Stop":
            self.throw(
                f"The running command stopped because the preference variable \"WarningPreference\" or common "
                f"parameter is set to Stop: {message}",
                "ActionPreferenceStop",
                ErrorCategory.OperationStopped,
                exception_type="System.Management.Automation.ActionPreferenceStopException",
            )
        self.sink.warning(message)

    def write_verbose(self, message: str) -> None:
        if self.verbose:
            self.sink.verbose(message)

    def write_debug(self, message: str) -> None:
        if self.debug:
            self.sink.debug(message)

    def write_information(self, message: Any) -> None:
        if self.information_action not in ("SilentlyContinue", "Ignore"):
            self.sink.information(message)

    def write_host(self, message: str) -> None:
        """Write-Host: text for the user's screen. It travels on the information stream (as in
        PowerShell 5+) and is shown whatever -InformationAction says."""
        self.sink.information(message)

    def write_progress(self, activity: str, status: str, **kwargs: Any) -> None:
        """kwargs: activity_id, parent_id, percent, current_operation, seconds_remaining, completed."""
        self.sink.progress(progress_record(activity, status, **kwargs))

    # -- ShouldProcess (-WhatIf / -Confirm) -----------------------------------------------------
    def should_process(self, target: str, action: str | None = None) -> bool:
        """PowerShell's ShouldProcess: -WhatIf describes the action and skips it; -Confirm asks the
        user first (and fails as PowerShell does when there is no user to ask)."""
        action = action or self.command
        if self.whatif:
            self.write_host(f'What if: Performing the operation "{action}" on target "{target}".')
            return False
        if not self.confirm:
            return True
        def no_host() -> NoReturn:
            self.throw(
                "A command that prompts the user failed because the host program or the command type does "
                "not support user interaction. The host was attempting to request confirmation with the "
                'following message: Are you sure you want to perform this action?', "HostException",
                ErrorCategory.NotImplemented,
                exception_type="System.Management.Automation.Host.HostException")
        if self.host is None:
            no_host()
        if self._confirm_all is not None:
            return self._confirm_all  # an earlier "Yes to All" / "No to All" in this command
        choose = getattr(self.host, "prompt_for_choice", None)
        if choose is not None:
            # A remote host: PromptForChoice, as PowerShell's ShouldProcess asks (no Suspend: a
            # remote session cannot enter a nested prompt). No answer is the no-host failure.
            index = choose("Confirm", "Are you sure you want to perform this action?\n"
                           f'Performing the operation "{action}" on target "{target}".', CONFIRM_CHOICES, 0)
            if index is None or not 0 <= index < len(CONFIRM_CHOICES):
                no_host()
            if index in (1, 3):
                self._confirm_all = index == 1
            return index in (0, 1)
        answer = self.host.read_line(
            "\nConfirm\nAre you sure you want to perform this action?\n"
            f'Performing the operation "{action}" on target "{target}".\n'
            '[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [S] Suspend  [?] Help (default is "Y"): ')
        if answer is None:
            raise PipelineStoppedError("The pipeline has been stopped.")
        return answer.strip().lower() in ("", "y", "a", "yes")

    # -- cancellation ----------------------------------------------------------------------
    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def check_stopped(self) -> None:
        if self.stop_event.is_set():
            raise PipelineStoppedError("The pipeline has been stopped.")


class PipelineState(StrEnum):
    """How a pipeline ended: PowerShell's PSInvocationState names (the PSRP wire uses the same)."""

    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"


@dataclass
class InvocationResult:
    """How one input (or command-form pipeline) ended, for every front end."""

    state: PipelineState = PipelineState.COMPLETED
    had_errors: bool = False  # any error record was written
    terminating_error: ErrorRecord | None = None

    @property
    def succeeded(self) -> bool:
        """Completed with no error record: what `$?` says, and what exit code 0 means for `pep -c` and `pep run`."""
        return self.state == PipelineState.COMPLETED and not self.had_errors
