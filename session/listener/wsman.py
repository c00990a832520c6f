"""WS-Management SOAP: parse a request envelope, build response envelopes and faults.

Sans-IO: bytes in, bytes out. Responses are built from small string templates (faster than a tree
and easy to compare with what a Windows host sends); every value placed in them is escaped.

Every malformed request is a WSManFault (never another exception, so the HTTP layer never answers
"Internal error"): XML that does not parse, a DTD (refused as soon as the parser meets
`<!DOCTYPE`, before any entity is declared or expanded, as WinRM refuses DTDs), a malformed
OperationTimeout, and, through the helpers below used by the shell handlers, bad base64 and
ShellId/CommandId values that are not GUIDs.
"""
from __future__ import annotations

import base64
import binascii
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsmv": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "wst": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "wsen": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "cfg": "http://schemas.microsoft.com/wbem/wsman/1/config",
    "pwsh": "http://schemas.microsoft.com/powershell",
}

ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_GET = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
ACTION_ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
ACTION_COMMAND = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
ACTION_RECEIVE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
ACTION_SEND = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send"
ACTION_SIGNAL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"

SIGNAL_TERMINATE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/Terminate"
SIGNAL_PS_CTRL_C = "powershell/signal/ctrl_c"
SIGNAL_CTRL_C = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c"
STATE_DONE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
STATE_RUNNING = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"

PS_URI_PREFIX = "http://schemas.microsoft.com/powershell/"
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
CONFIG_URI = "http://schemas.microsoft.com/wbem/wsman/1/config"

# WSManFault codes (winerror.h ERROR_WSMAN_*), which pypsrp reads from the Code attribute.
E_TIMED_OUT = 2150858793            # 0x80338029 OperationTimeout expired; clients retry Receive
E_RESOURCE_NOT_FOUND = 2150858752   # 0x80338000 unknown resource URI / configuration
E_INVALID_SELECTORS = 2150858843    # 0x8033805B unknown ShellId
E_ACTION_NOT_SUPPORTED = 2150858759  # 0x80338007
E_INVALID_BODY = 2150858799         # 0x8033802F malformed request
E_SCHEMA_VALIDATION = 2150858817    # 0x80338041 ERROR_WSMAN_SCHEMA_VALIDATION_ERROR: a field of the body is invalid
E_INVALID_TIMEOUT_HEADER = 2150858881  # 0x80338081 ERROR_WSMAN_INVALID_TIMEOUT_HEADER
E_ACCESS_DENIED = 5


class WSManFault(Exception):
    """A fault to answer with: HTTP 500 and an s:Fault whose WSManFault carries the code."""

    def __init__(self, code: int, message: str, subcode: str = "w:InternalError", soap_code: str = "s:Receiver"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.soap_code = soap_code


def timed_out() -> WSManFault:
    return WSManFault(
        E_TIMED_OUT,
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
        "w:TimedOut",
    )


@dataclass
class Request:
    action: str
    message_id: str
    resource_uri: str
    max_envelope_size: int
    operation_timeout: float
    selectors: dict[str, str] = field(default_factory=dict)  # lower-cased names
    options: dict[str, str] = field(default_factory=dict)
    body: ET.Element | None = None

    @property
    def shell_id(self) -> str | None:
        sid = self.selectors.get("shellid")
        return sid.upper() if sid else None


_DURATION = re.compile(r"P(?:(\d{1,9})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9}(?:\.\d{1,9})?)S)?)?",
                       re.ASCII)
MAX_OPERATION_TIMEOUT = 86400.0  # a day: longer waits are cut to it (no timer overflows)


def duration_seconds(text: str | None) -> float | None:
    """xs:duration as WS-Man uses it (PT20S, PT60.000S, P0DT1H2M3S) in seconds; None if malformed."""
    m = _DURATION.fullmatch((text or "").strip())
    if not m or not any(m.groups()):
        return None
    d, h, mi, s = m.groups()
    return min(int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0), MAX_OPERATION_TIMEOUT)


def parse_duration(text: str | None, default: float) -> float:
    """xs:duration in seconds, `default` when it is malformed."""
    seconds = duration_seconds(text)
    return default if seconds is None else seconds


def _xml_invalid(detail: str = "") -> WSManFault:
    return WSManFault(E_INVALID_BODY, "The WS-Management service cannot process the request because the XML is invalid."
                      + (f" {detail}" if detail else ""), "w:SchemaValidationError", "s:Sender")


