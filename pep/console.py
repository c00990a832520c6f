"""The interactive PEP console: a cmd2 shell whose every line goes to a session.runspace.Runspace.

cmd2 gives us the prompt_toolkit line editor, history and completion plumbing; everything of its
own that could reach Python or the operating system (shell, py, run_pyscript, edit, alias, macro,
set, shortcuts such as `!`, redirection to files) is switched off, and no typed line is ever parsed
by cmd2: onecmd_plus_hooks hands the raw text to the runspace.
"""
from __future__ import annotations

import logging
import os
import select
import shutil
import sys
from typing import Any, Protocol, TextIO

import cmd2
from cmd2 import CompletionItem, Completions

from powershell.formatting import ConsoleSink
from powershell.pipeline import PipelineStoppedError, PromptField
from session.foreground import Foreground

log = logging.getLogger("pep.console")

CONTINUATION_PROMPT = ">> "


# -- PowerShell's "is this input finished?" ------------------------------------------------------

def needs_more_input(text: str) -> bool:
    """True when PowerShell's console would show '>>' and keep reading: an open bracket, string,
    here-string or block comment, or a line ending in a backtick or a pipe."""
    stack: list[str] = []
    i, n = 0, len(text)
    closers = {"{": "}", "(": ")", "[": "]"}
    while i < n:
        c = text[i]
        if c == "`":
            i += 2
            continue
        if c == "#":
            end = text.find("\n", i)
            i = n if end == -1 else end
            continue
        if text.startswith("<#", i):
            end = text.find("#>", i + 2)
            if end == -1:
                return True
            i = end + 2
            continue
        if text.startswith('@"', i) or text.startswith("@'", i):
            quote = text[i + 1]
            rest = text[i + 2:]
            if rest.strip(" \t") == "" or rest.lstrip(" \t").startswith(("\n", "\r")):
                end = text.find("\n" + quote + "@", i)
                if end == -1:
                    return True
                i = end + 3
                continue
        if c in "\"'":
            j = i + 1
            while True:
                if j >= n:
                    return True
                if c == '"' and text[j] == "`":
                    j += 2
                    continue
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:  # doubled quote is an escaped quote
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
            continue
        if c in closers:
            stack.append(closers[c])
        elif c in ")}]":
            if stack and stack[-1] == c:
                stack.pop()
        i += 1
    if stack:
        return True
    stripped = text.rstrip(" \t")
    return stripped.endswith("`") or stripped.endswith("|") and not stripped.endswith("||")


# -- the host: PowerShell's mandatory-parameter prompt ----------------------------------------------

class Terminal(Protocol):
    """What a ConsoleHost reads from and writes to: the cmd2 console, or `pep run`'s terminal."""

    stdin: TextIO
    stdout: TextIO

    def stop_requested(self) -> bool: ...


class ConsoleHost:
    """HostUI for the console: 'Supply values for the following parameters:' read from the terminal.

    Called from the worker thread that runs the command; a Ctrl+C (the console's stop event) ends
    the prompt and the command."""

    def __init__(self, console: Terminal):
        self.console = console

    def _write(self, text: str) -> None:
        out = self.console.stdout
        out.write(text)
        out.flush()

    def write(self, text: str) -> None:
        """Host text (a remote session's Write host calls)."""
        self._write(text)

    def read_line(self, prompt: str, secure: bool = False) -> str | None:
        self._write(prompt)
        stdin = self.console.stdin
        fd = _fileno(stdin)
        old = None
        if secure and fd is not None and os.isatty(fd):
            import termios

            old = termios.tcgetattr(fd)
            new = termios.tcgetattr(fd)
            new[3] &= ~termios.ECHO
            termios.tcsetattr(fd, termios.TCSADRAIN, new)
        try:
            while fd is not None:
                if self.console.stop_requested():
                    if old is None:  # end the prompt's line (a secure read ends it below)
                        self._write("\n")
                    raise PipelineStoppedError("The pipeline has been stopped.")
                ready, _, _ = select.select([fd], [], [], 0.1)
                if ready:
                    break
            line = stdin.readline()
        finally:
            if old is not None and fd is not None:
                import termios

                termios.tcsetattr(fd, termios.TCSADRAIN, old)
                self._write("\n")
        if not line:
            return None
        return line.rstrip("\r\n")

    def prompt_for_parameters(self, command: str, fields: list[PromptField]) -> dict[str, Any] | None:
        from powershell.objects import PSCredential, PSSecureString

        self._write(f"cmdlet {command} at command pipeline position 1\nSupply values for the following parameters:\n")
        answers: dict[str, Any] = {}
        for field in fields:
            if field.is_array:
                values: list[str] = []
                while True:
                    line = self.read_line(f"{field.name}[{len(values)}]: ")
                    if line is None:
                        return None
                    if line == "":
                        break
                    values.append(line)
                answers[field.name] = values
                continue
            if field.type_name.endswith("PSCredential"):
                user = self.read_line(f"{field.name}\nUser: ")
                password = self.read_line(f"Password for user {user}: ", secure=True) if user else None
                if user is None or password is None:
                    return None
                answers[field.name] = PSCredential(UserName=user, Password=PSSecureString(password))
                continue
            line = self.read_line(f"{field.name}: ", secure=field.secure)
            if line is None:
                return None
            answers[field.name] = PSSecureString(line) if field.secure else line
        return answers


