"""The object pep.console drives for `pep connect` (and any workstation console): a workstation
runspace whose input goes to the entered remote session, if there is one, as PowerShell's
Enter-PSSession does, and completion from the remote's Get-Command."""
from __future__ import annotations

import threading
from typing import Any

from remoting.state import state_of
from session.foreground import leaves_session


class WorkstationShell:
    def __init__(self, runspace: Any):
        self.rs = runspace
        self.state = state_of(runspace)

    @property
    def prompt_name(self) -> str:
        session = self.state.entered
        return session.computer_name if session is not None else "localhost"

    @property
    def exit_requested(self) -> bool:
        return bool(getattr(self.rs, "exit_requested", False))

    def invoke(self, text: str, sink: Any, *, stop_event: threading.Event | None = None, host: Any = None) -> Any:
        from powershell.pipeline import InvocationResult

        session = self.state.entered
        if session is None or leaves_session(text):
            # leaving (exit, Exit-PSSession) is the workstation's own Exit-PSSession, as in PowerShell
            return self.rs.invoke(text, sink, stop_event=stop_event, host=host)
        remote = session.invoke_script(text, sink, stop_event, host=host)
        return InvocationResult(remote.state, remote.had_errors, remote.terminating_error)

    def complete(self, line: str, cursor: int | None = None) -> list[str]:
        session = self.state.entered
        if session is None:
            return self.rs.complete(line, cursor)
        text = line[: len(line) if cursor is None else cursor]
        words = text.split()
        if len(words) > 1 or (words and text[-1:].isspace()):
            return []  # the PEP offers no completion of its own; we complete command names only
        prefix = words[0].lower() if words else ""
        try:
            names = session.command_names()
        except Exception:  # a dead session completes nothing rather than breaking the prompt
            return []
        return [n for n in names if n.lower().startswith(prefix)]

    def close(self) -> None:
        self.state.close_all()
        self.rs.close()
