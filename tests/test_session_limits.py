"""Issue 10, Limits: concurrent sessions per user and in all, and the idle timeout, on the PSRP
listener (a real pypsrp client against `pep serve` and a listener thread) and on the Help + Support
page's cookie sessions (a browser-like client over real HTTP). docs/accounts.md, Session limits."""
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
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.serializer import TaggedValue
from test_listener_support import PASSWORD, USER, wsman

from common.inuse import in_use
from session.environment import Environment
from session.listener.server import ListenerThread
from session.portal.service import PortalThread

ROOT = Path(__file__).resolve().parents[1]
OPERATOR, OPERATOR_PW = "Operator2", "N3w-Operator!pw"


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    return small_stamp(tmp_path_factory.mktemp("limits") / "stamp", days=0.1, mb_per_hour=0.1)


def pool(port: int, user: str = USER, password: str = PASSWORD) -> RunspacePool:
    p = RunspacePool(wsman(port, "ntlm", False, user=user, password=password), configuration_name="PrivilegedEndpoint")
    p.open()
    p.exchange_keys()  # for SecureString values
    return p


def run(p: RunspacePool, cmdlet: str, **params) -> PowerShell:
    ps = PowerShell(p)
    ps.add_cmdlet(cmdlet)
    for name, value in params.items():
        ps.add_parameter(name, value)
    ps.invoke()
    return ps


def test_pep_serve_refuses_the_shell_over_the_per_user_limit_with_winrms_fault(tmp_path, stamp):
    cfg = tmp_path / "limits.json"
    cfg.write_text(json.dumps({"listener": {"max_shells_per_user": 2}}))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEP_ADMIN_PASSWORD": PASSWORD}
    proc = subprocess.Popen([sys.executable, "-m", "pep", "--stamp", str(stamp), "--state-dir", str(tmp_path / "state"),
                             "--config", str(cfg), "serve", "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    opened: list[RunspacePool] = []
    try:
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/wsman", proc.stdout.readline()).group(1))
        opened += [pool(port), pool(port)]
        with pytest.raises(WSManFaultError) as refused:
            pool(port, user="CloudAdmin@azurestack.local")  # another spelling is the same user
        fault = refused.value
        assert fault.code == 2150859173, fault.message
        assert ("This user is allowed a maximum number of 2 concurrent shells, which has been exceeded. Close "
                "existing shells or raise the quota for this user.") in str(fault.reason)
        # the sessions already open are not disturbed; closing one makes room
        assert run(opened[0], "Get-CloudAdminUserList").state == PSInvocationState.COMPLETED
        opened.pop().close()
        opened.append(pool(port))
    finally:
        for p in opened:
            p.close()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "shell refused: AZURESTACK\\CloudAdmin already has 2 shells" in err


def test_the_overall_limit_counts_every_user(tmp_path, stamp):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state",
                      config={"listener": {"max_shells": 2, "max_shells_per_user": 5}})
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)
    lt = ListenerThread(env, admin_password_file=str(pw)).start()
    opened: list[RunspacePool] = []
    try:
        opened.append(pool(lt.port))
        ps = run(opened[0], "New-CloudAdminUser", UserName=OPERATOR, Password=TaggedValue("SS", OPERATOR_PW))
        assert not ps.had_errors, [str(e) for e in ps.streams.error]
        opened.append(pool(lt.port, OPERATOR, OPERATOR_PW))
        with pytest.raises(WSManFaultError) as refused:
            pool(lt.port, OPERATOR, OPERATOR_PW)
        assert refused.value.code == 2150859173 and "(2) has been exceeded" in str(refused.value.reason)
    finally:
        for p in opened:
            p.close()
        lt.stop()


def test_an_idle_shell_is_closed_and_its_transcript_kept_pending(tmp_path, stamp):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state", config={"listener": {"idle_timeout_seconds": 1.5}})
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)
    lt = ListenerThread(env, admin_password_file=str(pw)).start()
    try:
        p = pool(lt.port)
        assert run(p, "Get-CloudAdminUserList").state == PSInvocationState.COMPLETED
        (transcript,) = env.state.transcripts.glob("*.txt")
        assert in_use(transcript)
        deadline = time.monotonic() + 15
        while lt.listener.table.shells and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not lt.listener.table.shells, "the idle shell was not closed"
        while in_use(transcript) and time.monotonic() < deadline:
            time.sleep(0.1)
        text = transcript.read_text()
        assert "Get-CloudAdminUserList" in text and "Windows PowerShell transcript end" in text
        assert not in_use(transcript) and transcript.exists()  # pending: the next Close-PrivilegedEndpoint ships it
        with pytest.raises(WSManFaultError):  # the client learns its shell is gone
            run(p, "Get-CloudAdminUserList")
    finally:
        lt.stop()


def signed_in(url: str, user: str = USER, password: str = PASSWORD) -> requests.Session:
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(url + "signin").text).group(1)
    r = s.post(url + "signin", data={"csrf_token": token, "user": user, "password": password}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/"
    return s


def on_page(s: requests.Session, url: str) -> bool:
    return s.get(url, allow_redirects=False).status_code == 200


def test_the_pages_sessions_per_user_and_idle(tmp_path, stamp):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state",
                      config={"portal": {"max_sessions_per_user": 2, "session_idle_minutes": 0.05}})
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)
    p = PortalThread(env, admin_password_file=str(pw), services=[]).start()
    try:
        first, second = signed_in(p.url), signed_in(p.url)
        assert on_page(first, p.url) and on_page(second, p.url)
        third = signed_in(p.url)  # over the limit: the oldest session of this user ends, the new one works
        assert on_page(third, p.url) and on_page(second, p.url) and not on_page(first, p.url)
        time.sleep(3.5)  # idle for longer than portal.session_idle_minutes (3 s)
        assert not on_page(third, p.url)
    finally:
        p.stop()


def test_a_removed_users_page_session_ends(tmp_path, stamp):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state")
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)
    p = PortalThread(env, admin_password_file=str(pw), services=[]).start()
    try:
        env.accounts.create(OPERATOR, OPERATOR_PW, by=USER)
        s = signed_in(p.url, OPERATOR, OPERATOR_PW)
        assert on_page(s, p.url)
        env.accounts.remove(OPERATOR, by=USER)
        assert not on_page(s, p.url)
    finally:
        p.stop()


def test_a_removed_user_keeps_its_open_shell_but_opens_no_new_one(tmp_path, stamp):
    """A connection that signed in before its user was removed cannot open another shell on it
    (Access is denied); the shell it has runs on until it ends, as a Windows logon does."""
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state")
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)
    lt = ListenerThread(env, admin_password_file=str(pw)).start()
    try:
        env.accounts.create(OPERATOR, OPERATOR_PW, by=USER)
        connection = wsman(lt.port, "ntlm", False, user=OPERATOR, password=OPERATOR_PW)
        mine = RunspacePool(connection, configuration_name="PrivilegedEndpoint")
        mine.open()
        env.accounts.remove(OPERATOR, by=USER)
        with pytest.raises(WSManFaultError) as refused:
            RunspacePool(connection, configuration_name="PrivilegedEndpoint").open()  # same signed-in connection
        assert refused.value.code == 5 and "Access is denied" in str(refused.value.reason)
        assert run(mine, "Get-CloudAdminUserList").state == PSInvocationState.COMPLETED
        mine.close()
    finally:
        lt.stop()