def _fileno(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


# -- the console ----------------------------------------------------------------------------------

class PepConsole(cmd2.Cmd):
    """A PEP session at a terminal. Every line goes to the runspace; cmd2's built-ins are gone."""

    # cmd2 only dispatches to callable do_* attributes: None removes the built-in for good (its
    # annotations do not foresee that, hence the ignores).
    do_shell = do_edit = do_set = do_shortcuts = do_run_pyscript = do_run_script = None  # type: ignore[assignment]
    do__relative_run_script = do_history = do_py = do_ipy = do_help = do_quit = None  # type: ignore[assignment]

    def __init__(self, runspace: Any, stdin: TextIO | None = None, stdout: TextIO | None = None,
                 stderr: TextIO | None = None):
        super().__init__(
            stdin=stdin, stdout=stdout, shortcuts={}, terminators=[], allow_cli_args=False,
            allow_redirection=False, allow_clipboard=False, auto_suggest=False, include_py=False,
            include_ipy=False, persistent_history_file="", startup_script="",
        )
        # alias and macro attach subcommands during __init__, so they can only go afterwards
        self.do_alias = None  # type: ignore[assignment]
        self.do_macro = None  # type: ignore[assignment]
        self.rs = runspace
        self.stderr = stderr or sys.stderr
        self.prompt = f"[{runspace.prompt_name}]: PS> "
        self.continuation_prompt = CONTINUATION_PROMPT
        self.main_session.lexer = None  # cmd2's lexer colours by its own command table, not ours
        self.host = ConsoleHost(self)
        self.foreground = Foreground(notice=self._notice)
        self._at_eof = False
        self.exit_code = 0

    # -- input ----------------------------------------------------------------------------
    def _read_command_line(self, prompt: str) -> str:
        # cmd2 turns EOF into the line "_eof"; remember it was a real EOF, not typed text
        try:
            return super()._read_command_line(prompt)
        except EOFError:
            self._at_eof = True
            raise

    def onecmd_plus_hooks(self, line: str, *, add_to_history: bool = True,
                          raise_keyboard_interrupt: bool = False, py_bridge_call: bool = False) -> bool:
        """Run one input through the runspace; True ends the session."""
        if self._at_eof:
            self.poutput("")
            return True
        text = line
        try:
            while needs_more_input(text):
                try:
                    more = self.read_input(CONTINUATION_PROMPT)
                except EOFError:
                    break
                if more.strip() == "":  # an empty line ends a multi-line input, as in PowerShell
                    break
                text += "\n" + more
        except KeyboardInterrupt:
            return False  # Ctrl+C at '>>' abandons the whole input
        if not text.strip():
            return False
        self.run_input(text)
        # The session decides whether the input left it (session.foreground.leaves_session: `exit`,
        # Exit-PSSession), and records it in the transcript first.
        return bool(getattr(self.rs, "exit_requested", False))

    def _notice(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    # -- running ----------------------------------------------------------------------------
    def stop_requested(self) -> bool:
        return self.foreground.stop_requested()

    def run_input(self, text: str) -> Any:
        """Run `text` on the one foreground path (session.foreground: worker thread, Ctrl+C rule);
        render its streams as 5.1 does."""
        is_tty = _isatty(self.stdout)
        width = shutil.get_terminal_size((120, 40)).columns if is_tty else 120
        sink = ConsoleSink(self.stdout, self.stderr, width=width, is_tty=is_tty)
        with self.foreground.guard():  # a Ctrl+C cannot cut the flush short either
            try:
                return self.foreground.run(
                    lambda stop: self.rs.invoke(text, sink, stop_event=stop, host=self.host), sink=sink)
            finally:
                sink.flush()

    def sigint_handler(self, signum: int, frame: Any) -> None:
        # While a command runs the foreground's own handler is installed; this one is cmd2's
        # outside it (at the prompt prompt_toolkit reads Ctrl+C as a key).
        if not self.foreground.interrupt():
            super().sigint_handler(signum, frame)

    # -- completion ---------------------------------------------------------------------------
    def complete(self, text: str, line: str, begidx: int, endidx: int, custom_settings: Any = None) -> Completions:
        """Command names, -Parameter names and ValidateSet values from the runspace (any case)."""
        try:
            words = self.rs.complete(line[:endidx], endidx)
        except Exception:
            log.debug("completion failed for %r", line, exc_info=True)
            return Completions()
        low = text.lower()
        items = [CompletionItem(w) for w in words if w.lower().startswith(low)]
        return Completions(items=items)

    def completedefault(self, *args: Any) -> Completions:
        return Completions()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def run_console(runspace: Any, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Run the interactive console on `runspace` until exit, Exit-PSSession or Ctrl+D; returns the exit code."""
    console = PepConsole(runspace, stdin=stdin, stdout=stdout)
    try:
        console.cmdloop()
    except KeyboardInterrupt:
        pass
    return 0
