"""Everything a run says goes to its Reporter and, timestamped and redacted, to the bundle's
Get-AzureStackLog_Output.log (kept in staging until it is delivered with the manifest)."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from collector.errors import CollectionError
from collector.report import Progress, Reporter
from common.redact import redact


class OutputLog:
    """A Reporter that tees to another Reporter and to the output log; secrets never reach either."""

    def __init__(self, reporter: Reporter, path: Path, append: bool):
        self._rep = reporter
        self._f = open(path, "a" if append else "w", encoding="utf-8")
        self._mutex = threading.Lock()

    def _log(self, line: str) -> None:
        with self._mutex:
            self._f.write(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S}Z {redact(line)}\n")
            self._f.flush()

    def line(self, text: str) -> None:
        self._log(text)
        self._rep.line(redact(text))

    def verbose(self, text: str) -> None:
        self._log("VERBOSE: " + text)
        self._rep.verbose(redact(text))

    def warning(self, text: str) -> None:
        self._log("WARNING: " + text)
        self._rep.warning(redact(text))

    def error(self, error: CollectionError) -> None:
        error.message = redact(error.message)
        self._log(f"ERROR: {error.message} ({error.error_id})")
        self._rep.error(error)

    def progress(self, update: Progress) -> None:
        self._rep.progress(update)

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> OutputLog:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
