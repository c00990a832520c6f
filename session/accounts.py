"""CloudAdmin accounts of the emulated stamp, kept in the state directory.

`accounts/accounts.json` (mode 0600) holds, per account, an scrypt hash of the password (checked
for Basic auth) and the NT hash NTLM needs (NTLM proves knowledge of the NT hash, so that is the
secret it must have; it is password-equivalent for NTLM and guarded like the password itself).
`accounts/ntlm_users` (mode 0600) is derived from it in smbpasswd form for pyspnego's NTLM
acceptor (session/spnego_acceptor.py hands it over). It holds no LM hash at all: the LM field is
empty, and the acceptor takes NTLMv2 answers only.

A user may sign in as `CloudAdmin`, `AZURESTACK\\CloudAdmin` (NetBIOS domain from the stamp) or
`CloudAdmin@azurestack.local` (UPN form); all name the same account.

Several processes share one store (`pep serve`, `pep -c`, the console): a change is made under an
exclusive lock of `accounts/.lock` on the freshly read file, and every reader reloads the file when
it changed on disk, so a change takes effect for every sign-in at once. Every change is appended to
`<state>/logs/accounts.log` (who, what, which account; never a password). The rules (password
policy, last CloudAdmin, self-removal) are in docs/accounts.md.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from common.state import StateDir, atomic_write
from session.spnego_acceptor import nt_hash

log = logging.getLogger("pep.accounts")

DEFAULT_ADMIN = "CloudAdmin"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
MIN_PASSWORD_LENGTH = 8  # Windows' default domain policy with complexity on
MAX_PASSWORD_LENGTH = 127  # the longest password NTLM (and the Windows logon UI) takes
MAX_NAME_LENGTH = 20  # sAMAccountName
_BAD_NAME_CHARS = set('"/\\[]:;|=,+*?<>@')


class AccountError(Exception):
    """A refused account change: a message for the user (never a password), an error id and a
    PowerShell ErrorCategory name, so the cmdlet turns it into an ErrorRecord as it is."""

    def __init__(self, message: str, error_id: str = "AccountError", category: str = "InvalidOperation"):
        super().__init__(message)
        self.message, self.error_id, self.category = message, error_id, category


def password_problem(user: str, password: str, min_length: int = MIN_PASSWORD_LENGTH) -> str | None:
    """Why `password` breaks the policy (Windows' "meet complexity requirements" plus a minimum
    length), or None. The answer names the rule, never the password."""
    if len(password) < min_length:
        return f"it must be at least {min_length} characters long"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"it must be at most {MAX_PASSWORD_LENGTH} characters long"
    classes = sum((any(c.isupper() for c in password), any(c.islower() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if classes < 3:
        return ("it must contain characters from three of these four groups: upper-case letters, lower-case "
                "letters, digits, and other characters (symbols, spaces)")
    if len(user) >= 3 and user.lower() in password.lower():
        return "it must not contain the user name"
    return None


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a CloudAdmin account name (Windows' sAMAccountName rules), or None."""
    if not name or not name.strip():
        return "the user name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"a user name has at most {MAX_NAME_LENGTH} characters"
    if any(c in _BAD_NAME_CHARS or not c.isprintable() for c in name) or name.strip(". ") == "":
        return ('a user name cannot contain " / \\ [ ] : ; | = , + * ? < > @ or control characters, '
                "nor be only dots and spaces")
    if name != name.strip():
        return "a user name cannot begin or end with a space"
    return None


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=64 * 1024 * 1024)


