"""Helpers for the listener tests (no tests here): a listener on a loopback port, pypsrp clients,
and a few test-only cmdlets added to the session's visible set (a slow command to stop, one that
writes every stream, one with typed and mandatory parameters). They go through the real
Runspace, binder and psrpcore serialisation like any PEP cmdlet."""
from __future__ import annotations

import time
from typing import Any

from powershell.commands import Cmdlet, Parameter
from powershell.objects import ErrorCategory, custom_object
from session.environment import Environment
from session.listener.server import ListenerThread

PASSWORD = "Azs-Test-P@ss1"
USER = "AZURESTACK\\CloudAdmin"


class TestSlow(Cmdlet):
    __test__ = False
    name = "Test-ListenerSlow"
    parameters = (Parameter("Seconds", "int", position=0),)

    def invoke(self, ctx: Any, params: dict, input: Any = None) -> None:
        end = time.monotonic() + params.get("Seconds", 30)
        ctx.write_output("started")
        while time.monotonic() < end:
            ctx.check_stopped()
            time.sleep(0.02)
        ctx.write_output("finished")


class TestStreams(Cmdlet):
    __test__ = False
    name = "Test-ListenerStreams"
    parameters = (Parameter("Count", "int", position=0),)

    def invoke(self, ctx: Any, params: dict, input: Any = None) -> None:
        n = params.get("Count", 1)
        for i in range(n):
            ctx.write_progress("Collecting", f"{i} of {n}", percent=int(100 * i / n))
            ctx.write_output(custom_object("AzureStack.Test", Index=i, Name=f"item{i}", Ok=True))
        ctx.write_warning("something to look at")
        ctx.write_verbose("details")
        ctx.write_error("Host S-Cluster-03 is not reachable.", "NodeUnreachable", ErrorCategory.ConnectionError,
                        target="S-Cluster-03")
        ctx.write_progress("Collecting", "done", percent=100, completed=True)


class TestTyped(Cmdlet):
    __test__ = False
    name = "Test-ListenerTyped"
    parameters = (
        Parameter("Credential", "pscredential", mandatory=True),
        Parameter("FromDate", "datetime"),
        Parameter("Roles", "string[]"),
    )

    def invoke(self, ctx: Any, params: dict, input: Any = None) -> None:
        cred = params["Credential"]
        password = cred.Password.decrypt() if hasattr(cred.Password, "decrypt") else str(cred.Password)
        date = params.get("FromDate")
        ctx.write_output(custom_object(
            None, UserName=str(cred.UserName), Password=password,
            FromDate=date.isoformat() if date is not None else None,
            Roles=",".join(params.get("Roles") or []),
        ))


class TestAsk(Cmdlet):
    __test__ = False
    name = "Test-ListenerAsk"
    parameters = (Parameter("Name", "string", mandatory=True, help="Who to greet."),)

    def invoke(self, ctx: Any, params: dict, input: Any = None) -> None:
        ctx.write_output(f"Hello {params['Name']}")


TEST_CMDLETS = (TestSlow, TestStreams, TestTyped, TestAsk)


def runspace_factory(env: Environment):
    def make(shell: Any, host: Any) -> Any:
        from session.runspace import Runspace

        return Runspace(env, host=host, user=shell.owner, extra_commands=TEST_CMDLETS)

    return make


def start_listener(tmp_path, monkeypatch=None, **kwargs: Any) -> ListenerThread:
    env = Environment(state_dir=tmp_path / "state")
    pw = tmp_path / "admin-password"
    pw.write_text(PASSWORD + "\n")
    kwargs.setdefault("runspace_factory", runspace_factory(env))
    return ListenerThread(env, admin_password_file=str(pw), **kwargs).start()


def wsman(port: int, auth: str, https: bool, user: str = USER, password: str = PASSWORD, **kw: Any):
    from pypsrp.wsman import WSMan

    kw.setdefault("encryption", "auto")
    return WSMan("127.0.0.1", port=port, ssl=https, auth=auth, username=user, password=password,
                 cert_validation=False, operation_timeout=kw.pop("operation_timeout", 20), **kw)


def visible(name: str) -> bool:
    from cmdlets.registry import pep_cmdlets

    return any(c.name.lower() == name.lower() for c in pep_cmdlets())
