"""The one place that reaches into pyspnego's private parts, for its NTLM/Negotiate acceptor.

pyspnego (pinned in pyproject.toml) has no public way to give an acceptor its users or to make it
refuse NTLMv1: it reads users from the file named by the process-wide NTLM_USER_FILE variable and
its LM compatibility level from LM_COMPAT_LEVEL. This adapter
* routes the user-file lookup through a context variable, so every listener of a process uses its
  own file and nothing is set per request in os.environ;
* sets LM_COMPAT_LEVEL to 5 for the process (NTLMv2 only; for pyspnego's initiators, such as the
  remoting bridge, 5 and the default 3 behave the same: both send NTLMv2);
* checks each AUTHENTICATE message itself before pyspnego sees it: an NT answer that is not NTLMv2
  (24 bytes or fewer: LM-only, NTLMv1, NTLM2 session response) is refused whatever the setting.
tests/test_spnego_acceptor.py fails loudly if a new pyspnego changes any of this.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import spnego
import spnego._ntlm as _ntlm
from spnego._ntlm_raw.crypto import ntowfv1
from spnego._ntlm_raw.messages import Authenticate, MessageType
from spnego._spnego import NegTokenResp, unpack_token
from spnego.channel_bindings import GssChannelBindings

NTLMV2_ONLY = "5"
_user_file: contextvars.ContextVar[str | None] = contextvars.ContextVar("pep_ntlm_user_file", default=None)
_installed = False
_install_lock = threading.Lock()


class RefusedToken(Exception):
    """An NTLM answer this acceptor never takes (not NTLMv2); `user` is who it claimed to be."""

    def __init__(self, reason: str, user: str | None = None):
        super().__init__(reason)
        self.user = user


def _routed_credential_file() -> str | None:
    path = _user_file.get()
    if path is not None:
        return path if os.path.isfile(path) else None
    return _library_credential_file()


_library_credential_file = _ntlm._get_credential_file


def nt_hash(password: str) -> bytes:
    """NTOWFv1 (MD4 of the UTF-16LE password): pyspnego's MD4 works without OpenSSL's legacy provider."""
    return ntowfv1(password)


def install() -> None:
    """Once per process: NTLMv2 only, and user files chosen per acceptor step."""
    global _installed
    with _install_lock:
        os.environ["LM_COMPAT_LEVEL"] = NTLMV2_ONLY
        if not _installed:
            _ntlm._get_credential_file = _routed_credential_file
            _installed = True


@contextlib.contextmanager
def users_from(path: Path) -> Iterator[None]:
    """pyspnego's acceptor reads its users from `path` inside this block (this task or thread only)."""
    token = _user_file.set(str(path))
    try:
        yield
    finally:
        _user_file.reset(token)


def new_acceptor(user_file: Path, channel_bindings: bytes | None = None) -> Any:
    """A Negotiate acceptor (NTLM inside, raw or SPNEGO-wrapped) that takes NTLMv2 only.
    `channel_bindings` is the TLS channel's application data (tls-server-end-point) on HTTPS."""
    install()
    cbt = GssChannelBindings(application_data=channel_bindings) if channel_bindings else None
    with users_from(user_file):
        return spnego.server(protocol="negotiate", channel_bindings=cbt)


def _ntlm_message(token: bytes) -> bytes | None:
    if token.startswith(b"NTLMSSP\x00"):
        return token
    try:
        outer = unpack_token(token)
    except Exception:
        return None
    inner = getattr(outer, "mech_token", None) or getattr(outer, "response_token", None)
    if isinstance(outer, NegTokenResp) or inner:
        return inner if inner and inner.startswith(b"NTLMSSP\x00") else None
    return None


def claimed_user(token: bytes) -> str | None:
    """`DOMAIN\\user` (or `user`) an NTLM AUTHENTICATE message claims, raw or SPNEGO-wrapped;
    None for any other token. Raises RefusedToken when its NT answer is not NTLMv2."""
    msg = _ntlm_message(token)
    if msg is None or len(msg) < 12 or int.from_bytes(msg[8:12], "little") != MessageType.authenticate:
        return None
    try:
        auth = Authenticate.unpack(msg)
        user, domain, nt = auth.user_name or "", auth.domain_name or "", auth.nt_challenge_response or b""
    except Exception as e:
        raise RefusedToken("malformed NTLM AUTHENTICATE message") from e
    claimed = f"{domain}\\{user}" if domain else user
    if len(nt) <= 24:
        raise RefusedToken("an NTLM answer that is not NTLMv2 (LM, NTLMv1 or NTLM2 session response)", claimed)
    return claimed


def step(ctx: Any, token: bytes, user_file: Path) -> bytes | None:
    """One acceptor step with this listener's users. Refuses non-NTLMv2 answers before pyspnego."""
    claimed_user(token)
    with users_from(user_file):
        return ctx.step(token)
