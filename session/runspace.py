"""A runspace: one session's policy (visible cmdlets, language mode), its streams and transcript.

Every front end (console, `pep -c`, the PSRP listener, Help + Support) runs commands through
Runspace.invoke (text) or Runspace.invoke_calls (command-form pipelines with typed values).

INTERFACE (stable; implementation lands in this module):

    rs = Runspace(env, language_mode="NoLanguage", host=None, user="AZURESTACK\\CloudAdmin")
    result = rs.invoke("Get-Command -Name Get-*", sink, stop_event=threading.Event())
    result = rs.invoke_calls([CommandCall("Get-AzureStackLog", [CommandArgument("FromDate"),
                              CommandArgument(value=datetime(...))])], sink)
    result.state: a PipelineState (Completed, Failed, Stopped); result.had_errors; result.terminating_error
    rs.visible_commands() -> list[type[Cmdlet]];  rs.resolve_command("gcm") -> type[Cmdlet] | None
    rs.complete(line, cursor) -> list[str]        # command names, -Parameter names, ValidateSet values
    rs.exit_requested                              # set by exit / Exit-PSSession (session.foreground.leaves_session)
    rs.close()                                     # flush and close the transcript
"""
from __future__ import annotations

import threading
import traceback
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from powershell.commands import Cmdlet
from powershell.invocation import CommandCall
from powershell.limits import (
    ARGUMENT_EXCEPTION,
    Limits,
    argument_too_long_message,
    check_arguments,
    check_calls_total,
    check_input,
    check_value,
    shorten,
)
from powershell.objects import (
    ErrorCategory,
    ErrorRecord,
    SourcePosition,
    error_record,
    with_invocation,
    with_position,
    with_recommended_action,
)
from powershell.pipeline import (
    CollectingSink,
    CommandContext,
    HostUI,
    InvocationResult,
    PipelineState,
    PipelineStoppedError,
    StreamSink,
    TerminatingError,
)
from session.environment import Environment
from session.foreground import leaves_session
from session.transcript import Transcript

NOT_RECOGNIZED = (
    "The term '{}' is not recognized as the name of a cmdlet, function, script file, or operable program. "
    "Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
)


class _CountingSink:
    """Forwards every stream and remembers whether an error record went through."""

    def __init__(self, inner: StreamSink):
        self.inner = inner
        self.errors = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def error(self, record: ErrorRecord) -> None:
        self.errors += 1
        self.inner.error(record)


class _TranscriptSink:
    """Forwards every stream and renders a copy of it for the transcript; with `emit`, each rendered
    piece goes to the transcript as it comes (a kill -9 keeps what was shown)."""

    def __init__(self, inner: Any, emit: Any = None):
        self.inner = inner
        self.lines: list[str] = []
        self.pending: list[Any] = []
        self.emit = emit

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _fmt(self):
        try:
            from powershell import formatting
        except ImportError:  # pragma: no cover
            return None
        return formatting

    def _flush_output(self) -> None:
        if self.pending:
            f = self._fmt()
            self.lines.append(f.format_output(self.pending) if f else "\n".join(map(str, self.pending)))
            self.pending = []
            self._emit()

    def _emit(self) -> None:
        if self.emit is not None and self.lines:
            self.emit(self.text())
            self.lines = []

    def output(self, obj: Any) -> None:
        self.pending.append(obj)
        self.inner.output(obj)

    def error(self, record: ErrorRecord) -> None:
        self._flush_output()
        f = self._fmt()
        self.lines.append(f.format_error(record) if f else str(record))
        self._emit()
        self.inner.error(record)

    def warning(self, message: str) -> None:
        self._flush_output()
        self.lines.append(f"WARNING: {message}")
        self._emit()
        self.inner.warning(message)

    def verbose(self, message: str) -> None:
        self._flush_output()
        self.lines.append(f"VERBOSE: {message}")
        self._emit()
        self.inner.verbose(message)

    def information(self, message: Any) -> None:
        # Write-Host text (the engine's "Log collection destination: ..." lines): a transcript keeps
        # what the host showed, as Start-Transcript does
        self._flush_output()
        self.lines.append(message if isinstance(message, str) else str(getattr(message, "MessageData", message)))
        self._emit()
        self.inner.information(message)

    def text(self) -> str:
        if self.pending:
            self._flush_output()
        return "\n".join(line.rstrip("\n") for line in self.lines)

    def finish(self) -> None:
        """The output still held (objects waiting to be formatted) goes to the transcript."""
        self._flush_output()
        self._emit()


