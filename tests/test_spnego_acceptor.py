"""The pyspnego adapter (session/spnego_acceptor.py) against the pinned pyspnego.

It relies on private parts of the library: the user-file lookup it reroutes, and the NTLM message
structures it parses. If a new pyspnego changes them, these tests fail before a listener does.
"""
from __future__ import annotations

import os

import pytest
import spnego

from common.state import StateDir
from session import spnego_acceptor
from session.accounts import Accounts


def _store(tmp_path, name, password) -> Accounts:
    accounts = Accounts(StateDir(tmp_path / name), "azurestack.local")
    accounts.set_password("CloudAdmin", password)
    return accounts


def _handshake(acceptor_file, password: str, user: str = "AZURESTACK\\CloudAdmin") -> None:
    client = spnego.client(user, password, protocol="ntlm")
    server = spnego_acceptor.new_acceptor(acceptor_file)
    token = client.step()
    while not server.complete:
        answer = spnego_acceptor.step(server, token, acceptor_file)
        if server.complete:
            break
        token = client.step(answer)
    assert server.client_principal.lower().endswith("cloudadmin")


def test_each_acceptor_reads_its_own_user_file(tmp_path):
    a, b = _store(tmp_path, "a", "Pass-A-1"), _store(tmp_path, "b", "Pass-B-2")
    _handshake(a.ntlm_file, "Pass-A-1")
    _handshake(b.ntlm_file, "Pass-B-2")
    with pytest.raises(spnego.exceptions.SpnegoError):
        _handshake(a.ntlm_file, "Pass-B-2")
    assert os.environ.get("NTLM_USER_FILE") in (None, "")  # nothing set process-wide


def test_the_user_file_holds_no_lm_hash(tmp_path):
    a = _store(tmp_path, "a", "Pass-A-1")
    for line in a.ntlm_file.read_text().splitlines():
        name, uid, lm, nt, flags, lct = line.split(":")
        assert lm == "" and len(nt) == 32


def test_ntlmv2_only_whatever_the_environment_says(tmp_path, monkeypatch):
    from spnego._ntlm_raw.messages import Authenticate, NegotiateFlags

    spnego_acceptor.install()
    assert os.environ["LM_COMPAT_LEVEL"] == "5"
    monkeypatch.setenv("LM_COMPAT_LEVEL", "0")  # even if someone lowers it later
    lm_only = Authenticate(flags=NegotiateFlags.unicode | NegotiateFlags.ntlm, lm_challenge_response=b"\x01" * 24,
                           nt_challenge_response=b"", domain_name="AZURESTACK", username="CloudAdmin").pack()
    with pytest.raises(spnego_acceptor.RefusedToken) as e:
        spnego_acceptor.claimed_user(lm_only)
    assert e.value.user == "AZURESTACK\\CloudAdmin"
    v1 = Authenticate(flags=NegotiateFlags.unicode | NegotiateFlags.ntlm, lm_challenge_response=b"\x01" * 24,
                      nt_challenge_response=b"\x02" * 24, domain_name="AZURESTACK", username="CloudAdmin").pack()
    with pytest.raises(spnego_acceptor.RefusedToken):
        spnego_acceptor.step(spnego_acceptor.new_acceptor(tmp_path / "none"), v1, tmp_path / "none")
    assert os.environ["LM_COMPAT_LEVEL"] == "5"  # new_acceptor sets it again


def test_claimed_user_reads_raw_and_spnego_wrapped_messages(tmp_path):
    from spnego._spnego import NegTokenResp

    a = _store(tmp_path, "a", "Pass-A-1")
    client = spnego.client("AZURESTACK\\CloudAdmin", "Pass-A-1", protocol="ntlm")
    server = spnego_acceptor.new_acceptor(a.ntlm_file)
    negotiate = client.step()
    assert spnego_acceptor.claimed_user(negotiate) is None  # not an AUTHENTICATE message
    assert spnego_acceptor.claimed_user(b"garbage") is None
    authenticate = client.step(spnego_acceptor.step(server, negotiate, a.ntlm_file))
    assert spnego_acceptor.claimed_user(authenticate) == "AZURESTACK\\CloudAdmin"
    wrapped = NegTokenResp(response_token=authenticate).pack()
    assert spnego_acceptor.claimed_user(wrapped) == "AZURESTACK\\CloudAdmin"
    spnego_acceptor.step(server, authenticate, a.ntlm_file)
    assert server.complete
