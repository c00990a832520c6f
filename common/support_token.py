"""The support-session ("break glass") tokens: pure cryptography, no PowerShell, no session.

    request  = "AZSREQ1" + b64url( len(wrapped) | RSA-OAEP(support public key, AES key) | nonce | AES-GCM(payload) )
    payload  = JSON: session id, the one-time X25519 public key, issued, expires, stamp, development
    response = "AZSRSP1" + b64url( session id | ephemeral X25519 public key | nonce | AES-GCM(body) | RSA-PSS signature )
    body     = JSON: session id, expires

The request is readable only by whoever holds the support private key (Microsoft Support, played
by `pep support respond`). The response is encrypted to the request's one-time key (X25519 + HKDF
+ AES-GCM), so only the session that asked can read it, and signed with the support private key,
so the session knows it came from support and was not changed. The session id travels in clear
(covered by the signature) so a refusal can say "for another session" rather than "damaged".
Both texts are base64url without padding after the prefix: the one redactor (common/redact.py)
recognises exactly these prefixes.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

REQUEST_PREFIX = "AZSREQ1"
RESPONSE_PREFIX = "AZSRSP1"
SUPPORT_KEY_BITS = 3072
PRIVATE_KEY_NAME = "support-private.pem"
PUBLIC_KEY_NAME = "support-public.pem"
DEFAULT_KEY_FOLDER = "support-keys"  # under the state directory, when support.public_key_file is not set

_SESSION_BYTES = 16
_X25519_BYTES = 32
_NONCE_BYTES = 12
_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
_HKDF_INFO = b"azs-pep support response v1"


class TokenError(Exception):
    """A token that cannot be used. kind: malformed (not a token of this kind at all), tampered
    (a signature or an authentication tag does not match), wrong-key (not for this support key),
    key (a key file that cannot be read)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class SupportRequest:
    session_id: str          # 32 hex characters
    one_time_public: bytes   # raw X25519 public key
    issued: datetime
    expires: datetime
    stamp: str
    development: bool


@dataclass(frozen=True)
class SignedResponse:
    """A response whose signature checked out; its body is still encrypted to the one-time key."""

    session_id: str
    raw: bytes


@dataclass(frozen=True)
class SupportResponse:
    session_id: str
    expires: datetime


# -- keys ------------------------------------------------------------------------------------------

def generate_support_keys(folder: Path) -> tuple[Path, Path]:
    """Write a new support key pair into `folder`: the private key readable by the owner only."""
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=SUPPORT_KEY_BITS)
    private_path, public_path = folder / PRIVATE_KEY_NAME, folder / PUBLIC_KEY_NAME
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(private_path, 0o600)  # an existing file keeps its mode through O_TRUNC
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def load_public_key(path: Path) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as e:
        raise TokenError("key", f"Cannot read the support public key '{path}': {e.strerror or e}.") from None
    except ValueError:
        raise TokenError("key", f"'{path}' is not a PEM public key.") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise TokenError("key", f"'{path}' is not an RSA public key.")
    return key


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as e:
        raise TokenError("key", f"Cannot read the support private key '{path}': {e.strerror or e}.") from None
    except (ValueError, TypeError):
        raise TokenError("key", f"'{path}' is not an unencrypted PEM private key.") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TokenError("key", f"'{path}' is not an RSA private key.")
    return key


# -- the request (the PEP session's side) --------------------------------------------------------

def new_request(support_key: rsa.RSAPublicKey, *, stamp: str, issued: datetime, expires: datetime,
                development: bool = False) -> tuple[str, SupportRequest, x25519.X25519PrivateKey]:
    """A request token for support, what it says, and the one-time private key the session keeps."""
    one_time = x25519.X25519PrivateKey.generate()
    request = SupportRequest(secrets.token_hex(_SESSION_BYTES), _raw_public(one_time.public_key()),
                             issued, expires, stamp, development)
    payload = json.dumps({
        "v": 1, "session": request.session_id, "otk": _b64(request.one_time_public),
        "issued": _iso(issued), "expires": _iso(expires), "stamp": stamp, "development": development,
    }).encode()
    aes_key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(_NONCE_BYTES)
    wrapped = support_key.encrypt(aes_key, _OAEP)
    sealed = AESGCM(aes_key).encrypt(nonce, payload, REQUEST_PREFIX.encode())
    blob = len(wrapped).to_bytes(2, "big") + wrapped + nonce + sealed
    return REQUEST_PREFIX + _b64(blob), request, one_time


