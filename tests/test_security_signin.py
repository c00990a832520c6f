"""Attack tests for sign-in at `pep serve`: each plays the attacker and must keep failing.

A forged NTLM client (tests/ntlm_forger.py) answers the challenge without the password: LM-only
from a zero LM hash, or extended session security with an empty NT answer. The listener accepts
NTLMv2 only, so both are refused, on HTTP and HTTPS, under the NTLM and Negotiate schemes.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from ntlm_forger import SOAP, forged_sign_in
from test_listener_support import start_listener

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")


@pytest.fixture(scope="module")
def listeners(tmp_path_factory):
    http = start_listener(tmp_path_factory.mktemp("forge-http"))
    https = start_listener(tmp_path_factory.mktemp("forge-https"), https=True)
    yield {"http": http, "https": https}
    http.stop()
    https.stop()


@pytest.mark.parametrize("transport", ["http", "https"])
@pytest.mark.parametrize("scheme", ["NTLM", "Negotiate"])
@pytest.mark.parametrize("variant", ["lm", "ess"])
def test_forged_ntlm_answer_without_the_password_is_refused(listeners, transport, scheme, variant):
    lt = listeners[transport]
    url = f"{transport}://127.0.0.1:{lt.port}/wsman"
    session, answer = forged_sign_in(url, variant, scheme)
    assert answer.status_code == 401, f"forged {variant} answer accepted over {transport}/{scheme}"
    # The connection did not become signed in: a plain request on it is still challenged.
    follow = session.post(url, data=b"<s:Envelope/>", headers={"Content-Type": SOAP}, verify=False, timeout=10)
    assert follow.status_code == 401


# -- guessing ----------------------------------------------------------------------------------
def _listener(tmp_path, https=True, **config):
    from test_listener_support import PASSWORD

    from session.environment import Environment
    from session.listener.server import ListenerThread

    env = Environment(state_dir=tmp_path / "state", config=config)
    pw = tmp_path / "admin-password"
    pw.write_text(PASSWORD + "\n")
    return ListenerThread(env, admin_password_file=str(pw), https=https).start()


def _basic(port, user, password):
    return requests.post(f"https://127.0.0.1:{port}/wsman", data=b"", auth=(user, password), verify=False, timeout=30)


def test_guessing_locks_the_account_and_locked_unknown_and_wrong_answer_alike(tmp_path, caplog):
    from test_listener_support import PASSWORD, USER

    caplog.set_level("WARNING", logger="pep.signin")
    lt = _listener(tmp_path, signin={"lockout_threshold": 3, "lockout_minutes": 0.05, "failure_delay_seconds": 0})
    try:
        assert _basic(lt.port, USER, PASSWORD).status_code == 200
        answers = [_basic(lt.port, USER, f"guess{i}") for i in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 401]
        # Locked: the right password is refused with the very same answer as a wrong one or an unknown user.
        locked = _basic(lt.port, USER, PASSWORD)
        unknown = _basic(lt.port, "AZURESTACK\\Nobody", "whatever")
        for r in (locked, unknown):
            assert r.status_code == 401
            assert r.headers.get("WWW-Authenticate") == answers[0].headers.get("WWW-Authenticate")
            assert r.content == answers[0].content
        # NTLM is locked too (one rule for every method).
        from pypsrp.exceptions import AuthenticationError
        from pypsrp.powershell import RunspacePool
        from test_listener_support import wsman

        with pytest.raises(AuthenticationError):
            with RunspacePool(wsman(lt.port, "ntlm", True), configuration_name="PrivilegedEndpoint"):
                pass
        time.sleep(3.2)  # lockout_minutes 0.05 = 3 s
        assert _basic(lt.port, USER, PASSWORD).status_code == 200
    finally:
        lt.stop()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "pep.signin")
    assert logged.count("sign-in refused") >= 5
    assert "locked for" in logged and "CloudAdmin" in logged
    assert PASSWORD not in logged and "guess0" not in logged


def test_ntlm_guessing_locks_the_account(tmp_path):
    from pypsrp.exceptions import AuthenticationError
    from pypsrp.powershell import RunspacePool
    from test_listener_support import wsman

    lt = _listener(tmp_path, https=False, signin={"lockout_threshold": 2, "failure_delay_seconds": 0})
    try:
        for guess in ("a", "b"):
            with pytest.raises(AuthenticationError):
                with RunspacePool(wsman(lt.port, "negotiate", False, password=guess), configuration_name="PrivilegedEndpoint"):
                    pass
        with pytest.raises(AuthenticationError):  # locked: the right password no longer opens it
            with RunspacePool(wsman(lt.port, "negotiate", False), configuration_name="PrivilegedEndpoint"):
                pass
    finally:
        lt.stop()


def test_a_failed_sign_in_is_answered_late_without_holding_up_anyone(tmp_path):
    from test_listener_support import USER

    lt = _listener(tmp_path, signin={"lockout_threshold": 1000, "failure_delay_seconds": 1.0},
                   listener={"max_connections_per_client": 64})
    try:
        start = time.monotonic()
        assert _basic(lt.port, USER, "wrong").status_code == 401
        assert time.monotonic() - start >= 1.0
        # 48 parallel wrong guesses (each a full scrypt, about 40 ms) do not stall an unrelated request:
    # on the event loop they held it for about 2 s; the bound leaves room for a loaded machine.
        with ThreadPoolExecutor(48) as pool:
            guesses = [pool.submit(_basic, lt.port, USER, f"g{i}") for i in range(48)]
            time.sleep(0.3)
            start = time.monotonic()
            r = requests.post(f"https://127.0.0.1:{lt.port}/wsman", data=b"", verify=False, timeout=30)
            unrelated = time.monotonic() - start
            assert all(g.result().status_code == 401 for g in guesses)
        assert r.status_code == 401 and unrelated < 1.0, f"an unrelated request took {unrelated:.2f} s"
    finally:
        lt.stop()


def test_unknown_and_known_users_cost_the_same(tmp_path):
    from test_listener_support import USER

    lt = _listener(tmp_path, signin={"lockout_threshold": 1000, "failure_delay_seconds": 0})

    def cost(user, i):
        start = time.monotonic()
        assert _basic(lt.port, user, f"wrong{i}").status_code == 401
        return time.monotonic() - start

    # alternate the two users, so a load that comes and goes (other processes) weighs on both alike
    known_times, unknown_times = [], []
    try:
        for i in range(9):
            known_times.append(cost(USER, i))
            unknown_times.append(cost("AZURESTACK\\NoSuchUser", i))
    finally:
        lt.stop()
    known, unknown = sorted(known_times)[4], sorted(unknown_times)[4]
    assert 0.5 < unknown / known < 2.0, f"known {known * 1000:.0f} ms, unknown {unknown * 1000:.0f} ms"


def test_pep_serve_logs_failures_without_secrets(tmp_path):
    """The real command line: failed sign-ins land in <state>/logs/pep-serve.log, no password in it."""
    import os
    import re
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from pypsrp.exceptions import AuthenticationError
    from pypsrp.powershell import RunspacePool
    from test_listener_support import PASSWORD, wsman

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "PEP_ADMIN_PASSWORD": PASSWORD}
    proc = subprocess.Popen([sys.executable, "-m", "pep", "serve", "--state-dir", str(tmp_path), "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=root)
    try:
        port = int(re.search(r":(\d+)/wsman", proc.stdout.readline()).group(1))
        with pytest.raises(AuthenticationError):
            with RunspacePool(wsman(port, "ntlm", False, password="Secret-Guess-1"), configuration_name="PrivilegedEndpoint"):
                pass
        _, answer = forged_sign_in(f"http://127.0.0.1:{port}/wsman", "lm", "NTLM")
        assert answer.status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    log = (tmp_path / "logs" / "pep-serve.log").read_text()
    assert log.count("sign-in refused") == 2 and "not NTLMv2" in log
    assert "Secret-Guess-1" not in log + stderr and PASSWORD not in log + stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("args, code, message", [
    (["--auth", "basic"], 2, "Basic authentication needs HTTPS"),
    (["--auth", "kerberos"], 2, "Unknown authentication method"),
])
def test_pep_serve_refuses_a_listener_nobody_can_sign_in_to(tmp_path, args, code, message):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "pep", "serve", "--state-dir", str(tmp_path), "--listen", "127.0.0.1:0", *args],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)}, cwd=root, timeout=60)
    assert r.returncode == code and message in r.stderr and "Traceback" not in r.stderr
    assert "Listening on" not in r.stdout
