"""The one foreground path of every interactive front end (the console, `pep -c`, `pep run`,
`pep connect`): one input runs on a worker thread while the main thread waits; Ctrl+C follows one
rule; one function decides whether an input leaves the session.

    fg = Foreground(notice=lambda text: print(text, file=sys.stderr))
    with fg.guard():                     # Ctrl+C never raises KeyboardInterrupt in here
        result = fg.run(lambda stop: rs.invoke(text, sink, stop_event=stop), sink=sink)
        sink.flush(); rs.close()         # cleanup cannot be cut short by a Ctrl+C either
    leaves_session("Exit-PSSession")     # -> True

The Ctrl+C rule (docs/behaviour.md, "Ctrl+C"):
- While an input runs, the first Ctrl+C sets its stop event: the pipeline stops at its next check
  and finishes cleanly (a collection marks its manifest `stopped`, writes its output log, releases
  its lock; the runspace writes the input to the transcript); the front end waits for that.
- A second Ctrl+C while it is stopping prints one line saying so and keeps waiting; further
  presses are ignored. An interrupted cleanup would leave exactly the state the stop protects
  (a held lock, a bundle without manifest), so a Ctrl+C never abandons it; a process killed
  outright (SIGKILL) leaves what the engine resumes or marks incomplete on its next start.
- A Ctrl+C that arrives inside a guard while nothing runs (`pep -c` still loading its session)
  stops the next input before it starts; that input is still recorded in the transcript.

SIGINT is turned into a call of Foreground.interrupt by a signal handler installed for the
duration of the guard (main thread only), so no KeyboardInterrupt can land inside cleanup code
(a transcript write, a sink flush, a lock release). The wait uses an Event, never Thread.join,
which an interrupt can leave believing a running thread has ended.
"""
from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

log = logging.getLogger("pep.foreground")

T = TypeVar("T")

STOPPING_NOTICE = "Stopping: waiting for the command to finish cleanly (Ctrl+C again does not abandon it)."

# `exit` and Exit-PSSession (or its alias exsn) typed alone, with blanks or a `;` around them.
_LEAVE = re.compile(r"\s*;*\s*(exit|exit-pssession|exsn)\s*;*\s*", re.IGNORECASE)


def leaves_session(text: str) -> bool:
    """The one exit rule: does this input, as typed, leave the session? True for `exit` and
    `Exit-PSSession` (any case, `exsn` too) typed alone. `exit 3` is not a leave request: in a
    PEP session it is refused like any other expression; in a workstation script it ends the script."""
    return bool(_LEAVE.fullmatch(text or ""))


class Foreground:
    """Runs inputs one at a time on a worker thread; `interrupt` is what Ctrl+C does."""

    def __init__(self, notice: Callable[[str], None] | None = None):
        self.notice = notice
        self._stop: threading.Event | None = None
        self._presses = 0
        self._early = False  # a Ctrl+C inside the guard before the input started
        self._guards = 0
        self._previous: Any = None

    @property
    def running(self) -> bool:
        return self._stop is not None

    def stop_requested(self) -> bool:
        stop = self._stop
        return stop is not None and stop.is_set()

    # -- the Ctrl+C rule ------------------------------------------------------------------------------
    def interrupt(self) -> bool:
        """Ctrl+C: stop the running input (first press), say it is stopping (second press), ignore
        further presses. Returns False when nothing runs and no guard is open (the caller decides)."""
        stop = self._stop
        if stop is None:
            if self._guards:
                self._early = True
                return True
            return False
        self._presses += 1
        if not stop.is_set():
            stop.set()
        elif self._presses == 2 and self.notice is not None:
            try:
                self.notice(STOPPING_NOTICE)
            except Exception:  # a closed stream must not break the wait
                pass
        return True

    @contextmanager
    def guard(self) -> Iterator[Foreground]:
        """Route SIGINT to `interrupt` for the duration (nestable; a no-op off the main thread)."""
        install = self._guards == 0 and threading.current_thread() is threading.main_thread()
        if install:
            try:
                self._previous = signal.signal(signal.SIGINT, lambda signum, frame: self.interrupt())
            except (ValueError, OSError):  # no signals here (embedded interpreter)
                install = False
        self._guards += 1
        try:
            yield self
        finally:
            self._guards -= 1
            if self._guards == 0:
                self._early = False
            if install:
                signal.signal(signal.SIGINT, self._previous)
                self._previous = None

    # -- running --------------------------------------------------------------------------------------
    def run(self, work: Callable[[threading.Event], T], *, stop: threading.Event | None = None,
            sink: Any = None) -> T | None:
        """Run work(stop) on a worker thread and wait for it, Ctrl+C following the rule above.
        Returns what work returned, or None when it failed (the failure is written to `sink` as an
        InternalError record; a traceback never reaches the user)."""
        stop = stop or threading.Event()
        if self._early:
            stop.set()
            self._early = False
        done = threading.Event()
        box: list[Any] = []

        def target() -> None:
            try:
                box.append(work(stop))
            except BaseException as e:  # a bug ends as an error record, never a traceback
                log.debug("foreground input failed", exc_info=True)
                if sink is not None:
                    _report(sink, e)
            finally:
                done.set()

        with self.guard():
            self._stop, self._presses = stop, 0
            try:
                worker = threading.Thread(target=target, name="pep-pipeline", daemon=True)
                worker.start()
                while True:
                    try:
                        if done.wait(0.1):
                            break
                    except KeyboardInterrupt:  # only where no handler could be installed
                        self.interrupt()
            finally:
                self._stop = None
        return box[0] if box else None


def _report(sink: Any, e: BaseException) -> None:
    try:
        from powershell.objects import ErrorCategory, error_record

        sink.error(error_record(f"An internal error occurred: {type(e).__name__}: {e}", "InternalError",
                                ErrorCategory.NotSpecified))
    except Exception:  # the sink itself is what failed
        pass