class _InvocationSink:
    """Forwards every stream; an error record the command writes gets the command's name and extent
    (PowerShell's InvocationInfo), so the view shows 'At line:1 char:1' under it as 5.1 does."""

    def __init__(self, inner: Any, command: str, position: SourcePosition | None):
        self.inner, self.command, self.position = inner, command, position

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def error(self, record: ErrorRecord) -> None:
        self.inner.error(with_invocation(record, self.command, self.position))


class _LimitedHost:
    """A host whose answers to the binder's prompts (mandatory parameters, a credential's password)
    meet the same per-value limits as typed arguments: a client host cannot smuggle a 10 MB value in."""

    _CHECKED = ("prompt_for_parameters", "read_line")

    def __init__(self, inner: Any, limits: Limits):
        self.inner = inner
        self.limits = limits

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)  # AttributeError when the host lacks it, as the binder expects
        if name not in self._CHECKED:
            return attr

        def checked(*args: Any, **kwargs: Any) -> Any:
            answer = attr(*args, **kwargs)
            values = answer.items() if isinstance(answer, dict) else [(None, answer)]
            for key, value in values:
                problem = check_value(value, self.limits)
                if problem:
                    from powershell.binding import ParameterBindingError

                    where = f"The answer for parameter '{shorten(key)}'" if key is not None else "The answer"
                    raise ParameterBindingError(
                        "ArgumentTooLong", argument_too_long_message(f"{where} {problem}", self.limits),
                        category=ErrorCategory.LimitsExceeded, parameter=None if key is None else str(key),
                        exception_type=ARGUMENT_EXCEPTION)
            return answer

        return checked


