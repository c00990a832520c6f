"""The remoting state of one workstation runspace: its open PSSessions and the one entered with
Enter-PSSession (whose prompt becomes `[host]: PS>` and which then receives what is typed)."""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from remoting.client import RemoteSession


@dataclass
class WorkstationState:
    sessions: list[RemoteSession] = field(default_factory=list)
    entered: RemoteSession | None = None
    entered_by_connect: bool = False  # `pep connect`: leaving the remote session ends the console

    def add(self, session: RemoteSession) -> None:
        self.sessions.append(session)

    def remove(self, session: RemoteSession) -> None:
        if session in self.sessions:
            self.sessions.remove(session)
        if self.entered is session:
            self.entered = None

    def close_all(self) -> None:
        for s in list(self.sessions):
            s.close()
        self.sessions.clear()
        self.entered = None


_states: weakref.WeakKeyDictionary[Any, WorkstationState] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def state_of(runspace: Any) -> WorkstationState:
    with _lock:
        state = _states.get(runspace)
        if state is None:
            state = _states[runspace] = WorkstationState()
        return state
