"""Sans-IO parts of the listener: WS-Man parsing/faults and the CloudAdmin account store."""
from __future__ import annotations

import os
import stat

import pytest

from common.state import StateDir
from session.accounts import AccountError, Accounts
from session.listener import wsman

REQUEST = b"""<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
 xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"
 xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
 xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">
<s:Header><wsa:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive</wsa:Action>
<wsman:MaxEnvelopeSize>512000</wsman:MaxEnvelopeSize><wsa:MessageID>uuid:ABC</wsa:MessageID>
<wsman:OperationTimeout>PT20.500S</wsman:OperationTimeout>
<wsman:ResourceURI>http://schemas.microsoft.com/powershell/PrivilegedEndpoint</wsman:ResourceURI>
<wsman:SelectorSet><wsman:Selector Name="ShellId">5d1e-aa</wsman:Selector></wsman:SelectorSet>
</s:Header><s:Body><rsp:Receive><rsp:DesiredStream CommandId="X">stdout</rsp:DesiredStream></rsp:Receive></s:Body>
</s:Envelope>"""


def test_parse_request_fields():
    r = wsman.parse_request(REQUEST)
    assert r.action.endswith("/Receive")
    assert r.message_id == "uuid:ABC"
    assert r.max_envelope_size == 512000
    assert r.operation_timeout == 20.5
    assert r.shell_id == "5D1E-AA"  # selectors are matched case-insensitively
    assert r.body.tag.endswith("Receive")


@pytest.mark.parametrize("text,seconds", [("PT20S", 20), ("PT60.000S", 60), ("P0DT1H2M3S", 3723), ("junk", 7)])
def test_durations(text, seconds):
    assert wsman.parse_duration(text, 7) == seconds


def test_malformed_xml_is_a_fault_not_a_traceback():
    with pytest.raises(wsman.WSManFault) as e:
        wsman.parse_request(b"<not xml")
    assert e.value.code == wsman.E_INVALID_BODY


def test_fault_envelope_echoes_message_id_and_code():
    r = wsman.parse_request(REQUEST)
    body = wsman.fault_envelope(r, wsman.timed_out(), "azs-ercs01").decode()
    assert "<a:RelatesTo>uuid:ABC</a:RelatesTo>" in body
    assert 'Code="2150858793"' in body and "w:TimedOut" in body


def test_receive_response_marks_done():
    r = wsman.parse_request(REQUEST)
    body = wsman.receive_response(r, [("stdout", "X", "QUJD")], "X", True).decode()
    assert '<rsp:Stream Name="stdout" CommandId="X">QUJD</rsp:Stream>' in body
    assert "CommandState/Done" in body and "<rsp:ExitCode>0</rsp:ExitCode>" in body


def test_accounts_store_hashes_privately_and_accepts_every_name_form(tmp_path, monkeypatch):
    monkeypatch.delenv("PEP_ADMIN_PASSWORD", raising=False)
    acc = Accounts(StateDir(tmp_path), "azurestack.local")
    generated = acc.ensure_admin()
    assert generated and len(generated) >= 16
    assert acc.ensure_admin() is None  # printed once only
    for path in (acc.path, acc.ntlm_file):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert generated not in acc.path.read_text() and generated not in acc.ntlm_file.read_text()
    for user in ("CloudAdmin", "AZURESTACK\\CloudAdmin", "cloudadmin@AzureStack.Local"):
        assert acc.verify(user, generated) == "AZURESTACK\\CloudAdmin"
    assert acc.verify("CloudAdmin", "wrong") is None
    assert acc.verify("OTHER\\CloudAdmin", generated) is None
    lines = acc.ntlm_file.read_text().splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["CloudAdmin", "AZURESTACK\\CloudAdmin", "CloudAdmin@azurestack.local"]


def test_admin_password_from_file_or_environment(tmp_path, monkeypatch):
    pw = tmp_path / "pw"
    pw.write_text("From-File-1\n")
    acc = Accounts(StateDir(tmp_path / "a"))
    assert acc.ensure_admin(pw) is None
    assert acc.verify("CloudAdmin", "From-File-1")
    monkeypatch.setenv("PEP_ADMIN_PASSWORD", "From-Env-2")
    acc2 = Accounts(StateDir(tmp_path / "b"))
    assert acc2.ensure_admin() is None and acc2.verify("CloudAdmin", "From-Env-2")
    with pytest.raises(AccountError):
        acc.ensure_admin(tmp_path / "missing")
