"""CloudAdmin accounts of the emulated stamp, kept in the state directory.

`accounts/accounts.json` (mode 0600) holds, per account, an scrypt hash of the password (checked
for Basic auth) and the NT hash NTLM needs (NTLM proves knowledge of the NT hash, so that is the
secret it must have; it is password-equivalent for NTLM and guarded like the password itself).
`accounts/ntlm_users` (mode 0600) is derived from it in smbpasswd form for pyspnego's NTLM
acceptor (session/spnego_acceptor.py hands it over). It holds no LM hash at all: the LM field is
empty, and the acceptor takes NTLMv2 answers only.

A user may sign in as `CloudAdmin`, `AZURESTACK\\CloudAdmin` (NetBIOS domain from the stamp) or
`CloudAdmin@azurestack.local` (UPN form); all name the same account.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from common.state import StateDir, atomic_write
from session.spnego_acceptor import nt_hash

DEFAULT_ADMIN = "CloudAdmin"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class AccountError(Exception):
    pass


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=64 * 1024 * 1024)


@dataclass
class Account:
    name: str
    scrypt: dict
    nt_hash: str  # hex

    def check(self, password: str) -> bool:
        s = self.scrypt
        got = _scrypt(password, bytes.fromhex(s["salt"]), s["n"], s["r"], s["p"], s["dklen"])
        return hmac.compare_digest(got.hex(), s["hash"])


class Accounts:
    """The account store of one state directory. Thread-safe; Basic checks are cached in memory
    (keyed by an HMAC under a per-process key) so scrypt runs once per credential, not per request."""

    def __init__(self, state: StateDir, domain_fqdn: str = "azurestack.local"):
        self.dir = state.sub("accounts")
        os.chmod(self.dir, 0o700)
        self.path = self.dir / "accounts.json"
        self.ntlm_file = self.dir / "ntlm_users"
        self.domain_fqdn = domain_fqdn.lower()
        self.netbios = domain_fqdn.split(".")[0].upper()
        self._lock = threading.Lock()
        self._cache_key = secrets.token_bytes(32)
        self._ok_cache: dict[bytes, str] = {}
        self._accounts: dict[str, Account] = {}
        self._load()

    # -- storage ---------------------------------------------------------------------------
    def _load(self) -> None:
        if not self.path.exists():
            return
        data = json.loads(self.path.read_text())
        self._accounts = {a["name"].lower(): Account(a["name"], a["scrypt"], a["nt_hash"]) for a in data.get("accounts", [])}

    def _save(self) -> None:
        data = {"accounts": [{"name": a.name, "scrypt": a.scrypt, "nt_hash": a.nt_hash} for a in self._accounts.values()]}
        _write_private(self.path, json.dumps(data, indent=2))
        self.write_ntlm_file()

    def write_ntlm_file(self) -> Path:
        """smbpasswd-style lines (`USER:UID:LM:NT:[U]:LCT-0`) for each accepted spelling of each user.
        NTLMv2 mixes the user and domain as the client typed them into the proof, so each form is a line."""
        lines = []
        for uid, acct in enumerate(self._accounts.values(), start=1000):
            for form in (acct.name, f"{self.netbios}\\{acct.name}", f"{acct.name}@{self.domain_fqdn}"):
                lines.append(f"{form}:{uid}::{acct.nt_hash.upper()}:[U]:LCT-00000000")
        _write_private(self.ntlm_file, "\n".join(lines) + "\n")
        return self.ntlm_file

    # -- accounts --------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [a.name for a in self._accounts.values()]

    def set_password(self, name: str, password: str) -> None:
        if not password:
            raise AccountError("The password must not be empty.")
        salt = secrets.token_bytes(16)
        digest = _scrypt(password, salt, **_SCRYPT)
        with self._lock:
            self._accounts[name.lower()] = Account(
                name, {"salt": salt.hex(), "hash": digest.hex(), **_SCRYPT}, nt_hash(password).hex()
            )
            self._ok_cache.clear()
            self._save()

    def ensure_admin(self, password_file: str | os.PathLike | None = None) -> str | None:
        """Make sure the first CloudAdmin account exists. Its password comes from `password_file`,
        else PEP_ADMIN_PASSWORD, else it is generated and returned (for the caller to print once).
        An existing account is left alone unless a password is given explicitly."""
        password = None
        if password_file:
            try:
                password = Path(password_file).read_text().strip("\r\n")
            except OSError as e:
                raise AccountError(f"Cannot read the admin password file '{password_file}': {e.strerror}") from None
        elif os.environ.get("PEP_ADMIN_PASSWORD"):
            password = os.environ["PEP_ADMIN_PASSWORD"]
        if password is not None:
            self.set_password(DEFAULT_ADMIN, password)
            return None
        if DEFAULT_ADMIN.lower() in self._accounts:
            self.write_ntlm_file()
            return None
        generated = secrets.token_urlsafe(15)
        self.set_password(DEFAULT_ADMIN, generated)
        return generated

    def canonical(self, user: str) -> Account | None:
        """The account a typed user name means (`DOMAIN\\user`, `user@domain`, or `user`)."""
        u = user.strip()
        if "\\" in u:
            dom, u = u.split("\\", 1)
            if dom.upper() not in (self.netbios, self.domain_fqdn.upper(), "."):
                return None
        elif "@" in u:
            u, dom = u.rsplit("@", 1)
            if dom.lower() not in (self.domain_fqdn, self.netbios.lower()):
                return None
        return self._accounts.get(u.lower())

    def display_name(self, user: str) -> str:
        acct = self.canonical(user)
        return f"{self.netbios}\\{acct.name}" if acct else user

    def lockout_key(self, user: str) -> str:
        """What failed sign-ins are counted under: the account, whatever spelling was typed;
        an unknown name under itself."""
        acct = self.canonical(user)
        return f"account:{acct.name.lower()}" if acct else f"unknown:{user.strip().lower()[:256]}"

    def verify(self, user: str, password: str, *, cached: bool = True) -> str | None:
        """Basic auth: the canonical `DOMAIN\\name` when the password is right, else None.
        An unknown user costs the same scrypt work as a known one (no timing tells which exist);
        `cached=False` skips the cache of good credentials, so the answer takes the full time."""
        key = hmac.new(self._cache_key, f"{user.lower()}\0{password}".encode(), hashlib.sha256).digest()
        hit = self._ok_cache.get(key) if cached else None
        if hit:
            return hit
        acct = self.canonical(user)
        if acct is None:
            _DUMMY.check(password)
            return None
        if not acct.check(password):
            return None
        name = f"{self.netbios}\\{acct.name}"
        with self._lock:
            if len(self._ok_cache) > 1024:
                self._ok_cache.clear()
            self._ok_cache[key] = name
        return name


_DUMMY = Account("", {"salt": "00" * 16, "hash": "00" * 32, **_SCRYPT}, "")


def _write_private(path: Path, text: str) -> None:
    atomic_write(path, text)
    os.chmod(path, 0o600)