def read_request(token: str, support_key: rsa.RSAPrivateKey) -> SupportRequest:
    """Support's side: open a request token with the support private key."""
    blob = _unwrap(token, REQUEST_PREFIX, "request")
    size = int.from_bytes(blob[:2], "big")
    if size != support_key.key_size // 8 or len(blob) < 2 + size + _NONCE_BYTES + 16:
        raise TokenError("wrong-key", "The request token was not made for this support key.")
    wrapped, nonce, sealed = blob[2:2 + size], blob[2 + size:2 + size + _NONCE_BYTES], blob[2 + size + _NONCE_BYTES:]
    try:
        aes_key = support_key.decrypt(wrapped, _OAEP)
    except ValueError:
        raise TokenError("wrong-key", "The request token was not made for this support key, or it was changed.") from None
    try:
        data = json.loads(AESGCM(aes_key).decrypt(nonce, sealed, REQUEST_PREFIX.encode()))
        return SupportRequest(
            str(data["session"]), _unb64(str(data["otk"])), _parse(data["issued"]), _parse(data["expires"]),
            str(data.get("stamp", "")), bool(data.get("development", False)))
    except InvalidTag:
        raise TokenError("tampered", "The request token was changed after it was issued.") from None
    except (ValueError, KeyError, TypeError):
        raise TokenError("malformed", "The request token does not hold a support request.") from None


# -- the response (support's side, then the session's) ------------------------------------------

def new_response(request: SupportRequest, support_key: rsa.RSAPrivateKey, expires: datetime) -> str:
    """Support's answer to `request`: readable by the request's one-time key only, signed by support."""
    session = bytes.fromhex(request.session_id)
    ephemeral = x25519.X25519PrivateKey.generate()
    eph_public = _raw_public(ephemeral.public_key())
    shared = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(request.one_time_public))
    head = session + eph_public
    nonce = os.urandom(_NONCE_BYTES)
    body = json.dumps({"v": 1, "session": request.session_id, "expires": _iso(expires)}).encode()
    sealed = AESGCM(_derive(shared, head)).encrypt(nonce, body, RESPONSE_PREFIX.encode() + head)
    signed = head + nonce + sealed
    return RESPONSE_PREFIX + _b64(signed + support_key.sign(RESPONSE_PREFIX.encode() + signed, _PSS, hashes.SHA256()))


def check_response(token: str, support_key: rsa.RSAPublicKey) -> SignedResponse:
    """Step 1 in the session: the token is a response and support signed it as it is."""
    blob = _unwrap(token, RESPONSE_PREFIX, "response")
    sig_size = support_key.key_size // 8
    if len(blob) < _SESSION_BYTES + _X25519_BYTES + _NONCE_BYTES + 16 + sig_size:
        raise TokenError("malformed", "The response token is too short to be a support response.")
    signed, signature = blob[:-sig_size], blob[-sig_size:]
    try:
        support_key.verify(signature, RESPONSE_PREFIX.encode() + signed, _PSS, hashes.SHA256())
    except InvalidSignature:
        raise TokenError("tampered", "The response token's signature does not match: it was changed, or it was "
                                     "not issued by the support key this stamp trusts.") from None
    return SignedResponse(signed[:_SESSION_BYTES].hex(), signed)


def open_response(signed: SignedResponse, one_time: x25519.X25519PrivateKey) -> SupportResponse:
    """Step 2 in the session: decrypt with the one-time key of the request it answers."""
    head = signed.raw[:_SESSION_BYTES + _X25519_BYTES]
    nonce = signed.raw[len(head):len(head) + _NONCE_BYTES]
    sealed = signed.raw[len(head) + _NONCE_BYTES:]
    try:
        shared = one_time.exchange(x25519.X25519PublicKey.from_public_bytes(head[_SESSION_BYTES:]))
        data = json.loads(AESGCM(_derive(shared, head)).decrypt(nonce, sealed, RESPONSE_PREFIX.encode() + head))
        response = SupportResponse(str(data["session"]), _parse(data["expires"]))
    except (InvalidTag, ValueError, KeyError, TypeError):
        raise TokenError("tampered", "The response token cannot be opened with this session's one-time key.") from None
    if response.session_id != signed.session_id:
        raise TokenError("tampered", "The response token's session id does not match its sealed content.")
    return response


# -- helpers -----------------------------------------------------------------------------------------

def _derive(shared: bytes, head: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=head, info=_HKDF_INFO).derive(shared)


def _raw_public(key: x25519.X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _unwrap(token: str, prefix: str, what: str) -> bytes:
    text = "".join(str(token).split())  # a token pasted across lines still reads
    other = RESPONSE_PREFIX if prefix == REQUEST_PREFIX else REQUEST_PREFIX
    if text.startswith(other):
        raise TokenError("malformed", f"This is a {'request' if what == 'response' else 'response'} token, "
                                      f"not a {what} token.")
    if not text.startswith(prefix):
        raise TokenError("malformed", f"A support {what} token starts with {prefix}.")
    body = text[len(prefix):]
    if not body or any(c not in _B64URL for c in body):
        raise TokenError("malformed", f"A support {what} token has only base64url characters after {prefix}.")
    try:
        data = _unb64(body)
    except (binascii.Error, ValueError):
        raise TokenError("malformed", f"The support {what} token is not valid base64url.") from None
    if _b64(data) != body:  # a changed last character can leave the bytes alone: refuse it anyway
        raise TokenError("tampered", f"The support {what} token was changed after it was issued.")
    return data


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: Any) -> datetime:
    t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
