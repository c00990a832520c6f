"""Session transcripts: every command and its output, as Start-Transcript writes them.

One file per session under <state>/transcripts. A command's line is written before the command
runs, its output as the command produces it (a formatted table when the next stream line or the
end comes), each write handed to the operating system at once, so a kill -9 loses nothing already
typed or shown; the file is fsynced only when the session closes (an fsync per command cost ~4 ms,
a third of a remoting round trip). Secrets are scrubbed before anything reaches the file.

Every block written is chained and signed in a sidecar `<name>.chain` (session/transcript_chain.py,
docs/transcripts.md); `pep transcript verify` checks both.

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
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.inuse import hold, release
from session.transcript_chain import ChainWriter, sidecar_path
from session.transcript_keys import PUBLIC_NAME, key_dir, load_or_create


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


def _write_all(f: BinaryIO, data: bytes) -> None:
    """An unbuffered write may take less than all of `data` (a signal, a full disk): go on until done."""
    view = memoryview(data)
    while view:
        written = f.write(view)
        if not written:
            raise OSError(f"cannot write to {getattr(f, 'name', 'the transcript')}")
        view = view[written:]


class Transcript:
    def __init__(self, directory: Path, user: str, machine: str, key: Ed25519PrivateKey | None = None):
        self.started = datetime.now()
        stamp = self.started.strftime("%Y%m%d%H%M%S")
        self.path = Path(directory) / f"PowerShell_transcript.{machine.upper()}.{os.getpid()}.{stamp}.{id(self) & 0xFFFF:04x}.txt"
        self.chain_path = sidecar_path(self.path)
        self._lock = threading.Lock()
        self._chain = ChainWriter(self.path, key or load_or_create(Path(directory).parent))
        # what Close-PrivilegedEndpoint ships beside the transcripts so a copy can be verified elsewhere
        self.key_id: str = self._chain.genesis["key_id"]
        self.public_key_file = key_dir(Path(directory).parent) / PUBLIC_NAME
        # Unbuffered appends: every write is a system call, in the file before the next command runs.
        self._file: BinaryIO | None = open(self.path, "ab", buffering=0)  # noqa: SIM115 - open for the session
        self._sidecar: BinaryIO | None = open(self.chain_path, "ab", buffering=0)  # noqa: SIM115
        _write_all(self._sidecar, self._chain.first_line())
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
        self._append("start", header)
        # While the session runs its transcript is held (common/inuse.py), so Close-PrivilegedEndpoint
        # in any session of any process leaves it alone.
        self._held: int | None = hold(self.path)

    def _append(self, kind: str, text: str, sync: bool = False) -> None:
        """Append one block and its signed chain entry: the transcript first, so a kill between the two
        shows as text after the last signed block, never as a chain entry for text that is not there."""
        data = _scrub(text).encode("utf-8")
        with self._lock:
            if self._file is None or self._sidecar is None:
                return  # closed
            _write_all(self._file, data)
            _write_all(self._sidecar, self._chain.block(kind, data))
            if sync:
                # the transcript only (a second fsync doubled a session's close, ~2.7 ms each): after a
                # power cut the chain may end early, and verify reports the unsigned tail as such
                os.fsync(self._file.fileno())

    def command_started(self, input_text: str) -> None:
        """The command line(s), before the command runs."""
        self._append("input", input_block(input_text))

    def output(self, rendered: str) -> None:
        """A piece of the running command's output, as it is shown."""
        block = output_block(rendered) or "\n"  # an empty piece is an empty line, as when joined
        self._append("output", block)

    def command(self, input_text: str, rendered: str) -> None:
        """A whole command at once (its line, then its output)."""
        self.command_started(input_text)
        if rendered:
            self.output(rendered)

    def close(self) -> None:
        end = datetime.now().strftime("%Y%m%d%H%M%S")
        footer = f"**********************\nWindows PowerShell transcript end\nEnd time: {end}\n**********************\n"
        self._append("end", footer, sync=True)
        with self._lock:
            for f in (self._file, self._sidecar):
                if f is not None:
                    f.close()
            self._file = self._sidecar = None
        if self._held is not None:
            release(self._held)
            self._held = None