class Runspace:
    """One session. Not re-entrant: one pipeline runs at a time (like a PowerShell runspace).

    language_mode: "NoLanguage" (the PEP) or "Workstation" (pep run / pep connect).
    extra_commands: cmdlet classes added to the visible set (tests, and the workstation policy).
    """

    def __init__(
        self,
        env: Environment,
        *,
        language_mode: str = "NoLanguage",
        host: HostUI | None = None,
        user: str | None = None,
        transcript: bool = True,
        extra_commands: Iterable[type[Cmdlet]] = (),
        commands: Iterable[type[Cmdlet]] | None = None,
        is_terminal: bool = False,
        output_roots: list[Path] | None = None,
    ):
        from cmdlets.registry import pep_cmdlets

        self.env = env
        self.language_mode = language_mode
        self.host = host
        self.user = user or f"{env.stamp.domain.split('.')[0].upper()}\\CloudAdmin"
        self.is_terminal = is_terminal  # Clear-Host only draws on a terminal
        # Remote sessions write to the local disk only under these folders; None: unrestricted (the console).
        self.output_roots = output_roots
        self.exit_requested = False
        self.variables: dict[str, Any] = {}  # workstation mode only
        visible = list(pep_cmdlets() if commands is None else commands) + list(extra_commands)
        self._commands: dict[str, type[Cmdlet]] = {}
        self._aliases: dict[str, type[Cmdlet]] = {}
        for cls in visible:
            self._commands[cls.name.lower()] = cls
            for alias in cls.aliases:
                self._aliases[alias.lower()] = cls
        # Commands granted to this session until a time (Unlock-SupportSession's diagnostic cmdlets):
        # visible and callable only while the grant lasts, gone when it lapses or the session closes.
        self._granted: dict[str, type[Cmdlet]] = {}
        self._granted_until: datetime | None = None
        self.support_session: Any = None  # this session's support-session state (cmdlets/support.py)
        self._busy = threading.Lock()
        # Input size limits (limits.* configuration keys) guard the PEP's NoLanguage door; a
        # workstation script (pep run) is the local user's own file.
        self.limits = Limits.from_env(env)
        self.transcript: Transcript | None = None
        self._running_input: str | None = None  # the transcript's copy of the command running now
        if transcript:
            self.start_transcript()

    # -- policy ----------------------------------------------------------------------------
    @property
    def _limited(self) -> bool:
        return self.language_mode == "NoLanguage"

    @property
    def prompt_name(self) -> str:
        return self.env.stamp.ercs_name

    def visible_commands(self) -> list[type[Cmdlet]]:
        return sorted({**self._commands, **self._granted_now()}.values(), key=lambda c: c.name.lower())

    def resolve_command(self, name: str) -> type[Cmdlet] | None:
        low = name.lower()
        return self._commands.get(low) or self._aliases.get(low) or self._granted_now().get(low)

    def grant_commands(self, commands: Iterable[type[Cmdlet]], until: datetime) -> None:
        """Add `commands` to this session's visible set until `until` (UTC); a new grant replaces the last."""
        self._granted = {cls.name.lower(): cls for cls in commands}
        self._granted_until = until

    def revoke_granted_commands(self) -> None:
        self._granted, self._granted_until = {}, None

    def _granted_now(self) -> dict[str, type[Cmdlet]]:
        if self._granted_until is not None and datetime.now(timezone.utc) >= self._granted_until:
            self.revoke_granted_commands()
        return self._granted

    # -- running ---------------------------------------------------------------------------
    def invoke(
        self,
        text: str,
        sink: StreamSink,
        *,
        stop_event: threading.Event | None = None,
        host: HostUI | None = None,
    ) -> InvocationResult:
        """Run one input typed by a user (or sent as a script): parse, check the language mode, run."""
        counting = _CountingSink(sink)
        transcript = self.transcript
        tsink = _TranscriptSink(counting, self._transcript_output) if transcript else counting
        refused = check_input(text, self.limits) if self._limited else None
        if transcript:
            # written before the command runs; refused for its size: a prefix and the length, not the value
            self._running_input = shorten(text) if refused is not None else text
            transcript.command_started(self._running_input)
        try:
            if refused is not None:
                tsink.error(refused)
                result = InvocationResult(PipelineState.FAILED, True, refused)
            else:
                result = self._guarded(tsink, lambda: self._invoke_text(text, tsink, stop_event, host))
        finally:
            if isinstance(tsink, _TranscriptSink):
                tsink.finish()
            self._running_input = None
        result.had_errors = result.had_errors or counting.errors > 0
        return result

    def invoke_calls(
        self,
        calls: list[CommandCall],
        sink: StreamSink,
        *,
        stop_event: threading.Event | None = None,
        host: HostUI | None = None,
        input: list[Any] | None = None,
    ) -> InvocationResult:
        """Run a command-form pipeline whose argument values are already typed (PSRP AddCommand)."""
        counting = _CountingSink(sink)
        transcript = self.transcript
        tsink = _TranscriptSink(counting, self._transcript_output) if transcript else counting
        result = InvocationResult(PipelineState.FAILED, True)
        refused = check_calls_total(calls, self.limits, input) if self._limited else None
        if transcript:
            # written before the command runs (each value already cut to the argument limit);
            # refused for its size: a prefix and the length
            shown = _describe_calls(calls, self.limits)
            self._running_input = shorten(shown) if refused is not None else shown
            transcript.command_started(self._running_input)
        try:
            if refused is not None:
                tsink.error(refused)
                result = InvocationResult(PipelineState.FAILED, True, refused)
            else:
                result = self._guarded(tsink, lambda: self._run(calls, tsink, stop_event, host, None, input))
        finally:
            if isinstance(tsink, _TranscriptSink):
                tsink.finish()
            self._running_input = None
        result.had_errors = result.had_errors or counting.errors > 0
        return result

    def _guarded(self, sink, run) -> InvocationResult:
        """Whatever goes wrong outside a cmdlet also ends as an error record, never a traceback."""
        try:
            return run()
        except KeyboardInterrupt:
            return InvocationResult(PipelineState.STOPPED)
        except Exception as e:
            _log_internal_error(self.env, "runspace", traceback.format_exc())
            record = error_record(f"An internal error occurred: {type(e).__name__}: {e}", "InternalError",
                                  ErrorCategory.NotSpecified)
            sink.error(record)
            return InvocationResult(PipelineState.FAILED, True, record)

    def _invoke_text(self, text, sink, stop_event, host) -> InvocationResult:
        from powershell.language import ParseError

        try:
            if self.language_mode == "NoLanguage":
                from powershell.language import to_command_calls

                calls = to_command_calls(text)
            else:
                return self._invoke_workstation(text, sink, stop_event, host)
        except ParseError as e:
            record = e.to_error_record()
            if e.hint:
                with_recommended_action(record, e.hint)
            sink.error(record)
            return InvocationResult(PipelineState.FAILED, True, record)
        if not calls:
            return InvocationResult()
        return self._run(calls, sink, stop_event, host, text, None)

    def _invoke_workstation(self, text, sink, stop_event, host) -> InvocationResult:
        from session.workstation import run_script  # lands with the workstation issue

        return run_script(self, text, sink, stop_event=stop_event, host=host)

    def _run(self, calls, sink, stop_event, host, text, input) -> InvocationResult:
        if not self._busy.acquire(blocking=False):
            record = error_record(
                "The pipeline was not run because a pipeline is already running. Pipelines cannot be run "
                "concurrently.", "InvalidOperation", ErrorCategory.InvalidOperation,
                exception_type="System.Management.Automation.PSInvalidOperationException")
            sink.error(record)
            return InvocationResult(PipelineState.FAILED, True, record)
        try:
            return self._run_locked(calls, sink, stop_event or threading.Event(), host or self.host, text, input)
        finally:
            self._busy.release()

    def _run_locked(self, calls, sink, stop_event, host, text, input) -> InvocationResult:
        from powershell.binding import ParameterBindingError, bind

        if self._limited and len(calls) == 1 and not calls[0].arguments and leaves_session(calls[0].name):
            # `exit` (or Exit-PSSession) alone: leave the session (transcripts stay on the PEP)
            self.exit_requested = True
            return InvocationResult()
        # Resolve and bind every element before running any (as PowerShell does).
        bound = []
        for index, call in enumerate(calls):
            cls = self.resolve_command(call.name)
            if cls is None:
                record = error_record(
                    NOT_RECOGNIZED.format(shorten(call.name)), "CommandNotFoundException", ErrorCategory.ObjectNotFound,
                    exception_type="System.Management.Automation.CommandNotFoundException",
                    target=shorten(call.name))
                if text is not None and call.start is not None:
                    with_position(record, SourcePosition(text, call.start, call.end))
                sink.error(record)
                return InvocationResult(PipelineState.FAILED, True, record)
            if self._limited:
                refusal = check_arguments(call, self.limits, cls.name, text, input if index == 0 else None)
                if refusal is not None:  # refused before binding
                    sink.error(refusal)
                    return InvocationResult(PipelineState.FAILED, True, refusal)
            try:
                binder_host = _LimitedHost(host, self.limits) if self._limited and host is not None else host
                binding = bind(cls, call.arguments, host=binder_host, expect_input=index > 0 or input is not None)
            except ParameterBindingError as e:
                record = e.to_error_record(cls.name, text, command_start=call.start, command_end=call.end)
                sink.error(record)
                return InvocationResult(PipelineState.FAILED, True, record)
            except PipelineStoppedError:
                return InvocationResult(PipelineState.STOPPED)
            bound.append((cls, binding))

        data = input
        for index, (cls, binding) in enumerate(bound):
            last = index == len(bound) - 1
            element_sink = sink if last else CollectingSink(sink)
            call = calls[index]
            where = SourcePosition(text, call.start, call.end) if text is not None and call.start is not None else None
            ctx = self._context(cls, binding.common, _InvocationSink(element_sink, call.name, where), stop_event, host)
            try:
                ctx.check_stopped()
                if binding.params.get("AsJob"):
                    # Every PEP cmdlet declares -AsJob; jobs need variables to be of any use, so say so.
                    ctx.write_warning("Background jobs are not supported by this emulator; "
                                      f"{cls.name} ran in the foreground and its output follows.")
                cls().invoke(ctx, dict(binding.params), data)
            except TerminatingError as e:
                sink.error(with_invocation(e.record, call.name, where))
                return InvocationResult(PipelineState.FAILED, True, e.record)
            except PipelineStoppedError:
                return InvocationResult(PipelineState.STOPPED)
            except KeyboardInterrupt:
                stop_event.set()
                return InvocationResult(PipelineState.STOPPED)
            except Exception as e:  # a bug must still end as an error record, never a traceback
                # the traceback goes to the state directory only: logging's last-resort handler
                # would print it on the operator's console
                _log_internal_error(self.env, cls.name, traceback.format_exc())
                record = error_record(
                    f"An internal error occurred in {cls.name}: {type(e).__name__}: {e}",
                    "InternalError", ErrorCategory.NotSpecified, command=cls.name)
                sink.error(record)
                return InvocationResult(PipelineState.FAILED, True, record)
            if not last:
                data = element_sink.outputs
        return InvocationResult(PipelineState.STOPPED if stop_event.is_set() else PipelineState.COMPLETED)

    def _context(self, cls, common: dict[str, Any], sink, stop_event, host) -> CommandContext:
        ctx = CommandContext(command=cls.name, sink=sink, runspace=self, host=host, stop_event=stop_event)
        ctx.verbose = bool(common.get("Verbose", False))
        ctx.debug = bool(common.get("Debug", False))
        ctx.error_action = common.get("ErrorAction", "Continue")
        ctx.warning_action = common.get("WarningAction", "Continue")
        ctx.information_action = common.get("InformationAction", "SilentlyContinue")
        ctx.whatif = bool(common.get("WhatIf", False))
        ctx.confirm = bool(common.get("Confirm", False))
        # Inquire needs a user to ask; with none it behaves as Continue. Suspend (workflows) has no meaning here.
        for attr in ("error_action", "warning_action"):
            if getattr(ctx, attr) in ("Inquire", "Suspend"):
                setattr(ctx, attr, "Continue")
        return ctx

    # -- completion ------------------------------------------------------------------------
    def complete(self, line: str, cursor: int | None = None) -> list[str]:
        """Completions for the word under the cursor: command names, -Parameter names, ValidateSet values."""
        text = line[: len(line) if cursor is None else cursor]
        words = text.split()
        current = "" if (not words or text[-1:].isspace()) else words[-1]
        before = words[:-1] if current else words
        low = current.lower()
        if not before:
            names = [c.name for c in self.visible_commands()]
            return [n for n in names if n.lower().startswith(low)]
        cls = self.resolve_command(before[0])
        if cls is None:
            return []
        if current.startswith("-"):
            used = {w[1:].split(":")[0].lower() for w in before[1:] if w.startswith("-")}
            names = [p.name for p in cls.all_parameters() if p.name.lower() not in used]
            return ["-" + n for n in names if n.lower().startswith(low[1:])]
        if before[-1].startswith("-"):
            param = _find_by_prefix(cls, before[-1][1:])
            if param is not None and param.validate_set:
                prefix = low.split(",")[-1]
                head = current[: len(current) - len(prefix)]
                return [head + v for v in param.validate_set if v.lower().startswith(prefix)]
        return []

    def start_transcript(self) -> None:
        self.transcript = Transcript(self.env.state.transcripts, self.user, self.prompt_name)
        if self._running_input is not None:
            # started by a running command (a failed Close-PrivilegedEndpoint): its line comes first
            self.transcript.command_started(self._running_input)

    def _transcript_output(self, piece: str) -> None:
        if self.transcript:  # the current one: a command may close it and start another
            self.transcript.output(piece)

    def close_transcript(self) -> None:
        if self.transcript:
            self.transcript.close()
            self.transcript = None

    def close(self) -> None:
        self.revoke_granted_commands()  # closing the session ends a support elevation
        self.support_session = None
        self.close_transcript()


