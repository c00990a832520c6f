"""Issue 10, Accounts: the CloudAdmin cmdlets as a user types them (`pep -c`), and through a real
pypsrp client against the real `pep serve --portal` (SecureString and PSCredential values): the
refusals (policy, last CloudAdmin, self-removal, wrong current password), and the effect on
sign-in at once, over PSRP (NTLM) and the Help + Support service (Basic), lockout included."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from enginehelp import small_stamp
from pypsrp.complex_objects import PSCredential, PSInvocationState
from pypsrp.exceptions import AuthenticationError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.serializer import TaggedValue
from test_listener_support import PASSWORD, wsman

ROOT = Path(__file__).resolve().parents[1]
STRONG = "N3w-Operator!pw"
OTHER = "Chang3d`pa'ss"  # quotes and a backtick: a password is data, never syntax


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    return small_stamp(tmp_path_factory.mktemp("acct") / "stamp", days=0.1, mb_per_hour=0.1)


def pep(state: Path, stamp: Path, *args: str, config: dict | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pep", "--stamp", str(stamp), "--state-dir", str(state)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PEP_CONFIG", None)
    if config is not None:
        cfg = state.parent / "pep-config.json"
        cfg.write_text(json.dumps(config))
        argv += ["--config", str(cfg)]
    return subprocess.run(argv + list(args), capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                          stdin=subprocess.DEVNULL)


def q(text: str) -> str:
    """A PowerShell single-quoted string."""
    return "'" + text.replace("'", "''") + "'"


def fqids(stderr: str) -> list[str]:
    return re.findall(r"FullyQualifiedErrorId : (\S+)", stderr)


def users(state: Path, stamp: Path) -> list[str]:
    r = pep(state, stamp, "--json", "-c", "Get-CloudAdminUserList")
    assert r.returncode == 0, r.stderr
    return [json.loads(line)["UserName"] for line in r.stdout.splitlines() if line.strip()]


def test_the_cmdlets_through_pep_c(tmp_path, stamp):
    state = tmp_path / "state"
    assert pep(state, stamp, "-c", f"New-CloudAdminUser -UserName CloudAdmin -Password '{PASSWORD}'").returncode == 0
    r = pep(state, stamp, "-c", f"New-CloudAdminUser -UserName Operator2 -Password '{STRONG}'")
    assert r.returncode == 0, r.stderr
    assert users(state, stamp) == ["AZURESTACK\\CloudAdmin", "AZURESTACK\\Operator2"]
    r = pep(state, stamp, "-c", "Get-CloudAdminUserList")
    assert "UserName" in r.stdout and "Operator2@azurestack.local" in r.stdout

    # the password policy, each rule named, the password never echoed
    for password, rule in [("Sh0rt!", "at least 8 characters"), ("alllowercase1", "three of these four groups"),
                           ("Operator3-Pass1", "must not contain the user name")]:
        r = pep(state, stamp, "-c", f"New-CloudAdminUser -UserName Operator3 -Password '{password}'")
        assert r.returncode == 1 and fqids(r.stderr) == ["PasswordPolicyViolation,New-CloudAdminUser"], r.stderr
        assert rule in r.stderr and password not in r.stderr + r.stdout
    r = pep(state, stamp, "-c", "New-CloudAdminUser -UserName Operator3 -Password 'Sh0rt!a'",
            config={"accounts": {"min_password_length": 6}})
    assert r.returncode == 0, r.stderr
    r = pep(state, stamp, "-c", f"New-CloudAdminUser '{STRONG}' operator2")  # positional: -Password, -UserName
    assert fqids(r.stderr) == ["CloudAdminUserExists,New-CloudAdminUser"]
    bad_name = pep(state, stamp, "-c", f"New-CloudAdminUser -UserName 'a/b' -Password '{STRONG}'")
    assert fqids(bad_name.stderr) == ["InvalidUserName,New-CloudAdminUser"]
    # nothing to ask the password with: PowerShell's missing-mandatory error, not a prompt that hangs
    r = pep(state, stamp, "-c", "New-CloudAdminUser -UserName Operator4")
    assert fqids(r.stderr) == ["MissingMandatoryParameter,New-CloudAdminUser"] and "Password" in r.stderr

    # the current password is checked
    r = pep(state, stamp, "-c", f"Set-CloudAdminUserPassword Operator2 'Wr0ng-current!' {q(OTHER)}")
    assert fqids(r.stderr) == ["WrongCurrentPassword,Set-CloudAdminUserPassword"] and "Wr0ng" not in r.stderr
    r = pep(state, stamp, "-c", f"Set-CloudAdminUserPassword Operator2 '{STRONG}' '{STRONG}'")
    assert fqids(r.stderr) == ["PasswordPolicyViolation,Set-CloudAdminUserPassword"] and "differ" in r.stderr
    r = pep(state, stamp, "-c", f"Set-CloudAdminUserPassword -UserName AZURESTACK\\Operator2 -CurrentPassword "
            f"'{STRONG}' -NewPassword {q(OTHER)}")
    assert r.returncode == 0, r.stderr

    # removal: asks first (no user to ask here), never the session's own user, never the last one
    r = pep(state, stamp, "-c", "Remove-CloudAdminUser Operator3")
    assert fqids(r.stderr) == ["HostException,Remove-CloudAdminUser"] and "-SkipConfirmation" in r.stderr
    assert "AZURESTACK\\Operator3" in users(state, stamp)
    r = pep(state, stamp, "-c", "Remove-CloudAdminUser CloudAdmin -SkipConfirmation")
    assert fqids(r.stderr) == ["CannotRemoveSignedInUser,Remove-CloudAdminUser"]
    assert pep(state, stamp, "-c", "Remove-CloudAdminUser Operator3 -SkipConfirmation").returncode == 0
    assert pep(state, stamp, "-c", "Remove-CloudAdminUser Nobody -SkipConfirmation").stderr.count(
        "CloudAdminUserNotFound,Remove-CloudAdminUser") == 1
    assert users(state, stamp) == ["AZURESTACK\\CloudAdmin", "AZURESTACK\\Operator2"]

    # every change is in the audit log, no password anywhere in it
    audit = (state / "logs" / "accounts.log").read_text()
    assert re.search(r"created: AZURESTACK\\Operator2 by AZURESTACK\\CloudAdmin", audit)
    assert "password changed: AZURESTACK\\Operator2" in audit and "removed: AZURESTACK\\Operator3" in audit
    assert "wrong current password" in audit
    for secret in (PASSWORD, STRONG, OTHER, "Sh0rt!a", "Wr0ng-current!"):
        assert secret not in audit
    assert oct((state / "logs" / "accounts.log").stat().st_mode & 0o777) == "0o600"
    accounts = (state / "accounts" / "accounts.json").read_text()
    assert STRONG not in accounts and OTHER not in accounts


def test_the_last_cloudadmin_cannot_be_removed(tmp_path, stamp):
    state = tmp_path / "state"
    assert pep(state, stamp, "-c", f"New-CloudAdminUser -UserName Operator2 -Password '{STRONG}'").returncode == 0
    r = pep(state, stamp, "-c", "Remove-CloudAdminUser Operator2 -SkipConfirmation")
    assert fqids(r.stderr) == ["LastCloudAdminUser,Remove-CloudAdminUser"] and r.returncode == 1
    assert users(state, stamp) == ["AZURESTACK\\Operator2"]


# -- over PSRP, against the real `pep serve --portal` ------------------------------------------------------------

@pytest.fixture
def served(tmp_path, stamp):
    """`pep serve --portal` as a user starts it: CloudAdmin's password chosen, 3 failures lock."""
    state = tmp_path / "state"
    cfg = tmp_path / "serve.json"
    cfg.write_text(json.dumps({"signin": {"lockout_threshold": 3, "failure_delay_seconds": 0}}))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEP_ADMIN_PASSWORD": PASSWORD}
    proc = subprocess.Popen([sys.executable, "-m", "pep", "--stamp", str(stamp), "--state-dir", str(state),
                             "--config", str(cfg), "serve", "--listen", "127.0.0.1:0", "--portal", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        text = ""
        deadline = time.monotonic() + 60
        while "Help + Support on" not in text and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            text += line
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/wsman", text).group(1))
        portal = re.search(r"Help \+ Support on (http://127\.0\.0\.1:\d+/)", text).group(1)
        yield port, portal, state
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def invoke(port: int, cmdlet: str, user: str = "AZURESTACK\\CloudAdmin", password: str = PASSWORD, **params):
    with RunspacePool(wsman(port, "ntlm", False, user=user, password=password),
                      configuration_name="PrivilegedEndpoint") as pool:
        pool.exchange_keys()  # SecureStrings travel encrypted with the session key
        ps = PowerShell(pool)
        ps.add_cmdlet(cmdlet)
        for name, value in params.items():
            ps.add_parameter(name, value)
        out = ps.invoke()
        return ps, out


def signs_in(port: int, user: str, password: str) -> bool:
    try:
        ps, out = invoke(port, "Get-CloudAdminUserList", user=user, password=password)
    except AuthenticationError:
        return False
    assert ps.state == PSInvocationState.COMPLETED
    return True


def portal_signs_in(portal: str, user: str, password: str) -> bool:
    return requests.get(portal + "api/health", auth=(user, password), timeout=30).status_code == 200


def errors(ps) -> list[str]:
    return [e.fq_error for e in ps.streams.error]


def test_account_cmdlets_over_psrp_take_effect_for_sign_in_at_once(served):
    port, portal, state = served
    # a SecureString password creates a user who can sign in over PSRP and to Help + Support at once
    ps, _ = invoke(port, "New-CloudAdminUser", UserName="Operator2", Password=TaggedValue("SS", STRONG))
    assert ps.state == PSInvocationState.COMPLETED and not ps.had_errors, errors(ps)
    assert signs_in(port, "AZURESTACK\\Operator2", STRONG)
    assert portal_signs_in(portal, "Operator2@azurestack.local", STRONG)
    ps, out = invoke(port, "Get-CloudAdminUserList", user="Operator2", password=STRONG)
    assert ps.state == PSInvocationState.COMPLETED and len(out) == 2 and "Operator2" in str(
        [getattr(o, "extended_properties", o) for o in out])

    # PSCredential values: the user name comes with the credential; the policy is checked the same way
    ps, _ = invoke(port, "New-CloudAdminUser", Password=PSCredential(username="Operator3", password="weakweak"))
    assert errors(ps) == ["PasswordPolicyViolation,New-CloudAdminUser"]
    assert "weakweak" not in str(ps.streams.error[0])
    ps, _ = invoke(port, "New-CloudAdminUser", Password=PSCredential(username="Operator3", password=OTHER))
    assert not ps.had_errors, errors(ps)
    assert signs_in(port, "Operator3", OTHER)

    # a wrong current password changes nothing; the right one works at once, the old one is gone
    ps, _ = invoke(port, "Set-CloudAdminUserPassword", UserName="Operator2",
                   CurrentPassword=TaggedValue("SS", "Wr0ng-current!"), NewPassword=TaggedValue("SS", OTHER))
    assert errors(ps) == ["WrongCurrentPassword,Set-CloudAdminUserPassword"]
    assert signs_in(port, "Operator2", STRONG)
    ps, _ = invoke(port, "Set-CloudAdminUserPassword", UserName="Operator2",
                   CurrentPassword=PSCredential(username="Operator2", password=STRONG),
                   NewPassword=TaggedValue("SS", OTHER))
    assert not ps.had_errors, errors(ps)
    assert signs_in(port, "Operator2", OTHER) and not signs_in(port, "Operator2", STRONG)
    assert portal_signs_in(portal, "Operator2", OTHER) and not portal_signs_in(portal, "Operator2", STRONG)

    # a session cannot remove its own user; another CloudAdmin can, and the removed user is out at once
    ps, _ = invoke(port, "Remove-CloudAdminUser", user="Operator3", password=OTHER, UserName="Operator3",
                   SkipConfirmation=True)
    assert errors(ps) == ["CannotRemoveSignedInUser,Remove-CloudAdminUser"]
    ps, _ = invoke(port, "Remove-CloudAdminUser", UserName="Operator3", SkipConfirmation=True)
    assert not ps.had_errors, errors(ps)
    assert not signs_in(port, "Operator3", OTHER) and not portal_signs_in(portal, "Operator3", OTHER)

    # a change from the console (another process) reaches the running service at once too
    r = subprocess.run([sys.executable, "-m", "pep", "--state-dir", str(state), "-c",
                        f"New-CloudAdminUser -UserName Operator4 -Password '{STRONG}'"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    assert signs_in(port, "Operator4", STRONG) and portal_signs_in(portal, "Operator4", STRONG)

    # no password reached the server's log, the audit log or a transcript
    logs = "".join(p.read_text() for p in (state / "logs").glob("*.log"))
    logs += "".join(p.read_text(errors="replace") for p in (state / "transcripts").glob("*"))
    assert "created: AZURESTACK\\Operator2 by AZURESTACK\\CloudAdmin" in logs
    for secret in (STRONG, OTHER, "Wr0ng-current!", "weakweak"):
        assert secret not in logs


def test_a_changed_password_does_not_lift_a_lockout(served):
    port, portal, _ = served
    ps, _ = invoke(port, "New-CloudAdminUser", UserName="Operator2", Password=TaggedValue("SS", STRONG))
    assert not ps.had_errors, errors(ps)
    for _ in range(3):
        assert not portal_signs_in(portal, "Operator2", "guess-Gu3ss!")
    assert not portal_signs_in(portal, "Operator2", STRONG)  # locked: even the right password
    ps, _ = invoke(port, "Set-CloudAdminUserPassword", UserName="Operator2",
                   CurrentPassword=TaggedValue("SS", STRONG), NewPassword=TaggedValue("SS", OTHER))
    assert not ps.had_errors, errors(ps)
    assert not portal_signs_in(portal, "Operator2", OTHER) and not signs_in(port, "Operator2", OTHER)
    assert signs_in(port, "CloudAdmin", PASSWORD)  # the lock is the account's, nobody else's


def test_remove_asks_the_remote_client_first(served):
    """Without -SkipConfirmation the question goes to the client as a PromptForChoice host call;
    pypsrp's default host cannot answer it, so nothing is removed."""
    port, _, _ = served
    ps, _ = invoke(port, "New-CloudAdminUser", UserName="Operator2", Password=TaggedValue("SS", STRONG))
    assert not ps.had_errors
    ps, _ = invoke(port, "Remove-CloudAdminUser", UserName="Operator2")
    assert errors(ps) == ["HostException,Remove-CloudAdminUser"]
    assert signs_in(port, "Operator2", STRONG)


def test_a_remote_client_is_asked_for_what_was_left_out(served):
    """Over PSRP the prompts are host calls the client answers: the mandatory-style Prompt (the
    password as a SecureString) and Remove's PromptForChoice, whose default is No."""
    from pypsrp.host import PSHost, PSHostUserInterface

    port, _, _ = served
    asked: list = []

    class UI(PSHostUserInterface):
        def Prompt(self, runspace, pipeline, caption, message, descriptions):
            asked.append((caption, [(d.extended_properties["name"], d.extended_properties["parameterTypeFullName"])
                                    for d in descriptions]))
            return {"UserName": "Operator5", "Password": TaggedValue("SS", STRONG)}

        def PromptForChoice(self, runspace, pipeline, caption, message, choices, default_choice):
            asked.append((message, [c.extended_properties["label"] for c in choices], default_choice))
            return 1 if len(asked) == 2 else 0  # the first question answered No, the next Yes

    host = PSHost(None, None, False, "test", None, UI(), "1.0")
    with RunspacePool(wsman(port, "ntlm", False), configuration_name="PrivilegedEndpoint", host=host) as pool:
        pool.exchange_keys()
        ps = PowerShell(pool)
        ps.add_cmdlet("New-CloudAdminUser")
        ps.invoke()
        assert not ps.had_errors, errors(ps)
        assert asked[0] == ("cmdlet New-CloudAdminUser at command pipeline position 1",
                            [("UserName", "System.String"), ("Password", "System.Security.SecureString")])
        assert signs_in(port, "Operator5", STRONG)
        for expected_kept in (True, False):  # answered No (index 1), then Yes (index 0)
            ps = PowerShell(pool)
            ps.add_cmdlet("Remove-CloudAdminUser").add_parameter("UserName", "Operator5")
            ps.invoke()
            assert not ps.had_errors, errors(ps)
            assert signs_in(port, "Operator5", STRONG) == expected_kept
    message, labels, default = asked[1]
    assert "remove the CloudAdmin user 'Operator5'" in message and labels == ["&Yes", "&No"] and default == 1
