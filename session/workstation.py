"""The workstation language mode of `pep run FILE.ps1` and `pep connect`: the subset of PowerShell
operators' scripts use around remoting (variables, literals, dates, comparisons, pipelines of
workstation cmdlets, Invoke-Command script blocks with `$using:`). Everything else is refused with
an error naming the construct, before any of the script runs.

    run_script(runspace, text, sink, stop_event=..., host=...) -> powershell.pipeline.InvocationResult
"""
from __future__ import annotations

import threading
from typing import Any

from powershell.pipeline import InvocationResult, PipelineState, PipelineStoppedError


def run_script(runspace: Any, text: str, sink: Any, *, stop_event: threading.Event | None = None,
               host: Any = None) -> Any:
    from powershell.language import ParseError, parse
    from powershell.language.workstation import subset
    from powershell.language.workstation.evaluator import Evaluator, ExitScript
    from powershell.language.workstation.values import ScriptError

    stop_event = stop_event or threading.Event()
    host = host or getattr(runspace, "host", None)
    try:
        tree = parse(text)
    except ParseError as e:
        record = e.to_error_record()
        sink.error(record)
        return InvocationResult(PipelineState.FAILED, True, record)
    refused = subset.check(tree, text)
    if refused is not None:
        sink.error(refused)
        return InvocationResult(PipelineState.FAILED, True, refused)

    evaluator = Evaluator(runspace, text, sink, stop_event, host)
    result = InvocationResult()
    for statement in tree.statements:
        try:
            if _send_to_entered_session(runspace, statement, text, sink, stop_event, host, result):
                continue
            evaluator.statement(statement, sink)
        except ScriptError as e:
            sink.error(e.record)
            result.had_errors = True
        except ExitScript as e:
            runspace.variables["lastexitcode"] = e.code
            runspace.exit_code = e.code
            break
        except (PipelineStoppedError, KeyboardInterrupt):
            stop_event.set()
            result.state = PipelineState.STOPPED
            break
    return result


def _send_to_entered_session(runspace: Any, statement: Any, text: str, sink: Any, stop_event: Any, host: Any,
                             result: Any) -> bool:
    """After Enter-PSSession, statements go to the remote session as typed (AddScript), except the
    ones that leave it (exit, Exit-PSSession), which the workstation handles."""
    from remoting.state import state_of
    from session.foreground import leaves_session

    state = state_of(runspace)
    session = state.entered
    if session is None:
        return False
    if leaves_session(text[statement.start:statement.end]):
        # `exit` or Exit-PSSession: the workstation's Exit-PSSession leaves the entered session
        from powershell.invocation import CommandCall

        left = runspace._run([CommandCall("Exit-PSSession")], sink, stop_event, host, None, None)
        result.had_errors = result.had_errors or left.had_errors
        return True
    remote = session.invoke_script(text[statement.start:statement.end], sink, stop_event, host=host)
    if remote.state == PipelineState.STOPPED:
        raise PipelineStoppedError()
    result.had_errors = result.had_errors or remote.had_errors
    return True
