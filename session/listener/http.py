"""HTTP(S) front of the listener: authentication, message encryption, one POST /wsman route.

Policy, as a Windows host with default WinRM settings:
* Basic is offered and accepted only over HTTPS.
* NTLM/Negotiate (pyspnego acceptor) on both; on HTTPS the NTLM channel binding (CBT,
  tls-server-end-point) must match when the client sends one.
* Over plain HTTP every body must be SPNEGO-encrypted (AllowUnencrypted=false): a plain SOAP body
  is refused with 401, as Windows does.
NTLM authenticates a TCP connection, and its sealing keys belong to it, so the context is kept
per transport object (a WeakKeyDictionary; never id(), which Python reuses).
"""
from __future__ import annotations

import base64
import logging
import os
import re
import struct
import weakref
from dataclasses import dataclass
from typing import Any

import spnego
from aiohttp import web
from multidict import CIMultiDict

from session.listener import wsman
from session.listener.wsman import WSManFault

log = logging.getLogger(__name__)

SPNEGO_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{SPNEGO_PROTOCOL}";boundary="Encrypted Boundary"'


class EncryptionError(Exception):
    pass


def unwrap(ctx: Any, body: bytes) -> bytes:
    """Decrypt a multipart/encrypted WinRM body (one SPNEGO part)."""
    m = re.search(rb"Length=(\d+)", body)
    start = body.find(b"application/octet-stream\r\n")
    if not m or start < 0:
        raise EncryptionError("malformed encrypted body")
    payload = body[start + len(b"application/octet-stream\r\n"):]
    end = payload.rfind(BOUNDARY + b"--")
    if end >= 0:
        payload = payload[:end]
    if len(payload) < 4:
        raise EncryptionError("truncated encrypted body")
    hlen = struct.unpack("<I", payload[:4])[0]
    plain = ctx.unwrap_winrm(payload[4:4 + hlen], payload[4 + hlen:])
    if len(plain) != int(m.group(1)):
        raise EncryptionError("decrypted length does not match OriginalContent")
    return plain


def wrap(ctx: Any, data: bytes) -> bytes:
    res = ctx.wrap_winrm(data)
    head = (
        b"--Encrypted Boundary\r\n"
        + f"\tContent-Type: {SPNEGO_PROTOCOL}\r\n".encode()
        + f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={len(data) + res.padding_length}\r\n".encode()
        + b"--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n"
    )
    return head + struct.pack("<I", len(res.header)) + res.header + res.data + b"--Encrypted Boundary--\r\n"


@dataclass
class _Conn:
    pending: Any = None  # SPNEGO acceptor mid-handshake
    ctx: Any = None  # completed acceptor (for sealing)
    user: str | None = None


def _is_initial_token(tok: bytes) -> bool:
    # NTLM NEGOTIATE_MESSAGE, or a SPNEGO NegTokenInit (GSS-API framing 0x60).
    return tok.startswith(b"NTLMSSP\x00\x01\x00\x00\x00") or tok[:1] == b"\x60"


