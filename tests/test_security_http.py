"""Attack tests for the HTTP front of `pep serve`: bodies, connections and time.

Nothing is read from a body before its sender has signed in, no body is read past MaxEnvelopeSize,
one address holds a bounded number of connections, and a connection that does not sign in soon
is closed. Each test plays the attacker on loopback and must keep failing.
"""
from __future__ import annotations

import base64
import socket
import ssl
import time

import pytest
import requests
from pypsrp.powershell import PowerShell, RunspacePool
from test_listener_support import PASSWORD, USER, wsman

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")


def _listener(tmp_path, https=False, **config):
    from session.environment import Environment
    from session.listener.server import ListenerThread

    env = Environment(state_dir=tmp_path / "state", config=config)
    pw = tmp_path / "admin-password"
    pw.write_text(PASSWORD + "\n")
    return ListenerThread(env, admin_password_file=str(pw), https=https).start()


@pytest.fixture(scope="module")
def http_listener(tmp_path_factory):
    lt = _listener(tmp_path_factory.mktemp("limits-http"),
                   listener={"max_connections_per_client": 4, "sign_in_timeout_seconds": 1.0})
    yield lt
    lt.stop()


@pytest.fixture(scope="module")
def https_listener(tmp_path_factory):
    lt = _listener(tmp_path_factory.mktemp("limits-https"), https=True)
    yield lt
    lt.stop()


def _connect(port: int, tls: bool = False) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        sock = ctx.wrap_socket(sock)
    return sock


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except TimeoutError:
        return False
    except (ConnectionResetError, ssl.SSLError):
        return True


def test_a_body_is_not_read_before_sign_in(http_listener):
    """An 8 MB body announced without credentials is answered 401 at once: the server does not
    wait for (or read) it, and does not keep the connection to drain it."""
    sock = _connect(http_listener.port)
    sock.sendall(b"POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\n"
                 b"Content-Length: 8000000\r\n\r\n" + b"A" * 1000)
    start = time.monotonic()
    head = _read_response(sock)
    assert head.startswith(b"HTTP/1.1 401"), head[:80]
    assert time.monotonic() - start < 3
    assert _closed_within(sock, 5)


def test_a_body_over_the_envelope_size_gets_the_wsman_fault(https_listener):
    auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    r = requests.post(f"https://127.0.0.1:{https_listener.port}/wsman", data=b"<x>" + b"A" * 600_000 + b"</x>",
                      headers={"Authorization": auth, "Content-Type": "application/soap+xml;charset=UTF-8"},
                      verify=False, timeout=30)
    assert r.status_code == 500
    assert b"w:EncodingLimit" in r.content and b"MaxEnvelopeSize" in r.content
    assert r.headers.get("Connection", "").lower() == "close"


def test_a_chunked_body_over_the_envelope_size_is_cut_off(https_listener):
    auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def chunks():
        for _ in range(100):  # 6.4 MB offered; the server stops reading past 500 KB
            yield b"A" * 65536

    r = requests.post(f"https://127.0.0.1:{https_listener.port}/wsman", data=chunks(),
                      headers={"Authorization": auth, "Content-Type": "application/soap+xml;charset=UTF-8"},
                      verify=False, timeout=30)
    assert r.status_code == 500 and b"w:EncodingLimit" in r.content


def test_one_address_holds_a_bounded_number_of_connections(http_listener):
    held = [_connect(http_listener.port) for _ in range(4)]
    try:
        extra = _connect(http_listener.port)
        assert _closed_within(extra, 3), "a fifth connection from one address was kept"
    finally:
        for s in held:
            s.close()
    time.sleep(0.2)
    again = _connect(http_listener.port)  # closing frees the slots
    again.sendall(b"POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert _read_response(again).startswith(b"HTTP/1.1 401")
    again.close()


def test_a_connection_that_does_not_sign_in_is_closed(http_listener):
    slow = _connect(http_listener.port)
    slow.sendall(b"POST /wsman HTTP/1.1\r\nHost: x\r\n")  # headers that never end
    refused = _connect(http_listener.port)
    refused.sendall(b"POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert _read_response(refused).startswith(b"HTTP/1.1 401")  # kept alive after the 401 ...
    assert _closed_within(slow, 3)
    assert _closed_within(refused, 3)  # ... but not past the sign-in timeout


def test_a_signed_in_session_outlives_the_sign_in_timeout(http_listener):
    with RunspacePool(wsman(http_listener.port, "ntlm", False), configuration_name="PrivilegedEndpoint") as pool:
        time.sleep(1.5)
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Command").add_parameter("Name", "Get-AzureStackLog")
        assert len(ps.invoke()) == 1
