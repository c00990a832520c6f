"""Attack tests: malformed WS-Management fields and DTDs answer WS-Man faults, never "Internal error".

Raw SOAP over HTTPS with Basic (no message encryption to build) against a real listener, next to a
runspace pool opened by pypsrp whose shell the malformed requests aim at; plus the sans-IO parser
fuzzed with hypothesis.
"""
from __future__ import annotations

import logging
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
import requests
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypsrp.powershell import PowerShell, RunspacePool
from test_listener_support import PASSWORD, USER, start_listener
from test_listener_support import wsman as client_wsman

from session.listener import wsman

CONFIG = "PrivilegedEndpoint"
RESOURCE = "http://schemas.microsoft.com/powershell/" + CONFIG
SHELL_NS = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
F_NS = "{http://schemas.microsoft.com/wbem/wsman/1/wsmanfault}"
S_NS = "{http://www.w3.org/2003/05/soap-envelope}"


def envelope(action: str, body: str, shell_id: str | None = None, timeout: str = "PT20S", extra: str = "") -> str:
    selectors = (f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
                 if shell_id else "")
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
        f'xmlns:rsp="{SHELL_NS}" xmlns:p="http://schemas.microsoft.com/powershell">'
        f"<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
        f"<w:ResourceURI>{RESOURCE}</w:ResourceURI><w:MaxEnvelopeSize>153600</w:MaxEnvelopeSize>"
        f"<w:OperationTimeout>{timeout}</w:OperationTimeout>{selectors}{extra}</s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    )


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body>&lol9;</s:Body></s:Envelope>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body>&xxe;</s:Body></s:Envelope>'
)


@pytest.fixture(scope="module")
def listener(tmp_path_factory):
    lt = start_listener(tmp_path_factory.mktemp("sec-wsman"), https=True)
    yield lt
    lt.stop()


@pytest.fixture()
def pool(listener):
    p = RunspacePool(client_wsman(listener.port, "basic", True), configuration_name=CONFIG)
    p.open()
    yield p
    p.close()


def post(listener, data: str | bytes) -> requests.Response:
    urllib3.disable_warnings()
    return requests.post(f"https://127.0.0.1:{listener.port}/wsman", data=data if isinstance(data, bytes) else data.encode(),
                         auth=(USER, PASSWORD), verify=False, timeout=60,
                         headers={"Content-Type": "application/soap+xml;charset=UTF-8"})


def fault_of(r: requests.Response) -> tuple[int, str, str]:
    """(WSManFault code, subcode, message) of a fault answer."""
    assert r.status_code == 500, (r.status_code, r.text[:500])
    root = ET.fromstring(r.content)
    detail = root.find(f".//{F_NS}WSManFault")
    subcode = root.find(f".//{S_NS}Subcode/{S_NS}Value").text
    message = detail.find(f"{F_NS}Message").text
    assert "Internal error" not in message
    return int(detail.get("Code")), subcode, message


@pytest.fixture()
def no_tracebacks(caplog, listener):
    caplog.set_level(logging.DEBUG)
    yield
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert "Traceback" not in caplog.text
    assert not (listener.listener.env.state.path / "logs" / "internal-errors.log").exists()