def _find_by_prefix(cls: type[Cmdlet], typed: str):
    exact = cls.find_parameter(typed)
    if exact:
        return exact
    matches = [p for p in cls.all_parameters() if p.name.lower().startswith(typed.lower())]
    return matches[0] if len(matches) == 1 else None


def _describe_calls(calls: list[CommandCall], limits: Limits | None = None) -> str:
    """How a command-form pipeline is written into the transcript (values shown, secrets never;
    a value over the argument limit as its prefix and length, a list over it cut short)."""
    limits = limits or Limits()
    parts = []
    for call in calls:
        words = [_cut(call.name, limits)]
        for arg in call.arguments:
            if arg.parameter is not None:
                words.append(f"-{_cut(arg.parameter, limits)}" + (f":{_show(arg.value, limits)}" if arg.colon else ""))
            else:
                words.append(_show(arg.value, limits))
        parts.append(" ".join(words))
    return " | ".join(parts)


def _cut(text: str, limits: Limits) -> str:
    return shorten(text) if len(text) > limits.max_argument_chars else text


def _show(value: Any, limits: Limits, depth: int = 0) -> str:
    from powershell.text import to_string  # the one value-to-text rule

    if isinstance(value, (list, tuple)):
        if depth > 8:
            return "System.Object[]"
        items = [_show(v, limits, depth + 1) for v in list(value[:limits.max_argument_items])]
        if len(value) > limits.max_argument_items:
            items.append(f"... ({len(value)} elements)")
        return ",".join(items)
    text = _cut(to_string(value), limits)
    # Quoted as PowerShell reads it back (a quote doubled): the transcript's line stays one argument
    # per value, so the redactor (common/redact.py) takes a password's value whole.
    if not text or any(c in text for c in " \t'\"`$;|&(){}[],@#<>\u2018\u2019\u201a\u201b\u201c\u201d\u201e"):
        return "'" + "".join(c * 2 if c in "'\u2018\u2019\u201a\u201b" else c for c in text) + "'"
    return text


def _log_internal_error(env: Environment, command: str, tb: str) -> None:
    """Keep the traceback for developers in the state directory; users only see the error record."""
    try:
        from datetime import datetime

        path = env.state.sub("logs") / "internal-errors.log"
        from common.redact import redact  # a traceback quotes the failing input: no secret in the file

        with open(path, "a", encoding="utf-8") as f:
            f.write(redact(f"--- {datetime.now().isoformat()} {command}\n{tb}\n"))
    except OSError:
        pass