class WSManHTTP:
    def __init__(self, table: Any, accounts: Any, *, https: bool, auth: set[str], cbt: bytes | None = None,
                 machine: str = "localhost"):
        self.table = table
        self.accounts = accounts
        self.https = https
        self.basic = "basic" in auth and https
        self.spnego = bool({"ntlm", "negotiate"} & auth)
        self.cbt = spnego.channel_bindings.GssChannelBindings(application_data=cbt) if cbt else None
        self.machine = machine
        self.conns: "weakref.WeakKeyDictionary[Any, _Conn]" = weakref.WeakKeyDictionary()

    def app(self, client_max_size: int = 8 * 1024 * 1024) -> web.Application:
        app = web.Application(client_max_size=client_max_size)
        app.router.add_post("/wsman", self.handle)
        app.router.add_post("/wsman/", self.handle)
        return app

    def _challenge(self, token: bytes | None = None) -> web.Response:
        headers = CIMultiDict()
        if token:
            headers.add("WWW-Authenticate", "Negotiate " + base64.b64encode(token).decode())
        else:
            if self.spnego:
                headers.add("WWW-Authenticate", "Negotiate")
            if self.basic:
                headers.add("WWW-Authenticate", 'Basic realm="WSMAN"')
        return web.Response(status=401, headers=headers)

    async def handle(self, request: web.Request) -> web.Response:
        transport = request.transport
        if transport is None:
            return web.Response(status=400)
        conn = self.conns.get(transport)
        if conn is None:
            conn = self.conns[transport] = _Conn()
        body = await request.read()
        final_token: bytes | None = None
        authz = request.headers.get("Authorization")
        if authz:
            scheme, _, value = authz.partition(" ")
            scheme = scheme.lower()
            if scheme == "basic":
                if not self.basic:
                    return self._challenge()
                try:
                    user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
                except Exception:
                    return self._challenge()
                name = self.accounts.verify(user, password)
                if name is None:
                    log.info("basic logon refused for %r", user)
                    return self._challenge()
                conn.user, conn.ctx = name, None
            elif scheme in ("negotiate", "ntlm") and self.spnego:
                try:
                    tok = base64.b64decode(value.strip())
                except Exception:
                    return self._challenge()
                if conn.pending is None or _is_initial_token(tok):
                    conn.pending = spnego.server(protocol="negotiate", channel_bindings=self.cbt)
                # pyspnego's NTLM acceptor finds users through this process-wide variable: point it
                # at this listener's file right before the step that reads it.
                os.environ["NTLM_USER_FILE"] = str(self.accounts.ntlm_file)
                try:
                    out = conn.pending.step(tok)
                except Exception as e:  # wrong password, bad CBT, malformed token
                    log.info("negotiate logon refused: %s", e)
                    conn.pending = None
                    return self._challenge()
                if not conn.pending.complete:
                    return self._challenge(out)
                conn.ctx, conn.pending = conn.pending, None
                conn.user = self.accounts.display_name(conn.ctx.client_principal or "")
                final_token = out
                if not body:
                    return self._ok(b"", final_token)
            else:
                return self._challenge()
        elif conn.user is None:
            return self._challenge()

        ctype = request.headers.get("Content-Type", "")
        encrypted = ctype.startswith("multipart/encrypted")
        if encrypted:
            if conn.ctx is None:
                return web.Response(status=400, text="Encrypted body without an established security context.")
            try:
                plain = unwrap(conn.ctx, body)
            except Exception as e:
                # A client that reconnected but kept sealing with the old keys lands here.
                log.info("cannot decrypt request: %s", e)
                self.conns.pop(transport, None)
                return web.Response(status=400, text="The request could not be decrypted.")
        else:
            if not self.https:
                # AllowUnencrypted=false: an unencrypted body over HTTP is refused.
                return self._challenge()
            plain = body
        if not plain:
            return self._ok(b"", final_token)

        peer = request.remote or ""
        address = f"{'https' if self.https else 'http'}://{request.host}/wsman"
        req = None
        try:
            req = wsman.parse_request(plain)
            out_body = await self.table.handle(req, conn.user, peer, address)
            status = 200
        except WSManFault as f:
            out_body = wsman.fault_envelope(req, f, self.machine)
            status = 500
        except Exception as e:  # never a traceback to a client
            log.exception("internal error handling %s", getattr(req, "action", "?"))
            out_body = wsman.fault_envelope(req, WSManFault(2147500037, f"Internal error: {type(e).__name__}"), self.machine)
            status = 500
        if encrypted:
            return self._ok(wrap(conn.ctx, out_body), final_token, status=status, content_type=ENCRYPTED_CONTENT_TYPE)
        return self._ok(out_body, final_token, status=status)

    @staticmethod
    def _ok(data: bytes, token: bytes | None, status: int = 200,
            content_type: str = "application/soap+xml;charset=UTF-8") -> web.Response:
        headers = CIMultiDict()
        if token:
            headers.add("WWW-Authenticate", "Negotiate " + base64.b64encode(token).decode())
        if data:
            headers["Content-Type"] = content_type
        return web.Response(status=status, body=data, headers=headers)
