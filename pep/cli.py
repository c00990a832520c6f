"""The `pep` command line (DESIGN.md, "The command-line contract").

    pep                         interactive PEP session on the embedded stamp
    pep -c "<input>"            run one input; exit 0 if no error record was written, else 1
                                (141 when the reader of its output went away: docs/behaviour.md)
    pep --json -c "<input>"     output objects as JSON lines on stdout, error records on stderr
    pep run FILE.ps1            run a workstation script
    pep serve [--listen HOST:PORT] [--https] [--auth basic,ntlm,negotiate] [--portal [HOST:PORT]]
    pep connect HOST[:PORT] --user USER [--https] [--configuration-name PrivilegedEndpoint]
    pep stamp generate DIR [--nodes N] [--days D] [--mb-per-hour M] [--seed S] [--end ISO]
    pep fault add KIND [TARGET] | pep fault list | pep fault clear [ID | --all] | pep fault kinds
    pep support down [--reason TEXT] | pep support up | pep support status   (the Help + Support outage switch)
    pep support keygen [DIR] | pep support respond TOKEN --key FILE   (the support-session unlock's support side)
    pep transcript verify [FILE...] [--key PUBFILE]   (intact, or where a transcript was first changed)
    common flags: --stamp DIR, --state-dir DIR (env PEP_STATE_DIR), --config FILE (env PEP_CONFIG)

Heavy dependencies (Azure SDK, pypsrp, aiohttp) are imported only by the subcommands that need them.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import Any, TextIO, cast


def _common_flags(default: Any) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stamp", metavar="DIR", default=default, help="stamp directory (default: the embedded stamp)")
    common.add_argument("--state-dir", metavar="DIR", default=default, help="state directory (env PEP_STATE_DIR)")
    common.add_argument("--config", metavar="FILE", default=default, help="configuration file (env PEP_CONFIG)")
    return common


def _parser() -> argparse.ArgumentParser:
    # The common flags may stand before or after the subcommand. A subcommand's copy has no default,
    # so `pep --state-dir DIR serve` keeps DIR (a default of None there would replace it).
    top, common = _common_flags(None), _common_flags(argparse.SUPPRESS)

    p = argparse.ArgumentParser(
        prog="pep", parents=[top],
        description="An emulated Azure Stack Hub privileged endpoint (PEP) session.")
    p.add_argument("-c", dest="command", metavar="INPUT", help="run one input in a PEP session and exit")
    p.add_argument("--json", action="store_true", help="with -c: output objects as JSON lines")
    sub = p.add_subparsers(dest="subcommand", metavar="{run,serve,connect,stamp,fault,support,transcript}")

    run = sub.add_parser("run", parents=[common], help="run a workstation script (.ps1)")
    run.add_argument("file", metavar="FILE.ps1")

    serve = sub.add_parser("serve", parents=[common], help="serve the PEP over WinRM/PSRP")
    serve.add_argument("--listen", default=None, metavar="HOST:PORT")
    serve.add_argument("--https", action="store_true")
    serve.add_argument("--auth", default="basic,ntlm,negotiate")
    serve.add_argument("--admin-password-file", metavar="FILE")
    serve.add_argument("--portal", metavar="HOST:PORT", nargs="?", const="127.0.0.1:8443",
                       help="also start the Help + Support service (API and page); alone: 127.0.0.1:8443")

    connect = sub.add_parser("connect", parents=[common], help="open a console on a remote PSRP endpoint")
    connect.add_argument("host", metavar="HOST[:PORT]")
    connect.add_argument("--user", required=True)
    connect.add_argument("--https", action="store_true")
    connect.add_argument("--configuration-name", default="PrivilegedEndpoint")
    connect.add_argument("--auth", default="negotiate")
    connect.add_argument("--insecure", action="store_true", help="skip certificate checks (self-signed HTTPS)")

    stamp = sub.add_parser("stamp", parents=[common], help="simulated stamps")
    stamp_sub = stamp.add_subparsers(dest="stamp_command", metavar="{generate}")
    gen = stamp_sub.add_parser("generate", help="generate a simulated stamp with logs")
    gen.add_argument("dir", metavar="DIR")
    gen.add_argument("--nodes", type=int, default=4)
    gen.add_argument("--days", type=float, default=2)
    gen.add_argument("--mb-per-hour", type=float, default=1.0)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--end", metavar="ISO", help="ISO 8601 end of the generated period (default: now)")

    fault = sub.add_parser("fault", parents=[common], help="inject faults into the stamp's health model")
    fault_sub = fault.add_subparsers(dest="fault_command", metavar="{add,list,clear,kinds}")
    add = fault_sub.add_parser("add", parents=[common], help="add a fault: pep fault add KIND [TARGET]")
    add.add_argument("kind", metavar="KIND")
    add.add_argument("target", metavar="TARGET", nargs="?")
    fault_sub.add_parser("list", parents=[common], help="list the active faults and their alerts")
    clear = fault_sub.add_parser("clear", parents=[common], help="clear one fault by id, or --all")
    clear.add_argument("id", metavar="ID", nargs="?")
    clear.add_argument("--all", action="store_true")
    fault_sub.add_parser("kinds", parents=[common], help="list the fault kinds, their targets and alerts")

    support = sub.add_parser("support", parents=[common],
                             help="the Help + Support outage switch; the support-session keys and responses")
    support_sub = support.add_subparsers(dest="support_command", metavar="{down,up,status,keygen,respond}")
    down = support_sub.add_parser("down", parents=[common], help="take Help + Support down (the PEP keeps collecting)")
    down.add_argument("--reason", metavar="TEXT")
    support_sub.add_parser("up", parents=[common], help="bring Help + Support back up")
    support_sub.add_parser("status", parents=[common], help="say whether Help + Support is up or down, and since when")
    keygen = support_sub.add_parser("keygen", parents=[common],
                                    help="create the support key pair a support-session unlock trusts")
    keygen.add_argument("dir", metavar="DIR", nargs="?", help="where to write it (default: <state dir>/support-keys)")
    keygen.add_argument("--force", action="store_true", help="replace an existing key pair")
    respond = support_sub.add_parser("respond", parents=[common],
                                     help="play Microsoft Support: answer a request token with a response token")
    respond.add_argument("token", metavar="TOKEN", help="the request token (AZSREQ1...), or - to read it from stdin")
    respond.add_argument("--key", metavar="FILE", required=True, help="the support private key (PEM)")
    respond.add_argument("--valid-minutes", metavar="M", type=float,
                         help="the response expires M minutes from now (default: when the request expires)")
    transcript = sub.add_parser("transcript", parents=[common], help="check transcripts against their signed chains")
    transcript_sub = transcript.add_subparsers(dest="transcript_command", metavar="{verify}")
    verify = transcript_sub.add_parser("verify", parents=[common],
                                       help="report each transcript as intact, or where it was first changed")
    verify.add_argument("files", metavar="FILE", nargs="*", help="transcripts or folders (default: the state directory's)")
    verify.add_argument("--key", metavar="PUBFILE", action="append", help="also trust this public key (repeatable)")
    return p


def _fail(message: str, code: int = 1) -> int:
    print(f"pep: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from session.environment import ConfigError, Environment

    try:
        env = Environment.from_options(args.stamp, args.state_dir, args.config)
        if args.stamp:
            env.stamp  # noqa: B018 - validate the stamp directory before anything starts
    except ConfigError as e:
        return _fail(str(e))
    except (OSError, ValueError, KeyError) as e:
        return _fail(f"Cannot load the stamp from '{args.stamp}': {e}")

    try:
        if args.subcommand == "stamp":
            return _stamp(args)
        if args.subcommand == "fault":
            from pep.fault_command import main_fault

            return main_fault(env, args)
        if args.subcommand == "support":
            from pep.support_command import main_support

            return main_support(env, args)
        if args.subcommand == "transcript":
            from pep.transcript_command import main_transcript

            return main_transcript(env, args)
        if args.subcommand == "serve":
            from session.listener.server import main_serve

            return main_serve(env, args)
        if args.subcommand == "run":
            from pep.bridge import main_run

            return main_run(env, args)
        if args.subcommand == "connect":
            from pep.bridge import main_connect

            return main_connect(env, args)
        if args.command is not None:
            return run_one_shot(env, args.command, as_json=args.json)
        if args.json:
            return _fail("--json needs -c INPUT")
        return run_interactive(env)
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as e:
        return _fail(f"this part of pep is not available in this build ({e.name})")


def _stamp(args) -> int:
    """`pep stamp generate DIR ...`: write a simulated stamp and say what was written."""
    if args.stamp_command != "generate":
        return _fail("usage: pep stamp generate DIR [--nodes N] [--days D] [--mb-per-hour M] [--seed S] [--end ISO]", 2)
    import time
    from datetime import datetime

    from collector.stampgen import TRUTH_PATH, generate, load_truth

    if args.nodes < 1 or args.days <= 0 or args.mb_per_hour <= 0:
        return _fail("stamp generate: --nodes, --days and --mb-per-hour must be positive", 2)
    end = None
    if args.end:
        try:
            end = datetime.fromisoformat(args.end)
        except ValueError:
            return _fail(f"stamp generate: --end: not an ISO 8601 time: {args.end}", 2)
        if end.tzinfo is None:
            end = end.astimezone()
    started = time.monotonic()
    try:
        root = generate(args.dir, nodes=args.nodes, days=args.days, mb_per_hour=args.mb_per_hour, seed=args.seed,
                        end=end)
    except OSError as e:
        return _fail(f"stamp generate: cannot write '{args.dir}': {e.strerror or e}")
    truth = load_truth(root)
    total = sum(e["size"] for e in truth)
    print(f"Generated stamp in {root}: {len(truth)} files, {total / 1048576:.1f} MB, "
          f"{time.monotonic() - started:.1f} s; ground truth in {root / TRUTH_PATH}")
    return 0


def run_one_shot(env, text: str, as_json: bool = False) -> int:
    """`pep -c`: one input in a fresh PEP session, on the one foreground path (session.foreground):
    Ctrl+C (SIGINT) stops the command cleanly, and cannot cut the session's cleanup short."""
    from session.foreground import Foreground

    fg = Foreground(notice=_notice)
    with fg.guard():
        from pep import terminal
        from powershell import formatting
        from session.runspace import Runspace

        is_tty = sys.stdout.isatty()
        stop = threading.Event()
        out = ReaderGuard(sys.stdout, stop)
        stdout = cast(TextIO, out)  # a TextIO by delegation
        sink = formatting.JsonSink(stdout, sys.stderr) if as_json else formatting.ConsoleSink(
            stdout, sys.stderr, width=terminal.width(), is_tty=is_tty)
        rs = Runspace(env, is_terminal=is_tty and not as_json)
        try:
            result = fg.run(lambda stop: rs.invoke(text, sink, stop_event=stop), stop=stop, sink=sink)
        finally:
            flush = getattr(sink, "flush", None)
            if flush:
                flush()
            rs.close()
    if out.reader_gone:
        return BROKEN_PIPE_EXIT
    return 0 if result is not None and result.succeeded else 1


