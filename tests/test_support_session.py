"""Issue 10, support-session unlock: the round trip as an operator and Microsoft Support do it.

The operator's side is a real pypsrp client against the real `pep serve` (one PSRP session holds
its state across commands, which `pep -c` cannot), and the real console through a pty for the
ResponseToken prompt; support's side is `pep support keygen` / `pep support respond` as
subprocesses. Each kind of bad token is refused with its own FullyQualifiedErrorId."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pypsrp.powershell import PowerShell, RunspacePool
from test_listener_support import PASSWORD, wsman

ROOT = Path(__file__).resolve().parents[1]
ELEVATED = ("Get-AzsSupportInfrastructureHost", "Get-AzsSupportInfrastructureRole", "Get-AzsSupportFault",
            "Get-AzsSupportCollectionHistory", "Get-AzsSupportCollectionLock")
TOKEN_TEXT = re.compile(r"[A-Za-z0-9_-]+")


def pep(state: Path, *args: str, config: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "pep", "--state-dir", str(state)] + (["--config", str(config)] if config else [])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PEP_CONFIG", None)
    return subprocess.run(argv + list(args), capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                          input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)


def respond(state: Path, token: str, *extra: str) -> str:
    r = pep(state, "support", "respond", token, "--key", str(state / "support-keys" / "support-private.pem"), *extra)
    assert r.returncode == 0, r.stderr
    assert "Answering the request for support session" in r.stderr
    return r.stdout.strip()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Support's key pair made with `pep support keygen`, then `pep serve` on the same state directory."""
    state = tmp_path_factory.mktemp("support") / "state"
    r = pep(state, "support", "keygen")
    assert r.returncode == 0, r.stderr
    private = state / "support-keys" / "support-private.pem"
    assert private.stat().st_mode & 0o777 == 0o600
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEP_ADMIN_PASSWORD": PASSWORD}
    env.pop("PEP_CONFIG", None)
    proc = subprocess.Popen([sys.executable, "-m", "pep", "--state-dir", str(state), "serve", "--listen",
                             "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT)
    try:
        text, port = "", None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            text += line
            m = re.search(r"http://127\.0\.0\.1:(\d+)/wsman", text)
            port = int(m.group(1)) if m else None
        assert port, text + proc.stderr.read()
        yield port, state
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        assert "Traceback" not in proc.stderr.read()


def session(port: int) -> RunspacePool:
    return RunspacePool(wsman(port, "ntlm", False), configuration_name="PrivilegedEndpoint")


def run(pool: RunspacePool, cmdlet: str, **params):
    ps = PowerShell(pool)
    ps.add_cmdlet(cmdlet)
    for name, value in params.items():
        ps.add_parameter(name, value)
    out = ps.invoke()
    return ps, out


def errors(ps) -> list[str]:
    return [e.fq_error for e in ps.streams.error]


def names_of(pool: RunspacePool) -> set[str]:
    ps, out = run(pool, "Get-Command")
    assert not errors(ps)
    return {str(prop(c, "Name")) for c in out}


def prop(obj, name: str):
    return {**obj.adapted_properties, **obj.extended_properties}.get(name)


def not_recognised(pool: RunspacePool, cmdlet: str) -> bool:
    ps, _ = run(pool, cmdlet)
    return errors(ps) == ["CommandNotFoundException"]


def request_token(pool: RunspacePool) -> str:
    ps, out = run(pool, "Get-SupportSessionToken")
    assert not errors(ps) and len(out) == 1
    token = str(out[0])
    assert token.startswith("AZSREQ1") and TOKEN_TEXT.fullmatch(token[7:])
    return token


def info(pool: RunspacePool) -> dict:
    ps, out = run(pool, "Get-SupportSessionInfo")
    assert not errors(ps) and len(out) == 1
    assert out[0].types[0] == "Microsoft.AzureStack.PrivilegedEndpointSecurity.PepCmdlets.AzureStackSupportSessionInfo"
    return {**out[0].adapted_properties, **out[0].extended_properties}


def unlock(pool: RunspacePool, token: str) -> list[str]:
    ps, _ = run(pool, "Unlock-SupportSession", ResponseToken=token)
    return errors(ps)


def test_round_trip_unlocks_this_session_for_8_hours(served):
    port, state = served
    with session(port) as pool:
        visible = names_of(pool)
        assert {"Get-SupportSessionToken", "Unlock-SupportSession", "Get-SupportSessionInfo"} <= visible
        assert not visible & set(ELEVATED)                       # not listed before the unlock ...
        assert all(not_recognised(pool, name) for name in ELEVATED)  # ... nor callable
        assert info(pool)["State"] == "NotRequested"

        token = request_token(pool)
        before = info(pool)
        assert before["State"] == "TokenRequested" and before["Elevated"] is False
        assert len(before["SessionId"]) == 32
        response = respond(state, token)
        assert response.startswith("AZSRSP1") and TOKEN_TEXT.fullmatch(response[7:])

        unlocked_at = datetime.now(timezone.utc)
        ps, _ = run(pool, "Unlock-SupportSession", ResponseToken=response)
        assert not errors(ps)
        assert any("unlocked until" in str(r) for r in ps.streams.information)
        now = info(pool)
        assert now["State"] == "Elevated" and now["Elevated"] is True and now["SessionId"] == before["SessionId"]
        until = datetime.fromisoformat(str(now["ElevatedUntil"]).replace("Z", "+00:00"))  # pypsrp keeps <DT> as text
        assert abs((until - unlocked_at) - timedelta(hours=8)) < timedelta(minutes=2)

        assert set(ELEVATED) <= names_of(pool)
        assert pep(state, "fault", "add", "host-unresponsive", "azs-node02").returncode == 0
        try:
            ps, hosts = run(pool, "Get-AzsSupportInfrastructureHost")
            assert not errors(ps)
            status = {prop(h, "Name"): prop(h, "Status") for h in hosts}
            assert status["azs-node02"] == "Warning" and status["azs-node01"] == "Healthy"
            ps, faults = run(pool, "Get-AzsSupportFault")
            assert not errors(ps)
            assert [prop(f, "Kind") for f in faults] == ["host-unresponsive"]
        finally:
            pep(state, "fault", "clear", "--all")
        ps, _ = run(pool, "Get-AzsSupportCollectionHistory", First=3)
        assert not errors(ps)

        # used once: the same response again is a replay
        assert unlock(pool, response) == ["SupportSessionTokenReplayed,Unlock-SupportSession"]

    # a new session starts locked: the elevation belonged to the closed one, and its token is spent
    with session(port) as pool:
        assert not names_of(pool) & set(ELEVATED)
        assert not_recognised(pool, "Get-AzsSupportFault")
        request_token(pool)
        assert unlock(pool, response) == ["SupportSessionTokenReplayed,Unlock-SupportSession"]
        assert not_recognised(pool, "Get-AzsSupportFault")

    # no token reached a transcript (the one redactor knows both prefixes)
    text = "".join(p.read_text(errors="replace") for p in (state / "transcripts").glob("*"))
    assert "Get-SupportSessionToken" in text and "Unlock-SupportSession" in text
    assert response[7:40] not in text and token[7:40] not in text


def test_each_kind_of_bad_token_is_refused_with_its_own_error(served):
    port, state = served
    with session(port) as other, session(port) as pool:
        foreign = respond(state, request_token(other))          # answers the other session's request
        token = request_token(pool)
        good = respond(state, token)
        middle = len(good) // 2
        tampered = good[:middle] + ("A" if good[middle] != "A" else "B") + good[middle + 1:]
        expired = respond(state, request_token(pool), "--valid-minutes", "0")

        cases = {
            "SupportSessionTokenMalformed": ["not a token", good[:60], token, "AZSRSP1" + "!" * 20],
            "SupportSessionTokenTampered": [tampered, good[:-3]],
            "SupportSessionTokenForeign": [foreign],
            "SupportSessionTokenExpired": [expired],
        }
        for error_id, tokens in cases.items():
            for bad in tokens:
                assert unlock(pool, bad) == [f"{error_id},Unlock-SupportSession"], (error_id, bad[:20])
                assert not_recognised(pool, "Get-AzsSupportFault")
        # the refusals spent nothing: the good token still unlocks, once
        assert unlock(pool, good) == []
        assert not not_recognised(pool, "Get-AzsSupportFault")
        assert unlock(pool, good) == ["SupportSessionTokenReplayed,Unlock-SupportSession"]
        assert not_recognised(other, "Get-AzsSupportFault")       # the other session stays locked


def test_support_side_refuses_what_it_cannot_answer(tmp_path):
    state = tmp_path / "state"
    assert pep(state, "support", "keygen").returncode == 0
    again = pep(state, "support", "keygen")
    assert again.returncode == 1 and "--force" in again.stderr
    elsewhere = pep(state, "support", "keygen", str(tmp_path / "other-keys"))
    assert elsewhere.returncode == 0 and "support.public_key_file" in elsewhere.stdout

    # the stamp trusts the other key now: a token made for it cannot be answered with the first one
    cfg = tmp_path / "pep.json"
    cfg.write_text(json.dumps({"support": {"public_key_file": str(tmp_path / "other-keys" / "support-public.pem")}}))
    made = pep(state, "-c", "Get-SupportSessionToken -Development", config=cfg)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    wrong = pep(state, "support", "respond", token, "--key", str(state / "support-keys" / "support-private.pem"))
    assert wrong.returncode == 1 and "not made for this support key" in wrong.stderr and "Traceback" not in wrong.stderr
    right = pep(state, "support", "respond", "-", "--key", str(tmp_path / "other-keys" / "support-private.pem"),
                stdin=token + "\n")
    assert right.returncode == 0 and "development request" in right.stderr
    assert right.stdout.strip().startswith("AZSRSP1")

    # no key configured at all: a clear error, not a traceback
    bare = tmp_path / "bare"
    r = pep(bare, "-c", "Get-SupportSessionToken")
    assert r.returncode == 1 and "SupportKeyNotConfigured,Get-SupportSessionToken" in r.stderr
    assert "pep support keygen" in r.stderr


def test_the_elevation_lapses_and_closing_the_session_ends_it(tmp_path):
    """support.elevation_hours shortened to ~1.5 s (in-process runspace; the clock is the only thing faked)."""
    from powershell.pipeline import ListSink
    from session.environment import Environment
    from session.runspace import Runspace

    state = tmp_path / "state"
    assert pep(state, "support", "keygen").returncode == 0

    def make(hours: float) -> Runspace:
        env = Environment(state_dir=state, config={"support": {"elevation_hours": hours}})
        return Runspace(env, transcript=False)

    def call(rs: Runspace, text: str) -> ListSink:
        sink = ListSink()
        rs.invoke(text, sink)
        return sink

    rs = make(1.5 / 3600)
    token = call(rs, "Get-SupportSessionToken").outputs[0]
    assert not call(rs, f"Unlock-SupportSession {respond(state, token)}").errors
    assert call(rs, "Get-SupportSessionInfo").outputs[0].State == "Elevated"
    assert not call(rs, "Get-AzsSupportCollectionLock").errors
    time.sleep(2)
    assert [e.FullyQualifiedErrorId for e in call(rs, "Get-AzsSupportCollectionLock").errors] == [
        "CommandNotFoundException"]
    assert call(rs, "Get-SupportSessionInfo").outputs[0].State == "ElevationEnded"
    assert not {c.name for c in rs.visible_commands()} & set(ELEVATED)

    rs = make(8)
    token = call(rs, "Get-SupportSessionToken").outputs[0]
    assert not call(rs, f"Unlock-SupportSession {respond(state, token)}").errors
    assert rs.resolve_command("Get-AzsSupportFault") is not None
    rs.close()
    assert rs.resolve_command("Get-AzsSupportFault") is None


pexpect = pytest.importorskip("pexpect")
FRESH_PROMPT = re.compile(r"\[azs-ercs01\]: PS>\x1b\[")


def test_console_prompts_for_the_response_token(tmp_path):
    state = tmp_path / "state"
    assert pep(state, "support", "keygen").returncode == 0
    env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", PYTHONPATH=str(ROOT))
    env.pop("PEP_CONFIG", None)
    child = pexpect.spawn(sys.executable, ["-m", "pep", "--state-dir", str(state)], cwd=str(ROOT), env=env,
                          encoding="utf-8", dimensions=(40, 4000), timeout=30)
    try:
        child.expect(FRESH_PROMPT)
        child.sendline("Get-SupportSessionToken")
        child.expect(r"AZSREQ1[A-Za-z0-9_-]+")
        token = child.after
        child.expect(FRESH_PROMPT)
        response = respond(state, token)
        child.sendline("Unlock-SupportSession")
        child.expect_exact("cmdlet Unlock-SupportSession at command pipeline position 1")
        child.expect_exact("Supply values for the following parameters:")
        child.expect_exact("ResponseToken: ")
        child.sendline(response)
        child.expect_exact("unlocked until")
        child.expect(FRESH_PROMPT)
        child.sendline("Get-AzsSupportInfrastructureHost")
        child.expect_exact("azs-node04")
        child.expect(FRESH_PROMPT)
        assert "Traceback" not in child.before
    finally:
        child.terminate(force=True)
    # the answer typed at the prompt is a secret like any other: not in the transcript
    text = "".join(p.read_text(errors="replace") for p in (state / "transcripts").glob("*"))
    assert "Unlock-SupportSession" in text and response[7:40] not in text and token[7:40] not in text