@dataclass
class Account:
    name: str
    scrypt: dict[str, Any]
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
        self._seen: tuple[int, int, int] | None = None  # (inode, mtime_ns, size) of the file last read
        self._load()

    # -- storage ---------------------------------------------------------------------------
    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load(self) -> None:
        """Read the file if it changed since last read (another process changed an account)."""
        seen = self._stat()
        if seen == self._seen:
            return
        accounts: dict[str, Account] = {}
        if seen is not None:
            data = json.loads(self.path.read_text())
            accounts = {a["name"].lower(): Account(a["name"], a["scrypt"], a["nt_hash"]) for a in data.get("accounts", [])}
        with self._lock:
            self._accounts, self._seen = accounts, seen
            self._ok_cache.clear()  # a cached good password may be the old one

    def refresh(self) -> None:
        self._load()

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """One change at a time across processes, on the current file."""
        with open(self.dir / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._load()
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _save(self) -> None:
        data = {"accounts": [{"name": a.name, "scrypt": a.scrypt, "nt_hash": a.nt_hash} for a in self._accounts.values()]}
        _write_private(self.path, json.dumps(data, indent=2))
        self._seen = self._stat()
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
        self._load()
        return [a.name for a in self._accounts.values()]

    def exists(self, user: str) -> bool:
        """Whether a typed user name (any spelling) is an account now."""
        self._load()
        return self.canonical(user) is not None

    def _hashed(self, name: str, password: str) -> Account:
        salt = secrets.token_bytes(16)
        digest = _scrypt(password, salt, **_SCRYPT)
        return Account(name, {"salt": salt.hex(), "hash": digest.hex(), **_SCRYPT}, nt_hash(password).hex())

    def set_password(self, name: str, password: str) -> None:
        """Set a password without the policy: the operator's own choice when `pep serve` starts."""
        if not password:
            raise AccountError("The password must not be empty.", "EmptyPassword", "InvalidArgument")
        account = self._hashed(name, password)
        with self._changing(), self._lock:
            self._accounts[name.lower()] = account
            self._ok_cache.clear()
            self._save()

    # -- the CloudAdmin cmdlets' changes (docs/accounts.md) ------------------------------------
    def _policy(self, name: str, password: str, min_length: int) -> None:
        problem = password_problem(name, password, min_length)
        if problem:
            raise AccountError(f"The password does not meet the password policy requirements: {problem}.",
                               "PasswordPolicyViolation", "InvalidArgument")

    def _named(self, user: str) -> Account:
        acct = self.canonical(user)
        if acct is None:
            raise AccountError(f"The CloudAdmin user '{_shown(user)}' does not exist.", "CloudAdminUserNotFound",
                               "ObjectNotFound")
        return acct

    def create(self, name: str, password: str, *, by: str, min_length: int = MIN_PASSWORD_LENGTH) -> str:
        """A new CloudAdmin account; returns its `DOMAIN\\name`."""
        short = self._short(name)
        problem = name_problem(short)
        if problem:
            raise AccountError(f"The user name '{_shown(short)}' is not valid: {problem}.", "InvalidUserName",
                               "InvalidArgument")
        self._policy(short, password, min_length)
        account = self._hashed(short, password)  # scrypt outside the lock
        with self._changing(), self._lock:
            if short.lower() in self._accounts:
                raise AccountError(f"The CloudAdmin user '{self._accounts[short.lower()].name}' already exists.",
                                   "CloudAdminUserExists", "ResourceExists")
            self._accounts[short.lower()] = account
            self._ok_cache.clear()
            self._save()
        self._audit("created", short, by)
        return f"{self.netbios}\\{short}"

    def remove(self, name: str, *, by: str) -> str:
        """Remove an account; never the last one, never the one `by` is signed in as."""
        with self._changing(), self._lock:
            acct = self._named(name)
            me = self.canonical(by)
            if me is not None and me.name.lower() == acct.name.lower():
                raise AccountError(f"The CloudAdmin user '{acct.name}' is signed in to this session and cannot "
                                   "remove itself; sign in as another CloudAdmin user to remove it.",
                                   "CannotRemoveSignedInUser", "InvalidOperation")
            if len(self._accounts) <= 1:
                raise AccountError(f"The CloudAdmin user '{acct.name}' is the last CloudAdmin user and cannot be "
                                   "removed; create another one first.", "LastCloudAdminUser", "InvalidOperation")
            del self._accounts[acct.name.lower()]
            self._ok_cache.clear()
            self._save()
        self._audit("removed", acct.name, by)
        return f"{self.netbios}\\{acct.name}"

    def change_password(self, name: str, current: str, new: str, *, by: str,
                        min_length: int = MIN_PASSWORD_LENGTH) -> str:
        """Change a password after checking the current one."""
        self._load()
        acct = self._named(name)
        if not acct.check(current):
            self._audit("password change refused (wrong current password)", acct.name, by)
            raise AccountError(f"The current password given for '{acct.name}' is not correct.",
                               "WrongCurrentPassword", "AuthenticationError")
        if hmac.compare_digest(current.encode("utf-8"), new.encode("utf-8")):
            raise AccountError("The password does not meet the password policy requirements: the new password must "
                               "differ from the current one.", "PasswordPolicyViolation", "InvalidArgument")
        self._policy(acct.name, new, min_length)
        account = self._hashed(acct.name, new)
        with self._changing(), self._lock:
            again = self._named(name)
            if again.scrypt != acct.scrypt:  # changed by someone else since it was checked
                raise AccountError(f"The password of '{acct.name}' was changed by another session meanwhile; try "
                                   "again.", "ConcurrentPasswordChange", "ResourceBusy")
            self._accounts[acct.name.lower()] = account
            self._ok_cache.clear()
            self._save()
        self._audit("password changed", acct.name, by)
        return f"{self.netbios}\\{acct.name}"

    def _short(self, user: str) -> str:
        """The account part of `DOMAIN\\name` / `name@domain` (the domain must be the stamp's)."""
        u = user.strip()
        if "\\" in u:
            dom, u = u.split("\\", 1)
            if dom.upper() not in (self.netbios, self.domain_fqdn.upper(), "."):
                raise AccountError(f"The domain '{_shown(dom)}' is not the stamp's domain ({self.netbios}).",
                                   "InvalidUserName", "InvalidArgument")
        elif "@" in u:
            u, dom = u.rsplit("@", 1)
            if dom.lower() not in (self.domain_fqdn, self.netbios.lower()):
                raise AccountError(f"The domain '{_shown(dom)}' is not the stamp's domain ({self.domain_fqdn}).",
                                   "InvalidUserName", "InvalidArgument")
        return u

    def _audit(self, what: str, name: str, by: str) -> None:
        from session.signin import printable

        line = f"{datetime.now(timezone.utc).isoformat(timespec='milliseconds')} {what}: {self.netbios}\\{name} by {printable(by)}"
        log.info("account %s", line.split(" ", 1)[1])
        try:
            path = self.dir.parent / "logs" / "accounts.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError as e:  # the change is made; say the audit line could not be written
            log.warning("cannot write the accounts audit log: %s", e)

    def ensure_admin(self, password_file: str | os.PathLike[str] | None = None) -> str | None:
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
        self._load()  # first: a cached answer may be for a password changed by another process
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


def _shown(text: str) -> str:
    from session.signin import printable

    return printable(text)


def _write_private(path: Path, text: str) -> None:
    atomic_write(path, text)
    os.chmod(path, 0o600)
