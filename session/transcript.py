"""Session transcripts: every command and its output, as Start-Transcript writes them.

One file per session under <state>/transcripts. Each command's block is appended and flushed to
the operating system when the command ends, so a crash of the process loses at most the command
that was running; the file is fsynced when the session closes (an fsync per command cost ~4 ms,
a third of a remoting round trip). Secrets are scrubbed: SAS signatures in typed input or output
never reach the file.

No value can forge a line of the transcript's own structure (a `PS>` prompt, the `****` rules, the
start/end header and footer):
* control characters other than tab, and the Unicode line and paragraph separators, are written
  as PowerShell escapes (`` `0 `a `b `f `r `v `e ``, else `` `u{XXXX} ``); CRLF counts as a newline;
* the input after `PS>` is written on one line per line it has: the first after `PS>`, each
  further one after `>> ` (PowerShell's continuation prompt), so no line of it starts a line of
  the file;
* an output line that would begin (after any blanks) like a structure line (`PS>`, `>> `, `**`,
  `Windows PowerShell transcript`, or a header field such as `Username:`) gets a backtick in
  front of it, PowerShell's escape character: `` `PS>... ``.
"""
from __future__ import annotations

import os
import re
import threading
from datetime import datetime
from pathlib import Path

from common.inuse import hold, release


def _scrub(text: str) -> str:
    # The one redactor (common/redact.py): signatures, typed passwords, support tokens, user-info.
    from common.redact import redact

    return redact(text)


# Characters a viewer or a line-splitting parser may take as a line break, or that change how a
# line is displayed: C0/C1 controls except tab and newline, line/paragraph separators, bidi controls.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\0": "`0", "\a": "`a", "\b": "`b", "\f": "`f", "\r": "`r", "\v": "`v", "\x1b": "`e"}
# How the transcript's own lines begin; output that would begin so is escaped (case-insensitive).
STRUCTURE_PREFIXES = ("ps>", ">>", "**", "windows powershell transcript", "start time:", "end time:",
                      "username:", "runas user:", "configuration name:", "machine:", "host application:",
                      "process id:")
CONTINUATION = ">> "


def escape_line(text: str) -> str:
    """One line with every unsafe character as a PowerShell escape (`e, `r, `u{85}, ...)."""
    return _UNSAFE.sub(lambda m: _ESCAPES.get(m.group(), f"`u{{{ord(m.group()):x}}}"), text)


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")


def input_block(text: str) -> str:
    """The `PS>` line(s) for one input: the first line after `PS>`, further lines after `>> `."""
    first, *rest = _lines(text)
    return "".join([f"PS>{escape_line(first)}\n"] + [f"{CONTINUATION}{escape_line(line)}\n" for line in rest])


def output_line(line: str) -> str:
    """One rendered output line, escaped so it cannot read as a line of the transcript's structure."""
    line = escape_line(line)
    body = line.lstrip()
    if body.lower().startswith(STRUCTURE_PREFIXES):
        cut = len(line) - len(body)
        line = f"{line[:cut]}`{body}"
    return line


def output_block(rendered: str) -> str:
    if not rendered:
        return ""
    lines = _lines(rendered)
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return "".join(output_line(line) + "\n" for line in lines)


class Transcript:
    def __init__(self, directory: Path, user: str, machine: str):
        self.started = datetime.now()
        stamp = self.started.strftime("%Y%m%d%H%M%S")
        self.path = Path(directory) / f"PowerShell_transcript.{machine.upper()}.{os.getpid()}.{stamp}.{id(self) & 0xFFFF:04x}.txt"
        self._lock = threading.Lock()
        user, machine = escape_line(user), escape_line(machine)
        header = (
            "**********************\n"
            "Windows PowerShell transcript start\n"
            f"Start time: {stamp}\n"
            f"Username: {user}\n"
            f"RunAs User: {user}\n"
            f"Configuration Name: PrivilegedEndpoint\n"
            f"Machine: {machine.upper()} (Microsoft Windows NT 10.0.17763.0)\n"
            f"Process ID: {os.getpid()}\n"
            "**********************\n"
        )
        self._append(header)
        # While the session runs its transcript is held (common/inuse.py), so Close-PrivilegedEndpoint
        # in any session of any process leaves it alone.
        self._held: int | None = hold(self.path)

    def _append(self, text: str, sync: bool = False) -> None:
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(_scrub(text))
            f.flush()
            if sync:
                os.fsync(f.fileno())

    def command(self, input_text: str, rendered: str) -> None:
        self._append(input_block(input_text) + output_block(rendered))

    def close(self) -> None:
        end = datetime.now().strftime("%Y%m%d%H%M%S")
        self._append(f"**********************\nWindows PowerShell transcript end\nEnd time: {end}\n**********************\n", sync=True)
        if self._held is not None:
            release(self._held)
            self._held = None