def test_malformed_fields_aimed_at_a_live_shell_are_faults(listener, pool, no_tracebacks):
    sid = pool.shell.id
    good_cid = str(uuid.uuid4()).upper()
    cases = [
        # Command: a CommandId that is not a GUID; Arguments that are not base64
        (envelope(wsman.ACTION_COMMAND, '<rsp:CommandLine CommandId="not-a-guid"><rsp:Command/></rsp:CommandLine>', sid),
         wsman.E_SCHEMA_VALIDATION, "w:SchemaValidationError"),
        (envelope(wsman.ACTION_COMMAND, f'<rsp:CommandLine CommandId="{good_cid}"><rsp:Command/>'
                                         f"<rsp:Arguments>@@not base64@@</rsp:Arguments></rsp:CommandLine>", sid),
         wsman.E_SCHEMA_VALIDATION, "w:SchemaValidationError"),
        # Send: a stream's CommandId that is not a GUID; a stream that is not base64
        (envelope(wsman.ACTION_SEND, '<rsp:Send><rsp:Stream Name="stdin" CommandId="zzz">AAAA</rsp:Stream></rsp:Send>', sid),
         wsman.E_SCHEMA_VALIDATION, "w:SchemaValidationError"),
        (envelope(wsman.ACTION_SEND, '<rsp:Send><rsp:Stream Name="stdin">AAA</rsp:Stream></rsp:Send>', sid),
         wsman.E_SCHEMA_VALIDATION, "w:SchemaValidationError"),
        # Receive: an OperationTimeout that is not an xs:duration
        (envelope(wsman.ACTION_RECEIVE, '<rsp:Receive><rsp:DesiredStream>stdout</rsp:DesiredStream></rsp:Receive>', sid,
                  timeout="PT1.2.3S"),
         wsman.E_INVALID_TIMEOUT_HEADER, "w:InvalidHeader"),
        # a ShellId selector that is not a GUID
        (envelope(wsman.ACTION_RECEIVE, '<rsp:Receive><rsp:DesiredStream>stdout</rsp:DesiredStream></rsp:Receive>',
                  "not-a-guid"),
         wsman.E_INVALID_SELECTORS, "w:InvalidSelectors"),
        # Create: creationXml that is not base64; a ShellId that is not a GUID
        (envelope(wsman.ACTION_CREATE, '<rsp:Shell><rsp:InputStreams>stdin pr</rsp:InputStreams>'
                                        "<p:creationXml>%%%</p:creationXml></rsp:Shell>"),
         wsman.E_SCHEMA_VALIDATION, "w:SchemaValidationError"),
        (envelope(wsman.ACTION_CREATE, '<rsp:Shell ShellId="../../etc"><rsp:InputStreams>stdin pr</rsp:InputStreams>'
                                        "<p:creationXml>AAAA</p:creationXml></rsp:Shell>"),
         wsman.E_SCHEMA_VALIDATION, "w:SchemaValidationError"),
    ]
    for body, code, subcode in cases:
        got = fault_of(post(listener, body))
        assert got[:2] == (code, subcode), (body, got)
    # the shell is untouched by all of that: a command still runs
    ps = PowerShell(pool)
    ps.add_cmdlet("Test-AzureStack")
    assert ps.invoke() in ([True], [False])


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_a_dtd_is_refused_before_any_entity_is_expanded(listener, body, no_tracebacks):
    started = time.monotonic()
    r = post(listener, body)
    assert time.monotonic() - started < 5
    code, subcode, message = fault_of(r)
    assert (code, subcode) == (wsman.E_INVALID_BODY, "w:SchemaValidationError")
    assert "DTD" in message
    assert "lollol" not in r.text and "root:" not in r.text


@pytest.mark.parametrize("body", [
    b"\xff\xfe<\x00x",
    b'<?xml version="1.0" encoding="no-such-encoding"?><a/>',
    b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body/></s:Envelope>",
    b"<s:Envelope><s:Header/></s:Envelope>",
    b"<a>&undefined;</a>",
])
def test_garbage_bodies_are_faults(listener, body, no_tracebacks):
    _code, subcode, _message = fault_of(post(listener, body))
    assert subcode == "w:SchemaValidationError"


# -- sans-IO ---------------------------------------------------------------------------------------

def test_doctype_in_any_encoding_is_refused():
    for text in (BILLION_LAUGHS, EXTERNAL_ENTITY):
        for data in (text.encode("utf-8"), text.replace('<?xml version="1.0"?>', "").encode("utf-16")):
            with pytest.raises(wsman.WSManFault) as e:
                wsman.parse_request(data)
            assert "DTD" in e.value.message


def test_parse_request_still_reads_a_good_envelope():
    sid = str(uuid.uuid4())
    r = wsman.parse_request(envelope(wsman.ACTION_RECEIVE, "<rsp:Receive/>", sid, timeout="P0DT0H1M2.5S").encode())
    assert r.shell_id == sid.upper() and r.operation_timeout == 62.5
    assert r.body.tag == f"{{{SHELL_NS}}}Receive"


@pytest.mark.parametrize("text", ["PT1.2.3S", "PT", "P", "PT-5S", "PTS", "1S", "PT1e400S", "PT" + "9" * 5000 + "S"])
def test_malformed_timeouts_are_a_header_fault(text):
    with pytest.raises(wsman.WSManFault) as e:
        wsman.parse_request(envelope(wsman.ACTION_RECEIVE, "<rsp:Receive/>", timeout=text).encode())
    assert e.value.code == wsman.E_INVALID_TIMEOUT_HEADER


_TEMPLATE = envelope(wsman.ACTION_SEND, '<rsp:Send><rsp:Stream Name="stdin" CommandId="C">AAAA</rsp:Stream></rsp:Send>',
                     "S").encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=300),
    st.tuples(st.integers(0, len(_TEMPLATE)), st.integers(0, 40), st.binary(max_size=20)).map(
        lambda t: _TEMPLATE[:t[0]] + t[2] + _TEMPLATE[t[0] + t[1]:]),
))
def test_parse_request_only_ever_raises_a_fault(data):
    try:
        wsman.parse_request(data)
    except wsman.WSManFault:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_guid_and_base64_fields_only_ever_raise_a_fault(guid_text, b64_text):
    for fn, arg in ((wsman.parse_guid, guid_text), (wsman.decode_base64, b64_text)):
        try:
            fn(arg, "X")
        except wsman.WSManFault as e:
            assert e.subcode == "w:SchemaValidationError"
