"""HTTP(S) front of the listener: authentication, message encryption, one POST /wsman route.

Policy, as a Windows host with default WinRM settings (docs/security.md):
* Basic is offered and accepted only over HTTPS.
* NTLM/Negotiate on both, NTLMv2 only (session/spnego_acceptor.py); on HTTPS the NTLM channel
  binding (CBT, tls-server-end-point) must match when the client sends one.
* Over plain HTTP every body must be SPNEGO-encrypted (AllowUnencrypted=false): a plain SOAP body
  is refused with 401, as Windows does.
* Sign-in failures and lockout follow session/signin.py (one rule for every network front end).
* A request body is read only once the caller is signed in, and never past MaxEnvelopeSize:
  a larger one gets the EncodingLimit fault and the connection is closed.
NTLM authenticates a TCP connection, and its sealing keys belong to it, so the context is kept
per transport object (a WeakKeyDictionary; never id(), which Python reuses).
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import struct
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from session import spnego_acceptor
from session.listener import wsman
from session.listener.wsman import WSManFault
from session.signin import SignInGate

log = logging.getLogger(__name__)

SPNEGO_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
MAX_ENVELOPE = 500 * 1024  # WinRM's MaxEnvelopeSizekb default, as advertised in the shell's config
ENCRYPTION_OVERHEAD = 4096  # MIME framing and the NTLM seal header around an encrypted envelope
E_MAX_ENVELOPE = 0x80338111  # the WSManFault code Windows sends for a request over MaxEnvelopeSize
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


class _TooLarge(Exception):
    pass


class WSManHTTP:
    def __init__(self, table: Any, user_file: Path, display_name: Any, gate: SignInGate, *, https: bool,
                 auth: set[str], cbt: bytes | None = None, machine: str = "localhost",
                 max_envelope: int = MAX_ENVELOPE, body_timeout: float = 60.0):
        self.table = table
        self.user_file = user_file
        self.display_name = display_name  # typed user name -> canonical DOMAIN\name
        self.gate = gate
        self.https = https
        self.basic = "basic" in auth and https
        self.spnego = bool({"ntlm", "negotiate"} & auth)
        self.cbt = cbt
        self.machine = machine
        self.max_envelope = max_envelope
        self.body_timeout = body_timeout
        self.conns: weakref.WeakKeyDictionary[Any, _Conn] = weakref.WeakKeyDictionary()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_envelope + ENCRYPTION_OVERHEAD)
        app.router.add_post("/wsman", self.handle)
        app.router.add_post("/wsman/", self.handle)
        return app

    def signed_in(self, transport: Any) -> bool:
        conn = self.conns.get(transport)
        return conn is not None and conn.user is not None

    def _challenge(self, request: web.Request, token: bytes | None = None) -> web.Response:
        headers: CIMultiDict[str] = CIMultiDict()
        if token:
            headers.add("WWW-Authenticate", "Negotiate " + base64.b64encode(token).decode())
        else:
            if self.spnego:
                headers.add("WWW-Authenticate", "Negotiate")
            if self.basic:
                headers.add("WWW-Authenticate", 'Basic realm="WSMAN"')
        resp = web.Response(status=401, headers=headers)
        if (request.content_length or 0) > self.max_envelope + ENCRYPTION_OVERHEAD:
            resp.force_close()  # do not drain a large body nobody signed in for
        return resp

    async def _refused(self, request: web.Request) -> web.Response:
        await self.gate.refuse()
        return self._challenge(request)

    async def _sign_in(self, request: web.Request, conn: _Conn, authz: str) -> web.Response | bytes | None:
        """Check the Authorization header. A Response ends the request (a challenge or a refusal);
        otherwise the connection is signed in, and the bytes are a final Negotiate token to send."""
        peer = request.remote or ""
        scheme, _, value = authz.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic" and self.basic:
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return self._challenge(request)
            name = await self.gate.basic(user, password, peer)
            if name is None:
                return await self._refused(request)
            conn.user, conn.ctx = name, None
            return None
        if scheme not in ("negotiate", "ntlm") or not self.spnego:
            return self._challenge(request)
        try:
            tok = base64.b64decode(value.strip(), validate=True)
        except binascii.Error:
            return self._challenge(request)
        method = "NTLM" if scheme == "ntlm" else "Negotiate"
        try:
            claimed = spnego_acceptor.claimed_user(tok)
        except spnego_acceptor.RefusedToken as e:
            conn.pending = None
            self.gate.failed(e.user or "?", peer, method, str(e))
            return await self._refused(request)
        if claimed is not None and self.gate.is_locked(claimed):
            conn.pending = None
            self.gate.failed(claimed, peer, method, "account locked")
            return await self._refused(request)
        if conn.pending is None or _is_initial_token(tok):
            conn.pending = spnego_acceptor.new_acceptor(self.user_file, self.cbt)
        try:
            out = spnego_acceptor.step(conn.pending, tok, self.user_file)
        except Exception as e:  # wrong password, unknown user, bad CBT, malformed token
            conn.pending = None
            if claimed is None:
                log.info("negotiate token refused from %s: %s", peer or "?", e)
                return self._challenge(request)
            self.gate.failed(claimed, peer, method, "wrong credentials")
            return await self._refused(request)
        if not conn.pending.complete:
            return self._challenge(request, out)
        conn.ctx, conn.pending = conn.pending, None
        conn.user = self.display_name(conn.ctx.client_principal or claimed or "")
        self.gate.succeeded(conn.user)
        return out or b""

    async def _read_body(self, request: web.Request) -> bytes:
        """The body, read only now that the caller is signed in, never past the envelope limit."""
        limit = self.max_envelope + ENCRYPTION_OVERHEAD
        if (request.content_length or 0) > limit:
            raise _TooLarge()
        chunks, size = [], 0
        async with asyncio.timeout(self.body_timeout):
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if size > limit:
                    raise _TooLarge()
                chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, transport: Any) -> web.Response:
        # The unread rest of the body (and, when sealed, the NTLM sequence) cannot be trusted: close.
        self.conns.pop(transport, None)
        fault = WSManFault(E_MAX_ENVELOPE, "The WS-Management service cannot process the request because the request "
                           f"size exceeded the configured MaxEnvelopeSize quota ({self.max_envelope // 1024} KB).",
                           "w:EncodingLimit", "s:Sender")
        resp = web.Response(status=500, body=wsman.fault_envelope(None, fault, self.machine),
                            content_type="application/soap+xml", charset="UTF-8")
        resp.force_close()
        return resp

    async def handle(self, request: web.Request) -> web.Response:
        transport = request.transport
        if transport is None:
            return web.Response(status=400)
        conn = self.conns.get(transport)
        if conn is None:
            conn = self.conns[transport] = _Conn()
        final_token: bytes | None = None
        authz = request.headers.get("Authorization")
        if authz:
            outcome = await self._sign_in(request, conn, authz)
            if isinstance(outcome, web.Response):
                return outcome
            final_token = outcome or None
        elif conn.user is None:
            return self._challenge(request)

        try:
            body = await self._read_body(request)
        except _TooLarge:
            return self._too_large(transport)
        except TimeoutError:
            self.conns.pop(transport, None)
            resp = web.Response(status=408, text="The request body was not received in time.")
            resp.force_close()
            return resp
        if not body:
            return self._ok(b"", final_token)

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
            if len(plain) > self.max_envelope:
                return self._too_large(transport)
        else:
            if not self.https:
                # AllowUnencrypted=false: an unencrypted body over HTTP is refused.
                return self._challenge(request)
            if len(body) > self.max_envelope:
                return self._too_large(transport)
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
        headers: CIMultiDict[str] = CIMultiDict()
        if token:
            headers.add("WWW-Authenticate", "Negotiate " + base64.b64encode(token).decode())
        if data:
            headers["Content-Type"] = content_type
        return web.Response(status=status, body=data, headers=headers)