# What a shell shows for a command whose reader went away (128 + SIGPIPE), as for `yes | head -1`.
BROKEN_PIPE_EXIT = 141


class ReaderGuard:
    """Standard output of `pep -c` when its reader may go away (`pep -c Get-Command | head -1`).

    A closed pipe is not an error of the command: the first write that meets it stops the
    pipeline (its stop event, as Ctrl+C does, so a collection still ends cleanly), and this and
    every later write, the final flush at exit included, goes to the null device. No error record,
    no traceback; `run_one_shot` then exits with BROKEN_PIPE_EXIT (docs/behaviour.md)."""

    def __init__(self, stream: Any, stop: threading.Event):
        self._stream = stream
        self._stop = stop
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone()

    def _gone(self) -> None:
        self.reader_gone = True
        self._stop.set()
        try:  # what the stream still buffers, and the interpreter's flush at exit, go nowhere
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError):  # not a file descriptor (tests): nothing to redirect
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _notice(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class _DeferredRunspace:
    """The console's runspace, built on first use: the prompt needs only the ERCS name, so it appears
    without waiting for the object model (psrpcore) and the cmdlets to load (about 50 ms)."""

    def __init__(self, env):
        self._env = env
        self._rs = None

    @property
    def prompt_name(self) -> str:
        return self._env.stamp.ercs_name

    def __getattr__(self, name: str):
        if self._rs is None:
            from session.runspace import Runspace

            self._rs = Runspace(self._env, is_terminal=sys.stdout.isatty())
        return getattr(self._rs, name)

    def close(self) -> None:
        if self._rs is not None:
            self._rs.close()


def run_interactive(env) -> int:
    from pep.console import run_console

    rs = _DeferredRunspace(env)
    try:
        return run_console(rs)
    finally:
        rs.close()