def schema_fault(element: str) -> WSManFault:
    """What Windows answers for a body element or attribute whose value is not valid (MS-WSMV 3.1.4.1.31.3)."""
    return WSManFault(E_SCHEMA_VALIDATION,
                      f"The Windows Remote Shell cannot process the request. The SOAP packet contains an element "
                      f"{element} that is invalid. Retry the request with the correct XML element.",
                      "w:SchemaValidationError", "s:Sender")


class _DTDRefused(Exception):
    pass


def _refuse_dtd(*_: object) -> int:  # expat's handler signatures; it never returns
    raise _DTDRefused()


def _qname(name: str) -> str:
    return "{" + name if "}" in name else name  # expat's "uri}local" -> ElementTree's "{uri}local"


def parse_xml(data: bytes) -> ET.Element:
    """The request's element tree. A DTD is refused where it starts (no entity is ever declared, let
    alone expanded: no billion laughs, no external entities); anything that does not parse is
    refused too. Both as the XML-invalid fault."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.UnparsedEntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.buffer_text = True
    parser.StartElementHandler = lambda tag, attrs: builder.start(
        _qname(tag), {_qname(k): v for k, v in attrs.items()})
    parser.EndElementHandler = lambda tag: builder.end(_qname(tag))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
        return builder.close()
    except _DTDRefused:
        raise _xml_invalid("DTDs are not allowed.") from None
    except (expat.ExpatError, ValueError, LookupError, AssertionError, TypeError):
        raise _xml_invalid() from None


def decode_base64(text: str | None, element: str) -> bytes:
    """Strict base64 of a body element (whitespace allowed); anything else is a schema fault."""
    compact = "".join((text or "").split())
    try:
        return base64.b64decode(compact.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise schema_fault(element) from None


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)


def is_guid(text: str | None) -> bool:
    return text is not None and _GUID.fullmatch(text) is not None


def parse_guid(text: str | None, element: str) -> str:
    """A ShellId/CommandId given in a body: a GUID in its usual form, upper-cased; else a schema fault."""
    if not is_guid(text):
        raise schema_fault(element)
    return str(text).upper()


def parse_request(data: bytes) -> Request:
    root = parse_xml(data)
    header = root.find("s:Header", NS)
    body = root.find("s:Body", NS)
    if header is None:
        raise WSManFault(E_INVALID_BODY, "The WS-Management service cannot process the request: the SOAP header is missing.",
                         "w:SchemaValidationError", "s:Sender")

    def text(path: str, default: str = "") -> str:
        el = header.find(path, NS)
        return (el.text or "").strip() if el is not None and el.text else default

    selectors = {
        s.get("Name", "").lower(): (s.text or "").strip() for s in header.findall("wsman:SelectorSet/wsman:Selector", NS)
    }
    options = {o.get("Name", ""): (o.text or "").strip() for o in header.findall("wsman:OptionSet/wsman:Option", NS)}
    try:
        max_env = int(text("wsman:MaxEnvelopeSize", "153600")[:12])
    except ValueError:
        max_env = 153600
    timeout_text = text("wsman:OperationTimeout")
    timeout = duration_seconds(timeout_text) if timeout_text else 60.0
    if timeout is None:
        raise WSManFault(E_INVALID_TIMEOUT_HEADER,
                         "The WS-Management service cannot process the request because the OperationTimeout header "
                         "is not a valid xs:duration.", "w:InvalidHeader", "s:Sender")
    return Request(
        action=text("wsa:Action"),
        message_id=text("wsa:MessageID"),
        resource_uri=text("wsman:ResourceURI"),
        max_envelope_size=max(max_env, 8192),
        operation_timeout=timeout,
        selectors=selectors,
        options=options,
        body=body[0] if body is not None and len(body) else None,
    )


# -- responses ------------------------------------------------------------------------------

_ENVELOPE = (
    '<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
    'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" '
    'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">'
    "<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{mid}</a:MessageID>"
    "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
    "<a:RelatesTo>{relates}</a:RelatesTo>{extra_header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
)

# Bytes of a response that are not stream payload: used to size Receive answers.
ENVELOPE_OVERHEAD = 2048


def envelope(request: Request, body: str, action: str | None = None, extra_header: str = "") -> bytes:
    return _ENVELOPE.format(
        action=escape(action or request.action + "Response"),
        mid=str(uuid.uuid4()).upper(),
        relates=escape(request.message_id),
        extra_header=extra_header,
        body=body,
    ).encode("utf-8")


def fault_envelope(request: Request | None, fault: WSManFault, machine: str) -> bytes:
    body = (
        f"<s:Fault><s:Code><s:Value>{fault.soap_code}</s:Value><s:Subcode><s:Value>{fault.subcode}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{escape(fault.message)}</s:Text></s:Reason>'
        f'<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" '
        f'Code="{fault.code}" Machine={quoteattr(machine)}><f:Message>{escape(fault.message)}</f:Message>'
        f"</f:WSManFault></s:Detail></s:Fault>"
    )
    if request is None:
        request = Request("", "", "", 0, 0)
    return envelope(request, body, action="http://schemas.dmtf.org/wbem/wsman/1/wsman/fault")


def shell_xml(shell_id: str, resource_uri: str, owner: str, client_ip: str, idle_timeout: float,
              run_time: float, inactivity: float, state: str = "Connected", element: str = "rsp:Shell") -> str:
    return (
        f"<{element}><rsp:ShellId>{escape(shell_id)}</rsp:ShellId><rsp:ResourceUri>{escape(resource_uri)}</rsp:ResourceUri>"
        f"<rsp:Owner>{escape(owner)}</rsp:Owner><rsp:ClientIP>{escape(client_ip)}</rsp:ClientIP>"
        f"<rsp:ProcessId>{0}</rsp:ProcessId><rsp:IdleTimeOut>PT{idle_timeout:.3f}S</rsp:IdleTimeOut>"
        f"<rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams>"
        f"<rsp:MaxIdleTimeOut>PT2147483.647S</rsp:MaxIdleTimeOut><rsp:Locale>en-US</rsp:Locale>"
        f"<rsp:DataLocale>en-US</rsp:DataLocale><rsp:CompressionMode>NoCompression</rsp:CompressionMode>"
        f"<rsp:ProfileLoaded>Yes</rsp:ProfileLoaded><rsp:Encoding>UTF8</rsp:Encoding>"
        f"<rsp:BufferMode>Block</rsp:BufferMode><rsp:State>{state}</rsp:State>"
        f"<rsp:ShellRunTime>P0DT0H0M{int(run_time)}S</rsp:ShellRunTime>"
        f"<rsp:ShellInactivity>P0DT0H0M{int(inactivity)}S</rsp:ShellInactivity></{element}>"
    )


def create_response(request: Request, shell_id: str, shell_body: str, address: str) -> bytes:
    body = (
        f"<x:ResourceCreated><a:Address>{escape(address)}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{escape(request.resource_uri)}</w:ResourceURI><w:SelectorSet>"
        f'<w:Selector Name="ShellId">{escape(shell_id)}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
        f"</x:ResourceCreated>{shell_body}"
    )
    return envelope(request, body)


def command_response(request: Request, command_id: str) -> bytes:
    return envelope(request, f"<rsp:CommandResponse><rsp:CommandId>{escape(command_id)}</rsp:CommandId></rsp:CommandResponse>")


def receive_response(request: Request, streams: list[tuple[str, str | None, str]], command_id: str | None,
                     done: bool) -> bytes:
    """streams: (name, command id or None, base64 text)."""
    parts = []
    for name, cid, b64 in streams:
        attr = f' CommandId="{escape(cid)}"' if cid else ""
        parts.append(f'<rsp:Stream Name="{name}"{attr}>{b64}</rsp:Stream>')
    if command_id:
        if done:
            parts.append(f'<rsp:CommandState CommandId="{escape(command_id)}" State="{STATE_DONE}">'
                         "<rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState>")
        else:
            parts.append(f'<rsp:CommandState CommandId="{escape(command_id)}" State="{STATE_RUNNING}"/>')
    return envelope(request, f'<rsp:ReceiveResponse>{"".join(parts)}</rsp:ReceiveResponse>')


def empty_response(request: Request, element: str = "") -> bytes:
    return envelope(request, element)


def config_response(request: Request, max_envelope_kb: int) -> bytes:
    body = (
        f'<cfg:Config xmlns:cfg="{NS["cfg"]}"><cfg:MaxEnvelopeSizekb>{max_envelope_kb}</cfg:MaxEnvelopeSizekb>'
        f"<cfg:MaxTimeoutms>60000</cfg:MaxTimeoutms><cfg:MaxBatchItems>32000</cfg:MaxBatchItems></cfg:Config>"
    )
    return envelope(request, body)


def enumerate_response(request: Request, items: str) -> bytes:
    body = (
        f'<n:EnumerateResponse xmlns:n="{NS["wsen"]}"><n:EnumerationContext/><w:Items>{items}</w:Items>'
        f"<w:EndOfSequence/></n:EnumerateResponse>"
    )
    return envelope(request, body)
