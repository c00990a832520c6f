"""`pep run FILE.ps1` and `pep connect HOST[:PORT]`: the workstation front ends of the bridge."""
from __future__ import annotations

import getpass
import os
import sys
import threading
from pathlib import Path
from typing import Any


class _TerminalHost:
    """HostUI for `pep run`: prompts (Get-Credential, mandatory parameters) on the terminal; secure
    input is read without echo."""

    def __init__(self, stop: threading.Event):
        from pep.console import ConsoleHost

        self._stop = stop
        self.stdin = sys.stdin
        self.stdout = sys.stderr  # prompts stay off stdout, which a script's output may be piped from
        self._inner = ConsoleHost(self)

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def read_line(self, prompt: str, secure: bool = False) -> Any:
        if secure and not _isatty(self.stdin) and os.isatty(2):
            try:
                return getpass.getpass(prompt)
            except EOFError:
                return None
        return self._inner.read_line(prompt, secure)

    def prompt_for_parameters(self, command: str, fields: list) -> Any:
        return self._inner.prompt_for_parameters(command, fields)

    def write(self, text: str) -> None:
        self._inner.write(text)


def workstation_runspace(env: Any, host: Any = None) -> Any:
    from cmdlets.registry import workstation_cmdlets
    from session.runspace import Runspace

    return Runspace(env, language_mode="Workstation", commands=workstation_cmdlets(), host=host,
                    user=_local_user(), transcript=False, is_terminal=sys.stdout.isatty())


def _local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): any name will do for a local runspace
        return "user"


def _console_sink():
    from pep import terminal
    from powershell import formatting

    return formatting.ConsoleSink(sys.stdout, sys.stderr, width=terminal.width(), is_tty=sys.stdout.isatty())


def main_run(env: Any, args: Any) -> int:
    from session.foreground import Foreground

    fg = Foreground(notice=_notice)
    with fg.guard():  # Ctrl+C stops the script (and a remote pipeline) cleanly, never its cleanup
        return _run_file(env, args, fg)


def _run_file(env: Any, args: Any, fg: Any) -> int:
    from remoting.state import state_of

    sink = _console_sink()
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        sink.error(_script_not_readable(args.file, path, e))
        sink.flush()
        return 1
    stop = threading.Event()
    host = _TerminalHost(stop)
    rs = workstation_runspace(env, host)
    rs.bridge_insecure = bool(getattr(args, "insecure", False))
    try:
        result = fg.run(lambda s: rs.invoke(text, sink, stop_event=s, host=host), stop=stop, sink=sink)
    finally:
        sink.flush()
        state_of(rs).close_all()
        rs.close()
    code = getattr(rs, "exit_code", None)
    if code is not None:
        return int(code)
    return 0 if result is not None and result.succeeded else 1


def _script_not_readable(name: str, path: Path, e: BaseException) -> Any:
    """What PowerShell says for `powershell -File <name>` when the file is missing or unreadable."""
    from powershell.objects import ErrorCategory, error_record

    if isinstance(e, FileNotFoundError) or (isinstance(e, OSError) and not path.exists()):
        return error_record(
            f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable "
            "program. Check the spelling of the name, or if a path was included, verify that the path is correct "
            "and try again.", "CommandNotFoundException", ErrorCategory.ObjectNotFound,
            exception_type="System.Management.Automation.CommandNotFoundException", target=name)
    if isinstance(e, IsADirectoryError):
        reason = "it is a directory, not a script file"
    elif isinstance(e, PermissionError):
        reason = "access to the path is denied"
    elif isinstance(e, UnicodeDecodeError):
        reason = "it is not UTF-8 text"
    else:
        reason = (getattr(e, "strerror", None) or "it cannot be read").rstrip(".").lower()
    return error_record(
        f"Cannot read the script file '{name}': {reason}.", "ScriptFileUnreadable", ErrorCategory.ReadError,
        exception_type="System.IO.IOException", target=name)


def _notice(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_target(target: str, https: bool) -> tuple[str, int]:
    host, port = target, None
    if target.startswith("["):  # [::1]:5985
        end = target.find("]")
        host, rest = target[1:end], target[end + 1:]
        port = int(rest[1:]) if rest.startswith(":") else None
    elif target.count(":") == 1:
        host, _, p = target.partition(":")
        port = int(p)
    return host, port or (5986 if https else 5985)


def main_connect(env: Any, args: Any) -> int:
    from pep.bridge.shell import WorkstationShell
    from pep.console import run_console
    from powershell.objects import PSCredential, PSSecureString
    from remoting.client import RemoteSession, RemotingError, SessionOption
    from remoting.state import state_of

    sink = _console_sink()
    try:
        host, port = parse_target(args.host, args.https)
    except ValueError:
        print(f"pep: cannot read '{args.host}' as HOST[:PORT]", file=sys.stderr)
        return 2
    try:
        password = getpass.getpass(f"Password for user {args.user}: ")
    except (EOFError, KeyboardInterrupt):
        return 1
    credential = PSCredential(UserName=args.user, Password=PSSecureString(password))
    option = SessionOption(culture="en-US", ui_culture="en-US", skip_ca_check=args.insecure,
                           skip_cn_check=args.insecure)
    auth = {"negotiate": "Negotiate", "basic": "Basic", "ntlm": "ntlm", "default": "Default"}.get(
        args.auth.lower(), args.auth)
    # interactive: the remote's prompts (-Confirm, a password, a mandatory parameter) are asked at
    # this console, as Enter-PSSession asks them
    session = RemoteSession(host, port, args.https, args.configuration_name, credential, auth, option,
                            interactive=True)
    session.skip_checks_advice = ("Use --insecure (pep connect HOST --https --insecure) to skip these checks, "
                                  "for example for the self-signed certificate of `pep serve --https`.")
    try:
        session.open()
    except RemotingError as e:
        sink.error(e.record)
        sink.flush()
        return 1
    rs = workstation_runspace(env)
    state = state_of(rs)
    state.add(session)
    state.entered = session
    state.entered_by_connect = True
    shell = WorkstationShell(rs)
    try:
        return run_console(shell)
    finally:
        shell.close()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
