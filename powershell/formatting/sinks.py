"""Stream sinks for terminals, pipes and JSON (implementations of powershell.pipeline.StreamSink).

ConsoleSink buffers output objects until flush() so a table is sized over all its rows; errors,
warnings, verbose and debug lines print at once; progress is a live bar on a terminal only.
"""
from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any, TextIO

from psrpcore.types import ErrorRecord, ProgressRecord

from powershell.formatting import values as V
from powershell.formatting.errors import format_debug, format_error, format_verbose, format_warning
from powershell.formatting.jsonify import JsonValue, to_json
from powershell.formatting.views import format_output

if TYPE_CHECKING:
    from rich.progress import TaskID

RED, YELLOW, RESET = "\x1b[31m", "\x1b[33m", "\x1b[0m"


def _paint(text: str, color: str) -> str:
    return "".join(f"{color}{line}{RESET}\n" if line else "\n" for line in text.splitlines())


class _Progress:
    """One rich progress bar per ActivityId, drawn on the terminal while a command runs.

    Like 5.1's progress pane, the bars take at most a third of the window (5 rows at least), showing
    the activities updated last: a taller live region would push everything printed before it into
    the scrollback and leave an empty screen when it is erased."""

    def __init__(self, out: TextIO, width: int, height: int | None = None):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

        self.console = Console(file=out, force_terminal=True, width=width, height=height, highlight=False)
        self.max_rows = max(5, self.console.size.height // 3)
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[status]}"),
            console=self.console, transient=True, auto_refresh=True, redirect_stdout=False,
            redirect_stderr=False,
        )
        self.tasks: dict[int, TaskID] = {}  # in order of last update, oldest first
        self.started = False

    def update(self, record: ProgressRecord) -> None:
        activity_id = int(record.ActivityId or 0)
        completed = getattr(record.RecordType, "name", str(record.RecordType)) == "Completed"
        if completed:
            task = self.tasks.pop(activity_id, None)
            if task is not None:
                self.progress.remove_task(task)
            return
        percent = record.PercentComplete
        total = 100 if percent is not None and percent >= 0 else None
        description, status = str(record.Activity or ""), str(record.StatusDescription or "")
        if activity_id in self.tasks:
            task = self.tasks.pop(activity_id)
            self.progress.update(task, total=total, completed=max(percent, 0) if total else 0,
                                 description=description, status=status)
        else:
            task = self.progress.add_task(
                description, total=total, completed=max(percent or 0, 0) if total else 0, status=status)
        self.tasks[activity_id] = task
        self._show_latest()
        if not self.started:
            self.progress.start()
            self.started = True

    def _show_latest(self) -> None:
        shown = list(self.tasks.values())[-self.max_rows:]
        for task in self.tasks.values():
            self.progress.update(task, visible=task in shown)

    def print(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text.from_ansi(text.rstrip("\n")), soft_wrap=True)

    def stop(self) -> None:
        if self.started:
            self.progress.stop()
        self.started = False
        self.tasks.clear()


class ConsoleSink:
    """Renders a pipeline's streams on a terminal (`is_tty`: colours and progress) or a pipe."""

    def __init__(self, out: TextIO, err: TextIO, width: int = 120, is_tty: bool = False,
                 height: int | None = None):
        self.out, self.err, self.width, self.is_tty = out, err, width, is_tty
        self.height = height  # None: the terminal's own
        self._pending: list[Any] = []
        self._lock = threading.RLock()
        self._progress: _Progress | None = None
        self.errors_written = 0

    # -- immediate streams ----------------------------------------------------------------------
    def _write(self, stream: TextIO, text: str, color: str | None = None) -> None:
        with self._lock:
            # Output written before this line is shown before it, as Out-Default shows it: a script's
            # `"first"; Write-Host "second"` reads in that order (a table is cut into two there).
            self._render_pending()
            if self.is_tty and color:
                text = _paint(text, color)
            if self._progress is not None and self._progress.started:
                self._progress.print(text)
            else:
                stream.write(text)
                stream.flush()

    def error(self, record: ErrorRecord) -> None:
        self.errors_written += 1
        # 5.1 ends the error view with a line holding a single space
        self._write(self.err, format_error(record, self.width) + " \n", RED)

    def warning(self, message: str) -> None:
        self._write(self.out, format_warning(message) + "\n", YELLOW)

    def verbose(self, message: str) -> None:
        self._write(self.out, format_verbose(message) + "\n", YELLOW)

    def debug(self, message: str) -> None:
        self._write(self.out, format_debug(message) + "\n", YELLOW)

    def information(self, message: Any) -> None:
        data = getattr(message, "MessageData", message)
        self._write(self.out, V.to_text(data) + "\n")

    def progress(self, record: ProgressRecord) -> None:
        if not self.is_tty:
            return  # progress is for people watching a terminal; pipes get nothing
        with self._lock:
            if self._progress is None:
                self._progress = _Progress(self.out, self.width, self.height)
            self._progress.update(record)

    # -- buffered output ------------------------------------------------------------------------
    def output(self, obj: Any) -> None:
        with self._lock:
            self._pending.append(obj)

    def flush(self) -> None:
        """End of a pipeline: remove progress bars, then render the buffered objects."""
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None
            self._render_pending()
            self.out.flush()

    def _render_pending(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            text = format_output(pending, self.width)
            if self._progress is not None and self._progress.started:
                self._progress.print(text)
            else:
                self.out.write(text)


class JsonSink:
    """One JSON line per output object on `out`; errors and other streams as JSON lines on `err`."""

    def __init__(self, out: TextIO, err: TextIO):
        self.out, self.err = out, err
        self._lock = threading.Lock()
        self.errors_written = 0

    def _line(self, stream: TextIO, value: JsonValue) -> None:
        with self._lock:
            stream.write(json.dumps(value, ensure_ascii=False) + "\n")
            stream.flush()

    def output(self, obj: Any) -> None:
        if V.is_collection(obj):
            for item in obj:
                self.output(item)
            return
        self._line(self.out, to_json(obj))

    def error(self, record: ErrorRecord) -> None:
        self.errors_written += 1
        self._line(self.err, to_json(record))

    def warning(self, message: str) -> None:
        self._line(self.err, {"stream": "warning", "message": message})

    def verbose(self, message: str) -> None:
        self._line(self.err, {"stream": "verbose", "message": message})

    def debug(self, message: str) -> None:
        self._line(self.err, {"stream": "debug", "message": message})

    def information(self, message: Any) -> None:
        self._line(self.err, {"stream": "information", "message": to_json(getattr(message, "MessageData", message))})

    def progress(self, record: ProgressRecord) -> None:
        pass

    def flush(self) -> None:
        with self._lock:
            self.out.flush()
            self.err.flush()
